"""Stopping a charge: asking the pile; the order moves on only when its record arrives."""

from __future__ import annotations

from sqlalchemy import func, update

from app.catalogue.models import Pile
from app.charging import commands
from app.charging.models import ChargeOrder
from app.charging.orders import session_number
from app.charging.port import CommandOutcome, CommandResult
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.extensions import db


def request_stop(order: ChargeOrder, *, by: str) -> CommandResult:
    """Ask the pile to stop. The order moves on only when the pile's record arrives; an
    unreachable pile leaves it charging and says so (case #15)."""
    if order.state not in ("starting", "charging"):
        raise Conflict(
            "订单当前状态不能停止", code="ORDER_NOT_STOPPABLE", details={"state": order.state}
        )
    pile = db.session.get(Pile, order.pile_id)
    if pile is None:  # pragma: no cover - foreign key
        raise NotFound("充电桩不存在")
    order_id, pile_code = order.id, pile.code
    connector, ref = order.connector_number or 1, order.pile_session_ref or session_number(order)
    db.session.commit()  # hold no transaction while the pile answers (its record may race us)
    result = commands.port().remote_stop(pile_code, connector, ref)
    if result.outcome is CommandOutcome.ACCEPTED:
        # conditional: the pile's stop record may already have finished the order
        db.session.execute(
            update(ChargeOrder)
            .where(ChargeOrder.id == order_id, ChargeOrder.state.in_(("starting", "charging")))
            .values(
                state="stopping",
                awaiting_record_since=func.coalesce(ChargeOrder.awaiting_record_since, utcnow()),
            )
        )
        db.session.execute(
            update(ChargeOrder)
            .where(ChargeOrder.id == order_id, ChargeOrder.stop_requested_by == "")
            .values(stop_requested_by=by)
        )
        db.session.commit()
    return result
