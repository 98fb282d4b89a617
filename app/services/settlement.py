"""Settlement: an order's itemised bill, its coupon and its wallet debit, in one transaction.

* The bill is priced by :func:`app.services.pricing.price_session` over the order's meter
  samples and its tariff version snapshot, with the member rate frozen in its
  :class:`OrderTerms`; :func:`live_bill` prices the running order the same way, so the
  price never jumps at the end (cases #7, #18 2020).
* One bill per order (unique ``bills.order_id``). Every later change of what it costs —
  the occupancy fee once the gun is back, a late real record for an estimated bill (case
  #25), an admin correction (case #5 2019-10-14) — is a :class:`BillAdjustment` with the
  next ``seq``, posting the difference to or from the wallet with the idempotency key
  ``settle:{order_id}:{seq}``.
* A wallet that cannot cover a bill pays what it holds and the rest is recorded as
  arrears on the bill (the wallet can never go negative: a database CHECK). The bill is
  never lost; :func:`collect_arrears` takes the rest once the driver tops up.
* YKC piles report their own amounts: they are kept on the bill and compared with ours;
  ours is charged, a difference is flagged (``amount_mismatch``), never trusted silently.

Functions here never commit unless their docstring says so: the callers (the pile event
handler, the jobs, the admin services) own the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select

from app.extensions import db
from app.models import (
    Bill,
    BillAdjustment,
    BillLine,
    ChargeOrder,
    Coupon,
    MeterSampleRecord,
    OccupancySession,
    OrderTerms,
    TariffSegment,
    TariffVersion,
    Wallet,
)
from app.models.base import utcnow
from app.models.charging import ACTIVE_STATES
from app.money import fee_fen
from app.services import charging, coupons, notifications, occupancy, pricing, wallet
from app.services.context import Actor
from app.services.member_pricing import order_terms
from app.services.tariffs import snapshot_of

log = logging.getLogger(__name__)

PRICING_ERRORS = (ValueError, TypeError, pricing.TariffValidationError)
WALLET_REASONS = {
    "settle": "charge",
    "occupancy": "occupancy_fee",
    "late_record": "resettle",
    "settle_retry": "resettle",
    "correction": "correction",
    "arrears": "arrears",
}


# --------------------------------------------------------------------------- pricing


def _snapshots() -> dict[tuple[int, str], pricing.TariffSnapshot]:
    # tariff versions never change once written, so their snapshots are cached per app
    # (per database: a module-level cache served one database's tariff to another's ids)
    cache: dict[tuple[int, str], pricing.TariffSnapshot] = current_app.extensions.setdefault(
        "evop_tariff_snapshots", {}
    )
    return cache


def tariff_snapshot(order: ChargeOrder) -> pricing.TariffSnapshot | None:
    if order.tariff_version_id is None:
        return None
    snapshots = _snapshots()
    key = (order.tariff_version_id, order.timezone)
    cached = snapshots.get(key)
    if cached is not None:
        return cached
    version = db.session.get(TariffVersion, order.tariff_version_id)
    if version is None:
        return None
    snapshot = snapshot_of(version, order.timezone)
    if len(snapshots) > 4096:
        snapshots.clear()
    snapshots[key] = snapshot
    return snapshot


# built once: every live-order estimate runs it (its cache key is computed once)
_SAMPLE_ROWS = (
    select(MeterSampleRecord.at, MeterSampleRecord.energy_wh)
    .where(
        MeterSampleRecord.order_id == bindparam("order_id"),
        MeterSampleRecord.energy_wh.is_not(None),
    )
    .order_by(MeterSampleRecord.at, MeterSampleRecord.id)
)


def _sample_rows(order: ChargeOrder) -> list[tuple[datetime, int]]:
    return [(at, int(wh)) for at, wh in db.session.execute(_SAMPLE_ROWS, {"order_id": order.id})]


def session_start(order: ChargeOrder) -> datetime:
    return order.started_at or order.requested_at


def final_samples(
    order: ChargeOrder, *, end: datetime | None = None, energy_wh: int | None = None
) -> list[pricing.Sample]:
    """The session's meter curve for the final bill: 0 Wh at the start, the samples in
    between (clipped to the final energy, never going down), the final energy at the end.
    Without samples that is the two points start / record."""
    start = session_start(order)
    final_at = end or order.stopped_at or order.energy_ended_at or order.last_meter_at or start
    final_at = max(final_at, start)
    final_wh = (order.energy_wh or 0) if energy_wh is None else energy_wh
    points = [pricing.Sample(start, 0)]
    level = 0
    for at, wh in _sample_rows(order):
        if not start < at < final_at:
            continue
        level = max(level, min(wh, final_wh))
        points.append(pricing.Sample(at, level))
    points.append(pricing.Sample(final_at, final_wh))
    return points


def _live_samples(order: ChargeOrder) -> list[pricing.Sample]:
    """The curve so far: 0 Wh at the start, then every reading (never going down)."""
    start = session_start(order)
    points = [pricing.Sample(start, 0)]
    level = 0
    for at, wh in _sample_rows(order):
        if at <= start:
            continue
        level = max(level, wh)
        points.append(pricing.Sample(at, level))
    if order.last_meter_at is not None and order.last_meter_at > points[-1].at:
        points.append(pricing.Sample(order.last_meter_at, max(level, order.last_meter_wh or 0)))
    return points


def _rate(terms: OrderTerms) -> Decimal | None:
    rate = terms.service_discount_rate
    return None if rate is None else Decimal(rate)


def _price(
    order: ChargeOrder,
    snapshot: pricing.TariffSnapshot,
    terms: OrderTerms,
    *,
    estimated: bool,
    occupancy_fen: int,
    coupon_fen: int = 0,
    end: datetime | None = None,
    energy_wh: int | None = None,
) -> pricing.Bill:
    if estimated:
        # case #25: from the start through the last reading we kept, nothing after it
        samples = _live_samples(order)[1:]
        return pricing.estimate_from_last_meter(
            session_start(order), samples, snapshot, service_discount_rate=_rate(terms),
            occupancy_fen=occupancy_fen, coupon_fen=coupon_fen,
        )  # fmt: skip
    return pricing.price_session(
        final_samples(order, end=end, energy_wh=energy_wh), snapshot,
        service_discount_rate=_rate(terms), occupancy_fen=occupancy_fen, coupon_fen=coupon_fen,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BillPreview:
    """An order's bill as a driver sees it: live while charging, the bill once settled."""

    order_id: int
    final: bool
    estimated: bool
    energy_wh: int
    electricity_fen: int
    service_fen: int
    service_discount_fen: int
    service_discount_rate: Decimal | None
    occupancy_minutes: int
    occupancy_fen: int
    coupon_id: int | None
    coupon_fen: int
    total_fen: int
    lines: tuple[dict[str, Any], ...]


