"""The stations drivers search, held in memory per application: where each active station
is, who may see it (case #12), its card and owner's branding (case #1), its tariff and the
member discounts (case #7), and how many connectors of each kind are free.

The nearby search answers from this index instead of the database. How stale it may be
is ``NEARBY_CACHE_SECONDS`` (default 5; 0 reads the database on every search):

- connector availability is counted again (one query for all stations) when older than that;
- station data is checked as often by a fingerprint of its tables (one query of about a
  millisecond on PostgreSQL) and read again only when that changed (elsewhere: always);
- a driver's operator and pricing group are read again when older than that.

A search that finds the index stale starts a refresh beside it (a greenlet under gevent)
and answers from the previous index, as do the searches until the refresh ends: data is at
most the setting plus one refresh old (tens of milliseconds; seconds on a saturated
worker). The station detail, the scan page and every order read the database live.

One index per application (``app.extensions``), never per process: tests run many
applications on different databases in one process."""

from __future__ import annotations

import array
import hashlib
import itertools
import logging
import math
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text

from app.catalogue.models import (
    Connector,
    Pile,
    Station,
    StationVisibility,
    Tariff,
    TariffSegment,
    TariffVersion,
)
from app.config import setting
from app.extensions import db
from app.pricing import Segment, TariffSnapshot
from app.promotions import member_pricing
from app.promotions.models import ServiceDiscount
from app.state import Slot, in_this_app, part
from app.tenancy.models import Driver, Operator

log = logging.getLogger(__name__)

CELL_DEG = 0.02  # grid cell, about 2.2 km north-south: a 5 km search reads ~25 cells

# every table the station snapshot is made of; the fingerprint covers them all
_SNAPSHOT_TABLES = tuple(
    m.__tablename__
    for m in (
        Station,
        StationVisibility,
        Operator,
        Tariff,
        TariffVersion,
        TariffSegment,
        ServiceDiscount,
    )
)


@dataclass(frozen=True, slots=True)
class Brand:
    """An operator as drivers see it (case #1)."""

    id: int
    name: str
    brand_color: str
    logo_url: str
    is_platform: bool


@dataclass(frozen=True, slots=True)
class StationCard:
    """What the nearby list shows of a station (the attributes the schema reads)."""

    id: int
    operator_id: int
    name: str
    address: str
    city: str
    latitude: Decimal
    longitude: Decimal
    timezone: str
    tariff_id: int | None
    brand: Brand


@dataclass(frozen=True, slots=True)
class TariffNow:
    """A tariff's current version (versions never change once written)."""

    version_id: int
    segments: tuple[Segment, ...]


EARTH_RADIUS_M = 6_371_008.8

# one station in the grid: id, latitude and longitude in radians, cos(latitude), then the
# sine and cosine of half its latitude and of half its longitude (the search's haversine
# in multiplications only, see search)
Entry = tuple[int, float, float, float, float, float, float, float]


def entry_of(sid: int, lat: float, lng: float) -> Entry:
    phi, lam = math.radians(lat), math.radians(lng)
    return (sid, phi, lam, math.cos(phi), math.sin(phi / 2), math.cos(phi / 2),
            math.sin(lam / 2), math.cos(lam / 2))  # fmt: skip


Grid = dict[int, dict[int, list[Entry]]]  # latitude cell → longitude cell → stations


def cell_of(degrees: float) -> int:
    return math.floor(degrees / CELL_DEG)


def cells(
    grid: Grid,
    min_lat: float,
    max_lat: float,
    min_lng: float | None,
    max_lng: float | None,
) -> Iterator[list[Entry]]:
    """The cells of ``grid`` covering a box (no longitude bounds: the whole latitude band)."""
    lo = cell_of(min_lng) if min_lng is not None else 0
    hi = cell_of(max_lng) if max_lng is not None else 0
    for row_key in range(cell_of(min_lat), cell_of(max_lat) + 1):
        row = grid.get(row_key)
        if row is None:
            continue
        if min_lng is None or max_lng is None:
            yield from row.values()
        elif hi - lo + 1 > len(row):
            yield from (entries for key, entries in row.items() if lo <= key <= hi)
        else:
            for key in range(lo, hi + 1):
                entries = row.get(key)
                if entries is not None:
                    yield entries


