"""Occupancy (占位) fees: the station's policy, each order's occupancy time, the fee.

The clock starts when energy transfer ends and stops at the first of: the gun returned,
a new order on that connector, a new order by the same driver at the same station (case
#5 2019-10-14), or ``OCCUPANCY_MAX_HOURS`` (closed for review). A station without a
policy charges nothing and sends no notice (case #19). Time while the pile is offline or
the connector faulted is not charged, and such orders are flagged for review. The fee
itself is :func:`app.pricing.occupancy_fee_fen` (case #5: 90 free minutes, then
682 × 0.10 = 68.20 yuan)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from app.billing.models import OccupancyPolicy, OccupancySession
from app.catalogue.models import FaultRecord, PileOnlinePeriod, Station
from app.charging.models import ChargeOrder
from app.config import setting
from app.db import utcnow
from app.errors import (
    OCCUPANCY_CAP_INVALID,
    OCCUPANCY_GRACE_INVALID,
    OCCUPANCY_PRICE_INVALID,
)
from app.extensions import db
from app.money import parse_unit_price
from app.pricing import OccupancyPolicy as PricingPolicy
from app.pricing import idle_minutes, occupancy_fee_applies, occupancy_fee_fen
from app.tenancy import audit
from app.tenancy.scope import Actor, get_scoped
from app.uow import transactional

POLICY_READ = "tariff.read"

POLICY_WRITE = "tariff.write"

Interval = tuple[datetime, datetime]


def policy_for_station(station_id: int | None) -> OccupancyPolicy | None:
    """The station's policy if it charges anything; None means no fee and no notice."""
    if station_id is None:
        return None
    row = db.session.scalar(
        select(OccupancyPolicy).where(
            OccupancyPolicy.station_id == station_id, OccupancyPolicy.is_active.is_(True)
        )
    )
    if row is None or not occupancy_fee_applies(as_pricing_policy(row)):
        return None
    return row


def as_pricing_policy(row: OccupancyPolicy | OccupancySession) -> PricingPolicy:
    return PricingPolicy(row.grace_minutes, Decimal(row.price_per_minute), row.cap_fen)


def get_policy(actor: Actor, station_id: int) -> OccupancyPolicy | None:
    actor.require(POLICY_READ)
    get_scoped(Station, station_id, actor, what="站点")
    return db.session.scalar(
        select(OccupancyPolicy).where(
            OccupancyPolicy.station_id == station_id, OccupancyPolicy.is_active.is_(True)
        )
    )


def _policy_view(row: OccupancyPolicy | None) -> dict[str, object] | None:
    if row is None or not row.is_active:
        return None
    return {
        "grace_minutes": row.grace_minutes,
        "price_per_minute": str(row.price_per_minute),
        "cap_fen": row.cap_fen,
    }


@transactional
def set_policy(
    actor: Actor,
    station_id: int,
    *,
    grace_minutes: int,
    price_per_minute: Decimal | str,
    cap_fen: int | None = None,
    reason: str = "",
) -> OccupancyPolicy:
    """Set a station's occupancy fee (audited: it is a price). Orders whose occupancy
    already began keep the policy they began with."""
    actor.require(POLICY_WRITE)
    station = get_scoped(Station, station_id, actor, what="站点")
    try:
        price = parse_unit_price(price_per_minute)
    except (TypeError, ValueError):
        raise OCCUPANCY_PRICE_INVALID(
            details={"price_per_minute": [str(price_per_minute)]}
        ) from None
    if isinstance(grace_minutes, bool) or not isinstance(grace_minutes, int) or grace_minutes < 0:
        raise OCCUPANCY_GRACE_INVALID()
    if cap_fen is not None and (isinstance(cap_fen, bool) or cap_fen < 0):
        raise OCCUPANCY_CAP_INVALID()
    row = db.session.scalar(select(OccupancyPolicy).where(OccupancyPolicy.station_id == station.id))
    before = _policy_view(row)
    if row is None:
        row = OccupancyPolicy(station_id=station.id)
        db.session.add(row)
    row.grace_minutes = grace_minutes
    row.price_per_minute = price
    row.cap_fen = cap_fen
    row.is_active = True
    row.updated_by_id = actor.admin_id
    db.session.flush()
    audit.record(
        actor,
        "occupancy_policy.set",
        "station",
        station.id,
        operator_id=station.operator_id,
        before=before,
        after=_policy_view(row),
        reason=reason,
    )
    return row


