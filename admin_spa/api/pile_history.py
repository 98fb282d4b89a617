"""Console API: pile history (online/offline periods, faults, weekly disconnections)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.schemas import pile_history as s
from app.catalogue import pile_history
from app.charging import fault_log
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
