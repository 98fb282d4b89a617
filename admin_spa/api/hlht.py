"""Console API: interconnection partners (互联互通, T/CEC 102), the platform's only."""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import XLSX_RESPONSES, dated, xlsx_download
from admin_spa.api.schemas import hlht as s
from admin_spa.api.schemas.common import PageQuery
from app.hlht import customer, outbox, partners, reconciliation
from app.openapi import ID, page_of
from app.paging import Page

bp = blueprint("hlht", "互联互通合作平台")


@bp.route("/hlht/partners")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(s.PartnerOut, "HlhtPartnerPage"))
def list_partners(args: dict[str, Any]) -> Page:
    """合作平台列表（仅平台运营商）"""
    return partners.list_partners(current_actor(), **args)


@bp.route("/hlht/partners", methods=["POST"])
@bp.arguments(s.PartnerIn)
@bp.response(201, s.PartnerOut)
def create_partner(body: dict[str, Any]) -> Any:
    """登记合作平台：密钥只写不读，出方向密钥默认同入方向"""
    return partners.create_partner(current_actor(), body)


@bp.route(f"/hlht/partners/<{ID}:partner_id>")
@bp.response(200, s.PartnerOut)
def get_partner(partner_id: int) -> Any:
    """合作平台详情"""
    return partners.get_partner(current_actor(), partner_id)


@bp.route(f"/hlht/partners/<{ID}:partner_id>", methods=["PATCH"])
@bp.arguments(s.PartnerPatch)
@bp.response(200, s.PartnerOut)
def update_partner(body: dict[str, Any], partner_id: int) -> Any:
    """修改合作平台：未填写的密钥保持不变"""
    return partners.update_partner(current_actor(), partner_id, body)


@bp.route("/hlht/pushes")
@bp.arguments(s.PushQuery, location="query")
@bp.response(200, page_of(s.PushOut, "HlhtPushPage"))
def list_pushes(args: dict[str, Any]) -> Page:
    """向合作平台的推送记录（启动结果、充电状态、订单、设备状态、对账），新的在前"""
    return outbox.list_pushes(current_actor(), **args)


@bp.route(f"/hlht/pushes/<{ID}:push_id>")
@bp.response(200, s.PushDetailOut)
def get_push(push_id: int) -> Any:
    """推送详情：每次尝试及对方应答"""
    push, attempts = outbox.get_push(current_actor(), push_id)
    columns = {name: getattr(push, name) for name in s.PushOut().fields}
    return {**columns, "attempt_log": attempts}


@bp.route(f"/hlht/pushes/<{ID}:push_id>/retry", methods=["POST"])
@bp.response(200, s.PushOut)
def retry_push(push_id: int) -> Any:
    """重发一条发送失败的推送（记入审计）"""
    return outbox.retry_push(current_actor(), push_id)


@bp.route("/hlht/customer-orders")
@bp.arguments(s.CustomerOrderQuery, location="query")
@bp.response(200, page_of(s.CustomerOrderOut, "HlhtCustomerOrderPage"))
def list_customer_orders(args: dict[str, Any]) -> Page:
    """本平台车主在合作运营商充电桩上的订单（本平台作为客户方），新的在前；可按合作方、
    状态、车主、对账争议、预估结算筛选"""
    return customer.list_customer_orders(current_actor(), **args)


@bp.route("/hlht/roaming-orders")
@bp.arguments(s.RoamingOrderQuery, location="query")
@bp.response(200, page_of(s.RoamingOrderOut, "HlhtRoamingOrderPage"))
def list_roaming_orders(args: dict[str, Any]) -> Page:
    """合作平台车主在本平台充电桩上的订单（本平台作为桩属方），新的在前；可按合作方、
    订单状态、争议、预估结算筛选"""
    return reconciliation.list_roaming_orders(current_actor(), **args)


@bp.route("/hlht/statement/export")
@bp.arguments(s.StatementQuery, location="query")
@bp.doc(responses=XLSX_RESPONSES)
def export_statement(args: dict[str, Any]) -> Response:
    """导出与一个合作平台的月度对账单（xlsx，两个方向：合作方车主在我方桩、我方车主在合作方桩，
    各有合计行：订单数、电量、金额、争议数；按结算时间所在的自然月，平台时区）"""
    partner = partners.get_partner(current_actor(), args["partner_id"])
    file, count = reconciliation.export_statement(current_actor(), **args)
    return xlsx_download(file, dated(f"互联互通对账单-{partner.name}-{args['month']}"), count)
