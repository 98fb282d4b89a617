"""Notifications for drivers, written to the outbox in the caller's transaction (so a
message exists exactly when what it tells of was committed). Delivery is a later issue.

Never a message for a pile that merely went offline (case #18 2019-01-09): only the
events below write one, and each at most once (``dedupe_key``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, exists, insert, literal, select

from app.extensions import db
from app.models import Bill, ChargeOrder, OutboxMessage
from app.models.base import utcnow
from app.money import fen_to_yuan_str
from app.services.pricing import kwh_str


def emit(
    kind: str,
    *,
    dedupe_key: str,
    payload: dict[str, Any],
    operator_id: int | None = None,
    driver_id: int | None = None,
    order_id: int | None = None,
) -> OutboxMessage | None:
    """Add one outbox message unless one with ``dedupe_key`` exists; no commit."""
    exists = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    )
    if exists is not None:
        return None
    message = OutboxMessage(
        kind=kind,
        dedupe_key=dedupe_key,
        payload=payload,
        operator_id=operator_id,
        driver_id=driver_id,
        order_id=order_id,
    )
    db.session.add(message)
    return message


def charge_started(order: ChargeOrder) -> OutboxMessage | None:
    if order.driver_id is None:
        return None
    return emit(
        "charge_started",
        dedupe_key=f"charge_started:{order.id}",
        operator_id=order.operator_id,
        driver_id=order.driver_id,
        order_id=order.id,
        payload={
            "order_no": order.order_no,
            "started_at": order.started_at.isoformat() if order.started_at else None,
        },
    )


def bill_payload(bill: Bill) -> dict[str, Any]:
    """The itemised bill as drivers see it (case #18 2020: kWh, electricity, service, total)."""
    return {
        "order_no": bill.order_no,
        "energy_kwh": kwh_str(bill.energy_wh),
        "electricity_fen": bill.electricity_fen,
        "service_fen": bill.service_fen,
        "service_discount_fen": bill.service_discount_fen,
        "occupancy_fen": bill.occupancy_fen,
        "coupon_fen": bill.coupon_fen,
        "total_fen": bill.total_fen,
        "total_yuan": fen_to_yuan_str(bill.total_fen),
        "paid_fen": bill.paid_fen,
        "arrears_fen": bill.arrears_fen,
        "estimated": bill.estimated,
    }


def charge_finished(order: ChargeOrder, bill: Bill) -> OutboxMessage | None:
    if order.driver_id is None:
        return None
    return emit(
        "charge_finished",
        dedupe_key=f"charge_finished:{order.id}",
        operator_id=order.operator_id,
        driver_id=order.driver_id,
        order_id=order.id,
        payload=bill_payload(bill),
    )


def refund_result(
    *,
    driver_id: int,
    operator_id: int | None,
    amount_fen: int,
    ref: str,
    reason: str,
    order_id: int | None = None,
    ok: bool = True,
) -> OutboxMessage | None:
    """Money given back to the wallet (a corrected or re-settled bill, a refund)."""
    return emit(
        "refund_result",
        dedupe_key=f"refund_result:{ref}",
        operator_id=operator_id,
        driver_id=driver_id,
        order_id=order_id,
        payload={
            "amount_fen": amount_fen,
            "amount_yuan": fen_to_yuan_str(amount_fen),
            "reason": reason,
            "ok": ok,
        },
    )


def emit_charge_started(since: datetime) -> int:
    """Catch-up for ``charge_started``: every order that started since ``since`` and has no
    message yet gets one (set-based; the pile event path has no hook for it). Commits."""
    key = literal("charge_started:") + cast(ChargeOrder.id, String)
    rows = db.session.execute(
        select(ChargeOrder.id, ChargeOrder.order_no, ChargeOrder.operator_id,
               ChargeOrder.driver_id, ChargeOrder.started_at)
        .where(
            ChargeOrder.started_at >= since,
            ChargeOrder.driver_id.is_not(None),
            ChargeOrder.state.in_(("charging", "stopping", "finished", "settled")),
            ~exists().where(OutboxMessage.dedupe_key == key),
        )
    ).all()  # fmt: skip
    if rows:
        db.session.execute(
            insert(OutboxMessage),
            [
                {"kind": "charge_started", "dedupe_key": f"charge_started:{r.id}",
                 "operator_id": r.operator_id, "driver_id": r.driver_id, "order_id": r.id,
                 "status": "pending", "attempts": 0, "created_at": utcnow(),
                 "payload": {"order_no": r.order_no, "started_at": r.started_at.isoformat()}}
                for r in rows
            ],
        )  # fmt: skip
    db.session.commit()
    return len(rows)
