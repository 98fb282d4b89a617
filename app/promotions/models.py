"""Coupons (优惠券), top-up offers that grant them, and the pricing groups with their
service-fee discounts (cases #5 2019-10-28, #7)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, Fen, UTCDateTime, utcnow

PRICING_GROUPS = ("none", "ride_hailing", "taxi")

# a pay-rate: the fraction of the service fee that is paid, 七折 = 0.7000 (case #7)
PayRate = Numeric(5, 4)

BUILTIN_PRICING_GROUPS = {"ride_hailing": "网约车", "taxi": "出租车"}


class PricingGroup(Base):
    """A member group with its own service-fee discount (ride-hailing, taxi, or one an
    operator adds). ``Driver.pricing_group`` holds the code; ``operator_id`` None marks a
    platform-wide group."""

    __tablename__ = "pricing_groups"
    __table_args__ = (
        UniqueConstraint("operator_id", "code", name="uq_pricing_groups_operator_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceDiscount(Base):
    """What a group pays of the service fee at a sub-operator's stations (case #7: 0.7),
    optionally for one station only (the station's row wins over the operator-wide one)."""

    __tablename__ = "service_discounts"
    __table_args__ = (
        UniqueConstraint(
            "operator_id", "group_code", "station_id", name="uq_service_discounts_scope"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    group_code: Mapped[str] = mapped_column(String(32))
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    rate: Mapped[Decimal] = mapped_column(PayRate)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CouponState(enum.StrEnum):
    AVAILABLE = "available"
    USED = "used"  # paid part of a bill
    EXPIRED = "expired"
    REVOKED = "revoked"  # by an admin, or with the refund of the top-up that granted it


COUPON_STATUSES = tuple(CouponState)

COUPON_SOURCES = ("admin", "topup", "registration", "group")


class CouponTemplate(Base):
    """What a coupon is worth and where and how long it is valid.

    Kinds as :class:`app.pricing.CouponOption`: fixed, threshold (满减), percent
    (a pay-rate with a cap), service_only. Validity is either fixed dates
    (``valid_from``/``valid_until``, exclusive end) or ``validity_days`` /
    ``validity_months`` counted from the grant in the station's local calendar (case #10).
    """

    __tablename__ = "coupon_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(Fen, default=0)
    threshold_fen: Mapped[int] = mapped_column(Fen, default=0)
    percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    cap_fen: Mapped[int | None] = mapped_column(Fen)
    # None: every station of the operator; otherwise only these stations
    station_ids: Mapped[list[int] | None] = mapped_column(JSON)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    validity_days: Mapped[int | None] = mapped_column()
    validity_months: Mapped[int | None] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    per_driver_limit: Mapped[int | None] = mapped_column()  # coupons one driver may receive
    registration_quantity: Mapped[int] = mapped_column(default=0)  # granted on sign-up
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Coupon(Base):
    """A coupon a driver holds. Its terms are copied from the template at the grant, so
    editing a template never changes coupons already given."""

    __tablename__ = "coupons"
    # Few and partial indexes on purpose: the expiry job rewrites many rows at once and
    # every index a row belongs to costs an entry per rewritten row. Expired coupons leave
    # the "available" index, so expiry and reminders only ever scan coupons still available.
    __table_args__ = (
        Index("ix_coupons_driver_status", "driver_id", "status"),
        Index(
            "ix_coupons_available_expires",
            "expires_at",
            postgresql_where=text("status = 'available'"),
            sqlite_where=text("status = 'available'"),
        ),
        # only top-up and registration coupons carry a reference to look them up by
        Index(
            "ix_coupons_source_ref",
            "source_ref",
            postgresql_where=text("source_ref <> ''"),
            sqlite_where=text("source_ref <> ''"),
        ),
        # a coupon pays for one order; most coupons are unused (NULL) and stay out of it
        Index(
            "uq_coupons_used_order_id",
            "used_order_id",
            unique=True,
            postgresql_where=text("used_order_id IS NOT NULL"),
            sqlite_where=text("used_order_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(Fen, default=0)
    threshold_fen: Mapped[int] = mapped_column(Fen, default=0)
    percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    cap_fen: Mapped[int | None] = mapped_column(Fen)
    station_ids: Mapped[list[int] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=CouponState.AVAILABLE)
    source: Mapped[str] = mapped_column(String(16))  # admin | topup | registration
    source_ref: Mapped[str] = mapped_column(String(64), default="")  # payment ref, ...
    reason: Mapped[str] = mapped_column(String(200), default="")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # exclusive (case #10)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_order_id: Mapped[int | None] = mapped_column(ForeignKey("charge_orders.id"))
    used_amount_fen: Mapped[int] = mapped_column(Fen, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TopUpOffer(Base):
    """ "Top up ¥100, get ¥50 in coupons": what a top-up of at least ``min_topup_fen``
    grants, stated to the driver as a count and a total (case #5 2019-10-28)."""

    __tablename__ = "topup_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    min_topup_fen: Mapped[int] = mapped_column(Fen)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[TopUpOfferItem]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TopUpOfferItem.id"
    )


class TopUpOfferItem(Base):
    __tablename__ = "topup_offer_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(
        ForeignKey("topup_offers.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    quantity: Mapped[int] = mapped_column(default=1)

    template: Mapped[CouponTemplate] = relationship(lazy="joined")


class TopUpGrant(Base):
    """One top-up that earned coupons: applied at most once per payment, revoked with the
    top-up's refund (case #4 2019-10-15)."""

    __tablename__ = "topup_grants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_ref: Mapped[str] = mapped_column(String(64), unique=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("topup_offers.id"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"), index=True)
    topup_fen: Mapped[int] = mapped_column(Fen)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
