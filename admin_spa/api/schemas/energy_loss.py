"""Schemas of the energy-loss report (电量损耗, case #8)."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PRINTABLE, PageQuery
from app.openapi import Schema

MONTH = fields.String(
    validate=validate.Length(min=7, max=7), metadata={"description": "本地月份 YYYY-MM，如 2019-10"}
)


class LossQuery(PageQuery):
    month = MONTH
    station_id = fields.Integer()


class ExportQuery(Schema):
    month = MONTH
    station_id = fields.Integer()


class UnsettledQuery(PageQuery):
    month = fields.String(required=True, validate=validate.Length(min=7, max=7))


class StationLossOut(Schema):
    station_id = fields.Integer(required=True)
    station_name = fields.String(required=True)
    month = fields.String(required=True)
    orders = fields.Integer(required=True, metadata={"description": "已结算订单数"})
    billed_wh = fields.Integer(required=True, metadata={"description": "平台结算电量（Wh）"})
    electricity_fen = fields.Integer(required=True)
    service_fen = fields.Integer(required=True, metadata={"description": "服务费（会员优惠后）"})
    total_fen = fields.Integer(required=True)
    estimated_orders = fields.Integer(required=True, metadata={"description": "其中按估算结算"})
    estimated_wh = fields.Integer(required=True)
    unsettled_orders = fields.Integer(required=True, metadata={"description": "未结算订单数"})
    unsettled_wh = fields.Integer(required=True)
    meter_wh = fields.Integer(
        allow_none=True, metadata={"description": "电表读数（Wh），未录入为空"}
    )
    gap_wh = fields.Integer(allow_none=True, metadata={"description": "电表减平台电量"})
    ratio_bp = fields.Integer(allow_none=True, metadata={"description": "平台/电表，万分比"})
    reading_note = fields.String(required=True)
    reading_entered_at = fields.DateTime(allow_none=True)


class LossPage(Schema):
    items = fields.List(fields.Nested(StationLossOut), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    month = fields.String(required=True)


class UnsettledOut(Schema):
    order_no = fields.String(required=True)
    state = fields.String(required=True)
    pile_id = fields.Integer(required=True)
    connector_number = fields.Integer(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    energy_wh = fields.Integer(required=True)


class ReadingIn(Schema):
    reading_wh = fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=10**13),
        metadata={"description": "本月电表电量（Wh，46980 kWh 即 46980000）"},
    )
    note = fields.String(load_default="", validate=[validate.Length(max=200), PRINTABLE])
