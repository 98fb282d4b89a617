"""Stations, piles (with hardware history under the same code) and connectors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow
from app.models.tariffs import Tariff
from app.models.tenancy import Operator


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
    protocol: Mapped[str] = mapped_column(String(16))  # ocpp16 | ykc
    vendor: Mapped[str] = mapped_column(String(50), default="")
    model: Mapped[str] = mapped_column(String(50), default="")
    firmware: Mapped[str] = mapped_column(String(50), default="")
    serial_number: Mapped[str] = mapped_column(String(64), default="")
    current_type: Mapped[str] = mapped_column(String(2), default="DC")  # AC | DC
    rated_power_w: Mapped[int] = mapped_column(default=0)
    # OCPP security profile 1 (HTTP Basic); empty: no password
    password_hash: Mapped[str] = mapped_column(String(256), default="")
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
