"""Pile history: online periods, faults, weekly disconnections."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.openapi import Schema


class RangeQuery(PageQuery):
    since = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601，带时区"})
    until = fields.AwareDateTime(required=True)
    pile_id = fields.Integer()
    station_id = fields.Integer()


class FaultQuery(RangeQuery):
    code = fields.String()


class FaultExportQuery(Schema):
    """The 故障记录 list's filters without its page."""

    since = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601，带时区"})
    until = fields.AwareDateTime(required=True)
    pile_id = fields.Integer()
    station_id = fields.Integer()
    code = fields.String()


class ReportQuery(Schema):
    since = fields.AwareDateTime(required=True)
    until = fields.AwareDateTime(required=True)
    station_id = fields.Integer()
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.Length(max=64))


class DisconnectionExportQuery(ReportQuery):
    view = fields.String(
        load_default="summary",
        validate=validate.OneOf(("summary", "detail")),
        metadata={"description": "summary 每周统计（与报表相同）；detail 每次掉线一行"},
    )


class OnlinePeriodOut(Schema):
    id = fields.Integer()
    pile_id = fields.Integer()
    station_id = fields.Integer(allow_none=True)
    online_at = fields.DateTime()
    offline_at = fields.DateTime(allow_none=True)
    offline_reason = fields.String()


class FaultOut(Schema):
    id = fields.Integer()
    pile_id = fields.Integer()
    station_id = fields.Integer(allow_none=True)
    connector_number = fields.Integer(allow_none=True)
    code = fields.String()
    description = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    pile_code = fields.String(required=True)
    station_name = fields.String(required=True)
    order_no = fields.String(allow_none=True, metadata={"description": "故障时正在进行的订单"})
    driver_phone = fields.String(required=True, metadata={"description": "该订单司机的手机号"})


class DisconnectionRowOut(Schema):
    week_start = fields.String()
    station_id = fields.Integer(allow_none=True)
    station_name = fields.String()
    pile_id = fields.Integer()
    pile_code = fields.String()
    disconnections = fields.Integer()
    offline_seconds = fields.Integer()


class DisconnectionReport(Schema):
    items = fields.List(fields.Nested(DisconnectionRowOut))
