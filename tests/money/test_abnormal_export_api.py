"""The abnormal-orders export: the queue's very filters and scope, every review reason in
Chinese, local times, the bill in yuan; audited; order.read needed."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from flask.testing import FlaskClient
from sqlalchemy import select

from app.billing import lost_bills
from app.billing.abnormal_export import reasons_text
from app.billing.models import Bill
from app.charging.models import ChargeOrder
from app.charging.port import ConnectorState
from app.extensions import db
from app.tenancy.models import AuditLog, Operator
from tests.support.money import build_world, recent

API = "/api/admin/v1"


def _sheet(resp: Any) -> list[tuple[Any, ...]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))


def test_abnormal_export_has_the_queue_rows_with_reasons_in_chinese(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    world = build_world(app, operator=yc, code="YC-ABN-EXP")
    t0 = recent(6)
    world.connect(t0)
    settled = world.start(t0, samples=[(5, 500)])  # a normal order: not in the queue
    world.stop(settled, t0 + timedelta(minutes=10), 1000)
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=11))
    lost = world.start(t0 + timedelta(hours=1), samples=[(10, 800)])
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(hours=1, minutes=20))
    lost_bills.settle_lost_bills(t0 + timedelta(hours=3))
    order = world.order(lost)

    resp = client.get(f"{API}/abnormal-orders/export", headers=as_yc)
    listed = client.get(f"{API}/abnormal-orders", headers=as_yc).get_json()
    rows = _sheet(resp)
    head = rows[1]
    col = head.index
    assert [r[0] for r in rows[2:]] == [o["order_no"] for o in listed["items"]]
    assert resp.headers["X-Export-Rows"] == str(listed["total"])
    [line] = [r for r in rows[2:] if r[0] == order.order_no]
    assert world.order(settled).order_no not in [r[0] for r in rows[2:]]
    assert "预估结算" in line[col("异常原因")]
    bill = db.session.scalar(select(Bill).where(Bill.order_id == order.id))
    assert bill is not None
    assert line[col("应付(元)")] == bill.total_fen / 100
    assert line[col("实付(元)")] == bill.paid_fen / 100
    assert line[col("充电桩")] == "YC-ABN-EXP"
    assert order.started_at is not None
    local = order.started_at.astimezone(ZoneInfo(order.timezone)).replace(tzinfo=None)
    assert abs((line[col("开始时间")] - local).total_seconds()) < 0.01
    # the queue's filters, exactly
    one = _sheet(client.get(f"{API}/abnormal-orders/export?kind=estimated", headers=as_yc))
    assert [r[0] for r in one[2:]] == [order.order_no]
    assert "kind=estimated" in str(one[0][0])
    bad = client.get(f"{API}/abnormal-orders/export?kind=nonsense", headers=as_yc)
    assert bad.status_code == 422
    assert _sheet(client.get(f"{API}/abnormal-orders/export", headers=as_kc))[2:] == []
    audit = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "abnormal_order.export")
    ).all()
    assert {"filters": {"kind": "estimated"}, "rows": 1} in [a.after for a in audit]


def test_abnormal_export_needs_order_read(
    client: FlaskClient, as_yc: dict[str, str], login: Any
) -> None:
    role = client.post(
        f"{API}/roles", json={"name": "只看会员", "permissions": ["member.read"]}, headers=as_yc
    ).get_json()
    client.post(
        f"{API}/admin-users",
        json={"username": "exp_abn", "password": "secret123", "role_ids": [role["id"]]},
        headers=as_yc,
    )
    denied = client.get(f"{API}/abnormal-orders/export", headers=login("exp_abn", "secret123"))
    assert denied.status_code == 403
    assert denied.get_json()["error"]["details"]["permission"] == "order.read"


def test_reasons_text_keeps_an_unknown_stored_reason_verbatim() -> None:
    order = ChargeOrder(abnormal_reason="vendor_glitch")
    assert reasons_text(order, ["estimated", "arrears"]) == "预估结算、欠费、vendor_glitch"
    order.abnormal_reason = "arrears"
    assert reasons_text(order, ["arrears"]) == "欠费"
