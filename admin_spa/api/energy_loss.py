"""Console API: the energy-loss report (电量损耗, case #8) and the meter readings behind it."""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import xlsx_download
from admin_spa.api.schemas import energy_loss as s
from app.billing import energy_loss
from app.openapi import page_of
from app.paging import Page
from app.xlsx_export import MIMETYPE, Column, Kind, write_xlsx

bp = blueprint("energy_loss", "电量损耗")
MONTH_PATH = "<string(maxlength=16):month>"  # checked by parse_month (MONTH_INVALID)


@bp.route("/reports/energy-loss")
@bp.arguments(s.LossQuery, location="query")
@bp.response(200, s.LossPage)
def report(args: dict[str, Any]) -> dict[str, Any]:
    """电量损耗：各站点某月平台结算电量与电表读数、比例、未结算订单（默认上个月）"""
    month = args.pop("month", None) or energy_loss.previous_month()
    page = energy_loss.report(current_actor(), month=month, **args)
    return {"items": page.items, "total": page.total, "page": page.page,
            "page_size": page.page_size, "month": month}  # fmt: skip


@bp.route("/reports/energy-loss/<int:station_id>/unsettled")
@bp.arguments(s.UnsettledQuery, location="query")
@bp.response(200, page_of(s.UnsettledOut, "UnsettledOrderPage"))
def unsettled(args: dict[str, Any], station_id: int) -> Page:
    """该站该月未结算的订单（解释部分差额）"""
    return energy_loss.unsettled(current_actor(), station_id, **args)


@bp.route(f"/stations/<int:station_id>/meter-readings/{MONTH_PATH}", methods=["PUT"])
@bp.arguments(s.ReadingIn)
@bp.response(200, s.StationLossOut)
def record_reading(args: dict[str, Any], station_id: int, month: str) -> energy_loss.StationLoss:
    """录入或更正某站某月的电表读数（审计）"""
    return energy_loss.record_reading(current_actor(), station_id, month=month, **args)


XLSX = {"type": "string", "format": "binary"}
COLUMNS = [
    Column("站点", lambda r: r.station_name, width=24),
    Column("月份", lambda r: r.month, width=9),
    Column("订单数", lambda r: r.orders, Kind.INT, 8),
    Column("平台电量(kWh)", lambda r: r.billed_wh, Kind.WH),
    Column("电表电量(kWh)", lambda r: r.meter_wh, Kind.WH),
    Column("差额(kWh)", lambda r: r.gap_wh, Kind.WH),
    Column("比例", lambda r: None if r.ratio_bp is None else r.ratio_bp / 10000, Kind.PERCENT, 8),
    Column("电费(元)", lambda r: r.electricity_fen, Kind.FEN),
    Column("服务费(元)", lambda r: r.service_fen, Kind.FEN),
    Column("合计(元)", lambda r: r.total_fen, Kind.FEN),
    Column("估算订单", lambda r: r.estimated_orders, Kind.INT, 9),
    Column("未结算订单", lambda r: r.unsettled_orders, Kind.INT, 10),
    Column("未结算电量(kWh)", lambda r: r.unsettled_wh, Kind.WH, 15),
    Column("备注", lambda r: r.reading_note, width=24),
]


@bp.route("/reports/energy-loss/export")
@bp.arguments(s.ExportQuery, location="query")
@bp.doc(responses={"200": {"description": "xlsx 文件", "content": {MIMETYPE: {"schema": XLSX}}}})
def export(args: dict[str, Any]) -> Response:
    """导出电量损耗（xlsx）"""
    month = args.pop("month", None) or energy_loss.previous_month()
    rows = energy_loss.all_rows(current_actor(), month=month, **args)
    file, count = write_xlsx("电量损耗", COLUMNS, rows, title=f"电量损耗 {month}")
    return xlsx_download(file, f"电量损耗-{month}", count)
