"""Stations as drivers see them: nearby search, detail with live connector states, the
tariff timeline at the driver's own price (case #7), the occupancy rule where there is
one (case #19), the owner's branding (case #1) and stations shared with the driver's
sub-operator (case #12).

The nearby search answers from the in-memory station index (seconds old at most, see
:mod:`app.drivers.station_index`); the station detail reads the database live."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.billing import occupancy
from app.billing.models import OccupancyPolicy
from app.catalogue.models import Connector, Pile, Station
from app.catalogue.visibility import driver_operator, station_visible
from app.drivers.station_index import (
    EARTH_RADIUS_M,
    Brand,
    StationCard,
    StationSnapshot,
    search,
    station_index,
)
from app.drivers.station_index import max_age as index_max_age
from app.errors import AUTH_TOKEN_INVALID, NOT_FOUND, STATION_NOT_FOUND, MissingBaseData
from app.extensions import db
from app.paging import Page
from app.promotions import member_pricing
from app.tenancy.models import Driver, Operator

METRES_PER_DEGREE_LAT = EARTH_RADIUS_M * math.pi / 180  # on the haversine sphere

BOX_MARGIN = 1.01  # the prefilter box errs on the large side; haversine decides

MAX_RADIUS_M = 100_000

CURRENT_TYPES = ("AC", "DC")


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2) - math.radians(lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) enclosing the circle; longitudes may pass ±180."""
    radius_m *= BOX_MARGIN
    dlat = radius_m / METRES_PER_DEGREE_LAT
    cos_lat = max(math.cos(math.radians(min(89.9, abs(lat) + dlat))), 1e-6)
    dlng = min(180.0, radius_m / (METRES_PER_DEGREE_LAT * cos_lat))
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng


@dataclass(frozen=True, slots=True)
class ConnectorCounts:
    ac_total: int = 0
    ac_free: int = 0
    dc_total: int = 0
    dc_free: int = 0


@dataclass(frozen=True, slots=True)
class NearbyStation:
    station: StationCard
    distance_m: int
    connectors: ConnectorCounts
    price: member_pricing.SegmentPrice | None  # in force now, at the driver's price

    @property
    def brand(self) -> Brand:
        return self.station.brand


def _operator_brand(operator_id: int, stations: StationSnapshot) -> Brand:
    found = stations.operators.get(operator_id)
    if found is not None:
        return found
    op = db.session.get(Operator, operator_id)  # an operator newer than the index
    if op is None:  # pragma: no cover - foreign key
        raise NOT_FOUND("运营商不存在")
    return Brand(op.id, op.name, op.brand_color, op.logo_url, op.is_platform)


def nearby(
    driver_id: int,
    *,
    lat: float,
    lng: float,
    radius_m: int = 5000,
    page: int = 1,
    page_size: int = 20,
    free_only: bool = False,
    current_type: str | None = None,
    at: datetime | None = None,
) -> Page:
    """Stations within ``radius_m`` of (lat, lng), nearest first (ties by id), paged.

    Answered from the station index (:mod:`app.drivers.station_index`): connector counts,
    station data and the driver's operator and pricing group at most
    ``NEARBY_CACHE_SECONDS`` old, so a search usually reads nothing from the database. The
    grid cells covering the bounding box give the candidates; the exact haversine distance
    decides (:func:`app.drivers.station_index.search`)."""
    radius_m = min(max(int(radius_m), 1), MAX_RADIUS_M)
    page, page_size = max(page, 1), min(max(page_size, 1), 100)
    index, max_age = station_index(), index_max_age()
    driver = index.driver_terms(driver_id, max_age)
    if driver is None:  # the token outlived its driver
        raise AUTH_TOKEN_INVALID()
    stations, availability = index.current(max_age)
    op = _operator_brand(driver.operator_id, stations)
    grid = availability.grid(stations, op, current_type, free_only)
    box = bounding_box(lat, lng, radius_m)
    chosen, total = search(grid, lat, lng, radius_m, box, page, page_size)
    group = driver.pricing_group
    items = []
    for distance, sid in chosen:
        card = stations.cards[sid]
        counts = availability.counts(sid)
        price = stations.current_price(card, group, at)
        items.append(NearbyStation(card, distance, ConnectorCounts(*counts), price))
    return Page(items=items, total=total, page=page, page_size=page_size)


@dataclass(frozen=True, slots=True)
class ConnectorView:
    id: int
    pile_id: int
    pile_code: str
    number: int
    current_type: str
    rated_power_w: int
    pile_online: bool
    status: str  # the connector's state, or "offline" when its pile is unreachable
    free: bool


def connector_view(pile: Pile, conn: Connector) -> ConnectorView:
    status = conn.status if pile.online else "offline"
    return ConnectorView(
        id=conn.id, pile_id=pile.id, pile_code=pile.code, number=conn.number,
        current_type=pile.current_type, rated_power_w=pile.rated_power_w,
        pile_online=pile.online, status=status, free=status == "available",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PriceUnavailable:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class StationDetail:
    station: Station
    distance_m: int | None
    connectors: list[ConnectorView]
    price: member_pricing.DriverPrice | None
    price_unavailable: PriceUnavailable | None
    occupancy: OccupancyPolicy | None  # None: this station charges no occupancy fee

    @property
    def brand(self) -> Operator:
        return self.station.operator


def visible_station(driver: Driver, station_id: int) -> Station:
    station = db.session.get(Station, station_id)
    if station is None or not station_visible(driver_operator(driver), station):
        raise STATION_NOT_FOUND(details={"id": station_id})
    return station


def station_detail(
    driver: Driver,
    station_id: int,
    *,
    lat: float | None = None,
    lng: float | None = None,
    at: datetime | None = None,
) -> StationDetail:
    station = visible_station(driver, station_id)
    piles = db.session.scalars(
        select(Pile).where(Pile.station_id == station.id).order_by(Pile.code)
    ).all()
    connectors = [connector_view(p, c) for p in piles for c in p.connectors]
    price: member_pricing.DriverPrice | None = None
    unavailable: PriceUnavailable | None = None
    try:
        price = member_pricing.driver_price(driver, station, at)
    except MissingBaseData as exc:  # case #2: say exactly what is missing
        unavailable = PriceUnavailable(exc.code, exc.message)
    distance = None
    if lat is not None and lng is not None:
        distance = round(haversine_m(lat, lng, float(station.latitude), float(station.longitude)))
    return StationDetail(
        station=station, distance_m=distance, connectors=connectors, price=price,
        price_unavailable=unavailable, occupancy=occupancy.policy_for_station(station.id),
    )  # fmt: skip
