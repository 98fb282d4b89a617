"""Code tables of YKC v1.6, kept as data with the spec's own (Chinese) descriptions.

Messages keep codes as plain ints; these tables explain them. A code a table does not know
is never an error (a pile may be newer than the spec): the lookups fall back to a text
that carries the raw value. Sections (§) are YKC v1.6's; punctuation of the
descriptions is normalised to full-width commas.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Final

# --- §13.1 充电停止原因代码表 (stop reasons of the transaction record, §8.7 item 30) -----

STOP_REASONS: Final = MappingProxyType(
    {
        # 充电完成
        0x40: "结束充电，APP远程停止",
        0x41: "结束充电，SOC达到100%",
        0x42: "结束充电，充电电量满足设定条件",
        0x43: "结束充电，充电金额满足设定条件",
        0x44: "结束充电，充电时间满足设定条件",
        0x45: "结束充电，手动停止充电",
        # 充电启动失败
        0x4A: "充电启动失败，充电桩控制系统故障(需要重启或自动恢复)",
        0x4B: "充电启动失败，控制导引断开",
        0x4C: "充电启动失败，断路器跳位",
        0x4D: "充电启动失败，电表通信中断",
        0x4E: "充电启动失败，余额不足",
        0x4F: "充电启动失败，充电模块故障",
        0x50: "充电启动失败，急停开入",
        0x51: "充电启动失败，防雷器异常",
        0x52: "充电启动失败，BMS未就绪",
        0x53: "充电启动失败，温度异常",
        0x54: "充电启动失败，电池反接故障",
        0x55: "充电启动失败，电子锁异常",
        0x56: "充电启动失败，合闸失败",
        0x57: "充电启动失败，绝缘异常",
        0x58: "预留",
        0x59: "充电启动失败，接收BMS握手报文BHM超时",
        0x5A: "充电启动失败，接收BMS和车辆的辨识报文超时BRM",
        0x5B: "充电启动失败，接收电池充电参数报文超时BCP",
        0x5C: "充电启动失败，接收BMS完成充电准备报文超时BRO AA",
        0x5D: "充电启动失败，接收电池充电总状态报文超时BCS",
        0x5E: "充电启动失败，接收电池充电要求报文超时BCL",
        0x5F: "充电启动失败，接收电池状态信息报文超时BSM",
        0x60: "充电启动失败，GB2015电池在BHM阶段有电压不允许充电",
        0x61: "充电启动失败，GB2015辨识阶段在BRO_AA时候电池实际电压与BCP报文电池电压差距大于5%",
        0x62: "充电启动失败，B2015充电机在预充电阶段从BRO_AA变成BRO_00状态",
        0x63: "充电启动失败，接收主机配置报文超时",
        0x64: "充电启动失败，充电机未准备就绪，我们没有回CRO AA，对应老国标",
        # 充电异常中止
        0x6A: "充电异常中止，系统闭锁",
        0x6B: "充电异常中止，导引断开",
        0x6C: "充电异常中止，断路器跳位",
        0x6D: "充电异常中止，电表通信中断",
        0x6E: "充电异常中止，余额不足",
        0x6F: "充电异常中止，交流保护动作",
        0x70: "充电异常中止，直流保护动作",
        0x71: "充电异常中止，充电模块故障",
        0x72: "充电异常中止，急停开入",
        0x73: "充电异常中止，防雷器异常",
        0x74: "充电异常中止，温度异常",
        0x75: "充电异常中止，输出异常",
        0x76: "充电异常中止，充电无流",
        0x77: "充电异常中止，电子锁异常",
        0x78: "预留",
        0x79: "充电异常中止，总充电电压异常",
        0x7A: "充电异常中止，总充电电流异常",
        0x7B: "充电异常中止，单体充电电压异常",
        0x7C: "充电异常中止，电池组过温",
        0x7D: "充电异常中止，最高单体充电电压异常",
        0x7E: "充电异常中止，最高电池组过温",
        0x7F: "充电异常中止，BMV单体充电电压异常",
        0x80: "充电异常中止，BMT电池组过温",
        0x81: "充电异常中止，电池状态异常停止充电",
        0x82: "充电异常中止，车辆发报文禁止充电",
        0x83: "充电异常中止，充电桩断电",
        0x84: "充电异常中止，接收电池充电总状态报文超时",
        0x85: "充电异常中止，接收电池充电要求报文超时",
        0x86: "充电异常中止，接收电池状态信息报文超时",
        0x87: "充电异常中止，接收BMS中止充电报文超时",
        0x88: "充电异常中止，接收BMS充电统计报文超时",
        0x89: "充电异常中止，接收对侧CCS报文超时",
        # 未知原因停止
        0x90: "未知原因停止",
    }
)

# §13.1 groups codes into categories by range; the gaps are reserved ("预留").
STOP_REASON_CATEGORIES: Final = (
    (0x40, 0x49, "充电完成"),
    (0x4A, 0x69, "充电启动失败"),
    (0x6A, 0x8F, "充电异常中止"),
    (0x90, 0x90, "未知原因停止"),
)

# Reserved ranges of §13.1 without their own descriptions.
_STOP_REASON_RESERVED: Final = (
    (0x46, 0x49, "其他方式(预留)"),
    (0x65, 0x69, "(其他原因)预留"),
    (0x8A, 0x8F, "(其他原因)预留"),
)


def stop_reason_category(code: int) -> str | None:
    """The §13.1 category of a stop reason, ``None`` outside every range."""
    for low, high, name in STOP_REASON_CATEGORIES:
        if low <= code <= high:
            return name
    return None


def stop_reason_text(code: int) -> str:
    """The §13.1 description, or a text naming the raw code when §13.1 does not know it."""
    known = STOP_REASONS.get(code)
    if known is not None:
        return known
    for low, high, text in _STOP_REASON_RESERVED:
        if low <= code <= high:
            return text
    return f"未知停止原因代码0x{code:02X}"


def stop_reason_is_normal(code: int) -> bool:
    """True for the 充电完成 range (0x40-0x49): the session ended as the user wanted."""
    return 0x40 <= code <= 0x49


# --- other tables -----------------------------------------------------------------------


class GunStatus(enum.IntEnum):
    """§7.2 item 4 (状态)."""

    OFFLINE = 0x00  # 离线
    FAULT = 0x01  # 故障
    IDLE = 0x02  # 空闲
    CHARGING = 0x03  # 充电


GUN_STATUS: Final = MappingProxyType({0x00: "离线", 0x01: "故障", 0x02: "空闲", 0x03: "充电"})

# §7.2 item 5 (枪是否归位)
GUN_RETURNED: Final = MappingProxyType({0x00: "否", 0x01: "是", 0x02: "未知"})

# §7.2 item 18 (硬件故障): bit index (0 = the spec's "Bit1", the lowest bit) -> fault.
HARDWARE_FAULT_BITS: Final = MappingProxyType(
    {
        0: "急停按钮动作故障",
        1: "无可用整流模块",
        2: "出风口温度过高",
        3: "交流防雷故障",
        4: "交直流模块DC20通信中断",
        5: "绝缘检测模块FC08通信中断",
        6: "电度表通信中断",
        7: "读卡器通信中断",
        8: "RC10通信中断",
        9: "风扇调速板故障",
        10: "直流熔断器故障",
        11: "高压接触器故障",
        12: "门打开",
    }
)


def hardware_faults(bits: int) -> list[str]:
    """Descriptions of the faults set in a §7.2 hardware-fault word (unknown bits named)."""
    faults = []
    for bit in range(16):
        if bits >> bit & 1:
            faults.append(HARDWARE_FAULT_BITS.get(bit, f"未定义故障位Bit{bit + 1}"))
    return faults


# §6.1 item 2 (桩类型)
PILE_TYPES: Final = MappingProxyType({0x00: "直流桩", 0x01: "交流桩"})

# §6.1 item 6 (网络链接类型)
NETWORK_TYPES: Final = MappingProxyType({0x00: "SIM卡", 0x01: "LAN", 0x02: "WAN", 0x03: "其他"})

# §6.1 item 8 (运营商); the spec skips 0x01
CARRIERS: Final = MappingProxyType({0x00: "移动", 0x02: "电信", 0x03: "联通", 0x04: "其他"})

# §8.1 item 3 (启动方式)
START_MODES: Final = MappingProxyType(
    {0x01: "刷卡启动充电", 0x02: "帐号启动充电(暂不支持)", 0x03: "vin码启动充电"}
)

# §8.2 item 7 (鉴权失败原因), also §12.2
AUTH_FAILURE_REASONS: Final = MappingProxyType(
    {
        0x01: "账户不存在",
        0x02: "账户冻结",
        0x03: "账户余额不足",
        0x04: "该卡存在未结账记录",
        0x05: "桩停用",
        0x06: "该账户不能在此桩上充电",
        0x07: "密码错误",
        0x08: "电站电容不足",
        0x09: "系统中vin码不存在",
        0x0A: "该桩存在未结账记录",
        0x0B: "该桩不支持刷卡",
    }
)

# §8.4 失败原因 (remote start reply), also §12.4
REMOTE_START_FAILURE_REASONS: Final = MappingProxyType(
    {
        0x00: "无",
        0x01: "设备编号不匹配",
        0x02: "枪已在充电",
        0x03: "设备故障",
        0x04: "设备离线",
        0x05: "未插枪",
    }
)

# §8.6 item 4 (remote stop reply)
REMOTE_STOP_FAILURE_REASONS: Final = MappingProxyType(
    {0x00: "无", 0x01: "设备编号不匹配", 0x02: "枪未处于充电状态", 0x03: "其他"}
)

# §8.7 item 28 (交易标识)
TRADE_TYPES: Final = MappingProxyType(
    {0x01: "app启动", 0x02: "卡启动", 0x04: "离线卡启动", 0x05: "vin码启动充电"}
)

# §8.8 item 2 (确认结果)
RECORD_ACK_RESULTS: Final = MappingProxyType({0x00: "上传成功", 0x01: "非法账单"})

# §6.8 items 12-59: rate number of each half hour -> which rate pair applies
TARIFF_KINDS: Final = MappingProxyType({0x00: "尖", 0x01: "峰", 0x02: "平", 0x03: "谷"})

# §11.1 item 2 and §11.3 item 9 (执行控制)
EXECUTE_MODES: Final = MappingProxyType({0x01: "立即执行", 0x02: "空闲执行"})

# §11.4 item 2 (升级状态)
UPDATE_STATUSES: Final = MappingProxyType(
    {0x00: "成功", 0x01: "编号错误", 0x02: "程序与桩型号不符", 0x03: "下载更新文件超时"}
)

# §8.10 item 3 (修改结果)
BALANCE_UPDATE_RESULTS: Final = MappingProxyType(
    {0x00: "修改成功", 0x01: "设备编号错误", 0x02: "卡号错误"}
)

# §10.1 items 3-6 (地锁)
PARKING_LOCK_STATES: Final = MappingProxyType(
    {0x00: "未到位状态", 0x55: "升锁到位状态", 0xFF: "降锁到位状态"}
)
PARKING_SPACE_STATES: Final = MappingProxyType({0x00: "无车辆", 0xFF: "停放车辆"})
PARKING_LOCK_ALARMS: Final = MappingProxyType(
    {0x00: "正常无报警", 0xFF: "待机状态摇臂破坏", 0x55: "摇臂升降异常(未到位)"}
)


def describe(table: MappingProxyType[int, str], code: int) -> str:
    """Look a code up in one of the tables above; unknown codes are named, not rejected."""
    return table.get(code, f"未定义代码0x{code:02X}")
