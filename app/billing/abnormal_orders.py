"""Abnormal orders for the console, and the watchdogs that find them.

An order needs review when its bill was estimated (case #25), the pile's amounts differ
from ours, the pile was offline during it (cases #18 2019, #15), its start failed or timed
out, its record matched no session, a record came late, its settlement failed, occupancy
could not be charged in full, or the wallet could not cover the bill. Listing is scoped
to the actor's sub-operator and paged on the server."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select

from app.billing.models import Bill, BillAdjustment, OccupancySession
from app.charging.models import ChargeOrder
from app.errors import ValidationFailed
from app.extensions import db
from app.paging import Page, paginate
from app.tenancy.scope import Actor, get_scoped, scoped

log = logging.getLogger(__name__)


ORDER_READ = "member.read"


def _kind_condition(kind: str) -> ColumnElement[bool]:
    bill = lambda *cond: exists().where(Bill.order_id == ChargeOrder.id, *cond)  # noqa: E731
    occupancy_review = exists().where(
        OccupancySession.order_id == ChargeOrder.id, OccupancySession.review_reason != ""
    )
    conditions: dict[str, ColumnElement[bool]] = {
        "estimated": bill(Bill.estimated.is_(True)),
        "amount_mismatch": or_(
            ChargeOrder.abnormal_reason == "amount_mismatch", bill(Bill.amount_mismatch.is_(True))
        ),
        "offline": ChargeOrder.offline_during.is_(True),
        "failed": ChargeOrder.state == "failed",
        "unknown_session": ChargeOrder.abnormal_reason == "unknown_session",
        "late_record": ChargeOrder.late_record.is_(True),
        "settlement_failed": ChargeOrder.abnormal_reason == "settlement_failed",
        "no_tariff": ChargeOrder.abnormal_reason == "no_tariff",
        "arrears": bill(Bill.arrears_fen > 0),
        "occupancy_review": occupancy_review,
    }
    if kind not in conditions:
        raise ValidationFailed(
            "未知的异常类型", code="ABNORMAL_KIND_INVALID",
            details={"kind": [kind], "allowed": sorted(conditions)},
        )  # fmt: skip
    return conditions[kind]


ABNORMAL_KINDS = (
    "estimated", "amount_mismatch", "offline", "failed", "unknown_session", "late_record",
    "settlement_failed", "no_tariff", "arrears", "occupancy_review",
)  # fmt: skip


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
    """Orders needing review, newest first; ``kind`` one of :data:`ABNORMAL_KINDS`, or
    every kind when None (plus any order with a review reason or in state ``abnormal``)."""
    actor.require(ORDER_READ)
    if kind:
        condition = _kind_condition(kind)
    else:
        condition = or_(
            ChargeOrder.abnormal_reason != "",
            ChargeOrder.state == "abnormal",
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
    return paginate(stmt.order_by(ChargeOrder.id.desc()), page, page_size)


def reasons_of(order: ChargeOrder) -> list[str]:
    """Every review kind that applies to one order, for the console's tags."""
    found = []
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
    order = get_scoped(ChargeOrder, order_id, actor, what="订单")
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
    }
