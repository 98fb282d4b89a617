"""财务 → 充值记录: the top-up list (scoped, by phone, state and time) and its export with
the very same filters, amounts in yuan, state in Chinese; audited; order.read needed."""

from __future__ import annotations

import io
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import openpyxl
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import utcnow
from app.drivers import members
from app.extensions import db
from app.payments.models import TopUpPayment, TopUpState
from app.tenancy.models import AuditLog, Operator

API = "/api/admin/v1"


def _sheet(resp: Any) -> list[tuple[Any, ...]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))


def _operator(name: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    assert op is not None
    return op


def _topup(op: Operator, phone: str, amount_fen: int, state: str, hours_ago: int) -> str:
    driver = members.create_driver(
        op.id, openid=f"t-topup-{secrets.token_hex(6)}", nickname="充值测试", phone=phone
    )
    at = utcnow() - timedelta(hours=hours_ago)
    no = f"TU{secrets.token_hex(8).upper()}"
    db.session.add(
        TopUpPayment(
            out_trade_no=no, driver_id=driver.id, operator_id=op.id, mch_id="1900000109",
            app_id="wx-test", amount_fen=amount_fen, state=state, created_at=at,
            paid_at=at + timedelta(seconds=30) if state == TopUpState.PAID else None,
            transaction_id=f"4200{secrets.token_hex(10)}" if state == TopUpState.PAID else None,
            refunded_fen=1234 if state == TopUpState.PAID else 0,
        )
    )  # fmt: skip
    db.session.commit()
    return no


def test_topup_list_and_export_share_filters_and_scope(
    client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str], as_admin: dict[str, str]
) -> None:
    yc = _operator("广东云创")
    paid = _topup(yc, "13900001001", 10050, TopUpState.PAID, 2)
    open_ = _topup(yc, "13900001002", 5000, TopUpState.CREATED, 1)
    old = _topup(yc, "13900001001", 2000, TopUpState.CLOSED, 24 * 40)

    listed = client.get(f"{API}/topups?page_size=100", headers=as_yc)
    assert listed.status_code == 200, listed.get_json()
    mine = [i["out_trade_no"] for i in listed.get_json()["items"]]
    assert mine.index(open_) < mine.index(paid) < mine.index(old)  # newest first
    item = next(i for i in listed.get_json()["items"] if i["out_trade_no"] == paid)
    assert item["driver_phone"] == "13900001001" and item["operator_name"] == "广东云创"
    assert item["amount_fen"] == 10050 and item["state"] == "paid"

    resp = client.get(f"{API}/topups/export", headers=as_yc)
    rows = _sheet(resp)
    head = rows[1]
    col = head.index
    assert [r[col("充值单号")] for r in rows[2:]] == [
        i["out_trade_no"]
        for i in client.get(f"{API}/topups?page_size=100", headers=as_yc).get_json()["items"]
    ]
    assert resp.headers["X-Export-Rows"] == str(listed.get_json()["total"])
    assert (
        "filename*=UTF-8''%E5%85%85%E5%80%BC%E8%AE%B0%E5%BD%95-"
        in resp.headers["Content-Disposition"]
    )  # 充值记录-<date>.xlsx
    [line] = [r for r in rows[2:] if r[col("充值单号")] == paid]
    assert line[col("充值金额(元)")] == 100.5 and line[col("已退款(元)")] == 12.34
    assert line[col("状态")] == "已支付" and line[col("会员手机号")] == "13900001001"
    assert line[col("子运营商")] == "广东云创"

    # the list's filters, exactly: phone + state, then a time range
    query = urlencode({"phone": "13900001001", "state": "paid"})
    one = _sheet(client.get(f"{API}/topups/export?{query}", headers=as_yc))
    assert [r[col("充值单号")] for r in one[2:]] == [paid]
    assert "phone=13900001001" in str(one[0][0])
    assert client.get(f"{API}/topups?{query}", headers=as_yc).get_json()["total"] == 1
    since = (utcnow() - timedelta(days=3)).isoformat()
    recent_rows = _sheet(
        client.get(f"{API}/topups/export?{urlencode({'since': since, 'phone': '13900001001'})}",
                   headers=as_yc)
    )  # fmt: skip
    assert [r[col("充值单号")] for r in recent_rows[2:]] == [paid]
    assert client.get(f"{API}/topups/export?state=nonsense", headers=as_yc).status_code == 422

    # another sub-operator sees none of them, even asking for this one's operator id
    theirs = _sheet(client.get(f"{API}/topups/export?operator_id={yc.id}", headers=as_kc))
    assert not {paid, open_, old} & {r[0] for r in theirs[2:]}
    assert client.get(f"{API}/topups?operator_id={yc.id}", headers=as_kc).get_json()["total"] == 0
    # the platform sees them, and filters by sub-operator
    platform = _sheet(client.get(f"{API}/topups/export?operator_id={yc.id}", headers=as_admin))
    assert {paid, open_, old} <= {r[0] for r in platform[2:]}

    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "topup.export")).all()
    assert {"filters": {"phone": "13900001001", "state": "paid"}, "rows": 1} in [
        a.after for a in audit
    ]


def test_topup_list_and_export_need_order_read(
    client: FlaskClient, as_yc: dict[str, str], login: Any
) -> None:
    role = client.post(
        f"{API}/roles", json={"name": "只看会员", "permissions": ["member.read"]}, headers=as_yc
    ).get_json()
    client.post(
        f"{API}/admin-users",
        json={"username": "exp_topup", "password": "secret123", "role_ids": [role["id"]]},
        headers=as_yc,
    )
    headers = login("exp_topup", "secret123")
    for path in ("/topups", "/topups/export"):
        denied = client.get(f"{API}{path}", headers=headers)
        assert denied.status_code == 403
        assert denied.get_json()["error"]["details"]["permission"] == "order.read"
