"""The refund review export: the list's very filters and scope, a line per top-up with its
amounts in yuan, state in Chinese, WeChat's status and failure reason, local times, the
reviewer; audited; refund.read needed."""

from __future__ import annotations

import io
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.payments.models import RefundRequest
from app.tenancy.models import AuditLog
from tests.support.drivers import Login
from tests.support.payments import Pay, ask, funded

ADMIN = "/api/admin/v1/refunds"


def _sheet(resp: Any) -> list[tuple[Any, ...]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))


def row_of(refund_id: int) -> RefundRequest:
    row = db.session.get(RefundRequest, refund_id)
    assert row is not None
    return row


def test_refund_export_has_a_line_per_topup_with_wechats_reason_and_the_reviewer(
    client: FlaskClient, pay: Pay, mp_login: Login, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    alice, bob = mp_login("alice"), mp_login("bob")
    funded(client, pay, alice, 5000)
    funded(client, pay, alice, 3000)
    failed = ask(client, alice)
    pay.fake.fail_next_refund()
    assert client.post(f"{ADMIN}/{failed['id']}/approve", headers=as_yc).status_code == 200
    funded(client, pay, bob, 2000)
    pending = ask(client, bob)

    resp = client.get(f"{ADMIN}/export", headers=as_yc)
    assert resp.headers["X-Export-Rows"] == "3"  # two top-ups of alice's, one of bob's
    rows = _sheet(resp)
    head = rows[1]
    col = head.index
    lines = rows[2:]
    assert [r[0] for r in lines] == [pending["id"], failed["id"], failed["id"]]  # newest first
    assert lines[0][col("状态")] == "待审核" and lines[0][col("审核人")] is None
    assert lines[0][col("钱包扣回(元)")] == 20.0 and lines[0][col("充值金额(元)")] == 20.0
    first = lines[1]
    assert first[col("状态")] == "退款中"  # one top-up failed, the other on its way
    parts = {line[col("本笔状态")]: line for line in lines[1:]}
    assert set(parts) == {"失败", "退款中"}
    assert parts["失败"][col("失败原因")] == "NOT_ENOUGH: 基本账户余额不足，请充值后重新发起"
    assert row_of(failed["id"]).parts  # WeChat's status as it stands on each part
    assert {line[col("微信退款状态")] or "" for line in lines[1:]} == {
        p.wechat_status for p in row_of(failed["id"]).parts
    }
    assert first[col("申请金额(元)")] == 80.0
    assert {lines[1][col("钱包扣回(元)")], lines[2][col("钱包扣回(元)")]} == {30.0, 50.0}
    assert first[col("审核人")]  # the reviewer's name
    row = db.session.get(RefundRequest, failed["id"])
    assert row is not None and row.reviewed_at is not None
    local = row.created_at.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert abs((first[col("申请时间")] - local).total_seconds()) < 0.01
    assert first[col("审核时间")] is not None
    # the list's filters, exactly
    listed = client.get(f"{ADMIN}?state=pending_review", headers=as_yc).get_json()["items"]
    only = _sheet(client.get(f"{ADMIN}/export?state=pending_review", headers=as_yc))[2:]
    assert [r[0] for r in only] == [r["id"] for r in listed] == [pending["id"]]
    assert client.get(f"{ADMIN}/export?state=nonsense", headers=as_yc).status_code == 422
    # another sub-operator sees none of them
    assert _sheet(client.get(f"{ADMIN}/export", headers=as_kc))[2:] == []
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "refund.export")).all()
    assert {"filters": {"state": "pending_review"}, "rows": 1} in [a.after for a in audit]


def test_refund_export_needs_refund_read(
    client: FlaskClient, as_yc: dict[str, str], login: Any
) -> None:
    role = client.post(
        "/api/admin/v1/roles", json={"name": "只看会员", "permissions": ["member.read"]},
        headers=as_yc,
    ).get_json()  # fmt: skip
    client.post(
        "/api/admin/v1/admin-users",
        json={"username": "exp_members", "password": "secret123", "role_ids": [role["id"]]},
        headers=as_yc,
    )
    denied = client.get(f"{ADMIN}/export", headers=login("exp_members", "secret123"))
    assert denied.status_code == 403
    assert denied.get_json()["error"]["details"]["permission"] == "refund.read"
