"""故障记录 for the console: each fault or emergency stop with its pile code, station and the
order that was running then (order number and driver), case #24. The rows come from the
pile history (catalogue); the names of a page are loaded in one query each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.catalogue import pile_history
from app.catalogue.models import FaultRecord, Pile, Station
from app.charging.models import ChargeOrder
from app.extensions import db
from app.paging import Page
from app.tenancy.models import Driver
from app.tenancy.scope import Actor


def faults(
    actor: Actor,
    *,
    since: datetime,
    until: datetime,
    pile_id: int | None = None,
    station_id: int | None = None,
    code: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    found = pile_history.faults(
        actor, since=since, until=until, pile_id=pile_id, station_id=station_id, code=code,
        page=page, page_size=page_size,
    )  # fmt: skip
    return Page(
        items=with_names(found.items), total=found.total, page=found.page,
        page_size=found.page_size,
    )  # fmt: skip


def with_names(rows: list[FaultRecord]) -> list[dict[str, Any]]:
    """Faults as dicts with pile code, station name and zone, the order running then and
    its driver's phone: one query each, whatever the number of faults (a page or an
    export's batch)."""
    piles = dict(
        db.session.execute(select(Pile.id, Pile.code).where(Pile.id.in_({r.pile_id for r in rows})))
        .tuples()
        .all()
    )
    stations = {
        s.id: s
        for s in db.session.execute(
            select(Station.id, Station.name, Station.timezone).where(
                Station.id.in_({r.station_id for r in rows if r.station_id is not None})
            )
        )
    }
    orders = {
        o.id: o
        for o in db.session.scalars(
            select(ChargeOrder).where(
                ChargeOrder.id.in_({r.order_id for r in rows if r.order_id is not None})
            )
        )
    }
    driver_ids = {o.driver_id for o in orders.values() if o.driver_id is not None}
    phones = dict(
        db.session.execute(select(Driver.id, Driver.phone).where(Driver.id.in_(driver_ids)))
        .tuples()
        .all()
    )
    items: list[dict[str, Any]] = []
    for r in rows:
        order = orders.get(r.order_id) if r.order_id is not None else None
        station = stations.get(r.station_id) if r.station_id is not None else None
        items.append(
            {
                "id": r.id, "pile_id": r.pile_id, "pile_code": piles.get(r.pile_id, ""),
                "station_id": r.station_id,
                "station_name": station.name if station else "",
                "timezone": station.timezone if station else None,
                "connector_number": r.connector_number, "code": r.code,
                "description": r.description, "started_at": r.started_at,
                "ended_at": r.ended_at, "order_id": r.order_id,
                "order_no": order.order_no if order else None,
                "driver_phone": (phones.get(order.driver_id) or "")
                if order and order.driver_id else "",
            }
        )  # fmt: skip
    return items
