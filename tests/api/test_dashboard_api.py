"""The console's overview (概览): totals, piles, trends and top stations from the bills, one
sub-operator never seeing another's figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.billing.models import Bill
from app.charging.port import ConnectorState
from app.extensions import db
from app.payments import dashboard
from app.payments.models import RefundRequest, RefundState
from app.tenancy.models import Operator
from app.tenancy.scope import SYSTEM
from tests.support.money import World, bill_of, build_world, recent

API = "/api/admin/v1/dashboard"


def _operator(name: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    assert op is not None
    return op


def _settle(world: World, hours: float, wh: int) -> Bill:
    t0 = recent(hours)
    ref = world.start(t0, samples=[(5, wh // 2)])
    world.stop(ref, t0 + timedelta(minutes=10), wh)
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=11))
    return bill_of(world.order(ref))


def test_overview_sums_the_bills_of_the_admins_operator_only(
    app: Flask, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    yc = build_world(app, operator=_operator("广东云创"), code="DASH-YC-01")
    kc = build_world(app, operator=_operator("深圳快充"), code="DASH-KC-01")
    yc.connect(recent(6))
    kc.connect(recent(6))
    yc_bills = [_settle(yc, 5, 12_345), _settle(yc, 4, 2_000)]
    kc_bill = _settle(kc, 5, 7_000)
    yc.start(recent(1), samples=[(1, 100)])  # one session still charging
    db.session.add(
        RefundRequest(driver_id=yc.driver.id, operator_id=yc.operator.id, amount_fen=500,
                      state=RefundState.SUCCEEDED, succeeded_fen=500,
                      finished_at=datetime.now(UTC))
    )  # fmt: skip
    db.session.commit()

    resp = client.get(API, headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    month = body["month"]
    assert month["orders"] == 2
    assert month["energy_wh"] == 14_345
    assert month["revenue_fen"] == sum(b.total_fen for b in yc_bills)
    assert month["service_fen"] == sum(b.service_fen - b.service_discount_fen for b in yc_bills)
    assert month["refund_fen"] == 500
    assert body["today"] == month  # every bill was settled just now
    assert len(body["trend"]) == 30
    assert body["trend"][-1]["orders"] == 2 and sum(d["orders"] for d in body["trend"]) == 2
    assert body["tiers"] == [{"tier": "flat", "energy_wh": 14_345}]
    [top] = [s for s in body["top_stations"] if s["station_id"] == yc.station.id]
    assert top["orders"] == 2 and top["revenue_fen"] == month["revenue_fen"]
    assert kc.station.id not in {s["station_id"] for s in body["top_stations"]}
    assert body["sessions_now"] == 1
    assert body["piles"]["online"] >= 1

    other = client.get(API, headers=as_kc).get_json()
    assert other["month"]["orders"] == 1
    assert other["month"]["revenue_fen"] == kc_bill.total_fen
    assert other["month"]["refund_fen"] == 0 and other["sessions_now"] == 0
    assert yc.station.id not in {s["station_id"] for s in other["top_stations"]}


def test_overview_counts_a_bill_on_its_local_day(app: Flask, demo: Any) -> None:
    world = build_world(app, operator=_operator("广东云创"), code="DASH-DAY-01")
    world.connect(recent(6))
    bill = _settle(world, 5, 1_000)
    # 2026-01-01 17:30 UTC is 01:30 on 2 January in Shanghai
    bill.settled_at = datetime(2026, 1, 1, 17, 30, tzinfo=UTC)
    db.session.commit()
    now = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)  # 11:00 on 2 January, local
    seen = dashboard.overview(SYSTEM, now=now)
    assert seen.today.orders == 1
    assert seen.month.orders == 1
    assert [d.orders for d in seen.trend if d.date == "2026-01-02"] == [1]
    assert all(d.orders == 0 for d in seen.trend if d.date != "2026-01-02")
    # in UTC it was still 1 January: the previous day there, outside that "today"
    utc = dashboard.overview(SYSTEM, tz="UTC", now=now)
    assert utc.today.orders == 0
    assert [d.orders for d in utc.trend if d.date == "2026-01-01"] == [1]


def test_overview_needs_order_read_and_a_real_zone(
    client: FlaskClient, as_yc: dict[str, str], login: Any
) -> None:
    role = client.post(
        "/api/admin/v1/roles", json={"name": "只看会员", "permissions": ["member.read"]},
        headers=as_yc,
    ).get_json()  # fmt: skip
    user = client.post(
        "/api/admin/v1/admin-users",
        json={"username": "dash_member", "password": "secret123", "role_ids": [role["id"]]},
        headers=as_yc,
    )
    assert user.status_code == 201, user.get_json()
    denied = client.get(API, headers=login("dash_member", "secret123"))
    assert denied.status_code == 403
    assert denied.get_json()["error"]["details"]["permission"] == "order.read"
    bad = client.get(f"{API}?timezone=Mars/Olympus", headers=as_yc)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "TIMEZONE_INVALID"
