"""Bills and what goes into them: itemised bills with their settlement history, the terms an
order is priced with, occupancy (占位费) policies and occupancy sessions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, Fen, UnitPrice, UTCDateTime, utcnow
from app.promotions.models import PayRate


class OccupancyPolicy(Base):
    """A station's occupancy fee: free minutes, then a price per minute, optional cap per
    order. A station without an active policy charges nothing and says nothing (case #19)."""

    __tablename__ = "occupancy_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), unique=True
    )
    grace_minutes: Mapped[int] = mapped_column(default=0)
    price_per_minute: Mapped[Decimal] = mapped_column(UnitPrice)  # yuan per minute
    cap_fen: Mapped[int | None] = mapped_column(Fen)
    is_active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))


class OccupancySession(Base):
    """An order's occupancy time at a station with a policy (frozen when it opened): from
    the end of energy transfer to the first of gun returned, a new order on the connector,
    or a new order by the same driver at the station (case #5 2019-10-14)."""

    __tablename__ = "occupancy_sessions"
    __table_args__ = (
        Index("ix_occupancy_sessions_open", "ended_at", "remind_at"),
        Index("ix_occupancy_sessions_connector", "connector_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("charge_orders.id"), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    pile_id: Mapped[int] = mapped_column(ForeignKey("piles.id"))
    connector_id: Mapped[int | None] = mapped_column(ForeignKey("connectors.id"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id"), index=True)
    grace_minutes: Mapped[int] = mapped_column()
    price_per_minute: Mapped[Decimal] = mapped_column(UnitPrice)
    cap_fen: Mapped[int | None] = mapped_column(Fen)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # gun_returned | new_order_on_connector | new_order_by_driver | max_duration | correction
    end_reason: Mapped[str] = mapped_column(String(32), default="")
    billable_minutes: Mapped[int] = mapped_column(default=0)
    excluded_minutes: Mapped[int] = mapped_column(default=0)  # pile offline or faulted
    fee_fen: Mapped[int] = mapped_column(Fen, default=0)
    review_reason: Mapped[str] = mapped_column(String(32), default="")  # pile_offline | ...
    charged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Bill(Base):
    """An order's itemised bill (case #18 2020): energy, electricity, service, member
    discount, occupancy, coupon, total; one per order, amended only through adjustments."""

    __tablename__ = "bills"
    # the arrears job looks for the few bills that still owe something
    __table_args__ = (
        Index("ix_bills_arrears", "arrears_fen"),
        # the overview's sums by settlement day, the platform's and each operator's
        Index("ix_bills_settled_at", "settled_at"),
        Index("ix_bills_operator_settled", "operator_id", "settled_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("charge_orders.id"), unique=True)
    order_no: Mapped[str] = mapped_column(String(32))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id"), index=True)
    tariff_version_id: Mapped[int | None] = mapped_column(ForeignKey("tariff_versions.id"))
    pricing_group: Mapped[str] = mapped_column(String(32), default="none")
    service_discount_rate: Mapped[Decimal | None] = mapped_column(PayRate)

    energy_wh: Mapped[int] = mapped_column(Fen, default=0)
    electricity_fen: Mapped[int] = mapped_column(Fen, default=0)
    service_fen: Mapped[int] = mapped_column(Fen, default=0)
    service_discount_fen: Mapped[int] = mapped_column(Fen, default=0)
    occupancy_minutes: Mapped[int] = mapped_column(default=0)
    occupancy_fen: Mapped[int] = mapped_column(Fen, default=0)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    coupon_fen: Mapped[int] = mapped_column(Fen, default=0)
    total_fen: Mapped[int] = mapped_column(Fen, default=0)
    # taken from the wallet so far, and what the wallet could not cover (collected later)
    paid_fen: Mapped[int] = mapped_column(Fen, default=0)
    arrears_fen: Mapped[int] = mapped_column(Fen, default=0)

    estimated: Mapped[bool] = mapped_column(default=False)  # case #25: no final record yet
    # the pile's own amounts (YKC records), kept and compared, never trusted silently
    pile_electricity_fen: Mapped[int | None] = mapped_column(Fen)
    pile_service_fen: Mapped[int | None] = mapped_column(Fen)
    pile_total_fen: Mapped[int | None] = mapped_column(Fen)
    amount_mismatch: Mapped[bool] = mapped_column(default=False)

    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    adjustment_count: Mapped[int] = mapped_column(default=0)

    lines: Mapped[list[BillLine]] = relationship(
        cascade="all, delete-orphan", order_by="BillLine.position", lazy="selectin"
    )

    @property
    def charging_fen(self) -> int:
        return self.electricity_fen + self.service_fen - self.service_discount_fen


class BillLine(Base):
    """One time-of-use segment instance of a bill: energy and the rounded fees."""

    __tablename__ = "bill_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    segment_start: Mapped[datetime] = mapped_column(UTCDateTime)
    segment_end: Mapped[datetime] = mapped_column(UTCDateTime)
    tier: Mapped[str] = mapped_column(String(8))
    energy_wh: Mapped[int] = mapped_column(Fen)
    electricity_price: Mapped[Decimal] = mapped_column(UnitPrice)
    service_price: Mapped[Decimal] = mapped_column(UnitPrice)
    electricity_fen: Mapped[int] = mapped_column(Fen)
    service_fen: Mapped[int] = mapped_column(Fen)
    service_discount_fen: Mapped[int] = mapped_column(Fen, default=0)


class BillAdjustment(Base):
    """Every change of what a bill costs the driver: the first settlement (seq 1), the
    occupancy fee, a late real record, an admin correction, collected arrears. Each posts
    at most one wallet entry, keyed ``settle:{order_id}:{seq}``."""

    __tablename__ = "bill_adjustments"
    __table_args__ = (UniqueConstraint("bill_id", "seq", name="uq_bill_adjustments_bill_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    # settle | occupancy | late_record | correction | arrears
    reason: Mapped[str] = mapped_column(String(32))
    total_before_fen: Mapped[int] = mapped_column(Fen)
    total_after_fen: Mapped[int] = mapped_column(Fen)
    wallet_amount_fen: Mapped[int] = mapped_column(Fen, default=0)  # signed: debit < 0
    arrears_after_fen: Mapped[int] = mapped_column(Fen, default=0)
    wallet_entry_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_entries.id"))
    actor_type: Mapped[str] = mapped_column(String(16), default="system")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StationMeterReading(Base):
    """What the utility meter of a station says it delivered in a month (case #8), entered
    by the operator: the energy-loss report compares the platform's kWh against it."""

    __tablename__ = "station_meter_readings"
    __table_args__ = (
        UniqueConstraint("station_id", "month", name="uq_station_meter_readings_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)  # the first day of the local month
    reading_wh: Mapped[int] = mapped_column(Fen)
    note: Mapped[str] = mapped_column(String(200), default="")
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
