"""运维 exports (issue 10): 故障记录 and 离线统计 (the weekly summary and the list behind it),
each with its list's very filters and scope, times at the station's wall clock, audited."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import openpyxl
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.catalogue.models import Pile, Station
from app.charging.port import FaultRaised, PileConnected, PileDisconnected
from app.extensions import db
from app.tenancy.models import AuditLog, Operator
from app.xlsx_export import duration_text
from tests.support.money import build_world, recent
from tests.support.ports import pile_events

API = "/api/admin/v1"
T0 = datetime(2019, 1, 7, 0, 0, tzinfo=UTC)  # a Monday


def _sheet(resp: Any) -> list[tuple[Any, ...]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))


def _station_in_tokyo(code: str) -> Station:
    """The pile's station moved to UTC+9, so that its wall clock differs from the platform's."""
    pile = db.session.scalar(select(Pile).where(Pile.code == code))
    assert pile is not None and pile.station is not None
    pile.station.timezone = "Asia/Tokyo"
    db.session.commit()
    return pile.station


def _range(days: int = 7, **more: Any) -> str:
    return urlencode(
        {"since": (T0 - timedelta(days=1)).isoformat(),
         "until": (T0 + timedelta(days=days)).isoformat(), **more}
    )  # fmt: skip


def _history(app: Flask) -> None:
    """Two disconnections of DEMO-OCPP-01 (1 h, then still offline), two faults."""
    svc = pile_events(app)
    svc.handle(PileConnected("DEMO-OCPP-01", "ocpp16", T0))
    svc.handle(FaultRaised("DEMO-OCPP-01", 1, "EmergencyStop", T0 + timedelta(hours=1)))
    svc.handle(FaultRaised("DEMO-OCPP-01", 2, "GroundFailure", T0 + timedelta(hours=1, minutes=5)))
    svc.handle(PileDisconnected("DEMO-OCPP-01", T0 + timedelta(hours=2), "heartbeat_timeout"))
    svc.handle(PileConnected("DEMO-OCPP-01", "ocpp16", T0 + timedelta(hours=3)))
    svc.handle(PileDisconnected("DEMO-OCPP-01", T0 + timedelta(days=1), "closed"))


def test_fault_export_has_the_list_rows_at_the_station_clock(
    app: Flask, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    _history(app)
    station = _station_in_tokyo("DEMO-OCPP-01")
    listed = client.get(f"{API}/faults?{_range()}", headers=as_yc).get_json()
    resp = client.get(f"{API}/faults/export?{_range()}", headers=as_yc)
    rows = _sheet(resp)
    col = rows[1].index
    assert len(rows[2:]) == listed["total"] == 2
    assert resp.headers["X-Export-Rows"] == "2"
    assert [r[col("故障代码")] for r in rows[2:]] == [f["code"] for f in listed["items"]]
    stop = next(r for r in rows[2:] if r[col("故障代码")] == "EmergencyStop")
    assert stop[col("故障名称")] == "急停" and stop[col("枪")] == 1
    assert stop[col("站点")] == station.name and stop[col("充电桩")] == "DEMO-OCPP-01"
    assert stop[col("开始时间")] == datetime(2019, 1, 7, 10, 0)  # 01:00 UTC in Tokyo
    assert stop[col("状态")] == "未恢复" and stop[col("结束时间")] is None
    # the list's filters, exactly
    one = _sheet(client.get(f"{API}/faults/export?{_range(code='GroundFailure')}", headers=as_yc))
    assert [r[col("故障代码")] for r in one[2:]] == ["GroundFailure"]
    assert "code=GroundFailure" in str(one[0][0])
    naive = "since=2019-01-07T00:00:00&until=2019-01-08T00:00:00"
    assert client.get(f"{API}/faults/export?{naive}", headers=as_yc).status_code == 422
    too_long = client.get(f"{API}/faults/export?{_range(400)}", headers=as_yc)
    assert too_long.get_json()["error"]["code"] == "TIME_RANGE_TOO_LONG"
    # another sub-operator sees none of them
    assert _sheet(client.get(f"{API}/faults/export?{_range()}", headers=as_kc))[2:] == []
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "fault.export")).all()
    narrowed = [a.after for a in audit if a.after["filters"].get("code") == "GroundFailure"]
    assert [a["rows"] for a in narrowed] == [1]
    assert 2 in [a.after["rows"] for a in audit]


def test_fault_export_names_the_order_running_then(
    app: Flask, client: FlaskClient, as_yc: dict[str, str]
) -> None:
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    assert yc is not None
    world = build_world(app, operator=yc, code="FAULT-EXP-01")
    world.driver.phone = "13800138025"
    db.session.commit()
    t0 = recent(3)
    world.connect(t0)
    ref = world.start(t0 + timedelta(minutes=1), samples=[(2, 200)])
    world.svc.handle(FaultRaised(world.code, 1, "EmergencyStop", t0 + timedelta(minutes=5)))
    query = urlencode(
        {"since": (t0 - timedelta(hours=1)).isoformat(),
         "until": (t0 + timedelta(hours=4)).isoformat(), "pile_id": world.pile.id}
    )  # fmt: skip
    rows = _sheet(client.get(f"{API}/faults/export?{query}", headers=as_yc))
    col = rows[1].index
    [line] = rows[2:]
    assert line[col("当时的订单")] == world.order(ref).order_no
    assert line[col("会员手机号")] == "13800138025"


def test_disconnection_summary_export_is_the_weekly_report(
    app: Flask, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    _history(app)
    report = client.get(f"{API}/reports/disconnections?{_range(14)}", headers=as_yc).get_json()
    resp = client.get(f"{API}/reports/disconnections/export?{_range(14)}", headers=as_yc)
    rows = _sheet(resp)
    col = rows[1].index
    assert resp.headers["X-Export-Rows"] == str(len(report["items"]))
    assert len(rows[2:]) == len(report["items"]) == 3  # the last outage spans three weeks
    for line, item in zip(rows[2:], report["items"], strict=True):
        assert line[col("周（周一）")] == datetime.fromisoformat(item["week_start"])
        assert line[col("充电桩")] == item["pile_code"] == "DEMO-OCPP-01"
        assert line[col("掉线次数")] == item["disconnections"]
        assert line[col("离线秒数")] == item["offline_seconds"]
        assert line[col("离线时长")] == duration_text(item["offline_seconds"])
    assert [r[col("掉线次数")] for r in rows[2:]] == [2, 0, 0]
    item = report["items"][0]
    # the report's station filter: another station of the same operator has no rows
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    other = build_world(app, operator=yc, code="DISC-QUIET-01").pile.station_id
    query = _range(14, station_id=other)
    assert (
        _sheet(client.get(f"{API}/reports/disconnections/export?{query}", headers=as_yc))[2:] == []
    )
    own = _range(14, station_id=item["station_id"])
    assert (
        len(_sheet(client.get(f"{API}/reports/disconnections/export?{own}", headers=as_yc))[2:])
        == 3
    )
    assert (
        _sheet(client.get(f"{API}/reports/disconnections/export?{_range(14)}", headers=as_kc))[2:]
        == []
    )
    audit = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "disconnection.export")
    ).all()
    assert any(a.after["filters"]["view"] == "summary" and a.after["rows"] == 3 for a in audit)


def test_disconnection_detail_export_lists_each_disconnection_the_summary_counts(
    app: Flask, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    _history(app)
    _station_in_tokyo("DEMO-OCPP-01")
    query = _range(14, view="detail")
    resp = client.get(f"{API}/reports/disconnections/export?{query}", headers=as_yc)
    rows = _sheet(resp)
    col = rows[1].index
    assert resp.headers["X-Export-Rows"] == "2"
    later, first = rows[2:]  # newest first
    assert first[col("离线时间")] == datetime(2019, 1, 7, 11, 0)  # 02:00 UTC in Tokyo
    assert first[col("恢复在线时间")] == datetime(2019, 1, 7, 12, 0)
    assert first[col("离线秒数")] == 3600 and first[col("离线时长")] == "1小时00分00秒"
    assert first[col("离线原因")] == "心跳超时" and first[col("状态")] == "已恢复"
    assert later[col("离线时间")] == datetime(2019, 1, 8, 9, 0)
    assert later[col("恢复在线时间")] is None and later[col("状态")] == "仍离线"
    assert later[col("离线原因")] == "连接关闭"
    # the range filters on when the pile went offline, as the summary counts
    narrow = urlencode(
        {"since": (T0 + timedelta(hours=12)).isoformat(),
         "until": (T0 + timedelta(days=3)).isoformat(), "view": "detail"}
    )  # fmt: skip
    only = _sheet(client.get(f"{API}/reports/disconnections/export?{narrow}", headers=as_yc))
    assert [r[col("离线原因")] for r in only[2:]] == ["连接关闭"]
    assert (
        _sheet(client.get(f"{API}/reports/disconnections/export?{query}", headers=as_kc))[2:] == []
    )
    bad = client.get(f"{API}/reports/disconnections/export?{_range(view='all')}", headers=as_yc)
    assert bad.status_code == 422
    audit = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "disconnection.export")
    ).all()
    assert any(a.after["filters"]["view"] == "detail" and a.after["rows"] == 2 for a in audit)
