"""Settlement: an order's itemised bill, its coupon and its wallet debit, in one transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

import app.pricing as pricing
from app.billing import (
    bill_notices,
    coupon_use,
    occupancy,
    plausibility,
)
from app.billing.bills import bill_of, price_order, tariff_snapshot
from app.billing.models import Bill, BillAdjustment, BillLine, OccupancySession
from app.charging import session
from app.charging.models import (
    CLOSED_STATES,
    HELD_FOR_REVIEW,
    ROAMING,
    ChargeOrder,
    OrderState,
    OrderTerms,
)
from app.charging.port import PileAmounts
from app.charging.terms import freeze_terms
from app.config import setting
from app.db import utcnow
from app.extensions import db
from app.ledger import wallet
from app.notices import outbox
from app.promotions import coupons
from app.promotions.models import Coupon
from app.tenancy.scope import Actor


def locked_order(order_id: int) -> ChargeOrder | None:
    return db.session.scalar(
        select(ChargeOrder)
        .where(ChargeOrder.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


log = logging.getLogger(__name__)

WALLET_REASONS = {
    "settle": "charge",
    "occupancy": "occupancy_fee",
    "late_record": "resettle",
    "settle_retry": "resettle",
    "correction": "correction",
    "arrears": "arrears",
}


# what a driver reads when a bill gives money back, by why it changed (issue 14: never
# the internal word, never "退款成功": it is a difference credited to the wallet)
GIVE_BACK_WORDS = {
    "correction": "订单已更正，差额已退回钱包",
    "late_record": "按充电桩账单重新结算，差额已退回钱包",
    "settle_retry": "账单重新结算，差额已退回钱包",
    "occupancy": "占位费重新计算，差额已退回钱包",
}


def lock_order(order: ChargeOrder) -> None:
    """Row-lock the order (PostgreSQL; SQLite serialises writers): settlements, amendments
    and corrections of one order run one after another. Lock order: order, coupon, wallet."""
    db.session.execute(select(ChargeOrder.id).where(ChargeOrder.id == order.id).with_for_update())


def _write_lines(row: Bill, priced: pricing.Bill) -> None:
    if row.lines:
        row.lines.clear()
        db.session.flush()  # old lines go before the new ones arrive
    for position, line in enumerate(priced.lines):
        row.lines.append(
            BillLine(
                position=position, segment_start=line.segment_start,
                segment_end=line.segment_end, tier=line.tier, energy_wh=line.energy_wh,
                electricity_price=line.electricity_price, service_price=line.service_price,
                electricity_fen=line.electricity_fen, service_fen=line.service_fen,
                service_discount_fen=line.service_discount_fen,
            )
        )  # fmt: skip


def _fill(row: Bill, priced: pricing.Bill, occ: OccupancySession | None) -> None:
    row.energy_wh = priced.energy_wh
    row.electricity_fen = priced.electricity_fen
    row.service_fen = priced.service_fen
    row.service_discount_fen = priced.service_discount_fen
    row.occupancy_fen = priced.occupancy_fen
    row.occupancy_minutes = occ.billable_minutes if occ is not None else 0
    row.coupon_fen = priced.coupon_fen
    row.total_fen = priced.total_fen
    row.estimated = priced.estimated
    row.started_at = priced.started_at
    row.ended_at = priced.ended_at
    _write_lines(row, priced)


def _compare_pile_amounts(order: ChargeOrder, row: Bill) -> None:
    """Keep the pile's own amounts and flag any difference from ours (piles that price
    sessions themselves report them in their records)."""
    amounts = PileAmounts.from_json(order.pile_amounts)
    if amounts is None:
        row.amount_mismatch = False
        return
    tolerance = int(setting("AMOUNT_MISMATCH_TOLERANCE_FEN"))
    row.pile_electricity_fen = amounts.electricity_fen
    row.pile_service_fen = amounts.service_fen
    row.pile_total_fen = amounts.total_fen
    # the pile knows the tariff, not the member discount or coupons: compare list prices
    ours = {
        "electricity": row.electricity_fen,
        "service": row.service_fen,
        "total": row.electricity_fen + row.service_fen,
    }
    theirs = {
        "electricity": row.pile_electricity_fen,
        "service": row.pile_service_fen,
        "total": row.pile_total_fen,
    }
    for tier in pricing.TIERS:  # the amount of each rate period
        pile_tier = amounts.per_tier_fen.get(tier)
        if pile_tier is not None:
            theirs[tier] = pile_tier
            ours[tier] = sum(
                line.electricity_fen + line.service_fen for line in row.lines if line.tier == tier
            )
    row.amount_mismatch = any(
        value is not None and abs(value - ours[key]) > tolerance for key, value in theirs.items()
    )
    if row.amount_mismatch:
        order.abnormal_reason = order.abnormal_reason or "amount_mismatch"
        log.warning(
            "pile amounts differ from the bill",
            extra={"order_no": order.order_no, "ours": ours, "pile": theirs},
        )


def _post(
    order: ChargeOrder,
    row: Bill,
    reason: str,
    *,
    total_before: int,
    total_after: int,
    actor: Actor | None = None,
    note: str = "",
) -> BillAdjustment:
    """Move the difference between what the bill costs now and what it cost before to or
    from the wallet (arrears first), as adjustment ``seq`` = previous + 1."""
    seq = row.adjustment_count + 1
    delta = total_after - total_before
    amount = 0
    entry_id: int | None = None
    key = f"settle:{order.id}:{seq}"
    actor_type = "admin" if actor is not None and actor.admin_id else "system"
    actor_id = actor.admin_id if actor is not None else None
    if delta > 0 and order.driver_id is not None:
        balance = wallet.lock_wallet(order.driver_id).balance_fen
        pay = min(balance, delta)
        if pay > 0:
            posting = wallet.post_entry(
                order.driver_id, -pay, WALLET_REASONS[reason], ref_type="order",
                ref_id=order.order_no, idempotency_key=key, actor_type=actor_type,
                actor_id=actor_id, note=note[:200],
            )  # fmt: skip
            amount, entry_id = -pay, posting.entry.id
        row.arrears_fen += delta - pay
    elif delta > 0 and order.start_method == ROAMING:
        pass  # a partner's driver: the partner pays by its statement (T/CEC 102 对账)
    elif delta > 0:  # nobody to charge: kept as arrears for the operator to chase
        row.arrears_fen += delta
    elif delta < 0:
        give_back = -delta
        from_arrears = min(row.arrears_fen, give_back)
        row.arrears_fen -= from_arrears
        give_back -= from_arrears
        if give_back > 0 and order.driver_id is not None:
            posting = wallet.post_entry(
                order.driver_id, give_back, WALLET_REASONS[reason], ref_type="order",
                ref_id=order.order_no, idempotency_key=key, actor_type=actor_type,
                actor_id=actor_id, note=note[:200],
            )  # fmt: skip
            amount, entry_id = give_back, posting.entry.id
            outbox.refund_result(
                driver_id=order.driver_id, operator_id=order.operator_id, amount_fen=give_back,
                ref=key, reason=GIVE_BACK_WORDS.get(reason, "账单重算，差额已退回钱包"),
                order_id=order.id, phrase="补退差额",
            )  # fmt: skip
    row.paid_fen -= amount
    row.adjustment_count = seq
    adjustment = BillAdjustment(
        bill_id=row.id, seq=seq, reason=reason, total_before_fen=total_before,
        total_after_fen=total_after, wallet_amount_fen=amount, arrears_after_fen=row.arrears_fen,
        wallet_entry_id=entry_id, actor_type=actor_type, actor_id=actor_id, note=note[:200],
    )  # fmt: skip
    db.session.add(adjustment)
    return adjustment


def settle_order(
    order: ChargeOrder, *, estimated: bool = False, now: datetime | None = None
) -> Bill | None:
    """Write the order's bill, use its coupon and debit the wallet; no commit.

    A second call amends the existing bill instead (never a second bill or debit). None
    when the order cannot be priced (no tariff: flagged ``no_tariff``).
    """
    lock_order(order)
    existing = bill_of(order.id)
    if existing is not None:
        amend_bill(order, "late_record" if order.late_record else "settle_retry", now=now)
        return existing
    snapshot = tariff_snapshot(order)
    if snapshot is None:
        order.abnormal_reason = order.abnormal_reason or "no_tariff"
        return None
    moment = now or utcnow()
    terms = freeze_terms(order)
    occ = occupancy.open_for_order(order)
    occ_fee = occ.fee_fen if occ is not None and occ.ended_at is not None else 0
    before = price_order(order, snapshot, terms, estimated=estimated, occupancy_fen=occ_fee)
    coupon, deduction = coupon_use.pick_for_settlement(order, terms, before, moment)
    priced = (
        price_order(order, snapshot, terms, estimated=estimated, occupancy_fen=occ_fee,
               coupon_fen=deduction)
        if deduction
        else before
    )  # fmt: skip
    row = Bill(
        order_id=order.id, order_no=order.order_no, operator_id=order.operator_id,
        station_id=order.station_id, driver_id=order.driver_id,
        tariff_version_id=order.tariff_version_id, pricing_group=terms.pricing_group,
        service_discount_rate=terms.service_discount_rate, settled_at=moment,
        coupon_id=coupon.id if coupon is not None and priced.coupon_fen else None,
    )  # fmt: skip
    db.session.add(row)
    _fill(row, priced, occ)
    db.session.flush()  # the unique order_id: a concurrent settlement fails here
    if coupon is not None and priced.coupon_fen:
        coupon_use.mark_used(coupon, order, priced.coupon_fen, moment)
    _compare_pile_amounts(order, row)
    _post(order, row, "settle", total_before=0, total_after=row.total_fen)
    if occ is not None and occ.ended_at is not None:
        occ.charged_at = moment
    session.settled(order, row.total_fen)
    if estimated:
        order.abnormal_reason = order.abnormal_reason or "estimated"
    bill_notices.charge_finished(order, row)
    db.session.flush()
    log.info(
        "order settled",
        extra={"order_no": order.order_no, "total_fen": row.total_fen,
               "estimated": estimated, "arrears_fen": row.arrears_fen},
    )  # fmt: skip
    return row


def reprice(
    order: ChargeOrder,
    row: Bill,
    terms: OrderTerms,
    *,
    estimated: bool,
    occupancy_fen: int,
    end: datetime | None = None,
    energy_wh: int | None = None,
) -> pricing.Bill | None:
    """A settled order priced again from what is known now (or with ``end`` and
    ``energy_wh`` instead), with the coupon of its first settlement; writes nothing. None
    without a tariff."""
    snapshot = tariff_snapshot(order)
    if snapshot is None:
        return None
    kw = {"estimated": estimated, "occupancy_fen": occupancy_fen, "end": end,
          "energy_wh": energy_wh}  # fmt: skip
    before = price_order(order, snapshot, terms, **kw)  # type: ignore[arg-type]
    coupon = db.session.get(Coupon, row.coupon_id) if row.coupon_id else None
    deduction = 0
    if coupon is not None and order.station_id is not None:
        deduction = pricing.coupon_deduction(
            coupons.option_of(coupon), before, order.station_id, now=row.settled_at
        )
    if not deduction:
        return before
    return price_order(order, snapshot, terms, coupon_fen=deduction, **kw)  # type: ignore[arg-type]


def amend_bill(
    order: ChargeOrder,
    reason: str,
    *,
    actor: Actor | None = None,
    note: str = "",
    now: datetime | None = None,
) -> BillAdjustment | None:
    """Re-price a settled order from what is known now (final record, energy, end time,
    occupancy) and post the difference; no commit. The coupon and member rate stay those
    of the first settlement. None when nothing changed."""
    lock_order(order)
    row = bill_of(order.id)
    if row is None:
        return None
    moment = now or utcnow()
    terms = freeze_terms(order)
    occ = occupancy.session_of(order.id)
    occ_fee = occ.fee_fen if occ is not None and occ.ended_at is not None else 0
    estimated = row.estimated and order.final_record_at is None and reason != "correction"
    priced = reprice(order, row, terms, estimated=estimated, occupancy_fen=occ_fee)
    if priced is None:  # pragma: no cover - a settled order had a tariff
        return None
    coupon = db.session.get(Coupon, row.coupon_id) if row.coupon_id else None
    unchanged = (
        priced.total_fen == row.total_fen
        and priced.energy_wh == row.energy_wh
        and priced.estimated == row.estimated
        and priced.occupancy_fen == row.occupancy_fen
        and priced.coupon_fen == row.coupon_fen
    )
    if unchanged:
        return None
    if coupon is not None and not priced.coupon_fen:
        coupon_use.release(coupon, moment)
        row.coupon_id = None
    elif coupon is not None:
        coupon.used_amount_fen = priced.coupon_fen
    total_before = row.total_fen
    _fill(row, priced, occ)
    db.session.flush()
    if occ is not None and occ.ended_at is not None:
        occ.charged_at = moment
    _compare_pile_amounts(order, row)
    adjustment = _post(
        order, row, reason, total_before=total_before, total_after=row.total_fen,
        actor=actor, note=note,
    )  # fmt: skip
    order.total_fen = row.total_fen
    db.session.flush()
    log.info(
        "bill amended",
        extra={"order_no": order.order_no, "reason": reason,
               "total_before_fen": adjustment.total_before_fen,
               "total_fen": row.total_fen, "wallet_fen": adjustment.wallet_amount_fen},
    )  # fmt: skip
    return adjustment


def held_for_review(order: ChargeOrder) -> bool:
    """True when the order's energy cannot be believed (unreadable, implausible): it is
    kept with ``HELD_FOR_REVIEW`` and nothing is debited (or amended) until an operator
    decides. A settled order that gets an implausible late record keeps its bill."""
    if order.abnormal_reason == HELD_FOR_REVIEW:
        return True
    doubt = plausibility.energy_doubt(order)
    if doubt is None:
        return False
    order.abnormal_reason = HELD_FOR_REVIEW
    log.warning(
        "implausible energy: order held for review",
        extra={"order_no": order.order_no, "energy_wh": order.energy_wh, "doubt": doubt},
    )
    return True


def on_order_finished(order: ChargeOrder) -> Bill | None:
    """Called by the pile event handler once a stop record has been applied (no commit:
    the handler commits once, then acknowledges). A finished order is settled; a settled
    one that got a late or different record is re-settled (case #25).

    Inside a savepoint: whatever goes wrong here, the record itself is still committed
    (persist before acknowledge, records are never refused); the order stays ``finished``
    with ``settlement_failed`` and the lost-bill job retries it.
    """
    if order.state not in CLOSED_STATES:
        return None
    if held_for_review(order):
        return None
    try:
        with db.session.begin_nested():
            if order.state == OrderState.SETTLED:
                if order.late_record:
                    amend_bill(order, "late_record")
                return bill_of(order.id)
            return settle_order(order)
    except Exception as err:  # the record must survive any settlement problem
        order.abnormal_reason = order.abnormal_reason or "settlement_failed"
        log.exception(
            "settlement failed; order kept for review",
            extra={"order_no": order.order_no, "error": str(err)},
        )
        return None
