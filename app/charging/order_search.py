"""Order search for the console: by order number, driver (phone, openid), station, pile,
state and time range, paged on the server.

A sub-operator sees its own orders, and read-only the orders its own drivers made at a
station another operator shares with it (case #12). A page's stations, piles and drivers
are loaded in one query each, never per order."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import ColumnElement, Select, and_, or_, select
from typing_extensions import Unpack

from app.catalogue.models import Pile, Station, StationVisibility
from app.charging.models import ChargeOrder, OrderState
from app.errors import ORDER_NOT_FOUND
from app.extensions import db
from app.paging import Page, paginate
from app.tenancy.models import Driver
from app.tenancy.scope import Actor

ORDER_READ = "order.read"
ORDER_STATES = tuple(OrderState)


def visible_orders(actor: Actor) -> ColumnElement[bool] | None:
    """The condition on ChargeOrder an actor's view is limited to (None: every order)."""
    if actor.is_platform:
        return None
    op = actor.operator_id
    own_drivers = select(Driver.id).where(Driver.operator_id == op)
    shared_stations = select(StationVisibility.station_id).where(
        StationVisibility.operator_id == op
    )
    return or_(
        ChargeOrder.operator_id == op,
        and_(ChargeOrder.driver_id.in_(own_drivers), ChargeOrder.station_id.in_(shared_stations)),
    )


def is_read_only(actor: Actor, order: ChargeOrder) -> bool:
    """An order the actor sees only because its driver is theirs (case #12)."""
    return not actor.sees_operator(order.operator_id)


class OrderQuery(TypedDict, total=False):
    """The filters of the order search (list and export alike); each one given narrows."""

    order_no: str | None
    phone: str | None
    openid: str | None
    station_id: int | None
    pile_code: str | None
    state: str | None
    since: datetime | None
    until: datetime | None


def order_filter(actor: Actor, **query: Unpack[OrderQuery]) -> Select[tuple[ChargeOrder]]:
    """The one filter of the order search, shared by the list and its export: the orders
    in the actor's view matching the filters given (permission checked)."""
    actor.require(ORDER_READ)
    stmt = select(ChargeOrder)
    scope = visible_orders(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if order_no := query.get("order_no"):
        stmt = stmt.where(_number_matches(order_no.strip()))
    phone, openid = query.get("phone"), query.get("openid")
    if phone or openid:
        drivers = select(Driver.id)
        if phone:
            drivers = drivers.where(Driver.phone == phone.strip())
        if openid:
            drivers = drivers.where(Driver.openid == openid.strip())
        stmt = stmt.where(ChargeOrder.driver_id.in_(drivers))
    if (station_id := query.get("station_id")) is not None:
        stmt = stmt.where(ChargeOrder.station_id == station_id)
    if pile_code := query.get("pile_code"):
        stmt = stmt.where(ChargeOrder.pile_id.in_(select(Pile.id).where(Pile.code == pile_code)))
    if state := query.get("state"):
        stmt = stmt.where(ChargeOrder.state == OrderState(state))
    if (since := query.get("since")) is not None:
        stmt = stmt.where(ChargeOrder.requested_at >= since)
    if (until := query.get("until")) is not None:
        stmt = stmt.where(ChargeOrder.requested_at < until)
    return stmt


def _number_matches(typed: str) -> ColumnElement[bool]:
    """A whole order number (what an operator pastes from a complaint) is found through the
    unique index; a part of one is searched inside every number with LIKE '%part%' (a typed
    % or _ escaped), which on PostgreSQL the trigram index answers for 3 characters or more
    (migration 0025; without it, or for a shorter part, the search scans every order)."""
    whole = db.session.scalar(select(ChargeOrder.id).where(ChargeOrder.order_no == typed))
    if whole is not None:
        return ChargeOrder.order_no == typed
    return ChargeOrder.order_no.contains(typed, autoescape=True)


def search_orders(
    actor: Actor, *, page: int = 1, page_size: int = 20, **query: Unpack[OrderQuery]
) -> Page:
    """Orders newest first; each item a dict with the order and its station, pile and
    driver for the list."""
    stmt = order_filter(actor, **query)
    found = paginate(stmt.order_by(ChargeOrder.id.desc()), page, page_size)
    return Page(
        items=[row for row in with_names(actor, found.items)],
        total=found.total,
        page=found.page,
        page_size=found.page_size,
    )


def with_names(actor: Actor, orders: list[ChargeOrder]) -> list[dict[str, Any]]:
    """Orders as dicts with station name, pile code and driver phone (three queries)."""
    station_ids = {o.station_id for o in orders if o.station_id is not None}
    pile_ids = {o.pile_id for o in orders}
    driver_ids = {o.driver_id for o in orders if o.driver_id is not None}
    stations = dict(
        db.session.execute(select(Station.id, Station.name).where(Station.id.in_(station_ids)))
        .tuples()
        .all()
    )
    piles = dict(
        db.session.execute(select(Pile.id, Pile.code).where(Pile.id.in_(pile_ids))).tuples().all()
    )
    drivers = {d.id: d for d in db.session.scalars(select(Driver).where(Driver.id.in_(driver_ids)))}
    rows = []
    for o in orders:
        driver = drivers.get(o.driver_id) if o.driver_id is not None else None
        rows.append(
            {
                "order": o,
                "station_name": stations.get(o.station_id, "") if o.station_id else "",
                "pile_code": piles.get(o.pile_id, ""),
                "driver_phone": driver.phone if driver else "",
                "driver_nickname": driver.nickname if driver else "",
                "read_only": is_read_only(actor, o),
            }
        )
    return rows


def find_order(actor: Actor, order_no: str) -> ChargeOrder:
    """One order by its number within the actor's view; otherwise absent (404)."""
    actor.require(ORDER_READ)
    stmt = select(ChargeOrder).where(ChargeOrder.order_no == order_no)
    scope = visible_orders(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    order = db.session.scalar(stmt)
    if order is None:
        raise ORDER_NOT_FOUND(details={"order_no": order_no})
    return order
