"""The money world: a station, a tariff, a driver with a wallet, and the readers of
bills, wallet entries and notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from app.billing.models import Bill
from app.catalogue.models import Connector, Pile, Station, Tariff, TariffSegment, TariffVersion
from app.charging.models import ChargeOrder
from app.charging.pile_events import PileEventService
from app.charging.port import (
    ConnectorState,
    ConnectorStatusChanged,
    MeterSample,
    PileConnected,
    SessionStarted,
    SessionStopped,
)
from app.drivers import members
from app.extensions import db
from app.ledger import wallet
from app.ledger.models import Wallet, WalletEntry
from app.ledger.wallet import wallet_of
from app.notices.models import OutboxMessage
from app.tenancy.models import Driver, Operator
from tests.support.ports import pile_events

# case #18 2020-04-14: one price all day, electricity 0.6420 + service 0.3523 yuan/kWh
FLAT_18 = (("00:00", "24:00", "flat", "0.6420", "0.3523"),)
_serial = count(1)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def recent(hours: float = 14) -> datetime:
    """A whole minute some hours ago: occupancy and validity run against the real clock.

    Never in the last two hours of a Shanghai day: a session started there would cross
    local midnight and be billed in one line per day, which changes the rounding (the
    suite failed when run between 23:40 and 24:00 local time)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    at = now - timedelta(hours=hours)
    if at.astimezone(SHANGHAI).hour >= 22:
        at -= timedelta(hours=3)
    return at


@dataclass
class World:
    app: Flask
    operator: Operator
    station: Station
    pile: Pile
    driver: Driver
    card: str
    svc: PileEventService
    protocol: str = "ocpp16"
    refs: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.pile.code

    def connect(self, at: datetime) -> None:
        assert self.svc.handle(PileConnected(self.code, self.protocol, at)).accepted

    def start(
        self,
        at: datetime,
        *,
        connector: int = 1,
        samples: Sequence[tuple[float, int]] = (),
        card: str | None = None,
    ) -> str:
        """A card session from ``at``; ``samples`` are (minutes after start, Wh so far)."""
        serial = None
        if self.protocol == "ykc":
            serial = f"{self.code}{connector:02d}{next(_serial):016d}"[:32]
        reply = self.svc.handle(
            SessionStarted(self.code, connector, at, meter_start_wh=0, id_tag=card or self.card,
                           pile_session_ref=serial)
        )  # fmt: skip
        assert reply.accepted and reply.session_ref, reply
        ref = reply.session_ref
        for minute, wh in samples:
            self.sample(ref, at + timedelta(minutes=minute), wh, connector=connector)
        return ref

    def sample(self, ref: str, at: datetime, wh: int, *, connector: int = 1) -> None:
        self.svc.handle(
            MeterSample(self.code, connector, at, ref, energy_wh=wh,
                        energy_is_session_relative=self.protocol == "ykc")
        )  # fmt: skip

    def stop(self, ref: str, at: datetime, wh: int, **kw: Any) -> None:
        if self.protocol == "ykc":
            event = SessionStopped(self.code, ref, at, meter_stop_wh=None, energy_wh=wh,
                                   reason="0x40", **kw)  # fmt: skip
        else:
            event = SessionStopped(self.code, ref, at, meter_stop_wh=wh, reason="Local", **kw)
        assert self.svc.handle(event).accepted

    def status(self, state: ConnectorState, at: datetime, connector: int = 1) -> None:
        self.svc.handle(ConnectorStatusChanged(self.code, connector, state, at))

    def order(self, ref: str) -> ChargeOrder:
        db.session.expire_all()
        order = db.session.scalar(
            select(ChargeOrder).where(
                ChargeOrder.pile_id == self.pile.id, ChargeOrder.pile_session_ref == ref
            )
        )
        assert order is not None
        return order

    def balance(self) -> int:
        db.session.expire_all()
        return int(
            db.session.scalar(select(Wallet.balance_fen).where(Wallet.driver_id == self.driver.id))
            or 0
        )


def build_world(
    app: Flask,
    *,
    name: str = "测试运营商",
    code: str = "MONEY-PILE-01",
    segments: Sequence[tuple[str, str, str, str, str]] = FLAT_18,
    balance: int = 10_000,
    protocol: str = "ocpp16",
    timezone: str = "Asia/Shanghai",
    operator: Operator | None = None,
) -> World:
    op = operator
    if op is None:
        op = Operator(name=name, kind="sub")
        db.session.add(op)
        db.session.flush()
    tariff = Tariff(operator_id=op.id, name=f"{code} 电价")
    db.session.add(tariff)
    db.session.flush()
    version = TariffVersion(
        tariff_id=tariff.id,
        version=1,
        segments=[
            TariffSegment(start_minute=_minutes(a), end_minute=_minutes(b), tier=tier,
                          electricity_price=Decimal(e), service_price=Decimal(s))
            for a, b, tier, e, s in segments
        ],
    )  # fmt: skip
    db.session.add(version)
    db.session.flush()
    tariff.current_version = version
    station = Station(
        operator_id=op.id, name=f"{code} 站", longitude=Decimal("113.9"),
        latitude=Decimal("22.5"), tariff_id=tariff.id, timezone=timezone,
    )  # fmt: skip
    db.session.add(station)
    db.session.flush()
    pile = Pile(code=code, operator_id=op.id, station_id=station.id, protocol=protocol)
    pile.connectors = [Connector(number=n, qr_payload=f"{code}-{n}") for n in (1, 2)]
    db.session.add(pile)
    db.session.flush()
    driver = members.create_driver(op.id, openid=f"{code}-openid", nickname="测试车主")
    card = f"CARD-{code}"[:32]
    members.add_card(driver, card)
    if balance:
        wallet.post_entry(driver.id, balance, "topup", ref_type="payment", ref_id=f"{code}-init")
    db.session.commit()
    return World(app, op, station, pile, driver, card, pile_events(app), protocol)


def bill_of(order: ChargeOrder) -> Bill:
    db.session.expire_all()
    bill = db.session.scalar(select(Bill).where(Bill.order_id == order.id))
    assert bill is not None
    return bill


def entries(driver: Driver) -> list[WalletEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(WalletEntry)
            .where(WalletEntry.wallet_id == wallet_of(driver.id).id)
            .order_by(WalletEntry.id)
        )
    )


def outbox(kind: str | None = None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(stmt))
