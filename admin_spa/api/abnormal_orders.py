"""Console API: abnormal orders, an order's bill, corrections."""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import XLSX_RESPONSES, dated, xlsx_download
from admin_spa.api.schemas import abnormal_orders as s
from app.billing import abnormal_export, abnormal_orders, corrections
from app.paging import Page

bp = blueprint("money_orders", "异常订单与账单更正")


@bp.route("/abnormal-orders")
@bp.arguments(s.AbnormalQuery, location="query")
@bp.response(200, s.AbnormalPage)
def list_abnormal(args: dict[str, Any]) -> Page:
    """异常订单（预估结算、金额不符、离线、启动失败、未知会话、迟到记录、欠费……）"""
    return abnormal_orders.list_abnormal_orders(current_actor(), **args)


@bp.route("/abnormal-orders/export")
@bp.arguments(s.AbnormalExportQuery, location="query")
@bp.doc(responses=XLSX_RESPONSES)
def export_abnormal(args: dict[str, Any]) -> Response:
    """导出异常订单（xlsx，筛选条件与列表相同；超过上限时 EXPORT_TOO_MANY_ROWS）"""
    file, count = abnormal_export.export_abnormal_orders(current_actor(), **args)
    return xlsx_download(file, dated("异常订单"), count)


@bp.route("/orders/<int:order_id>/bill")
@bp.response(200, s.OrderMoneyOut)
def order_bill(order_id: int) -> dict[str, Any]:
    """订单账单：分时明细、调整记录、占位费、异常原因"""
    return abnormal_orders.order_money(current_actor(), order_id)


@bp.route("/orders/<int:order_id>/corrections", methods=["POST"])
@bp.arguments(s.CorrectionIn)
@bp.response(201, s.CorrectionOut)
def correct_order(body: dict[str, Any], order_id: int) -> Any:
    """更正订单结束时间或电量：重算账单，差额退回钱包，记审计"""
    return corrections.correct_order(current_actor(), order_id, **body)


@bp.route("/orders/<int:order_id>/corrections/preview", methods=["POST"])
@bp.arguments(s.CorrectionPreviewIn)
@bp.response(200, s.CorrectionPreviewOut)
def preview_correction(body: dict[str, Any], order_id: int) -> dict[str, Any]:
    """更正预览：按更正后的结束时间或电量重算的账单与差额（不写入）"""
    return corrections.preview_correction(current_actor(), order_id, **body)
