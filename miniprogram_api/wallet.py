"""Drivers' API: the wallet, coupons, top-ups with WeChat Pay, refunds."""

from __future__ import annotations

from typing import Any

from app.drivers import driver_coupons
from app.openapi import ID, page_of
from app.paging import Page
from app.payments import refunds, topups
from miniprogram_api.auth import current_driver
from miniprogram_api.blueprints import blueprint
from miniprogram_api.schemas import coupons as cs
from miniprogram_api.schemas import wallet as s
from miniprogram_api.schemas.common import MpPageQuery

bp = blueprint("wallet", "钱包、充值与退款")


@bp.route("/wallet")
@bp.response(200, s.MpWalletOut)
def get_wallet() -> Any:
    """余额与欠款"""
    return topups.wallet_of(current_driver())


@bp.route("/wallet/entries")
@bp.arguments(MpPageQuery, location="query")
@bp.response(200, page_of(s.MpWalletEntryOut, "MpWalletEntryPage"))
def wallet_entries(args: dict[str, Any]) -> Page:
    """余额明细（最新在前）"""
    return topups.own_entries(current_driver(), **args)


@bp.route("/coupons")
@bp.arguments(cs.MpCouponListQuery, location="query")
@bp.response(200, page_of(cs.MpOwnCouponOut, "MpOwnCouponPage"))
def list_coupons(args: dict[str, Any]) -> Page:
    """我的优惠券：可用 / 已使用 / 已过期，有效期至当地时间最后一秒（case #10）"""
    return driver_coupons.own_coupons(current_driver(), **args)


@bp.route("/topup-offers")
@bp.response(200, s.MpTopUpOffersOut)
def topup_offers() -> dict[str, Any]:
    """充值活动：每档赠送的优惠券张数与总面值（case #5 2019-10-28）"""
    return {"items": topups.offers_for(current_driver())}


@bp.route("/topups", methods=["POST"])
@bp.arguments(s.MpTopUpIn)
@bp.response(201, s.MpTopUpStartedOut)
def start_topup(body: dict[str, Any]) -> Any:
    """发起微信支付充值，返回 wx.requestPayment 参数"""
    return topups.start_topup(
        current_driver(), body["amount_fen"], body["offer_id"], body["channel"]
    )


@bp.route("/topups/<string(maxlength=32):out_trade_no>")
@bp.response(200, s.MpTopUpOut)
def get_topup(out_trade_no: str) -> Any:
    """充值结果（支付后轮询）"""
    return topups.own_payment(current_driver(), out_trade_no)


@bp.route("/refunds/refundable")
@bp.response(200, s.MpRefundableOut)
def refundable() -> dict[str, int]:
    """可原路退回的余额（一年内的微信充值）"""
    return {"refundable_fen": refunds.refundable_fen(current_driver())}


@bp.route("/refunds", methods=["GET"])
@bp.arguments(MpPageQuery, location="query")
@bp.response(200, page_of(s.MpRefundOut, "MpRefundPage"))
def list_refunds(args: dict[str, Any]) -> Page:
    """我的退款申请"""
    return refunds.list_own(current_driver(), **args)


@bp.route("/refunds", methods=["POST"])
@bp.arguments(s.MpRefundIn)
@bp.response(201, s.MpRefundOut)
def request_refund(body: dict[str, Any]) -> Any:
    """申请余额退款（默认全部可退余额），审核后原路退回"""
    return refunds.request_refund(current_driver(), body["amount_fen"], body["reason"])


@bp.route(f"/refunds/<{ID}:refund_id>")
@bp.response(200, s.MpRefundOut)
def get_refund(refund_id: int) -> Any:
    """退款申请详情（仅本人）"""
    return refunds.own_request(current_driver(), refund_id)
