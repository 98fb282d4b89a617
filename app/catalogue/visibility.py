"""Which stations an operator's drivers may see and use (case #12)."""

from __future__ import annotations

from app.catalogue.models import Station
from app.errors import NOT_FOUND
from app.extensions import db
from app.tenancy.models import Driver, Operator


def driver_operator(driver: Driver) -> Operator:
    op = db.session.get(Operator, driver.operator_id)
    if op is None:  # pragma: no cover - foreign key
        raise NOT_FOUND("运营商不存在")
    return op


def station_visible(op: Operator, station: Station) -> bool:
    if station.status != "active":
        return False
    return (
        op.is_platform or station.operator_id == op.id or op.id in station.visible_to_operator_ids
    )
