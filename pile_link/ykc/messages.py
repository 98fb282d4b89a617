"""Typed YKC v1.6 messages: one frozen dataclass per frame type of the spec's §4 table.

Fields are declared in wire order and hold the raw wire values (integers in the spec's own
units, BCD as digit text, CP56Time2a as aware datetimes); properties give the domain's
units (Wh, fen, W). Odd frame types go pile -> platform, even ones platform -> pile (§4).

    frame = FrameDecoder().feed(data)[0]
    msg = decode_message(frame)                 # e.g. TransactionRecord
    reply = encode_message(TransactionRecordAck(serial=msg.serial), seq=frame.seq)

Decoding is lenient: unknown codes stay raw ints, impossible timestamps become ``None``,
bytes past the declared layout are ignored (``frame.body`` keeps them), and an unknown
frame type becomes :class:`UnknownMessage`. Only a body too short for its layout, or an
encrypted body, raises :class:`MessageDecodeError`. Sections (§) are YKC v1.6's.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Annotated, ClassVar, cast

from pile_link.ykc import codes, units
from pile_link.ykc.fields import (
    PILE_TZ,
    Ascii,
    Bcd,
    BcdInt,
    ByteList,
    Context,
    CountedList,
    Cp56,
    FieldDecodeError,
    FieldEncodeError,
    Hex,
    Raw,
    Struct,
    TailList,
    UInt,
    decode_struct,
    encode_struct,
)
from pile_link.ykc.frame import ENCRYPTION_NONE, Frame

U8 = Annotated[int, UInt(1)]
U16 = Annotated[int, UInt(2)]
U24 = Annotated[int, UInt(3)]
U32 = Annotated[int, UInt(4)]
U40 = Annotated[int, UInt(5)]
PileCode = Annotated[str, Bcd(7)]  # 14 digits (§3.3 桩编号)
GunNo = Annotated[int, BcdInt(1)]  # BCD gun number, 1-based
Serial = Annotated[str, Bcd(16)]  # 32-digit transaction serial (§3.3 交易流水号)
ModelNo = Annotated[str, Bcd(2)]  # billing model number, 4 digits
LogicalCardNo = Annotated[str, Bcd(8)]  # printed card number, BCD
PhysicalCardNo = Annotated[str, Hex(8)]  # chip UID / account, BIN shown as hex
ParallelNo = Annotated[str, Bcd(6)]  # YYMMDDhhmmss of a parallel charge (§12)
Timestamp = Annotated[datetime | None, Cp56()]


class MessageDecodeError(ValueError):
    """A frame's body cannot be read as its message type."""


class MessageEncodeError(ValueError):
    """A message's values do not fit the wire."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """Base of every YKC message; ``FRAME_TYPE`` is the §4 frame type code."""

    FRAME_TYPE: ClassVar[int]

    @property
    def from_pile(self) -> bool:
        """§4: piles use odd frame type codes, the platform even ones."""
        return self.FRAME_TYPE % 2 == 1


# --- nested layouts -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TariffRate:
    """One rate pair of a billing model, in 0.00001 yuan per kWh (§6.8 items 3-10)."""

    energy_price: U32  # 电费费率
    service_price: U32  # 服务费费率

    @property
    def energy_price_yuan(self) -> Decimal:
        return units.price5_to_yuan(self.energy_price)

    @property
    def service_price_yuan(self) -> Decimal:
        return units.price5_to_yuan(self.service_price)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecordSegment:
    """One of the four rate periods of a transaction record (§8.7 items 6-21)."""

    unit_price: U32  # 单价, 0.00001 yuan/kWh, energy + service (§8.7 item 6)
    energy: U32  # 电量, 0.0001 kWh
    lossy_energy: U32  # 计损电量, 0.0001 kWh
    amount: U32  # 金额, 0.0001 yuan

    @property
    def unit_price_yuan(self) -> Decimal:
        return units.price5_to_yuan(self.unit_price)

    @property
    def energy_wh(self) -> int:
        return units.kwh4_to_wh(self.energy)

    @property
    def amount_fen(self) -> int:
        return units.yuan4_to_fen(self.amount)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OfflineCard:
    """§8.11 items 3.. : one card to store for offline charging."""

    logical_card_no: LogicalCardNo
    physical_card_no: PhysicalCardNo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OfflineCardClearResult:
    """§8.14: one card's outcome (清除标记 0x00 failed, 0x01 cleared)."""

    physical_card_no: PhysicalCardNo
    cleared: U8
    fail_reason: U8


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OfflineCardQueryResult:
    """§8.16: whether one card is stored on the pile (0x00 absent, 0x01 present)."""

    physical_card_no: PhysicalCardNo
    present: U8


