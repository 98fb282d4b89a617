"""Starting a charge from the app: the rules, the order in ``starting``, the command."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.catalogue import piles, tariffs
from app.catalogue.models import Connector
from app.catalogue.visibility import driver_operator, station_visible
from app.charging import commands, orders, starts
from app.charging.models import ChargeOrder
from app.charging.orders import (
    UNAVAILABLE_STATES,
    ConnectorBusy,
    ConnectorFaulted,
    PileOffline,
    active_order_on,
    new_order_no,
)
from app.charging.port import CommandOutcome, CommandResult
from app.config import setting
from app.db import utcnow
from app.errors import Conflict, DomainError, MissingBaseData
from app.extensions import db
from app.ledger import wallet
from app.tenancy.models import Driver


def min_start_balance_fen() -> int:
    return int(setting("MIN_START_BALANCE_FEN"))


@dataclass(frozen=True, slots=True)
class StartOutcome:
    order: ChargeOrder
    command: CommandResult | None  # None: the request had been made before (idempotent)


def request_remote_start(
    driver: Driver, connector: Connector, *, client_request_id: str | None = None
) -> StartOutcome:
    """A driver starts charging from the app: checks, an order in ``starting``, the command.

    Idempotent by ``client_request_id``: a repeat returns the first order.
    """
    if client_request_id:
        existing = db.session.scalar(
            select(ChargeOrder).where(ChargeOrder.client_request_id == client_request_id)
        )
        if existing is not None:
            if existing.driver_id != driver.id:
                raise Conflict("请求编号已被使用", code="REQUEST_ID_REUSED")
            return StartOutcome(existing, None)
    pile = connector.pile
    station = piles.require_bound(pile)
    version = tariffs.current_version_for_station(station)
    port = commands.port()
    if not port.is_online(pile.code):
        raise PileOffline(f"充电桩 {pile.code} 离线，请稍后再试或更换充电桩")
    if connector.status == "faulted":
        raise ConnectorFaulted()
    if active_order_on(connector.id) is not None or connector.status in UNAVAILABLE_STATES:
        raise ConnectorBusy()
    balance = wallet.balance_of(driver.id)
    if balance < min_start_balance_fen():
        from app.errors import InsufficientBalance

        raise InsufficientBalance(
            "余额不足，请先充值",
            details={"balance_fen": balance, "min_start_balance_fen": min_start_balance_fen()},
        )
    now = utcnow()
    order = ChargeOrder(
        order_no=new_order_no(now),
        operator_id=pile.operator_id,
        station_id=station.id,
        pile_id=pile.id,
        connector_id=connector.id,
        connector_number=connector.number,
        driver_id=driver.id,
        start_method="remote",
        client_request_id=client_request_id,
        state="starting",
        tariff_version_id=version.id,
        timezone=station.timezone,
        requested_at=now,
    )
    order.id_tag = order.order_no
    order.pile_session_ref = port.new_session_ref(pile.code, pile.protocol, connector.number)
    db.session.add(order)
    db.session.commit()  # the order exists before the pile hears of it
    result = port.remote_start(
        pile.code,
        connector.number,
        order.id_tag,
        order_no=order.order_no,
        balance_fen=balance,
        session_ref=order.pile_session_ref,
    )
    if result.outcome is not CommandOutcome.ACCEPTED and order.state == "starting":
        order.state = "failed"
        order.failure_reason = f"{result.outcome.value}: {result.detail}"[:200]
        db.session.commit()
    return StartOutcome(order, result)


@dataclass(frozen=True, slots=True)
class StartBlocker:
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, err: DomainError) -> StartBlocker:
        return cls(err.code, err.message, dict(err.details))


def start_blocker(driver: Driver, connector: Connector) -> StartBlocker | None:
    """Why ``driver`` cannot start on ``connector`` now, checked in the order
    :func:`request_remote_start` checks; None when nothing stops it."""
    pile = connector.pile
    if pile.station is None:
        return StartBlocker(
            "PILE_WITHOUT_STATION", f"充电桩 {pile.code} 未绑定站点，暂不能充电",
            {"pile_code": pile.code},
        )  # fmt: skip
    if not station_visible(driver_operator(driver), pile.station):
        return StartBlocker("STATION_NOT_SERVED", "该充电站暂未对本小程序开放")
    try:
        tariffs.current_version_for_station(pile.station)
    except MissingBaseData as exc:
        return StartBlocker.of(exc)
    if not commands.port().is_online(pile.code):
        return StartBlocker.of(orders.PileOffline("充电桩离线，请稍后再试或更换充电桩"))
    if connector.status == "faulted":
        return StartBlocker.of(orders.ConnectorFaulted())
    active = orders.active_order_on(connector.id)
    if active is not None or connector.status in orders.UNAVAILABLE_STATES:
        details: dict[str, Any] = {}
        if active is not None and active.driver_id == driver.id:
            details["own_order_no"] = active.order_no  # the app opens the live page
        return StartBlocker("CONNECTOR_BUSY", orders.ConnectorBusy.message, details)
    balance = wallet.balance_of(driver.id)
    minimum = starts.min_start_balance_fen()
    if balance < minimum:
        return StartBlocker(
            "WALLET_INSUFFICIENT", "余额不足，请先充值",
            {"balance_fen": balance, "min_start_balance_fen": minimum},
        )  # fmt: skip
    return None
