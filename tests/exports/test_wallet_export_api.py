"""A member's wallet ledger export: the member page's very ledger, amounts and balances in
yuan, kinds in Chinese, the admin who adjusted by name; another sub-operator's member is
absent (404); audited; member.read needed."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.drivers import members
from app.extensions import db
from app.ledger import wallet
from app.tenancy.models import AuditLog, Operator
from tests.exports.test_member_export_api import sheet

API = "/api/admin/v1"


def test_wallet_export_is_the_member_pages_ledger_in_yuan_with_chinese_kinds(
    client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    assert yc is not None
    driver = members.create_driver(yc.id, openid="wal-1", nickname="流水车主", phone="13900000011")
    wallet.post_entry(
        driver.id, 5000, "topup", ref_type="payment", ref_id="WX123", note="微信支付充值"
    )
    db.session.commit()
    adjusted = client.post(
        f"{API}/members/{driver.id}/wallet-adjustments",
        json={"amount_fen": -1234, "reason": "补扣"}, headers=as_yc,
    )  # fmt: skip
    assert adjusted.status_code == 201, adjusted.get_json()

    resp = client.get(f"{API}/members/{driver.id}/wallet-entries/export", headers=as_yc)
    assert resp.headers["X-Export-Rows"] == "2"
    rows = sheet(resp)
    head = rows[1]
    assert head == (
        "时间",
        "类型",
        "金额(元)",
        "余额(元)",
        "关联类型",
        "关联编号",
        "操作人",
        "备注",
    )
    listed = client.get(f"{API}/members/{driver.id}/wallet-entries", headers=as_yc).get_json()
    lines = rows[2:]
    assert [line[2] for line in lines] == [e["amount_fen"] / 100 for e in listed["items"]]
    assert lines[0][1:4] == ("手工扣款", -12.34, 37.66)
    assert lines[0][6] and lines[0][6] != "系统"  # the admin by name
    assert lines[1][1:] == ("微信充值", 50.0, 50.0, "充值单", "WX123", "系统", "微信支付充值")
    assert "13900000011" in str(rows[0][0])
    # another sub-operator's member is absent, as on the member page
    other = client.get(f"{API}/members/{driver.id}/wallet-entries/export", headers=as_kc)
    assert other.status_code == 404
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "wallet.export")).all()
    assert [(a.target_id, a.after["rows"]) for a in audit] == [(str(driver.id), 2)]


def test_wallet_export_needs_member_read(
    client: FlaskClient, as_yc: dict[str, str], login: Any
) -> None:
    role = client.post(
        f"{API}/roles", json={"name": "只看订单", "permissions": ["order.read"]}, headers=as_yc
    ).get_json()
    client.post(
        f"{API}/admin-users",
        json={"username": "exp_wallet", "password": "secret123", "role_ids": [role["id"]]},
        headers=as_yc,
    )
    member = client.get(f"{API}/members", headers=as_yc).get_json()["items"][0]
    denied = client.get(
        f"{API}/members/{member['id']}/wallet-entries/export",
        headers=login("exp_wallet", "secret123"),
    )
    assert denied.status_code == 403
    assert denied.get_json()["error"]["details"]["permission"] == "member.read"