def _line_dict(line: pricing.BillLine | BillLine) -> dict[str, Any]:
    return {
        "segment_start": line.segment_start,
        "segment_end": line.segment_end,
        "tier": line.tier,
        "energy_wh": line.energy_wh,
        "electricity_price": line.electricity_price,
        "service_price": line.service_price,
        "electricity_fen": line.electricity_fen,
        "service_fen": line.service_fen,
        "service_discount_fen": line.service_discount_fen,
    }


def bill_of(order_id: int) -> Bill | None:
    return db.session.scalar(select(Bill).where(Bill.order_id == order_id))


def preview_of_bill(bill: Bill) -> BillPreview:
    return BillPreview(
        order_id=bill.order_id, final=True, estimated=bill.estimated, energy_wh=bill.energy_wh,
        electricity_fen=bill.electricity_fen, service_fen=bill.service_fen,
        service_discount_fen=bill.service_discount_fen,
        service_discount_rate=bill.service_discount_rate,
        occupancy_minutes=bill.occupancy_minutes, occupancy_fen=bill.occupancy_fen,
        coupon_id=bill.coupon_id, coupon_fen=bill.coupon_fen, total_fen=bill.total_fen,
        lines=tuple(_line_dict(line) for line in bill.lines),
    )  # fmt: skip


