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
from app.payments import statement_export, statements
from app.payments.models import StatementRun
from app.xlsx_export import MIMETYPE

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


XLSX = {"type": "string", "format": "binary"}


@bp.route("/statements/runs/<int:run_id>/mismatches/export")
@bp.doc(responses={"200": {"description": "xlsx 文件", "content": {MIMETYPE: {"schema": XLSX}}}})
def export(run_id: int) -> Response:
    """导出一次对账的差异明细（xlsx）"""
    file, count, day = statement_export.export_mismatches(current_actor(), run_id)
    return xlsx_download(file, f"对账差异-{day}", count)
