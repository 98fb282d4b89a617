"""Charge orders: numbers, lookups, the connector an order holds."""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.catalogue.models import Connector, Pile
from app.charging.models import ACTIVE_STATES, ChargeOrder
from app.charging.port import ConnectorState
from app.db import utcnow
from app.errors import (
    CONNECTOR_UNKNOWN,
    ORDER_NOT_FOUND,
    PILE_UNKNOWN,
)
from app.extensions import db

# connector states in which no new session can start
UNAVAILABLE_STATES = (
    ConnectorState.FAULTED,
    ConnectorState.UNAVAILABLE,
    ConnectorState.CHARGING,
    ConnectorState.SUSPENDED,
    ConnectorState.FINISHING,
    ConnectorState.RESERVED,
)


def new_order_no(now: datetime | None = None) -> str:
    """'C' + local yymmddHHMMSS + 6 random digits: 19 characters, fits an OCPP idTag (20)."""
    local = (now or utcnow()).astimezone(ZoneInfo("Asia/Shanghai"))
    return f"C{local:%y%m%d%H%M%S}{secrets.randbelow(10**6):06d}"


def session_number(order: ChargeOrder) -> str:
    """The number the platform gives a session whose pile brought no reference of its own:
    the order's id. Stops and records that name it find the order again."""
    return str(order.id)


def active_order_on(connector_id: int) -> ChargeOrder | None:
    return db.session.scalar(
        select(ChargeOrder)
        .where(ChargeOrder.connector_id == connector_id, ChargeOrder.state.in_(ACTIVE_STATES))
        .order_by(ChargeOrder.id.desc())
        .limit(1)
    )


def get_order_by_no(order_no: str) -> ChargeOrder:
    order = db.session.scalar(select(ChargeOrder).where(ChargeOrder.order_no == order_no))
    if order is None:
        raise ORDER_NOT_FOUND(details={"order_no": order_no})
    return order


def require_connector(pile_code: str, number: int) -> Connector:
    pile = db.session.scalar(select(Pile).where(Pile.code == pile_code))
    if pile is None:
        raise PILE_UNKNOWN(f"充电桩 {pile_code} 未登记")
    for conn in pile.connectors:
        if conn.number == number:
            return conn
    raise CONNECTOR_UNKNOWN(
        f"充电桩 {pile_code} 没有 {number} 号枪", details={"pile_code": pile_code, "number": number}
    )
