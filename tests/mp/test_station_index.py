"""The nearby search answers from the per-application station index: the same answers as
a search of the database (distance then id, exact radius, paging, filters, visibility of
case #12, branding of case #1, the driver's own price of case #7), and a cache that is
stale by at most ``NEARBY_CACHE_SECONDS``."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, update

from app.catalogue.models import Connector, Pile, Station, StationVisibility, Tariff
from app.config import check_settings, load_config
from app.drivers import driver_auth, members, station_info
from app.drivers.station_index import (
    STATION_INDEX,
    SharedAvailability,
    StationIndex,
    station_index,
)
from app.extensions import db
from app.ledger.models import Wallet
from app.paging import Page
from app.promotions import member_pricing
from app.state import state_of
from app.tenancy.admin_auth import actor_for_user
from app.tenancy.models import AdminUser, Driver, Operator
from miniprogram_api.schemas import stations as schemas
from tests.support.drivers import Login, Ops
from tests.support.redis_db import CACHES, redis_url
from tests.support.settings import BASE_CONFIG, ON_POSTGRES
from wsgi import compose

LAT, LNG = 22.500000, 113.900000  # Shenzhen 南山
STATIONS = "/api/mp/v1/stations"


def _tariff_id(op_id: int) -> int | None:
    return db.session.scalar(select(Tariff.id).where(Tariff.operator_id == op_id))


def _station(op_id: int, name: str, lat: float, lng: float, **kw: Any) -> Station:
    st = Station(
        operator_id=op_id, name=name, latitude=Decimal(f"{lat:.6f}"),
        longitude=Decimal(f"{lng:.6f}"), tariff_id=_tariff_id(op_id), **kw,
    )  # fmt: skip
    db.session.add(st)
    db.session.flush()
    return st


def _pile(st: Station, code: str, current: str, statuses: list[str], online: bool = True) -> Pile:
    pile = Pile(
        code=code, operator_id=st.operator_id, station_id=st.id, protocol="ocpp16",
        current_type=current, rated_power_w=7000, online=online,
    )  # fmt: skip
    pile.connectors = [
        Connector(number=i + 1, qr_payload=f"https://charge.test/q/{code}-{i + 1}", status=s)
        for i, s in enumerate(statuses)
    ]
    db.session.add(pile)
    db.session.flush()
    return pile


def _headers(driver: Driver) -> dict[str, str]:
    return {"Authorization": f"Bearer {driver_auth.issue_token(driver)}"}


def _driver(op_id: int, openid: str, group: str = "none") -> Driver:
    driver = members.create_driver(op_id, openid=openid, pricing_group=group)
    db.session.commit()
    return driver


def _search(client: FlaskClient, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    params = {"lat": LAT, "lng": LNG, **query}
    resp = client.get(STATIONS, query_string=params, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    return body


@dataclass
class World:
    """Every station and its connectors, read once, for reference searches."""

    stations: list[Station]
    connectors: dict[int, list[tuple[str, bool, str]]]  # station → (current, online, status)

    @classmethod
    def read(cls) -> World:
        connectors: dict[int, list[tuple[str, bool, str]]] = {}
        for pile in db.session.scalars(select(Pile)):
            for c in pile.connectors:
                connectors.setdefault(pile.station_id or 0, []).append(
                    (pile.current_type, pile.online, c.status)
                )
        return cls(list(db.session.scalars(select(Station))), connectors)

    def search(
        self,
        op: Operator,
        *,
        radius_m: int,
        free_only: bool = False,
        current_type: str | None = None,
    ) -> list[tuple[int, int]]:
        """(distance, id) of every matching station, by brute force, sorted."""
        out = []
        for st in self.stations:
            if st.status != "active":
                continue
            if not (
                op.is_platform or st.operator_id == op.id or op.id in st.visible_to_operator_ids
            ):
                continue
            lat, lng = float(st.latitude), float(st.longitude)
            distance = station_info.haversine_m(LAT, LNG, lat, lng)
            if distance > radius_m:
                continue
            conns = [c for c in self.connectors.get(st.id, []) if current_type in (None, c[0])]
            if current_type and not conns:
                continue
            if free_only and not any(
                online and status == "available" for _, online, status in conns
            ):
                continue
            out.append((round(distance), st.id))
        return sorted(out)


def test_nearby_index_matches_a_search_of_the_database(client: FlaskClient, ops: Ops) -> None:
    rng = random.Random(20261125)
    for i in range(160):
        op = rng.choice((ops.yc, ops.kc, ops.platform))
        status = "inactive" if i % 17 == 0 else "active"
        # within ~12 km, some on the same spot (equal distances: ties go by id)
        lat, lng = LAT + rng.uniform(-0.11, 0.11), LNG + rng.uniform(-0.12, 0.12)
        if i % 23 == 0:
            lat, lng = LAT + 0.01, LNG
        st = _station(op.id, f"随机站{i}", lat, lng, status=status)
        if op is ops.kc and i % 3 == 0:
            db.session.add(StationVisibility(station_id=st.id, operator_id=ops.yc.id))
        for j in range(rng.randint(0, 2)):
            statuses = [rng.choice(("available", "charging", "faulted")) for _ in range(2)]
            _pile(st, f"R{i}-{j}", rng.choice(("AC", "DC")), statuses, online=rng.random() > 0.2)
    db.session.commit()
    drivers = {
        op.name: (op, _driver(op.id, f"ref-{op.id}")) for op in (ops.yc, ops.kc, ops.platform)
    }
    world = World.read()
    cases: list[dict[str, Any]] = [
        {"radius_m": 5000},
        {"radius_m": 8000, "free_only": True},
        {"radius_m": 12000, "current_type": "DC"},
        {"radius_m": 12000, "current_type": "AC", "free_only": True},
        {"radius_m": 1113},  # exactly the spot of the tied stations and a bit more
        {"radius_m": 30},
    ]
    for who, (op, driver) in drivers.items():
        for case in cases:
            expected = world.search(op, **case)
            body = _search(client, _headers(driver), page_size=50, **case)
            assert body["total"] == len(expected), (who, case)
            got = [(item["distance_m"], item["id"]) for item in body["items"]]
            assert got == expected[:50], (who, case)
            if len(expected) > 7:  # paging walks the same order
                paged = []
                for page in range(1, (len(expected) + 6) // 7 + 1):
                    items = _search(client, _headers(driver), page_size=7, page=page, **case)[
                        "items"
                    ]
                    paged += [(item["distance_m"], item["id"]) for item in items]
                assert paged == expected, (who, case)
    # the platform's drivers see every active station, a sub-operator's only its own and
    # those shared with it (case #12)
    everything = world.search(ops.platform, radius_m=20000)
    assert len(everything) > len(world.search(ops.yc, radius_m=20000)) > 0


def test_nearby_across_the_antimeridian(client: FlaskClient, ops: Ops) -> None:
    east = _station(ops.yc.id, "日界线东", -16.5, 179.99)
    west = _station(ops.yc.id, "日界线西", -16.5, -179.995)
    db.session.commit()
    headers = _headers(_driver(ops.yc.id, "fiji"))
    resp = client.get(f"{STATIONS}?lat=-16.5&lng=-179.99&radius_m=5000", headers=headers)
    body = resp.get_json()
    assert [item["id"] for item in body["items"]] == [west.id, east.id]
    assert body["items"][0]["distance_m"] == round(
        station_info.haversine_m(-16.5, -179.99, -16.5, -179.995)
    )


def test_case7_nearby_shows_the_drivers_own_price(client: FlaskClient, ops: Ops) -> None:
    own = _station(ops.yc.id, "自营站", LAT + 0.001, LNG)
    special = _station(ops.yc.id, "单站折扣站", LAT + 0.002, LNG)
    no_tariff = _station(ops.yc.id, "无电价站", LAT + 0.003, LNG)
    no_tariff.tariff_id = None
    db.session.commit()
    yc_admin = db.session.scalar(select(AdminUser).where(AdminUser.username == "yc_admin"))
    actor = actor_for_user(yc_admin)
    member_pricing.set_discount(actor, group_code="ride_hailing", rate="0.7")
    member_pricing.set_discount(actor, group_code="ride_hailing", rate="0.5", station_id=special.id)
    plain = _headers(_driver(ops.yc.id, "plain-driver"))
    rider = _headers(_driver(ops.yc.id, "rider", group="ride_hailing"))
    for headers, rates in ((plain, {}), (rider, {own.id: "0.7000", special.id: "0.5000"})):
        items = {item["id"]: item for item in _search(client, headers, radius_m=1000)["items"]}
        assert items[no_tariff.id]["current_price"] is None
        for sid in (own.id, special.id):
            price = items[sid]["current_price"]
            detail = client.get(f"{STATIONS}/{sid}", headers=headers).get_json()["price"]
            assert detail["service_discount_rate"] == rates.get(sid)
            # the station page's segment of the same hours: the same member price
            same = [s for s in detail["segments"] if s["start"] == price["start"]]
            assert same and same[0] == price
        assert items[own.id]["brand"]["logo_url"] == "https://cdn.test/yc.png"  # case #1
    rider_items = _search(client, rider, radius_m=1000)["items"]
    price = next(i for i in rider_items if i["id"] == special.id)["current_price"]
    expected = Decimal(price["service_price"]) * Decimal("0.5")
    assert Decimal(price["member_service_price"]) == expected.quantize(Decimal("0.0001"))


def test_nearby_fast_dump_equals_the_schema(client: FlaskClient, ops: Ops) -> None:
    st = _station(ops.kc.id, "共享站", LAT + 0.001, LNG, address="科技园路 1 号", city="深圳")
    db.session.add(StationVisibility(station_id=st.id, operator_id=ops.yc.id))
    _pile(st, "DUMP-1", "DC", ["available", "charging"])
    bare = _station(ops.yc.id, "无电价站", LAT + 0.002, LNG)
    bare.tariff_id = None
    db.session.commit()
    yc_admin = db.session.scalar(select(AdminUser).where(AdminUser.username == "yc_admin"))
    member_pricing.set_discount(actor_for_user(yc_admin), group_code="taxi", rate="0.85")
    driver = _driver(ops.yc.id, "dumper", group="taxi")
    page = station_info.nearby(driver.id, lat=LAT, lng=LNG, radius_m=20000, page_size=50)
    assert isinstance(page, Page) and page.total >= 3
    assert any(item.price is None for item in page.items)
    assert any(item.brand.id == ops.kc.id for item in page.items)
    assert schemas.dump_nearby_page(page) == schemas.MpNearbyStationPage().dump(page)
    # and the endpoint sends that (prices aside: a segment may end between the two calls)
    body = _search(client, _headers(driver), radius_m=20000, page_size=50)
    dumped = schemas.MpNearbyStationPage().dump(page)
    for doc in (body, dumped):
        for item in doc["items"]:
            item.pop("current_price")
    assert body == dumped


# --------------------------------------------------------------------------- the cache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cached(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A 5-second cache on a clock the test moves, refreshed in the searching request (the
    background refresh has a test of its own)."""
    clock = Clock()
    monkeypatch.setitem(app.config, "NEARBY_CACHE_SECONDS", 5)
    monkeypatch.setitem(state_of(app), STATION_INDEX, StationIndex(clock, background=False))
    return clock


