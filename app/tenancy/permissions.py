"""Permission codes: the server enforces them, the console filters its menu by them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Permission:
    code: str
    name: str
    group: str


PERMISSIONS: tuple[Permission, ...] = (
    Permission("operator.read", "查看运营商", "运营商"),
    Permission("operator.write", "管理运营商", "运营商"),
    Permission("admin_user.read", "查看管理员", "权限"),
    Permission("admin_user.write", "管理管理员", "权限"),
    Permission("role.read", "查看角色", "权限"),
    Permission("role.write", "管理角色", "权限"),
    Permission("station.read", "查看站点", "站点"),
    Permission("station.write", "管理站点", "站点"),
    Permission("pile.read", "查看充电桩", "充电桩"),
    Permission("pile.write", "管理充电桩", "充电桩"),
    Permission("tariff.read", "查看电价", "电价"),
    Permission("tariff.write", "管理电价", "电价"),
    Permission("member.read", "查看会员", "会员"),
    Permission("member.write", "管理会员", "会员"),
    Permission("order.read", "查看订单与概览", "订单"),
    Permission("wallet.adjust", "手工调整余额", "会员"),
    Permission("audit.read", "查看审计日志", "系统"),
    Permission("certification.read", "查看司机认证", "会员"),
    Permission("certification.review", "审核司机认证", "会员"),
    Permission("settings.customer_service", "管理客服电话", "系统"),
    Permission("refund.read", "查看退款申请", "会员"),
    Permission("refund.review", "审核退款申请", "会员"),
    Permission("hlht.read", "查看互联互通合作平台", "互联互通"),
    Permission("hlht.write", "管理互联互通合作平台", "互联互通"),
)

ALL_CODES: frozenset[str] = frozenset(p.code for p in PERMISSIONS)

# codes that mean something only to the platform (its roaming contracts)
PLATFORM_ONLY_CODES: frozenset[str] = frozenset({"hlht.read", "hlht.write"})
# What a sub-operator's administrator role gets by default: every other code. Scope still
# applies: "operator.write" lets it edit its own branding; only the platform creates
# operators (app.tenancy.operators.create_operator).
SUB_OPERATOR_ADMIN_CODES: frozenset[str] = ALL_CODES - PLATFORM_ONLY_CODES


def unknown_codes(codes: list[str] | set[str]) -> list[str]:
    return sorted(set(codes) - ALL_CODES)
