"""Pricing groups, their service-fee discounts and the stations' occupancy policies."""

from __future__ import annotations

from marshmallow import fields, validate

from app.openapi import DECIMAL_STRING, Schema

_PAY_RATE = r"^\s*(0(\.\d{1,4})?|1(\.0{1,4})?)\s*$"


class PricingGroupIn(Schema):
    operator_id = fields.Integer(load_default=None)
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))


class PricingGroupOut(Schema):
    code = fields.String()
    name = fields.String()
    operator_id = fields.Integer(allow_none=True)
    builtin = fields.Boolean()
    is_active = fields.Boolean()


class PricingGroupList(Schema):
    items = fields.List(fields.Nested(PricingGroupOut))


class DiscountQuery(Schema):
    operator_id = fields.Integer()


class DiscountIn(Schema):
    group_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    # pay-rate as text: 七折 = "0.7"; 0 to 1, at most 4 decimals (DISCOUNT_RATE_INVALID)
    rate = fields.String(
        required=True, metadata={"pattern": r"^\s*(0(\.\d{1,4})?|1(\.0{1,4})?)\s*$"}
    )
    station_id = fields.Integer(load_default=None)
    operator_id = fields.Integer(load_default=None)
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class DiscountOut(Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    group_code = fields.String()
    station_id = fields.Integer(allow_none=True)
    rate = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    is_active = fields.Boolean()
    updated_at = fields.DateTime()


class DiscountList(Schema):
    items = fields.List(fields.Nested(DiscountOut))


class OccupancyPolicyIn(Schema):
    grace_minutes = fields.Integer(required=True, validate=validate.Range(min=0, max=24 * 60))
    price_per_minute = fields.String(required=True)  # yuan / minute, up to 4 decimals
    cap_fen = fields.Integer(load_default=None, validate=validate.Range(min=0))
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class OccupancyPolicyOut(Schema):
    station_id = fields.Integer()
    grace_minutes = fields.Integer()
    price_per_minute = fields.Decimal(as_string=True, metadata=DECIMAL_STRING)
    cap_fen = fields.Integer(allow_none=True)
    is_active = fields.Boolean()
    updated_at = fields.DateTime()


class ReasonQuery(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))
