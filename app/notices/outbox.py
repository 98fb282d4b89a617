"""The outbox: notices for drivers, written in the caller's transaction (so a message exists
exactly when what it tells of was committed), at most once each (``dedupe_key``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.money import fen_to_yuan_str
from app.notices.models import OutboxMessage


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


def refund_result(
    *,
    driver_id: int,
    operator_id: int | None,
    amount_fen: int,
    ref: str,
    reason: str,
    order_id: int | None = None,
    ok: bool = True,
    phrase: str | None = None,
) -> OutboxMessage | None:
    """Money given back to the wallet (a corrected or re-settled bill, a refund).
    ``reason`` is shown to the driver (Chinese); ``phrase`` says what the money is (a
    refund, 退款成功 / 退款失败, unless told: 补退差额 for a bill given back in part)."""
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
            "phrase": phrase or ("退款成功" if ok else "退款失败"),
        },
    )
