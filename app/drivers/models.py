"""Driver support: customer-service phones with time windows (case #16) and driver
certification applications with their uploaded images (case #4 2019-10-09)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow

CERTIFICATION_KINDS = ("taxi", "ride_hailing")


class CertificationState(enum.StrEnum):
    """pending → approved | rejected; approved → revoked."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


CERTIFICATION_STATES = tuple(CertificationState)

CERTIFICATION_FILE_ROLES = ("id_card", "driving_licence", "vehicle_photo")


class CustomerServicePhone(Base):
    """A sub-operator's customer-service number and the local time window it answers in.

    ``start_minute`` > ``end_minute`` crosses midnight (21:00-09:00 is 1260 → 540);
    equal means all day.
    """

    __tablename__ = "customer_service_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    label: Mapped[str] = mapped_column(String(50), default="客服电话")
    phone: Mapped[str] = mapped_column(String(30))
    start_minute: Mapped[int] = mapped_column(default=0)
    end_minute: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CertificationApplication(Base):
    """A driver's request to join the taxi or ride-hailing pricing group.

    pending → approved | rejected; approved → revoked. One pending application per driver
    (a partial unique index says so to concurrent requests too).
    """

    __tablename__ = "certification_applications"
    __table_args__ = (
        Index(
            "uq_certification_applications_pending_driver",
            "driver_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # taxi | ride_hailing
    state: Mapped[str] = mapped_column(String(16), default=CertificationState.PENDING, index=True)
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))

    files: Mapped[list[CertificationFile]] = relationship(
        cascade="all, delete-orphan", order_by="CertificationFile.id", lazy="selectin"
    )


class CertificationFile(Base):
    """One uploaded image; the bytes live behind the storage adapter under ``storage_key``."""

    __tablename__ = "certification_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_applications.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(24))  # id_card | driving_licence | vehicle_photo
    storage_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