@transactional
def remove_policy(actor: Actor, station_id: int, *, reason: str = "") -> None:
    """The station stops charging occupancy fees (and stops telling drivers about them)."""
    actor.require(POLICY_WRITE)
    station = get_scoped(Station, station_id, actor, what="站点")
    row = db.session.scalar(select(OccupancyPolicy).where(OccupancyPolicy.station_id == station.id))
    if row is None or not row.is_active:
        return
    before = _policy_view(row)
    row.is_active = False
    audit.record(
        actor,
        "occupancy_policy.remove",
        "station",
        station.id,
        operator_id=station.operator_id,
        before=before,
        after=None,
        reason=reason,
    )


def _cfg_int(name: str, default: int) -> int:
    return int(setting(name))


def session_of(order_id: int) -> OccupancySession | None:
    return db.session.scalar(select(OccupancySession).where(OccupancySession.order_id == order_id))


def open_for_order(order: ChargeOrder) -> OccupancySession | None:
    """The order's occupancy session, opened when energy transfer has ended at a station
    with a policy (closed at once when its end is already known); no commit."""
    existing = session_of(order.id)
    if existing is not None:
        return existing
    if order.energy_ended_at is None or order.connector_id is None:
        return None
    policy = policy_for_station(order.station_id)
    if policy is None:  # case #19: no policy, no fee, no notice
        return None
    lead = timedelta(minutes=_cfg_int("OCCUPANCY_REMINDER_LEAD_MINUTES", 10))
    started = order.energy_ended_at
    occ = OccupancySession(
        order_id=order.id,
        operator_id=order.operator_id,
        station_id=policy.station_id,
        pile_id=order.pile_id,
        connector_id=order.connector_id,
        driver_id=order.driver_id,
        grace_minutes=policy.grace_minutes,
        price_per_minute=policy.price_per_minute,
        cap_fen=policy.cap_fen,
        started_at=started,
        remind_at=max(started, started + timedelta(minutes=policy.grace_minutes) - lead),
    )
    db.session.add(occ)
    db.session.flush()
    ends = candidate_ends(OccupancySession.id == occ.id, utcnow())
    if occ.id in ends:
        end, reason = ends[occ.id]
        close(occ, end, reason)
    return occ


