"""Customer-service phones and their time windows."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PRINTABLE, PageQuery
from app.openapi import ClockField, Schema


class CustomerServicePhoneOut(Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    label = fields.String()
    phone = fields.String()
    start = ClockField(attribute="start_minute")
    end = ClockField(attribute="end_minute")
    is_active = fields.Boolean()
    updated_at = fields.DateTime()


class CustomerServicePhoneIn(Schema):
    operator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    label = fields.String(load_default="客服电话", validate=[validate.Length(max=50), PRINTABLE])
    phone = fields.String(required=True, validate=validate.Length(min=3, max=30))
    start = ClockField(
        required=True, attribute="start_minute", metadata={"description": "HH:MM，当地时间"}
    )
    end = ClockField(
        required=True,
        attribute="end_minute",
        metadata={"description": "早于开始时间表示跨午夜（如 21:00-09:00）；相同表示全天"},
    )
    is_active = fields.Boolean(load_default=True)


class CustomerServicePhonePatch(Schema):
    label = fields.String(validate=[validate.Length(max=50), PRINTABLE])
    phone = fields.String(validate=validate.Length(min=3, max=30))
    start = ClockField(attribute="start_minute")
    end = ClockField(attribute="end_minute")
    is_active = fields.Boolean()


class CustomerServiceQuery(PageQuery):
    operator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