# --- §6 registration and heartbeat ----------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Login(Message):
    """0x01 充电桩登录认证 (§6.1), sent after every reset or reconnection."""

    FRAME_TYPE: ClassVar[int] = 0x01
    pile_code: PileCode
    pile_type: U8  # 0 DC, 1 AC (codes.PILE_TYPES)
    gun_count: U8
    protocol_version: U8  # version x 10: 0x0F is v1.5
    firmware_version: Annotated[str, Ascii(8)]
    network_type: U8  # codes.NETWORK_TYPES
    sim: Annotated[str, Bcd(10)]  # ICCID digits, zeros when unknown
    carrier: U8  # codes.CARRIERS

    @property
    def is_ac(self) -> bool:
        return self.pile_type == 0x01


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoginReply(Message):
    """0x02 登录认证应答 (§6.2)."""

    FRAME_TYPE: ClassVar[int] = 0x02
    ACCEPTED: ClassVar[int] = 0x00
    REJECTED: ClassVar[int] = 0x01
    pile_code: PileCode
    result: U8 = 0x00  # 0x00 accepted, 0x01 rejected


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat(Message):
    """0x03 充电桩心跳包 (§6.3), every 10 s; three missed mean the link is down."""

    FRAME_TYPE: ClassVar[int] = 0x03
    pile_code: PileCode
    gun_no: GunNo
    gun_status: U8  # 0x00 normal, 0x01 fault

    @property
    def gun_faulted(self) -> bool:
        return self.gun_status == 0x01


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatReply(Message):
    """0x04 心跳包应答 (§6.4)."""

    FRAME_TYPE: ClassVar[int] = 0x04
    pile_code: PileCode
    gun_no: GunNo
    reply: U8 = 0x00  # always 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BillingModelCheck(Message):
    """0x05 计费模型验证请求 (§6.5): "is my model current?" (``0000`` on first connect)."""

    FRAME_TYPE: ClassVar[int] = 0x05
    pile_code: PileCode
    model_no: ModelNo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BillingModelCheckReply(Message):
    """0x06 计费模型验证请求应答 (§6.6)."""

    FRAME_TYPE: ClassVar[int] = 0x06
    CURRENT: ClassVar[int] = 0x00
    OUTDATED: ClassVar[int] = 0x01
    pile_code: PileCode
    model_no: ModelNo
    result: U8  # 0x00 same as the platform's, 0x01 different: the pile asks with 0x09


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BillingModelRequest(Message):
    """0x09 充电桩计费模型请求 (§6.7)."""

    FRAME_TYPE: ClassVar[int] = 0x09
    pile_code: PileCode


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _BillingModel(Message):
    """The billing model body shared by 0x0A (§6.8) and 0x58 (§9.5).

    Four rate pairs (尖 sharp, 峰 peak, 平 flat, 谷 valley) and, for each half hour from
    00:00, the number of the pair that applies (0 sharp .. 3 valley).
    """

    pile_code: PileCode
    model_no: ModelNo
    sharp: TariffRate
    peak: TariffRate
    flat: TariffRate
    valley: TariffRate
    loss_ratio: U8 = 0  # 计损比例; the platform does not support it: 0 (§3.3)
    periods: Annotated[tuple[int, ...], ByteList(48)]

    def rate(self, kind: int) -> TariffRate | None:
        """The rate pair for a period's number (0..3), ``None`` for an unknown number."""
        return {0: self.sharp, 1: self.peak, 2: self.flat, 3: self.valley}.get(kind)

    def rate_at(self, half_hour: int) -> TariffRate | None:
        """The rate pair of half hour ``half_hour`` (0 = 00:00-00:30 .. 47)."""
        return self.rate(self.periods[half_hour])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BillingModelReply(_BillingModel):
    """0x0A 计费模型请求应答 (§6.8)."""

    FRAME_TYPE: ClassVar[int] = 0x0A


