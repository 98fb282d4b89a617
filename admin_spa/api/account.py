"""Console API: login, the current admin, the permission catalogue."""

from __future__ import annotations

from typing import Any

from flask import g, request

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import account as s
from app.config import setting
from app.errors import ADMIN_LOGIN_LOCKED, AUTH_INVALID_CREDENTIALS
from app.rate_limits import count_failure, exhausted
from app.tenancy import admin_auth
from app.tenancy.permissions import PERMISSIONS

bp = blueprint("auth", "登录与当前用户")


@bp.route("/auth/login", methods=["POST"])
@bp.public
@bp.arguments(s.LoginIn)
@bp.response(200, s.LoginOut)
def login(body: dict[str, Any]) -> dict[str, Any]:
    """管理员登录，返回 access_token（连续输错密码的账号或地址暂时锁定）"""
    result = _guarded_login(body["username"], body["password"])
    return {
        "access_token": result.access_token,
        "token_type": "Bearer",
        "expires_in": result.expires_in,
        "user": result.user,
    }


def _guarded_login(username: str, password: str) -> admin_auth.LoginResult:
    """Failed logins are counted per account and per address; past the limit both are
    refused for the lockout, even with the right password, and the lockout is audited."""
    address = request.remote_addr or "unknown"
    seconds = int(setting("ADMIN_LOCKOUT_SECONDS"))
    limits = (
        ("admin-login-account", username.strip().lower()[:64], "ADMIN_LOGIN_MAX_FAILURES"),
        ("admin-login-address", address, "ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS"),
    )
    for bucket, subject, name in limits:
        wait = exhausted(bucket, subject, int(setting(name)), seconds)
        if wait:
            raise ADMIN_LOGIN_LOCKED(details={"retry_after": wait})
    try:
        return admin_auth.login(username, password)
    except AUTH_INVALID_CREDENTIALS:
        for bucket, subject, name in limits:
            if count_failure(bucket, subject, int(setting(name)), seconds):
                admin_auth.record_lockout(username, address, by=bucket.rsplit("-", 1)[1])
        raise


@bp.route("/auth/logout", methods=["POST"])
@bp.response(204)
def logout() -> None:
    """退出登录：该管理员的全部登录令牌立即失效"""
    actor = current_actor()
    if actor.admin_id is not None:
        admin_auth.logout(actor.admin_id)


@bp.route("/me")
@bp.response(200, s.MeOut)
def me() -> dict[str, Any]:
    """当前管理员、所属运营商和权限代码"""
    actor = current_actor()
    return {
        "user": g.admin_user,
        "operator": g.admin_user.operator,
        "permissions": sorted(actor.permissions),
    }


@bp.route("/permissions")
@bp.response(200, s.PermissionList)
def permission_catalogue() -> dict[str, Any]:
    """全部权限代码"""
    return {"items": list(PERMISSIONS)}
