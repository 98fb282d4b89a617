"""Console API: charge-order search and one order's detail by its number."""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import XLSX_RESPONSES, dated, xlsx_download
from admin_spa.api.schemas import orders as s
from app.billing import order_detail, order_export
from app.charging import order_search
from app.paging import Page

bp = blueprint("orders", "充电订单")


@bp.route("/orders")
@bp.arguments(s.OrderSearchQuery, location="query")
@bp.response(200, s.OrderSearchPage)
def search_orders(args: dict[str, Any]) -> Page:
    """充电订单查询：订单号、司机手机号/openid、站点、充电桩、状态、时间范围"""
    return order_search.search_orders(current_actor(), **args)


@bp.route("/orders/by-no/<string:order_no>")
@bp.response(200, s.OrderDetailOut)
def get_order(order_no: str) -> dict[str, Any]:
    """订单详情：分项账单、会话时间线（含充电桩消息）、电表曲线、调整记录"""
    return order_detail.order_detail(current_actor(), order_no)


@bp.route("/orders/export")
@bp.arguments(s.OrderExportQuery, location="query")
@bp.doc(responses=XLSX_RESPONSES)
def export_orders(args: dict[str, Any]) -> Response:
    """导出充电订单（xlsx，筛选条件与查询相同；超过上限时 EXPORT_TOO_MANY_ROWS）"""
    file, count = order_export.export_orders(current_actor(), **args)
    return xlsx_download(file, dated("充电订单"), count)
