"""The charge order's state machine: every change of ``ChargeOrder.state`` happens here, one
function per transition, each checking the states it may come from (DESIGN.md, "The
charging session").

    created → starting → charging → stopping → finished → settled
                  ↓  ↖______late start______↙                 ↑
                failed        (stopping → settled: estimated, case #25)
    abnormal: a record that matched no session, kept for review

A pile going offline or rebooting is no transition at all: only end-of-charge evidence (a
stop record, or a status that says the gun is out) moves a session on. Functions here
never commit: the unit of work of the caller does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update

from app.charging.models import SUPERSEDED, ChargeOrder, OrderState
from app.db import utcnow
from app.errors import ORDER_STATE_CONFLICT
from app.extensions import db

S = OrderState

# (from-states, to-state) of every transition; the table test walks it
TRANSITIONS: dict[str, tuple[frozenset[OrderState], OrderState]] = {
    "start_failed": (frozenset({S.STARTING}), S.FAILED),
    "start_confirmed": (frozenset({S.STARTING, S.FAILED}), S.CHARGING),
    "evidence_without_record": (frozenset({S.STARTING, S.CHARGING}), S.STOPPING),
    "stop_accepted": (frozenset({S.STARTING, S.CHARGING}), S.STOPPING),
    "record_received": (frozenset(OrderState) - {S.SETTLED}, S.FINISHED),
    "bill_settled": (frozenset({S.FINISHED, S.STOPPING}), S.SETTLED),
}
# states an order starts its life in, by how it came to be
OPENED = {"remote": S.STARTING, "at_pile": S.CHARGING, "orphan_record": S.ABNORMAL}
# what a driver may still stop
STOPPABLE = TRANSITIONS["stop_accepted"][0]


def _move(order: ChargeOrder, transition: str) -> None:
    sources, target = TRANSITIONS[transition]
    if order.state not in sources:
        raise ORDER_STATE_CONFLICT(
            details={"order_no": order.order_no, "state": order.state, "transition": transition}
        )
    order.state = target


def open_order(how: str, **fields: Any) -> ChargeOrder:
    """A new order in the state its origin gives it (``OPENED``); added, not flushed."""
    order = ChargeOrder(state=OPENED[how], **fields)
    db.session.add(order)
    return order


def start_failed(order: ChargeOrder, reason: str) -> None:
    """The pile refused or never confirmed the start: the connector is free again."""
    _move(order, "start_failed")
    order.failure_reason = reason[:200]


def start_confirmed(order: ChargeOrder, at: datetime) -> None:
    """The pile says the session runs (its start record, or a first meter value). A failed
    order that starts after all (a late success reply) lives again, flagged for review."""
    if order.state == S.FAILED:
        order.abnormal_reason = order.abnormal_reason or "late_start"
        order.failure_reason = ""
    _move(order, "start_confirmed")
    order.started_at = order.started_at or at


def evidence_without_record(order: ChargeOrder, at: datetime) -> None:
    """The gun is out but no stop record came (case #25): await it, never settle now."""
    _move(order, "evidence_without_record")
    order.awaiting_record_since = at
    order.energy_ended_at = order.energy_ended_at or at


def superseded(order: ChargeOrder, at: datetime) -> None:
    """The pile began another session on this order's connector: this one has ended on the
    pile, whatever record of it was lost. A start still awaited failed; a running session
    awaits its record from the evidence at hand (its last meter value), billed as estimated
    by the lost-bill job if no record comes; either way it is flagged for review."""
    if order.state == S.STARTING:
        start_failed(order, "superseded")
    elif order.state == S.CHARGING:
        evidence_without_record(order, at)
    order.abnormal_reason = order.abnormal_reason or SUPERSEDED


def stop_accepted(order_id: int, by: str, at: datetime | None = None) -> None:
    """The pile accepted a stop: the order awaits its record. Conditional, set-based: the
    pile's record may have finished the order meanwhile (it raced the answer), and then
    this changes nothing."""
    sources, target = TRANSITIONS["stop_accepted"]
    db.session.execute(
        update(ChargeOrder)
        .where(ChargeOrder.id == order_id, ChargeOrder.state.in_(sources))
        .values(
            state=target,
            awaiting_record_since=func.coalesce(ChargeOrder.awaiting_record_since, at or utcnow()),
        )
    )
    db.session.execute(
        update(ChargeOrder)
        .where(ChargeOrder.id == order_id, ChargeOrder.stop_requested_by == "")
        .values(stop_requested_by=by)
    )


def record_received(order: ChargeOrder) -> None:
    """The pile's final record has been applied: the order is finished (a settled order
    stays settled; its bill is amended instead)."""
    if order.state != S.SETTLED:
        _move(order, "record_received")


def settled(order: ChargeOrder, total_fen: int) -> None:
    """The bill is written and paid for (from ``stopping``: estimated, case #25)."""
    _move(order, "bill_settled")
    order.total_fen = total_fen


# what a refused transition raises (409): the order was changed meanwhile (the pile's record
# came first, say)
IllegalTransition = ORDER_STATE_CONFLICT
