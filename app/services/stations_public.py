"""Stations as drivers see them: nearby search, detail with live connector states, the
tariff timeline at the driver's own price (case #7), the occupancy rule where there is
one (case #19), the owner's branding (case #1) and stations shared with the driver's
sub-operator (case #12).

Nearby search prefilters a bounding box in SQL (indexable, a few hundred rows at most for
a city-sized radius even with 10,000 stations), then computes exact haversine distances
in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from app.errors import MissingBaseData, NotFound
from app.extensions import db
from app.models import Connector, Driver, OccupancyPolicy, Operator, Pile, Station
from app.models.stations import StationVisibility
from app.services import member_pricing, occupancy
from app.services.context import Page

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE_LAT = EARTH_RADIUS_M * math.pi / 180  # on the haversine sphere
BOX_MARGIN = 1.01  # the prefilter box errs on the large side; haversine decides
MAX_RADIUS_M = 100_000
CURRENT_TYPES = ("AC", "DC")


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) enclosing the circle; longitudes may pass ±180."""
    radius_m *= BOX_MARGIN
    dlat = radius_m / METRES_PER_DEGREE_LAT
    cos_lat = max(math.cos(math.radians(min(89.9, abs(lat) + dlat))), 1e-6)
    dlng = min(180.0, radius_m / (METRES_PER_DEGREE_LAT * cos_lat))
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng


def _dec(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


def driver_operator(driver: Driver) -> Operator:
    op = db.session.get(Operator, driver.operator_id)
    if op is None:  # pragma: no cover - foreign key
        raise NotFound("运营商不存在")
    return op


def visible_to(op: Operator) -> ColumnElement[bool]:
    """Active stations a driver of ``op`` may see and buy charging at: the operator's own
    and those shared with it (case #12); the platform's own drivers see every station."""
    active = Station.status == "active"
    if op.is_platform:
        return active
    shared = select(StationVisibility.station_id).where(StationVisibility.operator_id == op.id)
    return and_(active, or_(Station.operator_id == op.id, Station.id.in_(shared)))


def station_visible(op: Operator, station: Station) -> bool:
    if station.status != "active":
        return False
    return (
        op.is_platform or station.operator_id == op.id or op.id in station.visible_to_operator_ids
    )


@dataclass(slots=True)
class ConnectorCounts:
    ac_total: int = 0
    ac_free: int = 0
    dc_total: int = 0
    dc_free: int = 0

    def total(self, current_type: str | None) -> int:
        if current_type == "AC":
            return self.ac_total
        if current_type == "DC":
            return self.dc_total
        return self.ac_total + self.dc_total

    def free(self, current_type: str | None) -> int:
        if current_type == "AC":
            return self.ac_free
        if current_type == "DC":
            return self.dc_free
        return self.ac_free + self.dc_free


@dataclass(frozen=True, slots=True)
class NearbyStation:
    station: Station
    distance_m: int
    connectors: ConnectorCounts
    price: member_pricing.SegmentPrice | None  # in force now, at the driver's price

    @property
    def brand(self) -> Operator:
        return self.station.operator


def _counts(candidates: Any) -> dict[int, ConnectorCounts]:
    free = case((and_(Pile.online.is_(True), Connector.status == "available"), 1), else_=0)
    rows = db.session.execute(
        select(Pile.station_id, Pile.current_type, func.count(Connector.id), func.sum(free))
        .join(Connector, Connector.pile_id == Pile.id)
        .where(Pile.station_id.in_(candidates))
        .group_by(Pile.station_id, Pile.current_type)
    )
    out: dict[int, ConnectorCounts] = {}
    for station_id, current_type, total, n_free in rows:
        counts = out.setdefault(int(station_id), ConnectorCounts())
        if current_type == "AC":
            counts.ac_total += int(total)
            counts.ac_free += int(n_free or 0)
        else:
            counts.dc_total += int(total)
            counts.dc_free += int(n_free or 0)
    return out


def current_price(
    driver: Driver | None, station: Station, at: datetime | None = None
) -> member_pricing.SegmentPrice | None:
    try:
        return member_pricing.driver_price(driver, station, at).current
    except MissingBaseData:
        return None


def nearby(
    driver: Driver,
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
    """Stations within ``radius_m`` of (lat, lng), nearest first (ties by id), paged."""
    radius_m = min(max(int(radius_m), 1), MAX_RADIUS_M)
    page, page_size = max(page, 1), min(max(page_size, 1), 100)
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, radius_m)
    conds: list[ColumnElement[bool]] = [
        visible_to(driver_operator(driver)),
        Station.latitude.between(_dec(min_lat), _dec(max_lat)),
    ]
    if min_lng >= -180 and max_lng <= 180:  # never across the antimeridian in practice
        conds.append(Station.longitude.between(_dec(min_lng), _dec(max_lng)))
    candidates = select(Station.id).where(*conds)
    located = db.session.execute(
        select(Station.id, Station.latitude, Station.longitude).where(*conds)
    ).all()
    counts = _counts(candidates) if located else {}
    hits: list[tuple[int, int]] = []
    for station_id, s_lat, s_lng in located:
        distance = haversine_m(lat, lng, float(s_lat), float(s_lng))
        if distance > radius_m:
            continue
        c = counts.get(station_id, ConnectorCounts())
        if current_type and c.total(current_type) == 0:
            continue
        if free_only and c.free(current_type) == 0:
            continue
        hits.append((round(distance), station_id))
    hits.sort()
    chosen = hits[(page - 1) * page_size : page * page_size]
    stations = {
        s.id: s
        for s in db.session.scalars(select(Station).where(Station.id.in_([i for _, i in chosen])))
    }
    items = [
        NearbyStation(
            stations[sid],
            distance,
            counts.get(sid, ConnectorCounts()),
            current_price(driver, stations[sid], at),
        )
        for distance, sid in chosen
    ]
    return Page(items=items, total=len(hits), page=page, page_size=page_size)


# --------------------------------------------------------------------------- detail


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
        raise NotFound("充电站不存在", code="STATION_NOT_FOUND", details={"id": station_id})
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
