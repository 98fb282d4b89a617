"""Tariffs: a named plan with immutable versions of 24 h time-of-use segments.

A station points at a tariff; the tariff points at its current version; an order keeps
the version it was priced with, so editing prices never rewrites old bills.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UnitPrice, UTCDateTime, utcnow


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
