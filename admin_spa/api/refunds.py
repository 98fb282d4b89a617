"""Console API: refund review (list, detail, approve, reject; scoped to the sub-operator).

Each refund shows whether the merchants that took the money can refund it, before anyone
approves (case #22); approval without them is refused and marks nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import XLSX_RESPONSES, dated, xlsx_download
from admin_spa.api.schemas import refunds as s
from app.openapi import ID, page_of
from app.paging import Page
from app.payments import refund_export, refunds

bp = blueprint("refunds", "余额退款审核（微信原路退回）")


@bp.route("/refunds")
@bp.arguments(s.RefundQuery, location="query")
@bp.response(200, page_of(s.RefundAdminOut, "RefundPage"))
def list_refunds(args: dict[str, Any]) -> Page:
    """退款申请列表（按子运营商隔离）"""
    return refunds.list_requests(current_actor(), **args)


@bp.route("/refunds/export")
@bp.arguments(s.RefundExportQuery, location="query")
@bp.doc(responses=XLSX_RESPONSES)
def export_refunds(args: dict[str, Any]) -> Response:
    """导出退款申请（xlsx，每笔充值一行，筛选条件与列表相同；超过上限时 EXPORT_TOO_MANY_ROWS）"""
    file, count = refund_export.export_refunds(current_actor(), **args)
    return xlsx_download(file, dated("退款申请"), count)


@bp.route(f"/refunds/<{ID}:refund_id>")
@bp.response(200, s.RefundAdminOut)
def get_refund(refund_id: int) -> Any:
    """退款申请详情（含各笔充值的退款状态与微信失败原因）"""
    return refunds.get_request(current_actor(), refund_id)


@bp.route(f"/refunds/<{ID}:refund_id>/approve", methods=["POST"])
@bp.response(200, s.RefundAdminOut)
def approve_refund(refund_id: int) -> Any:
    """通过：扣减余额并向微信支付发起退款（收款运营商须已配置商户证书）"""
    return refunds.approve(current_actor(), refund_id)


@bp.route(f"/refunds/<{ID}:refund_id>/reject", methods=["POST"])
@bp.arguments(s.RefundRejectIn)
@bp.response(200, s.RefundAdminOut)
def reject_refund(body: dict[str, Any], refund_id: int) -> Any:
    """驳回（须填原因）"""
    return refunds.reject(current_actor(), refund_id, body["reason"])
