"""The members export: the list's very filters and scope, balance in yuan, registration
time local, certification state and disabled in Chinese, audited, member.read needed."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import openpyxl
from flask.testing import FlaskClient
from sqlalchemy import select

from app.drivers import members
from app.drivers.models import CertificationApplication
from app.extensions import db
from app.ledger import wallet
from app.tenancy.models import AuditLog, Operator

API = "/api/admin/v1"


def _operator(name: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    assert op is not None
    return op


def sheet(resp: Any) -> list[tuple[Any, ...]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    return list(book.active.iter_rows(values_only=True))


def test_member_export_has_the_list_rows_with_balance_certification_and_local_time(
    client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    yc, kc = _operator("广东云创"), _operator("深圳快充")
    taxi = members.create_driver(yc.id, openid="exp-1", nickname="出租车主", phone="13900000001",
                                 pricing_group="taxi")  # fmt: skip
    taxi.created_at = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)  # 2026-01-02 00:30 in Shanghai
    wallet.post_entry(taxi.id, 12345, "topup", ref_type="test", ref_id="exp-1")
    db.session.add(CertificationApplication(operator_id=yc.id, driver_id=taxi.id, kind="taxi",
                                            state="rejected"))  # fmt: skip
    db.session.add(CertificationApplication(operator_id=yc.id, driver_id=taxi.id, kind="taxi",
                                            state="approved"))  # fmt: skip
    off = members.create_driver(yc.id, openid="exp-2", nickname="停用车主", phone="13900000002")
    off.disabled_at = datetime(2026, 2, 1, tzinfo=UTC)
    members.create_driver(kc.id, openid="exp-3", nickname="快充车主", phone="13900000003")
    db.session.commit()

    resp = client.get(f"{API}/members/export?q=1390000", headers=as_yc)
    assert resp.headers["X-Export-Rows"] == "2"
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    rows = sheet(resp)
    head = rows[1]
    assert head == ("手机号", "昵称", "子运营商", "会员分组", "钱包余额(元)", "注册时间",
                    "认证状态", "已停用")  # fmt: skip
    lines = {r[0]: r for r in rows[2:]}
    assert list(lines) == ["13900000002", "13900000001"]  # newest first, as the list
    assert lines["13900000001"][1:] == (
        "出租车主", "广东云创", "出租车", 123.45, datetime(2026, 1, 2, 0, 30), "已认证", "否"
    )  # fmt: skip
    assert lines["13900000002"][3:] == ("普通", 0, lines["13900000002"][5], "未申请", "是")
    # the list's filters, exactly: the same rows as the list page
    listed = client.get(f"{API}/members?q=1390000&pricing_group=taxi", headers=as_yc).get_json()
    one = sheet(client.get(f"{API}/members/export?q=1390000&pricing_group=taxi", headers=as_yc))
    assert [r[0] for r in one[2:]] == [m["phone"] for m in listed["items"]] == ["13900000001"]
    assert "pricing_group=taxi" in str(one[0][0])
    # another sub-operator sees only its own member
    assert [r[0] for r in sheet(client.get(f"{API}/members/export?q=1390000", headers=as_kc))[2:]] \
        == ["13900000003"]  # fmt: skip
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "member.export")).all()
    assert {"filters": {"q": "1390000", "pricing_group": "taxi"}, "rows": 1} in [
        a.after for a in audit
    ]


def test_member_export_needs_member_read(
    client: FlaskClient, as_yc: dict[str, str], login: Any
) -> None:
    role = client.post(
        f"{API}/roles", json={"name": "只看订单", "permissions": ["order.read"]}, headers=as_yc
    ).get_json()
    user = client.post(
        f"{API}/admin-users",
        json={"username": "exp_orders", "password": "secret123", "role_ids": [role["id"]]},
        headers=as_yc,
    )
    assert user.status_code == 201, user.get_json()
    denied = client.get(f"{API}/members/export", headers=login("exp_orders", "secret123"))
    assert denied.status_code == 403
    assert denied.get_json()["error"]["details"]["permission"] == "member.read"