# --- §7 real-time data ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReadRealtimeData(Message):
    """0x12 读取实时监测数据 (§7.1): ask a gun for a 0x13 now."""

    FRAME_TYPE: ClassVar[int] = 0x12
    pile_code: PileCode
    gun_no: GunNo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RealtimeData(Message):
    """0x13 上传实时监测数据 (§7.2): every 15 s charging, 5 min idle, and on change."""

    FRAME_TYPE: ClassVar[int] = 0x13
    serial: Serial  # all zeros when no session
    pile_code: PileCode
    gun_no: GunNo
    status: U8  # codes.GunStatus: 0 offline, 1 fault, 2 idle, 3 charging
    gun_returned: U8  # 0 no, 1 yes, 2 unknown
    gun_plugged: U8  # 0 no, 1 yes
    voltage: U16  # 0.1 V
    current: U16  # 0.1 A
    gun_temperature: U8  # degC + 50
    gun_wire_code: Annotated[str, Hex(8)]
    soc: U8  # %
    battery_max_temperature: U8  # degC + 50
    charging_minutes: U16
    remaining_minutes: U16
    energy: U32  # 充电度数, 0.0001 kWh since the session began
    lossy_energy: U32  # 计损充电度数, 0.0001 kWh
    amount: U32  # 已充金额, 0.0001 yuan
    hardware_faults: U16  # bit field, codes.HARDWARE_FAULT_BITS

    @property
    def session_serial(self) -> str | None:
        """The serial, or ``None`` when the pile sends zeros (no session)."""
        return None if self.serial.strip("0") == "" else self.serial

    @property
    def voltage_v(self) -> float:
        return units.deci_to_float(self.voltage)

    @property
    def current_a(self) -> float:
        return units.deci_to_float(self.current)

    @property
    def power_w(self) -> int:
        return units.power_w(self.voltage, self.current)

    @property
    def energy_wh(self) -> int:
        return units.kwh4_to_wh(self.energy)

    @property
    def lossy_energy_wh(self) -> int:
        return units.kwh4_to_wh(self.lossy_energy)

    @property
    def amount_fen(self) -> int:
        return units.yuan4_to_fen(self.amount)

    @property
    def gun_temperature_c(self) -> int:
        return self.gun_temperature - 50

    @property
    def battery_max_temperature_c(self) -> int:
        return self.battery_max_temperature - 50

    @property
    def fault_descriptions(self) -> list[str]:
        return codes.hardware_faults(self.hardware_faults)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _BmsHeader(Message):
    serial: Serial
    pile_code: PileCode
    gun_no: GunNo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BmsHandshake(_BmsHeader):
    """0x15 充电握手 (§7.3), GB/T 27930 handshake values as the BMS sent them."""

    FRAME_TYPE: ClassVar[int] = 0x15
    bms_protocol_version: U24
    battery_type: U8
    rated_capacity: U16  # 0.1 Ah
    rated_voltage: U16  # 0.1 V
    battery_manufacturer: Annotated[str, Ascii(4)]
    battery_pack_no: U32
    production_year: U8  # + 1985
    production_month: U8
    production_day: U8
    charge_count: U24
    property_right: U8  # 0 leased, 1 owned
    reserved: U8
    vin: Annotated[str, Ascii(17)]
    bms_software_version: Annotated[bytes, Raw(8)]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BmsParameters(_BmsHeader):
    """0x17 参数配置 (§7.4)."""

    FRAME_TYPE: ClassVar[int] = 0x17
    cell_max_voltage: U16  # 0.01 V
    max_current: U16  # 0.1 A, -400 A offset
    nominal_energy: U16  # 0.1 kWh
    max_voltage: U16  # 0.1 V
    max_temperature: U8  # degC + 50
    soc: U16  # 0.1 %
    battery_voltage: U16
    pile_max_voltage: U16  # 0.1 V
    pile_min_voltage: U16  # 0.1 V
    pile_max_current: U16  # 0.1 A, -400 A offset
    pile_min_current: U16  # 0.1 A, -400 A offset


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BmsChargeEnd(_BmsHeader):
    """0x19 充电结束 (§7.5): the BMS's end-of-charge statistics (not the bill: see 0x3B)."""

    FRAME_TYPE: ClassVar[int] = 0x19
    soc: U8  # %
    cell_min_voltage: U16  # 0.01 V
    cell_max_voltage: U16  # 0.01 V
    min_temperature: U8  # degC + 50
    max_temperature: U8  # degC + 50
    charging_minutes: U16
    output_energy: U16  # 0.1 kWh
    charger_no: U32


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BmsError(_BmsHeader):
    """0x1B 错误报文 (§7.6): eight bytes of 2-bit timeout flags, kept whole."""

    FRAME_TYPE: ClassVar[int] = 0x1B
    error_flags: Annotated[bytes, Raw(8)]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BmsStop(_BmsHeader):
    """0x1D 充电阶段BMS中止 (§7.7): 2-bit flag fields, kept as integers."""

    FRAME_TYPE: ClassVar[int] = 0x1D
    stop_reason: U8
    fault_reason: U16
    error_reason: U8


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChargerStop(_BmsHeader):
    """0x21 充电阶段充电机中止 (§7.8): 2-bit flag fields, kept as integers."""

    FRAME_TYPE: ClassVar[int] = 0x21
    stop_reason: U8
    fault_reason: U16
    error_reason: U8


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BmsDemand(_BmsHeader):
    """0x23 充电过程BMS需求、充电机输出 (§7.9)."""

    FRAME_TYPE: ClassVar[int] = 0x23
    voltage_demand: U16  # 0.1 V
    current_demand: U16  # 0.1 A, -400 A offset
    charge_mode: U8  # 1 constant voltage, 2 constant current
    measured_voltage: U16  # 0.1 V
    measured_current: U16  # 0.1 A, -400 A offset
    max_cell_voltage_and_group: U16  # bits 1-12 0.01 V, bits 13-16 group
    soc: U8  # %
    remaining_minutes: U16
    output_voltage: U16  # 0.1 V
    output_current: U16  # 0.1 A, -400 A offset
    charging_minutes: U16


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BmsStatus(_BmsHeader):
    """0x25 充电过程BMS信息 (§7.10)."""

    FRAME_TYPE: ClassVar[int] = 0x25
    max_cell_voltage_no: U8
    max_temperature: U8  # degC + 50
    max_temperature_probe: U8
    min_temperature: U8  # degC + 50
    min_temperature_probe: U8
    battery_flags: U8  # items 9-12, 2 bits each
    connection_flags: U8  # items 13-16, 2 bits each


