"""Admin API views: load with a schema, call one service, dump. Nothing else."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from admin_spa.api import schemas as s
from admin_spa.api.auth import authenticate, current_actor
from admin_spa.api.money_views import MONEY_BLUEPRINTS
from app.catalogue import piles, stations, tariffs
from app.catalogue.piles import kw_to_w
from app.drivers import members
from app.ledger import wallet
from app.paging import Page
from app.tenancy import admin_auth, admin_users, audit, operators
from app.tenancy.permissions import PERMISSIONS

PREFIX = "/api/admin/v1"
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _blueprint(name: str, description: str) -> Blueprint:
    bp = Blueprint(f"admin_{name}", __name__, url_prefix=PREFIX, description=description)
    bp.before_request(authenticate)
    return bp


def _with_power(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("rated_power_kw") is not None:
        data["rated_power_w"] = kw_to_w(data.pop("rated_power_kw"))
    return data


# --- auth ----------------------------------------------------------------------------------

auth_bp = _blueprint("auth", "登录与当前用户")


@auth_bp.route("/auth/login", methods=["POST"])
@auth_bp.arguments(s.LoginIn)
@auth_bp.response(200, s.LoginOut)
def login(body: dict[str, Any]) -> dict[str, Any]:
    """管理员登录，返回 access_token"""
    result = admin_auth.login(body["username"], body["password"])
    return {
        "access_token": result.access_token,
        "token_type": "Bearer",
        "expires_in": result.expires_in,
        "user": result.user,
    }


@auth_bp.route("/me")
@auth_bp.response(200, s.MeOut)
@auth_bp.doc(security=SECURITY)
def me() -> dict[str, Any]:
    """当前管理员、所属运营商和权限代码"""
    actor = current_actor()
    return {
        "user": g.admin_user,
        "operator": g.admin_user.operator,
        "permissions": sorted(actor.permissions),
    }


@auth_bp.route("/permissions")
@auth_bp.response(200, s.PermissionList)
@auth_bp.doc(security=SECURITY)
def permission_catalogue() -> dict[str, Any]:
    """全部权限代码"""
    return {"items": list(PERMISSIONS)}


# --- operators -------------------------------------------------------------------------------

operators_bp = _blueprint("operators", "运营商（平台与子运营商）")


@operators_bp.route("/operators")
class OperatorList(MethodView):
    @operators_bp.arguments(s.OperatorQuery, location="query")
    @operators_bp.response(200, s.page_of(s.OperatorOut, "OperatorPage"))
    @operators_bp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> Page:
        """运营商列表"""
        return operators.list_operators(current_actor(), **args)

    @operators_bp.arguments(s.OperatorIn)
    @operators_bp.response(201, s.OperatorOut)
    @operators_bp.doc(security=SECURITY)
    def post(self, body: dict[str, Any]) -> Any:
        """创建子运营商（仅平台）"""
        return operators.create_operator(current_actor(), body)


@operators_bp.route("/operators/<int:operator_id>")
class OperatorItem(MethodView):
    @operators_bp.response(200, s.OperatorOut)
    @operators_bp.doc(security=SECURITY)
    def get(self, operator_id: int) -> Any:
        """运营商详情（不含任何密钥）"""
        return operators.get_operator(current_actor(), operator_id)

    @operators_bp.arguments(s.OperatorPatch)
    @operators_bp.response(200, s.OperatorOut)
    @operators_bp.doc(security=SECURITY)
    def patch(self, body: dict[str, Any], operator_id: int) -> Any:
        """修改运营商（品牌、联系人、微信配置）"""
        return operators.update_operator(current_actor(), operator_id, body)


# --- roles and admin users ---------------------------------------------------------------------

users_bp = _blueprint("users", "管理员与角色")


@users_bp.route("/roles")
class RoleList(MethodView):
    @users_bp.arguments(s.PageQuery, location="query")
    @users_bp.response(200, s.page_of(s.RoleOut, "RolePage"))
    @users_bp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> Page:
        """角色列表"""
        return admin_users.list_roles(current_actor(), **args)

    @users_bp.arguments(s.RoleIn)
    @users_bp.response(201, s.RoleOut)
    @users_bp.doc(security=SECURITY)
    def post(self, body: dict[str, Any]) -> Any:
        """创建角色"""
        return admin_users.create_role(current_actor(), body)


@users_bp.route("/roles/<int:role_id>")
class RoleItem(MethodView):
    @users_bp.arguments(s.RolePatch)
    @users_bp.response(200, s.RoleOut)
    @users_bp.doc(security=SECURITY)
    def patch(self, body: dict[str, Any], role_id: int) -> Any:
        """修改角色"""
        return admin_users.update_role(current_actor(), role_id, body)

    @users_bp.response(204)
    @users_bp.doc(security=SECURITY)
    def delete(self, role_id: int) -> None:
        """删除角色（无人使用时）"""
        admin_users.delete_role(current_actor(), role_id)


@users_bp.route("/admin-users")
class AdminUserList(MethodView):
    @users_bp.arguments(s.AdminUserQuery, location="query")
    @users_bp.response(200, s.page_of(s.AdminUserOut, "AdminUserPage"))
    @users_bp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> Page:
        """管理员列表"""
        return admin_users.list_admin_users(current_actor(), **args)

    @users_bp.arguments(s.AdminUserIn)
    @users_bp.response(201, s.AdminUserOut)
    @users_bp.doc(security=SECURITY)
    def post(self, body: dict[str, Any]) -> Any:
        """创建管理员"""
        return admin_users.create_admin_user(current_actor(), body)


@users_bp.route("/admin-users/<int:user_id>")
class AdminUserItem(MethodView):
    @users_bp.response(200, s.AdminUserOut)
    @users_bp.doc(security=SECURITY)
    def get(self, user_id: int) -> Any:
        """管理员详情"""
        return admin_users.get_admin_user(current_actor(), user_id)

    @users_bp.arguments(s.AdminUserPatch)
    @users_bp.response(200, s.AdminUserOut)
    @users_bp.doc(security=SECURITY)
    def patch(self, body: dict[str, Any], user_id: int) -> Any:
        """修改管理员（角色、停用、重置密码）"""
        return admin_users.update_admin_user(current_actor(), user_id, body)


# --- tariffs ----------------------------------------------------------------------------------

tariffs_bp = _blueprint("tariffs", "电价（分时段、版本化）")


@tariffs_bp.route("/tariffs")
class TariffList(MethodView):
    @tariffs_bp.arguments(s.TariffQuery, location="query")
    @tariffs_bp.response(200, s.page_of(s.TariffOut, "TariffPage"))
    @tariffs_bp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> Page:
        """电价列表"""
        return tariffs.list_tariffs(current_actor(), **args)

    @tariffs_bp.arguments(s.TariffIn)
    @tariffs_bp.response(201, s.TariffOut)
    @tariffs_bp.doc(security=SECURITY)
    def post(self, body: dict[str, Any]) -> Any:
        """创建电价（24 小时时段须完整、无重叠）"""
        return tariffs.create_tariff(current_actor(), body)


@tariffs_bp.route("/tariffs/<int:tariff_id>")
class TariffItem(MethodView):
    @tariffs_bp.response(200, s.TariffOut)
    @tariffs_bp.doc(security=SECURITY)
    def get(self, tariff_id: int) -> Any:
        """电价详情"""
        return tariffs.get_tariff(current_actor(), tariff_id)

    @tariffs_bp.arguments(s.TariffPatch)
    @tariffs_bp.response(200, s.TariffOut)
    @tariffs_bp.doc(security=SECURITY)
    def patch(self, body: dict[str, Any], tariff_id: int) -> Any:
        """重命名电价"""
        return tariffs.rename_tariff(current_actor(), tariff_id, body["name"])


@tariffs_bp.route("/tariffs/<int:tariff_id>/segments", methods=["PUT"])
@tariffs_bp.arguments(s.SegmentsIn)
@tariffs_bp.response(200, s.TariffOut)
@tariffs_bp.doc(security=SECURITY)
def put_segments(body: dict[str, Any], tariff_id: int) -> Any:
    """修改时段与价格（生成新版本，旧订单保留原版本）"""
    return tariffs.set_segments(current_actor(), tariff_id, body["segments"])


@tariffs_bp.route("/tariffs/<int:tariff_id>/versions")
@tariffs_bp.response(200, s.TariffVersionList)
@tariffs_bp.doc(security=SECURITY)
def tariff_versions(tariff_id: int) -> dict[str, Any]:
    """电价的全部版本"""
    return {"items": tariffs.list_versions(current_actor(), tariff_id)}


# --- stations ---------------------------------------------------------------------------------

stations_bp = _blueprint("stations", "充电站")


@stations_bp.route("/stations")
class StationList(MethodView):
    @stations_bp.arguments(s.StationQuery, location="query")
    @stations_bp.response(200, s.page_of(s.StationOut, "StationPage"))
    @stations_bp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> Page:
        """站点列表（子运营商只见自己的站点）"""
        return stations.list_stations(current_actor(), **args)

    @stations_bp.arguments(s.StationIn)
    @stations_bp.response(201, s.StationOut)
    @stations_bp.doc(security=SECURITY)
    def post(self, body: dict[str, Any]) -> Any:
        """创建站点"""
        return stations.create_station(current_actor(), body)


@stations_bp.route("/stations/<int:station_id>")
class StationItem(MethodView):
    @stations_bp.response(200, s.StationOut)
    @stations_bp.doc(security=SECURITY)
    def get(self, station_id: int) -> Any:
        """站点详情"""
        return stations.get_station(current_actor(), station_id)

    @stations_bp.arguments(s.StationPatch)
    @stations_bp.response(200, s.StationOut)
    @stations_bp.doc(security=SECURITY)
    def patch(self, body: dict[str, Any], station_id: int) -> Any:
        """修改站点"""
        return stations.update_station(current_actor(), station_id, body)

    @stations_bp.response(204)
    @stations_bp.doc(security=SECURITY)
    def delete(self, station_id: int) -> None:
        """删除站点（站内无充电桩时）"""
        stations.delete_station(current_actor(), station_id)


# --- piles and connectors -----------------------------------------------------------------------

piles_bp = _blueprint("piles", "充电桩与充电枪")


@piles_bp.route("/piles")
class PileList(MethodView):
    @piles_bp.arguments(s.PileQuery, location="query")
    @piles_bp.response(200, s.page_of(s.PileOut, "PilePage"))
    @piles_bp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> Page:
        """充电桩列表"""
        return piles.list_piles(current_actor(), **args)

    @piles_bp.arguments(s.PileIn)
    @piles_bp.response(201, s.PileOut)
    @piles_bp.doc(security=SECURITY)
    def post(self, body: dict[str, Any]) -> Any:
        """登记充电桩（同时创建充电枪）"""
        return piles.create_pile(current_actor(), _with_power(body))


@piles_bp.route("/piles/<int:pile_id>")
class PileItem(MethodView):
    @piles_bp.response(200, s.PileOut)
    @piles_bp.doc(security=SECURITY)
    def get(self, pile_id: int) -> Any:
        """充电桩详情"""
        return piles.get_pile(current_actor(), pile_id)

    @piles_bp.arguments(s.PilePatch)
    @piles_bp.response(200, s.PileOut)
    @piles_bp.doc(security=SECURITY)
    def patch(self, body: dict[str, Any], pile_id: int) -> Any:
        """修改充电桩"""
        return piles.update_pile(current_actor(), pile_id, _with_power(body))

    @piles_bp.response(204)
    @piles_bp.doc(security=SECURITY)
    def delete(self, pile_id: int) -> None:
        """删除充电桩"""
        piles.delete_pile(current_actor(), pile_id)


@piles_bp.route("/piles/<int:pile_id>/replace-hardware", methods=["POST"])
@piles_bp.arguments(s.HardwareIn)
@piles_bp.response(200, s.PileOut)
@piles_bp.doc(security=SECURITY)
def replace_hardware(body: dict[str, Any], pile_id: int) -> Any:
    """在原桩编号下更换硬件，保留历史"""
    return piles.replace_hardware(current_actor(), pile_id, body)


@piles_bp.route("/piles/<int:pile_id>/hardware-history")
@piles_bp.response(200, s.HardwareList)
@piles_bp.doc(security=SECURITY)
def hardware_history(pile_id: int) -> dict[str, Any]:
    """硬件更换历史"""
    return {"items": piles.hardware_history(current_actor(), pile_id)}


@piles_bp.route("/piles/<int:pile_id>/connectors", methods=["POST"])
@piles_bp.arguments(s.ConnectorIn)
@piles_bp.response(201, s.ConnectorOut)
@piles_bp.doc(security=SECURITY)
def add_connector(body: dict[str, Any], pile_id: int) -> Any:
    """增加充电枪"""
    return piles.add_connector(current_actor(), pile_id, body["number"])


@piles_bp.route("/connectors/<int:connector_id>", methods=["DELETE"])
@piles_bp.response(204)
@piles_bp.doc(security=SECURITY)
def delete_connector(connector_id: int) -> None:
    """删除充电枪"""
    piles.delete_connector(current_actor(), connector_id)


# --- members and audit ------------------------------------------------------------------------

members_bp = _blueprint("members", "会员与钱包")


@members_bp.route("/members")
@members_bp.arguments(s.MemberQuery, location="query")
@members_bp.response(200, s.page_of(s.MemberOut, "MemberPage"))
@members_bp.doc(security=SECURITY)
def list_members(args: dict[str, Any]) -> Page:
    """会员列表（按子运营商隔离）"""
    return members.list_members(current_actor(), **args)


@members_bp.route("/members/<int:driver_id>")
@members_bp.response(200, s.MemberOut)
@members_bp.doc(security=SECURITY)
def get_member(driver_id: int) -> Any:
    """会员详情"""
    return members.get_member(current_actor(), driver_id)


@members_bp.route("/members/<int:driver_id>/wallet-entries")
@members_bp.arguments(s.PageQuery, location="query")
@members_bp.response(200, s.page_of(s.WalletEntryOut, "WalletEntryPage"))
@members_bp.doc(security=SECURITY)
def wallet_entries(args: dict[str, Any], driver_id: int) -> Page:
    """钱包流水"""
    return wallet.list_entries(current_actor(), driver_id, **args)


@members_bp.route("/members/<int:driver_id>/wallet-adjustments", methods=["POST"])
@members_bp.arguments(s.WalletAdjustIn)
@members_bp.response(201, s.WalletEntryOut)
@members_bp.doc(security=SECURITY)
def adjust_wallet(body: dict[str, Any], driver_id: int) -> Any:
    """手工充值/扣款（须填原因，记审计）"""
    return wallet.admin_adjust(current_actor(), driver_id, body["amount_fen"], body["reason"])


audit_bp = _blueprint("audit", "审计日志")


@audit_bp.route("/audit-logs")
@audit_bp.arguments(s.AuditQuery, location="query")
@audit_bp.response(200, s.page_of(s.AuditOut, "AuditPage"))
@audit_bp.doc(security=SECURITY)
def list_audit(args: dict[str, Any]) -> Page:
    """审计日志"""
    return audit.list_audit_logs(current_actor(), **args)


BLUEPRINTS = (
    auth_bp, operators_bp, users_bp, tariffs_bp, stations_bp, piles_bp, members_bp, audit_bp,
    *MONEY_BLUEPRINTS,
)  # fmt: skip
