"""Members (drivers) and their wallets."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.ledger import wallet
from app.openapi import Schema


class MemberFilter(Schema):
    """The members list's filters (its page and its export)."""

    q = fields.String(metadata={"description": "昵称或手机号包含"})
    phone = fields.String(
        validate=validate.Length(max=20), metadata={"description": "手机号包含（如尾号）"}
    )
    operator_id = fields.Integer(metadata={"description": "子运营商（平台管理员可选）"})
    pricing_group = fields.String()


class MemberQuery(MemberFilter, PageQuery):
    pass


class MemberExportQuery(MemberFilter):
    pass


class MemberOut(Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    nickname = fields.String()
    phone = fields.String()
    pricing_group = fields.String()
    balance_fen = fields.Function(lambda d: wallet.balance_of(d.id))
    disabled = fields.Function(
        lambda d: d.disabled_at is not None, metadata={"description": "已停用：不能登录或使用"}
    )
    disabled_at = fields.DateTime(allow_none=True)
    disabled_reason = fields.String()
    created_at = fields.DateTime()


class WalletEntryOut(Schema):
    id = fields.Integer()
    amount_fen = fields.Integer()
    balance_after_fen = fields.Integer()
    reason = fields.String()
    ref_type = fields.String()
    ref_id = fields.String()
    actor_type = fields.String()
    actor_id = fields.Integer(allow_none=True)
    note = fields.String()
    created_at = fields.DateTime()


class WalletAdjustIn(Schema):
    amount_fen = fields.Integer(
        required=True, validate=validate.Range(min=-10_000_000, max=10_000_000)
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class MemberDisableIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class MemberEnableIn(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class CardOut(Schema):
    id = fields.Integer()
    driver_id = fields.Integer(attribute="card.driver_id")
    kind = fields.String(attribute="card.kind", metadata={"enum": ["card", "password"]})
    label = fields.String(metadata={"description": "卡号；充电密码不显示"})
    is_active = fields.Boolean(attribute="card.is_active")
    created_at = fields.DateTime(attribute="card.created_at")
    password = fields.String(
        allow_none=True, metadata={"description": "新充电密码，只在发放的应答中出现一次"}
    )


class CardList(Schema):
    items = fields.List(fields.Nested(CardOut))


class CardIssueIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["card", "password"]))
    card_number = fields.String(
        load_default="", validate=validate.Length(max=32),
        metadata={"description": "充电卡卡号（kind=card 时必填）；充电密码由平台生成"},
    )  # fmt: skip
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class CardDisableIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))
