"""Charge-order search and one order's detail. Amounts integer fen, energy integer Wh."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.abnormal_orders import (
    AdjustmentOut,
    BillOut,
    OccupancyOut,
    OrderOut,
)
from admin_spa.api.schemas.common import PRINTABLE, PageQuery
from app.charging.order_search import ORDER_STATES
from app.openapi import Schema, page_of


class OrderFilter(Schema):
    """The order search's filters (its list and its export)."""

    order_no = fields.String(validate=[validate.Length(max=32), PRINTABLE])
    phone = fields.String(validate=[validate.Length(max=20), PRINTABLE])
    openid = fields.String(validate=[validate.Length(max=64), PRINTABLE])
    station_id = fields.Integer()
    pile_code = fields.String(validate=[validate.Length(max=32), PRINTABLE])
    state = fields.String(validate=validate.OneOf(ORDER_STATES, error="订单状态无效"))
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()


class OrderSearchQuery(OrderFilter, PageQuery):
    pass


class OrderExportQuery(OrderFilter):
    pass


class OrderRowOut(Schema):
    order = fields.Nested(OrderOut)
    station_name = fields.String()
    pile_code = fields.String()
    driver_phone = fields.String()
    driver_nickname = fields.String()
    read_only = fields.Boolean()


OrderSearchPage = page_of(OrderRowOut, "OrderSearchPage")


class BillItemsOut(Schema):
    energy_wh = fields.Integer()
    electricity_fen = fields.Integer()
    service_fen = fields.Integer()
    member_discount_fen = fields.Integer()
    occupancy_fen = fields.Integer()
    coupon_fen = fields.Integer()
    total_fen = fields.Integer()
    paid_fen = fields.Integer()
    arrears_fen = fields.Integer()


class TimelineEventOut(Schema):
    at = fields.DateTime()
    kind = fields.String()
    label = fields.String()
    payload = fields.Dict(allow_none=True)


class MeterSampleOut(Schema):
    at = fields.DateTime()
    energy_wh = fields.Integer(allow_none=True)
    power_w = fields.Integer(allow_none=True)
    soc_percent = fields.Integer(allow_none=True)


class OrderDetailOut(OrderRowOut):
    bill = fields.Nested(BillOut, allow_none=True)
    items = fields.Nested(BillItemsOut, allow_none=True)
    adjustments = fields.List(fields.Nested(AdjustmentOut))
    occupancy = fields.Nested(OccupancyOut, allow_none=True)
    reasons = fields.List(fields.String())
    timeline = fields.List(fields.Nested(TimelineEventOut))
    samples = fields.List(fields.Nested(MeterSampleOut))
