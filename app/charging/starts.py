"""Starting a charge: the start rules, in one place (the scan answer, a driver's start and
a partner platform's start all ask :func:`check_start`), then the order in ``starting``
and the command to the pile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.catalogue import tariffs
from app.catalogue.models import Connector, Pile, Station, TariffVersion
from app.catalogue.visibility import driver_operator, station_visible
from app.charging import commands, session
from app.charging.models import ROAMING, ChargeOrder, OrderState
from app.charging.orders import (
    UNAVAILABLE_STATES,
    active_order_on,
    new_order_no,
)
from app.charging.port import CommandOutcome, CommandResult, ConnectorState
from app.charging.terms import freeze_terms
from app.config import setting
from app.db import utcnow
from app.errors import (
    CONNECTOR_BUSY,
    CONNECTOR_FAULTED,
    DRIVER_DISABLED,
    PILE_OFFLINE,
    PILE_WITHOUT_STATION,
    REQUEST_ID_REUSED,
    STATION_NOT_SERVED,
    WALLET_INSUFFICIENT,
    DomainError,
)
from app.extensions import db
from app.ledger import wallet
from app.tenancy.models import Driver
from app.uow import between_units, unit_of_work


def min_start_balance_fen() -> int:
    return int(setting("MIN_START_BALANCE_FEN"))


@dataclass(frozen=True, slots=True)
class StartPermit:
    """What a start that passed the rules goes on with."""

    station: Station
    version: TariffVersion
    balance_fen: int | None  # None: a roaming start, paid by the partner's statement


def _sellable(driver: Driver | None, pile: Pile) -> tuple[Station, TariffVersion]:
    """The pile bound to a station the driver's operator sells, and the station's tariff
    (a roaming start, ``driver`` None: the interconnection context checked that the station
    is shared with the partner, case #12)."""
    station = pile.station
    if station is None:
        raise PILE_WITHOUT_STATION(
            f"充电桩 {pile.code} 未绑定站点，暂不能充电", details={"pile_code": pile.code}
        )
    if driver is not None and not station_visible(driver_operator(driver), station):
        raise STATION_NOT_SERVED()
    return station, tariffs.current_version_for_station(station)


def _funded(driver: Driver) -> int:
    """The driver's balance, when it is enough to start."""
    balance = wallet.balance_of(driver.id)
    minimum = min_start_balance_fen()
    if balance < minimum:
        raise WALLET_INSUFFICIENT(
            "余额不足，请先充值", details={"balance_fen": balance, "min_start_balance_fen": minimum}
        )
    return balance


def check_start(driver: Driver | None, connector: Connector) -> StartPermit:
    """The start rules, in the order a driver should hear of them (case #2: the specific
    reason first): the pile bound to a station the driver's operator sells, the station's
    tariff, the pile online (one look at the pile link), the gun healthy and free, enough
    money. Raises the error of the first rule broken. ``driver`` None: a partner
    platform's driver (T/CEC 102 roaming): the same rules but the wallet, the partner pays
    by its statement."""
    pile = connector.pile
    station, version = _sellable(driver, pile)
    if not commands.port().is_online(pile.code):
        raise PILE_OFFLINE("充电桩离线，请稍后再试或更换充电桩")
    if connector.status == ConnectorState.FAULTED:
        raise CONNECTOR_FAULTED()
    active = active_order_on(connector.id)
    if active is not None or connector.status in UNAVAILABLE_STATES:
        details: dict[str, Any] = {}
        if driver is not None and active is not None and active.driver_id == driver.id:
            details["own_order_no"] = active.order_no  # the app opens the live page
        raise CONNECTOR_BUSY(details=details)
    return StartPermit(station, version, _funded(driver) if driver is not None else None)


def check_pile_start(driver: Driver, pile: Pile) -> int:
    """The same rules for a start made at the pile itself (a card, a pile password; issue
    14: one at a station without tariff, or on a pile bound to no station, charged what
    could not be billed): the driver not disabled (its cards and passwords are refused as
    its app tokens are), the station sold to the driver, its tariff, enough money; the
    pile asking is online, and the gun is its own business. The balance, or the error of
    the first rule broken."""
    if driver.disabled_at is not None:
        raise DRIVER_DISABLED(details={"reason": driver.disabled_reason})
    _sellable(driver, pile)
    return _funded(driver)


@dataclass(frozen=True, slots=True)
class StartBlocker:
    """Why a start cannot happen now, as the scan answer shows it."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, err: DomainError) -> StartBlocker:
        return cls(err.code, err.message, dict(err.details))


def start_blocker(driver: Driver, connector: Connector) -> StartBlocker | None:
    """The first start rule ``driver`` breaks on ``connector`` now; None when none."""
    try:
        check_start(driver, connector)
    except DomainError as err:
        return StartBlocker.of(err)
    return None


@dataclass(frozen=True, slots=True)
class StartOutcome:
    order: ChargeOrder
    command: CommandResult | None  # None: the request had been made before (idempotent)


def request_remote_start(
    driver: Driver | None,
    connector: Connector,
    *,
    client_request_id: str | None = None,
    on_open: Callable[[ChargeOrder], None] | None = None,
) -> StartOutcome:
    """A driver starts charging from the app (or a partner platform for its driver,
    ``driver`` None): the rules, an order in ``starting``, the command. Idempotent by
    ``client_request_id`` (one lookup): a repeat returns the first order and sends
    nothing. ``on_open`` runs in the unit of work that opens the order (the
    interconnection context records the partner's sequence number with it)."""
    driver_id = driver.id if driver is not None else None
    if client_request_id:
        existing = db.session.scalar(
            select(ChargeOrder).where(ChargeOrder.client_request_id == client_request_id)
        )
        if existing is not None:
            if existing.driver_id != driver_id:
                raise REQUEST_ID_REUSED()
            return StartOutcome(existing, None)
    permit = check_start(driver, connector)
    pile, port, now = connector.pile, commands.port(), utcnow()
    order_no = new_order_no(now)
    with unit_of_work():  # the order exists before the pile hears of it
        order = _open_remote(driver_id, connector, permit, order_no, now, client_request_id)
        if on_open is not None:
            on_open(order)
    between_units()
    result = port.remote_start(
        pile.code,
        connector.number,
        order.id_tag,
        order_no=order.order_no,
        balance_fen=permit.balance_fen,
        session_ref=order.pile_session_ref,
    )
    if result.outcome is not CommandOutcome.ACCEPTED:
        with unit_of_work():
            if order.state == OrderState.STARTING:  # the pile's start record may have won
                session.start_failed(order, f"{result.outcome.value}: {result.detail}")
    return StartOutcome(order, result)


def _open_remote(
    driver_id: int | None,
    connector: Connector,
    permit: StartPermit,
    order_no: str,
    now: datetime,
    client_request_id: str | None,
) -> ChargeOrder:
    pile, port = connector.pile, commands.port()
    order = session.open_order(
        "remote",
        order_no=order_no,
        operator_id=pile.operator_id,
        station_id=permit.station.id,
        pile_id=pile.id,
        connector_id=connector.id,
        connector_number=connector.number,
        driver_id=driver_id,
        id_tag=order_no,
        start_method="remote" if driver_id is not None else ROAMING,
        client_request_id=client_request_id,
        tariff_version_id=permit.version.id,
        timezone=permit.station.timezone,
        requested_at=now,
        pile_session_ref=port.new_session_ref(pile.code, pile.protocol, connector.number),
    )
    db.session.flush()
    freeze_terms(order)  # the price the driver will watch is the price they pay (case #7)
    return order
