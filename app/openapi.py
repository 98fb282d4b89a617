"""The flask-smorest Api, adjusted to the platform's one error contract, and what both HTTP
surfaces share: their blueprints (prefix, security, authentication) and schema pieces."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

import marshmallow as ma
from flask import Response, current_app, request
from flask_smorest import Api, Blueprint
from marshmallow import fields
from webargs.flaskparser import FlaskParser, abort

from app.errors import CATALOGUE
from app.http_errors import register_error_handlers
from app.schema_messages import INVALID_JSON, SCHEMA_MESSAGES, VALIDATION_FAILED, translate
from app.state import Slot

# PostgreSQL's integer columns are 32-bit and its text refuses NUL: an integer beyond
# either bound, or a NUL in a string, was a 500 there (issue 15) and is now a 422
INT32 = 2**31 - 1
_INT_RANGE = ma.validate.Range(min=-INT32, max=INT32, error="数值超出范围")


NO_NUL_PATTERN = "^[^\\x00]*$"


def _no_nul(value: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ma.ValidationError("不能包含 NUL 字符")


def _bound(field_obj: fields.Field) -> None:
    """Every integer field of a request gets the database's bounds unless it declares
    its own maximum; every string field refuses NUL."""
    if isinstance(field_obj, fields.Integer):
        ranges = [v for v in field_obj.validators if isinstance(v, ma.validate.Range)]
        if not any(r.max is not None for r in ranges):
            field_obj.validators.append(_INT_RANGE)
    elif isinstance(field_obj, fields.String) and _no_nul not in field_obj.validators:
        field_obj.validators.append(_no_nul)
    inner = getattr(field_obj, "inner", None)
    if isinstance(inner, fields.Field):
        _bound(inner)


class Schema(ma.Schema):
    """The base of every schema of both surfaces: its fields' and validators' messages in
    Chinese (app/schema_messages.py), the unknown-field message too; integers bounded and
    NUL refused (see :func:`_bound`)."""

    error_messages = SCHEMA_MESSAGES

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        translate(field_obj)
        _bound(field_obj)


class ArgumentsParser(FlaskParser):
    """webargs' parser with its own messages in Chinese."""

    DEFAULT_SCHEMA_CLASS = Schema
    DEFAULT_VALIDATION_MESSAGE = VALIDATION_FAILED

    def _handle_invalid_json_error(
        self, error: Any, req: Any, *args: Any, **kwargs: Any
    ) -> NoReturn:
        abort(400, exc=error, messages={"json": [INVALID_JSON]})


class ErrorDetailSchema(Schema):
    code = ma.fields.String(
        required=True, metadata={"description": "稳定的机器可读错误码，如 WALLET_INSUFFICIENT"}
    )
    message = ma.fields.String(required=True, metadata={"description": "给人看的中文说明"})
    details = ma.fields.Dict(metadata={"description": "字段错误或上下文"})


class ErrorSchema(Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


def error_codes() -> list[dict[str, Any]]:
    """The catalogue as the document's ``x-error-codes``: code, status, message, when."""
    return [
        {"code": code, "status": e.status, "message": e.message, "description": e.note}
        for code, e in CATALOGUE.items()
    ]


def error_codes_markdown() -> str:
    """The catalogue as a section of ``info.description`` (Swagger UI renders it)."""
    rows = [
        f"| `{c['code']}` | {c['status']} | {c['message']} | {c['description']} |"
        for c in error_codes()
    ]
    return "\n".join(
        [
            "## 错误码",
            "",
            '每个错误都以 HTTP 状态码和 `{"error": {"code", "message", "details"}}` 返回：'
            "`code` 稳定、供程序判断；`message` 为中文、给人看（同一错误码可能带更具体的说明）；"
            "`details` 为字段错误或上下文。同一列表也在本文档的 `x-error-codes` 中。",
            "",
            "| 错误码 | HTTP | 说明 | 何时出现 |",
            "|---|---|---|---|",
            *(row.replace("\n", " ") for row in rows),
        ]
    )


def _numeric_bounds(converter: Any, field: fields.Field, ret: dict[str, Any], **_: Any) -> dict:
    """A Decimal field's Range is documented as ``minimum: "0"`` (a string): an invalid
    document (issue 15, Low). Bounds are numbers."""
    fixed: dict[str, Any] = {}
    if isinstance(field, ClockField):
        fixed.update(type="string", pattern=_CLOCK.pattern)
    if _no_nul in field.validators and "pattern" not in ret and "enum" not in ret:
        fixed["pattern"] = NO_NUL_PATTERN  # documented too: no looser than the server
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        value = ret.get(key)
        if isinstance(value, (str, Decimal)) and not isinstance(value, bool):
            number = Decimal(str(value))
            fixed[key] = int(number) if number == number.to_integral_value() else float(number)
    return fixed


class EvopApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, **kwargs: Any) -> None:
        # the error catalogue, published once in the document: a table for people, a list
        # for programs
        info = dict(kwargs.pop("info", None) or {})
        intro = info.get("description", "")
        info["description"] = (
            f"{intro}\n\n{error_codes_markdown()}" if intro else error_codes_markdown()
        )
        super()._init_spec(info=info, **{"x-error-codes": error_codes()}, **kwargs)
        self.ma_plugin.converter.add_attribute_function(_numeric_bounds)

    def _register_error_handlers(self) -> None:
        # one contract for every route (domain errors, HTTP errors, crashes), not smorest's
        register_error_handlers(self._app)


