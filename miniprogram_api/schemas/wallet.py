"""The wallet, top-ups with WeChat Pay and refunds."""

from __future__ import annotations

from marshmallow import fields, validate

from app.openapi import Schema
from app.payments import topups
from miniprogram_api.schemas.common import Text


class MpWalletOut(Schema):
    balance_fen = fields.Integer()
    balance_yuan = fields.String()
    arrears_fen = fields.Integer(metadata={"description": "欠款（分），0 表示无欠款"})
    arrears_yuan = fields.String()


class MpWalletEntryOut(Schema):
    id = fields.Integer()
    amount_fen = fields.Integer()
    balance_after_fen = fields.Integer()
    reason = fields.String()
    ref_type = fields.String()
    ref_id = fields.String()
    note = fields.String()
    created_at = fields.DateTime()


class MpOfferItemOut(Schema):
    template_id = fields.Integer()
    name = fields.String()
    quantity = fields.Integer()
    face_value_fen = fields.Integer()


class MpTopUpOfferOut(Schema):
    offer_id = fields.Integer()
    name = fields.String()
    min_topup_fen = fields.Integer()
    coupon_count = fields.Integer(metadata={"description": "赠送优惠券张数"})
    total_fen = fields.Integer(metadata={"description": "赠送优惠券总面值（分）"})
    total_is_upper_bound = fields.Boolean(metadata={"description": "含折扣券时为最高面值"})
    text = fields.String()
    items = fields.List(fields.Nested(MpOfferItemOut))


class MpTopUpOffersOut(Schema):
    items = fields.List(fields.Nested(MpTopUpOfferOut))


class MpTopUpIn(Schema):
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1, max=10_000_000))
    offer_id = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1)
    )
    channel = fields.String(
        load_default="miniprogram",
        validate=validate.OneOf(topups.CHANNELS),
        metadata={"description": "miniprogram（小程序）| official_account（公众号 H5 页面）"},
    )


class MpRequestPaymentOut(Schema):
    appId = fields.String()
    timeStamp = fields.String()
    nonceStr = fields.String()
    package = fields.String()
    signType = fields.String()
    paySign = fields.String()


class MpTopUpOut(Schema):
    out_trade_no = fields.String()
    amount_fen = fields.Integer()
    offer_id = fields.Integer(allow_none=True)
    state = fields.String()
    paid_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class MpTopUpStartedOut(Schema):
    out_trade_no = fields.String(attribute="payment.out_trade_no")
    amount_fen = fields.Integer(attribute="payment.amount_fen")
    offer_id = fields.Integer(attribute="payment.offer_id", allow_none=True)
    state = fields.String(attribute="payment.state")
    created_at = fields.DateTime(attribute="payment.created_at")
    payment = fields.Nested(
        MpRequestPaymentOut,
        attribute="request_payment",
        metadata={"description": "wx.requestPayment 参数"},
    )


class MpRefundIn(Schema):
    amount_fen = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=10_000_000),
        metadata={"description": "不填表示退全部可退余额"},
    )  # fmt: skip
    reason = Text(load_default="", validate=validate.Length(max=200))


class MpRefundPartOut(Schema):
    out_refund_no = fields.String()
    amount_fen = fields.Integer()
    coupon_deduction_fen = fields.Integer(
        metadata={"description": "该笔充值赠送且已使用的优惠券金额，不予退回"}
    )
    refund_fen = fields.Integer(metadata={"description": "原路退回微信的金额"})
    coupon_deduction_note = fields.String(
        metadata={"description": "扣除多少、为什么（无扣除时为空）"}
    )
    state = fields.String()
    fail_reason = fields.String()


class MpRefundOut(Schema):
    id = fields.Integer()
    amount_fen = fields.Integer()
    reason = fields.String()
    state = fields.String(
        metadata={"description": "pending_review/approved/processing/succeeded/failed/rejected"}
    )
    reject_reason = fields.String()
    fail_reason = fields.String()
    succeeded_fen = fields.Integer()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    parts = fields.List(fields.Nested(MpRefundPartOut))


class MpRefundableOut(Schema):
    refundable_fen = fields.Integer()
