"""Driver login and the current driver."""

from __future__ import annotations

from marshmallow import fields, validate

from app.ledger import wallet
from app.openapi import Schema
from miniprogram_api.schemas.common import MpBrandOut, Text


class MpLoginIn(Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=128))
    app_id = Text(required=True, validate=validate.Length(min=1, max=64))


class MpDriverOut(Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    nickname = fields.String()
    avatar_url = fields.String()
    phone = fields.String()
    phone_bound = fields.Function(lambda d: bool(d.phone))
    pricing_group = fields.String(metadata={"description": "none | ride_hailing | taxi"})
    balance_fen = fields.Function(lambda d: wallet.balance_of(d.id))


class MpLoginOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    created = fields.Boolean(metadata={"description": "首次登录时新建了司机账户"})
    driver = fields.Nested(MpDriverOut)
    operator = fields.Nested(MpBrandOut)


class MpMeOut(Schema):
    driver = fields.Nested(MpDriverOut)
    operator = fields.Nested(MpBrandOut)


class MpPhoneIn(Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=128))
