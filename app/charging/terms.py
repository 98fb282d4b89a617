"""The terms an order is priced with beyond its tariff version: the driver's pricing group
and its service-fee rate (case #7), frozen when the order opens so that the price the
driver watches is the price they pay, and the coupon choice made before settlement."""

from __future__ import annotations

from sqlalchemy import select

from app.catalogue.models import Station
from app.charging.models import ChargeOrder, OrderTerms
from app.extensions import db
from app.promotions.member_pricing import NO_GROUP, rate_at
from app.tenancy.models import Driver


def terms_of(order: ChargeOrder) -> OrderTerms:
    """The order's frozen terms, or (for an order that has none yet) the terms it would
    be frozen with now, not stored: reads never write."""
    terms = db.session.get(OrderTerms, order.id)
    if terms is not None:
        return terms
    group, rate = NO_GROUP, None
    if order.driver_id is not None and order.station_id is not None:
        group = (
            db.session.scalar(select(Driver.pricing_group).where(Driver.id == order.driver_id))
            or NO_GROUP
        )
        operator_id = db.session.scalar(
            select(Station.operator_id).where(Station.id == order.station_id)
        )
        if operator_id is not None:
            rate = rate_at(group, order.station_id, operator_id)
    return OrderTerms(order_id=order.id, pricing_group=group, service_discount_rate=rate)


def freeze_terms(order: ChargeOrder) -> OrderTerms:
    """The order's terms, frozen now if they were not yet (the order opens, or is settled,
    or a coupon is chosen for it); no commit."""
    terms = terms_of(order)
    if terms not in db.session:
        db.session.add(terms)
        db.session.flush()
    return terms
