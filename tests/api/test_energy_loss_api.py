"""电量损耗 (case #8): the platform's billed kWh of a station's month against the utility
meter reading the operator enters, the ratio, and the unsettled orders behind the gap."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.billing import energy_loss
from app.charging.port import ConnectorState
from app.extensions import db
from app.tenancy.models import AuditLog, Operator
from tests.support.money import SHANGHAI, World, build_world, recent

API = "/api/admin/v1/reports/energy-loss"


def _operator(name: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    assert op is not None
    return op


def _month_of_orders(app: Flask) -> tuple[World, str]:
    """Two settled orders (12.345 + 2.000 kWh) and one still charging (0.500 kWh so far),
    all started within the hour after ``t0`` (one local day, one month)."""
    yc = build_world(app, operator=_operator("广东云创"), code="LOSS-YC-01")
    t0 = recent(6)
    yc.connect(t0 - timedelta(minutes=5))
    for offset, wh in ((0, 12_345), (20, 2_000)):
        start = t0 + timedelta(minutes=offset)
        ref = yc.start(start, samples=[(5, wh // 2)])
        yc.stop(ref, start + timedelta(minutes=10), wh)
        yc.status(ConnectorState.AVAILABLE, start + timedelta(minutes=11))
    yc.start(t0 + timedelta(minutes=40), connector=2, samples=[(5, 500)])
    db.session.commit()
    return yc, t0.astimezone(SHANGHAI).strftime("%Y-%m")


def test_ratio_of_case_8_is_89_05_percent_rounded_half_up() -> None:
    assert energy_loss.ratio_bp(41_837_580, 46_980_000) == 8905
    assert energy_loss.ratio_bp(14_345, 20_000) == 7173  # 71.725% half up
    assert energy_loss.ratio_bp(1, 0) is None and energy_loss.ratio_bp(1, None) is None


def test_energy_loss_compares_billed_kwh_with_the_meter_reading_entered(
    app: Flask, client: FlaskClient, as_yc: dict[str, str]
) -> None:
    yc, month = _month_of_orders(app)

    query = {"month": month, "station_id": yc.station.id}
    resp = client.get(API, query_string=query, headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    (row,) = resp.get_json()["items"]
    assert (row["orders"], row["billed_wh"]) == (2, 14_345)
    assert (row["unsettled_orders"], row["unsettled_wh"]) == (1, 500)
    assert row["meter_wh"] is None and row["ratio_bp"] is None
    assert row["total_fen"] == row["electricity_fen"] + row["service_fen"] > 0

    reading = {"reading_wh": 20_000, "note": "供电局 10 月账单"}
    put = client.put(f"/api/admin/v1/stations/{yc.station.id}/meter-readings/{month}",
                     json=reading, headers=as_yc)  # fmt: skip
    assert put.status_code == 200, put.get_json()
    assert (put.get_json()["gap_wh"], put.get_json()["ratio_bp"]) == (5_655, 7173)
    again = client.put(f"/api/admin/v1/stations/{yc.station.id}/meter-readings/{month}",
                       json={"reading_wh": 19_000}, headers=as_yc)  # fmt: skip
    assert again.get_json()["meter_wh"] == 19_000  # a correction replaces, never adds a row
    audits = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "meter_reading.record").order_by(AuditLog.id)
    ).all()
    assert [a.before for a in audits] == [None, {"reading_wh": 20_000, "note": "供电局 10 月账单"}]

    orders = client.get(f"{API}/{yc.station.id}/unsettled", query_string={"month": month},
                        headers=as_yc).get_json()  # fmt: skip
    assert orders["total"] == 1 and orders["items"][0]["state"] == "charging"
    assert orders["items"][0]["energy_wh"] == 500


def test_energy_loss_export_is_an_xlsx_with_the_report_rows(
    app: Flask, client: FlaskClient, as_yc: dict[str, str]
) -> None:
    yc, month = _month_of_orders(app)
    client.put(f"/api/admin/v1/stations/{yc.station.id}/meter-readings/{month}",
               json={"reading_wh": 20_000}, headers=as_yc)  # fmt: skip
    resp = client.get(f"{API}/export", query_string={"month": month, "station_id": yc.station.id},
                      headers=as_yc)  # fmt: skip
    assert resp.status_code == 200
    assert resp.headers["X-Export-Rows"] == "1"
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == f"电量损耗 {month}"
    head, line = rows[1], rows[2]
    assert line[head.index("平台电量(kWh)")] == 14.345
    assert line[head.index("电表电量(kWh)")] == 20.0
    assert line[head.index("比例")] == 0.7173
    assert line[head.index("未结算订单")] == 1


def test_energy_loss_of_another_sub_operator_is_neither_shown_nor_writable(
    app: Flask, client: FlaskClient, as_kc: dict[str, str]
) -> None:
    yc, month = _month_of_orders(app)
    listed = client.get(API, query_string={"month": month}, headers=as_kc).get_json()
    assert yc.station.id not in [r["station_id"] for r in listed["items"]]
    put = client.put(f"/api/admin/v1/stations/{yc.station.id}/meter-readings/{month}",
                     json={"reading_wh": 1}, headers=as_kc)  # fmt: skip
    assert put.status_code == 404
    assert client.get(f"{API}/{yc.station.id}/unsettled", query_string={"month": month},
                      headers=as_kc).status_code == 404  # fmt: skip


def test_energy_loss_month_must_be_yyyy_mm(client: FlaskClient, as_yc: dict[str, str]) -> None:
    for bad in ("2019-13", "2019/10", "1999-12", "2999-01"):
        resp = client.get(API, query_string={"month": bad}, headers=as_yc)
        assert resp.status_code == 422, bad
        assert resp.get_json()["error"]["code"] in {"MONTH_INVALID", "VALIDATION_ERROR"}
    resp = client.get(API, query_string={"month": "2019-13"}, headers=as_yc)
    assert resp.get_json()["error"]["code"] == "MONTH_INVALID"
    assert "YYYY-MM" in resp.get_json()["error"]["message"]
