"""QR codes drivers scan: ours (``QR_BASE_URL + "<pile_code>-<number>"``) and partners'
interconnection codes ``hlht://<ConnectorID>.<OperatorID>/<custom>`` (T/CEC 102, case
#14), and the scan answer: the connector, its state, the driver's price and whether a
charge can start now, with the specific reason when not (case #2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.catalogue.models import Connector, Pile, Station
from app.charging.starts import StartBlocker, start_blocker
from app.config import setting
from app.drivers.station_info import ConnectorView, connector_view
from app.errors import (
    CONNECTOR_UNKNOWN,
    HLHT_NOT_AVAILABLE,
    PILE_UNKNOWN,
    QR_UNKNOWN,
    DomainError,
    MissingBaseData,
)
from app.extensions import db
from app.ledger import wallet
from app.promotions import member_pricing
from app.tenancy.models import Driver

MAX_QR_LENGTH = 512

# the OperatorID of T/CEC 102 is the 9-character organisation code (8 + check character)
_HLHT = re.compile(r"^hlht://(?P<connector>[^./?#\s]{1,64})\.(?P<operator>[0-9A-Za-z]{9})(?:/|$)")

# a gun number of any size parses: one the pile lacks is CONNECTOR_UNKNOWN, not QR_UNKNOWN
_OURS = re.compile(r"^(?P<pile>[A-Za-z0-9._:-]{1,32})-(?P<number>\d{1,3})$")
_PILE_ONLY = re.compile(r"^[A-Za-z0-9._:-]{1,32}$")


@dataclass(frozen=True, slots=True)
class HlhtCode:
    connector_id: str
    operator_id: str
    custom: str


@dataclass(frozen=True, slots=True)
class PileGun:
    pile_code: str
    number: int


def parse(payload: str) -> HlhtCode | PileGun:
    """What a QR code names, without touching the database; QR_UNKNOWN when nothing."""
    text = (payload or "").strip()
    if not text or len(text) > MAX_QR_LENGTH:
        raise QR_UNKNOWN()
    if text[:7].lower() == "hlht://":
        m = _HLHT.match("hlht://" + text[7:])
        if m is None:
            raise QR_UNKNOWN()
        rest = text[m.end() :]
        return HlhtCode(m["connector"], m["operator"].upper(), rest)
    tail = _tail(text)
    m = _OURS.match(tail)
    if m is None:
        raise QR_UNKNOWN()
    return PileGun(m["pile"], int(m["number"]))


def _tail(text: str) -> str:
    base = setting("QR_BASE_URL")
    tail = text[len(base) :] if text.startswith(base) else text
    return tail.split("?", 1)[0].split("#", 1)[0].rstrip("/")


def _pile_named(text: str) -> Pile | None:
    """The registered pile a code names by its number alone (no gun), if any."""
    tail = _tail(text)
    if not _PILE_ONLY.match(tail):
        return None
    return db.session.scalar(select(Pile).where(Pile.code == tail))


def _no_such_gun(pile: Pile, number: int | None) -> DomainError:
    numbers = sorted(c.number for c in pile.connectors)
    if number is None:
        message = f"请扫描充电桩 {pile.code} 枪上的二维码（枪号 {'、'.join(map(str, numbers))}）"
    else:
        message = f"充电桩 {pile.code} 没有 {number} 号枪，请核对枪上的二维码"
    return CONNECTOR_UNKNOWN(
        message, details={"pile_code": pile.code, "number": number, "numbers": numbers}
    )


def partner_code(payload: str) -> HlhtCode | None:
    """The partner's ``hlht://`` code a payload is, or None (ours, one of our connectors'
    own payloads, or not a code at all: :func:`resolve` says which). The HTTP layer
    hands a partner's code to the interconnection context (app/drivers stays out of it)."""
    text = (payload or "").strip()
    if text[:7].lower() != "hlht://":
        return None
    if len(text) <= 200 and db.session.scalar(
        select(Connector.id).where(Connector.qr_payload == text)
    ):
        return None
    try:
        parsed = parse(text)
    except DomainError:
        return None
    return parsed if isinstance(parsed, HlhtCode) else None


def resolve(payload: str) -> Connector:
    """The connector a QR code names. QR_UNKNOWN for a code that is not ours;
    PILE_UNKNOWN / CONNECTOR_UNKNOWN for ours naming a pile or a gun the platform does not
    know; HLHT_NOT_AVAILABLE for a partner's code until roaming as a customer is live."""
    text = (payload or "").strip()
    if 0 < len(text) <= 200:
        exact = db.session.scalar(select(Connector).where(Connector.qr_payload == text))
        if exact is not None:
            return exact
    try:
        parsed = parse(text)
    except DomainError:
        whole = _pile_named(text)
        if whole is not None:  # a pile's number without a gun
            raise _no_such_gun(whole, None) from None
        raise
    if isinstance(parsed, HlhtCode):
        raise HLHT_NOT_AVAILABLE(
            details={"connector_id": parsed.connector_id, "operator_id": parsed.operator_id}
        )
    pile = db.session.scalar(select(Pile).where(Pile.code == parsed.pile_code))
    if pile is None:
        whole = _pile_named(text)  # a pile code that itself ends in "-NN"
        if whole is not None:
            raise _no_such_gun(whole, None)
    if pile is None:  # a code of ours, for a pile the platform does not know
        raise PILE_UNKNOWN(
            f"充电桩 {parsed.pile_code} 未在平台登记，请换一台充电桩或联系客服",
            details={"pile_code": parsed.pile_code},
        )
    for conn in pile.connectors:
        if conn.number == parsed.number:
            return conn
    raise _no_such_gun(pile, parsed.number)


@dataclass(frozen=True, slots=True)
class ScanResult:
    connector: ConnectorView
    station: Station | None
    price: member_pricing.SegmentPrice | None
    service_discount_rate: Any
    balance_fen: int
    can_start: bool
    reason: StartBlocker | None


def scan(driver: Driver, payload: str) -> ScanResult:
    connector = resolve(payload)
    pile = connector.pile
    station = pile.station
    view = connector_view(pile, connector)
    blocker = start_blocker(driver, connector)
    price = None
    rate = None
    if station is not None and (blocker is None or blocker.code != "STATION_NOT_SERVED"):
        try:
            dp = member_pricing.driver_price(driver, station)
            price, rate = dp.current, dp.service_discount_rate
        except MissingBaseData:
            pass
    if blocker is not None and blocker.code == "STATION_NOT_SERVED":
        station = None
    return ScanResult(
        connector=view, station=station, price=price, service_discount_rate=rate,
        balance_fen=wallet.balance_of(driver.id), can_start=blocker is None, reason=blocker,
    )  # fmt: skip
