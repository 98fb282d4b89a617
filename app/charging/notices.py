"""The "charging started" notice for drivers."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, insert, literal, select

from app.charging.models import CLOSED_STATES, ChargeOrder, OrderState
from app.db import utcnow
from app.extensions import db
from app.notices.models import OutboxMessage, OutboxStatus
from app.notices.outbox import emit
from app.uow import transactional


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
            "timezone": order.timezone,  # the station's: times are shown in local time
        },
    )


@transactional
def emit_charge_started(since: datetime | None = None) -> int:
    """Catch-up for ``charge_started``: every order that started since ``since`` (default:
    the last hour) and has no message yet gets one (set-based; the pile event path has no
    hook for it). Commits."""
    since = since or utcnow() - timedelta(hours=1)
    key = literal("charge_started:") + cast(ChargeOrder.id, String)
    rows = db.session.execute(
        select(ChargeOrder.id, ChargeOrder.order_no, ChargeOrder.operator_id,
               ChargeOrder.driver_id, ChargeOrder.started_at, ChargeOrder.timezone)
        .where(
            ChargeOrder.started_at >= since,
            ChargeOrder.driver_id.is_not(None),
            ChargeOrder.state.in_((OrderState.CHARGING, OrderState.STOPPING, *CLOSED_STATES)),
            ~exists().where(OutboxMessage.dedupe_key == key),
        )
    ).all()  # fmt: skip
    if rows:
        db.session.execute(
            insert(OutboxMessage),
            [
                {"kind": "charge_started", "dedupe_key": f"charge_started:{r.id}",
                 "operator_id": r.operator_id, "driver_id": r.driver_id, "order_id": r.id,
                 "status": OutboxStatus.PENDING, "attempts": 0, "created_at": utcnow(),
                 "payload": {"order_no": r.order_no, "started_at": r.started_at.isoformat(),
                             "timezone": r.timezone}}
                for r in rows
            ],
        )  # fmt: skip
    return len(rows)