@dataclass(frozen=True, slots=True)
class OccupancyFee:
    billable_minutes: int
    excluded_minutes: int
    fee_fen: int
    review_reason: str  # "" | pile_offline | pile_faulted


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _subtract(base: list[Interval], cuts: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in base:
        cursor = a
        for c, d in cuts:
            if d <= cursor or c >= b:
                continue
            if c > cursor:
                out.append((cursor, c))
            cursor = max(cursor, d)
        if cursor < b:
            out.append((cursor, b))
    return out


def _total(intervals: list[Interval]) -> timedelta:
    return sum((b - a for a, b in intervals), timedelta(0))


def compute_fee(occ: OccupancySession, end: datetime) -> OccupancyFee:
    """The fee for ``[occ.started_at, end)`` without the time the pile was offline or the
    connector faulted (the platform cannot know the car was still there)."""
    start = occ.started_at
    end = max(end, start)
    window = [(start, end)]
    periods = db.session.execute(
        select(PileOnlinePeriod.online_at, PileOnlinePeriod.offline_at).where(
            PileOnlinePeriod.pile_id == occ.pile_id,
            PileOnlinePeriod.online_at < end,
            or_(PileOnlinePeriod.offline_at.is_(None), PileOnlinePeriod.offline_at > start),
        )
    ).all()
    known = periods or db.session.scalar(
        select(PileOnlinePeriod.id).where(PileOnlinePeriod.pile_id == occ.pile_id).limit(1)
    )
    # a pile with no connection history at all gives no evidence of being offline
    online = _merge([(a, b or end) for a, b in periods]) if known else window
    online = _subtract(window, _subtract(window, online))  # clip to the window
    connector_number = db.session.scalar(
        select(ChargeOrder.connector_number).where(ChargeOrder.id == occ.order_id)
    )
    faults = db.session.execute(
        select(FaultRecord.started_at, FaultRecord.ended_at).where(
            FaultRecord.pile_id == occ.pile_id,
            or_(
                FaultRecord.connector_number.is_(None),
                FaultRecord.connector_number == connector_number,
            ),
            FaultRecord.started_at < end,
            or_(FaultRecord.ended_at.is_(None), FaultRecord.ended_at > start),
        )
    ).all()
    fault_spans = _merge([(a, b or end) for a, b in faults])
    billable = _subtract(online, fault_spans)
    billable_time = _total(billable)
    minutes = idle_minutes(start, start + billable_time)
    all_minutes = idle_minutes(start, end)
    review = ""
    if _total(online) < end - start:
        review = "pile_offline"
    elif billable_time < _total(online):
        review = "pile_faulted"
    fee = occupancy_fee_fen(minutes, occ.grace_minutes, Decimal(occ.price_per_minute), occ.cap_fen)
    return OccupancyFee(minutes, max(0, all_minutes - minutes), fee, review)


def close(occ: OccupancySession, end: datetime, reason: str) -> OccupancySession:
    """End the occupancy at ``end`` and fix its fee; no commit (the caller charges it)."""
    fee = compute_fee(occ, end)
    occ.ended_at = max(end, occ.started_at)
    occ.end_reason = reason
    occ.billable_minutes = fee.billable_minutes
    occ.excluded_minutes = fee.excluded_minutes
    occ.fee_fen = fee.fee_fen
    if reason == "max_duration":
        occ.review_reason = "max_duration"
    else:
        occ.review_reason = fee.review_reason
    return occ


def reopen_until(occ: OccupancySession, end: datetime, reason: str) -> OccupancySession:
    """Move an occupancy's end (an admin correction, case #5 2019-10-14); no commit."""
    return close(occ, end, reason)


def live_fee(occ: OccupancySession | None, now: datetime) -> OccupancyFee:
    if occ is None:
        return OccupancyFee(0, 0, 0, "")
    if occ.ended_at is not None:
        return OccupancyFee(
            occ.billable_minutes, occ.excluded_minutes, occ.fee_fen, occ.review_reason
        )
    return compute_fee(occ, now)


# the ends the platform found itself, which earlier evidence arriving later may move
# (an operator's correction is never moved)
FOUND_ENDS = ("gun_returned", "new_order_on_connector", "new_order_by_driver", "max_duration")


def candidate_ends(
    scope: ColumnElement[bool], now: datetime, *, closed_too: bool = False
) -> dict[int, tuple[datetime, str]]:
    """For open sessions in ``scope``: the first known end and why (set-based). With
    ``closed_too``, sessions the platform closed itself are looked at as well (the caller
    keeps the ends earlier than theirs: case #5 2019-10-14, whatever order the evidence
    came in)."""
    if closed_too:
        open_ = and_(
            or_(
                OccupancySession.ended_at.is_(None),
                OccupancySession.end_reason.in_(FOUND_ENDS),
            ),
            scope,
        )
    else:
        open_ = and_(OccupancySession.ended_at.is_(None), scope)
    newer = aliased(ChargeOrder)
    max_age = timedelta(hours=_cfg_int("OCCUPANCY_MAX_HOURS", 24))
    occ = OccupancySession
    gun = (
        select(
            occ.id.label("occ_id"),
            occ.started_at.label("started_at"),
            ChargeOrder.gun_returned_at.label("end_at"),
            literal("gun_returned").label("reason"),
        )
        .join(ChargeOrder, ChargeOrder.id == occ.order_id)
        .where(open_, ChargeOrder.gun_returned_at.is_not(None))
    )
    on_connector = (
        select(
            occ.id, occ.started_at, func.min(newer.requested_at), literal("new_order_on_connector")
        )
        .join(newer, and_(newer.connector_id == occ.connector_id, newer.id > occ.order_id))
        .where(open_)
        .group_by(occ.id, occ.started_at)
    )
    by_driver = (
        select(occ.id, occ.started_at, func.min(newer.requested_at), literal("new_order_by_driver"))
        .join(
            newer,
            and_(
                newer.driver_id == occ.driver_id,
                newer.station_id == occ.station_id,
                newer.id > occ.order_id,
            ),
        )
        .where(open_)
        .group_by(occ.id, occ.started_at)
    )
    too_long = select(occ.id, occ.started_at, occ.started_at, literal("max_duration")).where(
        open_, occ.started_at <= now - max_age
    )
    rows: list[Any] = list(db.session.execute(union_all(gun, on_connector, by_driver, too_long)))
    best: dict[int, tuple[datetime, str]] = {}
    for occ_id, started_at, end_at, reason in rows:
        if end_at is None:
            continue
        if reason == "max_duration":
            end_at = end_at + max_age
        end_at = max(end_at, started_at)
        if occ_id not in best or end_at < best[occ_id][0]:
            best[occ_id] = (end_at, reason)
    return best
