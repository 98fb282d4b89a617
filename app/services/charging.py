"""Charge orders: starting, stopping, and the questions the APIs ask about them.

The events that move an order (start, meter values, stop records) arrive from piles and
are handled in :mod:`app.services.pile_events`; this module is what drivers and operators
trigger.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select, update

from app.errors import Conflict, DomainError, MissingBaseData, NotFound
from app.extensions import db
from app.models import ChargeOrder, Connector, Driver, Pile
from app.models.base import utcnow
from app.models.charging import ACTIVE_STATES
from app.services import pile_commands, piles, tariffs
from app.services.pile_port import CommandOutcome, CommandResult

UNAVAILABLE_STATES = ("faulted", "unavailable", "charging", "suspended", "finishing", "reserved")


class PileOffline(DomainError):
    status = 409
    code = "PILE_OFFLINE"
    message = "充电桩离线"


class ConnectorBusy(DomainError):
    status = 409
    code = "CONNECTOR_BUSY"
    message = "充电枪正在使用中"


class ConnectorFaulted(DomainError):
    status = 409
    code = "CONNECTOR_FAULTED"
    message = "充电枪故障，暂不可用"


def new_order_no(now: datetime | None = None) -> str:
    """'C' + local yymmddHHMMSS + 6 random digits: 19 characters, fits an OCPP idTag (20)."""
    local = (now or utcnow()).astimezone(ZoneInfo("Asia/Shanghai"))
    return f"C{local:%y%m%d%H%M%S}{secrets.randbelow(10**6):06d}"


def ykc_serial(pile_code: str, connector_number: int, now: datetime | None = None) -> str:
    """YKC v1.6 transaction serial: pile number (14) + gun (2) + yymmddHHMMSS (12) + seq (4),
    32 BCD digits."""
    local = (now or utcnow()).astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{pile_code}{connector_number:02d}{local:%y%m%d%H%M%S}{secrets.randbelow(10**4):04d}"


def active_order_on(connector_id: int) -> ChargeOrder | None:
    return db.session.scalar(
        select(ChargeOrder)
        .where(ChargeOrder.connector_id == connector_id, ChargeOrder.state.in_(ACTIVE_STATES))
        .order_by(ChargeOrder.id.desc())
        .limit(1)
    )


def min_start_balance_fen() -> int:
    return int(current_app.config.get("MIN_START_BALANCE_FEN", 100))


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
    port = pile_commands.port()
    if not port.is_online(pile.code):
        raise PileOffline(f"充电桩 {pile.code} 离线，请稍后再试或更换充电桩")
    if connector.status == "faulted":
        raise ConnectorFaulted()
    if active_order_on(connector.id) is not None or connector.status in UNAVAILABLE_STATES:
        raise ConnectorBusy()
    balance = driver.wallet.balance_fen
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
    if pile.protocol == "ykc":
        order.pile_session_ref = ykc_serial(pile.code, connector.number, now)
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
    connector, ref = order.connector_number or 1, order.pile_session_ref or str(order.id)
    db.session.commit()  # hold no transaction while the pile answers (its record may race us)
    result = pile_commands.port().remote_stop(pile_code, connector, ref)
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


def get_order_by_no(order_no: str) -> ChargeOrder:
    order = db.session.scalar(select(ChargeOrder).where(ChargeOrder.order_no == order_no))
    if order is None:
        raise NotFound("订单不存在", code="ORDER_NOT_FOUND", details={"order_no": order_no})
    return order


def require_connector(pile_code: str, number: int) -> Connector:
    pile = db.session.scalar(select(Pile).where(Pile.code == pile_code))
    if pile is None:
        raise MissingBaseData(f"充电桩 {pile_code} 未登记", code="PILE_UNKNOWN")
    for conn in pile.connectors:
        if conn.number == number:
            return conn
    raise MissingBaseData(
        f"充电桩 {pile_code} 没有 {number} 号枪", code="CONNECTOR_UNKNOWN",
        details={"pile_code": pile_code, "number": number},
    )  # fmt: skip
