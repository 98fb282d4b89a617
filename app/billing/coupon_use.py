"""Coupons on an order: which ones apply, the driver's choice, use at settlement, release."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select

from app.catalogue.models import Station
from app.charging.models import ChargeOrder, OrderState, OrderTerms
from app.charging.terms import freeze_terms
from app.db import utcnow
from app.errors import COUPON_NOT_APPLICABLE, ORDER_ALREADY_SETTLED
from app.extensions import db
from app.pricing import (
    Bill,
    choose_default_coupon,
    coupon_deduction,
)
from app.promotions.coupons import lock_coupon, option_of
from app.promotions.models import Coupon, CouponState
from app.uow import transactional

# built once: every live-order estimate runs it (its cache key is computed once)
_USABLE = (
    select(Coupon)
    .where(
        Coupon.driver_id == bindparam("driver_id"),
        Coupon.status == CouponState.AVAILABLE,
        Coupon.operator_id
        == select(Station.operator_id)
        .where(Station.id == bindparam("station_id"))
        .scalar_subquery(),
        Coupon.valid_from <= bindparam("at"),
        Coupon.expires_at > bindparam("at"),
    )
    .order_by(Coupon.expires_at, Coupon.id)
)


def usable_coupons(order: ChargeOrder, at: datetime) -> list[Coupon]:
    """The driver's coupons that may apply to this order (operator, validity window)."""
    if order.driver_id is None or order.station_id is None:
        return []
    params = {"driver_id": order.driver_id, "station_id": order.station_id, "at": at}
    return list(db.session.scalars(_USABLE, params))


@transactional
def choose_coupon(
    order: ChargeOrder, coupon_id: int | None, *, use_default: bool = False
) -> OrderTerms:
    """The driver picks the coupon for this order before it is settled (cases #9, #13):
    a coupon id, ``None`` for no coupon, or ``use_default`` to go back to the default."""
    if order.state in (OrderState.SETTLED, OrderState.FAILED, OrderState.ABNORMAL):
        raise ORDER_ALREADY_SETTLED()
    terms = freeze_terms(order)
    if use_default:
        terms.coupon_choice, terms.chosen_coupon_id = "default", None
    elif coupon_id is None:
        terms.coupon_choice, terms.chosen_coupon_id = "none", None
    else:
        usable = {c.id: c for c in usable_coupons(order, utcnow())}
        coupon = usable.get(coupon_id)
        if coupon is None or (
            coupon.station_ids is not None and order.station_id not in coupon.station_ids
        ):
            raise COUPON_NOT_APPLICABLE(details={"coupon_id": coupon_id})  # fmt: skip
        terms.coupon_choice, terms.chosen_coupon_id = "chosen", coupon_id
    return terms


def pick_for_settlement(
    order: ChargeOrder, terms: OrderTerms, bill: Bill, at: datetime
) -> tuple[Coupon | None, int]:
    """The coupon this bill uses, locked, with its deduction: the driver's choice while it
    still applies, else the default (largest deduction, soonest expiry, lowest threshold)."""
    if terms.coupon_choice == "none" or order.station_id is None:
        return None, 0
    candidates = usable_coupons(order, at)
    if terms.coupon_choice == "chosen" and terms.chosen_coupon_id is not None:
        for coupon in candidates:
            if coupon.id == terms.chosen_coupon_id:
                locked = lock_coupon(coupon.id)
                amount = coupon_deduction(option_of(locked), bill, order.station_id, now=at)
                if locked.status == CouponState.AVAILABLE and amount > 0:
                    return locked, amount
    for _ in range(len(candidates)):
        best = choose_default_coupon([option_of(c) for c in candidates], bill, order.station_id, at)
        if best is None:
            return None, 0
        locked = lock_coupon(int(best.id))
        if locked.status == CouponState.AVAILABLE:
            return locked, coupon_deduction(option_of(locked), bill, order.station_id, now=at)
        candidates = [c for c in candidates if c.id != locked.id]  # taken meanwhile
    return None, 0


def mark_used(coupon: Coupon, order: ChargeOrder, amount_fen: int, at: datetime) -> None:
    coupon.status = CouponState.USED
    coupon.used_at = at
    coupon.used_order_id = order.id
    coupon.used_amount_fen = amount_fen


def release(coupon: Coupon, at: datetime) -> None:
    """A re-settled bill no longer uses the coupon: give it back if still valid."""
    coupon.status = CouponState.AVAILABLE if coupon.expires_at > at else CouponState.EXPIRED
    coupon.used_at = None
    coupon.used_order_id = None
    coupon.used_amount_fen = 0