def search(
    grid: Grid, lat: float, lng: float, radius_m: int, box: tuple[float, float, float, float],
    page: int, page_size: int,
) -> tuple[list[tuple[int, int]], int]:  # fmt: skip
    """The stations of ``grid`` within ``radius_m`` of (lat, lng) as (metres, id), nearest
    first and ties by id, of one page; and how many there are in all. ``box``: the bounding
    box (min_lat, max_lat, min_lng, max_lng); longitudes past ±180 take the whole band.

    The haversine term h = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2) grows with the distance.
    For every candidate it is taken from the precomputed half-angle sines and cosines
    (sin(a - b) = sin a cos b - cos a sin b): multiplications, no call; the candidates are
    sorted by it, those past the radius by the exact distance dropped from the end, and the
    exact distance (as ``haversine_m``) computed only for the page, and for the stations
    tied with its last one in whole metres, which the id orders."""
    min_lat, max_lat, min_lng, max_lng = box
    wraps = min_lng < -180 or max_lng > 180
    p1, l1 = math.radians(lat), math.radians(lng)
    cos_p1 = math.cos(p1)
    sp1, cp1, sl1, cl1 = math.sin(p1 / 2), math.cos(p1 / 2), math.sin(l1 / 2), math.cos(l1 / 2)
    # a hair of slack over the radius's own h: the exact distance decides
    h_max = math.sin(min(math.pi / 2, radius_m * (1 + 1e-9) / (2 * EARTH_RADIUS_M))) ** 2
    near: list[tuple[float, int, float, float, float]] = []
    append = near.append
    for entries in cells(
        grid, min_lat, max_lat, None if wraps else min_lng, None if wraps else max_lng
    ):
        for sid, p2, l2, cos_p2, sp2, cp2, sl2, cl2 in entries:
            a = sp2 * cp1 - cp2 * sp1
            b = sl2 * cl1 - cl2 * sl1
            h = a * a + cos_p1 * cos_p2 * b * b
            if h <= h_max:
                append((h, sid, p2, l2, cos_p2))
    near.sort()
    sin, asin, sqrt = math.sin, math.asin, math.sqrt

    def metres(e: tuple[float, int, float, float, float]) -> float:
        _, _, p2, l2, cos_p2 = e
        h = sin((p2 - p1) / 2) ** 2 + cos_p1 * cos_p2 * sin((l2 - l1) / 2) ** 2
        return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(h)))

    while near and metres(near[-1]) > radius_m:
        near.pop()
    end = page * page_size
    ranked: list[tuple[int, int]] = []
    for i, e in enumerate(near):
        d = round(metres(e))
        if i >= end and d != ranked[-1][0]:
            break
        ranked.append((d, e[1]))
    ranked.sort()
    return ranked[(page - 1) * page_size : end], len(near)


_generations = itertools.count(1)  # tells snapshots apart (never reused, unlike id())


