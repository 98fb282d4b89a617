"""Abnormal orders, an order's bill and its corrections. Amounts are integer fen, unit prices
decimal strings."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.billing.abnormal_orders import ABNORMAL_KINDS
from app.openapi import DECIMAL_STRING, Schema, page_of


class AbnormalFilter(Schema):
    """The abnormal-orders queue's filters (its page and its export)."""

    kind = fields.String(validate=validate.OneOf(ABNORMAL_KINDS))
    station_id = fields.Integer()
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()
    q = fields.String()


class AbnormalQuery(AbnormalFilter, PageQuery):
    pass


class AbnormalExportQuery(AbnormalFilter):
    pass


class OrderOut(Schema):
    id = fields.Integer()
    order_no = fields.String()
    operator_id = fields.Integer()
    station_id = fields.Integer(allow_none=True)
    pile_id = fields.Integer()
    connector_number = fields.Integer(allow_none=True)
    driver_id = fields.Integer(allow_none=True)
    state = fields.String()
    start_method = fields.String()
    energy_wh = fields.Integer()
    total_fen = fields.Integer(allow_none=True)
    abnormal_reason = fields.String()
    offline_during = fields.Boolean()
    late_record = fields.Boolean()
    failure_reason = fields.String()
    stop_reason = fields.String()
    requested_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    energy_ended_at = fields.DateTime(allow_none=True)
    gun_returned_at = fields.DateTime(allow_none=True)
    stopped_at = fields.DateTime(allow_none=True)
    awaiting_record_since = fields.DateTime(allow_none=True)
    pile_amounts = fields.Dict(allow_none=True)


AbnormalPage = page_of(OrderOut, "AbnormalPage")


class BillLineOut(Schema):
    segment_start = fields.DateTime()
    segment_end = fields.DateTime()
    tier = fields.String()
    energy_wh = fields.Integer()
    electricity_price = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    service_price = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    electricity_fen = fields.Integer()
    service_fen = fields.Integer()
    service_discount_fen = fields.Integer()


class BillOut(Schema):
    id = fields.Integer()
    order_no = fields.String()
    energy_wh = fields.Integer()
    electricity_fen = fields.Integer()
    service_fen = fields.Integer()
    service_discount_fen = fields.Integer()
    service_discount_rate = fields.Decimal(as_string=True, allow_none=True, metadata=DECIMAL_STRING)
    pricing_group = fields.String()
    occupancy_minutes = fields.Integer()
    occupancy_fen = fields.Integer()
    coupon_id = fields.Integer(allow_none=True)
    coupon_fen = fields.Integer()
    total_fen = fields.Integer()
    paid_fen = fields.Integer()
    arrears_fen = fields.Integer()
    estimated = fields.Boolean()
    amount_mismatch = fields.Boolean()
    pile_electricity_fen = fields.Integer(allow_none=True)
    pile_service_fen = fields.Integer(allow_none=True)
    pile_total_fen = fields.Integer(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime()
    lines = fields.List(fields.Nested(BillLineOut))


class AdjustmentOut(Schema):
    seq = fields.Integer()
    reason = fields.String()
    total_before_fen = fields.Integer()
    total_after_fen = fields.Integer()
    wallet_amount_fen = fields.Integer()
    arrears_after_fen = fields.Integer()
    actor_type = fields.String()
    actor_id = fields.Integer(allow_none=True)
    note = fields.String()
    created_at = fields.DateTime()


class OccupancyOut(Schema):
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String()
    grace_minutes = fields.Integer()
    price_per_minute = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    cap_fen = fields.Integer(allow_none=True)
    billable_minutes = fields.Integer()
    excluded_minutes = fields.Integer()
    fee_fen = fields.Integer()
    review_reason = fields.String()


class ClockSkewOut(Schema):
    """A pile time not used for money: what the pile said, and the server's time used."""

    what = fields.String()
    pile_at = fields.DateTime()
    used_at = fields.DateTime()


class OrderMoneyOut(Schema):
    order = fields.Nested(OrderOut)
    bill = fields.Nested(BillOut, allow_none=True)
    adjustments = fields.List(fields.Nested(AdjustmentOut))
    occupancy = fields.Nested(OccupancyOut, allow_none=True)
    reasons = fields.List(fields.String())
    clock_skews = fields.List(fields.Nested(ClockSkewOut))


class CorrectionIn(Schema):
    ended_at = fields.AwareDateTime(load_default=None)
    energy_wh = fields.Integer(load_default=None, validate=validate.Range(min=0, max=10**9))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))

    @ma.validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("ended_at") is None and data.get("energy_wh") is None:
            raise ma.ValidationError("请填写要更正的结束时间或电量", "ended_at")


class CorrectionOut(Schema):
    refund_fen = fields.Integer()
    bill = fields.Nested(BillOut)


class CorrectionPreviewIn(Schema):
    ended_at = fields.AwareDateTime(load_default=None)
    energy_wh = fields.Integer(load_default=None, validate=validate.Range(min=0, max=10**9))


class CorrectionPreviewOut(Schema):
    energy_wh = fields.Integer(required=True)
    electricity_fen = fields.Integer(required=True)
    service_fen = fields.Integer(required=True)
    member_discount_fen = fields.Integer(required=True)
    occupancy_fen = fields.Integer(required=True)
    coupon_fen = fields.Integer(required=True)
    total_before_fen = fields.Integer(required=True)
    total_after_fen = fields.Integer(required=True)
    refund_fen = fields.Integer(required=True)
