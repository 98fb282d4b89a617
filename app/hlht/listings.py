"""Our drivers' normal nearby search, station detail and order list with the partners'
stations and orders beside ours, each marked as the partner's (issue 11: we are the
customer platform). The drivers' routes call these; the partners' data is what
:mod:`app.hlht.customer` synced and recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.charging.port import ConnectorState
from app.db import utcnow
from app.drivers import driver_orders, station_info
from app.drivers.station_index import Brand
from app.drivers.station_index import max_age as index_max_age
from app.drivers.station_info import (
    MAX_RADIUS_M,
    ConnectorCounts,
    ConnectorView,
    PriceUnavailable,
    haversine_m,
)
from app.errors import HLHT_PRICE_UNKNOWN, STATION_NOT_FOUND
from app.extensions import db
from app.hlht.customer import (
    _CONNECTOR_STATUS,
    _coordinate,
    customer_partners,
    list_orders,
    member_rate,
)
from app.hlht.envelope import CHINA
from app.hlht.models import CustomerOrder, Partner, PartnerConnector, PartnerStation
from app.paging import Page
from app.pricing import DEFAULT_TIMEZONE, Segment, TariffSnapshot, TariffValidationError
from app.promotions import member_pricing
from app.tenancy.models import Driver


@dataclass(frozen=True, slots=True)
class PartnerMark:
    """Whose a station or an order is when it is not ours."""

    operator_id: str
    name: str


@dataclass(frozen=True, slots=True)
class _Spot:
    station_id: int
    partner_id: int
    lat: float
    lng: float


_spots: tuple[float, list[_Spot]] | None = None  # (good until, monotonic seconds; spots)


def forget_partner_spots() -> None:
    """Drop the cached coordinates (after a sync, in tests)."""
    global _spots
    _spots = None


def _partner_spots() -> list[_Spot]:
    """The partners' station coordinates, cached as long as the station index keeps ours
    (``NEARBY_CACHE_SECONDS``): the nearby search stays a read of memory when no partner
    station is near."""
    global _spots
    moment = time.monotonic()
    if _spots is not None and moment < _spots[0]:
        return _spots[1]
    ids = [p.id for p in customer_partners()]
    spots = []
    for sid, pid, lat_text, lng_text in db.session.execute(
        select(PartnerStation.id, PartnerStation.partner_id, PartnerStation.latitude,
               PartnerStation.longitude).where(PartnerStation.partner_id.in_(ids))
    ):  # fmt: skip
        slat, slng = _coordinate(lat_text), _coordinate(lng_text)
        if slat is not None and slng is not None:
            spots.append(_Spot(sid, pid, slat, slng))
    _spots = (moment + index_max_age(), spots)
    return spots


def partner_prices(
    policy: list[dict[str, Any]], rate: Decimal | None
) -> tuple[member_pricing.SegmentPrice, ...] | None:
    """The partner's day as our drivers' price segments (China time, tier 平), the service
    price at our member ``rate`` as :func:`app.promotions.member_pricing.segment_prices`
    shows ours; None when the policy is empty or not a valid price."""
    if not policy:
        return None
    starts = [0] + [p["start_minute"] for p in policy[1:]]
    ends = [*starts[1:], 24 * 60]
    try:
        snapshot = TariffSnapshot(
            tuple(
                Segment(start, end, "flat", Decimal(p["elec"]), Decimal(p["service"]))
                for start, end, p in zip(starts, ends, policy, strict=True)
                if start < end
            ),
            timezone=DEFAULT_TIMEZONE,
        )
    except (TariffValidationError, InvalidOperation, KeyError):
        return None
    return member_pricing.segment_prices(snapshot, rate)


def _price_in_force(
    prices: tuple[member_pricing.SegmentPrice, ...] | None, at: datetime
) -> member_pricing.SegmentPrice | None:
    if not prices:
        return None
    local = at.astimezone(CHINA)
    minute = local.hour * 60 + local.minute
    return next((p for p in prices if p.start_minute <= minute < p.end_minute), prices[-1])


def _counts(rows: list[PartnerConnector]) -> ConnectorCounts:
    def free(row: PartnerConnector) -> bool:
        return _CONNECTOR_STATUS.get(row.status) == "free"

    ac = [r for r in rows if r.current_type == "AC"]
    dc = [r for r in rows if r.current_type != "AC"]
    return ConnectorCounts(len(ac), sum(map(free, ac)), len(dc), sum(map(free, dc)))


@dataclass(frozen=True, slots=True)
class PartnerCard:
    """A partner's station in the shape of ours (:class:`StationCard`'s fields drivers see)."""

    id: int
    name: str
    address: str
    city: str
    latitude: Decimal
    longitude: Decimal


def _card(station: PartnerStation) -> PartnerCard:
    def decimal(text: str) -> Decimal:
        try:
            return Decimal(text)
        except InvalidOperation:
            return Decimal(0)

    return PartnerCard(station.id, station.name, station.address, "",
                       decimal(station.latitude), decimal(station.longitude))  # fmt: skip


def _brand(partner: Partner) -> Brand:
    return Brand(partner.id, partner.name, "", "", False)


@dataclass(frozen=True, slots=True)
class PartnerNearby:
    """A partner's station in our nearby list: the fields of :class:`NearbyStation`, and
    ``partner`` (ours have none)."""

    station: PartnerCard
    distance_m: int
    connectors: ConnectorCounts
    price: member_pricing.SegmentPrice | None
    brand: Brand
    partner: PartnerMark


def _driver_rate(driver_id: int, partner: Partner) -> Decimal | None:
    if not partner.grant_member_discount:
        return None
    driver = db.session.get(Driver, driver_id)
    return None if driver is None else member_rate(partner, driver)


def _partner_hits(
    driver_id: int, lat: float, lng: float, radius_m: int, free_only: bool,
    current_type: str | None, at: datetime,
) -> list[PartnerNearby]:  # fmt: skip
    near = []
    for spot in _partner_spots():
        distance = round(haversine_m(lat, lng, spot.lat, spot.lng))
        if distance <= radius_m:
            near.append((distance, spot))
    if not near:
        return []
    partners = {p.id: p for p in customer_partners()}
    stations = {
        s.id: s
        for s in db.session.scalars(
            select(PartnerStation).where(PartnerStation.id.in_([s.station_id for _, s in near]))
        )
    }
    rows: dict[int, list[PartnerConnector]] = {}
    for row in db.session.scalars(
        select(PartnerConnector).where(PartnerConnector.station_id.in_(stations))
    ):
        rows.setdefault(row.station_id, []).append(row)
    rates = {pid: _driver_rate(driver_id, p) for pid, p in partners.items()}
    hits = []
    for distance, spot in near:
        station, partner = stations.get(spot.station_id), partners.get(spot.partner_id)
        if station is None or partner is None:
            continue
        connectors = [r for r in rows.get(station.id, []) if current_type in (None, r.current_type)]
        if current_type is not None and not connectors:
            continue
        counts = _counts(connectors)
        if free_only and counts.ac_free + counts.dc_free == 0:
            continue
        prices = [
            p
            for p in (_price_in_force(partner_prices(r.policy or [], rates[partner.id]), at)
                      for r in connectors)
            if p is not None
        ]  # fmt: skip
        hits.append(
            PartnerNearby(
                station=_card(station),
                distance_m=distance,
                connectors=counts,
                price=min(prices, key=lambda p: p.total_price) if prices else None,
                brand=_brand(partner),
                partner=PartnerMark(partner.operator_id, partner.name),
            )
        )
    return hits


def nearby_with_partners(
    driver_id: int, *, lat: float, lng: float, radius_m: int = 5000, page: int = 1,
    page_size: int = 20, free_only: bool = False, current_type: str | None = None,
    at: datetime | None = None,
) -> Page:  # fmt: skip
    """The drivers' nearby search (:func:`app.drivers.station_info.nearby`) with the
    partners' synced stations merged in, nearest first (ours first on a tie), marked as
    the partner's and priced from its policy (our member discount where the operator
    grants it). With no partner station in the circle the answer is ours unchanged, and
    reads nothing more than a cached list of coordinates."""
    args: dict[str, Any] = {
        "lat": lat, "lng": lng, "radius_m": radius_m, "free_only": free_only,
        "current_type": current_type, "at": at,
    }  # fmt: skip
    radius = min(max(int(radius_m), 1), MAX_RADIUS_M)
    hits = _partner_hits(driver_id, lat, lng, radius, free_only, current_type, at or utcnow())
    if not hits:
        return station_info.nearby(driver_id, page=page, page_size=page_size, **args)
    page, page_size = max(page, 1), min(max(page_size, 1), 100)
    wanted = page * page_size
    total_ours, ours = _first(  # ours up to the end of the page asked
        lambda n: station_info.nearby(driver_id, page=n, page_size=CHUNK, **args), wanted
    )
    merged = sorted(
        [(it.distance_m, 0, it.station.id, it) for it in ours]
        + [(it.distance_m, 1, it.station.id, it) for it in hits],
        key=lambda entry: entry[:3],
    )
    items = [entry[3] for entry in merged[(page - 1) * page_size : wanted]]
    return Page(items=items, total=total_ours + len(hits), page=page, page_size=page_size)


@dataclass(frozen=True, slots=True)
class PartnerStationDetail:
    """A partner's station in the shape of our station detail, marked as the partner's:
    its connectors as the last sync saw them, its policy as the day's prices (our member
    discount where granted), no occupancy fee of ours."""

    station: PartnerCard
    distance_m: int | None
    connectors: list[ConnectorView]
    price: member_pricing.DriverPrice | None
    price_unavailable: PriceUnavailable | None
    occupancy: None
    brand: Brand
    partner: PartnerMark


# 102.2 ConnectorStatus → our connector states (0 离网: the pile is offline, pile_online says)
_STATUS_WORD = {0: ConnectorState.UNAVAILABLE, 1: ConnectorState.AVAILABLE,
                2: ConnectorState.PREPARING, 3: ConnectorState.CHARGING,
                4: ConnectorState.RESERVED, 255: ConnectorState.FAULTED}  # fmt: skip


def partner_station_detail(
    driver: Driver, station_id: int, *, lat: float | None = None, lng: float | None = None,
    at: datetime | None = None,
) -> PartnerStationDetail:  # fmt: skip
    """A partner's station by our id for it (``partner`` in the nearby item);
    STATION_NOT_FOUND unless its partner is one we are the customer of."""
    station = db.session.get(PartnerStation, station_id)
    partners = {p.id: p for p in customer_partners()}
    if station is None or station.partner_id not in partners:
        raise STATION_NOT_FOUND(details={"id": station_id, "partner": True})
    partner = partners[station.partner_id]
    rows = db.session.scalars(
        select(PartnerConnector)
        .where(PartnerConnector.station_id == station.id)
        .order_by(PartnerConnector.equipment_code, PartnerConnector.connector_code)
    ).all()
    connectors = [
        ConnectorView(
            id=r.id,
            pile_id=0,
            pile_code=r.connector_code,
            number=n,
            current_type=r.current_type,
            rated_power_w=r.power_w,
            pile_online=r.status != 0,
            status=_STATUS_WORD.get(r.status, ConnectorState.UNKNOWN),
            free=_CONNECTOR_STATUS.get(r.status) == "free",
        )
        for n, r in enumerate(rows, start=1)
    ]
    rate = member_rate(partner, driver)
    moment = at or utcnow()
    price: member_pricing.DriverPrice | None = None
    for row in rows:  # the first connector with a valid policy prices the station
        prices = partner_prices(row.policy or [], rate)
        current = _price_in_force(prices, moment)
        if prices and current is not None:
            price = member_pricing.DriverPrice(
                station_id=station.id, tariff_version_id=0, timezone=DEFAULT_TIMEZONE,
                pricing_group=driver.pricing_group if rate is not None else member_pricing.NO_GROUP,
                service_discount_rate=rate, current=current, segments=prices,
            )  # fmt: skip
            break
    unavailable = None
    if price is None:
        err = HLHT_PRICE_UNKNOWN()
        unavailable = PriceUnavailable(err.code, err.message)
    card = _card(station)
    distance = None
    if lat is not None and lng is not None:
        distance = round(haversine_m(lat, lng, float(card.latitude), float(card.longitude)))
    return PartnerStationDetail(
        station=card, distance_m=distance, connectors=connectors, price=price,
        price_unavailable=unavailable, occupancy=None, brand=_brand(partner),
        partner=PartnerMark(partner.operator_id, partner.name),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _OrderFace:
    """A partner order with the fields of ours the order list shows."""

    order_no: str
    state: str
    energy_wh: int
    requested_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None


@dataclass(frozen=True, slots=True)
class PartnerOrderLine:
    """Our driver's partner order in the driver's normal order list (marked ``partner``)."""

    order: _OrderFace
    station_name: str
    total_fen: int | None
    partner: PartnerMark


CHUNK = 100  # app.paging's largest page


def _first(fetch: Callable[[int], Page], wanted: int) -> tuple[int, list[Any]]:
    """(total, the first ``wanted`` items) of a paged list, read a page of CHUNK at a time."""
    items: list[Any] = []
    number = 1
    while True:
        got = fetch(number)
        items.extend(got.items)
        if len(items) >= min(wanted, got.total) or not got.items:
            return got.total, items[:wanted]
        number += 1


def orders_with_partners(
    driver: Driver, *, page: int = 1, page_size: int = 20, state: str | None = None
) -> Page:
    """The driver's order list (:func:`app.drivers.driver_orders.list_orders`) with the
    driver's partner orders merged in, newest first, each marked as the partner's; a
    driver with none gets ours unchanged."""
    stmt = select(CustomerOrder.id).where(CustomerOrder.driver_id == driver.id)
    if state:
        stmt = stmt.where(CustomerOrder.state == state)
    if db.session.scalar(stmt.limit(1)) is None:
        return driver_orders.list_orders(driver, page=page, page_size=page_size, state=state)
    page, page_size = max(page, 1), max(page_size, 1)
    wanted = page * page_size
    ours_total, ours = _first(
        lambda n: driver_orders.list_orders(driver, page=n, page_size=CHUNK, state=state), wanted
    )
    theirs_total, theirs = _first(
        lambda n: list_orders(driver, page=n, page_size=CHUNK, state=state), wanted
    )
    lines = [
        PartnerOrderLine(
            _OrderFace(
                o.order.order_no,
                o.order.state,
                o.order.energy_wh,
                o.order.created_at,
                o.order.started_at,
                o.order.stopped_at,
            ),
            o.station_name or "",
            o.amount_fen,
            PartnerMark(_operator_of(o.order.partner_id), o.partner_name),
        )
        for o in theirs
    ]
    merged = sorted([*ours, *lines], key=lambda it: it.order.requested_at, reverse=True)
    return Page(
        items=merged[(page - 1) * page_size : wanted], total=ours_total + theirs_total,
        page=page, page_size=page_size,
    )  # fmt: skip


def _operator_of(partner_id: int) -> str:
    partner = db.session.get(Partner, partner_id)
    return partner.operator_id if partner is not None else ""
