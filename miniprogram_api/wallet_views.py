"""Drivers' wallet, top-ups with WeChat Pay, refunds, and WeChat Pay's notify URLs.

The notify routes carry no driver token: WeChat's signature, checked with the merchant's
keys in the services, is their authentication.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.paging import Page
from app.payments import refunds, topups
from app.wechat.notify import NotifyReply
from miniprogram_api.auth import authenticate, current_driver
from miniprogram_api.schemas import MpPageQuery, Text, page_of

PREFIX = "/api/mp/v1"
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
ID = "int(max=2147483647)"


# --- schemas -------------------------------------------------------------------------------


class MpWalletOut(ma.Schema):
    balance_fen = fields.Integer()
    balance_yuan = fields.String()
    arrears_fen = fields.Integer(metadata={"description": "欠款（分），0 表示无欠款"})
    arrears_yuan = fields.String()


class MpWalletEntryOut(ma.Schema):
    id = fields.Integer()
    amount_fen = fields.Integer()
    balance_after_fen = fields.Integer()
    reason = fields.String()
    ref_type = fields.String()
    ref_id = fields.String()
    note = fields.String()
    created_at = fields.DateTime()


class MpOfferItemOut(ma.Schema):
    template_id = fields.Integer()
    name = fields.String()
    quantity = fields.Integer()
    face_value_fen = fields.Integer()


class MpTopUpOfferOut(ma.Schema):
    offer_id = fields.Integer()
    name = fields.String()
    min_topup_fen = fields.Integer()
    coupon_count = fields.Integer(metadata={"description": "赠送优惠券张数"})
    total_fen = fields.Integer(metadata={"description": "赠送优惠券总面值（分）"})
    total_is_upper_bound = fields.Boolean(metadata={"description": "含折扣券时为最高面值"})
    text = fields.String()
    items = fields.List(fields.Nested(MpOfferItemOut))


class MpTopUpOffersOut(ma.Schema):
    items = fields.List(fields.Nested(MpTopUpOfferOut))


class MpTopUpIn(ma.Schema):
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1, max=10_000_000))
    offer_id = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1)
    )


class MpRequestPaymentOut(ma.Schema):
    appId = fields.String()
    timeStamp = fields.String()
    nonceStr = fields.String()
    package = fields.String()
    signType = fields.String()
    paySign = fields.String()


class MpTopUpOut(ma.Schema):
    out_trade_no = fields.String()
    amount_fen = fields.Integer()
    offer_id = fields.Integer(allow_none=True)
    state = fields.String()
    paid_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class MpTopUpStartedOut(ma.Schema):
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


class MpRefundIn(ma.Schema):
    amount_fen = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=10_000_000),
        metadata={"description": "不填表示退全部可退余额"},
    )  # fmt: skip
    reason = Text(load_default="", validate=validate.Length(max=200))


class MpRefundPartOut(ma.Schema):
    out_refund_no = fields.String()
    amount_fen = fields.Integer()
    state = fields.String()
    fail_reason = fields.String()


class MpRefundOut(ma.Schema):
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


class MpRefundableOut(ma.Schema):
    refundable_fen = fields.Integer()


# --- wallet ---------------------------------------------------------------------------------


def _blueprint(name: str, description: str) -> Blueprint:
    bp = Blueprint(f"mp_{name}", __name__, url_prefix=PREFIX, description=description)
    bp.before_request(authenticate)
    return bp


wallet_bp = _blueprint("wallet", "钱包、充值与退款")


@wallet_bp.route("/wallet")
@wallet_bp.response(200, MpWalletOut)
@wallet_bp.doc(security=SECURITY)
def get_wallet() -> Any:
    """余额与欠款"""
    return topups.wallet_of(current_driver())


@wallet_bp.route("/wallet/entries")
@wallet_bp.arguments(MpPageQuery, location="query")
@wallet_bp.response(200, page_of(MpWalletEntryOut, "MpWalletEntryPage"))
@wallet_bp.doc(security=SECURITY)
def wallet_entries(args: dict[str, Any]) -> Page:
    """余额明细（最新在前）"""
    return topups.own_entries(current_driver(), **args)


@wallet_bp.route("/topup-offers")
@wallet_bp.response(200, MpTopUpOffersOut)
@wallet_bp.doc(security=SECURITY)
def topup_offers() -> dict[str, Any]:
    """充值活动：每档赠送的优惠券张数与总面值（case #5 2019-10-28）"""
    return {"items": topups.offers_for(current_driver())}


