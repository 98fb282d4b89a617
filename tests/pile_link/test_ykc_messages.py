"""YKC v1.6 messages: every frame type round-trips, decoding is total, domain units are right."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pile_link.ykc import (
    MESSAGE_TYPES,
    PILE_TZ,
    BillingModelReply,
    BillingModelSet,
    CardStartRequest,
    Frame,
    FrameDecoder,
    Heartbeat,
    Message,
    MessageDecodeError,
    MessageEncodeError,
    RealtimeData,
    RecordSegment,
    RemoteStart,
    TariffRate,
    TransactionRecord,
    TransactionRecordAck,
    UnknownMessage,
    decode_body,
    decode_message,
    encode_body,
    encode_message,
    password_md5_16,
)
from pile_link.ykc.fields import (
    Ascii,
    Bcd,
    BcdInt,
    ByteList,
    Codec,
    CountedList,
    Cp56,
    Hex,
    Raw,
    Struct,
    TailList,
    UInt,
    layout,
)

# YKC v1.6 §4: every frame type code of the table
SPEC_FRAME_TYPES = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x09, 0x0A,
    0x12, 0x13, 0x15, 0x17, 0x19, 0x1B, 0x1D, 0x21, 0x23, 0x25,
    0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x3B, 0x40,
    0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x51, 0x52, 0x55, 0x56, 0x57, 0x58,
    0x61, 0x62, 0x63,
    0x91, 0x92, 0x93, 0x94,
    0xA1, 0xA2, 0xA3, 0xA4,
}  # fmt: skip

# the body sizes the spec's tables add up to (variable lists with no items)
SPEC_BODY_SIZES = {
    0x01: 30, 0x02: 8, 0x03: 9, 0x04: 9, 0x05: 9, 0x06: 10, 0x09: 7, 0x0A: 90,
    0x12: 8, 0x13: 60, 0x15: 73, 0x17: 45, 0x19: 39, 0x1B: 32, 0x1D: 28, 0x21: 28,
    0x23: 44, 0x25: 31, 0x31: 51, 0x32: 38, 0x33: 26, 0x34: 44, 0x35: 10, 0x36: 8,
    0x3B: 158, 0x40: 17, 0x41: 16, 0x42: 20, 0x43: 9, 0x44: 8, 0x45: 7, 0x46: 8,
    0x47: 7, 0x48: 8, 0x51: 8, 0x52: 9, 0x55: 14, 0x56: 14, 0x57: 8, 0x58: 90,
    0x61: 16, 0x62: 13, 0x63: 13, 0x91: 8, 0x92: 8, 0x93: 8, 0x94: 94,
    0xA1: 58, 0xA2: 44, 0xA3: 33, 0xA4: 50,
}  # fmt: skip

TIMES = st.datetimes(
    min_value=datetime(2000, 1, 2),
    max_value=datetime(2127, 12, 30),
    timezones=st.just(PILE_TZ),
).map(lambda dt: dt.replace(microsecond=dt.microsecond // 1000 * 1000))


def strategy_for(codec: Codec) -> st.SearchStrategy[Any]:
    """Values a codec can carry, derived from the message layout itself."""
    if isinstance(codec, UInt):
        return st.integers(0, (1 << (8 * codec.size)) - 1)
    if isinstance(codec, BcdInt):
        return st.integers(0, 10 ** (2 * codec.size) - 1)
    if isinstance(codec, Bcd):
        return st.text("0123456789", min_size=2 * codec.size, max_size=2 * codec.size)
    if isinstance(codec, Hex):
        return st.text("0123456789ABCDEF", min_size=2 * codec.size, max_size=2 * codec.size)
    if isinstance(codec, Raw):
        return st.binary(min_size=codec.size, max_size=codec.size)
    if isinstance(codec, Ascii):
        return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=codec.size)
    if isinstance(codec, Cp56):
        return st.none() | TIMES
    if isinstance(codec, ByteList):
        return st.lists(st.integers(0, 255), min_size=codec.size, max_size=codec.size).map(tuple)
    if isinstance(codec, Struct):
        return message_strategy(codec.cls)
    if isinstance(codec, CountedList | TailList):
        return st.lists(strategy_for(codec.item), max_size=8).map(tuple)
    raise AssertionError(f"no strategy for {codec!r}")


def message_strategy(cls: type) -> st.SearchStrategy[Any]:
    return st.builds(cls, **{name: strategy_for(codec) for name, codec in layout(cls)})


ALL_TYPES = sorted(MESSAGE_TYPES.items())
IDS = [f"0x{code:02X}-{cls.__name__}" for code, cls in ALL_TYPES]


def test_every_frame_type_of_the_spec_table_has_a_message():
    assert set(MESSAGE_TYPES) == SPEC_FRAME_TYPES
    for code, cls in MESSAGE_TYPES.items():
        assert code == cls.FRAME_TYPE


@pytest.mark.parametrize(("code", "cls"), ALL_TYPES, ids=IDS)
def test_body_sizes_match_the_spec_tables(code, cls):
    fixed = sum(c.fixed_size() or (1 if isinstance(c, CountedList) else 0) for _, c in layout(cls))
    assert fixed == SPEC_BODY_SIZES[code]


def test_odd_frame_types_come_from_the_pile():
    assert Heartbeat(pile_code="1", gun_no=1, gun_status=0).from_pile
    assert not TransactionRecordAck(serial="1").from_pile
    assert UnknownMessage(frame_type=0x77, body=b"").from_pile


@pytest.mark.parametrize(("code", "cls"), ALL_TYPES, ids=IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seq=st.integers(0, 0xFFFF))
def test_encode_decode_round_trip(code, cls, data, seq):
    message = data.draw(message_strategy(cls))
    raw = encode_message(message, seq)
    [frame] = FrameDecoder().feed(raw)
    assert frame.seq == seq
    assert frame.frame_type == code
    assert decode_message(frame) == message


@pytest.mark.parametrize(("code", "cls"), ALL_TYPES, ids=IDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_body_of_the_right_size_decodes(code, cls, data):
    size = sum(c.fixed_size() or 0 for _, c in layout(cls))
    extra = data.draw(st.integers(0, 40))
    body = data.draw(st.binary(min_size=size + extra, max_size=size + extra))
    try:
        message = decode_body(code, body)
    except MessageDecodeError:
        # only a counted list may run past the body; fixed layouts always decode
        assert any(isinstance(c, CountedList) for _, c in layout(cls))
        return
    # decoding normalises at most once (broken BCD gun numbers, impossible times)
    assert decode_body(code, encode_body(message)) == message


def test_body_bytes_round_trip_exactly_when_values_are_well_formed():
    record = _record()
    body = encode_body(record)
    assert encode_body(decode_body(0x3B, body)) == body


def test_short_body_is_a_decode_error():
    with pytest.raises(MessageDecodeError, match="0x3B"):
        decode_body(0x3B, bytes(100))


def test_trailing_bytes_are_ignored():
    body = encode_body(Heartbeat(pile_code="32010200000001", gun_no=2, gun_status=1))
    assert decode_body(0x03, body + b"vendor") == decode_body(0x03, body)


def test_unknown_frame_type_is_kept_not_rejected():
    frame = Frame(seq=9, frame_type=0x77, body=b"\x01\x02")
    message = decode_message(frame)
    assert message == UnknownMessage(frame_type=0x77, body=b"\x01\x02")
    assert encode_message(message, 9) == frame.encode()


def test_encrypted_body_is_a_decode_error():
    frame = Frame(seq=1, frame_type=0x03, body=bytes(9), encrypted=1)
    with pytest.raises(MessageDecodeError, match="encrypted"):
        decode_message(frame)


@pytest.mark.parametrize(
    "message",
    [
        Heartbeat(pile_code="320102000000011", gun_no=1, gun_status=0),
        Heartbeat(pile_code="32010200000001", gun_no=100, gun_status=0),
        Heartbeat(pile_code="32010200000001", gun_no=1, gun_status=256),
        TransactionRecordAck(serial="x"),
    ],
)
def test_values_that_do_not_fit_are_an_encode_error(message):
    with pytest.raises(MessageEncodeError):
        encode_message(message, 0)


def test_wrong_nested_type_is_an_encode_error():
    bad = dataclasses.replace(_record(), sharp=TariffRate(energy_price=1, service_price=2))  # type: ignore[arg-type]
    with pytest.raises(MessageEncodeError, match="sharp"):
        encode_body(bad)


# --- domain units ---------------------------------------------------------------------------


def _segment(price: int = 0, energy: int = 0, amount: int = 0) -> RecordSegment:
    return RecordSegment(unit_price=price, energy=energy, lossy_energy=energy, amount=amount)


def _record(**changes: Any) -> TransactionRecord:
    values: dict[str, Any] = {
        "serial": "32010200000001012024010112000001",
        "pile_code": "32010200000001",
        "gun_no": 1,
        "start_time": datetime(2024, 1, 1, 12, 0, tzinfo=PILE_TZ),
        "end_time": datetime(2024, 1, 1, 12, 30, 15, 500000, tzinfo=PILE_TZ),
        "sharp": _segment(),
        "peak": _segment(),
        # seed case #18: 1.76 kWh at 0.6400 + 0.3500 yuan -> 1.13 + 0.62 = 1.75 yuan
        "flat": _segment(price=99000, energy=17600, amount=17500),
        "valley": _segment(),
        "meter_start": 123456789,
        "meter_stop": 123474389,
        "total_energy": 17600,
        "lossy_total_energy": 17600,
        "total_amount": 17500,
        "vin": "LSVAU2180N2183294",
        "trade_type": 0x01,
        "trade_time": datetime(2024, 1, 1, 12, 30, 20, tzinfo=PILE_TZ),
        "stop_reason": 0x40,
        "physical_card_no": "00000000D14B0A54",
    }
    values.update(changes)
    return TransactionRecord(**values)


def test_transaction_record_in_domain_units():
    record = decode_body(0x3B, encode_body(_record()))
    assert isinstance(record, TransactionRecord)
    assert record.energy_wh == 1760
    assert record.meter_start_wh == 12345679  # 1234.56789 kWh -> half up
    assert record.meter_stop_wh == 12347439
    assert record.total_amount_fen == 175
    assert record.amounts_fen == {"total": 175, "sharp": 0, "peak": 0, "flat": 175, "valley": 0}
    assert record.flat.unit_price_yuan == Decimal("0.99")
    assert record.flat.energy_wh == 1760
    assert record.stop_reason_text == "结束充电，APP远程停止"
    assert record.stop_reason_category == "充电完成"
    assert record.end_time == datetime(2024, 1, 1, 4, 30, 15, 500000, tzinfo=UTC)


def test_transaction_record_with_unknown_stop_reason_and_unset_clock_still_decodes():
    # lenient on the path that records a stop (DESIGN.md): never lose a bill
    body = bytearray(encode_body(_record(stop_reason=0xEE)))
    body[24:31] = bytes(7)  # start time zeroed: an unset pile clock
    record = decode_body(0x3B, bytes(body))
    assert isinstance(record, TransactionRecord)
    assert record.stop_reason == 0xEE
    assert record.stop_reason_text == "未知停止原因代码0xEE"
    assert record.stop_reason_category is None
    assert record.start_time is None
    assert record.energy_wh == 1760


def test_time_zone_is_a_decode_parameter():
    raw = encode_message(_record(), 1)
    [frame] = FrameDecoder().feed(raw)
    in_shanghai = decode_message(frame)
    in_utc = decode_message(frame, tz=UTC)
    assert isinstance(in_shanghai, TransactionRecord)
    assert isinstance(in_utc, TransactionRecord)
    assert in_utc.start_time == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert in_shanghai.start_time == datetime(2024, 1, 1, 4, 0, tzinfo=UTC)


def test_realtime_data_in_domain_units():
    sample = RealtimeData(
        serial="32010200000001012024010112000001",
        pile_code="32010200000001",
        gun_no=1,
        status=0x03,
        gun_returned=0x00,
        gun_plugged=0x01,
        voltage=3805,
        current=1203,
        gun_temperature=85,
        gun_wire_code="0000000000000000",
        soc=57,
        battery_max_temperature=78,
        charging_minutes=31,
        remaining_minutes=40,
        energy=123456,
        lossy_energy=123456,
        amount=98765,
        hardware_faults=0b1000000000001,
    )
    assert sample.voltage_v == pytest.approx(380.5)
    assert sample.current_a == pytest.approx(120.3)
    assert sample.power_w == 45774  # 380.5 V x 120.3 A = 45774.15 W
    assert sample.energy_wh == 12346
    assert sample.amount_fen == 988
    assert sample.gun_temperature_c == 35
    assert sample.battery_max_temperature_c == 28
    assert sample.fault_descriptions == ["急停按钮动作故障", "门打开"]
    assert sample.session_serial == sample.serial
    idle = dataclasses.replace(sample, serial="0" * 32)
    assert idle.session_serial is None


def test_billing_model_rates_by_half_hour():
    periods = tuple([3] * 16 + [2] * 16 + [1] * 14 + [0, 9])
    model = BillingModelSet(
        pile_code="32010200000001",
        model_no="0100",
        sharp=TariffRate(energy_price=120000, service_price=40000),
        peak=TariffRate(energy_price=100000, service_price=40000),
        flat=TariffRate(energy_price=70000, service_price=40000),
        valley=TariffRate(energy_price=30000, service_price=40000),
        periods=periods,
    )
    assert model.rate_at(0) == model.valley
    assert model.rate_at(20) == model.flat
    assert model.rate_at(46) == model.sharp
    assert model.rate_at(47) is None  # unknown number kept, not rejected
    assert model.sharp.energy_price_yuan == Decimal("1.2")
    assert model.valley.service_price_yuan == Decimal("0.4")
    reply = BillingModelReply(**{f.name: getattr(model, f.name) for f in dataclasses.fields(model)})
    assert encode_body(reply) == encode_body(model)
    with pytest.raises(MessageEncodeError):
        encode_body(dataclasses.replace(model, periods=(0,) * 47))


def test_card_start_request_password_and_id_tag():
    request = CardStartRequest(
        pile_code="32010200000001",
        gun_no=1,
        start_mode=0x01,
        needs_password=0x01,
        card_no="00000000D14B0A54",
        password=password_md5_16("123456"),
    )
    assert request.password == b"49ba59abbe56e057"  # md5("123456")[8:24]
    assert request.id_tag == "00000000D14B0A54"
    by_vin = dataclasses.replace(request, start_mode=0x03, vin="LSVAU2180N2183294")
    body = encode_body(by_vin)
    assert body[-17:] == b"LSVAU2180N2183294"[::-1]
    decoded = decode_body(0x31, body)
    assert isinstance(decoded, CardStartRequest)
    assert decoded.id_tag == "LSVAU2180N2183294"


def test_remote_start_balance_is_fen():
    command = RemoteStart(
        serial="55031412782305012018061914444680",
        pile_code="55031412782305",
        gun_no=1,
        logical_card_no="1000000573",
        physical_card_no="D14B0A54",
        balance_fen=100000,
    )
    body = encode_body(command)
    assert body[-4:] == bytes.fromhex("A0860100")  # §8.3: 1000.00 yuan
    decoded = decode_body(0x34, body)
    assert isinstance(decoded, RemoteStart)
    assert decoded.logical_card_no == "0000001000000573"
    assert decoded.physical_card_no == "00000000D14B0A54"


def test_messages_are_immutable_values():
    message: Message = Heartbeat(pile_code="32010200000001", gun_no=1, gun_status=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.gun_no = 2  # type: ignore[attr-defined]
    assert message == Heartbeat(pile_code="32010200000001", gun_no=1, gun_status=0)
