"""Refunds of the wallet balance to WeChat Pay, split across the driver's top-ups.

``pending_review → approved → processing → succeeded / failed / rejected``. A refund is
done only when WeChat Pay says so (case #22): the approval first checks that the merchant
of every operator that took the money is configured — without it nothing is marked — then
debits the wallet (one ledger entry) and asks WeChat for one refund per top-up, each with
its own ``out_refund_no``. An answer that may not have arrived leaves the part
"processing" for the reconcile job, which retries with the same number. A failed part is
credited back to the wallet, once. A refunded top-up takes back its coupons (case #4
2019-10-15)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from app.config import setting
from app.db import utcnow
from app.errors import (
    MERCHANT_NOT_CONFIGURED,
    NOTHING_TO_REFUND,
    REASON_REQUIRED,
    REFUND_AMOUNT_INVALID,
    REFUND_IN_PROGRESS,
    REFUND_NOT_FOUND,
    REFUND_STATE_INVALID,
)
from app.extensions import db
from app.ledger import wallet
from app.money import fen_to_yuan_str
from app.notices import outbox
from app.paging import Page, paginate
from app.payments import merchants
from app.payments.models import (
    REFUND_OPEN_STATES,
    RefundPart,
    RefundPartState,
    RefundRequest,
    RefundState,
    TopUpPayment,
    TopUpState,
)
from app.promotions import coupons
from app.tenancy import audit
from app.tenancy.models import Driver, Operator
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import discard, transactional, unit_of_work
from app.wechat import notify, pay
from app.wechat.errors import NotifyError, WeChatPayError
from app.wechat.resources import Refund

log = logging.getLogger(__name__)

REFUND_WINDOW = timedelta(days=365)  # WeChat refuses refunds of older payments

MAX_PARTIAL_REFUNDS = 50  # per payment, WeChat's limit

REFUND_MISMATCH = "WXPAY_NOTIFY_REFUND_MISMATCH"

UNKNOWN_REFUND = "WXPAY_NOTIFY_UNKNOWN_REFUND"

_FINAL_WECHAT = {
    "SUCCESS": RefundPartState.SUCCEEDED,
    "CLOSED": RefundPartState.FAILED,
    "ABNORMAL": RefundPartState.FAILED,
}

# parts that hold a share of their top-up: paid back, or on the way
_RESERVING = (RefundPartState.PENDING, RefundPartState.PROCESSING, RefundPartState.SUCCEEDED)

_WECHAT_REASON = {"CLOSED": "退款关闭", "ABNORMAL": "退款异常（如用户银行卡已注销），请联系客服"}


def _reserved_by_payment(payment_ids: list[int]) -> dict[int, tuple[int, int]]:
    """payment id → (fen refunded or on the way, number of WeChat refunds counted)."""
    rows = db.session.execute(
        select(RefundPart.payment_id, func.sum(RefundPart.amount_fen), func.count())
        .where(
            RefundPart.payment_id.in_(payment_ids),
            RefundPart.state.in_(_RESERVING),
        )
        .group_by(RefundPart.payment_id)
    ).all()
    return {r[0]: (int(r[1] or 0), int(r[2])) for r in rows}


def refundable_payments(
    driver_id: int, now: datetime | None = None
) -> list[tuple[TopUpPayment, int]]:
    """Paid top-ups that can still give money back, newest first, with how much each can."""
    now = now or utcnow()
    payments = list(
        db.session.scalars(
            select(TopUpPayment)
            .where(
                TopUpPayment.driver_id == driver_id,
                TopUpPayment.state == TopUpState.PAID,
                TopUpPayment.paid_at > now - REFUND_WINDOW,
            )
            .order_by(TopUpPayment.paid_at.desc(), TopUpPayment.id.desc())
        )
    )
    reserved = _reserved_by_payment([p.id for p in payments])
    out = []
    for p in payments:
        amount, count = reserved.get(p.id, (0, 0))
        room = p.amount_fen - amount
        if room > 0 and count < MAX_PARTIAL_REFUNDS:
            out.append((p, room))
    return out


def refundable_fen(driver: Driver) -> int:
    balance = wallet.lock_wallet(driver.id).balance_fen
    return min(balance, sum(room for _, room in refundable_payments(driver.id)))


def _coupons_to_keep_back(payment: TopUpPayment) -> int:
    """The value of ``payment``'s coupons already spent that no earlier refund of it kept
    back yet: a refund never gives back what the driver charged with its coupons."""
    kept = db.session.scalar(
        select(func.coalesce(func.sum(RefundPart.coupon_deduction_fen), 0)).where(
            RefundPart.payment_id == payment.id, RefundPart.state.in_(_RESERVING)
        )
    )
    return max(coupons.used_value_of_topup(payment.out_trade_no) - int(kept or 0), 0)


def _new_out_refund_no(request_id: int, seq: int) -> str:
    return f"R{request_id}-{seq}-{secrets.token_hex(4).upper()}"


@transactional
def request_refund(driver: Driver, amount_fen: int | None, reason: str) -> RefundRequest:
    """The driver asks for ``amount_fen`` (default: all it can) back; goes to review."""
    wallet.lock_wallet(driver.id)  # one request at a time per driver
    open_one = db.session.scalar(
        select(RefundRequest.id).where(
            RefundRequest.driver_id == driver.id, RefundRequest.state.in_(REFUND_OPEN_STATES)
        )
    )
    if open_one is not None:
        raise REFUND_IN_PROGRESS(details={"refund_id": open_one})
    available = refundable_fen(driver)
    if available <= 0:
        raise NOTHING_TO_REFUND()
    amount = available if amount_fen is None else amount_fen
    if amount <= 0 or amount > available:
        raise REFUND_AMOUNT_INVALID(
            f"退款金额须在 0.01 至 {fen_to_yuan_str(available)} 元之间",
            details={"refundable_fen": available},
        )
    request = RefundRequest(
        driver_id=driver.id, operator_id=driver.operator_id, amount_fen=amount, reason=reason
    )
    db.session.add(request)
    db.session.flush()
    left = amount
    for seq, (payment, room) in enumerate(refundable_payments(driver.id), start=1):
        if left <= 0:
            break
        share = min(room, left)
        db.session.add(
            RefundPart(
                request_id=request.id, payment_id=payment.id, amount_fen=share,
                coupon_deduction_fen=min(_coupons_to_keep_back(payment), share),
                out_refund_no=_new_out_refund_no(request.id, seq), state=RefundPartState.PENDING,
            )
        )  # fmt: skip
        left -= share
    db.session.flush()
    db.session.refresh(request)
    return request


def list_own(driver: Driver, *, page: int = 1, page_size: int = 20) -> Page:
    stmt = select(RefundRequest).where(RefundRequest.driver_id == driver.id)
    return paginate(stmt.order_by(RefundRequest.id.desc()), page, page_size)


def own_request(driver: Driver, request_id: int) -> RefundRequest:
    request = db.session.get(RefundRequest, request_id)
    if request is None or request.driver_id != driver.id:
        raise REFUND_NOT_FOUND(details={"id": request_id})
    return request


def list_requests(
    actor: Actor,
    *,
    page: int = 1,
    page_size: int = 20,
    state: str | None = None,
    driver_id: int | None = None,
    operator_id: int | None = None,
    phone: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page:
    """Refund requests newest first (:func:`refund_filter`)."""
    stmt = refund_filter(
        actor, state=state, driver_id=driver_id, operator_id=operator_id, phone=phone,
        since=since, until=until,
    )  # fmt: skip
    return paginate(stmt.order_by(RefundRequest.id.desc()), page, page_size)


def refund_filter(
    actor: Actor,
    *,
    state: str | None = None,
    driver_id: int | None = None,
    operator_id: int | None = None,
    phone: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[tuple[RefundRequest]]:
    """The refund review list's one filter (its page and its export), unordered,
    permission checked: ``phone`` every driver with that number (exact), ``since``/``until``
    the time they were asked for."""
    actor.require("refund.read")
    stmt = scoped(select(RefundRequest), RefundRequest.operator_id, actor)
    if phone and phone.strip():
        stmt = stmt.where(
            RefundRequest.driver_id.in_(select(Driver.id).where(Driver.phone == phone.strip()))
        )
    if since is not None:
        stmt = stmt.where(RefundRequest.created_at >= since)
    if until is not None:
        stmt = stmt.where(RefundRequest.created_at < until)
    if state:
        stmt = stmt.where(RefundRequest.state == state)
    if driver_id:
        stmt = stmt.where(RefundRequest.driver_id == driver_id)
    if operator_id:
        stmt = stmt.where(RefundRequest.operator_id == operator_id)
    return stmt


def get_request(actor: Actor, request_id: int) -> RefundRequest:
    actor.require("refund.read")
    return get_scoped(RefundRequest, request_id, actor, what="退款申请")


def merchant_blockers(request: RefundRequest) -> list[dict[str, Any]]:
    """Operators whose merchant cannot refund their share (shown before approval, #22)."""
    seen: dict[int, dict[str, Any]] = {}
    for part in request.parts:
        op = db.session.get(Operator, part.payment.operator_id)
        if op is not None and op.id not in seen and not merchants.merchant_ready(op):
            seen[op.id] = {"operator_id": op.id, "operator": op.name}
    return list(seen.values())


def _lock_request(actor: Actor, request_id: int) -> RefundRequest:
    request = get_scoped(RefundRequest, request_id, actor, what="退款申请")
    db.session.execute(
        select(RefundRequest.id).where(RefundRequest.id == request.id).with_for_update()
    )
    db.session.refresh(request)
    if request.state != RefundState.PENDING_REVIEW:
        raise REFUND_STATE_INVALID(details={"state": request.state})
    return request


def _snapshot(request: RefundRequest) -> dict[str, Any]:
    return {"state": request.state, "amount_fen": request.amount_fen}


@transactional
def reject(actor: Actor, request_id: int, reason: str) -> RefundRequest:
    actor.require("refund.review")
    if not reason.strip():
        raise REASON_REQUIRED("请填写驳回原因")
    request = _lock_request(actor, request_id)
    before = _snapshot(request)
    request.state, request.reject_reason = RefundState.REJECTED, reason.strip()
    request.reviewed_by_id, request.reviewed_at = actor.admin_id, utcnow()
    request.finished_at = request.reviewed_at
    for part in request.parts:
        part.state, part.updated_at = RefundPartState.REJECTED, utcnow()
    audit.record(actor, "refund.reject", "refund", request.id, operator_id=request.operator_id,
                 before=before, after=_snapshot(request), reason=reason)  # fmt: skip
    outbox.refund_result(
        driver_id=request.driver_id, operator_id=request.operator_id, amount_fen=request.amount_fen,
        ref=f"refund:{request.id}", reason=f"退款申请未通过：{reason.strip()}", ok=False,
    )  # fmt: skip
    return request


def approve(actor: Actor, request_id: int) -> RefundRequest:
    """Approve: check every merchant first (#22), debit the wallet, send the refunds (each
    part to WeChat after the approval is committed)."""
    request = _approve(actor, request_id)
    for part in list(request.parts):
        submit_part(part.id)
    db.session.refresh(request)
    return request


@transactional
def _approve(actor: Actor, request_id: int) -> RefundRequest:
    actor.require("refund.review")
    request = _lock_request(actor, request_id)
    blockers = merchant_blockers(request)
    if blockers:
        raise MERCHANT_NOT_CONFIGURED(
            "收款运营商未配置微信支付商户证书，无法退款，请先完成配置",
            details={"operators": blockers},
        )
    before = _snapshot(request)
    wallet.post_entry(
        request.driver_id, -request.amount_fen, "refund", ref_type="refund",
        ref_id=str(request.id), idempotency_key=f"refund:{request.id}",
        actor_type="admin", actor_id=actor.admin_id, note="余额退款（微信原路退回）",
    )  # fmt: skip
    now = utcnow()
    request.state = RefundState.APPROVED
    request.reviewed_by_id, request.reviewed_at = actor.admin_id, now
    for part in request.parts:
        part.state, part.updated_at = RefundPartState.PROCESSING, now
    audit.record(actor, "refund.approve", "refund", request.id, operator_id=request.operator_id,
                 before=before, after=_snapshot(request))  # fmt: skip
    request.state = RefundState.PROCESSING  # the parts go to WeChat once this is committed
    return request


def _lock_part(part_id: int) -> RefundPart | None:
    return db.session.scalar(
        select(RefundPart)
        .where(RefundPart.id == part_id)
        .with_for_update(of=RefundPart)
        .execution_options(populate_existing=True)
    )


def submit_part(part_id: int) -> None:
    """Ask WeChat for one part's refund (again, with the same number); commits."""
    part = db.session.get(RefundPart, part_id)
    if part is None or part.state != RefundPartState.PROCESSING:
        return
    payment = part.payment
    op = db.session.get(Operator, payment.operator_id)
    assert op is not None
    if part.refund_fen == 0:  # the share went entirely to coupons already spent
        with unit_of_work():
            locked = _lock_part(part_id)
            if locked is not None and locked.state == RefundPartState.PROCESSING:
                _finish_part(locked, RefundPartState.SUCCEEDED, "")
        return
    creds = merchants.merchant_credentials(op)
    out_refund_no, amount, total = part.out_refund_no, part.refund_fen, payment.amount_fen
    try:
        answer = pay.create_refund(
            creds, out_refund_no=out_refund_no, refund_fen=amount, total_fen=total,
            transaction_id=payment.transaction_id, reason="钱包余额退款",
            notify_url=merchants.notify_url("refund-notify", creds.mch_id),
            endpoints=merchants.endpoints(),
        )  # fmt: skip
    except WeChatPayError as exc:
        with unit_of_work():
            part = _lock_part(part_id)
            if part is None or part.state != RefundPartState.PROCESSING:
                return
            part.attempts += 1
            part.updated_at = utcnow()
            if exc.outcome_unknown:
                log.warning("refund %s outcome unknown: %s", out_refund_no, exc.code)
                return
            _finish_part(part, RefundPartState.FAILED, f"{exc.code}: {exc.message}")
        return
    with unit_of_work():
        apply_refund_status(part_id, answer)


def apply_refund_status(part_id: int, answer: Refund) -> None:
    """Record what WeChat says of a part; final states finish it (at most once). No commit."""
    part = _lock_part(part_id)
    if part is None:
        return
    part.attempts += 1
    part.updated_at = utcnow()
    if answer.refund_id:
        part.wechat_refund_id = answer.refund_id
    part.wechat_status = answer.status[:16]
    if part.state != RefundPartState.PROCESSING or answer.status not in _FINAL_WECHAT:
        db.session.flush()
        return
    state = _FINAL_WECHAT[answer.status]
    reason = (
        ""
        if state == RefundPartState.SUCCEEDED
        else f"{answer.status}: {_WECHAT_REASON[answer.status]}"
    )
    at = _success_at(answer) if state == RefundPartState.SUCCEEDED else None
    _finish_part(part, state, reason, at=at)


def _success_at(answer: Refund) -> datetime | None:
    """WeChat's success time of a refund (RFC 3339 with an offset), as UTC; None when the
    answer has none or it is unreadable. The statement day of a refund is this moment's."""
    if not answer.success_time:
        return None
    try:
        at = datetime.fromisoformat(answer.success_time)
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo is not None else None


def _finish_part(
    part: RefundPart, state: RefundPartState, reason: str, *, at: datetime | None = None
) -> None:
    """``at``: when the refund ended by WeChat's clock (its success_time), else now."""
    part.state, part.fail_reason, part.finished_at = state, reason[:500], at or utcnow()
    request = part.request
    if state == RefundPartState.SUCCEEDED:
        payment = db.session.scalar(
            select(TopUpPayment).where(TopUpPayment.id == part.payment_id).with_for_update()
        )
        assert payment is not None
        payment.refunded_fen += part.amount_fen
        coupons.revoke_coupons_of_topup(payment.out_trade_no, reason="充值已退款")
    else:
        wallet.post_entry(
            request.driver_id, part.amount_fen, "refund_reversal", ref_type="refund",
            ref_id=str(request.id), idempotency_key=f"refund-back:{part.out_refund_no}",
            note=f"退款失败退回余额：{reason}"[:200],
        )  # fmt: skip
    db.session.flush()
    _settle_request(request)


def _settle_request(request: RefundRequest) -> None:
    db.session.refresh(request)
    if (
        any(p.state == RefundPartState.PROCESSING for p in request.parts)
        or request.state != RefundState.PROCESSING
    ):
        return
    ok = [p for p in request.parts if p.state == RefundPartState.SUCCEEDED]
    failed = [p for p in request.parts if p.state == RefundPartState.FAILED]
    request.succeeded_fen = sum(p.refund_fen for p in ok)  # what reached the driver
    request.finished_at = utcnow()
    request.state = RefundState.FAILED if failed else RefundState.SUCCEEDED
    request.fail_reason = "；".join(p.fail_reason for p in failed)[:500]
    if failed:
        text = f"退款失败：{request.fail_reason}"
        if ok:
            text = f"部分退款成功 {fen_to_yuan_str(request.succeeded_fen)} 元；{text}"
    else:
        text = "退款成功，已原路退回微信"
    outbox.refund_result(
        driver_id=request.driver_id, operator_id=request.operator_id,
        amount_fen=request.succeeded_fen or request.amount_fen, ref=f"refund:{request.id}",
        reason=text[:200], ok=not failed,
    )  # fmt: skip
    db.session.flush()


def handle_refund_notify(
    mch_id: str, headers: Mapping[str, Any] | Any, body: bytes
) -> notify.NotifyReply:
    """``POST /pay/refund-notify/<mch_id>``: verify, apply the part's result once, answer."""
    try:
        op = db.session.scalar(select(Operator).where(Operator.wechat_mch_id == mch_id))
        if op is None or not mch_id:
            raise NotifyError(merchants.UNKNOWN_MERCHANT, "unknown merchant", http_status=404)
        creds = merchants.merchant_credentials(op)
    except (NotifyError, MERCHANT_NOT_CONFIGURED):
        err = NotifyError(merchants.UNKNOWN_MERCHANT, "merchant not configured", http_status=404)
        return notify.reply_for(err)
    try:
        refund = notify.refund_of(notify.verify_refund_notify(headers, body, creds))
        with unit_of_work():
            part = db.session.scalar(
                select(RefundPart).where(RefundPart.out_refund_no == refund.out_refund_no)
            )
            if part is None:
                raise NotifyError(UNKNOWN_REFUND, "no such refund here", http_status=404)
            if part.payment.operator_id != op.id or refund.refund_fen != part.refund_fen:
                raise NotifyError(REFUND_MISMATCH, "refund differs from ours", http_status=400)
            apply_refund_status(part.id, refund)
    except NotifyError as err:
        log.warning("refund notify refused mch_id=%s code=%s", mch_id, err.code)
        return notify.reply_for(err)
    except Exception:
        log.exception("refund notify failed mch_id=%s", mch_id)
        return notify.failure_reply()
    return notify.success_reply()


def reconcile_processing(now: datetime | None = None) -> int:
    """Parts still processing after a while: resend those WeChat never answered (same
    out_refund_no), query the others. Commits per part; returns how many were looked at."""
    now = now or utcnow()
    after = timedelta(minutes=int(setting("REFUND_RECONCILE_AFTER_MINUTES")))
    parts = list(
        db.session.scalars(
            select(RefundPart.id)
            .where(
                RefundPart.state == RefundPartState.PROCESSING, RefundPart.updated_at < now - after
            )
            .order_by(RefundPart.id)
            .limit(200)
        )
    )
    for part_id in parts:
        try:
            _reconcile_part(part_id)
        except Exception:
            discard()
            log.exception("refund reconcile %s failed", part_id)
    return len(parts)


def _reconcile_part(part_id: int) -> None:
    part = db.session.get(RefundPart, part_id)
    if part is None or part.state != RefundPartState.PROCESSING:
        return
    if part.wechat_refund_id is None:
        submit_part(part_id)
        return
    op = db.session.get(Operator, part.payment.operator_id)
    assert op is not None
    try:
        answer = pay.query_refund(
            merchants.merchant_credentials(op), part.out_refund_no, endpoints=merchants.endpoints()
        )
    except WeChatPayError as exc:
        log.warning("refund query %s failed: %s", part.out_refund_no, exc.code)
        with unit_of_work():
            part.updated_at = utcnow()
        return
    with unit_of_work():
        apply_refund_status(part_id, answer)
