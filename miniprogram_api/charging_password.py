"""Drivers' API: the driver's own pile password (issue 13).

The platform keeps only the form a pile sends (a digest), so the digits cannot be shown
again: the driver sees whether a password is active and since when, and a reset gives new
digits, in its answer only (the old ones stop working)."""

from __future__ import annotations

from typing import Any

from app.drivers import cards
from app.errors import CHARGING_PASSWORD_RESET_RATE_LIMITED
from app.rate_limits import rate_limit
from miniprogram_api.auth import current_driver
from miniprogram_api.blueprints import blueprint
from miniprogram_api.schemas import charging_password as s

bp = blueprint("charging_password", "充电密码（在充电桩上输入密码启动充电）")


# the answer carries the password once: no cache (browser, proxy) may keep it
_NO_STORE = {"Cache-Control": "no-store"}


@bp.route("/charging-password")
@bp.response(200, s.MpChargingPasswordOut)
def get_charging_password() -> tuple[dict[str, Any], int, dict[str, str]]:
    """我的充电密码：是否已有、何时发放（密码本身只在重置时显示一次）"""
    status = cards.own_password(current_driver())
    body = {"has_password": status.has_password, "issued_at": status.issued_at, "password": None}
    return body, 200, _NO_STORE


@bp.route("/charging-password/reset", methods=["POST"])
@bp.response(200, s.MpChargingPasswordOut)
def reset_charging_password() -> tuple[dict[str, Any], int, dict[str, str]]:
    """重置充电密码：生成新的 8 位数字密码（只显示这一次），原密码立即失效；有频率限制"""
    driver = current_driver()
    rate_limit(
        "password_reset", f"driver-{driver.id}", "PASSWORD_RESET_RATE_LIMIT",
        window_setting="PASSWORD_RESET_WINDOW_SECONDS", error=CHARGING_PASSWORD_RESET_RATE_LIMITED,
    )  # fmt: skip
    status = cards.reset_own_password(driver)
    body = {"has_password": True, "issued_at": status.issued_at, "password": status.password}
    return body, 200, _NO_STORE
