"""Occupancy ending and charged: the gun returned, the minute job, reminders."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    and_,
    func,
    insert,
    select,
    true,
    update,
)

from app.billing import occupancy
from app.billing.bills import bill_of
from app.billing.models import (
    OccupancySession,
)
from app.billing.occupancy import candidate_ends
from app.billing.settlement import amend_bill, lock_order
from app.catalogue.models import (
    Pile,
)
from app.charging.models import ChargeOrder
from app.config import setting
from app.db import utcnow
from app.extensions import db
from app.money import fen_to_yuan_str
from app.notices.models import OutboxMessage, OutboxStatus
from app.uow import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AccrualResult:
    open_sessions: int
    closed: int
    reminders: int

    @property
    def did_something(self) -> bool:
        return bool(self.closed or self.reminders)  # open ones were open before


def accrue_occupancy(now: datetime | None = None) -> AccrualResult:
    """The occupancy job: close the sessions whose end is now known and charge them, and
    send the one reminder before the free minutes run out (only where a policy exists,
    never while the pile is offline: cases #19, #18 2019, #15). Safe to re-run."""
    moment = now or utcnow()
    ends = candidate_ends(true(), moment)
    closed = 0
    for occ_id, (end, reason) in sorted(ends.items()):
        with unit_of_work():  # one occupancy each: a failing one never costs the others
            if close_occupancy(occ_id, end, reason):
                closed += 1
    for occ_id, (end, reason) in sorted(_earlier_ends(moment).items()):
        with unit_of_work():
            if move_end_earlier(occ_id, end, reason):
                closed += 1
    with unit_of_work():
        reminders = _send_reminders(moment)
    open_count = db.session.scalar(
        select(func.count(OccupancySession.id)).where(OccupancySession.ended_at.is_(None))
    )
    return AccrualResult(int(open_count or 0), closed, reminders)


def _send_reminders(now: datetime) -> int:
    due = db.session.execute(
        select(
            OccupancySession.id,
            OccupancySession.order_id,
            OccupancySession.operator_id,
            OccupancySession.driver_id,
            OccupancySession.started_at,
            OccupancySession.grace_minutes,
            OccupancySession.price_per_minute,
            OccupancySession.cap_fen,
            ChargeOrder.order_no,
            ChargeOrder.timezone,
        )
        .join(Pile, Pile.id == OccupancySession.pile_id)
        .join(ChargeOrder, ChargeOrder.id == OccupancySession.order_id)
        .where(
            OccupancySession.ended_at.is_(None),
            OccupancySession.reminded_at.is_(None),
            OccupancySession.remind_at <= now,
            OccupancySession.driver_id.is_not(None),
            Pile.online.is_(True),
        )
    ).all()
    if not due:
        return 0
    keys = {row.order_id: f"occupancy_reminder:{row.order_id}" for row in due}
    existing = set(
        db.session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys.values()))
        )
    )
    rows = []
    for r in due:
        if keys[r.order_id] in existing:
            continue
        free_until = r.started_at + timedelta(minutes=r.grace_minutes)
        rows.append(
            {"kind": "occupancy_reminder", "dedupe_key": keys[r.order_id],
             "operator_id": r.operator_id, "driver_id": r.driver_id, "order_id": r.order_id,
             "status": OutboxStatus.PENDING, "attempts": 0, "created_at": now,
             "payload": {"order_no": r.order_no, "free_until": free_until.isoformat(),
                         "timezone": r.timezone,
                         "grace_minutes": r.grace_minutes,
                         "price_per_minute": str(r.price_per_minute),
                         "cap_yuan": None if r.cap_fen is None else fen_to_yuan_str(r.cap_fen)}}
        )  # fmt: skip
    if rows:
        db.session.execute(insert(OutboxMessage), rows)
    db.session.execute(
        update(OccupancySession)
        .where(OccupancySession.id.in_([r.id for r in due]))
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(rows)


def on_gun_returned(connector_id: int, at: datetime) -> int:
    """Called by the pile event handler when a connector reports its gun back: occupancy
    on it ends and is charged; no commit (savepoint per occupancy, as above). Returns how
    many occupancies were closed."""
    closed = 0
    # the earliest known end wins (case #5 2019-10-14): the driver may have started
    # another order before the gun came back, and the minute job not have run since
    ends = candidate_ends(OccupancySession.connector_id == connector_id, at)
    for occ_id in db.session.scalars(
        select(OccupancySession.id).where(
            OccupancySession.connector_id == connector_id, OccupancySession.ended_at.is_(None)
        )
    ).all():
        end, reason = ends.get(occ_id, (at, "gun_returned"))
        try:
            with db.session.begin_nested():
                if close_occupancy(occ_id, min(end, at), reason):
                    closed += 1
        except Exception:  # the status must survive; the occupancy job retries
            log.exception("closing occupancy failed", extra={"occupancy_id": occ_id})
    return closed


def _earlier_ends(now: datetime) -> dict[int, tuple[datetime, str]]:
    """Occupancies the platform closed itself (in the last ``OCCUPANCY_MAX_HOURS``) for
    which earlier evidence has come since: a start record the pile had buffered, a gun
    return it reported late."""
    since = now - timedelta(hours=int(setting("OCCUPANCY_MAX_HOURS")))
    scope = and_(
        OccupancySession.ended_at.is_not(None),
        OccupancySession.ended_at > since,
        OccupancySession.end_reason.in_(occupancy.FOUND_ENDS),
    )
    ends = candidate_ends(scope, now, closed_too=True)
    if not ends:
        return {}
    closed_at: dict[int, datetime | None] = {
        row.id: row.ended_at
        for row in db.session.execute(
            select(OccupancySession.id, OccupancySession.ended_at).where(
                OccupancySession.id.in_(list(ends))
            )
        )
    }
    out: dict[int, tuple[datetime, str]] = {}
    for occ_id, found in ends.items():
        ended = closed_at.get(occ_id)
        if ended is not None and found[0] < ended:
            out[occ_id] = found
    return out


def move_end_earlier(occ_id: int, end: datetime, reason: str) -> bool:
    """An occupancy the platform closed ends earlier after all: its fee is recomputed and
    the bill amended (the difference goes back to the wallet); no commit."""
    occ = db.session.get(OccupancySession, occ_id)
    if occ is None:
        return False
    order = db.session.get(ChargeOrder, occ.order_id)
    if order is None:  # pragma: no cover - foreign key
        return False
    lock_order(order)
    db.session.refresh(occ, with_for_update=True)
    if occ.ended_at is None or occ.end_reason not in occupancy.FOUND_ENDS or end >= occ.ended_at:
        return False
    before = occ.fee_fen
    occupancy.close(occ, end, reason)
    if bill_of(order.id) is not None:
        amend_bill(order, "occupancy")
    db.session.flush()
    log.info(
        "occupancy ends earlier: earlier evidence came later",
        extra={"order_no": order.order_no, "reason": reason, "fee_before_fen": before,
               "fee_fen": occ.fee_fen},
    )  # fmt: skip
    return True


def close_occupancy(occ_id: int, end: datetime, reason: str) -> bool:
    """End one occupancy at ``end`` and add its fee to the order's bill; no commit.
    False when it had been closed already."""
    occ = db.session.get(OccupancySession, occ_id)
    if occ is None:
        return False
    order = db.session.get(ChargeOrder, occ.order_id)
    if order is None:  # pragma: no cover - foreign key
        return False
    lock_order(order)
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
