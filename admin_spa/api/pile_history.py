"""Console API: pile history (online/offline periods, faults, weekly disconnections)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import XLSX_RESPONSES, dated, xlsx_download
from admin_spa.api.schemas import pile_history as s
from app.catalogue import disconnection_export, pile_history
from app.charging import fault_export, fault_log
from app.openapi import page_of
from app.paging import Page

bp = blueprint("pile_history", "充电桩在线记录与故障")


@bp.route("/pile-online-periods")
@bp.arguments(s.RangeQuery, location="query")
@bp.response(200, page_of(s.OnlinePeriodOut, "OnlinePeriodPage"))
def online_periods(args: dict[str, Any]) -> Page:
    """充电桩在线/离线时段（按桩、站点、时间范围）"""
    return pile_history.online_periods(current_actor(), **args)


@bp.route("/faults")
@bp.arguments(s.FaultQuery, location="query")
@bp.response(200, page_of(s.FaultOut, "FaultPage"))
def faults(args: dict[str, Any]) -> Page:
    """故障记录（急停等），关联当时的订单"""
    return fault_log.faults(current_actor(), **args)


@bp.route("/faults/export")
@bp.arguments(s.FaultExportQuery, location="query")
@bp.doc(responses=XLSX_RESPONSES)
def export_faults(args: dict[str, Any]) -> Response:
    """导出故障记录（xlsx，筛选与列表相同，站点当地时间；超过上限时 EXPORT_TOO_MANY_ROWS）"""
    file, count = fault_export.export_faults(current_actor(), **args)
    return xlsx_download(file, dated("故障记录"), count)


@bp.route("/reports/disconnections")
@bp.arguments(s.ReportQuery, location="query")
@bp.response(200, s.DisconnectionReport)
def disconnections(args: dict[str, Any]) -> dict[str, Any]:
    """按周、站点、桩统计掉线次数与离线时长"""
    since: datetime = args["since"]
    rows = pile_history.disconnection_report(
        current_actor(),
        since=since,
        until=args["until"],
        station_id=args.get("station_id"),
        tz=args["timezone"],
    )
    return {"items": rows}


@bp.route("/reports/disconnections/export")
@bp.arguments(s.DisconnectionExportQuery, location="query")
@bp.doc(responses=XLSX_RESPONSES)
def export_disconnections(args: dict[str, Any]) -> Response:
    """导出离线统计（xlsx）：view=summary 每周统计，与报表相同；view=detail 每次掉线一行
    （离线、恢复时间为站点当地时间；超过上限时 EXPORT_TOO_MANY_ROWS）"""
    actor = current_actor()
    since, until, station_id = args["since"], args["until"], args.get("station_id")
    if args["view"] == "detail":
        file, count = disconnection_export.export_disconnections(
            actor, since=since, until=until, station_id=station_id
        )
        return xlsx_download(file, dated("掉线明细"), count)
    file, count = disconnection_export.export_disconnection_summary(
        actor, since=since, until=until, station_id=station_id, timezone=args["timezone"]
    )
    return xlsx_download(file, dated("离线统计"), count)