def test_nearby_cache_serves_free_connectors_at_most_max_age_old(
    client: FlaskClient, ops: Ops, cached: Clock
) -> None:
    st = _station(ops.yc.id, "缓存站", LAT + 0.001, LNG)
    pile = _pile(st, "CACHE-1", "AC", ["available"])
    db.session.commit()
    headers = _headers(_driver(ops.yc.id, "cache-driver"))
    assert [i["id"] for i in _search(client, headers, radius_m=500, free_only=True)["items"]] == [
        st.id
    ]
    db.session.execute(
        update(Connector).where(Connector.pile_id == pile.id).values(status="charging")
    )
    db.session.commit()
    cached.now += 4.9  # still within the 5 seconds: the counts of 4.9 s ago
    stale = _search(client, headers, radius_m=500)["items"][0]["connectors"]
    assert stale == {"ac_total": 1, "ac_free": 1, "dc_total": 0, "dc_free": 0}
    cached.now += 0.1  # 5 seconds old: counted again
    fresh = _search(client, headers, radius_m=500)["items"][0]["connectors"]
    assert fresh == {"ac_total": 1, "ac_free": 0, "dc_total": 0, "dc_free": 0}
    assert _search(client, headers, radius_m=500, free_only=True)["total"] == 0
    # the station page never waits for the cache
    detail = client.get(f"{STATIONS}/{st.id}", headers=headers).get_json()
    assert [c["status"] for c in detail["connectors"]] == ["charging"]


