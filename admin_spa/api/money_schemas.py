"""Schemas of the admin API's money pages: abnormal orders and corrections, coupons and
top-up offers, member pricing, occupancy policies. Amounts are integer fen, unit prices
and rates decimal strings."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from admin_spa.api.schemas import PageQuery
from app.billing.abnormal_orders import ABNORMAL_KINDS
from app.openapi import DECIMAL_STRING
from app.pricing import COUPON_KINDS

# --- abnormal orders and corrections ------------------------------------------------------


class AbnormalQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf(ABNORMAL_KINDS))
    station_id = fields.Integer()
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()
    q = fields.String()


class OrderOut(ma.Schema):
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


class AbnormalPage(ma.Schema):
    items = fields.List(fields.Nested(OrderOut))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class BillLineOut(ma.Schema):
    segment_start = fields.DateTime()
    segment_end = fields.DateTime()
    tier = fields.String()
    energy_wh = fields.Integer()
    electricity_price = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    service_price = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    electricity_fen = fields.Integer()
    service_fen = fields.Integer()
    service_discount_fen = fields.Integer()


class BillOut(ma.Schema):
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


class AdjustmentOut(ma.Schema):
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


class OccupancyOut(ma.Schema):
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


class OrderMoneyOut(ma.Schema):
    order = fields.Nested(OrderOut)
    bill = fields.Nested(BillOut, allow_none=True)
    adjustments = fields.List(fields.Nested(AdjustmentOut))
    occupancy = fields.Nested(OccupancyOut, allow_none=True)
    reasons = fields.List(fields.String())


class CorrectionIn(ma.Schema):
    ended_at = fields.AwareDateTime(load_default=None)
    energy_wh = fields.Integer(load_default=None, validate=validate.Range(min=0, max=10**9))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))

    @ma.validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("ended_at") is None and data.get("energy_wh") is None:
            raise ma.ValidationError("请填写要更正的结束时间或电量", "ended_at")


class CorrectionOut(ma.Schema):
    refund_fen = fields.Integer()
    bill = fields.Nested(BillOut)


# --- coupons and top-up offers ----------------------------------------------------------


class CouponTemplateIn(ma.Schema):
    operator_id = fields.Integer(load_default=None)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(sorted(COUPON_KINDS)))
    amount_fen = fields.Integer(load_default=0, validate=validate.Range(min=0))
    threshold_fen = fields.Integer(load_default=0, validate=validate.Range(min=0))
    percent = fields.Decimal(load_default=None, as_string=True, metadata=DECIMAL_STRING)
    cap_fen = fields.Integer(load_default=None, validate=validate.Range(min=0))
    station_ids = fields.List(fields.Integer(), load_default=None)
    valid_from = fields.AwareDateTime(load_default=None)
    valid_until = fields.AwareDateTime(load_default=None)
    validity_days = fields.Integer(load_default=None, validate=validate.Range(min=1))
    validity_months = fields.Integer(load_default=None, validate=validate.Range(min=1))
    timezone = fields.String(load_default="Asia/Shanghai")
    per_driver_limit = fields.Integer(load_default=None, validate=validate.Range(min=1))
    registration_quantity = fields.Integer(load_default=0, validate=validate.Range(min=0))


class CouponTemplateOut(ma.Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    amount_fen = fields.Integer()
    threshold_fen = fields.Integer()
    percent = fields.Decimal(as_string=True, allow_none=True, metadata=DECIMAL_STRING)
    cap_fen = fields.Integer(allow_none=True)
    station_ids = fields.List(fields.Integer(), allow_none=True)
    valid_from = fields.DateTime(allow_none=True)
    valid_until = fields.DateTime(allow_none=True)
    validity_days = fields.Integer(allow_none=True)
    validity_months = fields.Integer(allow_none=True)
    timezone = fields.String()
    per_driver_limit = fields.Integer(allow_none=True)
    registration_quantity = fields.Integer()
    is_active = fields.Boolean()
    created_at = fields.DateTime()


class CouponTemplatePage(ma.Schema):
    items = fields.List(fields.Nested(CouponTemplateOut))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class ActiveIn(ma.Schema):
    is_active = fields.Boolean(required=True)


class GrantIn(ma.Schema):
    template_id = fields.Integer(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ReasonIn(ma.Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ReasonQuery(ma.Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CouponOut(ma.Schema):
    id = fields.Integer(attribute="coupon.id")
    template_id = fields.Integer(attribute="coupon.template_id")
    name = fields.String(attribute="coupon.name")
    kind = fields.String(attribute="coupon.kind")
    amount_fen = fields.Integer(attribute="coupon.amount_fen")
    threshold_fen = fields.Integer(attribute="coupon.threshold_fen")
    percent = fields.Decimal(
        attribute="coupon.percent", as_string=True, allow_none=True, metadata=DECIMAL_STRING
    )
    cap_fen = fields.Integer(attribute="coupon.cap_fen", allow_none=True)
    status = fields.String(attribute="coupon.status")
    source = fields.String(attribute="coupon.source")
    reason = fields.String(attribute="coupon.reason")
    granted_at = fields.DateTime(attribute="coupon.granted_at")
    expires_at = fields.DateTime(attribute="coupon.expires_at")
    valid_until = fields.String()  # "2019-11-13 23:59:59", local (case #10)
    used_order_id = fields.Integer(attribute="coupon.used_order_id", allow_none=True)
    used_amount_fen = fields.Integer(attribute="coupon.used_amount_fen")


class CouponList(ma.Schema):
    items = fields.List(fields.Nested(CouponOut))


class CouponStatusQuery(ma.Schema):
    status = fields.String(validate=validate.OneOf(("available", "used", "expired", "revoked")))


class OfferItemIn(ma.Schema):
    template_id = fields.Integer(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))


class OfferIn(ma.Schema):
    operator_id = fields.Integer(load_default=None)
    name = fields.String(load_default="", validate=validate.Length(max=100))
    min_topup_fen = fields.Integer(required=True, validate=validate.Range(min=1))
    starts_at = fields.AwareDateTime(load_default=None)
    ends_at = fields.AwareDateTime(load_default=None)
    items = fields.List(fields.Nested(OfferItemIn), required=True, validate=validate.Length(min=1))


class OfferOut(ma.Schema):
    offer_id = fields.Integer()
    name = fields.String()
    min_topup_fen = fields.Integer()
    coupon_count = fields.Integer()
    total_fen = fields.Integer()
    total_is_upper_bound = fields.Boolean()
    text = fields.String()
    items = fields.List(fields.Dict())


class OfferList(ma.Schema):
    items = fields.List(fields.Nested(OfferOut))


# --- member pricing and occupancy -----------------------------------------------------------


class PricingGroupIn(ma.Schema):
    operator_id = fields.Integer(load_default=None)
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))


class PricingGroupOut(ma.Schema):
    code = fields.String()
    name = fields.String()
    operator_id = fields.Integer(allow_none=True)
    builtin = fields.Boolean()
    is_active = fields.Boolean()


class PricingGroupList(ma.Schema):
    items = fields.List(fields.Nested(PricingGroupOut))


class DiscountQuery(ma.Schema):
    operator_id = fields.Integer()


class DiscountIn(ma.Schema):
    group_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    rate = fields.String(required=True)  # pay-rate as text: 七折 = "0.7"
    station_id = fields.Integer(load_default=None)
    operator_id = fields.Integer(load_default=None)
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class DiscountOut(ma.Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    group_code = fields.String()
    station_id = fields.Integer(allow_none=True)
    rate = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    is_active = fields.Boolean()
    updated_at = fields.DateTime()


class DiscountList(ma.Schema):
    items = fields.List(fields.Nested(DiscountOut))


class OccupancyPolicyIn(ma.Schema):
    grace_minutes = fields.Integer(required=True, validate=validate.Range(min=0, max=24 * 60))
    price_per_minute = fields.String(required=True)  # yuan / minute, up to 4 decimals
    cap_fen = fields.Integer(load_default=None, validate=validate.Range(min=0))
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class OccupancyPolicyOut(ma.Schema):
    station_id = fields.Integer()
    grace_minutes = fields.Integer()
    price_per_minute = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    cap_fen = fields.Integer(allow_none=True)
    is_active = fields.Boolean()
    updated_at = fields.DateTime()
