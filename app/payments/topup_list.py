"""财务 → 充值记录: the wallet top-ups of the operator's drivers through WeChat Pay, for the
people who reconcile them (issue 10). One filter (:func:`topup_filter`) serves the page and
its export: scoped to the sub-operator that took the money, by driver phone, state and the
time the top-up was ordered; each row carries its driver's phone, its operator's name and
its offer's name, loaded one query each for a page or an export's batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from app.extensions import db
from app.paging import Page, paginate
from app.payments.models import TopUpPayment
from app.promotions.models import TopUpOffer
from app.tenancy.models import Driver, Operator
from app.tenancy.scope import Actor, scoped

READ = "order.read"  # money of the operator's payments, like the statements and the overview


def topup_filter(
    actor: Actor,
    *,
    operator_id: int | None = None,
    phone: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[tuple[TopUpPayment]]:
    """The top-up list's one filter, unordered, permission checked: ``phone`` every driver
    with that number (exact), ``since``/``until`` the time the top-up was ordered; a
    sub-operator sees only the top-ups its merchant took, whatever ``operator_id`` says."""
    actor.require(READ)
    stmt = scoped(select(TopUpPayment), TopUpPayment.operator_id, actor)
    if operator_id:
        stmt = stmt.where(TopUpPayment.operator_id == operator_id)
    if phone and phone.strip():
        stmt = stmt.where(
            TopUpPayment.driver_id.in_(select(Driver.id).where(Driver.phone == phone.strip()))
        )
    if state:
        stmt = stmt.where(TopUpPayment.state == state)
    if since is not None:
        stmt = stmt.where(TopUpPayment.created_at >= since)
    if until is not None:
        stmt = stmt.where(TopUpPayment.created_at < until)
    return stmt


def newest_first(stmt: Select[tuple[TopUpPayment]]) -> Select[tuple[TopUpPayment]]:
    return stmt.order_by(TopUpPayment.created_at.desc(), TopUpPayment.id.desc())


def list_topups(actor: Actor, *, page: int = 1, page_size: int = 20, **filters: Any) -> Page:
    """A page of top-ups newest first (:func:`topup_filter`), with their names."""
    found = paginate(newest_first(topup_filter(actor, **filters)), page, page_size)
    return Page(
        items=with_names(found.items), total=found.total, page=found.page,
        page_size=found.page_size,
    )  # fmt: skip


def _names(key: Any, value: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(key, value).where(key.in_(ids))).tuples().all())


def with_names(payments: list[TopUpPayment]) -> list[dict[str, Any]]:
    """Top-ups as dicts with the driver's phone, the operator's and the offer's names."""
    phones = _names(Driver.id, Driver.phone, {p.driver_id for p in payments})
    operators = _names(Operator.id, Operator.name, {p.operator_id for p in payments})
    offers = _names(
        TopUpOffer.id, TopUpOffer.name, {p.offer_id for p in payments if p.offer_id is not None}
    )
    return [
        {
            "id": p.id, "out_trade_no": p.out_trade_no, "transaction_id": p.transaction_id,
            "driver_id": p.driver_id, "driver_phone": phones.get(p.driver_id, ""),
            "operator_id": p.operator_id, "operator_name": operators.get(p.operator_id, ""),
            "mch_id": p.mch_id, "amount_fen": p.amount_fen, "refunded_fen": p.refunded_fen,
            "offer_id": p.offer_id,
            "offer_name": offers.get(p.offer_id, "") if p.offer_id is not None else "",
            "state": p.state, "created_at": p.created_at, "paid_at": p.paid_at,
            "closed_at": p.closed_at,
        }
        for p in payments
    ]  # fmt: skip