# --- §8 operations ----------------------------------------------------------------------


def password_md5_16(password: str) -> bytes:
    """The 16-character lowercase MD5 a pile sends for a typed password (§8.1 item 6)."""
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()[8:24].encode()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CardStartRequest(Message):
    """0x31 充电桩主动申请启动充电 (§8.1): a card, account or VIN asks to charge."""

    FRAME_TYPE: ClassVar[int] = 0x31
    pile_code: PileCode
    gun_no: GunNo
    start_mode: U8  # 1 card, 2 account, 3 VIN (codes.START_MODES)
    needs_password: U8  # 0 no, 1 yes
    card_no: PhysicalCardNo  # 账号或者物理卡号
    password: Annotated[bytes, Raw(16)] = bytes(16)  # "16位MD5", see password_md5_16
    vin: Annotated[str, Ascii(17, reverse=True)] = ""  # sent back to front (§8.1 item 7)

    @property
    def id_tag(self) -> str:
        """What identifies the driver: the VIN for a VIN start, else the card number."""
        return self.vin if self.start_mode == 0x03 else self.card_no


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CardStartReply(Message):
    """0x32 运营平台确认启动充电 (§8.2)."""

    FRAME_TYPE: ClassVar[int] = 0x32
    serial: Serial
    pile_code: PileCode
    gun_no: GunNo
    logical_card_no: LogicalCardNo
    balance_fen: U32  # "保留两位小数": 0.01 yuan is a fen
    authorized: U8  # 0x00 refused, 0x01 accepted
    fail_reason: U8 = 0x00  # codes.AUTH_FAILURE_REASONS


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoteStartReply(Message):
    """0x33 远程启机命令回复 (§8.4); a 0x05 failure may be followed by a late success."""

    FRAME_TYPE: ClassVar[int] = 0x33
    serial: Serial
    pile_code: PileCode
    gun_no: GunNo
    result: U8  # 0x00 failed, 0x01 started
    fail_reason: U8  # codes.REMOTE_START_FAILURE_REASONS

    @property
    def started(self) -> bool:
        return self.result == 0x01


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoteStart(Message):
    """0x34 运营平台远程控制启机 (§8.3)."""

    FRAME_TYPE: ClassVar[int] = 0x34
    serial: Serial
    pile_code: PileCode
    gun_no: GunNo
    logical_card_no: LogicalCardNo
    physical_card_no: PhysicalCardNo
    balance_fen: U32  # 0.01 yuan


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoteStopReply(Message):
    """0x35 远程停机命令回复 (§8.6)."""

    FRAME_TYPE: ClassVar[int] = 0x35
    pile_code: PileCode
    gun_no: GunNo
    result: U8  # 0x00 failed, 0x01 stopped
    fail_reason: U8  # codes.REMOTE_STOP_FAILURE_REASONS

    @property
    def stopped(self) -> bool:
        return self.result == 0x01


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoteStop(Message):
    """0x36 运营平台远程停机 (§8.5)."""

    FRAME_TYPE: ClassVar[int] = 0x36
    pile_code: PileCode
    gun_no: GunNo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TransactionRecord(Message):
    """0x3B 交易记录 (§8.7): the bill, end-of-charge evidence. Acknowledge with 0x40.

    The spec's history names 0x39 (v1.2) and 0x3F (v1.4) for older layouts, but v1.6
    defines only 0x3B, so only 0x3B is read. Decoding never rejects a value: an unknown
    ``stop_reason`` stays a raw int and an unset clock gives ``None`` times.
    """

    FRAME_TYPE: ClassVar[int] = 0x3B
    serial: Serial
    pile_code: PileCode
    gun_no: GunNo
    start_time: Timestamp
    end_time: Timestamp
    sharp: RecordSegment  # 尖
    peak: RecordSegment  # 峰
    flat: RecordSegment  # 平
    valley: RecordSegment  # 谷
    meter_start: U40  # 电表总起值, 0.0001 kWh (5 bytes since v1.5)
    meter_stop: U40  # 电表总止值
    total_energy: U32  # 总电量, 0.0001 kWh
    lossy_total_energy: U32  # 计损总电量
    total_amount: U32  # 消费金额, 0.0001 yuan, energy + service
    vin: Annotated[str, Ascii(17)]  # in order this time, no padding rules (§8.7 item 27)
    trade_type: U8  # codes.TRADE_TYPES: 1 app, 2 card, 4 offline card, 5 VIN
    trade_time: Timestamp
    stop_reason: U8  # codes.STOP_REASONS (§13.1), unknown codes kept
    physical_card_no: PhysicalCardNo

    @property
    def energy_wh(self) -> int:
        return units.kwh4_to_wh(self.total_energy)

    @property
    def lossy_energy_wh(self) -> int:
        return units.kwh4_to_wh(self.lossy_total_energy)

    @property
    def meter_start_wh(self) -> int:
        return units.kwh4_to_wh(self.meter_start)

    @property
    def meter_stop_wh(self) -> int:
        return units.kwh4_to_wh(self.meter_stop)

    @property
    def total_amount_fen(self) -> int:
        return units.yuan4_to_fen(self.total_amount)

    @property
    def segments(self) -> dict[str, RecordSegment]:
        return {"sharp": self.sharp, "peak": self.peak, "flat": self.flat, "valley": self.valley}

    @property
    def amounts_fen(self) -> dict[str, int]:
        """The pile's own amounts in fen: total and per rate period (SessionStopped)."""
        amounts = {"total": self.total_amount_fen}
        for name, segment in self.segments.items():
            amounts[name] = segment.amount_fen
        return amounts

    @property
    def stop_reason_text(self) -> str:
        return codes.stop_reason_text(self.stop_reason)

    @property
    def stop_reason_category(self) -> str | None:
        return codes.stop_reason_category(self.stop_reason)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TransactionRecordAck(Message):
    """0x40 交易记录确认 (§8.8): means "received", not "settled"."""

    FRAME_TYPE: ClassVar[int] = 0x40
    ACCEPTED: ClassVar[int] = 0x00
    ILLEGAL: ClassVar[int] = 0x01
    serial: Serial
    result: U8 = 0x00  # 0x00 uploaded, 0x01 illegal bill


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BalanceUpdateReply(Message):
    """0x41 余额更新应答 (§8.10)."""

    FRAME_TYPE: ClassVar[int] = 0x41
    pile_code: PileCode
    physical_card_no: PhysicalCardNo
    result: U8  # codes.BALANCE_UPDATE_RESULTS


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BalanceUpdate(Message):
    """0x42 远程账户余额更新 (§8.9); a zero card number updates whoever is charging."""

    FRAME_TYPE: ClassVar[int] = 0x42
    pile_code: PileCode
    gun_no: GunNo
    physical_card_no: PhysicalCardNo
    balance_fen: U32  # 0.01 yuan


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OfflineCardSyncReply(Message):
    """0x43 离线卡数据同步应答 (§8.12)."""

    FRAME_TYPE: ClassVar[int] = 0x43
    pile_code: PileCode
    result: U8  # 0x00 failed, 0x01 saved
    fail_reason: U8  # 0x01 bad card number, 0x02 storage full


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OfflineCardSync(Message):
    """0x44 离线卡数据同步 (§8.11), at most 15 cards."""

    FRAME_TYPE: ClassVar[int] = 0x44
    pile_code: PileCode
    cards: Annotated[tuple[OfflineCard, ...], CountedList(Struct(OfflineCard))]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OfflineCardClearReply(Message):
    """0x45 离线卡数据清除应答 (§8.14): results to the end of the body, no count."""

    FRAME_TYPE: ClassVar[int] = 0x45
    pile_code: PileCode
    results: Annotated[tuple[OfflineCardClearResult, ...], TailList(Struct(OfflineCardClearResult))]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OfflineCardClear(Message):
    """0x46 离线卡数据清除 (§8.13), at most 24 cards."""

    FRAME_TYPE: ClassVar[int] = 0x46
    pile_code: PileCode
    physical_card_nos: Annotated[tuple[str, ...], CountedList(Hex(8))]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OfflineCardQueryReply(Message):
    """0x47 离线卡数据查询应答 (§8.16): results to the end of the body, no count."""

    FRAME_TYPE: ClassVar[int] = 0x47
    pile_code: PileCode
    results: Annotated[tuple[OfflineCardQueryResult, ...], TailList(Struct(OfflineCardQueryResult))]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OfflineCardQuery(Message):
    """0x48 离线卡数据查询 (§8.15), at most 26 cards."""

    FRAME_TYPE: ClassVar[int] = 0x48
    pile_code: PileCode
    physical_card_nos: Annotated[tuple[str, ...], CountedList(Hex(8))]