@dataclass(eq=False)
class StationSnapshot:
    fingerprint: str | None
    cards: dict[int, StationCard]
    grid: Grid
    operators: dict[int, Brand]
    own: dict[int, frozenset[int]]  # operator → its active stations
    shared: dict[int, frozenset[int]]  # operator → stations shared with it (case #12)
    tariffs: dict[int, TariffNow]  # tariff id → current version, when it has segments
    discounts: member_pricing.DiscountTable
    generation: int = field(default_factory=lambda: next(_generations))
    _visible_grids: dict[int, Grid] = field(default_factory=dict)
    _prices: dict[
        tuple[int, str, Decimal | None],
        tuple[TariffSnapshot, tuple[member_pricing.SegmentPrice, ...]],
    ] = field(default_factory=dict)

    def visible_ids(self, op: Brand) -> frozenset[int] | None:
        """Station ids a driver of ``op`` may see; None: every active station."""
        return None if op.is_platform else self._visible_to(op.id)

    def _visible_to(self, op_id: int) -> frozenset[int]:
        return self.own.get(op_id, frozenset()) | self.shared.get(op_id, frozenset())

    def visible_grid(self, op: Brand) -> Grid:
        """The grid of the stations ``op``'s drivers may see (the whole grid for the
        platform's)."""
        if op.is_platform:
            return self.grid
        found = self._visible_grids.get(op.id)
        if found is None:
            found = _only(self.grid, self._visible_to(op.id))
            self._visible_grids[op.id] = found  # one per operator: bounded
        return found

    def current_price(
        self, card: StationCard, pricing_group: str, at: datetime | None = None
    ) -> member_pricing.SegmentPrice | None:
        """The segment in force now at the driver's own price (case #7); None where the
        station has no priced tariff (the detail page says what is missing, case #2)."""
        tariff = self.tariffs.get(card.tariff_id) if card.tariff_id is not None else None
        if tariff is None:
            return None
        rate = self.discounts.rate(pricing_group, card.id, card.operator_id)
        key = (tariff.version_id, card.timezone, rate)
        found = self._prices.get(key)
        if found is None:
            snapshot = TariffSnapshot(segments=tariff.segments, timezone=card.timezone)
            found = (snapshot, member_pricing.segment_prices(snapshot, rate))
            self._prices[key] = found
        snapshot, prices = found
        return prices[member_pricing.index_at(snapshot, at)]


Counts = tuple[int, int, int, int]  # AC total, AC free, DC total, DC free

NO_CONNECTORS: Counts = (0, 0, 0, 0)

# counts travel packed in one integer, 16 bits each (65,535 connectors of a kind at a
# station is beyond any station): a dict of integers is invisible to the garbage
# collector, where 10,000 tuples renewed every few seconds would keep waking it up
_FIELD = 16

_MASK = (1 << _FIELD) - 1

# packed value masks of "has a connector" per filter: totals, and free ones, by current
_HAS = {
    (None, False): (_MASK << 48) | (_MASK << 16),
    ("AC", False): _MASK << 48,
    ("DC", False): _MASK << 16,
    (None, True): (_MASK << 32) | _MASK,
    ("AC", True): _MASK << 32,
    ("DC", True): _MASK,
}


def unpack(packed: int) -> Counts:
    return (
        packed >> 48 & _MASK,
        packed >> 32 & _MASK,
        packed >> 16 & _MASK,
        packed & _MASK,
    )


@dataclass(eq=False)
class Availability:
    built_at: float
    packed: dict[int, int]  # station id → pack(counts)
    _matching: dict[tuple[str | None, bool], frozenset[int]] = field(default_factory=dict)
    _grids: dict[tuple[int, int | None, str | None, bool], Grid] = field(default_factory=dict)

    def counts(self, station_id: int) -> Counts:
        return unpack(self.packed.get(station_id, 0))

    def matching(self, current_type: str | None, free_only: bool) -> frozenset[int] | None:
        """Stations with a connector of ``current_type`` (free, with ``free_only``);
        None: no condition."""
        if current_type is None and not free_only:
            return None
        key = (current_type, free_only)
        found = self._matching.get(key)
        if found is None:
            mask = _HAS[key]
            found = frozenset(sid for sid, packed in self.packed.items() if packed & mask)
            self._matching[key] = found
        return found

    def grid(
        self, stations: StationSnapshot, op: Brand, current_type: str | None, free_only: bool
    ) -> Grid:
        """``stations.grid`` reduced to the stations ``op``'s drivers may see (case #12)
        that match the filters, built on first use: a search then reads only its hits'
        neighbours, not every station in its box."""
        matching = self.matching(current_type, free_only)
        if matching is None:
            return stations.visible_grid(op)
        key = (stations.generation, None if op.is_platform else op.id, current_type, free_only)
        found = self._grids.get(key)
        if found is None:
            visible = stations.visible_ids(op)
            found = _only(stations.grid, matching if visible is None else visible & matching)
            if len(self._grids) >= 64:  # a few per operator and filter; never unbounded
                self._grids.clear()
            self._grids[key] = found
        return found