def live_bill(
    order: ChargeOrder,
    now: datetime | None = None,
    *,
    terms: OrderTerms | None = None,
    has_coupons: bool = True,
) -> BillPreview | None:
    """What the order costs so far, with the member discount, the occupancy fee so far and
    the coupon that would be used; the settled bill once there is one. None when the order
    cannot be priced (no tariff). ``terms``: the order's frozen terms when the caller has
    read them already; ``has_coupons=False``: the caller knows the driver holds no
    available coupon (no need to look). Commits only the order's frozen terms, once."""
    # only settlement writes a bill, and it settles the order in the same transaction: an
    # order still holding its connector has none
    existing = None if order.state in ACTIVE_STATES else bill_of(order.id)
    if existing is not None:
        return preview_of_bill(existing)
    snapshot = tariff_snapshot(order)
    if snapshot is None:
        return None
    moment = now or utcnow()
    if terms is None:
        fresh = db.session.get(OrderTerms, order.id) is None
        terms = order_terms(order)
        if fresh:
            db.session.commit()
    # occupancy starts when energy transfer has ended (occupancy.open_for_order)
    occ = occupancy.live_fee(
        occupancy.session_of(order.id) if order.energy_ended_at is not None else None, moment
    )
    samples = _live_samples(order)
    before = pricing.price_session(
        samples, snapshot, service_discount_rate=_rate(terms), occupancy_fen=occ.fee_fen
    )
    coupon_id, deduction = (
        _coupon_preview(order, terms, before, moment) if has_coupons else (None, 0)
    )
    bill = (
        before
        if not deduction
        else pricing.price_session(
            samples, snapshot, service_discount_rate=_rate(terms),
            occupancy_fen=occ.fee_fen, coupon_fen=deduction,
        )
    )  # fmt: skip
    return BillPreview(
        order_id=order.id, final=False, estimated=False, energy_wh=bill.energy_wh,
        electricity_fen=bill.electricity_fen, service_fen=bill.service_fen,
        service_discount_fen=bill.service_discount_fen,
        service_discount_rate=bill.service_discount_rate,
        occupancy_minutes=occ.billable_minutes, occupancy_fen=bill.occupancy_fen,
        coupon_id=coupon_id, coupon_fen=bill.coupon_fen, total_fen=bill.total_fen,
        lines=tuple(_line_dict(line) for line in bill.lines),
    )  # fmt: skip


def _coupon_preview(
    order: ChargeOrder, terms: OrderTerms, bill: pricing.Bill, at: datetime
) -> tuple[int | None, int]:
    if terms.coupon_choice == "none" or order.station_id is None:
        return None, 0
    options = [coupons.option_of(c) for c in coupons.usable_coupons(order, at)]
    if terms.coupon_choice == "chosen":
        for option in options:
            if option.id == terms.chosen_coupon_id:
                amount = pricing.coupon_deduction(option, bill, order.station_id, now=at)
                if amount > 0:
                    return int(option.id), amount
    best = pricing.choose_default_coupon(options, bill, order.station_id, at)
    if best is None:
        return None, 0
    return int(best.id), pricing.coupon_deduction(best, bill, order.station_id, now=at)


# --------------------------------------------------------------------------- settlement


def _lock_order(order: ChargeOrder) -> None:
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


