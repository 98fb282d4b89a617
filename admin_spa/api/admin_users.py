"""Console API: roles and admin users."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import admin_users as s
from admin_spa.api.schemas.common import PageQuery
from app.openapi import page_of
from app.paging import Page
from app.tenancy import admin_users

bp = blueprint("users", "管理员与角色")


@bp.route("/roles")
class RoleList(MethodView):
    @bp.arguments(PageQuery, location="query")
    @bp.response(200, page_of(s.RoleOut, "RolePage"))
    def get(self, args: dict[str, Any]) -> Page:
        """角色列表"""
        return admin_users.list_roles(current_actor(), **args)

    @bp.arguments(s.RoleIn)
    @bp.response(201, s.RoleOut)
    def post(self, body: dict[str, Any]) -> Any:
        """创建角色"""
        return admin_users.create_role(current_actor(), body)


@bp.route("/roles/<int:role_id>")
class RoleItem(MethodView):
    @bp.arguments(s.RolePatch)
    @bp.response(200, s.RoleOut)
    def patch(self, body: dict[str, Any], role_id: int) -> Any:
        """修改角色"""
        return admin_users.update_role(current_actor(), role_id, body)

    @bp.response(204)
    def delete(self, role_id: int) -> None:
        """删除角色（无人使用时）"""
        admin_users.delete_role(current_actor(), role_id)


@bp.route("/admin-users")
class AdminUserList(MethodView):
    @bp.arguments(s.AdminUserQuery, location="query")
    @bp.response(200, page_of(s.AdminUserOut, "AdminUserPage"))
    def get(self, args: dict[str, Any]) -> Page:
        """管理员列表"""
        return admin_users.list_admin_users(current_actor(), **args)

    @bp.arguments(s.AdminUserIn)
    @bp.response(201, s.AdminUserOut)
    def post(self, body: dict[str, Any]) -> Any:
        """创建管理员"""
        return admin_users.create_admin_user(current_actor(), body)


@bp.route("/admin-users/<int:user_id>")
class AdminUserItem(MethodView):
    @bp.response(200, s.AdminUserOut)
    def get(self, user_id: int) -> Any:
        """管理员详情"""
        return admin_users.get_admin_user(current_actor(), user_id)

    @bp.arguments(s.AdminUserPatch)
    @bp.response(200, s.AdminUserOut)
    def patch(self, body: dict[str, Any], user_id: int) -> Any:
        """修改管理员（角色、停用、重置密码）"""
        return admin_users.update_admin_user(current_actor(), user_id, body)