def _only(grid: Grid, ids: frozenset[int]) -> Grid:
    out: Grid = {}
    for row_key, row in grid.items():
        for cell_key, entries in row.items():
            kept = [e for e in entries if e[0] in ids]
            if kept:
                out.setdefault(row_key, {})[cell_key] = kept
    return out


def _fingerprint() -> str | None:
    """Changes whenever a row of the snapshot's tables is inserted, updated or deleted: per
    table, the row count and the sum of the ids of the transactions that wrote the rows
    (``xmin``; PostgreSQL only, one scan of about a millisecond for 10,000 stations)."""
    if db.engine.dialect.name != "postgresql":
        return None
    parts = ", ".join(
        f"(SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM {table})"
        for table in _SNAPSHOT_TABLES
    )
    return str(db.session.scalar(text(f"SELECT concat_ws(',', {parts})")))


def load_stations(fingerprint: str | None) -> StationSnapshot:
    operators = {
        op_id: Brand(op_id, name, color, logo, kind == "platform")
        for op_id, name, color, logo, kind in db.session.execute(
            select(
                Operator.id, Operator.name, Operator.brand_color, Operator.logo_url, Operator.kind
            )
        )
    }
    cards: dict[int, StationCard] = {}
    grid: Grid = {}
    own: dict[int, set[int]] = {}
    rows = db.session.execute(
        select(
            Station.id, Station.operator_id, Station.name, Station.address, Station.city,
            Station.latitude, Station.longitude, Station.timezone, Station.tariff_id,
        ).where(Station.status == "active")
    )  # fmt: skip
    for sid, op_id, name, address, city, lat, lng, tz, tariff_id in rows:
        brand = operators[op_id]
        cards[sid] = StationCard(sid, op_id, name, address, city, lat, lng, tz, tariff_id, brand)
        entry = entry_of(sid, float(lat), float(lng))
        grid.setdefault(cell_of(float(lat)), {}).setdefault(cell_of(float(lng)), []).append(entry)
        own.setdefault(op_id, set()).add(sid)
    shared: dict[int, set[int]] = {}
    for sid, op_id in db.session.execute(
        select(StationVisibility.station_id, StationVisibility.operator_id)
    ):
        shared.setdefault(op_id, set()).add(sid)
    return StationSnapshot(
        fingerprint=fingerprint,
        cards=cards,
        grid=grid,
        operators=operators,
        own={k: frozenset(v) for k, v in own.items()},
        shared={k: frozenset(v) for k, v in shared.items()},
        tariffs=_current_tariffs(),
        discounts=member_pricing.discount_table(),
    )


def _current_tariffs() -> dict[int, TariffNow]:
    segments: dict[int, list[Segment]] = {}
    rows = db.session.execute(
        select(
            Tariff.id, TariffSegment.start_minute, TariffSegment.end_minute, TariffSegment.tier,
            TariffSegment.electricity_price, TariffSegment.service_price,
            Tariff.current_version_id,
        )
        .join(TariffSegment, TariffSegment.version_id == Tariff.current_version_id)
        .order_by(Tariff.id, TariffSegment.start_minute)
    )  # fmt: skip
    versions: dict[int, int] = {}
    for tariff_id, start, end, tier, electricity, service, version_id in rows:
        segments.setdefault(tariff_id, []).append(Segment(start, end, tier, electricity, service))
        versions[tariff_id] = version_id
    return {tid: TariffNow(versions[tid], tuple(segs)) for tid, segs in segments.items()}


# one packed integer a station, read raw: the cheapest read of 10,000 stations (a Core
# result of four columns costs three times the CPU), as this runs every few seconds in
# every worker
_FREE = "p.online AND c.status = 'available'"

_AVAILABILITY_SQL = f"""
SELECT p.station_id, CAST(sum(CASE WHEN p.current_type = 'AC'
    THEN {1 << 48} + CASE WHEN {_FREE} THEN {1 << 32} ELSE 0 END
    ELSE {1 << 16} + CASE WHEN {_FREE} THEN 1 ELSE 0 END END) AS BIGINT)
FROM {Pile.__tablename__} p JOIN {Connector.__tablename__} c ON c.pile_id = p.id
WHERE p.station_id IS NOT NULL
GROUP BY p.station_id
"""


