"""Piles and connectors: registry, hardware replacement under the same code, QR payloads."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select

from app.catalogue.models import Connector, Pile, PileHardware, PileProtocol, Station
from app.charging.models import ChargeOrder
from app.config import setting
from app.db import utcnow
from app.errors import (
    CONNECTOR_HAS_ORDERS,
    CONNECTOR_NUMBER_INVALID,
    CONNECTOR_NUMBER_TAKEN,
    NOT_FOUND,
    PILE_CODE_TAKEN,
    PILE_HAS_ORDERS,
    PILE_INVALID,
    PILE_WITHOUT_STATION,
    REASON_REQUIRED,
    STATION_OPERATOR_MISMATCH,
    STATION_REQUIRED,
)
from app.extensions import db
from app.paging import Page, paginate
from app.tenancy import audit
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import transactional

PROTOCOLS = tuple(PileProtocol)

CURRENT_TYPES = ("AC", "DC")

FIELDS = (
    "code", "station_id", "protocol", "vendor", "model", "firmware", "serial_number",
    "current_type", "rated_power_w",
)  # fmt: skip

MAX_CONNECTORS = 8

# what a pile code may look like on each protocol's wire
CODE_FORMATS = {
    PileProtocol.OCPP16: (re.compile(r"^[A-Za-z0-9._:-]{1,32}$"),  # a URL path segment
                          "桩编号只能包含字母、数字和 . _ : -，最长 32 位"),
    PileProtocol.YKC: (re.compile(r"^\d{14}$"), "云快充桩编号应为 14 位数字"),  # 7 bytes BCD
}  # fmt: skip


def _view(pile: Pile) -> dict[str, Any]:
    return audit.snapshot(pile, FIELDS) | {"connectors": [c.number for c in pile.connectors]}


def qr_payload(pile_code: str, number: int) -> str:
    return f"{setting('QR_BASE_URL')}{pile_code}-{number}"


def kw_to_w(kw: Decimal | float | int) -> int:
    return int((Decimal(str(kw)) * 1000).to_integral_value())


def _validate(data: dict[str, Any], protocol: str) -> None:
    errors: dict[str, list[str]] = {}
    if protocol not in PROTOCOLS:
        errors["protocol"] = ["协议应为 ocpp16 或 ykc"]
    code = data.get("code")
    if code is not None and protocol in PROTOCOLS:
        pattern, message = CODE_FORMATS[PileProtocol(protocol)]
        if not pattern.match(code):
            errors["code"] = [message]
    if data.get("current_type") not in (None, *CURRENT_TYPES):
        errors["current_type"] = ["应为 AC 或 DC"]
    if data.get("rated_power_w") is not None and not 0 < data["rated_power_w"] <= 2_000_000:
        errors["rated_power_kw"] = ["额定功率应在 0~2000 kW 之间"]
    count = data.get("connector_count")
    if count is not None and not 1 <= count <= MAX_CONNECTORS:
        errors["connector_count"] = [f"枪数应在 1~{MAX_CONNECTORS} 之间"]
    if errors:
        raise PILE_INVALID(details=errors)


def _station_for(actor: Actor, station_id: int | None, operator_id: int | None) -> Station | None:
    if station_id is None:
        return None
    st = get_scoped(Station, station_id, actor, what="站点")
    if operator_id is not None and st.operator_id != operator_id:
        raise STATION_OPERATOR_MISMATCH()
    return st


def list_piles(
    actor: Actor,
    *,
    q: str | None = None,
    station_id: int | None = None,
    protocol: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    actor.require("pile.read")
    stmt = scoped(select(Pile), Pile.operator_id, actor)
    if q:
        stmt = stmt.where(Pile.code.contains(q) | Pile.vendor.contains(q) | Pile.model.contains(q))
    if station_id:
        stmt = stmt.where(Pile.station_id == station_id)
    if protocol:
        stmt = stmt.where(Pile.protocol == protocol)
    return paginate(stmt.order_by(Pile.id.desc()), page, page_size)


def get_pile(actor: Actor, pile_id: int) -> Pile:
    actor.require("pile.read")
    return get_scoped(Pile, pile_id, actor, what="充电桩")


@transactional
def create_pile(actor: Actor, data: dict[str, Any]) -> Pile:
    actor.require("pile.write")
    _validate(data, data["protocol"])
    if db.session.scalar(select(Pile).where(Pile.code == data["code"])):
        raise PILE_CODE_TAKEN(details={"code": data["code"]})
    station = _station_for(actor, data.get("station_id"), None)
    if station is not None:
        operator_id = station.operator_id
    elif actor.operator_id is not None:
        operator_id = actor.operator_id
    else:
        raise STATION_REQUIRED()
    pile = Pile(operator_id=operator_id)
    for name in FIELDS:
        if data.get(name) is not None:
            setattr(pile, name, data[name])
    for number in range(1, int(data.get("connector_count") or 1) + 1):
        pile.connectors.append(Connector(number=number, qr_payload=qr_payload(pile.code, number)))
    db.session.add(pile)
    db.session.flush()
    db.session.add(
        PileHardware(
            pile_id=pile.id, vendor=pile.vendor, model=pile.model, firmware=pile.firmware,
            serial_number=pile.serial_number, reason="新建", actor_id=actor.admin_id,
        )
    )  # fmt: skip
    audit.record(actor, "pile.create", "pile", pile.id, operator_id=operator_id, after=_view(pile))
    return pile


@transactional
def update_pile(actor: Actor, pile_id: int, data: dict[str, Any]) -> Pile:
    """Edit a pile's registration. The code is its identity on the wire: not editable."""
    actor.require("pile.write")
    pile = get_scoped(Pile, pile_id, actor, what="充电桩")
    data = {k: v for k, v in data.items() if k != "code"}
    _validate(data, data.get("protocol") or pile.protocol)
    if "station_id" in data:
        _station_for(actor, data["station_id"], pile.operator_id)
    before = _view(pile)
    for name in FIELDS:
        if name in data and (data[name] is not None or name == "station_id"):
            setattr(pile, name, data[name])
    audit.record(
        actor, "pile.update", "pile", pile.id, operator_id=pile.operator_id,
        before=before, after=_view(pile),
    )  # fmt: skip
    return pile


