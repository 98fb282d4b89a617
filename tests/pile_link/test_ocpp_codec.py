"""OCPP-J 1.6 codec: golden frames from the specification, error codes, lenient stop path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pile_link.ocpp16 import codec
from pile_link.ocpp16.codec import Call, CallError, CallResult

# OCPP-J 1.6 §4.2.1 / §4.2.3 samples, verbatim.
SPEC_CALL = (
    '[2,\n "19223201",\n "BootNotification",\n {\n  "chargePointVendor": "VendorX",\n'
    '  "chargePointModel": "SingleSocketCharger"\n }\n]'
)
# The specification's CALLRESULT sample names the field "heartbeatInterval"; the 1.6 schema
# says "interval". The schema wins.
SPEC_RESULT = (
    '[3,\n "19223201",\n {\n  "status":"Accepted",\n  "currentTime":"2013-02-01T20:53:32.486Z",\n'
    '  "heartbeatInterval":300\n }\n]'
)
SPEC_ERROR = (
    '[4,\n "162376037",\n "NotSupported",\n "SetDisplayMessageRequest not implemented",\n {}\n]'
)


def test_spec_call_sample_parses_and_validates() -> None:
    message = codec.parse(SPEC_CALL)
    assert message == Call(
        "19223201",
        "BootNotification",
        {"chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger"},
    )
    codec.validate_call(message.action, message.payload)


def test_spec_result_sample_parses_but_fails_the_16_schema() -> None:
    message = codec.parse(SPEC_RESULT)
    assert isinstance(message, CallResult)
    assert message.unique_id == "19223201"
    with pytest.raises(codec.FormationViolation, match="heartbeatInterval"):
        codec.validate_result("BootNotification", message.payload)
    fixed = {**message.payload, "interval": 300}
    del fixed["heartbeatInterval"]
    codec.validate_result("BootNotification", fixed)


def test_spec_error_sample() -> None:
    assert codec.parse(SPEC_ERROR) == CallError(
        "162376037", "NotSupported", "SetDisplayMessageRequest not implemented", {}
    )


def test_build_frames_are_compact_json() -> None:
    assert codec.build_call("1", "Heartbeat", {}) == '[2,"1","Heartbeat",{}]'
    assert codec.build_result("1", {"currentTime": "x"}) == '[3,"1",{"currentTime":"x"}]'
    assert codec.build_error("1", "NotSupported", "no", {"a": 1}) == (
        '[4,"1","NotSupported","no",{"a":1}]'
    )
    assert codec.build_error(None, "FormationViolation") == '[4,"-1","FormationViolation","",{}]'
    for message in (Call("1", "Heartbeat", {}), CallResult("2", {}), CallError("3", "X", "y")):
        assert codec.parse(codec.encode(message)) == message


@pytest.mark.parametrize(
    ("frame", "error", "unique_id", "answerable"),
    [
        ("not json", codec.FormationViolation, None, True),
        (b"\xff\xfe", codec.FormationViolation, None, True),
        ("NaN", codec.FormationViolation, None, True),
        ('{"a": 1}', codec.FormationViolation, None, True),
        ("[]", codec.FormationViolation, None, True),
        ('["2", "a", "Heartbeat", {}]', codec.FormationViolation, "a", True),
        ('[7, "a", "Heartbeat", {}]', codec.ProtocolError, "a", True),
        ('[2, 17, "Heartbeat", {}]', codec.FormationViolation, None, True),
        ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', codec.FormationViolation, None, True),
        ('[2, "a", "Heartbeat"]', codec.FormationViolation, "a", True),
        ('[2, "a", "Heartbeat", []]', codec.FormationViolation, "a", True),
        ('[2, "a", 5, {}]', codec.FormationViolation, "a", True),
        ('[3, "a"]', codec.FormationViolation, "a", False),
        ('[4, "a"]', codec.FormationViolation, "a", False),
    ],
)
def test_broken_frames_raise_the_error_to_answer(
    frame: str | bytes, error: type[codec.OcppError], unique_id: str | None, answerable: bool
) -> None:
    with pytest.raises(error) as caught:
        codec.parse(frame)
    assert caught.value.unique_id == unique_id
    assert caught.value.answerable is answerable
    reply = json.loads(codec.error_frame(caught.value))
    assert reply[:3] == [4, unique_id or "-1", error.code]


def test_sloppy_callerror_from_a_pile_is_still_read() -> None:
    assert codec.parse('[4, "a", "InternalError"]') == CallError("a", "InternalError")
    assert codec.parse('[4, "a", "GenericError", "x", null]') == CallError("a", "GenericError", "x")


@pytest.mark.parametrize(
    ("action", "payload", "error"),
    [
        ("Heartbeatz", {}, codec.NotImplementedAction),
        ("BootNotificationResponse", {}, codec.NotImplementedAction),
        ("BootNotification", {"chargePointVendor": "V"}, codec.OccurenceConstraintViolation),
        (
            "BootNotification",
            {"chargePointVendor": "V", "chargePointModel": 5},
            codec.TypeConstraintViolation,
        ),
        (
            "BootNotification",
            {"chargePointVendor": "V" * 21, "chargePointModel": "M"},
            codec.PropertyConstraintViolation,
        ),
        (
            "BootNotification",
            {"chargePointVendor": "V", "chargePointModel": "M", "colour": "red"},
            codec.FormationViolation,
        ),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"},
            codec.PropertyConstraintViolation,
        ),
        (
            "StartTransaction",
            {"connectorId": 1, "idTag": "T", "meterStart": "10", "timestamp": "2024-01-01T00:00Z"},
            codec.TypeConstraintViolation,
        ),
    ],
)
def test_strict_validation_codes(
    action: str, payload: dict[str, Any], error: type[codec.OcppError]
) -> None:
    with pytest.raises(error) as caught:
        codec.validate_call(action, payload, unique_id="u1")
    assert caught.value.unique_id == "u1"


VENDOR_STOP: dict[str, Any] = {
    "transactionId": 17,
    "timestamp": "2024-03-01T08:00:00Z",
    "meterStop": "1234.5",
    "reason": "BatteryFull",
    "vendorInfo": {"board": "X1"},
    "transactionData": [
        {
            "timestamp": "2024-03-01T07:00:00Z",
            "sampledValue": [{"value": 12.5, "unit": "kWh", "context": "Transaction.Begin"}],
            "vendorExtra": 1,
        }
    ],
}


def test_vendor_stop_is_refused_strictly_but_accepted_leniently() -> None:
    with pytest.raises(codec.OcppError):
        codec.validate_call("StopTransaction", VENDOR_STOP)
    codec.validate_call("StopTransaction", VENDOR_STOP, lenient=True)


def test_lenient_stop_needs_only_its_transaction() -> None:
    codec.validate_call("StopTransaction", {"transactionId": "17"}, lenient=True)
    with pytest.raises(codec.OccurenceConstraintViolation):
        codec.validate_call("StopTransaction", {"meterStop": 5}, lenient=True)
    with pytest.raises(codec.TypeConstraintViolation):
        codec.validate_call(
            "StopTransaction", {"transactionId": 1, "transactionData": "x"}, lenient=True
        )


def test_lenient_meter_values_accept_vendor_units_and_numbers() -> None:
    payload = {
        "connectorId": "1",
        "meterValue": [
            {"timestamp": "x", "sampledValue": [{"value": 3.2, "unit": "MWh", "vendor": True}]}
        ],
    }
    codec.validate_call("MeterValues", payload, lenient=True)
    with pytest.raises(codec.OccurenceConstraintViolation):
        codec.validate_call("MeterValues", {"connectorId": 1, "meterValue": []}, lenient=True)


def test_lenient_only_applies_to_the_stop_path() -> None:
    with pytest.raises(codec.FormationViolation):
        codec.validate_call(
            "BootNotification",
            {"chargePointVendor": "V", "chargePointModel": "M", "x": 1},
            lenient=True,
        )


def test_schemas_are_loaded_once() -> None:
    assert codec.load_schemas() is codec.load_schemas()
    assert codec.is_ocpp16_action("RemoteStartTransaction")
    assert not codec.is_ocpp16_action("RemoteStartTransactionResponse")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    unique_id=st.text(min_size=1, max_size=36),
    action=st.text(min_size=1, max_size=30),
    payload=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
)
def test_call_round_trips(unique_id: str, action: str, payload: dict[str, Any]) -> None:
    assert codec.parse(codec.build_call(unique_id, action, payload)) == Call(
        unique_id, action, payload
    )


@settings(max_examples=300, deadline=None)
@given(frame=st.text(max_size=200) | st.binary(max_size=200) | json_values.map(json.dumps))
def test_parse_raises_only_ocpp_errors(frame: str | bytes) -> None:
    try:
        codec.parse(frame)
    except codec.OcppError as exc:
        json.loads(codec.error_frame(exc))


# --- the fast path of validation ------------------------------------------------------------

_VALID_SAMPLES: dict[str, dict[str, Any]] = {
    "MeterValues": {
        "connectorId": 1,
        "transactionId": 17,
        "meterValue": [
            {
                "timestamp": "2021-01-13T22:05:00Z",
                "sampledValue": [
                    {
                        "value": "1000500",
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh",
                        "context": "Sample.Periodic",
                    },
                    {
                        "value": "7000",
                        "measurand": "Power.Active.Import",
                        "unit": "W",
                        "phase": "L1",
                    },
                ],
            }
        ],
    },
    "StatusNotification": {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
    "BootNotification": {"chargePointVendor": "Xundao", "chargePointModel": "XD-AC7"},
    "Heartbeat": {},
    "StopTransaction": {
        "transactionId": 17,
        "meterStop": 1760,
        "timestamp": "2021-01-13T22:30:00Z",
    },
    "StartTransactionResponse": {"transactionId": 17, "idTagInfo": {"status": "Accepted"}},
}
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_MUTATION_KEYS = [
    "connectorId", "meterValue", "sampledValue", "value", "measurand", "unit",
    "status", "errorCode", "timestamp", "transactionId", "idTagInfo", "x",
]  # fmt: skip


def _mutate(payload: Any, path: list[int], value: Any, key: str, how: int) -> Any:
    """Replace, drop or add something somewhere inside ``payload`` (a copy)."""
    if isinstance(payload, dict) and payload and path:
        names = sorted(payload)
        name = names[path[0] % len(names)]
        out = dict(payload)
        if len(path) == 1 and how == 0:
            del out[name]
        elif len(path) == 1 and how == 1:
            out[name] = value
        else:
            out[name] = _mutate(payload[name], path[1:], value, key, how)
        return out
    if isinstance(payload, list) and payload and path:
        out_list = list(payload)
        i = path[0] % len(payload)
        out_list[i] = _mutate(payload[i], path[1:], value, key, how)
        return out_list
    if isinstance(payload, dict):
        return {**payload, key: value}
    return value


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(_VALID_SAMPLES)),
    st.booleans(),
    st.lists(st.integers(0, 5), max_size=5),
    _json,
    st.sampled_from(_MUTATION_KEYS),
    st.integers(0, 2),
)
def test_fast_validation_never_passes_what_jsonschema_refuses(
    action: str, lenient: bool, path: list[int], value: Any, key: str, how: int
) -> None:
    validators = codec.load_schemas()
    validator = validators[action]
    if lenient and action in codec.LENIENT_ACTIONS:
        validator = codec._lenient[action]
    fast = codec._fast_check(validator)
    assert fast is not None, "the hot schemas have a fast path"
    payload = _mutate(_VALID_SAMPLES[action], path, value, key, how)
    if fast(payload):
        assert list(validator.iter_errors(payload)) == [], payload


def test_well_formed_hot_payloads_take_the_fast_path() -> None:
    validators = codec.load_schemas()
    for action, payload in _VALID_SAMPLES.items():
        for validator in (validators[action], codec._lenient.get(action)):
            if validator is None:
                continue
            fast = codec._fast_check(validator)
            assert fast is not None and fast(payload), action
            assert list(validator.iter_errors(payload)) == []
