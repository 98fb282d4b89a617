"""What operators look back on: pile online/offline periods and fault records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, UTCDateTime


class PileOnlinePeriod(Base):
    """One stretch of a pile being connected (cases #17 2019-01-09, #18 2019-01-09)."""

    __tablename__ = "pile_online_periods"
    __table_args__ = (Index("ix_pile_online_periods_pile_online", "pile_id", "online_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pile_id: Mapped[int] = mapped_column(ForeignKey("piles.id", ondelete="CASCADE"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    online_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # closed | heartbeat_timeout | replaced | shutdown | protocol_error | reboot
    offline_reason: Mapped[str] = mapped_column(String(32), default="")


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
