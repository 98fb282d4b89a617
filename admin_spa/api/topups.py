"""Console API: 财务 → 充值记录 (the wallet top-ups, scoped to the sub-operator) and its export."""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import XLSX_RESPONSES, dated, xlsx_download
from admin_spa.api.schemas import topups as s
from app.openapi import page_of
from app.paging import Page
from app.payments import topup_export, topup_list

bp = blueprint("topups", "充值记录（微信支付充值）")


@bp.route("/topups")
@bp.arguments(s.TopUpQuery, location="query")
@bp.response(200, page_of(s.TopUpOut, "TopUpPage"))
def list_topups(args: dict[str, Any]) -> Page:
    """充值记录（按子运营商隔离；按会员手机号、状态、下单时间筛选）"""
    return topup_list.list_topups(current_actor(), **args)


@bp.route("/topups/export")
@bp.arguments(s.TopUpExportQuery, location="query")
@bp.doc(responses=XLSX_RESPONSES)
def export_topups(args: dict[str, Any]) -> Response:
    """导出充值记录（xlsx，筛选条件与列表相同；超过上限时 EXPORT_TOO_MANY_ROWS）"""
    file, count = topup_export.export_topups(current_actor(), **args)
    return xlsx_download(file, dated("充值记录"), count)
