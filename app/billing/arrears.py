"""Arrears: what a wallet could not cover, collected once the driver tops up."""

from __future__ import annotations

from sqlalchemy import func, select

from app.billing.models import Bill, BillAdjustment
from app.billing.settlement import WALLET_REASONS
from app.charging.models import ChargeOrder
from app.extensions import db
from app.ledger import wallet
from app.ledger.models import Wallet
from app.uow import unit_of_work


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
        with unit_of_work():
            total += collect_arrears(driver_id)
    return total


def outstanding_arrears_fen(driver_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Bill.arrears_fen), 0)).where(Bill.driver_id == driver_id)
        )
        or 0
    )