# --- §9 settings ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorkParamsReply(Message):
    """0x51 充电桩工作参数设置应答 (§9.2)."""

    FRAME_TYPE: ClassVar[int] = 0x51
    pile_code: PileCode
    result: U8  # 0x00 failed, 0x01 done


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorkParamsSet(Message):
    """0x52 充电桩工作参数设置 (§9.1): lock the pile or cap its power."""

    FRAME_TYPE: ClassVar[int] = 0x52
    pile_code: PileCode
    locked: U8  # 0x00 work normally, 0x01 out of service
    max_power_percent: U8  # 30..100


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TimeSyncReply(Message):
    """0x55 对时设置应答 (§9.4): the pile's clock after setting."""

    FRAME_TYPE: ClassVar[int] = 0x55
    pile_code: PileCode
    time: Timestamp


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TimeSync(Message):
    """0x56 对时设置 (§9.3), daily."""

    FRAME_TYPE: ClassVar[int] = 0x56
    pile_code: PileCode
    time: Timestamp


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BillingModelSetReply(Message):
    """0x57 计费模型应答 (§9.6)."""

    FRAME_TYPE: ClassVar[int] = 0x57
    pile_code: PileCode
    result: U8  # 0x00 failed, 0x01 done


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BillingModelSet(_BillingModel):
    """0x58 计费模型设置 (§9.5): same body as 0x0A."""

    FRAME_TYPE: ClassVar[int] = 0x58


