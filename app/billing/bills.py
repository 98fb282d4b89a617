"""An order's bill, priced from its meter samples and its tariff version: live while it runs,
the settled bill once there is one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select

import app.pricing as pricing
from app.billing import coupon_use, occupancy
from app.billing.models import Bill, BillLine
from app.catalogue.models import TariffVersion
from app.catalogue.tariffs import snapshot_of
from app.charging.models import ACTIVE_STATES, ChargeOrder, MeterSampleRecord, OrderTerms
from app.charging.terms import terms_of
from app.db import utcnow
from app.extensions import db
from app.promotions import coupons
from app.promotions.models import Coupon
from app.state import Slot, part

PRICING_ERRORS = (ValueError, TypeError, pricing.TariffValidationError)

# tariff versions never change once written, so their snapshots are cached per application
# (per database: a module-level cache served one database's tariff to another's ids)
TARIFF_SNAPSHOTS: Slot[dict[tuple[int, str], pricing.TariffSnapshot]] = Slot("tariff snapshots")


def tariff_snapshot(order: ChargeOrder) -> pricing.TariffSnapshot | None:
    if order.tariff_version_id is None:
        return None
    snapshots = part(TARIFF_SNAPSHOTS)
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


def price_order(
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
    available coupon (no need to look). Reads only."""
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
        terms = terms_of(order)
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


def coupon_refusals(
    order: ChargeOrder, candidates: list[Coupon], at: datetime
) -> dict[int, pricing.CouponRefusal | None]:
    """Per coupon, why it does not apply to this order's bill as it stands (None: it
    applies), by the same rule the deduction uses (:func:`pricing.coupon_refusal`)."""
    snapshot = tariff_snapshot(order)
    if snapshot is None or order.station_id is None:
        return {}
    terms = terms_of(order)
    occ = occupancy.live_fee(
        occupancy.session_of(order.id) if order.energy_ended_at is not None else None, at
    )
    before = pricing.price_session(
        _live_samples(order), snapshot, service_discount_rate=_rate(terms),
        occupancy_fen=occ.fee_fen,
    )  # fmt: skip
    return {
        c.id: pricing.coupon_refusal(coupons.option_of(c), before, order.station_id, now=at)
        for c in candidates
    }


def _coupon_preview(
    order: ChargeOrder, terms: OrderTerms, bill: pricing.Bill, at: datetime
) -> tuple[int | None, int]:
    if terms.coupon_choice == "none" or order.station_id is None:
        return None, 0
    options = [coupons.option_of(c) for c in coupon_use.usable_coupons(order, at)]
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
