"""A driver's own coupons: available / used / expired, each with the exact local end of its
validity (case #10) and what it applies to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select

from app.catalogue.models import Station
from app.charging.models import ChargeOrder
from app.db import utcnow
from app.extensions import db
from app.paging import Page, paginate
from app.pricing import display_valid_until
from app.promotions.models import Coupon, CouponState
from app.tenancy.models import Driver

LIST_STATES = ("available", "used", "expired")

KIND_NAMES = {
    "fixed": "固定金额",
    "threshold": "满减",
    "percent": "折扣（封顶）",
    "service_only": "仅抵服务费",
}

STATE_NAMES = {"available": "可用", "used": "已使用", "expired": "已过期"}

SERVICE_FEE = "服务费"
WHOLE_AMOUNT = "电费和服务费"


@dataclass(frozen=True, slots=True)
class DriverCoupon:
    coupon: Coupon
    state: str
    expires_local: str  # "2019-11-13 23:59:59": the last valid second, local (case #10)
    applies_to: str
    station_names: list[str]
    used_order_no: str | None

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.coupon.kind, self.coupon.kind)

    @property
    def state_name(self) -> str:
        return STATE_NAMES[self.state]


def _query(driver_id: int, state: str, now: datetime) -> Select[tuple[Coupon]]:
    stmt = select(Coupon).where(Coupon.driver_id == driver_id)
    available = Coupon.status == CouponState.AVAILABLE
    if state == "available":
        # the expiry job runs every few minutes: a coupon past its end is expired already
        return stmt.where(available, Coupon.expires_at > now).order_by(Coupon.expires_at, Coupon.id)
    if state == "used":
        return stmt.where(Coupon.status == CouponState.USED).order_by(
            Coupon.used_at.desc(), Coupon.id.desc()
        )
    return stmt.where(
        or_(Coupon.status == CouponState.EXPIRED, and_(available, Coupon.expires_at <= now))
    ).order_by(Coupon.expires_at.desc(), Coupon.id.desc())


def _pairs(stmt: Select[tuple[int, str]]) -> dict[int, str]:
    return {key: value for key, value in db.session.execute(stmt).tuples()}


def applies_to(kind: str, station_names: list[str]) -> str:
    """``服务费`` or ``电费和服务费``, and the stations when the coupon is limited to some."""
    base = SERVICE_FEE if kind == "service_only" else WHOLE_AMOUNT
    if not station_names:
        return base
    return f"{base}；限定站点：{'、'.join(station_names)}"


def own_coupons(
    driver: Driver,
    *,
    state: str = "available",
    page: int = 1,
    page_size: int = 20,
    now: datetime | None = None,
) -> Page:
    """The driver's coupons in one state, one page: soonest end first for available ones,
    latest first for used and expired ones. Revoked coupons are not listed."""
    if state not in LIST_STATES:  # pragma: no cover - the schema validates it
        raise ValueError(state)
    result = paginate(_query(driver.id, state, now or utcnow()), page, page_size)
    coupons: list[Coupon] = result.items
    station_ids = {i for c in coupons for i in (c.station_ids or ())}
    names = _pairs(select(Station.id, Station.name).where(Station.id.in_(station_ids)))
    order_ids = {c.used_order_id for c in coupons if c.used_order_id is not None}
    order_nos = _pairs(
        select(ChargeOrder.id, ChargeOrder.order_no).where(ChargeOrder.id.in_(order_ids))
    )
    items = []
    for c in coupons:
        stations = [names[i] for i in sorted(c.station_ids or ()) if i in names]
        items.append(
            DriverCoupon(
                coupon=c,
                state=state,
                expires_local=display_valid_until(c.expires_at, c.timezone),
                applies_to=applies_to(c.kind, stations),
                station_names=stations,
                used_order_no=order_nos.get(c.used_order_id) if c.used_order_id else None,
            )
        )
    return Page(items=items, total=result.total, page=result.page, page_size=result.page_size)
