"""An operator's remote commands to a pile (the console's pile list and detail): stop the
running order, reset, change availability, unlock a connector, push the tariff, sync the
clock. Each goes through the pile command port (the same route as the drivers' remote
start), returns the pile's answer as it came (accepted, rejected, offline, timed out, not
supported) and leaves an audit row, whatever the answer."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select

from app.catalogue.models import Pile
from app.charging import commands, session, stops
from app.charging.models import ChargeOrder
from app.charging.pile_events import current_tariff
from app.charging.port import CommandOutcome, CommandResult, PileCommandPort, PileTariff
from app.errors import (
    CONNECTOR_NOT_FOUND,
    ORDER_NOT_FOUND,
    ORDER_NOT_STOPPABLE,
    STATION_WITHOUT_TARIFF,
)
from app.extensions import db
from app.tenancy import audit
from app.tenancy.scope import Actor, get_scoped
from app.uow import between_units, unit_of_work

PILE_COMMAND = "pile.write"


class PileCommand(enum.StrEnum):
    REMOTE_STOP = "remote_stop"
    SOFT_RESET = "soft_reset"
    HARD_RESET = "hard_reset"
    MAKE_AVAILABLE = "make_available"
    MAKE_UNAVAILABLE = "make_unavailable"
    UNLOCK_CONNECTOR = "unlock_connector"
    PUSH_TARIFF = "push_tariff"
    SYNC_TIME = "sync_time"


# commands about one connector (0 = the whole pile, for availability only)
_PER_CONNECTOR = {PileCommand.MAKE_AVAILABLE, PileCommand.MAKE_UNAVAILABLE,
                  PileCommand.UNLOCK_CONNECTOR}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CommandAnswer:
    command: str
    outcome: str  # a CommandOutcome
    detail: str
    order_no: str | None = None


def _connector(pile: Pile, number: int | None, *, whole_pile: bool) -> int:
    if number is None or (number == 0 and whole_pile):
        return 0 if whole_pile else 1
    if number not in {c.number for c in pile.connectors}:
        raise CONNECTOR_NOT_FOUND(details={"connector_number": number})
    return number


def _running_order(pile: Pile, order_no: str | None, connector: int | None) -> ChargeOrder:
    stmt = select(ChargeOrder).where(ChargeOrder.pile_id == pile.id)
    if order_no:
        stmt = stmt.where(ChargeOrder.order_no == order_no)
    else:
        stmt = stmt.where(ChargeOrder.state.in_(session.STOPPABLE))
        if connector is not None:
            stmt = stmt.where(ChargeOrder.connector_number == connector)
    order = db.session.scalars(stmt.order_by(ChargeOrder.id.desc()).limit(1)).first()
    if order is None:
        raise ORDER_NOT_FOUND(details={"order_no": order_no, "pile_id": pile.id})
    if order.state not in session.STOPPABLE:
        raise ORDER_NOT_STOPPABLE(details={"state": order.state})
    return order


def send(
    actor: Actor,
    pile_id: int,
    command: PileCommand,
    *,
    connector_number: int | None = None,
    order_no: str | None = None,
    reason: str = "",
) -> CommandAnswer:
    """Send one command and say what the pile answered; audited as ``pile.command``."""
    actor.require(PILE_COMMAND)
    pile = get_scoped(Pile, pile_id, actor, what="充电桩")
    pile_id, code, operator_id = pile.id, pile.code, pile.operator_id
    port = commands.port()
    stopped: str | None = None
    connector: int | None = None
    if command is PileCommand.REMOTE_STOP:
        order = _running_order(pile, order_no, connector_number)
        stopped, connector = order.order_no, order.connector_number
        result = stops.request_stop(order, by="operator")
    else:
        if command in _PER_CONNECTOR:
            connector = _connector(
                pile, connector_number, whole_pile=command is not PileCommand.UNLOCK_CONNECTOR
            )
        tariff = current_tariff(pile) if command is PileCommand.PUSH_TARIFF else None
        if command is PileCommand.PUSH_TARIFF and tariff is None:
            raise STATION_WITHOUT_TARIFF(details={"pile_id": pile_id})
        between_units()  # no transaction held while the pile answers
        result = _call(port, command, code, connector, tariff)
    with unit_of_work():
        audit.record(
            actor,
            "pile.command",
            "pile",
            pile_id,
            operator_id=operator_id,
            after={"command": command.value, "connector_number": connector,
                   "order_no": stopped, "outcome": result.outcome.value,
                   "detail": result.detail[:200]},
            reason=reason,
        )  # fmt: skip
    return CommandAnswer(command.value, result.outcome.value, result.detail, stopped)


def _call(
    port: PileCommandPort,
    command: PileCommand,
    code: str,
    connector: int | None,
    tariff: PileTariff | None,
) -> CommandResult:
    if command in (PileCommand.SOFT_RESET, PileCommand.HARD_RESET):
        return port.reset(code, hard=command is PileCommand.HARD_RESET)
    if command in (PileCommand.MAKE_AVAILABLE, PileCommand.MAKE_UNAVAILABLE):
        return port.change_availability(code, connector or 0, command is PileCommand.MAKE_AVAILABLE)
    if command is PileCommand.UNLOCK_CONNECTOR:
        return port.unlock_connector(code, connector or 1)
    if command is PileCommand.PUSH_TARIFF:
        assert tariff is not None
        return port.push_tariff(code, tariff)
    if command is PileCommand.SYNC_TIME:
        return port.sync_time(code)
    return CommandResult(CommandOutcome.NOT_SUPPORTED, f"unknown command {command}")
