"""Operators: the platform and its sub-operators."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, pre_dump, validate

from admin_spa.api.schemas.common import PageQuery
from app.notices import templates
from app.notices.models import NOTIFICATION_KINDS
from app.openapi import Schema
from app.payments import merchants
from app.tenancy.models import Operator


class OperatorQuery(PageQuery):
    q = fields.String()


class ReadinessItemOut(Schema):
    key = fields.String(
        metadata={"description": "mini_program | merchant_key | apiv3_key | platform_key"}
    )
    label = fields.String()
    ok = fields.Boolean()
    code = fields.String(
        metadata={"description": "OK，或缺什么的代码（WECHAT_PLATFORM_KEY_MISSING 等）"}
    )
    detail = fields.String(metadata={"description": "缺什么（中文），就绪时为空"})


class PlatformKeyOut(Schema):
    kind = fields.String(metadata={"description": "certificate | public_key"})
    serial = fields.String()
    expires_at = fields.DateTime(allow_none=True)


class ReadinessOut(Schema):
    """微信支付就绪状态：逐项说明缺什么（密钥本身从不返回）"""

    ready = fields.Boolean()
    missing = fields.List(fields.String())
    items = fields.List(fields.Nested(ReadinessItemOut))
    keys = fields.List(fields.Nested(PlatformKeyOut))


class WeChatAnswerOut(Schema):
    ok = fields.Boolean()
    code = fields.String()
    message = fields.String()
    serials = fields.List(fields.String())


class SubscribeTemplateOut(Schema):
    """一种通知的订阅消息模板：运营商自己填的，或平台设置里的；都没有则不发送"""

    kind = fields.String(metadata={"description": "|".join(NOTIFICATION_KINDS)})
    label = fields.String(metadata={"description": "通知名称，如 充电开始"})
    template_id = fields.String(metadata={"description": "运营商填写的模板 ID，空表示未填"})
    effective_template_id = fields.String(metadata={"description": "实际使用的模板 ID"})
    source = fields.String(
        metadata={"description": "operator（运营商填写）| settings（平台设置）| none"}
    )
    configured = fields.Boolean()
    status = fields.String(metadata={"description": "已配置 / 未配置（不发送）"})


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
    wechat_pay_readiness = fields.Nested(ReadinessOut)
    subscribe_templates = fields.List(
        fields.Nested(SubscribeTemplateOut),
        attribute="subscribe_template_statuses",
        metadata={"description": "每种通知的订阅消息模板及状态"},
    )
    created_at = fields.DateTime()

    @pre_dump
    def _with_readiness(self, op: Operator, **_: Any) -> Any:
        return _WithReadiness(op, merchants.readiness(op))


class _WithReadiness:
    """An operator as the schema reads it: its columns, and its WeChat Pay readiness."""

    def __init__(self, op: Operator, readiness: merchants.Readiness) -> None:
        self._op = op
        self.wechat_pay_readiness = readiness
        self.subscribe_template_statuses = templates.statuses(op)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._op, name)


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
    # the WeChat Pay public key mode (merchants opened since 2024): its id and PEM
    wechat_pay_public_key_id = fields.String(load_only=True, validate=validate.Length(max=64))
    wechat_pay_public_key = fields.String(load_only=True, validate=validate.Length(max=4096))
    subscribe_templates = fields.Dict(
        keys=fields.String(validate=validate.OneOf(NOTIFICATION_KINDS)),
        values=fields.String(validate=validate.Length(max=64)),
        metadata={
            "description": "按通知类型填写订阅消息模板 ID（只改给出的类型；空字符串表示清除，"
            "改用平台设置）"
        },
    )


class OperatorPatch(OperatorIn):
    name = fields.String(validate=validate.Length(min=1, max=100))
