"""Refund review: requests, their parts per top-up, the merchants that block them."""

from __future__ import annotations

from marshmallow import fields, validate

from admin_spa.api.schemas.common import PRINTABLE, PageQuery
from app.openapi import Schema
from app.payments import refunds
from app.payments.models import RefundState


class RefundFilter(Schema):
    """The refund review list's filters (its page and its export)."""

    state = fields.String(validate=validate.OneOf(tuple(RefundState)))
    driver_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    operator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    phone = fields.String(validate=validate.Length(max=20))
    since = fields.AwareDateTime(metadata={"description": "申请时间起（含）"})
    until = fields.AwareDateTime(metadata={"description": "申请时间止（不含）"})


class RefundQuery(RefundFilter, PageQuery):
    pass


class RefundExportQuery(RefundFilter):
    pass


class RefundPartAdminOut(Schema):
    id = fields.Integer()
    out_refund_no = fields.String()
    amount_fen = fields.Integer(metadata={"description": "从钱包扣回的金额"})
    coupon_deduction_fen = fields.Integer(
        metadata={"description": "该笔充值赠送且已使用的优惠券金额，不予退回（case #4）"}
    )
    refund_fen = fields.Integer(metadata={"description": "经微信原路退回的金额"})
    coupon_deduction_note = fields.String(
        metadata={"description": "扣除多少、为什么（无扣除时为空）"}
    )
    state = fields.String()
    wechat_refund_id = fields.String(allow_none=True)
    wechat_status = fields.String()
    fail_reason = fields.String(metadata={"description": "微信支付给出的失败原因"})
    attempts = fields.Integer()
    payment_out_trade_no = fields.Function(lambda p: p.payment.out_trade_no)
    payment_amount_fen = fields.Function(lambda p: p.payment.amount_fen)
    payment_operator_id = fields.Function(lambda p: p.payment.operator_id)
    paid_at = fields.Function(
        lambda p: p.payment.paid_at.isoformat() if p.payment.paid_at else None
    )
    finished_at = fields.DateTime(allow_none=True)


class MerchantBlockerOut(Schema):
    operator_id = fields.Integer()
    operator = fields.String()


class RefundAdminOut(Schema):
    id = fields.Integer()
    operator_id = fields.Integer()
    driver_id = fields.Integer()
    amount_fen = fields.Integer()
    reason = fields.String()
    state = fields.String()
    reject_reason = fields.String()
    fail_reason = fields.String()
    succeeded_fen = fields.Integer()
    reviewed_by_id = fields.Integer(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    parts = fields.List(fields.Nested(RefundPartAdminOut))
    merchant_blockers = fields.Function(
        lambda r: (
            MerchantBlockerOut(many=True).dump(refunds.merchant_blockers(r))
            if r.state == "pending_review"
            else []
        ),
        metadata={"description": "未配置微信支付商户的收款运营商：非空时无法通过（case #22）"},
    )


class RefundRejectIn(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=200), PRINTABLE])