def load_availability(now: float) -> Availability:
    """Connector counts of every station, in one query."""
    # the driver's cursor: plain tuples of integers, which the garbage collector stops
    # tracking, where 10,000 result rows kept alive across the read's waits would each
    # count towards a full collection (100 ms and more in a busy worker)
    cursor = db.session.connection().connection.cursor()
    try:
        cursor.execute(_AVAILABILITY_SQL)
        packed: dict[int, int] = dict(cursor.fetchall())
    finally:
        cursor.close()
    return Availability(now, packed)


class SharedAvailability:
    """Connector counts shared by every worker through Redis (``REDIS_URL``): the worker
    that finds them stale takes a short lock (``SET NX``), counts once and stores them with
    the wall-clock time they were counted (the version); the others read that copy (one
    GET and a decode, no query) instead of each counting on its own, and while one counts
    they answer from the copy they hold (no stampede). Keyed by the database, so
    applications on other databases sharing the Redis never see each other's counts.
    Redis unreachable: each worker counts its own, as without Redis."""

    LOCK_SECONDS = 10  # a counting worker that died frees the lock after this
    RETRY_SECONDS = 0.25  # while another counts, look for its counts again after this

    def __init__(self, client: Any, database: str, wall: Callable[[], float] = time.time):
        self._redis = client
        tag = hashlib.sha1(database.encode()).hexdigest()[:12]
        self._key = f"evop:nearby-availability:{tag}"
        self._lock = self._key + ":lock"
        self._wall = wall
        self.counted = 0  # counted here (tests, the benchmark)
        self.shared = 0  # taken from another worker's count

    @classmethod
    def from_url(cls, url: str, database: str) -> SharedAvailability:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=0.5), database)

    def load(self, now: float, max_age: float, held: Availability | None) -> Availability:
        """Counts at most ``max_age`` old: another worker's, else counted here; ``held``
        (this worker's previous counts) while another worker is counting."""
        import redis

        try:
            raw = self._redis.get(self._key)
            found = _decode_counts(raw) if raw else None
            if found is not None and self._wall() - found[0] < max_age:
                self.shared += 1
                return Availability(now, found[1])
            if not self._redis.set(self._lock, b"1", nx=True, ex=self.LOCK_SECONDS):
                if held is not None:  # another worker is counting: keep ours a moment
                    held.built_at = now - max_age + min(self.RETRY_SECONDS, max_age / 4)
                    return held
                if found is not None:
                    return Availability(now, found[1])
                return self._count(now)
            try:
                counted = self._count(now)
                self._redis.set(self._key, _encode_counts(self._wall(), counted.packed),
                                ex=max(60, int(max_age * 10)))  # fmt: skip
            finally:
                self._redis.delete(self._lock)
            return counted
        except redis.RedisError:
            log.warning("shared connector counts unavailable: counted in this worker")
            return self._count(now)

    def _count(self, now: float) -> Availability:
        self.counted += 1
        return load_availability(now)


def _encode_counts(at: float, packed: dict[int, int]) -> bytes:
    flat = array.array("q", itertools.chain.from_iterable(packed.items()))
    return struct.pack("<d", at) + flat.tobytes()


def _decode_counts(raw: bytes) -> tuple[float, dict[int, int]] | None:
    if len(raw) < 8 or (len(raw) - 8) % 16:
        return None
    (at,) = struct.unpack_from("<d", raw)
    flat = array.array("q")
    flat.frombytes(raw[8:])
    return at, dict(zip(flat[::2], flat[1::2], strict=True))


def shared_availability_for(redis_url: str, database: str) -> SharedAvailability | None:
    return SharedAvailability.from_url(redis_url, database) if redis_url else None


@dataclass(frozen=True, slots=True)
class DriverTerms:
    """What the search needs of a driver: whose stations they see, which price they pay."""

    operator_id: int
    pricing_group: str
    read_at: float


MAX_DRIVERS = 20_000  # drivers' terms kept at once (about 2 MB); then they are read again