# --- §10 parking locks (gun number is BIN here) ---------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParkingLockStatus(Message):
    """0x61 地锁数据上送 (§10.1)."""

    FRAME_TYPE: ClassVar[int] = 0x61
    pile_code: PileCode
    gun_no: U8
    lock_state: U8  # codes.PARKING_LOCK_STATES
    space_state: U8  # codes.PARKING_SPACE_STATES
    battery_percent: U8
    alarm: U8  # codes.PARKING_LOCK_ALARMS
    reserved: Annotated[bytes, Raw(4)] = bytes(4)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParkingLockCommand(Message):
    """0x62 遥控地锁升锁与降锁命令 (§10.2)."""

    FRAME_TYPE: ClassVar[int] = 0x62
    RAISE: ClassVar[int] = 0x55
    LOWER: ClassVar[int] = 0xFF
    pile_code: PileCode
    gun_no: U8
    action: U8  # 0x55 raise, 0xFF lower
    reserved: Annotated[bytes, Raw(4)] = bytes(4)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParkingLockReply(Message):
    """0x63 充电桩返回数据 (§10.3)."""

    FRAME_TYPE: ClassVar[int] = 0x63
    pile_code: PileCode
    gun_no: U8
    result: U8  # 1 done, 0 failed
    reserved: Annotated[bytes, Raw(4)] = bytes(4)