def test_nearby_cache_sees_station_changes_after_max_age(
    client: FlaskClient, ops: Ops, cached: Clock
) -> None:
    first = _station(ops.yc.id, "老站", LAT + 0.001, LNG)
    db.session.commit()
    headers = _headers(_driver(ops.yc.id, "cache-driver-2"))
    assert _search(client, headers, radius_m=1000)["total"] == 1
    index = station_index()
    before = index.current(5)[0]
    cached.now += 6  # nothing changed: on PostgreSQL the fingerprint keeps the snapshot
    assert _search(client, headers, radius_m=1000)["total"] == 1
    if ON_POSTGRES:
        assert index.current(5)[0] is before
    added = _station(ops.yc.id, "新站", LAT + 0.002, LNG)
    first.status = "inactive"
    kc_station = _station(ops.kc.id, "快充站", LAT + 0.003, LNG)
    db.session.commit()
    assert [i["id"] for i in _search(client, headers, radius_m=1000)["items"]] == [first.id]
    cached.now += 5
    assert [i["id"] for i in _search(client, headers, radius_m=1000)["items"]] == [added.id]
    db.session.add(StationVisibility(station_id=kc_station.id, operator_id=ops.yc.id))
    db.session.commit()
    cached.now += 5  # a share is a station change too (case #12)
    ids = [i["id"] for i in _search(client, headers, radius_m=1000)["items"]]
    assert ids == [added.id, kc_station.id]


