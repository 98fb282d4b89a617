"""The terms an order is priced with beyond its tariff version, frozen once (case #7)."""

from __future__ import annotations

from sqlalchemy import select

from app.billing.models import OrderTerms
from app.catalogue.models import Station
from app.charging.models import ChargeOrder
from app.extensions import db
from app.promotions.member_pricing import NO_GROUP, rate_at
from app.tenancy.models import Driver


def order_terms(order: ChargeOrder) -> OrderTerms:
    """The order's pricing terms, frozen the first time anyone prices the order (the live
    view, the balance guard or settlement), so the price never jumps; no commit."""
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
    terms = OrderTerms(order_id=order.id, pricing_group=group, service_discount_rate=rate)
    db.session.add(terms)
    db.session.flush()
    return terms
