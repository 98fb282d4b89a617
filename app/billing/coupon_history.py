"""The usage history of a coupon template (case #6): every coupon it issued, who holds it,
and for a used one the order it paid on, when and how much. It reads the coupon rows that
settlement writes in the order's own transaction, so what is shown is what was charged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.charging.models import ChargeOrder
from app.extensions import db
from app.paging import Page, paginate
from app.pricing import display_valid_until
from app.promotions.coupons import COUPON_READ
from app.promotions.models import Coupon, CouponTemplate
from app.tenancy.models import Driver
from app.tenancy.scope import Actor, get_scoped


@dataclass(frozen=True, slots=True)
class CouponUse:
    coupon_id: int
    driver_id: int
    driver_nickname: str
    driver_phone: str
    status: str
    source: str
    reason: str
    granted_at: datetime
    valid_until: str  # local, to the second (case #10)
    used_at: datetime | None
    used_amount_fen: int
    order_id: int | None
    order_no: str | None
    revoked_at: datetime | None
    revoke_reason: str


def template_usage(
    actor: Actor,
    template_id: int,
    *,
    status: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    """The coupons of one template, newest first, with holder and order (scoped)."""
    actor.require(COUPON_READ)
    template = get_scoped(CouponTemplate, template_id, actor, what="优惠券模板")
    stmt = select(Coupon).where(Coupon.template_id == template.id)
    if status:
        stmt = stmt.where(Coupon.status == status)
    found = paginate(stmt.order_by(Coupon.id.desc()), page, page_size)
    coupons: list[Coupon] = found.items
    drivers = {
        d.id: d
        for d in db.session.scalars(
            select(Driver).where(Driver.id.in_({c.driver_id for c in coupons}))
        )
    }
    order_ids = {c.used_order_id for c in coupons if c.used_order_id is not None}
    orders: dict[int, str] = {}
    if order_ids:
        rows = db.session.execute(
            select(ChargeOrder.id, ChargeOrder.order_no).where(ChargeOrder.id.in_(order_ids))
        )
        orders = {int(oid): str(no) for oid, no in rows}
    items = []
    for c in coupons:
        driver = drivers.get(c.driver_id)
        items.append(
            CouponUse(
                coupon_id=c.id, driver_id=c.driver_id,
                driver_nickname=driver.nickname if driver else "",
                driver_phone=driver.phone if driver else "",
                status=c.status, source=c.source, reason=c.reason, granted_at=c.granted_at,
                valid_until=display_valid_until(c.expires_at, c.timezone), used_at=c.used_at,
                used_amount_fen=c.used_amount_fen, order_id=c.used_order_id,
                order_no=orders.get(c.used_order_id) if c.used_order_id else None,
                revoked_at=c.revoked_at, revoke_reason=c.revoke_reason,
            )
        )  # fmt: skip
    return Page(items=items, total=found.total, page=found.page, page_size=found.page_size)
