"""Operators: the platform and its sub-operators."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.openapi import Schema


class OperatorQuery(PageQuery):
    q = fields.String()


class OperatorOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)
    contact_name = fields.String()
    contact_phone = fields.String()
    brand_color = fields.String()
    logo_url = fields.String()
    wechat_app_id = fields.String()
    wechat_app_secret_set = fields.Function(lambda o: bool(o.wechat_app_secret))
    wechat_mch_id = fields.String()
    wechat_mch_cert_serial = fields.String()
    wechat_pay_configured = fields.Boolean()
    created_at = fields.DateTime()


class OperatorIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    contact_name = fields.String(validate=validate.Length(max=50))
    contact_phone = fields.String(validate=validate.Length(max=30))
    brand_color = fields.String(validate=validate.Length(max=9))
    logo_url = fields.String(validate=validate.Length(max=500))
    wechat_app_id = fields.String(validate=validate.Length(max=64))
    wechat_app_secret = fields.String(load_only=True, validate=validate.Length(max=128))
    wechat_mch_id = fields.String(validate=validate.Length(max=32))
    wechat_mch_cert_serial = fields.String(validate=validate.Length(max=64))
    wechat_mch_private_key = fields.String(load_only=True)
    wechat_apiv3_key = fields.String(load_only=True, validate=validate.Length(equal=32))


class OperatorPatch(OperatorIn):
    name = fields.String(validate=validate.Length(min=1, max=100))
