"""Partners' stations and our drivers' partner orders in the drivers' NORMAL lists
(issue 11, we are the customer platform): nearby search, station detail and the order
list, each marked as the partner's; prices from the partner's policy, with our member
discount only where the operator grants it for that partner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.hlht import customer, listings
from app.hlht.client import PartnerClient
from app.hlht.models import CustomerOrder, Partner
from app.ledger import wallet
from app.promotions import member_pricing
from app.tenancy.admin_auth import actor_for_user
from app.tenancy.models import AdminUser, Driver
from tests.support.drivers import Login
from tests.support.hlht import FakePartnerPlatform, PartnerCaller, register_partner

STATION = {
    "StationID": "S1", "OperatorID": "MA07TEST1", "StationName": "合作方一号站",
    "Address": "深圳市南山区", "StationLng": 113.95, "StationLat": 22.53, "StationStatus": 50,
    "EquipmentInfos": [{"EquipmentID": "P1", "EquipmentType": 1, "Power": 60.0,
                        "ConnectorInfos": [{"ConnectorID": "P1-1", "Power": 60.0}]}],
}  # fmt: skip
NEAR = {"lat": 22.53, "lng": 113.951, "radius_m": 20_000, "page_size": 50}


@pytest.fixture(autouse=True)
def _fresh_spots() -> Iterator[None]:
    listings.forget_partner_spots()
    yield
    listings.forget_partner_spots()


def _synced(monkeypatch: pytest.MonkeyPatch, status: int = 1) -> FakePartnerPlatform:
    platform = FakePartnerPlatform()
    monkeypatch.setattr(
        customer, "_client", lambda partner, http: PartnerClient(partner, http=platform.session())
    )
    partner = register_partner("MA07TEST1", base_url="http://partner.test")
    platform.answers["query_stations_info"] = [
        {"PageNo": 1, "PageCount": 1, "ItemSize": 1, "StationInfos": [STATION]}
    ]
    platform.answers["query_station_status"] = [
        {"Total": 1, "StationStatusInfos": [
            {"StationID": "S1", "ConnectorStatusInfos": [{"ConnectorID": "P1-1", "Status": status}]}
        ]}
    ]  # fmt: skip
    platform.answers["query_equip_business_policy"] = [
        {"SuccStat": 0, "FailReason": 0, "SumPeriod": 1,
         "PolicyInfos": [{"StartTime": "000000", "ElecPrice": 0.6420, "SevicePrice": 0.3523}]}
    ]  # fmt: skip
    customer.sync_partner(partner, None)
    db.session.commit()
    listings.forget_partner_spots()
    return platform


def _ride_hailing(openid: str) -> None:
    """``openid`` in the ride-hailing group of yc, which pays 七折 of the service fee."""
    yc_admin = db.session.scalar(select(AdminUser).where(AdminUser.username == "yc_admin"))
    member_pricing.set_discount(actor_for_user(yc_admin), group_code="ride_hailing", rate="0.7")
    driver = db.session.scalar(select(Driver).where(Driver.openid == openid))
    assert driver is not None
    driver.pricing_group = "ride_hailing"
    db.session.commit()


def _grant(on: bool) -> None:
    partner = db.session.scalar(select(Partner).where(Partner.operator_id == "MA07TEST1"))
    assert partner is not None
    partner.grant_member_discount = on
    db.session.commit()


def _nearby(client: FlaskClient, headers: dict[str, str], **more: Any) -> Any:
    resp = client.get("/api/mp/v1/stations", query_string={**NEAR, **more}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _theirs(page: Any) -> list[Any]:
    return [it for it in page["items"] if it["partner"] is not None]


def test_partner_stations_appear_in_the_normal_nearby_search_marked_as_the_partners(
    client: FlaskClient, mp_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = mp_login("ivan")
    before = _nearby(client, headers)
    assert _theirs(before) == [] and all(it["partner"] is None for it in before["items"])
    _synced(monkeypatch)
    page = _nearby(client, headers)
    assert page["total"] == before["total"] + 1
    (row,) = _theirs(page)
    assert row["partner"] == {"operator_id": "MA07TEST1", "name": "测试互联平台"}
    assert row["name"] == "合作方一号站" and row["brand"]["name"] == "测试互联平台"
    assert 90 <= row["distance_m"] <= 110
    assert row["connectors"] == {"ac_total": 0, "ac_free": 0, "dc_total": 1, "dc_free": 1}
    price = row["current_price"]
    assert (price["electricity_price"], price["service_price"]) == ("0.6420", "0.3523")
    assert price["member_service_price"] == "0.3523" and price["total_price"] == "0.9943"
    distances = [it["distance_m"] for it in page["items"]]
    assert distances == sorted(distances)  # merged nearest first, ours and theirs
    assert [it["id"] for it in page["items"] if it["partner"] is None] == [
        it["id"] for it in before["items"]
    ]
    # paged over the merged list: page 1 of size 1 is the nearest of all
    first = _nearby(client, headers, page_size=1)
    assert first["total"] == page["total"] and first["items"] == page["items"][:1]
    assert _theirs(_nearby(client, headers, current_type="AC")) == []
    far = _nearby(client, headers, lat=23.53, lng=113.95, radius_m=1000)
    assert _theirs(far) == []


def test_a_busy_partner_station_is_left_out_of_free_only(
    client: FlaskClient, mp_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    _synced(monkeypatch, status=3)
    headers = mp_login("ivan")
    (row,) = _theirs(_nearby(client, headers))
    assert row["connectors"]["dc_free"] == 0
    assert _theirs(_nearby(client, headers, free_only="true")) == []


def test_partner_prices_take_our_member_discount_only_when_the_operator_grants_it(
    client: FlaskClient, mp_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    _synced(monkeypatch)
    headers = mp_login("ivan")
    _ride_hailing("ivan")
    (row,) = _theirs(_nearby(client, headers))
    assert row["current_price"]["member_service_price"] == "0.3523"  # off by default
    url = f"/api/mp/v1/stations/{row['id']}"
    detail = client.get(url, query_string={"partner": "true"}, headers=headers).get_json()
    assert detail["partner"]["operator_id"] == "MA07TEST1"
    assert detail["price"]["service_discount_rate"] is None
    assert detail["price"]["current"]["member_service_price"] == "0.3523"
    _grant(True)
    listings.forget_partner_spots()
    (row,) = _theirs(_nearby(client, headers))
    # 0.3523 × 0.7 = 0.24661 → 0.2466, as our own stations show a member price
    assert row["current_price"]["member_service_price"] == "0.2466"
    assert row["current_price"]["total_price"] == "0.8886"
    detail = client.get(
        url, query_string={"partner": "true", "lat": 22.53, "lng": 113.951}, headers=headers
    ).get_json()
    assert detail["name"] == "合作方一号站" and detail["brand"]["name"] == "测试互联平台"
    assert 90 <= detail["distance_m"] <= 110 and detail["occupancy"] is None
    price = detail["price"]
    assert price["service_discount_rate"] == "0.7000" and price["pricing_group"] == "ride_hailing"
    (segment,) = price["segments"]
    assert (segment["start"], segment["end"]) == ("00:00", "24:00")
    assert segment["member_service_price"] == "0.2466"
    (conn,) = detail["connectors"]
    assert conn["pile_code"] == "P1-1" and conn["status"] == "available" and conn["free"]
    assert conn["current_type"] == "DC" and conn["rated_power_w"] == 60_000
    # a driver outside the group pays the partner's price
    other = client.get(url, query_string={"partner": "true"}, headers=mp_login("kate")).get_json()
    assert other["price"]["current"]["member_service_price"] == "0.3523"


def test_the_normal_station_detail_refuses_an_unknown_partner_station(
    client: FlaskClient, mp_login: Login
) -> None:
    resp = client.get(
        "/api/mp/v1/stations/999999", query_string={"partner": "true"}, headers=mp_login("ivan")
    )
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "STATION_NOT_FOUND"


def _fund(openid: str, fen: int = 5000) -> Driver:
    driver = db.session.scalar(select(Driver).where(Driver.openid == openid))
    assert driver is not None
    wallet.post_entry(driver.id, fen, "manual_credit", idempotency_key=f"test:{openid}")
    db.session.commit()
    return driver


def _started(client: FlaskClient, headers: dict[str, str], platform: FakePartnerPlatform) -> str:
    platform.answers["query_start_charge"] = [
        {"SuccStat": 0, "FailReason": 0, "StartChargeSeqStat": 1}
    ]
    started = client.post(
        "/api/mp/v1/hlht/orders", json={"qr": "hlht://P1-1.MA07TEST1/custom-7"}, headers=headers
    )
    assert started.status_code == 201, started.get_json()
    return str(started.get_json()["order_no"])


def _caller(app: Flask) -> PartnerCaller:
    caller = PartnerCaller(app.test_client())
    caller.login()
    return caller


def _order(order_no: str) -> CustomerOrder:
    db.session.expire_all()
    order = db.session.scalar(select(CustomerOrder).where(CustomerOrder.order_no == order_no))
    assert order is not None
    return order


def test_a_granted_member_discount_comes_off_the_partners_bill_once(
    app: Flask, client: FlaskClient, mp_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = _synced(monkeypatch)
    headers = mp_login("ivan")
    _ride_hailing("ivan")
    _grant(True)
    driver = _fund("ivan")
    scan = client.post(
        "/api/mp/v1/scan", json={"qr": "hlht://P1-1.MA07TEST1/custom-7"}, headers=headers
    ).get_json()
    price = scan["partner"]["price"]  # what the scan shows is what the bill takes
    assert (price["service_price"], price["member_service_price"]) == ("0.3523", "0.2466")
    assert price["total_price"] == "0.8886" and scan["can_start"]
    order_no = _started(client, headers, platform)
    _grant(False)  # the rate was frozen at the start
    caller = _caller(app)
    seq = _order(order_no).start_charge_seq
    status = {"StartChargeSeq": seq, "StartChargeSeqStat": 2, "ConnectorID": "P1-1",
              "TotalPower": 1.76, "TotalMoney": 0}  # fmt: skip
    assert caller.call("notification_equip_charge_status", status)[0] == 0
    live = client.get(f"/api/mp/v1/hlht/orders/{order_no}", headers=headers).get_json()
    # the policy: 1.76 kWh → 1.13 + 0.62; the member discount 0.62 − 0.43 = 0.19 off
    assert live["amount_fen"] == 175 - 19
    info = {"StartChargeSeq": seq, "ConnectorID": "P1-1", "TotalPower": 1.0,
            "TotalElecMoney": 0.64, "TotalSeviceMoney": 0.35, "TotalMoney": 0.99,
            "StartTime": "2026-12-04 10:00:00", "EndTime": "2026-12-04 10:10:00"}  # fmt: skip
    balance = wallet.balance_of(driver.id)
    assert caller.call("notification_charge_order_info", info)[0] == 0
    assert caller.call("notification_charge_order_info", info)[0] == 0  # a repeat: nothing
    order = _order(order_no)
    # 0.35 at 七折 = 0.245 → 0.25 paid, 0.10 off (the rule of our own bill lines)
    assert order.partner_total_fen == 99 and order.member_discount_fen == 10
    assert order.charged_fen == 89 and wallet.balance_of(driver.id) == balance - 89


def test_partner_orders_appear_in_the_normal_order_list_marked_as_the_partners(
    app: Flask, client: FlaskClient, mp_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = _synced(monkeypatch)
    headers = mp_login("ivan")
    _fund("ivan")
    assert client.get("/api/mp/v1/orders", headers=headers).get_json()["total"] == 0
    order_no = _started(client, headers, platform)
    page = client.get("/api/mp/v1/orders", headers=headers).get_json()
    assert page["total"] == 1
    (row,) = page["items"]
    assert row["order_no"] == order_no and row["state"] == "starting"
    assert row["partner"] == {"operator_id": "MA07TEST1", "name": "测试互联平台"}
    assert row["station_name"] == "合作方一号站" and row["requested_at"]
    info = {"StartChargeSeq": _order(order_no).start_charge_seq, "ConnectorID": "P1-1",
            "TotalPower": 1.0, "TotalElecMoney": 0.64, "TotalSeviceMoney": 0.35,
            "TotalMoney": 0.99}  # fmt: skip
    assert _caller(app).call("notification_charge_order_info", info)[0] == 0
    settled = client.get(
        "/api/mp/v1/orders", query_string={"state": "settled"}, headers=headers
    ).get_json()
    assert [(r["order_no"], r["total_fen"]) for r in settled["items"]] == [(order_no, 99)]
    assert (
        client.get(
            "/api/mp/v1/orders", query_string={"state": "charging"}, headers=headers
        ).get_json()["total"]
        == 0
    )
    assert client.get("/api/mp/v1/orders", headers=mp_login("kate")).get_json()["total"] == 0


def test_a_deep_page_of_the_merged_order_list_holds_the_right_orders(
    client: FlaskClient, mp_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond 100 orders (app.paging's largest page) the merge still reads every order
    before the page asked: the pages together are the whole list, once each."""
    _synced(monkeypatch)
    mp_login("ivan")
    driver = db.session.scalar(select(Driver).where(Driver.openid == "ivan"))
    partner = db.session.scalar(select(Partner).where(Partner.operator_id == "MA07TEST1"))
    assert driver is not None and partner is not None
    base = utcnow() - timedelta(days=1)
    for n in range(130):
        db.session.add(
            CustomerOrder(
                order_no=f"HDEEP{n:04d}",
                start_charge_seq=f"MA5EVOP01{n:018d}",
                partner_id=partner.id,
                driver_id=driver.id,
                connector_code="P1-1",
                state="settled",
                created_at=base + timedelta(minutes=n),
            )
        )
    db.session.commit()
    seen: list[str] = []
    for number in range(1, 4):
        page = listings.orders_with_partners(driver, page=number, page_size=50)
        assert page.total == 130
        seen.extend(it.order.order_no for it in page.items)
    assert seen == [f"HDEEP{n:04d}" for n in reversed(range(130))]
