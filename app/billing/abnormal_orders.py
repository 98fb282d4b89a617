"""Abnormal orders for the console, and the watchdogs that find them.

An order needs review when its bill was estimated (case #25), the pile's amounts differ
from ours, the pile was offline during it (cases #18 2019, #15), its start failed or timed
out, its record matched no session, a record came late, its settlement failed, occupancy
could not be charged in full, or the wallet could not cover the bill. Listing is scoped
to the actor's sub-operator and paged on the server."""

from __future__ import annotations

import enum
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, or_, select

from app.billing.models import Bill, BillAdjustment, OccupancySession
from app.charging.models import (
    HELD_FOR_REVIEW,
    SUPERSEDED,
    ChargeOrder,
    OrderState,
    PileClockSkew,
)
from app.errors import ABNORMAL_KIND_INVALID
from app.extensions import db
from app.paging import Page, paginate
from app.tenancy.scope import Actor, get_scoped, scoped

log = logging.getLogger(__name__)

ORDER_READ = "order.read"


class ReviewKind(enum.StrEnum):
    """Why an order is in the abnormal-orders queue (the console's filter)."""

    ESTIMATED = "estimated"  # case #25: the final record never came
    AMOUNT_MISMATCH = "amount_mismatch"  # the pile's own amounts differ from ours
    OFFLINE = "offline"  # the pile was offline during the session (cases #18 2019, #15)
    FAILED = "failed"  # the start was refused or timed out
    UNKNOWN_SESSION = "unknown_session"  # a record that matched no session
    LATE_RECORD = "late_record"
    SETTLEMENT_FAILED = "settlement_failed"
    NO_TARIFF = "no_tariff"
    ARREARS = "arrears"  # the wallet could not cover the bill
    OCCUPANCY_REVIEW = "occupancy_review"
    IMPLAUSIBLE_ENERGY = HELD_FOR_REVIEW  # a meter glitch: nothing debited until decided
    SUPERSEDED = SUPERSEDED  # a later session on the same connector closed it
    # a pile time too far from the server's: the server's was used, both are kept
    PILE_CLOCK = "pile_clock"


ABNORMAL_KINDS = tuple(ReviewKind)


def _kind_condition(kind: str) -> ColumnElement[bool]:
    bill = lambda *cond: exists().where(Bill.order_id == ChargeOrder.id, *cond)  # noqa: E731
    occupancy_review = exists().where(
        OccupancySession.order_id == ChargeOrder.id, OccupancySession.review_reason != ""
    )
    k = ReviewKind
    conditions: dict[str, ColumnElement[bool]] = {
        k.ESTIMATED: bill(Bill.estimated.is_(True)),
        k.AMOUNT_MISMATCH: or_(
            ChargeOrder.abnormal_reason == k.AMOUNT_MISMATCH, bill(Bill.amount_mismatch.is_(True))
        ),
        k.OFFLINE: ChargeOrder.offline_during.is_(True),
        k.FAILED: ChargeOrder.state == OrderState.FAILED,
        k.UNKNOWN_SESSION: ChargeOrder.abnormal_reason == k.UNKNOWN_SESSION,
        k.LATE_RECORD: ChargeOrder.late_record.is_(True),
        k.SETTLEMENT_FAILED: ChargeOrder.abnormal_reason == k.SETTLEMENT_FAILED,
        k.NO_TARIFF: ChargeOrder.abnormal_reason == k.NO_TARIFF,
        k.ARREARS: bill(Bill.arrears_fen > 0),
        k.OCCUPANCY_REVIEW: occupancy_review,
        k.IMPLAUSIBLE_ENERGY: ChargeOrder.abnormal_reason == k.IMPLAUSIBLE_ENERGY,
        k.SUPERSEDED: ChargeOrder.abnormal_reason == k.SUPERSEDED,
        k.PILE_CLOCK: exists().where(PileClockSkew.order_id == ChargeOrder.id),
    }
    if kind not in conditions:
        raise ABNORMAL_KIND_INVALID(details={"kind": [kind], "allowed": sorted(conditions)})
    return conditions[kind]


