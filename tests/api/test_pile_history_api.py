"""Pile history through the admin API: scoped, filtered by time (cases #24, #17 2019)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.charging.port import FaultRaised, PileConnected, PileDisconnected
from app.extensions import db
from app.tenancy.models import Operator
from tests.support.money import build_world, recent
from tests.support.ports import pile_events

T0 = datetime(2019, 1, 7, 0, 0, tzinfo=UTC)


def _history(app: Flask) -> None:
    svc = pile_events(app)
    svc.handle(PileConnected("DEMO-OCPP-01", "ocpp16", T0))
    svc.handle(FaultRaised("DEMO-OCPP-01", 1, "EmergencyStop", T0 + timedelta(hours=1)))
    svc.handle(PileDisconnected("DEMO-OCPP-01", T0 + timedelta(hours=2), "heartbeat_timeout"))
    svc.handle(PileConnected("DEMO-OCPP-01", "ocpp16", T0 + timedelta(hours=3)))


def _range(days: int = 7) -> str:
    since = T0 - timedelta(days=1)
    until = T0 + timedelta(days=days)
    return urlencode({"since": since.isoformat(), "until": until.isoformat()})


def test_online_periods_faults_and_report(
    app: Flask, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    _history(app)
    periods = client.get(f"/api/admin/v1/pile-online-periods?{_range()}", headers=as_yc)
    assert periods.status_code == 200, periods.get_json()
    body = periods.get_json()
    assert body["total"] == 2
    assert body["items"][1]["offline_reason"] == "heartbeat_timeout"
    faults = client.get(
        f"/api/admin/v1/faults?{_range()}&code=EmergencyStop", headers=as_yc
    ).get_json()
    assert faults["total"] == 1 and faults["items"][0]["ended_at"] is None
    report = client.get(
        f"/api/admin/v1/reports/disconnections?{_range(14)}", headers=as_yc
    ).get_json()
    [row] = report["items"]
    assert row["pile_code"] == "DEMO-OCPP-01" and row["disconnections"] == 1
    assert row["offline_seconds"] == 3600
    # another sub-operator sees none of it
    assert (
        client.get(f"/api/admin/v1/pile-online-periods?{_range()}", headers=as_kc).get_json()[
            "total"
        ]
        == 0
    )
    assert client.get(f"/api/admin/v1/faults?{_range()}", headers=as_kc).get_json()["total"] == 0


def test_time_range_is_validated(client: FlaskClient, as_yc: dict[str, Any]) -> None:
    resp = client.get(
        "/api/admin/v1/faults?since=2019-01-07T00:00:00&until=2019-01-08T00:00:00", headers=as_yc
    )
    assert resp.status_code == 422  # naive times are refused
    resp = client.get(f"/api/admin/v1/faults?{_range(400)}", headers=as_yc)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "TIME_RANGE_TOO_LONG"


def test_case24_an_emergency_stop_names_its_pile_and_the_order_running_then(
    app: Flask, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    assert yc is not None
    world = build_world(app, operator=yc, code="FAULT-YC-01")
    world.driver.phone = "13800138024"
    db.session.commit()
    t0 = recent(3)
    world.connect(t0)
    ref = world.start(t0 + timedelta(minutes=1), samples=[(2, 200)])
    order_no = world.order(ref).order_no
    world.svc.handle(FaultRaised(world.code, 1, "EmergencyStop", t0 + timedelta(minutes=5)))
    query = urlencode(
        {
            "since": (t0 - timedelta(hours=1)).isoformat(),
            "until": (t0 + timedelta(hours=4)).isoformat(),
        }
    )
    body = client.get(f"/api/admin/v1/faults?{query}&pile_id={world.pile.id}", headers=as_yc)
    assert body.status_code == 200, body.get_json()
    [fault] = body.get_json()["items"]
    assert fault["pile_code"] == "FAULT-YC-01" and fault["code"] == "EmergencyStop"
    assert fault["order_no"] == order_no and fault["driver_phone"] == "13800138024"
    assert fault["station_name"] == "FAULT-YC-01 站"
    other = client.get(f"/api/admin/v1/faults?{query}", headers=as_kc).get_json()
    assert order_no not in {f["order_no"] for f in other["items"]}
