"""Coupon templates, members' coupons and top-up offers."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.openapi import DECIMAL_STRING, Schema
from app.pricing import COUPON_KINDS
from app.promotions.coupons import template_validity_text
from app.promotions.models import COUPON_SOURCES, CouponState


class CouponTemplateIn(Schema):
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


class CouponTemplateOut(Schema):
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
    validity_text = fields.Function(
        template_validity_text,
        metadata={"description": "有效期（当地时间，精确到最后一秒，案例 #10）", "type": "string"},
    )
    timezone = fields.String()
    per_driver_limit = fields.Integer(allow_none=True)
    registration_quantity = fields.Integer()
    is_active = fields.Boolean()
    created_at = fields.DateTime()


class CouponTemplatePage(Schema):
    items = fields.List(fields.Nested(CouponTemplateOut))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class ActiveIn(Schema):
    is_active = fields.Boolean(required=True)


class GrantIn(Schema):
    template_id = fields.Integer(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CouponOut(Schema):
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


class CouponList(Schema):
    items = fields.List(fields.Nested(CouponOut))


class CouponStatusQuery(Schema):
    status = fields.String(validate=validate.OneOf(("available", "used", "expired", "revoked")))


class OfferItemIn(Schema):
    template_id = fields.Integer(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))


class OfferIn(Schema):
    operator_id = fields.Integer(load_default=None)
    name = fields.String(load_default="", validate=validate.Length(max=100))
    min_topup_fen = fields.Integer(required=True, validate=validate.Range(min=1))
    starts_at = fields.AwareDateTime(load_default=None)
    ends_at = fields.AwareDateTime(load_default=None)
    items = fields.List(fields.Nested(OfferItemIn), required=True, validate=validate.Length(min=1))


class OfferOut(Schema):
    offer_id = fields.Integer()
    name = fields.String()
    min_topup_fen = fields.Integer()
    coupon_count = fields.Integer()
    total_fen = fields.Integer()
    total_is_upper_bound = fields.Boolean()
    text = fields.String()
    items = fields.List(fields.Dict())
    is_active = fields.Boolean(metadata={"description": "停用的活动不再赠券"})


class OfferList(Schema):
    items = fields.List(fields.Nested(OfferOut))


class GroupGrantIn(Schema):
    group_code = fields.String(
        required=True, validate=validate.Length(min=1, max=32),
        metadata={"description": "会员分组（价格分组）代码；none 为未分组的会员"},
    )  # fmt: skip
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))
    request_id = fields.String(
        required=True, validate=validate.Length(min=8, max=64),
        metadata={"description": "本次发放的请求编号（控制台生成）：同一编号重试不会重复发放"},
    )  # fmt: skip


class GroupGrantOut(Schema):
    template_id = fields.Integer()
    group_code = fields.String()
    request_id = fields.String()
    granted = fields.Integer(metadata={"description": "发放张数（每位会员一张）"})
    skipped = fields.Integer(metadata={"description": "已达每人限领数而未发放的会员数"})
    repeated = fields.Boolean(metadata={"description": "此请求编号已发放过：未再发放"})


class CouponUsageQuery(PageQuery):
    status = fields.String(validate=validate.OneOf([s.value for s in CouponState]))


class CouponUseOut(Schema):
    coupon_id = fields.Integer()
    driver_id = fields.Integer()
    driver_nickname = fields.String()
    driver_phone = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in CouponState]})
    source = fields.String(metadata={"enum": list(COUPON_SOURCES)})
    reason = fields.String()
    granted_at = fields.DateTime()
    valid_until = fields.String(metadata={"description": "有效期至（本地时间，精确到秒）"})
    used_at = fields.DateTime(allow_none=True)
    used_amount_fen = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    order_no = fields.String(allow_none=True, metadata={"description": "使用该券的充电订单号"})
    revoked_at = fields.DateTime(allow_none=True)
    revoke_reason = fields.String()