# the application's one Api: the surfaces register their blueprints on it
HTTP_API: Slot[EvopApi] = Slot("OpenAPI document and its blueprints")

# fields.Decimal(as_string=True) dumps "22.531460"; apispec would document it as a number
DECIMAL_STRING = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}

# --- schema pieces both APIs share ---------------------------------------------------

MAX_ID = 2**31 - 1  # ids are PostgreSQL integers
ID = f"int(max={MAX_ID})"  # the URL converter of an id: a bigger number is a 404, not a 500

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class ClockField(fields.Field):
    """'HH:MM' on the wire, minutes of the day inside; '24:00' is the end of the day."""

    default_error_messages = {"invalid": "时间格式应为 HH:MM（00:00~24:00）"}

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return f"{value // 60:02d}:{value % 60:02d}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not _CLOCK.match(value):
            raise self.make_error("invalid")
        hours, minutes = value.split(":")
        return int(hours) * 60 + int(minutes)


class PageMeta(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    return type(name, (PageMeta,), {"items": fields.List(fields.Nested(item_schema))})


# --- one HTTP surface: its URL prefix, its security requirement, its authentication --------

SecurityRequirement = list[dict[str, list[str]]]
BEARER: SecurityRequirement = [{"bearerAuth": []}]

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def _is_public(view: Any) -> bool:
    return bool(getattr(view, "_apidoc", {}).get("public"))


class EvopBlueprint(Blueprint):
    """A blueprint of one surface (made by :meth:`Surface.blueprint`): every operation
    carries the surface's security requirement in the document and is authenticated before
    it runs, but the views marked :meth:`public` (login, the links a menu opens); its
    arguments are parsed with Chinese messages."""

    ARGUMENTS_PARSER = ArgumentsParser()

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        url_prefix: str,
        description: str,
        security: SecurityRequirement | None,
    ) -> None:
        super().__init__(name, import_name, url_prefix=url_prefix, description=description)
        self.security = security
        self._prepare_doc_cbks.append(self._prepare_security_doc)

    @staticmethod
    def public(view: ViewT) -> ViewT:
        """Decorator: this view needs no authentication (and its operation no security)."""
        view._apidoc = {**getattr(view, "_apidoc", {}), "public": True}  # type: ignore[attr-defined]
        return view

    def _prepare_security_doc(
        self, doc: dict[str, Any], doc_info: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        if self.security is not None and not doc_info.get("public"):
            doc["security"] = self.security
        return doc


def _guard(authenticate: Callable[[], None]) -> Callable[[], None]:
    """The ``before_request`` of a surface's blueprints: ``authenticate`` unless public."""

    def guard() -> None:
        if request.method == "OPTIONS":
            return
        if _is_public(current_app.view_functions.get(request.endpoint or "")):
            return
        authenticate()

    return guard


@dataclass(frozen=True)
class Surface:
    """An HTTP surface (the drivers' API, the console's API): the one place its URL prefix,
    its security requirement and its authentication are declared."""

    name: str  # blueprint names are "<name>_<area>"
    import_name: str
    url_prefix: str
    authenticate: Callable[[], None]
    security: SecurityRequirement = field(default_factory=lambda: BEARER)
    after_request: tuple[Callable[[Response], Response], ...] = ()

    def blueprint(self, area: str, description: str, *, public: bool = False) -> EvopBlueprint:
        """A blueprint of this surface; ``public=True``: none of its routes is authenticated
        or carries the security requirement (WeChat Pay's callbacks, signed by WeChat)."""
        bp = EvopBlueprint(
            f"{self.name}_{area}",
            self.import_name,
            url_prefix=self.url_prefix,
            description=description,
            security=None if public else self.security,
        )
        if not public:
            bp.before_request(_guard(self.authenticate))
            for after in self.after_request:
                bp.after_request(after)
        return bp