def test_nearby_cache_refreshes_in_the_background(
    client: FlaskClient, ops: Ops, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale index is refreshed beside the searches: the search that notices answers
    from the previous index at once, the next ones from the new one."""
    clock = Clock()
    index = StationIndex(clock)
    monkeypatch.setitem(app.config, "NEARBY_CACHE_SECONDS", 5)
    monkeypatch.setitem(state_of(app), STATION_INDEX, index)
    st = _station(ops.yc.id, "后台站", LAT + 0.001, LNG)
    pile = _pile(st, "BG-1", "DC", ["available", "available"])
    db.session.commit()
    headers = _headers(_driver(ops.yc.id, "bg-driver"))

    def dc_free() -> int:
        return int(_search(client, headers, radius_m=500)["items"][0]["connectors"]["dc_free"])

    assert dc_free() == 2
    db.session.execute(
        update(Connector)
        .where(Connector.pile_id == pile.id, Connector.number == 1)
        .values(status="charging")
    )
    db.session.commit()
    # the refresh waits for the search to end: the test's database connection is one
    gate, refresh = threading.Event(), index._refresh
    monkeypatch.setattr(index, "_refresh", lambda age: gate.wait(10) and refresh(age))
    clock.now += 5
    assert dc_free() == 2  # noticed, answered from the previous index
    gate.set()
    assert index.wait(timeout=10)
    assert dc_free() == 1
    before = index.current(5)
    assert index.wait(timeout=10) and index.current(5) == before  # fresh: nothing started


def test_case7_nearby_price_follows_a_certification_within_max_age(
    client: FlaskClient, ops: Ops, cached: Clock
) -> None:
    st = _station(ops.yc.id, "认证站", LAT + 0.001, LNG)
    db.session.commit()
    yc_admin = db.session.scalar(select(AdminUser).where(AdminUser.username == "yc_admin"))
    member_pricing.set_discount(actor_for_user(yc_admin), group_code="ride_hailing", rate="0.7")
    driver = _driver(ops.yc.id, "soon-certified")
    headers = _headers(driver)

    def shown() -> tuple[str, str]:
        price = _search(client, headers, radius_m=500)["items"][0]["current_price"]
        return price["service_price"], price["member_service_price"]

    listed, paid = shown()
    assert listed == paid
    driver.pricing_group = "ride_hailing"  # approved (case #4)
    db.session.commit()
    cached.now += 4.9
    assert shown() == (listed, paid)  # the list may lag that long; the station page never
    detail = client.get(f"{STATIONS}/{st.id}", headers=headers).get_json()["price"]
    assert detail["pricing_group"] == "ride_hailing"
    cached.now += 0.1
    assert shown() == (listed, f"{(Decimal(listed) * Decimal('0.7')).quantize(Decimal('0.0001'))}")


def test_nearby_refuses_the_token_of_a_driver_that_is_gone(client: FlaskClient, ops: Ops) -> None:
    driver = _driver(ops.yc.id, "gone")
    headers = _headers(driver)
    assert _search(client, headers, radius_m=500)["total"] >= 0
    db.session.execute(delete(Wallet).where(Wallet.driver_id == driver.id))
    db.session.execute(delete(Driver).where(Driver.id == driver.id))
    db.session.commit()
    resp = client.get(STATIONS, query_string={"lat": LAT, "lng": LNG}, headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "AUTH_TOKEN_INVALID"


@pytest.mark.skipif(ON_POSTGRES, reason="the PostgreSQL run binds db.session to one connection")
def test_station_index_is_per_application(ops: Ops, app: Flask) -> None:
    """Two applications on two databases in one process never share an index."""
    other = compose({**BASE_CONFIG, "DATABASE_URL": "sqlite://"})
    with other.app_context():
        db.create_all()
        from app.demo import seed_demo

        seed_demo()
        theirs = station_index()
        their_cards = set(theirs.current(0)[0].cards)
        db.session.remove()
        db.engine.dispose()
    ours = station_index()
    assert ours is not theirs and state_of(app)[STATION_INDEX] is ours
    our_ids = set(db.session.scalars(select(Station.id).where(Station.status == "active")))
    assert set(ours.current(0)[0].cards) == our_ids
    assert their_cards and len(their_cards) == len(our_ids)


def test_check_settings_bounds_nearby_cache_seconds(tmp_path: Any) -> None:
    ready = {
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": "postgresql://db/evop",
        "REDIS_URL": "redis://r:6379/0",
        "QR_BASE_URL": "https://charge.operator.cn/q/",
        "ENV": "production",  # pile credentials: "auto" is on in production
    }
    assert check_settings(load_config(str(tmp_path), ready)) == []
    for bad in (-1, 61):
        problems = check_settings(load_config(str(tmp_path), ready | {"NEARBY_CACHE_SECONDS": bad}))
        assert any("EVOP_NEARBY_CACHE_SECONDS" in p for p in problems)


def test_nearby_finds_the_demo_stations_for_a_logged_in_driver(
    client: FlaskClient, ops: Ops, mp_login: Login
) -> None:
    """The demo's stations of 广东云创 are found by its drivers near 南山 (smoke)."""
    body = _search(client, mp_login("smoke"), radius_m=100_000)
    names = {item["name"] for item in body["items"]}
    assert "云创·深圳南山科技园站" in names


def _redis_or_skip() -> Any:

    import redis

    client = redis.Redis.from_url(redis_url(CACHES))
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {redis_url(CACHES)}")
    return client


def test_workers_share_connector_counts_through_redis_and_count_once(
    client: FlaskClient, ops: Ops, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers (two indexes) on one Redis: the first to find the counts stale counts
    them, the other takes its copy without a query; stale again, one counts again."""
    import os

    redis_client = _redis_or_skip()
    clock, wall = Clock(), Clock()
    database = f"test-{os.getpid()}-{random.random()}"
    shares = [SharedAvailability(redis_client, database, wall=lambda: wall.now) for _ in "ab"]
    workers = [StationIndex(clock, background=False, shared=s) for s in shares]
    monkeypatch.setitem(app.config, "NEARBY_CACHE_SECONDS", 5)
    st = _station(ops.yc.id, "共享站", LAT + 0.001, LNG)
    pile = _pile(st, "SHARE-1", "AC", ["available", "available"])
    db.session.commit()
    headers = _headers(_driver(ops.yc.id, "share-driver"))

    def ac_free(worker: StationIndex) -> int:
        monkeypatch.setitem(state_of(app), STATION_INDEX, worker)
        found = _search(client, headers, radius_m=500)["items"][0]["connectors"]
        return int(found["ac_free"])

    try:
        assert [ac_free(w) for w in workers] == [2, 2]
        assert [(s.counted, s.shared) for s in shares] == [(1, 0), (0, 1)]
        db.session.execute(
            update(Connector)
            .where(Connector.pile_id == pile.id, Connector.number == 1)
            .values(status="charging")
        )
        db.session.commit()
        clock.now += 5
        wall.now += 5
        assert [ac_free(w) for w in reversed(workers)] == [1, 1]
        assert [(s.counted, s.shared) for s in shares] == [(1, 1), (1, 1)]
    finally:
        redis_client.delete(shares[0]._key, shares[0]._lock)


def test_a_worker_keeps_its_counts_while_another_counts(
    client: FlaskClient, ops: Ops, app: Flask
) -> None:
    """No stampede: while one worker holds the counting lock, the others answer from what
    they hold and look again a moment later; Redis down, each counts its own."""
    import os

    import redis

    redis_client = _redis_or_skip()
    shared = SharedAvailability(redis_client, f"test-{os.getpid()}-{random.random()}")
    try:
        first = shared.load(0.0, 5, None)
        assert shared.counted == 1
        redis_client.delete(shared._key)  # gone stale (expired), and another worker counts
        redis_client.set(shared._lock, b"1")
        held = shared.load(10.0, 5, first)
        assert held is first and shared.counted == 1
        assert 10.0 - held.built_at == pytest.approx(5 - SharedAvailability.RETRY_SECONDS)
    finally:
        redis_client.delete(shared._key, shared._lock)
    down = SharedAvailability(redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2), "x")
    assert down.load(0.0, 5, None).packed == first.packed and down.counted == 1
