"""Nearby stations and station detail as a driver sees them (cases #1, #7, #12, #19)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.billing import occupancy
from app.catalogue.models import Connector, Pile, Station, StationVisibility, Tariff
from app.drivers.station_info import bounding_box, haversine_m
from app.extensions import db
from app.promotions import member_pricing
from app.tenancy.admin_auth import actor_for_user
from app.tenancy.models import AdminUser, Driver
from tests.support.drivers import Login, Ops

# a point in Shenzhen 南山; stations placed due north at known distances
LAT, LNG = 22.500000, 113.900000


def _north(metres: float) -> Decimal:
    return Decimal(f"{LAT + metres / 111_195.0:.6f}")


def _station(op_id: int, name: str, metres: float, **kw: Any) -> Station:
    tariff = db.session.scalar(select(Tariff).where(Tariff.operator_id == op_id))
    st = Station(
        operator_id=op_id, name=name, latitude=_north(metres), longitude=Decimal(f"{LNG:.6f}"),
        tariff_id=tariff.id if tariff else None, **kw,
    )  # fmt: skip
    db.session.add(st)
    db.session.flush()
    return st


def _pile(st: Station, code: str, current: str, statuses: list[str], online: bool = True) -> Pile:
    pile = Pile(
        code=code, operator_id=st.operator_id, station_id=st.id, protocol="ocpp16",
        current_type=current, rated_power_w=7000 if current == "AC" else 60000, online=online,
    )  # fmt: skip
    pile.connectors = [
        Connector(number=i + 1, qr_payload=f"https://charge.test/q/{code}-{i + 1}", status=s)
        for i, s in enumerate(statuses)
    ]
    db.session.add(pile)
    db.session.flush()
    return pile


def _ids(resp: Any) -> list[int]:
    return [item["id"] for item in resp.get_json()["items"]]


def test_haversine_and_bounding_box() -> None:
    # one degree of latitude is ~111.2 km; the box always encloses the circle
    assert abs(haversine_m(22.0, 113.0, 23.0, 113.0) - 111_195) < 5
    min_lat, max_lat, _min_lng, max_lng = bounding_box(LAT, LNG, 5000)
    for bearing_lat, bearing_lng in ((max_lat, LNG), (LAT, max_lng), (min_lat, LNG)):
        assert haversine_m(LAT, LNG, bearing_lat, bearing_lng) >= 4999


def test_nearby_sorted_by_distance_paged_and_scoped(
    client: FlaskClient, ops: Ops, mp_login: Login
) -> None:
    far = _station(ops.yc.id, "远站", 4000)
    near = _station(ops.yc.id, "近站", 300)
    mid = _station(ops.yc.id, "中站", 1500)
    _station(ops.yc.id, "圈外", 7000)
    foreign = _station(ops.kc.id, "快充私有站", 200)
    shared = _station(ops.kc.id, "快充共享站", 800)
    db.session.add(StationVisibility(station_id=shared.id, operator_id=ops.yc.id))  # case #12
    _station(ops.yc.id, "停用站", 100, status="inactive")
    db.session.commit()
    headers = mp_login("erin")
    q = f"/api/mp/v1/stations?lat={LAT}&lng={LNG}&radius_m=5000"
    first = client.get(q + "&page_size=2", headers=headers)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["total"] == 4 and _ids(first) == [near.id, shared.id]
    distances = [item["distance_m"] for item in body["items"]]
    assert abs(distances[0] - 300) <= 2 and abs(distances[1] - 800) <= 2
    second = client.get(q + "&page_size=2&page=2", headers=headers)
    assert _ids(second) == [mid.id, far.id]
    assert foreign.id not in _ids(client.get(q + "&page_size=50", headers=headers))
    # the shared station shows its owner's branding (case #1)
    item = body["items"][1]
    assert item["brand"]["name"] == "深圳快充" and item["brand"]["brand_color"] == "#fa8c16"
    # a kc driver sees kc's own stations, and not yc's
    kc_ids = _ids(client.get(q + "&page_size=50", headers=mp_login("erin", "wx00000000000000kc")))
    assert set(kc_ids) == {foreign.id, shared.id}


def test_nearby_filters_free_connectors_and_current_type(
    client: FlaskClient, ops: Ops, mp_login: Login
) -> None:
    ac_free = _station(ops.yc.id, "交流空闲", 100)
    _pile(ac_free, "F-AC-1", "AC", ["available", "charging"])
    dc_busy = _station(ops.yc.id, "直流占用", 200)
    _pile(dc_busy, "F-DC-1", "DC", ["charging"])
    dc_offline = _station(ops.yc.id, "直流离线", 300)
    _pile(dc_offline, "F-DC-2", "DC", ["available"], online=False)
    db.session.commit()
    headers = mp_login("frank")
    q = f"/api/mp/v1/stations?lat={LAT}&lng={LNG}&radius_m=1000"
    assert _ids(client.get(q + "&current_type=DC", headers=headers)) == [dc_busy.id, dc_offline.id]
    assert _ids(client.get(q + "&free_only=true", headers=headers)) == [ac_free.id]
    assert _ids(client.get(q + "&free_only=true&current_type=DC", headers=headers)) == []
    counts = client.get(q, headers=headers).get_json()["items"][0]["connectors"]
    assert counts == {"ac_total": 2, "ac_free": 1, "dc_total": 0, "dc_free": 0}


def test_case7_station_detail_shows_the_ride_hailing_price(
    client: FlaskClient, ops: Ops, mp_login: Login
) -> None:
    headers = mp_login("gina")
    nanshan = db.session.scalar(select(Station).where(Station.name == "云创·深圳南山科技园站"))
    yc_admin = db.session.scalar(select(AdminUser).where(AdminUser.username == "yc_admin"))
    member_pricing.set_discount(actor_for_user(yc_admin), group_code="ride_hailing", rate="0.7")
    url = f"/api/mp/v1/stations/{nanshan.id}"
    plain = client.get(url, headers=headers).get_json()
    assert plain["price"]["pricing_group"] == "none"
    assert plain["price"]["segments"][0]["member_service_price"] == "0.5000"
    assert plain["occupancy"] is None  # case #19: no policy, no occupancy rule shown
    driver = db.session.scalar(select(Driver).where(Driver.openid == "gina"))
    driver.pricing_group = "ride_hailing"
    db.session.commit()
    detail = client.get(url + f"?lat={LAT}&lng={LNG}", headers=headers).get_json()
    price = detail["price"]
    assert price["pricing_group"] == "ride_hailing" and price["service_discount_rate"] == "0.7000"
    valley = price["segments"][0]
    assert (valley["start"], valley["end"], valley["tier"]) == ("00:00", "08:00", "valley")
    assert valley["service_price"] == "0.5000" and valley["member_service_price"] == "0.3500"
    assert valley["total_price"] == "0.7000"  # 0.35 electricity + 0.35 service
    assert len(price["segments"]) == 8 and detail["distance_m"] > 0
    assert {c["pile_code"] for c in detail["connectors"]} == {"DEMO-OCPP-01", "55031412782305"}
    assert all(c["status"] == "offline" and not c["free"] for c in detail["connectors"])
    assert detail["brand"]["logo_url"] == "https://cdn.test/yc.png"
    occupancy.set_policy(
        actor_for_user(yc_admin), nanshan.id, grace_minutes=90, price_per_minute="0.10",
        cap_fen=None,
    )  # fmt: skip
    rule = client.get(url, headers=headers).get_json()["occupancy"]
    assert rule == {"grace_minutes": 90, "price_per_minute": "0.1000", "cap_fen": None}


def test_station_detail_hides_what_the_driver_may_not_see(
    client: FlaskClient, ops: Ops, mp_login: Login
) -> None:
    foreign = _station(ops.kc.id, "快充私有站", 200)
    no_tariff = _station(ops.yc.id, "无电价站", 200)
    no_tariff.tariff_id = None
    db.session.commit()
    headers = mp_login("hank")
    resp = client.get(f"/api/mp/v1/stations/{foreign.id}", headers=headers)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "STATION_NOT_FOUND"
    detail = client.get(f"/api/mp/v1/stations/{no_tariff.id}", headers=headers).get_json()
    assert detail["price"] is None
    assert detail["price_unavailable"]["code"] == "STATION_WITHOUT_TARIFF"
    assert client.get("/api/mp/v1/stations/99999999999", headers=headers).status_code == 404
