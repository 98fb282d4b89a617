"""Console API: WeChat Pay statement reconciliation (财务对账): the daily runs, their
mismatches, 立即对账 for a past day (audited) and the mismatches as xlsx."""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import xlsx_download
from admin_spa.api.schemas import statements as s
from app.openapi import page_of
from app.paging import Page
from app.payments import statements
from app.payments.models import StatementMismatch, StatementRun
from app.xlsx_export import MIMETYPE, Column, Kind, write_xlsx

bp = blueprint("statements", "财务对账")


@bp.route("/statements/runs")
@bp.arguments(s.RunQuery, location="query")
@bp.response(200, page_of(s.RunOut, "StatementRunPage"))
def runs(args: dict[str, Any]) -> Page:
    """对账记录：每个运营商每个账单日一条（按账单日倒序，可按日期范围筛选）"""
    return statements.list_runs(current_actor(), **args)


@bp.route("/statements/runs", methods=["POST"])
@bp.arguments(s.RunIn)
@bp.response(200, s.RunOut)
def run_now(args: dict[str, Any]) -> StatementRun:
    """立即对账：下载该日微信交易账单并核对（重新对账替换该日结果；审计）"""
    return statements.run_now(current_actor(), args.get("operator_id"), args["bill_date"])


@bp.route("/statements/runs/<int:run_id>/mismatches")
@bp.response(200, s.MismatchList)
def mismatches(run_id: int) -> dict[str, Any]:
    """一次对账的差异明细"""
    run = statements.get_run(current_actor(), run_id)
    return {"run": run, "items": run.mismatches}


KIND_LABELS = {
    "missing_ours": "我方缺单",
    "missing_wechat": "微信缺单",
    "amount_differs": "金额不一致",
    "state_differs": "状态不一致",
}
XLSX = {"type": "string", "format": "binary"}
COLUMNS = [
    Column("差异类型", lambda m: KIND_LABELS.get(m.kind, m.kind), width=12),
    Column("商户订单号", lambda m: m.out_trade_no, width=34),
    Column("商户退款单号", lambda m: m.out_refund_no, width=34),
    Column("我方金额(元)", lambda m: m.our_fen, Kind.FEN),
    Column("微信金额(元)", lambda m: m.wechat_fen, Kind.FEN),
    Column("说明", lambda m: m.note, width=40),
]


@bp.route("/statements/runs/<int:run_id>/mismatches/export")
@bp.doc(responses={"200": {"description": "xlsx 文件", "content": {MIMETYPE: {"schema": XLSX}}}})
def export(run_id: int) -> Response:
    """导出一次对账的差异明细（xlsx）"""
    run = statements.get_run(current_actor(), run_id)
    rows: list[StatementMismatch] = list(run.mismatches)
    day = run.bill_date.isoformat()
    file, count = write_xlsx("对账差异", COLUMNS, rows, title=f"微信支付对账差异 {day}")
    return xlsx_download(file, f"对账差异-{day}", count)
