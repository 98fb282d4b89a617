"""What an operator sells charging with: stations, piles (with hardware history under the same
code), connectors, versioned time-of-use tariffs, and the piles' online periods and faults."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.db import Base, BigId, UnitPrice, UTCDateTime, utcnow
from app.tenancy.models import Operator


class PileProtocol(enum.StrEnum):
    """The values of ``Pile.protocol``: which adapter of the pile link speaks to the pile."""

    OCPP16 = "ocpp16"
    YKC = "ykc"


class Tariff(Base):
    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("tariff_versions.id", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    current_version: Mapped[TariffVersion | None] = relationship(
        foreign_keys=[current_version_id], lazy="joined", post_update=True
    )


class TariffVersion(Base):
    __tablename__ = "tariff_versions"
    __table_args__ = (UniqueConstraint("tariff_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"), index=True)
    version: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))

    segments: Mapped[list[TariffSegment]] = relationship(
        cascade="all, delete-orphan", order_by="TariffSegment.start_minute", lazy="selectin"
    )


class TariffSegment(Base):
    __tablename__ = "tariff_segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("tariff_versions.id", ondelete="CASCADE"), index=True
    )
    start_minute: Mapped[int] = mapped_column()  # minutes of the local day, inclusive
    end_minute: Mapped[int] = mapped_column()  # exclusive; 1440 = 24:00
    tier: Mapped[str] = mapped_column(String(8))  # sharp 尖 | peak 峰 | flat 平 | valley 谷
    electricity_price: Mapped[Decimal] = mapped_column(UnitPrice)  # yuan / kWh
    service_price: Mapped[Decimal] = mapped_column(UnitPrice)  # yuan / kWh


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(50), default="")
    # GCJ-02 (the coordinate system of Chinese maps and WeChat's location API)
    longitude: Mapped[Decimal] = mapped_column(Numeric(10, 6))
    latitude: Mapped[Decimal] = mapped_column(Numeric(10, 6))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | inactive
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id"), index=True)
    # the source networks its piles may connect from ("10.8.0.0/16", "203.0.113.7"); empty:
    # any. YKC carries no secret: this and the registered number are what admits a pile
    pile_networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    operator: Mapped[Operator] = relationship(lazy="joined")
    tariff: Mapped[Tariff | None] = relationship(lazy="joined")
    visibility: Mapped[list[StationVisibility]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def visible_to_operator_ids(self) -> list[int]:
        return sorted(v.operator_id for v in self.visibility)


class StationVisibility(Base):
    """A station shared with another sub-operator or partner, who may show and sell it
    (case #12)."""

    __tablename__ = "station_visibility"

    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), primary_key=True)


class Pile(Base):
    __tablename__ = "piles"

    id: Mapped[int] = mapped_column(primary_key=True)
    # the pile number printed on the pile and spoken on the wire (OCPP path, YKC BCD)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    # nullable: a pile may be registered before it is bound (case #2 says so clearly)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(16))  # a PileProtocol
    vendor: Mapped[str] = mapped_column(String(50), default="")
    model: Mapped[str] = mapped_column(String(50), default="")
    firmware: Mapped[str] = mapped_column(String(50), default="")
    serial_number: Mapped[str] = mapped_column(String(64), default="")
    current_type: Mapped[str] = mapped_column(String(2), default="DC")  # AC | DC
    rated_power_w: Mapped[int] = mapped_column(default=0)
    # OCPP security profile 1 (HTTP Basic); empty: no password (app/catalogue/pile_access.py)
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    password_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    online: Mapped[bool] = mapped_column(default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station: Mapped[Station | None] = relationship(lazy="joined")
    connectors: Mapped[list[Connector]] = relationship(
        back_populates="pile",
        cascade="all, delete-orphan",
        order_by="Connector.number",
        lazy="selectin",
    )


class PileHardware(Base):
    """One physical unit that served under a pile code (case #25 2021-01-05)."""

    __tablename__ = "pile_hardware"

    id: Mapped[int] = mapped_column(primary_key=True)
    pile_id: Mapped[int] = mapped_column(ForeignKey("piles.id", ondelete="CASCADE"), index=True)
    vendor: Mapped[str] = mapped_column(String(50), default="")
    model: Mapped[str] = mapped_column(String(50), default="")
    firmware: Mapped[str] = mapped_column(String(50), default="")
    serial_number: Mapped[str] = mapped_column(String(64), default="")
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))


class Connector(Base):
    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("pile_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pile_id: Mapped[int] = mapped_column(ForeignKey("piles.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()  # OCPP connectorId / YKC gun number, from 1
    qr_payload: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    pile: Mapped[Pile] = relationship(back_populates="connectors")


# how many piles stand at a station, computed by the database in the same query
Station.pile_count = column_property(  # type: ignore[attr-defined]
    select(func.count(Pile.id))
    .where(Pile.station_id == Station.id)
    .correlate_except(Pile)
    .scalar_subquery(),
    deferred=False,
)


class PileOnlinePeriod(Base):
    """One stretch of a pile being connected (cases #17 2019-01-09, #18 2019-01-09)."""

    __tablename__ = "pile_online_periods"
    __table_args__ = (Index("ix_pile_online_periods_pile_online", "pile_id", "online_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pile_id: Mapped[int] = mapped_column(ForeignKey("piles.id", ondelete="CASCADE"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    online_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # closed | heartbeat_timeout | replaced | shutdown | protocol_error | reboot |
    # platform_restart (the pile-link process that held it died: closed when it restarts)
    offline_reason: Mapped[str] = mapped_column(String(32), default="")
    # the pile-link process that holds the connection (PILE_LINK_NODE): a restarted
    # process closes what it left open, never another process's piles
    node: Mapped[str] = mapped_column(String(64), default="")


class PileConnectionEvent(Base):
    """A connection refused for a known pile, or one that replaced its live connection
    (issue 15 #1): the pile's history shows who tried, from where, and why it failed.
    Repeats of the same refusal from the same address within a minute count on one row."""

    __tablename__ = "pile_connection_events"
    __table_args__ = (Index("ix_pile_connection_events_pile_at", "pile_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pile_id: Mapped[int] = mapped_column(ForeignKey("piles.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # refused | replaced
    reason: Mapped[str] = mapped_column(String(32), default="")  # an Admission value
    address: Mapped[str] = mapped_column(String(64), default="")
    protocol: Mapped[str] = mapped_column(String(16), default="")
    attempts: Mapped[int] = mapped_column(default=1)


class FaultRecord(Base):
    """A fault a pile reported, e.g. an emergency stop (case #24), with the order running."""

    __tablename__ = "fault_records"
    __table_args__ = (Index("ix_fault_records_pile_started", "pile_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pile_id: Mapped[int] = mapped_column(ForeignKey("piles.id", ondelete="CASCADE"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    connector_number: Mapped[int | None] = mapped_column()
    code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("charge_orders.id"), index=True)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
