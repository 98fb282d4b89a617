"""Console API: piles and their connectors."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import piles as s
from admin_spa.api.schemas.common import PageQuery
from app.catalogue import pile_access, piles
from app.catalogue.piles import kw_to_w
from app.charging import pile_commands
from app.openapi import page_of
from app.paging import Page

bp = blueprint("piles", "充电桩与充电枪")


def _with_power(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("rated_power_kw") is not None:
        data["rated_power_w"] = kw_to_w(data.pop("rated_power_kw"))
    return data


@bp.route("/piles")
class PileList(MethodView):
    @bp.arguments(s.PileQuery, location="query")
    @bp.response(200, page_of(s.PileOut, "PilePage"))
    def get(self, args: dict[str, Any]) -> Page:
        """充电桩列表"""
        return piles.list_piles(current_actor(), **args)

    @bp.arguments(s.PileIn)
    @bp.response(201, s.PileOut)
    def post(self, body: dict[str, Any]) -> Any:
        """登记充电桩（同时创建充电枪）"""
        return piles.create_pile(current_actor(), _with_power(body))


@bp.route("/piles/<int:pile_id>")
class PileItem(MethodView):
    @bp.response(200, s.PileOut)
    def get(self, pile_id: int) -> Any:
        """充电桩详情"""
        return piles.get_pile(current_actor(), pile_id)

    @bp.arguments(s.PilePatch)
    @bp.response(200, s.PileOut)
    def patch(self, body: dict[str, Any], pile_id: int) -> Any:
        """修改充电桩"""
        return piles.update_pile(current_actor(), pile_id, _with_power(body))

    @bp.response(204)
    def delete(self, pile_id: int) -> None:
        """删除充电桩"""
        piles.delete_pile(current_actor(), pile_id)


@bp.route("/piles/<int:pile_id>/replace-hardware", methods=["POST"])
@bp.arguments(s.HardwareIn)
@bp.response(200, s.PileOut)
def replace_hardware(body: dict[str, Any], pile_id: int) -> Any:
    """在原桩编号下更换硬件，保留历史"""
    return piles.replace_hardware(current_actor(), pile_id, body)


@bp.route("/piles/<int:pile_id>/hardware-history")
@bp.response(200, s.HardwareList)
def hardware_history(pile_id: int) -> dict[str, Any]:
    """硬件更换历史"""
    return {"items": piles.hardware_history(current_actor(), pile_id)}


@bp.route("/piles/<int:pile_id>/connectors", methods=["POST"])
@bp.arguments(s.ConnectorIn)
@bp.response(201, s.ConnectorOut)
def add_connector(body: dict[str, Any], pile_id: int) -> Any:
    """增加充电枪"""
    return piles.add_connector(current_actor(), pile_id, body["number"])


@bp.route("/connectors/<int:connector_id>", methods=["DELETE"])
@bp.response(204)
def delete_connector(connector_id: int) -> None:
    """删除充电枪"""
    piles.delete_connector(current_actor(), connector_id)


@bp.route("/piles/<int:pile_id>/password", methods=["POST"])
@bp.response(201, s.PilePasswordOut)
def set_password(pile_id: int) -> Any:
    """生成（或重置）充电桩接入密码：OCPP 安全等级 1（HTTP Basic），密码只显示这一次"""
    return pile_access.set_password(current_actor(), pile_id)


@bp.route("/piles/<int:pile_id>/password", methods=["DELETE"])
@bp.response(200, s.PileOut)
def clear_password(pile_id: int) -> Any:
    """清除充电桩接入密码（开启接入认证时不允许）"""
    return pile_access.clear_password(current_actor(), pile_id)


@bp.route("/piles/<int:pile_id>/connection-events")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(s.ConnectionEventOut, "PileConnectionEventPage"))
def connection_events(args: dict[str, Any], pile_id: int) -> Page:
    """被拒绝或顶替的接入记录"""
    return pile_access.connection_events(current_actor(), pile_id, **args)


@bp.route("/piles/<int:pile_id>/commands", methods=["POST"])
@bp.arguments(s.PileCommandIn)
@bp.response(200, s.PileCommandOut)
def send_command(body: dict[str, Any], pile_id: int) -> pile_commands.CommandAnswer:
    """远程指令：停止订单、软/硬重启、可用/停用、解锁枪、下发电价、校时；返回充电桩的应答并记审计"""
    return pile_commands.send(current_actor(), pile_id, **body)
