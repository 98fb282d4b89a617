"""财务 → 充值记录: the wallet top-ups, their filters (page and export)."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PageQuery
from app.openapi import Schema
from app.payments.models import TopUpState


class TopUpFilter(Schema):
    """The top-up list's filters (its page and its export)."""

    operator_id = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "子运营商"}
    )
    phone = fields.String(validate=validate.Length(max=20), metadata={"description": "会员手机号"})
    state = fields.String(validate=validate.OneOf(tuple(TopUpState)))
    since = fields.AwareDateTime(metadata={"description": "下单时间起（含）"})
    until = fields.AwareDateTime(metadata={"description": "下单时间止（不含）"})


class TopUpQuery(TopUpFilter, PageQuery):
    pass


class TopUpExportQuery(TopUpFilter):
    pass


class TopUpOut(Schema):
    id = fields.Integer(required=True)
    out_trade_no = fields.String(required=True)
    transaction_id = fields.String(allow_none=True, metadata={"description": "微信支付单号"})
    driver_id = fields.Integer(required=True)
    driver_phone = fields.String(required=True)
    operator_id = fields.Integer(required=True)
    operator_name = fields.String(required=True)
    mch_id = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    refunded_fen = fields.Integer(required=True, metadata={"description": "已原路退回的金额"})
    offer_id = fields.Integer(allow_none=True)
    offer_name = fields.String(required=True, metadata={"description": "充值活动（无则为空）"})
    state = fields.String(required=True, metadata={"description": "created | paid | closed"})
    created_at = fields.DateTime(required=True)
    paid_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
