"""Console API: login, the current admin, the permission catalogue."""

from __future__ import annotations

from typing import Any

from flask import g

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import account as s
from app.tenancy import admin_auth
from app.tenancy.permissions import PERMISSIONS

bp = blueprint("auth", "登录与当前用户")


@bp.route("/auth/login", methods=["POST"])
@bp.public
@bp.arguments(s.LoginIn)
@bp.response(200, s.LoginOut)
def login(body: dict[str, Any]) -> dict[str, Any]:
    """管理员登录，返回 access_token"""
    result = admin_auth.login(body["username"], body["password"])
    return {
        "access_token": result.access_token,
        "token_type": "Bearer",
        "expires_in": result.expires_in,
        "user": result.user,
    }


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
