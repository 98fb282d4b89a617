"""The overview (概览): totals, piles now, trends, top stations."""

from __future__ import annotations

from marshmallow import fields, validate

from app.openapi import Schema


class DashboardQuery(Schema):
    timezone = fields.String(
        load_default="Asia/Shanghai",
        validate=validate.Regexp(r"^[A-Za-z0-9/_+-]{1,64}$"),
        metadata={"description": "统计所用的本地时区（按本地日期划分）"},
    )


class TotalsOut(Schema):
    orders = fields.Integer(required=True, metadata={"description": "结算订单数"})
    energy_wh = fields.Integer(required=True, metadata={"description": "电量（Wh）"})
    revenue_fen = fields.Integer(required=True, metadata={"description": "订单金额（分）"})
    service_fen = fields.Integer(
        required=True, metadata={"description": "服务费（分，扣会员折扣）"}
    )
    refund_fen = fields.Integer(required=True, metadata={"description": "已退款（分）"})


class PilesNowOut(Schema):
    online = fields.Integer(required=True)
    offline = fields.Integer(required=True)
    faulted = fields.Integer(required=True, metadata={"description": "在线但有枪故障"})


class DayOut(Schema):
    date = fields.String(required=True, metadata={"description": "本地日期 YYYY-MM-DD"})
    orders = fields.Integer(required=True)
    energy_wh = fields.Integer(required=True)
    revenue_fen = fields.Integer(required=True)


class TierShareOut(Schema):
    tier = fields.String(required=True, metadata={"description": "sharp | peak | flat | valley"})
    energy_wh = fields.Integer(required=True)


class StationRevenueOut(Schema):
    station_id = fields.Integer(required=True)
    station_name = fields.String(required=True)
    orders = fields.Integer(required=True)
    energy_wh = fields.Integer(required=True)
    revenue_fen = fields.Integer(required=True)


class DashboardOut(Schema):
    generated_at = fields.DateTime(required=True)
    timezone = fields.String(required=True)
    today = fields.Nested(TotalsOut, required=True)
    month = fields.Nested(TotalsOut, required=True)
    piles = fields.Nested(PilesNowOut, required=True)
    sessions_now = fields.Integer(required=True)
    trend = fields.List(fields.Nested(DayOut), required=True)
    tiers = fields.List(fields.Nested(TierShareOut), required=True)
    top_stations = fields.List(fields.Nested(StationRevenueOut), required=True)
