"""Stopping a charge: asking the pile; the order moves on only when its record arrives."""

from __future__ import annotations

from app.catalogue.models import Pile
from app.charging import commands, session
from app.charging.models import ChargeOrder
from app.charging.orders import session_number
from app.charging.port import CommandOutcome, CommandResult
from app.errors import ORDER_NOT_STOPPABLE, NotFound
from app.extensions import db
from app.uow import between_units, unit_of_work


def request_stop(order: ChargeOrder, *, by: str) -> CommandResult:
    """Ask the pile to stop. The order moves on only when the pile's record arrives; an
    unreachable pile leaves it charging and says so (case #15)."""
    if order.state not in session.STOPPABLE:
        raise ORDER_NOT_STOPPABLE(details={"state": order.state})
    pile = db.session.get(Pile, order.pile_id)
    if pile is None:  # pragma: no cover - foreign key
        raise NotFound("充电桩不存在")
    order_id, pile_code = order.id, pile.code
    connector, ref = order.connector_number or 1, order.pile_session_ref or session_number(order)
    between_units()  # hold no transaction while the pile answers (its record may race us)
    result = commands.port().remote_stop(pile_code, connector, ref)
    if result.outcome is CommandOutcome.ACCEPTED:
        with unit_of_work():
            session.stop_accepted(order_id, by)
    return result