@wallet_bp.route("/topups", methods=["POST"])
@wallet_bp.arguments(MpTopUpIn)
@wallet_bp.response(201, MpTopUpStartedOut)
@wallet_bp.doc(security=SECURITY)
def start_topup(body: dict[str, Any]) -> Any:
    """发起微信支付充值，返回 wx.requestPayment 参数"""
    return topups.start_topup(current_driver(), body["amount_fen"], body["offer_id"])


@wallet_bp.route("/topups/<string(maxlength=32):out_trade_no>")
@wallet_bp.response(200, MpTopUpOut)
@wallet_bp.doc(security=SECURITY)
def get_topup(out_trade_no: str) -> Any:
    """充值结果（支付后轮询）"""
    return topups.own_payment(current_driver(), out_trade_no)


@wallet_bp.route("/refunds/refundable")
@wallet_bp.response(200, MpRefundableOut)
@wallet_bp.doc(security=SECURITY)
def refundable() -> dict[str, int]:
    """可原路退回的余额（一年内的微信充值）"""
    return {"refundable_fen": refunds.refundable_fen(current_driver())}


@wallet_bp.route("/refunds", methods=["GET"])
@wallet_bp.arguments(MpPageQuery, location="query")
@wallet_bp.response(200, page_of(MpRefundOut, "MpRefundPage"))
@wallet_bp.doc(security=SECURITY)
def list_refunds(args: dict[str, Any]) -> Page:
    """我的退款申请"""
    return refunds.list_own(current_driver(), **args)


@wallet_bp.route("/refunds", methods=["POST"])
@wallet_bp.arguments(MpRefundIn)
@wallet_bp.response(201, MpRefundOut)
@wallet_bp.doc(security=SECURITY)
def request_refund(body: dict[str, Any]) -> Any:
    """申请余额退款（默认全部可退余额），审核后原路退回"""
    return refunds.request_refund(current_driver(), body["amount_fen"], body["reason"])


@wallet_bp.route(f"/refunds/<{ID}:refund_id>")
@wallet_bp.response(200, MpRefundOut)
@wallet_bp.doc(security=SECURITY)
def get_refund(refund_id: int) -> Any:
    """退款申请详情（仅本人）"""
    return refunds.own_request(current_driver(), refund_id)


# --- WeChat Pay notifies (no driver token: WeChat's signature) ----------------------------------

notify_bp = Blueprint(
    "mp_pay_notify", __name__, url_prefix=PREFIX, description="微信支付回调（支付、退款结果）"
)
MCH = "<string(maxlength=32):mch_id>"


def _reply(reply: NotifyReply) -> Response:
    return Response(reply.json_bytes(), status=reply.status, content_type="application/json")


@notify_bp.route(f"/pay/notify/{MCH}", methods=["POST"])
@notify_bp.doc(responses={200: {"description": "已处理"}, 401: {"description": "验签失败"}})
def pay_notify(mch_id: str) -> Response:
    """微信支付结果通知（验签、解密、核对金额与商户，只入账一次）"""
    return _reply(topups.handle_pay_notify(mch_id, request.headers, request.get_data()))


@notify_bp.route(f"/pay/refund-notify/{MCH}", methods=["POST"])
@notify_bp.doc(responses={200: {"description": "已处理"}, 401: {"description": "验签失败"}})
def refund_notify(mch_id: str) -> Response:
    """微信退款结果通知"""
    return _reply(refunds.handle_refund_notify(mch_id, request.headers, request.get_data()))


WALLET_BLUEPRINTS = (wallet_bp, notify_bp)


def register(api: Any) -> None:
    for bp in WALLET_BLUEPRINTS:
        api.register_blueprint(bp)