def list_abnormal_orders(
    actor: Actor,
    *,
    kind: str | None = None,
    station_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    """Orders needing review, newest first (:func:`abnormal_filter`)."""
    stmt = abnormal_filter(actor, kind=kind, station_id=station_id, since=since, until=until, q=q)
    return paginate(stmt.order_by(ChargeOrder.id.desc()), page, page_size)


def abnormal_filter(
    actor: Actor,
    *,
    kind: str | None = None,
    station_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = None,
) -> Select[tuple[ChargeOrder]]:
    """The abnormal-orders queue's one filter (its page and its export), unordered,
    permission checked; ``kind`` one of :data:`ABNORMAL_KINDS`, or every kind when None
    (plus any order with a review reason or in state ``abnormal``)."""
    actor.require(ORDER_READ)
    if kind:
        condition = _kind_condition(kind)
    else:
        condition = or_(
            ChargeOrder.abnormal_reason != "",
            ChargeOrder.state == OrderState.ABNORMAL,
            *(_kind_condition(k) for k in ABNORMAL_KINDS),
        )
    stmt = scoped(select(ChargeOrder), ChargeOrder.operator_id, actor).where(condition)
    if station_id is not None:
        stmt = stmt.where(ChargeOrder.station_id == station_id)
    if since is not None:
        stmt = stmt.where(ChargeOrder.requested_at >= since)
    if until is not None:
        stmt = stmt.where(ChargeOrder.requested_at < until)
    if q:
        stmt = stmt.where(ChargeOrder.order_no.contains(q))
    return stmt


def reasons_by_order(order_ids: list[int]) -> dict[int, list[str]]:
    """Every review kind that applies to each of these orders (one query per kind)."""
    found: dict[int, list[str]] = {i: [] for i in order_ids}
    for kind in ABNORMAL_KINDS:
        hits = db.session.scalars(
            select(ChargeOrder.id).where(ChargeOrder.id.in_(order_ids), _kind_condition(kind))
        )
        for order_id in hits:
            found[order_id].append(kind)
    return found


def reasons_of(order: ChargeOrder) -> list[str]:
    """Every review kind that applies to one order, for the console's tags."""
    found: list[str] = []
    for kind in ABNORMAL_KINDS:
        hit = db.session.scalar(
            select(ChargeOrder.id).where(ChargeOrder.id == order.id, _kind_condition(kind))
        )
        if hit is not None:
            found.append(kind)
    return found


def order_money(actor: Actor, order_id: int) -> dict[str, Any]:
    """One order with its bill, the bill's history and every review reason (console)."""
    actor.require(ORDER_READ)
    return money_of(get_scoped(ChargeOrder, order_id, actor, what="订单"))


def money_of(order: ChargeOrder) -> dict[str, Any]:
    """An order's bill, the bill's history, its occupancy and review reasons."""
    bill = db.session.scalar(select(Bill).where(Bill.order_id == order.id))
    adjustments = (
        []
        if bill is None
        else list(
            db.session.scalars(
                select(BillAdjustment)
                .where(BillAdjustment.bill_id == bill.id)
                .order_by(BillAdjustment.seq)
            )
        )
    )
    occupancy = db.session.scalar(
        select(OccupancySession).where(OccupancySession.order_id == order.id)
    )
    return {
        "order": order,
        "bill": bill,
        "adjustments": adjustments,
        "occupancy": occupancy,
        "reasons": reasons_of(order),
        # the pile times not used for money, beside the server's times that were
        "clock_skews": list(
            db.session.scalars(
                select(PileClockSkew)
                .where(PileClockSkew.order_id == order.id)
                .order_by(PileClockSkew.id)
            )
        ),
    }