def _int_amount(amounts: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = amounts.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _compare_pile_amounts(order: ChargeOrder, row: Bill) -> None:
    """Keep the pile's own amounts and flag any difference from ours (YKC records)."""
    amounts = order.pile_amounts or {}
    if not amounts:
        row.amount_mismatch = False
        return
    tolerance = int(current_app.config.get("AMOUNT_MISMATCH_TOLERANCE_FEN", 0))
    row.pile_electricity_fen = _int_amount(amounts, "electricity_fen")
    row.pile_service_fen = _int_amount(amounts, "service_fen")
    row.pile_total_fen = _int_amount(amounts, "total_fen", "total")
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
    for tier in pricing.TIERS:  # YKC: the amount of each rate period
        pile_tier = _int_amount(amounts, tier, f"{tier}_fen")
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
            notifications.refund_result(
                driver_id=order.driver_id, operator_id=order.operator_id, amount_fen=give_back,
                ref=key, reason=reason, order_id=order.id,
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
    _lock_order(order)
    existing = bill_of(order.id)
    if existing is not None:
        amend_bill(order, "late_record" if order.late_record else "settle_retry", now=now)
        return existing
    snapshot = tariff_snapshot(order)
    if snapshot is None:
        order.abnormal_reason = order.abnormal_reason or "no_tariff"
        return None
    moment = now or utcnow()
    terms = order_terms(order)
    occ = occupancy.open_for_order(order)
    occ_fee = occ.fee_fen if occ is not None and occ.ended_at is not None else 0
    before = _price(order, snapshot, terms, estimated=estimated, occupancy_fen=occ_fee)
    coupon, deduction = coupons.pick_for_settlement(order, terms, before, moment)
    priced = (
        _price(order, snapshot, terms, estimated=estimated, occupancy_fen=occ_fee,
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
        coupons.mark_used(coupon, order, priced.coupon_fen, moment)
    _compare_pile_amounts(order, row)
    _post(order, row, "settle", total_before=0, total_after=row.total_fen)
    if occ is not None and occ.ended_at is not None:
        occ.charged_at = moment
    order.state = "settled"
    order.total_fen = row.total_fen
    if estimated:
        order.abnormal_reason = order.abnormal_reason or "estimated"
    notifications.charge_finished(order, row)
    db.session.flush()
    log.info(
        "order settled",
        extra={"order_no": order.order_no, "total_fen": row.total_fen,
               "estimated": estimated, "arrears_fen": row.arrears_fen},
    )  # fmt: skip
    return row


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
    _lock_order(order)
    row = bill_of(order.id)
    if row is None:
        return None
    snapshot = tariff_snapshot(order)
    if snapshot is None:  # pragma: no cover - a settled order had one
        return None
    moment = now or utcnow()
    terms = order_terms(order)
    occ = occupancy.session_of(order.id)
    occ_fee = occ.fee_fen if occ is not None and occ.ended_at is not None else 0
    estimated = row.estimated and order.final_record_at is None and reason != "correction"
    before = _price(order, snapshot, terms, estimated=estimated, occupancy_fen=occ_fee)
    coupon = db.session.get(Coupon, row.coupon_id) if row.coupon_id else None
    deduction = 0
    if coupon is not None and order.station_id is not None:
        deduction = pricing.coupon_deduction(
            coupons.option_of(coupon), before, order.station_id, now=row.settled_at
        )
    priced = (
        _price(order, snapshot, terms, estimated=estimated, occupancy_fen=occ_fee,
               coupon_fen=deduction)
        if deduction
        else before
    )  # fmt: skip
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
        coupons.release(coupon, moment)
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


# --------------------------------------------------------------------------- hooks


def on_order_finished(order: ChargeOrder) -> Bill | None:
    """Called by the pile event handler once a stop record has been applied (no commit:
    the handler commits once, then acknowledges). A finished order is settled; a settled
    one that got a late or different record is re-settled (case #25).

    Inside a savepoint: whatever goes wrong here, the record itself is still committed
    (persist before acknowledge, records are never refused); the order stays ``finished``
    with ``settlement_failed`` and the lost-bill job retries it.
    """
    if order.state not in ("finished", "settled"):
        return None
    try:
        with db.session.begin_nested():
            if order.state == "settled":
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


def on_gun_returned(connector_id: int, at: datetime) -> int:
    """Called by the pile event handler when a connector reports its gun back: occupancy
    on it ends and is charged; no commit (savepoint per occupancy, as above). Returns how
    many occupancies were closed."""
    closed = 0
    for occ_id in db.session.scalars(
        select(OccupancySession.id).where(
            OccupancySession.connector_id == connector_id, OccupancySession.ended_at.is_(None)
        )
    ).all():
        try:
            with db.session.begin_nested():
                if close_occupancy(occ_id, at, "gun_returned"):
                    closed += 1
        except Exception:  # the status must survive; the occupancy job retries
            log.exception("closing occupancy failed", extra={"occupancy_id": occ_id})
    return closed


def close_occupancy(occ_id: int, end: datetime, reason: str) -> bool:
    """End one occupancy at ``end`` and add its fee to the order's bill; no commit.
    False when it had been closed already."""
    occ = db.session.get(OccupancySession, occ_id)
    if occ is None:
        return False
    order = db.session.get(ChargeOrder, occ.order_id)
    if order is None:  # pragma: no cover - foreign key
        return False
    _lock_order(order)
    db.session.refresh(occ, with_for_update=True)
    if occ.ended_at is not None:
        return False
    if reason == "gun_returned" and order.gun_returned_at is not None:
        end = min(end, order.gun_returned_at)
    occupancy.close(occ, end, reason)
    if bill_of(order.id) is not None:
        amend_bill(order, "occupancy")
    db.session.flush()
    return True


# --------------------------------------------------------------------------- balances


def lock_owing_orders(driver_id: int) -> list[int]:
    """Row-lock the orders whose bills the driver still owes on, by id; returns their ids.
    The lock order everywhere is order, coupon, wallet: whoever will hold the wallet while
    collecting arrears (a top-up being credited) takes these first, or it would deadlock
    with a settlement or correction of one of them waiting for the wallet."""
    ids = list(
        db.session.scalars(
            select(Bill.order_id)
            .where(Bill.driver_id == driver_id, Bill.arrears_fen > 0)
            .order_by(Bill.order_id)
        )
    )
    if ids:
        db.session.execute(
            select(ChargeOrder.id)
            .where(ChargeOrder.id.in_(ids))
            .order_by(ChargeOrder.id)
            .with_for_update()
        )
    return ids


def collect_arrears(driver_id: int, locked_order_ids: list[int] | None = None) -> int:
    """Take what a driver still owes on earlier bills from the wallet, oldest first; no
    commit. ``locked_order_ids``: the orders :func:`lock_owing_orders` locked before the
    caller locked the wallet (only those are collected); by default they are locked here,
    all before the wallet. Returns the fen collected."""
    order_ids = lock_owing_orders(driver_id) if locked_order_ids is None else locked_order_ids
    if not order_ids:
        return 0
    bills = list(
        db.session.scalars(
            select(Bill)
            .where(Bill.order_id.in_(order_ids), Bill.arrears_fen > 0)
            .order_by(Bill.id)
            .execution_options(populate_existing=True)
        )
    )
    collected = 0
    for row in bills:
        balance = wallet.lock_wallet(driver_id).balance_fen
        pay = min(balance, row.arrears_fen)
        if pay <= 0:
            break
        seq = row.adjustment_count + 1
        posting = wallet.post_entry(
            driver_id, -pay, WALLET_REASONS["arrears"], ref_type="order", ref_id=row.order_no,
            idempotency_key=f"settle:{row.order_id}:{seq}", note="补扣欠款",
        )  # fmt: skip
        row.arrears_fen -= pay
        row.paid_fen += pay
        row.adjustment_count = seq
        db.session.add(
            BillAdjustment(
                bill_id=row.id, seq=seq, reason="arrears", total_before_fen=row.total_fen,
                total_after_fen=row.total_fen, wallet_amount_fen=-pay,
                arrears_after_fen=row.arrears_fen, wallet_entry_id=posting.entry.id,
            )
        )  # fmt: skip
        collected += pay
    db.session.flush()
    return collected


def collect_all_arrears() -> int:
    """The arrears job: every driver who owes something and has money; commits per driver."""
    drivers = db.session.scalars(
        select(Bill.driver_id)
        .join(Wallet, Wallet.driver_id == Bill.driver_id)
        .where(Bill.arrears_fen > 0, Wallet.balance_fen > 0)
        .distinct()
    ).all()
    total = 0
    for driver_id in drivers:
        if driver_id is None:
            continue
        total += collect_arrears(driver_id)
        db.session.commit()
    return total


def outstanding_arrears_fen(driver_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Bill.arrears_fen), 0)).where(Bill.driver_id == driver_id)
        )
        or 0
    )


