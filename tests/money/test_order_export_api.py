"""The order export: the search's very filters and scope, the bill's items in yuan, local
times, Chinese state, audited, and a ceiling answered with EXPORT_TOO_MANY_ROWS."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from flask.testing import FlaskClient
from sqlalchemy import select

from admin_spa.api import export_response
from app.billing import order_export
from app.billing.models import Bill
from app.charging.models import ChargeOrder
from app.charging.port import ConnectorState
from app.extensions import db
from app.tenancy import exports
from app.tenancy.models import AuditLog, Operator
from tests.support.money import World, build_world, recent

API = "/api/admin/v1"
_BASE = recent(8)


def _operator(name: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    assert op is not None
    return op


def _settled(world: World, hours: float, wh: int) -> str:
    t0 = _BASE + timedelta(hours=5 - hours)
    ref = world.start(t0, samples=[(5, wh // 2), (10, wh)])
    world.stop(ref, t0 + timedelta(minutes=12), wh)
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=13))
    return world.order(ref).order_no


def _sheet(resp: Any) -> list[tuple[Any, ...]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    return list(book.active.iter_rows(values_only=True))


def test_order_export_has_the_search_rows_with_bill_items_in_yuan_and_local_times(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    yc = build_world(app, operator=_operator("广东云创"), code="YC-EXPORT-01")
    yc.connect(_BASE - timedelta(hours=1))
    first = _settled(yc, 5, 1000)
    second = _settled(yc, 4, 2345)
    resp = client.get(f"{API}/orders/export", headers=as_yc)
    assert resp.headers["X-Export-Rows"] == "2"
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    rows = _sheet(resp)
    head = rows[1]
    assert head[:5] == ("订单号", "站点", "充电桩", "枪", "会员手机号")
    lines = {r[0]: r for r in rows[2:]}
    assert list(lines) == [second, first]  # newest first, as the search
    line = lines[second]
    order = db.session.scalar(select(ChargeOrder).where(ChargeOrder.order_no == second))
    bill = db.session.scalar(select(Bill).where(Bill.order_no == second))
    assert order is not None and bill is not None and order.started_at is not None
    assert line[head.index("站点")] == "YC-EXPORT-01 站"
    assert line[head.index("充电桩")] == "YC-EXPORT-01"
    assert line[head.index("电量(kWh)")] == 2.345
    assert line[head.index("电费(元)")] == bill.electricity_fen / 100
    assert line[head.index("服务费(元)")] == bill.service_fen / 100
    assert line[head.index("实付(元)")] == bill.paid_fen / 100
    assert line[head.index("状态")] == "已结算"
    local = order.started_at.astimezone(ZoneInfo(order.timezone)).replace(tzinfo=None)
    assert line[head.index("开始时间")] == local.replace(microsecond=0)
    # the search's filters, exactly: one order by its number
    one = _sheet(client.get(f"{API}/orders/export?order_no={first}", headers=as_yc))
    assert [r[0] for r in one[2:]] == [first]
    assert "order_no=" in str(one[0][0])
    # another sub-operator's export is empty
    assert _sheet(client.get(f"{API}/orders/export", headers=as_kc))[2:] == []
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "order.export")).all()
    assert {"filters": {"order_no": first}, "rows": 1} in [a.after for a in audit]


def test_order_export_above_the_ceiling_is_refused_with_a_chinese_message(
    app: Any, client: FlaskClient, as_yc: dict[str, str], monkeypatch: Any
) -> None:
    yc = build_world(app, operator=_operator("广东云创"), code="YC-EXPORT-02")
    yc.connect(_BASE - timedelta(hours=1))
    _settled(yc, 5, 1000)
    _settled(yc, 4, 1000)
    monkeypatch.setattr(exports, "MAX_ROWS", 1)
    resp = client.get(f"{API}/orders/export", headers=as_yc)
    assert resp.status_code == 422
    body = resp.get_json()["error"]
    assert body["code"] == "EXPORT_TOO_MANY_ROWS" and "缩小筛选范围" in body["message"]
    assert body["details"] == {"rows": 2, "limit": 1}


def test_order_export_rejects_a_bad_state_as_the_search_does(
    client: FlaskClient, as_yc: dict[str, str]
) -> None:
    bad = client.get(f"{API}/orders/export?state=nonsense", headers=as_yc)
    assert bad.status_code == 422 and "订单状态无效" in str(bad.get_json())


def test_stop_reason_labels_are_chinese_and_unknown_codes_kept() -> None:
    order = ChargeOrder(stop_reason="EVDisconnected", stop_requested_by="")
    assert order_export.stop_reason_label(order) == "车辆断开"
    order.stop_reason = "0x40"
    assert order_export.stop_reason_label(order) == "充电桩停止代码 0x40"
    order.stop_reason = ""
    order.stop_requested_by = "driver"
    assert order_export.stop_reason_label(order) == "车主停止"


def test_export_file_name_carries_the_operators_local_date_not_utcs(
    client: FlaskClient, as_yc: dict[str, str], monkeypatch: Any
) -> None:
    """23:30 UTC on 3 December is 07:30 on 4 December in Shanghai: the file is the 4th's."""
    late = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(export_response, "utcnow", lambda: late)
    resp = client.get(f"{API}/orders/export", headers=as_yc)
    assert resp.status_code == 200
    assert "20261204.xlsx" in resp.headers["Content-Disposition"]