class StationIndex:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        background: bool = True,
        shared: SharedAvailability | None = None,
    ) -> None:
        self.clock = clock
        self.background = background  # refresh a stale index beside the searches
        self.shared = shared  # connector counts shared by the workers (Redis)
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stations: StationSnapshot | None = None
        self._checked_at = -math.inf
        self._availability: Availability | None = None
        self._drivers: dict[int, DriverTerms] = {}

    def driver_terms(self, driver_id: int, max_age: float) -> DriverTerms | None:
        """A driver's operator and pricing group, read at most ``max_age`` seconds ago
        (a certification approved meanwhile shows in the list that much later; the
        station page and the order read it live); None: no such driver."""
        now = self.clock()
        found = self._drivers.get(driver_id)
        if found is None or now - found.read_at >= max_age:
            if found is not None and max_age > 0:
                # one search reads again, the others keep what was read meanwhile: under
                # full load a read waits long for its turn, and every search of a busy
                # driver would otherwise wait for one at once
                self._drivers[driver_id] = replace(found, read_at=now)
            row = db.session.execute(
                select(Driver.operator_id, Driver.pricing_group).where(Driver.id == driver_id)
            ).first()
            if row is None:
                self._drivers.pop(driver_id, None)
                return None
            if len(self._drivers) >= MAX_DRIVERS:
                self._drivers.clear()
            found = DriverTerms(row.operator_id, row.pricing_group, now)
            self._drivers[driver_id] = found
        return found

    def current(self, max_age: float) -> tuple[StationSnapshot, Availability]:
        """The index, at most ``max_age`` seconds old (see the module docstring)."""
        stations, availability = self._stations, self._availability
        if stations is None or availability is None or max_age <= 0:
            with self._lock:  # nothing to answer from yet, or asked to read afresh
                self._refresh(max_age)
        elif self._is_stale(max_age) and self._lock.acquire(blocking=False):
            if self.background:
                self._start_refresh(max_age)
            else:
                try:
                    self._refresh(max_age)
                finally:
                    self._lock.release()
        assert self._stations is not None and self._availability is not None
        return self._stations, self._availability

    def _start_refresh(self, max_age: float) -> None:
        # a greenlet of its own under gevent: reading 10,000 rows takes a switch per chunk,
        # and a busy worker makes each switch wait for every other request (seconds under
        # full load); the search that noticed answers at once from the previous index
        try:
            worker = threading.Thread(
                target=in_this_app(self._refresh_in_background), args=(max_age,),
                name="station-index-refresh", daemon=True,
            )  # fmt: skip
            self._worker = worker
            worker.start()
        except BaseException:
            self._lock.release()
            raise

    def _refresh_in_background(self, max_age: float) -> None:
        try:
            try:
                self._refresh(max_age)
            finally:
                db.session.remove()
        except Exception:  # the next search tries again; meanwhile the previous index serves
            log.exception("station index refresh failed")
        finally:
            self._lock.release()

    def wait(self, timeout: float) -> bool:
        """Wait for a background refresh to end (tests); False if it is still running."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def _is_stale(self, max_age: float) -> bool:
        now = self.clock()
        built = self._availability.built_at if self._availability else -math.inf
        return now - self._checked_at >= max_age or now - built >= max_age

    def _refresh(self, max_age: float) -> None:
        now = self.clock()
        if self._stations is None or now - self._checked_at >= max_age:
            fingerprint = _fingerprint()
            if (
                self._stations is None
                or fingerprint is None
                or fingerprint != self._stations.fingerprint
            ):
                self._stations = load_stations(fingerprint)
            self._checked_at = now
        if self._availability is None or now - self._availability.built_at >= max_age:
            if self.shared is not None and max_age > 0:
                self._availability = self.shared.load(now, max_age, self._availability)
            else:
                self._availability = load_availability(now)


STATION_INDEX: Slot[StationIndex] = Slot("station index")


def station_index() -> StationIndex:
    """The current application's index."""
    return part(STATION_INDEX)


def max_age() -> float:
    return max(0.0, float(setting("NEARBY_CACHE_SECONDS")))
