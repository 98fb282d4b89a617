"""Charge orders (the charging session), their meter samples and the raw pile messages."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, Fen, UTCDateTime, postgresql_only, utcnow, with_trigram_ops
from app.promotions.models import PayRate

# The review reason that holds an order's money: its energy reading cannot be believed (a
# meter glitch such as 0xFFFFFFFF, a meter that went backwards, a value that is no number,
# more energy than the pile's power could deliver in the time). Set by the pile events
# (unreadable values) and by billing (implausible ones); cleared by an operator's decision.
HELD_FOR_REVIEW = "implausible_energy"
# the review flag of an order a later session on its connector closed (issue 15 #7)
SUPERSEDED = "superseded"
# the start method of a partner platform's driver on our pile (T/CEC 102): no wallet, the
# partner pays its bills by statement, so nothing it costs is anyone's arrears
ROAMING = "roaming"


class OrderState(enum.StrEnum):
    """Where a charge order is; it moves only through :mod:`app.charging.session`."""

    CREATED = "created"
    STARTING = "starting"  # the start command is on its way to the pile
    CHARGING = "charging"
    STOPPING = "stopping"  # end-of-charge seen (or a stop accepted): awaiting the record
    FINISHED = "finished"  # the final record is in; not yet billed
    SETTLED = "settled"  # billed and paid for (or owing arrears)
    FAILED = "failed"  # the start was refused or timed out
    ABNORMAL = "abnormal"  # a record that matched no session


# orders that still hold their connector
ACTIVE_STATES = (OrderState.CREATED, OrderState.STARTING, OrderState.CHARGING, OrderState.STOPPING)
# orders whose final record has come
CLOSED_STATES = (OrderState.FINISHED, OrderState.SETTLED)


# orders that hold their connector against another start
RUNNING_STATES = (OrderState.CREATED, OrderState.STARTING, OrderState.CHARGING)
_RUNNING = text("state IN ('created', 'starting', 'charging')")


class ChargeOrder(Base):
    __tablename__ = "charge_orders"
    __table_args__ = (
        # a pile's own session reference (OCPP transaction id, YKC serial) is one order
        UniqueConstraint("pile_id", "pile_session_ref", name="uq_charge_orders_pile_session"),
        Index("ix_charge_orders_connector_state", "connector_id", "state"),
        # one session at a time on a connector (issue 15 #7): of two starts at once, the
        # second one's insert fails and it answers CONNECTOR_BUSY. An order awaiting its
        # record (stopping) leaves the connector to the next session.
        Index(
            "uq_charge_orders_connector_running",
            "connector_id",
            unique=True,
            postgresql_where=_RUNNING,
            sqlite_where=_RUNNING,
        ),
        Index("ix_charge_orders_state_updated", "state", "updated_at"),
        # the console's search by part of a number (LIKE '%part%', 3 characters or more)
        # on PostgreSQL; SQLite scans, as it always has (migration 0025)
        postgresql_only(
            Index(
                "ix_charge_orders_order_no_trgm",
                "order_no",
                postgresql_using="gin",
                postgresql_ops={"order_no": "gin_trgm_ops"},
            )
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    # nullable only for a record from a pile that names no known session or station
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    pile_id: Mapped[int] = mapped_column(ForeignKey("piles.id"), index=True)
    connector_id: Mapped[int | None] = mapped_column(ForeignKey("connectors.id"))
    connector_number: Mapped[int | None] = mapped_column()
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id"), index=True)
    id_tag: Mapped[str] = mapped_column(String(40), default="")
    # remote | card | password | unknown | roaming
    start_method: Mapped[str] = mapped_column(String(16))
    client_request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=OrderState.CREATED)
    pile_session_ref: Mapped[str | None] = mapped_column(String(40))
    tariff_version_id: Mapped[int | None] = mapped_column(ForeignKey("tariff_versions.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")

    meter_start_wh: Mapped[int | None] = mapped_column(Fen)
    meter_stop_wh: Mapped[int | None] = mapped_column(Fen)
    energy_wh: Mapped[int] = mapped_column(Fen, default=0)
    last_meter_wh: Mapped[int | None] = mapped_column(Fen)
    last_meter_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    power_w: Mapped[int | None] = mapped_column()
    soc_percent: Mapped[int | None] = mapped_column()

    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # energy transfer over (occupancy starts here) and the gun back in its holster
    energy_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gun_returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str] = mapped_column(String(64), default="")
    stop_requested_by: Mapped[str] = mapped_column(String(16), default="")
    final_record_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awaiting_record_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # review flags: offline while charging, final record mismatch, estimated bill, ...
    # (HELD_FOR_REVIEW: the energy is not believable, nothing is debited until an
    # operator decides)
    abnormal_reason: Mapped[str] = mapped_column(String(64), default="")
    offline_during: Mapped[bool] = mapped_column(default=False)
    late_record: Mapped[bool] = mapped_column(default=False)
    pile_amounts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    failure_reason: Mapped[str] = mapped_column(String(200), default="")

    total_fen: Mapped[int | None] = mapped_column(Fen)  # set at settlement
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    samples: Mapped[list[MeterSampleRecord]] = relationship(
        order_by="MeterSampleRecord.at", lazy="noload", viewonly=True
    )


with_trigram_ops(ChargeOrder.__table__)  # type: ignore[arg-type]


class MeterSampleRecord(Base):
    __tablename__ = "meter_samples"
    __table_args__ = (Index("ix_meter_samples_order_at", "order_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("charge_orders.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    energy_wh: Mapped[int | None] = mapped_column(Fen)  # energy delivered in this order
    power_w: Mapped[int | None] = mapped_column()
    voltage_dv: Mapped[int | None] = mapped_column()  # 0.1 V
    current_da: Mapped[int | None] = mapped_column()  # 0.1 A
    soc_percent: Mapped[int | None] = mapped_column()


class PileMessage(Base):
    """The raw message of every start, stop and transaction record, kept for audit."""

    __tablename__ = "pile_messages"
    __table_args__ = (Index("ix_pile_messages_pile_at", "pile_code", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pile_code: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("charge_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # session_started | session_stopped | ...
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderTerms(Base):
    """What an order is priced with beyond its tariff version, frozen the first time anyone
    prices it (so the live price and the bill agree, case #7), and the driver's coupon
    choice before settlement (cases #9, #13)."""

    __tablename__ = "order_terms"

    order_id: Mapped[int] = mapped_column(ForeignKey("charge_orders.id"), primary_key=True)
    pricing_group: Mapped[str] = mapped_column(String(32), default="none")
    service_discount_rate: Mapped[Decimal | None] = mapped_column(PayRate)
    coupon_choice: Mapped[str] = mapped_column(String(16), default="default")  # |none|chosen
    chosen_coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PileClockSkew(Base):
    """A pile time that could not be believed (issue 14: a StatusNotification stamped 772
    minutes ahead charged ¥68.20 of occupancy that had not happened): the server's time
    was used instead, and both are kept here. An order with a row is in the review queue
    (``pile_clock``); its money was computed from the server's time."""

    __tablename__ = "pile_clock_skews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pile_code: Mapped[str] = mapped_column(String(32), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("charge_orders.id"), index=True)
    what: Mapped[str] = mapped_column(String(32))  # status | session_start | meter | stop...
    pile_at: Mapped[datetime] = mapped_column(UTCDateTime)  # what the pile said
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the server's time, used
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
