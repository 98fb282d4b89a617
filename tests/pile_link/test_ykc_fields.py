"""YKC v1.6 field codecs, CRC, unit conversions and code tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pile_link.ykc import codes, units
from pile_link.ykc.crc import crc16_modbus
from pile_link.ykc.fields import (
    PILE_TZ,
    Ascii,
    BcdInt,
    Context,
    FieldDecodeError,
    FieldEncodeError,
    Raw,
    bcd_decode,
    bcd_encode,
    cp56_decode,
    cp56_encode,
    uint_encode,
)

CTX = Context()

# --- CRC ----------------------------------------------------------------------------------


def test_crc16_modbus_check_value():
    # the catalogue check value of CRC-16/MODBUS
    assert crc16_modbus(b"123456789") == 0x4B37
    assert crc16_modbus(b"") == 0xFFFF


def test_crc16_matches_the_spec_login_reply_sample():
    # YKC v1.6 §6.2: 68 0C 0000 00 02 55031412782305 00 | DA 4C, low byte first
    data = bytes.fromhex("0000000255031412782305" + "00")
    assert crc16_modbus(data) == 0x4CDA


@given(st.binary(max_size=64))
def test_crc16_bitwise_reference(data):
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    assert crc16_modbus(data) == crc


# --- BCD ----------------------------------------------------------------------------------


def test_bcd_pile_code_round_trip():
    assert bcd_decode(bytes.fromhex("32010200000001")) == "32010200000001"
    assert bcd_encode("32010200000001", 7) == bytes.fromhex("32010200000001")


def test_bcd_short_value_is_left_padded_with_zeros():
    # §6.1 "不足7位补0"; §8.3 logical card 1000000573 -> 0000001000000573
    assert bcd_encode("1000000573", 8) == bytes.fromhex("0000001000000573")


def test_bcd_transaction_serial_from_the_spec():
    # §3.3 example serial: pile (7) + gun (1) + YYMMDDhhmmss (6) + counter (2)
    serial = "32010600019236012001061803423060"
    assert bcd_decode(bcd_encode(serial, 16)) == serial
    assert len(bcd_encode(serial, 16)) == 16


def test_bcd_keeps_non_decimal_nibbles_losslessly():
    assert bcd_decode(b"\x1a\xff") == "1AFF"
    assert bcd_encode("1aff", 2) == b"\x1a\xff"


@pytest.mark.parametrize("bad", ["123456789012345", "12G4", "12 4"])
def test_bcd_rejects_what_does_not_fit(bad):
    with pytest.raises(FieldEncodeError):
        bcd_encode(bad, 7 if len(bad) > 10 else 2)


def test_bcd_gun_number_is_decimal():
    codec = BcdInt(1)
    assert codec.encode(12, CTX) == b"\x12"
    assert codec.decode(b"\x12", 0, CTX) == (12, 1)
    with pytest.raises(FieldEncodeError):
        codec.encode(100, CTX)


def test_bcd_gun_number_reads_a_broken_byte_without_failing():
    codec = BcdInt(1)
    assert codec.decode(b"\x1a", 0, CTX) == (126, 1)  # out of range, no alias of gun 20
    assert codec.encode(126, CTX) == b"\x1a"
    with pytest.raises(FieldEncodeError):
        codec.encode(116, CTX)  # 100 + 0x10: 0x10 is gun 10, never decoded as 116


# --- integers, text, bytes ----------------------------------------------------------------


def test_integers_are_little_endian():
    # §8.3: A0 86 01 00 is 100000 (1000.00 yuan)
    assert int.from_bytes(bytes.fromhex("A0860100"), "little") == 100000
    assert uint_encode(100000, 4) == bytes.fromhex("A0860100")
    with pytest.raises(FieldEncodeError):
        uint_encode(256, 1)
    with pytest.raises(FieldEncodeError):
        uint_encode(-1, 2)


def test_ascii_is_zero_padded_and_round_trips_any_bytes():
    codec = Ascii(8)
    assert codec.encode("v4.1.50", CTX) == b"v4.1.50\x00"
    assert codec.decode(b"V4.1.50\x00", 0, CTX) == ("V4.1.50", 8)
    odd = b"A\x00\xffB\x00\x00\x00\x00"
    value, _ = codec.decode(odd, 0, CTX)
    assert codec.encode(value, CTX) == odd


def test_reversed_vin_of_the_card_start_request():
    # §8.1 item 7: "VIN码需要反序上送"
    codec = Ascii(17, reverse=True)
    vin = "LSVAU2180N2183294"
    assert codec.encode(vin, CTX) == vin.encode()[::-1]
    assert codec.decode(vin.encode()[::-1], 0, CTX) == (vin, 17)
    assert codec.encode("", CTX) == bytes(17)


def test_text_and_bytes_that_do_not_fit_are_refused():
    with pytest.raises(FieldEncodeError):
        Ascii(4).encode("12345", CTX)
    with pytest.raises(FieldEncodeError):
        Ascii(4).encode("充电", CTX)
    with pytest.raises(FieldEncodeError):
        Raw(2).encode(b"abc", CTX)
    assert Raw(4).encode(b"ab", CTX) == b"ab\x00\x00"


def test_short_body_raises_field_decode_error():
    with pytest.raises(FieldDecodeError):
        Raw(4).decode(b"abc", 0, CTX)


# --- CP56Time2a -----------------------------------------------------------------------------

SPEC_TIME = bytes.fromhex("98B70E11100314")  # §8.7/§9.3: 2020-03-16 17:14:47


def test_cp56_spec_sample_decodes_to_shanghai_local_time():
    value = cp56_decode(SPEC_TIME)
    assert value == datetime(2020, 3, 16, 17, 14, 47, tzinfo=PILE_TZ)
    assert value is not None
    assert value.astimezone(UTC) == datetime(2020, 3, 16, 9, 14, 47, tzinfo=UTC)


def test_cp56_encodes_a_utc_time_in_pile_local_time():
    assert cp56_encode(datetime(2020, 3, 16, 9, 14, 47, tzinfo=UTC)) == SPEC_TIME


def test_cp56_time_zone_is_a_parameter():
    tz = ZoneInfo("Asia/Shanghai")
    assert cp56_decode(SPEC_TIME, tz) == datetime(2020, 3, 16, 17, 14, 47, tzinfo=tz)
    utc_bytes = cp56_encode(datetime(2020, 3, 16, 17, 14, 47, tzinfo=PILE_TZ), UTC)
    assert cp56_decode(utc_bytes, UTC) == datetime(2020, 3, 16, 9, 14, 47, tzinfo=UTC)


def test_cp56_keeps_milliseconds_and_drops_microseconds():
    value = datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=PILE_TZ)
    data = cp56_encode(value)
    assert data[:2] == (59123).to_bytes(2, "little")
    assert cp56_decode(data) == value.replace(microsecond=123000)


def test_cp56_weekday_bits_are_optional_and_ignored_on_input():
    value = datetime(2020, 3, 16, 17, 14, 47, tzinfo=PILE_TZ)  # a Monday
    with_weekday = cp56_encode(value, weekday=True)
    assert with_weekday[4] == 0x10 | 1 << 5
    assert cp56_decode(with_weekday) == value


def test_cp56_flag_bits_are_ignored():
    data = bytearray(SPEC_TIME)
    data[2] |= 0x80  # IV
    data[3] |= 0x80  # SU
    assert cp56_decode(bytes(data)) == cp56_decode(SPEC_TIME)


@pytest.mark.parametrize(
    "raw",
    [
        "00000000000000",  # unset pile clock
        "60EA0E11100314",  # 60000 ms
        "98B73C11100314",  # minute 60
        "98B70E18100314",  # hour 24
        "98B70E111F0214",  # 31 February
        "98B70E11100D14",  # month 13
    ],
)
def test_cp56_impossible_times_decode_to_none(raw):
    assert cp56_decode(bytes.fromhex(raw)) is None


def test_cp56_refuses_naive_and_out_of_range_times():
    with pytest.raises(FieldEncodeError):
        cp56_encode(datetime(2020, 1, 1))
    with pytest.raises(FieldEncodeError):
        cp56_encode(datetime(1999, 12, 31, 15, 59, tzinfo=UTC))


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 2),
        max_value=datetime(2127, 12, 30),
        timezones=st.sampled_from([UTC, PILE_TZ, timezone(timedelta(hours=-5))]),
    )
)
def test_cp56_round_trip(value):
    value = value.replace(microsecond=value.microsecond // 1000 * 1000)
    decoded = cp56_decode(cp56_encode(value))
    assert decoded == value


@given(st.binary(min_size=7, max_size=7))
def test_cp56_decode_never_raises(data):
    value = cp56_decode(data)
    if value is not None:
        assert cp56_decode(cp56_encode(value)) == value


# --- units ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "wh"),
    [(0, 0), (4, 0), (5, 1), (14, 1), (15, 2), (17600, 1760), (123455, 12346)],
)
def test_energy_wh_rounds_half_up(raw, wh):
    assert units.kwh4_to_wh(raw) == wh


@pytest.mark.parametrize(
    ("raw", "fen"), [(0, 0), (49, 0), (50, 1), (11300, 113), (11349, 113), (11350, 114)]
)
def test_money_fen_rounds_half_up(raw, fen):
    assert units.yuan4_to_fen(raw) == fen


def test_prices_are_exact_decimals():
    # §8.7 sample: D0FB0100 = 130000 = 1.30000 yuan/kWh
    assert units.price5_to_yuan(130000) == Decimal("1.3")
    assert units.yuan_to_price5(Decimal("1.3000")) == 130000
    assert units.yuan_to_price5("0.123455") == 12346


def test_power_and_electrical_values():
    assert units.power_w(2251, 1005) == 22623  # 225.1 V x 100.5 A = 22622.55 W
    assert units.deci_to_float(2251) == pytest.approx(225.1)


def test_conversions_back_are_exact():
    assert units.wh_to_kwh4(1760) == 17600
    assert units.fen_to_yuan4(175) == 17500


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(1, 10**6))
def test_div_half_up_matches_decimal(value, divisor):
    expected = (Decimal(value) / Decimal(divisor)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert units.div_half_up(value, divisor) == int(expected)


# --- code tables ----------------------------------------------------------------------------


def test_stop_reason_table_from_the_spec():
    assert codes.stop_reason_text(0x40) == "结束充电，APP远程停止"
    assert codes.stop_reason_text(0x6E) == "充电异常中止，余额不足"
    assert codes.stop_reason_text(0x90) == "未知原因停止"
    assert codes.stop_reason_category(0x41) == "充电完成"
    assert codes.stop_reason_category(0x4E) == "充电启动失败"
    assert codes.stop_reason_category(0x89) == "充电异常中止"
    assert codes.stop_reason_is_normal(0x45)
    assert not codes.stop_reason_is_normal(0x72)


def test_unknown_and_reserved_stop_reasons_are_described_not_rejected():
    assert codes.stop_reason_text(0x47) == "其他方式(预留)"
    assert codes.stop_reason_text(0xEE) == "未知停止原因代码0xEE"
    assert codes.stop_reason_category(0xEE) is None
    assert codes.stop_reason_text(0x00) == "未知停止原因代码0x00"


def test_every_code_in_the_stop_reason_table_has_a_category():
    for code in codes.STOP_REASONS:
        assert codes.stop_reason_category(code) is not None


def test_hardware_fault_bits_start_at_the_lowest_bit():
    assert codes.hardware_faults(0) == []
    assert codes.hardware_faults(0b1) == ["急停按钮动作故障"]
    assert codes.hardware_faults(1 << 12 | 1 << 6) == ["电度表通信中断", "门打开"]
    assert codes.hardware_faults(1 << 15) == ["未定义故障位Bit16"]


def test_describe_falls_back_for_unknown_codes():
    assert codes.describe(codes.AUTH_FAILURE_REASONS, 0x03) == "账户余额不足"
    assert codes.describe(codes.AUTH_FAILURE_REASONS, 0x7F) == "未定义代码0x7F"
