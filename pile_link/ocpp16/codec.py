"""OCPP-J 1.6 framing and payload validation, sans-IO: text in, messages out, no sockets.

Frames are ``[2, id, action, payload]`` (CALL), ``[3, id, payload]`` (CALLRESULT) and
``[4, id, code, description, details]`` (CALLERROR), OCPP-J 1.6 §4. Payloads are checked
against the OCPP 1.6 JSON schemas shipped in the ``ocpp`` package, loaded once on first use.
The path that records a stop (StopTransaction, MeterValues) is validated leniently: a
relaxed copy of the same schema keeps the shape (objects, arrays) and the few fields we
cannot do without, and accepts vendor fields, numbers sent as strings (and strings as
numbers), values outside the enums and missing optional parts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar, Final

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError, best_match

CALL: Final = 2
CALLRESULT: Final = 3
CALLERROR: Final = 4

# OCPP-J 1.6, RPC framework (message id): at most 36 characters.
MAX_UNIQUE_ID_LENGTH: Final = 36
# OCPP 1.6 has no rule for a CALLERROR to a message whose id cannot be read; like OCPP 2.x
# implementations we answer with the id "-1".
UNKNOWN_UNIQUE_ID: Final = "-1"

# Actions a central system receives from a charge point (core profile, firmware
# management and the security whitepaper's additions).
PILE_INITIATED_ACTIONS: Final = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        "LogStatusNotification",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
    }
)

# The actions whose payloads record energy and the end of a session: a pile's quirks must
# never cost us a stop record (DESIGN "validation must be lenient on the path that records
# a stop").
LENIENT_ACTIONS: Final = frozenset({"StopTransaction", "MeterValues"})
# What a lenient payload must still carry: a stop needs the transaction it ends (its time
# and meter reading may be missing or unreadable: the domain estimates), meter values need
# values. Nested ``required`` lists are dropped.
_LENIENT_REQUIRED: Final = {"StopTransaction": ["transactionId"], "MeterValues": ["meterValue"]}


# --- messages ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    unique_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallError:
    unique_id: str
    error_code: str
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)


Message = Call | CallResult | CallError


# --- errors (OCPP-J 1.6 §4.2.3, with the 1.6 spellings kept) ----------------------------


class OcppError(Exception):
    """A message we cannot accept; ``code`` is the CALLERROR code to answer with.

    ``unique_id`` is the id of the offending message when it could be read, and
    ``answerable`` is False when the broken message was itself a CALLRESULT or CALLERROR,
    which must never be answered.
    """

    code: ClassVar[str] = "GenericError"

    def __init__(
        self,
        description: str,
        *,
        unique_id: str | None = None,
        details: dict[str, Any] | None = None,
        answerable: bool = True,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.unique_id = unique_id
        self.details = details or {}
        self.answerable = answerable

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class NotImplementedAction(OcppError):
    """The action is unknown to OCPP 1.6."""

    code = "NotImplemented"


class NotSupported(OcppError):
    """The action is OCPP 1.6 but not one a central system answers."""

    code = "NotSupported"


class InternalError(OcppError):
    code = "InternalError"


class ProtocolError(OcppError):
    code = "ProtocolError"


class SecurityError(OcppError):
    code = "SecurityError"


class FormationViolation(OcppError):
    code = "FormationViolation"


class PropertyConstraintViolation(OcppError):
    code = "PropertyConstraintViolation"


class OccurenceConstraintViolation(OcppError):
    code = "OccurenceConstraintViolation"  # sic, OCPP-J 1.6 errata §5.1


class TypeConstraintViolation(OcppError):
    code = "TypeConstraintViolation"


class GenericError(OcppError):
    code = "GenericError"


# --- parsing ----------------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(frame: str | bytes) -> Message:
    """Decode one OCPP-J frame.

    Raises :class:`OcppError` with the CALLERROR code to answer (FormationViolation for
    text that is not a well-formed RPC frame, ProtocolError for an unknown message type).
    """
    if isinstance(frame, bytes | bytearray):
        try:
            frame = bytes(frame).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormationViolation("frame is not UTF-8 text") from exc
    try:
        data = json.loads(frame, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise FormationViolation(f"frame is not JSON: {exc}") from None
    if not isinstance(data, list) or not data:
        raise FormationViolation("frame is not a non-empty JSON array")

    type_id = data[0]
    unique_id = data[1] if len(data) > 1 and isinstance(data[1], str) else None
    if not isinstance(type_id, int) or isinstance(type_id, bool):
        raise FormationViolation("MessageTypeId is not an integer", unique_id=unique_id)
    if type_id not in (CALL, CALLRESULT, CALLERROR):
        raise ProtocolError(f"unknown MessageTypeId {type_id}", unique_id=unique_id)
    answerable = type_id == CALL
    if unique_id is None or not unique_id or len(unique_id) > MAX_UNIQUE_ID_LENGTH:
        raise FormationViolation(
            "UniqueId must be a string of 1 to 36 characters",
            unique_id=None,
            answerable=answerable,
        )

    if type_id == CALL:
        if len(data) != 4:
            raise FormationViolation("a CALL has 4 elements", unique_id=unique_id)
        action, payload = data[2], data[3]
        if not isinstance(action, str) or not action:
            raise FormationViolation("Action is not a string", unique_id=unique_id)
        if not isinstance(payload, dict):
            raise FormationViolation("payload is not a JSON object", unique_id=unique_id)
        return Call(unique_id, action, payload)

    if type_id == CALLRESULT:
        if len(data) != 3 or not isinstance(data[2], dict):
            raise FormationViolation(
                "a CALLRESULT is [3, id, {payload}]", unique_id=unique_id, answerable=False
            )
        return CallResult(unique_id, data[2])

    # CALLERROR: piles get the optional parts wrong often; only the code is required.
    if len(data) < 3 or not isinstance(data[2], str):
        raise FormationViolation(
            "a CALLERROR is [4, id, code, description, {details}]",
            unique_id=unique_id,
            answerable=False,
        )
    description = data[3] if len(data) > 3 and isinstance(data[3], str) else ""
    details = data[4] if len(data) > 4 and isinstance(data[4], dict) else {}
    return CallError(unique_id, data[2], description, details)


# --- building ---------------------------------------------------------------------------


def _dumps(data: list[Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def build_call(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return _dumps([CALL, unique_id, action, payload])


def build_result(unique_id: str, payload: dict[str, Any]) -> str:
    return _dumps([CALLRESULT, unique_id, payload])


def build_error(
    unique_id: str | None,
    code: str,
    description: str = "",
    details: dict[str, Any] | None = None,
) -> str:
    return _dumps([CALLERROR, unique_id or UNKNOWN_UNIQUE_ID, code, description, details or {}])


def error_frame(error: OcppError) -> str:
    """The CALLERROR that answers ``error``."""
    return build_error(error.unique_id, error.code, error.description[:255], error.details)


def encode(message: Message) -> str:
    if isinstance(message, Call):
        return build_call(message.unique_id, message.action, message.payload)
    if isinstance(message, CallResult):
        return build_result(message.unique_id, message.payload)
    return build_error(message.unique_id, message.error_code, message.description, message.details)


# --- schemas ----------------------------------------------------------------------------

_SCALAR_TYPES: Final = ["string", "number", "integer"]
_load_lock = threading.Lock()
_validators: dict[str, Draft4Validator] | None = None
_lenient: dict[str, Draft4Validator] = {}
# A check per validator that says "valid" only when the validator would: well-formed
# payloads (nearly all) skip jsonschema's walk, which cost a fifth of the pile link's CPU
# per meter value; anything else is checked by jsonschema, which finds the error.
Check = Callable[[Any], bool]
_fast: dict[int, Check | None] = {}
# the Python types of each JSON type as Draft 4 sees them (jsonschema's draft 4 type
# checker: an integer is an int and never a bool, 1.0 is a number but not an integer)
_PY_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
# annotations, and ``format``, which a validator without a format checker does not assert
_IGNORED_KEYWORDS: Final = frozenset(
    {"$schema", "$id", "title", "description", "format", "javaType"}
)


class _Unsupported(Exception):
    pass


def _compile(schema: Any) -> Check:
    """A conservative check for the subset of Draft 4 the OCPP 1.6 schemas use; raises
    _Unsupported for anything else (that schema is then always left to jsonschema)."""
    if not isinstance(schema, dict):
        raise _Unsupported(schema)
    checks: list[Check] = []
    unknown = set(schema) - _IGNORED_KEYWORDS - {
        "type", "properties", "required", "additionalProperties", "enum", "maxLength",
        "items", "minItems", "maxItems",
    }  # fmt: skip
    if unknown:
        raise _Unsupported(unknown)
    kind = schema.get("type")
    if kind is not None:
        names = kind if isinstance(kind, list) else [kind]
        if any(name not in _PY_TYPES for name in names):
            raise _Unsupported(kind)
        types = frozenset(t for name in names for t in _PY_TYPES[name])
        checks.append(lambda v: type(v) in types)  # exact types: a bool is no int here
    if "enum" in schema:
        options = schema["enum"]
        if not all(isinstance(o, str) for o in options):
            raise _Unsupported(options)
        allowed = frozenset(options)
        checks.append(lambda v: type(v) is str and v in allowed)
    if "maxLength" in schema:
        limit = int(schema["maxLength"])
        checks.append(lambda v: type(v) is not str or len(v) <= limit)
    checks += _object_checks(schema)
    if "items" in schema:
        item = _compile(schema["items"])

        def each(v: Any) -> bool:
            if type(v) is list:
                for x in v:
                    if not item(x):
                        return False
            return True

        checks.append(each)
    if "minItems" in schema:
        low = int(schema["minItems"])
        checks.append(lambda v: type(v) is not list or len(v) >= low)
    if "maxItems" in schema:
        high = int(schema["maxItems"])
        checks.append(lambda v: type(v) is not list or len(v) <= high)
    return _all(checks)


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    ordered = tuple(checks)

    def check(v: Any) -> bool:
        for one in ordered:  # noqa: SIM110 - no generator per value on the hot path
            if not one(v):
                return False
        return True

    return check


def _object_checks(schema: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    props = {name: _compile(sub) for name, sub in schema.get("properties", {}).items()}
    extra = schema.get("additionalProperties", True)
    if extra is not True and extra is not False:
        raise _Unsupported(extra)
    required = tuple(schema.get("required", ()))
    closed = extra is False

    def check(v: Any) -> bool:
        if type(v) is not dict:
            return True
        for name in required:
            if name not in v:
                return False
        for name, value in v.items():
            prop = props.get(name)
            if prop is None:
                if closed:
                    return False
            elif not prop(value):
                return False
        return True

    checks.append(check)
    return checks


def _fast_check(validator: Draft4Validator) -> Check | None:
    key = id(validator)
    if key not in _fast:
        try:
            _fast[key] = _compile(validator.schema)
        except _Unsupported:
            _fast[key] = None
    return _fast[key]


def _relax(schema: Any) -> Any:
    """A copy of ``schema`` that keeps the shape of objects and arrays, and nothing stricter."""
    if isinstance(schema, list):
        return [_relax(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("enum", "maxLength", "format", "multipleOf", "pattern", "required"):
            continue
        if key == "additionalProperties" and value is False:
            continue
        if key == "type" and value in _SCALAR_TYPES:
            out[key] = list(_SCALAR_TYPES)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _relax(sub) for name, sub in value.items()}
        else:
            out[key] = _relax(value)
    return out


def load_schemas() -> dict[str, Draft4Validator]:
    """Every OCPP 1.6 schema in the ``ocpp`` package, keyed by file stem (loaded once).

    Servers call this at start so the first pile does not pay for it.
    """
    global _validators
    if _validators is None:
        with _load_lock:
            if _validators is None:
                loaded: dict[str, Draft4Validator] = {}
                folder = resources.files("ocpp.v16").joinpath("schemas")
                for entry in folder.iterdir():
                    if entry.name.endswith(".json"):
                        schema = json.loads(entry.read_text(encoding="utf-8"))
                        loaded[entry.name[: -len(".json")]] = Draft4Validator(schema)
                for action in LENIENT_ACTIONS:
                    relaxed = _relax(loaded[action].schema)
                    relaxed["required"] = _LENIENT_REQUIRED[action]
                    _lenient[action] = Draft4Validator(relaxed)
                _validators = loaded
    return _validators


def is_ocpp16_action(action: str) -> bool:
    return action in load_schemas() and not action.endswith("Response")


def _error_for(exc: ValidationError, unique_id: str | None) -> OcppError:
    path = "/" + "/".join(str(p) for p in exc.absolute_path)
    details = {"path": path, "cause": exc.message[:200]}
    kind: type[OcppError]
    if exc.validator == "type":
        kind = TypeConstraintViolation
    elif exc.validator in ("required", "minItems", "maxItems"):
        kind = OccurenceConstraintViolation
    elif exc.validator == "additionalProperties":
        kind = FormationViolation
    elif exc.validator in ("enum", "maxLength", "minLength", "minimum", "maximum", "multipleOf"):
        kind = PropertyConstraintViolation
    else:
        kind = FormationViolation
    return kind(f"{path}: {exc.message}"[:255], unique_id=unique_id, details=details)


def _first_error(validator: Draft4Validator, payload: dict[str, Any]) -> ValidationError | None:
    fast = _fast_check(validator)
    if fast is not None and fast(payload):
        return None
    return best_match(validator.iter_errors(payload))


def validate_call(
    action: str, payload: dict[str, Any], *, lenient: bool = False, unique_id: str | None = None
) -> None:
    """Check a CALL payload; lenient only for :data:`LENIENT_ACTIONS`.

    Raises NotImplementedAction for an action OCPP 1.6 does not have, or the constraint
    violation found first.
    """
    validators = load_schemas()
    if action.endswith("Response") or action not in validators:
        raise NotImplementedAction(f"unknown action {action!r}", unique_id=unique_id)
    validator = _lenient[action] if lenient and action in _lenient else validators[action]
    error = _first_error(validator, payload)
    if error is not None:
        raise _error_for(error, unique_id)


def validate_result(action: str, payload: dict[str, Any], *, unique_id: str | None = None) -> None:
    """Check a CALLRESULT payload against the schema of ``action``'s response."""
    validators = load_schemas()
    validator = validators.get(f"{action}Response")
    if validator is None:
        raise NotImplementedAction(f"unknown action {action!r}", unique_id=unique_id)
    error = _first_error(validator, payload)
    if error is not None:
        raise _error_for(error, unique_id)
