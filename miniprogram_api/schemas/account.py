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


class MpOaLoginIn(Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=128))
    app_id = Text(required=True, validate=validate.Length(min=1, max=64))


class MpH5ConfigQuery(Schema):
    app_id = Text(validate=validate.Length(max=64))
    redirect_uri = Text(validate=validate.Length(max=1000))
    state = Text(validate=validate.Length(max=200))


class MpH5ConfigOut(Schema):
    oa_app_id = fields.String(metadata={"description": "H5 页面网页授权所用的公众号 AppID"})
    authorize_url = fields.String(
        allow_none=True, metadata={"description": "网页授权（snsapi_base）地址，带 redirect_uri 时"}
    )
    cashier_url = fields.String(
        allow_none=True,
        metadata={"description": "演示模式：微信沙箱的收银台（微信外没有 WeixinJSBridge）"},
    )


class MpJsSdkQuery(Schema):
    url = Text(required=True, validate=validate.Length(min=1, max=1000))


class MpJsSdkOut(Schema):
    appId = fields.String()
    timestamp = fields.Integer()
    nonceStr = fields.String()
    signature = fields.String()
