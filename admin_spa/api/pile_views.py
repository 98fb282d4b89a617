"""Admin API: pile history (online/offline periods, faults, weekly disconnections)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from admin_spa.api.auth import authenticate, current_actor
from admin_spa.api.schemas import PageQuery, page_of
from app.catalogue import pile_history
from app.paging import Page

PREFIX = "/api/admin/v1"
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]

history_bp = Blueprint(
    "admin_pile_history", __name__, url_prefix=PREFIX, description="充电桩在线记录与故障"
)
history_bp.before_request(authenticate)


class RangeQuery(PageQuery):
    since = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601，带时区"})
    until = fields.AwareDateTime(required=True)
    pile_id = fields.Integer()
    station_id = fields.Integer()


class FaultQuery(RangeQuery):
    code = fields.String()


class ReportQuery(ma.Schema):
    since = fields.AwareDateTime(required=True)
    until = fields.AwareDateTime(required=True)
    station_id = fields.Integer()
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.Length(max=64))


class OnlinePeriodOut(ma.Schema):
    id = fields.Integer()
    pile_id = fields.Integer()
    station_id = fields.Integer(allow_none=True)
    online_at = fields.DateTime()
    offline_at = fields.DateTime(allow_none=True)
    offline_reason = fields.String()


class FaultOut(ma.Schema):
    id = fields.Integer()
    pile_id = fields.Integer()
    station_id = fields.Integer(allow_none=True)
    connector_number = fields.Integer(allow_none=True)
    code = fields.String()
    description = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    order_id = fields.Integer(allow_none=True)


class DisconnectionRowOut(ma.Schema):
    week_start = fields.String()
    station_id = fields.Integer(allow_none=True)
    station_name = fields.String()
    pile_id = fields.Integer()
    pile_code = fields.String()
    disconnections = fields.Integer()
    offline_seconds = fields.Integer()


class DisconnectionReport(ma.Schema):
    items = fields.List(fields.Nested(DisconnectionRowOut))


@history_bp.route("/pile-online-periods")
@history_bp.arguments(RangeQuery, location="query")
@history_bp.response(200, page_of(OnlinePeriodOut, "OnlinePeriodPage"))
@history_bp.doc(security=SECURITY)
def online_periods(args: dict[str, Any]) -> Page:
    """充电桩在线/离线时段（按桩、站点、时间范围）"""
    return pile_history.online_periods(current_actor(), **args)


@history_bp.route("/faults")
@history_bp.arguments(FaultQuery, location="query")
@history_bp.response(200, page_of(FaultOut, "FaultPage"))
@history_bp.doc(security=SECURITY)
def faults(args: dict[str, Any]) -> Page:
    """故障记录（急停等），关联当时的订单"""
    return pile_history.faults(current_actor(), **args)


@history_bp.route("/reports/disconnections")
@history_bp.arguments(ReportQuery, location="query")
@history_bp.response(200, DisconnectionReport)
@history_bp.doc(security=SECURITY)
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