# --- §11 maintenance ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoteRebootReply(Message):
    """0x91 远程重启应答 (§11.2)."""

    FRAME_TYPE: ClassVar[int] = 0x91
    pile_code: PileCode
    result: U8  # 0x00 failed, 0x01 accepted


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoteReboot(Message):
    """0x92 远程重启 (§11.1)."""

    FRAME_TYPE: ClassVar[int] = 0x92
    NOW: ClassVar[int] = 0x01
    WHEN_IDLE: ClassVar[int] = 0x02
    pile_code: PileCode
    mode: U8 = 0x01  # 0x01 at once, 0x02 when idle


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoteUpdateReply(Message):
    """0x93 远程更新应答 (§11.4)."""

    FRAME_TYPE: ClassVar[int] = 0x93
    pile_code: PileCode
    status: U8  # codes.UPDATE_STATUSES (0x00 success)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoteUpdate(Message):
    """0x94 远程更新 (§11.3): fetch firmware over FTP."""

    FRAME_TYPE: ClassVar[int] = 0x94
    pile_code: PileCode
    pile_model: U8  # 0x01 DC, 0x02 AC
    pile_power: U16
    server: Annotated[str, Ascii(16)]
    port: U16
    username: Annotated[str, Ascii(16)]
    password: Annotated[str, Ascii(16)]
    path: Annotated[str, Ascii(32)]
    mode: U8  # codes.EXECUTE_MODES
    timeout_minutes: U8


# --- §12 parallel charging (v1.6) -----------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParallelCardStartRequest(CardStartRequest):
    """0xA1 充电桩主动申请并充充电 (§12.1): 0x31 plus main/aux flag and group number."""

    FRAME_TYPE: ClassVar[int] = 0xA1
    auxiliary: U8  # 0x00 main gun, 0x01 auxiliary gun
    parallel_no: ParallelNo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParallelCardStartReply(CardStartReply):
    """0xA2 运营平台确认并充启动充电 (§12.2): 0x32 plus the group number."""

    FRAME_TYPE: ClassVar[int] = 0xA2
    parallel_no: ParallelNo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParallelRemoteStartReply(RemoteStartReply):
    """0xA3 远程并充启机命令回复 (§12.4): 0x33 plus main/aux flag and group number."""

    FRAME_TYPE: ClassVar[int] = 0xA3
    auxiliary: U8
    parallel_no: ParallelNo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParallelRemoteStart(RemoteStart):
    """0xA4 运营平台远程控制并充启机 (§12.3): 0x34 plus the group number."""

    FRAME_TYPE: ClassVar[int] = 0xA4
    parallel_no: ParallelNo