@transactional
def delete_pile(actor: Actor, pile_id: int) -> None:
    actor.require("pile.write")
    pile = get_scoped(Pile, pile_id, actor, what="充电桩")
    orders = db.session.scalar(select(func.count()).where(ChargeOrder.pile_id == pile.id))
    if orders:
        raise PILE_HAS_ORDERS(details={"order_count": orders})
    audit.record(
        actor, "pile.delete", "pile", pile.id, operator_id=pile.operator_id, before=_view(pile)
    )
    db.session.execute(delete(PileHardware).where(PileHardware.pile_id == pile.id))
    db.session.delete(pile)


@transactional
def replace_hardware(actor: Actor, pile_id: int, data: dict[str, Any]) -> Pile:
    """New hardware under an existing pile number (case #25 2021-01-05); history is kept."""
    actor.require("pile.write")
    pile = get_scoped(Pile, pile_id, actor, what="充电桩")
    if not (data.get("reason") or "").strip():
        raise REASON_REQUIRED("请填写更换原因", details={"reason": ["必填"]})
    now = utcnow()
    before = _view(pile)
    current = db.session.scalar(
        select(PileHardware).where(
            PileHardware.pile_id == pile.id, PileHardware.removed_at.is_(None)
        )
    )
    if current is not None:
        current.removed_at = now
    for name in ("vendor", "model", "firmware", "serial_number"):
        if data.get(name) is not None:
            setattr(pile, name, data[name])
    db.session.add(
        PileHardware(
            pile_id=pile.id, vendor=pile.vendor, model=pile.model, firmware=pile.firmware,
            serial_number=pile.serial_number, installed_at=now, reason=data["reason"],
            actor_id=actor.admin_id,
        )
    )  # fmt: skip
    audit.record(
        actor, "pile.replace_hardware", "pile", pile.id, operator_id=pile.operator_id,
        before=before, after=_view(pile), reason=data["reason"],
    )  # fmt: skip
    return pile


def hardware_history(actor: Actor, pile_id: int) -> list[PileHardware]:
    pile = get_pile(actor, pile_id)
    return list(
        db.session.scalars(
            select(PileHardware)
            .where(PileHardware.pile_id == pile.id)
            .order_by(PileHardware.installed_at.desc(), PileHardware.id.desc())
        )
    )


@transactional
def add_connector(actor: Actor, pile_id: int, number: int) -> Connector:
    actor.require("pile.write")
    pile = get_scoped(Pile, pile_id, actor, what="充电桩")
    if not 1 <= number <= 99:
        raise CONNECTOR_NUMBER_INVALID()
    if any(c.number == number for c in pile.connectors):
        raise CONNECTOR_NUMBER_TAKEN(details={"number": number})
    conn = Connector(pile_id=pile.id, number=number, qr_payload=qr_payload(pile.code, number))
    db.session.add(conn)
    db.session.flush()
    audit.record(
        actor, "connector.create", "connector", conn.id, operator_id=pile.operator_id,
        after={"pile_code": pile.code, "number": number},
    )  # fmt: skip
    return conn


@transactional
def delete_connector(actor: Actor, connector_id: int) -> None:
    actor.require("pile.write")
    conn = db.session.get(Connector, connector_id)
    if conn is None or not actor.sees_operator(conn.pile.operator_id):
        raise NOT_FOUND("充电枪不存在", details={"id": connector_id})
    pile = conn.pile
    orders = db.session.scalar(select(func.count()).where(ChargeOrder.connector_id == conn.id))
    if orders:
        raise CONNECTOR_HAS_ORDERS(details={"order_count": orders})
    audit.record(
        actor, "connector.delete", "connector", conn.id, operator_id=pile.operator_id,
        before={"pile_code": pile.code, "number": conn.number},
    )  # fmt: skip
    db.session.delete(conn)


def require_bound(pile: Pile) -> Station:
    """A pile can sell charging only at a station (case #2: say so precisely)."""
    if pile.station is None:
        raise PILE_WITHOUT_STATION(
            f"充电桩 {pile.code} 未绑定站点", details={"pile_code": pile.code}
        )
    return pile.station