# margin for per-line rounding in the cheap upper bound below (fen)
_BOUND_MARGIN_FEN = 100


def guard_balances(now: datetime | None = None) -> list[str]:
    """The balance job: stop every charging order whose running cost has reached the
    driver's balance, through the pile port. Cheap first: an upper bound from the energy
    and the tariff's highest prices; only orders near their balance are priced exactly.
    Commits; returns the order numbers asked to stop."""
    moment = now or utcnow()
    rows = db.session.execute(
        select(ChargeOrder, Wallet.balance_fen)
        .join(Wallet, Wallet.driver_id == ChargeOrder.driver_id)
        .where(ChargeOrder.state == "charging")
    ).all()
    if not rows:
        return []
    versions = {order.tariff_version_id for order, _ in rows if order.tariff_version_id}
    highest = {
        version_id: (Decimal(e), Decimal(s))
        for version_id, e, s in db.session.execute(
            select(
                TariffSegment.version_id,
                func.max(TariffSegment.electricity_price),
                func.max(TariffSegment.service_price),
            )
            .where(TariffSegment.version_id.in_(versions))
            .group_by(TariffSegment.version_id)
        )
    }
    stopped: list[str] = []
    for order, balance in rows:
        prices = highest.get(order.tariff_version_id or -1)
        if prices is None:
            continue
        energy = max(order.energy_wh or 0, 0)
        bound = fee_fen(energy, prices[0]) + fee_fen(energy, prices[1])
        if bound + _BOUND_MARGIN_FEN < balance:
            continue
        try:
            preview = live_bill(order, moment)
        except PRICING_ERRORS:
            log.exception("cannot price running order", extra={"order_no": order.order_no})
            continue
        if preview is None or preview.total_fen < balance:
            continue
        result = charging.request_stop(order, by="balance")
        log.info(
            "running cost reached the balance: stop requested",
            extra={"order_no": order.order_no, "cost_fen": preview.total_fen,
                   "balance_fen": balance, "outcome": result.outcome.value},
        )  # fmt: skip
        if result.ok:
            stopped.append(order.order_no)
    db.session.commit()
    return stopped