# --- unknown frames ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UnknownMessage(Message):
    """A frame type this codec does not know; the body is kept as it came."""

    FRAME_TYPE: ClassVar[int] = -1
    frame_type: int
    body: bytes

    @property
    def from_pile(self) -> bool:
        return self.frame_type % 2 == 1


# --- registry and entry points ----------------------------------------------------------

MESSAGE_TYPES: dict[int, type[Message]] = {
    cls.FRAME_TYPE: cls
    for cls in (
        Login,
        LoginReply,
        Heartbeat,
        HeartbeatReply,
        BillingModelCheck,
        BillingModelCheckReply,
        BillingModelRequest,
        BillingModelReply,
        ReadRealtimeData,
        RealtimeData,
        BmsHandshake,
        BmsParameters,
        BmsChargeEnd,
        BmsError,
        BmsStop,
        ChargerStop,
        BmsDemand,
        BmsStatus,
        CardStartRequest,
        CardStartReply,
        RemoteStartReply,
        RemoteStart,
        RemoteStopReply,
        RemoteStop,
        TransactionRecord,
        TransactionRecordAck,
        BalanceUpdateReply,
        BalanceUpdate,
        OfflineCardSyncReply,
        OfflineCardSync,
        OfflineCardClearReply,
        OfflineCardClear,
        OfflineCardQueryReply,
        OfflineCardQuery,
        WorkParamsReply,
        WorkParamsSet,
        TimeSyncReply,
        TimeSync,
        BillingModelSetReply,
        BillingModelSet,
        ParkingLockStatus,
        ParkingLockCommand,
        ParkingLockReply,
        RemoteRebootReply,
        RemoteReboot,
        RemoteUpdateReply,
        RemoteUpdate,
        ParallelCardStartRequest,
        ParallelCardStartReply,
        ParallelRemoteStartReply,
        ParallelRemoteStart,
    )
}


def decode_body(frame_type: int, body: bytes, *, tz: tzinfo = PILE_TZ) -> Message:
    """Decode a plain (unencrypted) body of ``frame_type``."""
    cls = MESSAGE_TYPES.get(frame_type)
    if cls is None:
        return UnknownMessage(frame_type=frame_type, body=bytes(body))
    try:
        message, _used = decode_struct(cls, bytes(body), Context(tz))
    except FieldDecodeError as exc:
        raise MessageDecodeError(f"frame type 0x{frame_type:02X}: {exc}") from exc
    # bytes past ``_used`` are ignored on purpose: a vendor's extra fields must not cost
    # a message (the frame keeps them)
    return cast(Message, message)


def decode_message(frame: Frame, *, tz: tzinfo = PILE_TZ) -> Message:
    """The message in ``frame``; CP56 times come back as aware datetimes in ``tz``."""
    if frame.encrypted != ENCRYPTION_NONE:
        raise MessageDecodeError(
            f"frame type 0x{frame.frame_type:02X}: encrypted body (flag "
            f"0x{frame.encrypted:02X}) is not supported"
        )
    return decode_body(frame.frame_type, frame.body, tz=tz)


def encode_body(message: Message, *, tz: tzinfo = PILE_TZ) -> bytes:
    if isinstance(message, UnknownMessage):
        return bytes(message.body)
    try:
        return encode_struct(message, Context(tz))
    except FieldEncodeError as exc:
        raise MessageEncodeError(f"{type(message).__name__}: {exc}") from exc


def message_frame(message: Message, seq: int, *, tz: tzinfo = PILE_TZ) -> Frame:
    frame_type = message.frame_type if isinstance(message, UnknownMessage) else message.FRAME_TYPE
    return Frame(seq=seq, frame_type=frame_type, body=encode_body(message, tz=tz))


def encode_message(message: Message, seq: int, *, tz: tzinfo = PILE_TZ) -> bytes:
    """The whole frame for ``message``; a reply reuses the request's ``seq`` (§3.1)."""
    return message_frame(message, seq, tz=tz).encode()
