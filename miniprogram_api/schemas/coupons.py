"""The driver's coupon list."""

from __future__ import annotations

from marshmallow import fields, validate

from app.drivers.driver_coupons import LIST_STATES
from app.openapi import Schema
from miniprogram_api.schemas.common import MpPageQuery


class MpCouponListQuery(MpPageQuery):
    state = fields.String(
        load_default="available",
        validate=validate.OneOf(LIST_STATES),
        metadata={"description": "available（可用）| used（已使用）| expired（已过期）"},
    )


class MpOwnCouponOut(Schema):
    id = fields.Integer(attribute="coupon.id")
    name = fields.String(attribute="coupon.name")
    kind = fields.String(
        attribute="coupon.kind", metadata={"description": "fixed/threshold/percent/service_only"}
    )
    kind_name = fields.String(metadata={"description": "固定金额/满减/折扣（封顶）/仅抵服务费"})
    amount_fen = fields.Integer(attribute="coupon.amount_fen")
    threshold_fen = fields.Integer(attribute="coupon.threshold_fen")
    state = fields.String()
    state_name = fields.String(metadata={"description": "可用/已使用/已过期"})
    applies_to = fields.String(
        metadata={"description": "服务费 或 电费和服务费；限定站点时列出站点名称"}
    )
    station_names = fields.List(fields.String(), metadata={"description": "限定站点，空表示不限"})
    expires_at = fields.DateTime(
        attribute="coupon.expires_at", metadata={"description": "失效时刻（UTC，不含）"}
    )
    expires_local = fields.String(
        metadata={"description": "有效期至（当地时间最后一秒），如 2019-11-13 23:59:59"}
    )
    used_order_no = fields.String(allow_none=True)
