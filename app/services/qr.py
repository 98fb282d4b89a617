"""QR codes drivers scan: ours (``QR_BASE_URL + "<pile_code>-<number>"``) and partners'
interconnection codes ``hlht://<ConnectorID>.<OperatorID>/<custom>`` (T/CEC 102, case
#14), and the scan answer: the connector, its state, the driver's price and whether a
charge can start now, with the specific reason when not (case #2)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.errors import DomainError, MissingBaseData
from app.extensions import db
from app.models import Connector, Driver, Pile, Station
from app.services import charging, member_pricing, pile_commands, tariffs
from app.services.stations_public import (
    ConnectorView,
    connector_view,
    driver_operator,
    station_visible,
)

MAX_QR_LENGTH = 512
# the OperatorID of T/CEC 102 is the 9-character organisation code (8 + check character)
_HLHT = re.compile(r"^hlht://(?P<connector>[^./?#\s]{1,64})\.(?P<operator>[0-9A-Za-z]{9})(?:/|$)")
_OURS = re.compile(r"^(?P<pile>[A-Za-z0-9._:-]{1,32})-(?P<number>[1-9]\d?)$")


class QrUnknown(DomainError):
    status = 404
    code = "QR_UNKNOWN"
    message = "无法识别的二维码，请扫描充电桩上的二维码"


class HlhtNotAvailable(DomainError):
    status = 409
    code = "HLHT_NOT_AVAILABLE"
    message = "互联互通暂未开通"


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
        raise QrUnknown()
    if text[:7].lower() == "hlht://":
        m = _HLHT.match("hlht://" + text[7:])
        if m is None:
            raise QrUnknown()
        rest = text[m.end() :]
        return HlhtCode(m["connector"], m["operator"].upper(), rest)
    base = current_app.config["QR_BASE_URL"]
    tail = text[len(base) :] if text.startswith(base) else text
    tail = tail.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    m = _OURS.match(tail)
    if m is None:
        raise QrUnknown()
    return PileGun(m["pile"], int(m["number"]))


def resolve(payload: str) -> Connector:
    """The connector a QR code names: QR_UNKNOWN, or HLHT_NOT_AVAILABLE for a partner's
    code until interconnection roaming is live (case #14)."""
    text = (payload or "").strip()
    if 0 < len(text) <= 200:
        exact = db.session.scalar(select(Connector).where(Connector.qr_payload == text))
        if exact is not None:
            return exact
    parsed = parse(text)
    if isinstance(parsed, HlhtCode):
        raise HlhtNotAvailable(
            details={"connector_id": parsed.connector_id, "operator_id": parsed.operator_id}
        )
    pile = db.session.scalar(select(Pile).where(Pile.code == parsed.pile_code))
    for conn in pile.connectors if pile is not None else ():
        if conn.number == parsed.number:
            return conn
    raise QrUnknown()


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
    :func:`app.services.charging.request_remote_start` checks; None when nothing stops it."""
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
    if not pile_commands.port().is_online(pile.code):
        return StartBlocker.of(charging.PileOffline("充电桩离线，请稍后再试或更换充电桩"))
    if connector.status == "faulted":
        return StartBlocker.of(charging.ConnectorFaulted())
    active = charging.active_order_on(connector.id)
    if active is not None or connector.status in charging.UNAVAILABLE_STATES:
        details: dict[str, Any] = {}
        if active is not None and active.driver_id == driver.id:
            details["own_order_no"] = active.order_no  # the app opens the live page
        return StartBlocker("CONNECTOR_BUSY", charging.ConnectorBusy.message, details)
    balance = driver.wallet.balance_fen
    minimum = charging.min_start_balance_fen()
    if balance < minimum:
        return StartBlocker(
            "WALLET_INSUFFICIENT", "余额不足，请先充值",
            {"balance_fen": balance, "min_start_balance_fen": minimum},
        )  # fmt: skip
    return None


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
        balance_fen=driver.wallet.balance_fen, can_start=blocker is None, reason=blocker,
    )  # fmt: skip
