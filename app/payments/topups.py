"""Wallet top-ups through WeChat Pay v3 (JSAPI): the order, the pay notify, the catch-up.

The money is taken by the merchant of the driver's sub-operator. A payment credits the
wallet exactly once, keyed by WeChat's transaction id (``wxpay:<transaction_id>``), in
the same transaction as the payment's state, the offer's coupons and the arrears it pays
(DESIGN.md, data rules). The notify and the reconcile job share :func:`apply_paid`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.billing import arrears
from app.billing.models import Bill
from app.config import setting
from app.db import utcnow
from app.errors import (
    DRIVER_NO_OPENID,
    MERCHANT_NOT_CONFIGURED,
    TOPUP_AMOUNT_INVALID,
    TOPUP_NOT_FOUND,
    TOPUP_OFFER_NOT_FOUND,
    TOPUP_OFFER_NOT_REACHED,
    WECHATPAY_UNAVAILABLE,
)
from app.extensions import db
from app.ledger import wallet
from app.ledger.models import Wallet, WalletEntry
from app.money import fen_to_yuan_str
from app.paging import Page, paginate
from app.payments.merchants import (
    UNKNOWN_MERCHANT,
    _operator_by_mch,
    endpoints,
    merchant_credentials,
    notify_url,
    refresh_for_unknown_serial,
)
from app.payments.models import TopUpPayment, TopUpState
from app.promotions import coupons
from app.promotions.models import TopUpOffer
from app.tenancy.models import Driver, Operator
from app.uow import discard, unit_of_work
from app.wechat import notify, pay
from app.wechat.errors import NotifyError, WeChatPayError
from app.wechat.resources import Transaction

log = logging.getLogger(__name__)

UNKNOWN_PAYMENT = "WXPAY_NOTIFY_UNKNOWN_PAYMENT"

AMOUNT_MISMATCH = "WXPAY_NOTIFY_AMOUNT_MISMATCH"

PAYMENT_MISMATCH = "WXPAY_NOTIFY_PAYMENT_MISMATCH"


@dataclass(frozen=True, slots=True)
class WalletView:
    balance_fen: int
    arrears_fen: int

    @property
    def balance_yuan(self) -> str:
        return fen_to_yuan_str(self.balance_fen)

    @property
    def arrears_yuan(self) -> str:
        return fen_to_yuan_str(self.arrears_fen)


def wallet_of(driver: Driver) -> WalletView:
    arrears = db.session.scalar(
        select(func.coalesce(func.sum(Bill.arrears_fen), 0)).where(
            Bill.driver_id == driver.id, Bill.arrears_fen > 0
        )
    )
    return WalletView(wallet.balance_of(driver.id), int(arrears or 0))


def own_entries(driver: Driver, *, page: int = 1, page_size: int = 20) -> Page:
    stmt = select(WalletEntry).join(Wallet, Wallet.id == WalletEntry.wallet_id)
    stmt = stmt.where(Wallet.driver_id == driver.id).order_by(WalletEntry.id.desc())
    return paginate(stmt, page, page_size)


def offers_for(driver: Driver) -> list[coupons.OfferSummary]:
    return coupons.topup_offers(driver.operator_id)


@dataclass(frozen=True, slots=True)
class TopUpStarted:
    payment: TopUpPayment
    request_payment: dict[str, str]


def _new_out_trade_no() -> str:
    return "T" + utcnow().strftime("%Y%m%d%H%M%S") + secrets.token_hex(6).upper()


def _check_offer(driver: Driver, offer_id: int | None, amount_fen: int) -> TopUpOffer | None:
    if offer_id is None:
        return None
    offer = db.session.get(TopUpOffer, offer_id)
    now = utcnow()
    if (
        offer is None
        or offer.operator_id != driver.operator_id
        or not offer.is_active
        or (offer.starts_at is not None and offer.starts_at > now)
        or (offer.ends_at is not None and offer.ends_at <= now)
    ):
        raise TOPUP_OFFER_NOT_FOUND()
    if amount_fen < offer.min_topup_fen:
        raise TOPUP_OFFER_NOT_REACHED(
            f"充值满 {fen_to_yuan_str(offer.min_topup_fen)} 元才能参加该活动",
            details={"min_topup_fen": offer.min_topup_fen},
        )
    return offer


# where the driver pays: the mini-program, or the official account's H5 pages (JSAPI in
# WeChat's browser: the account's app id, bound to the merchant, and the openid under it)
CHANNELS = ("miniprogram", "official_account")


def start_topup(
    driver: Driver, amount_fen: int, offer_id: int | None = None, channel: str = "miniprogram"
) -> TopUpStarted:
    """Place the JSAPI order with the sub-operator's merchant; ``wx.requestPayment`` args
    (the same for ``WeixinJSBridge`` ``getBrandWCPayRequest`` in the H5 pages)."""
    low, high = int(setting("TOPUP_MIN_FEN")), int(setting("TOPUP_MAX_FEN"))
    if not low <= amount_fen <= high:
        raise TOPUP_AMOUNT_INVALID(
            f"充值金额须在 {fen_to_yuan_str(low)} 至 {fen_to_yuan_str(high)} 元之间",
            details={"min_fen": low, "max_fen": high},
        )
    op = db.session.get(Operator, driver.operator_id)
    assert op is not None
    creds = merchant_credentials(op)
    openid = driver.openid
    if channel == "official_account":
        openid = driver.oa_openid
        creds = replace(creds, app_id=op.wechat_oa_app_id)
    if not openid or not creds.app_id:
        raise DRIVER_NO_OPENID()
    offer = _check_offer(driver, offer_id, amount_fen)
    with unit_of_work():  # the payment exists before WeChat hears of it
        payment = TopUpPayment(
            out_trade_no=_new_out_trade_no(), driver_id=driver.id, operator_id=op.id,
            mch_id=creds.mch_id, app_id=creds.app_id, amount_fen=amount_fen,
            offer_id=offer.id if offer else None, state=TopUpState.CREATED,
        )  # fmt: skip
        db.session.add(payment)
    expire = payment.created_at + timedelta(minutes=int(setting("TOPUP_EXPIRE_MINUTES")))
    try:
        prepay_id = pay.jsapi_prepay(
            creds, payment.out_trade_no, amount_fen, openid,
            f"{op.name}-钱包充值", notify_url("notify", creds.mch_id),
            time_expire=expire, endpoints=endpoints(),
        )  # fmt: skip
    except WeChatPayError as exc:
        log.warning("jsapi prepay %s failed: %s", payment.out_trade_no, exc.code)
        raise WECHATPAY_UNAVAILABLE(details={"wechat_code": exc.code}) from None
    with unit_of_work():
        payment.prepay_id = prepay_id
    return TopUpStarted(payment, pay.request_payment_params(creds, prepay_id))


def own_payment(driver: Driver, out_trade_no: str) -> TopUpPayment:
    payment = db.session.scalar(
        select(TopUpPayment).where(TopUpPayment.out_trade_no == out_trade_no)
    )
    if payment is None or payment.driver_id != driver.id:
        raise TOPUP_NOT_FOUND()
    return payment


def _lock_payment(out_trade_no: str) -> TopUpPayment | None:
    return db.session.scalar(
        select(TopUpPayment)
        .where(TopUpPayment.out_trade_no == out_trade_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _paid_at(tx: Transaction) -> datetime:
    if tx.success_time:
        try:
            return datetime.fromisoformat(tx.success_time)
        except ValueError:
            pass
    return utcnow()


def apply_paid(op: Operator, tx: Transaction) -> bool:
    """Credit a paid transaction of ``op``'s merchant at most once; no commit.

    Checks merchant, app and amount against our payment record; a mismatch raises
    :class:`NotifyError` and changes nothing. Returns True when this call credited.
    """
    if not tx.paid or not tx.transaction_id:
        raise NotifyError(PAYMENT_MISMATCH, "transaction is not paid", http_status=400)
    payment = _lock_payment(tx.out_trade_no)
    if payment is None:
        raise NotifyError(UNKNOWN_PAYMENT, "no such payment here", http_status=404)
    if payment.operator_id != op.id or tx.mch_id != payment.mch_id:
        raise NotifyError(notify.MERCHANT_MISMATCH, "payment of another merchant", http_status=400)
    if tx.app_id != payment.app_id:
        raise NotifyError(notify.MERCHANT_MISMATCH, "payment of another app", http_status=400)
    if tx.total_fen != payment.amount_fen:
        raise NotifyError(AMOUNT_MISMATCH, "amount differs from the order", http_status=400)
    if payment.state == TopUpState.PAID:
        if payment.transaction_id != tx.transaction_id:
            raise NotifyError(PAYMENT_MISMATCH, "paid under another transaction", http_status=400)
        return False
    # the orders owing arrears before the wallet: the lock order of settlement.py
    owing = arrears.lock_owing_orders(payment.driver_id)
    # a "closed" payment that WeChat says is paid was paid before the close took: credit it
    posting = wallet.post_entry(
        payment.driver_id, payment.amount_fen, "topup", ref_type="payment",
        ref_id=payment.out_trade_no, idempotency_key=f"wxpay:{tx.transaction_id}",
        note="微信支付充值",
    )  # fmt: skip
    payment.state = TopUpState.PAID
    payment.transaction_id = tx.transaction_id
    payment.paid_at = _paid_at(tx)
    payment.closed_at = None
    if posting.applied:
        coupons.grant_for_topup(payment.driver_id, payment.out_trade_no, payment.amount_fen)
        arrears.collect_arrears(payment.driver_id, owing)
    db.session.flush()
    return posting.applied


def handle_pay_notify(
    mch_id: str, headers: Mapping[str, Any] | Any, body: bytes
) -> notify.NotifyReply:
    """``POST /pay/notify/<mch_id>``: verify with that merchant, credit once, answer WeChat."""
    try:
        op = _operator_by_mch(mch_id)
        creds = merchant_credentials(op)
    except MERCHANT_NOT_CONFIGURED:
        return notify.reply_for(
            NotifyError(UNKNOWN_MERCHANT, "merchant not configured", http_status=404)
        )
    except NotifyError as err:
        return notify.reply_for(err)
    try:
        try:
            verified = notify.verify_pay_notify(headers, body, creds)
        except NotifyError as err:
            if err.code != notify.UNKNOWN_SERIAL or not refresh_for_unknown_serial(op.id):
                raise
            creds = merchant_credentials(op)  # WeChat rotated its certificate: try again
            verified = notify.verify_pay_notify(headers, body, creds)
        tx = notify.payment_of(verified)
        with unit_of_work():
            credited = apply_paid(op, tx)
    except NotifyError as err:
        log.warning("pay notify refused mch_id=%s code=%s", mch_id, err.code)
        return notify.reply_for(err)
    except Exception:
        log.exception("pay notify failed mch_id=%s", mch_id)
        return notify.failure_reply()
    log.info("pay notify %s credited=%s", tx.out_trade_no, credited)
    return notify.success_reply()


def reconcile_pending(now: datetime | None = None) -> int:
    """Payments still "created" after a while: ask WeChat, credit the paid ones, close the
    expired ones. Commits per payment; returns how many changed."""
    now = now or utcnow()
    after = timedelta(minutes=int(setting("TOPUP_RECONCILE_AFTER_MINUTES")))
    expire = timedelta(minutes=int(setting("TOPUP_EXPIRE_MINUTES")))
    ids = list(
        db.session.scalars(
            select(TopUpPayment.id)
            .where(TopUpPayment.state == TopUpState.CREATED, TopUpPayment.created_at < now - after)
            .order_by(TopUpPayment.id)
            .limit(200)
        )
    )
    changed = 0
    for payment_id in ids:
        try:
            changed += _reconcile_one(payment_id, now, expire)
        except Exception:
            discard()
            log.exception("topup reconcile %s failed", payment_id)
    return changed


def _reconcile_one(payment_id: int, now: datetime, expire: timedelta) -> int:
    payment = db.session.get(TopUpPayment, payment_id)
    if payment is None or payment.state != TopUpState.CREATED:
        return 0
    op = db.session.get(Operator, payment.operator_id)
    assert op is not None
    try:
        creds = merchant_credentials(op)
    except MERCHANT_NOT_CONFIGURED:
        log.warning("topup reconcile %s: merchant of operator %s not configured", payment_id, op.id)
        return 0
    try:
        tx = pay.query_by_out_trade_no(creds, payment.out_trade_no, endpoints=endpoints())
    except WeChatPayError as exc:
        if exc.code != "ORDER_NOT_EXIST" or payment.created_at > now - expire:
            return 0
        tx = None
    if tx is not None and tx.paid:
        with unit_of_work():
            return int(apply_paid(op, tx))
    if tx is not None and tx.trade_state not in ("CLOSED", "REVOKED", "PAYERROR"):
        if payment.created_at > now - expire:
            return 0
        try:
            pay.close_order(creds, payment.out_trade_no, endpoints=endpoints())
        except WeChatPayError as exc:
            log.warning("close %s failed: %s", payment.out_trade_no, exc.code)
            return 0
    with unit_of_work():
        payment = _lock_payment(payment.out_trade_no)
        if payment is None or payment.state != TopUpState.CREATED:
            return 0
        payment.state, payment.closed_at = TopUpState.CLOSED, now
        return 1
