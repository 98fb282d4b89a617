"""Sub-operator admins see and change only their own data (enforced in the services)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.catalogue.models import Pile, Station
from app.drivers import members
from app.extensions import db
from app.ledger.wallet import balance_of
from app.tenancy.models import Driver, Operator


def _kc_ids() -> dict[str, int]:
    kc = db.session.scalar(select(Operator).where(Operator.name == "深圳快充"))
    assert kc is not None
    station = db.session.scalar(select(Station).where(Station.operator_id == kc.id))
    assert station is not None
    pile = Pile(
        code="KC-PILE-01", operator_id=kc.id, station_id=station.id, protocol="ocpp16",
        current_type="AC", rated_power_w=7000,
    )  # fmt: skip
    db.session.add(pile)
    driver = members.create_driver(kc.id, openid="kc-driver", nickname="快充车主")
    db.session.commit()
    return {"station": station.id, "pile": pile.id, "member": driver.id, "operator": kc.id}


def test_sub_operator_admin_gets_404_for_another_sub_operators_station_pile_member(
    client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    ids = _kc_ids()
    for path in (
        f"/api/admin/v1/stations/{ids['station']}",
        f"/api/admin/v1/piles/{ids['pile']}",
        f"/api/admin/v1/members/{ids['member']}",
        f"/api/admin/v1/operators/{ids['operator']}",
    ):
        resp = client.get(path, headers=as_yc)
        assert resp.status_code == 404, path
        assert resp.get_json()["error"]["code"] == "NOT_FOUND"
        # the owner sees it
        assert client.get(path, headers=as_kc).status_code == 200, path
    # and cannot change or delete it either
    assert (
        client.patch(
            f"/api/admin/v1/stations/{ids['station']}", json={"name": "x"}, headers=as_yc
        ).status_code
        == 404
    )
    assert client.delete(f"/api/admin/v1/piles/{ids['pile']}", headers=as_yc).status_code == 404


def test_lists_are_scoped_to_the_sub_operator(
    client: FlaskClient, as_yc: dict[str, str], as_admin: dict[str, str]
) -> None:
    _kc_ids()
    names = {
        s["name"] for s in client.get("/api/admin/v1/stations", headers=as_yc).get_json()["items"]
    }
    assert names == {"云创·深圳南山科技园站", "云创·广州天河站", "云创·演示模拟站"}
    all_names = {
        s["name"]
        for s in client.get("/api/admin/v1/stations", headers=as_admin).get_json()["items"]
    }
    assert "快充·深圳福田会展中心站" in all_names and names <= all_names
    members_yc = client.get("/api/admin/v1/members", headers=as_yc).get_json()["items"]
    assert {m["nickname"] for m in members_yc} == {"演示车主"}
    piles_yc = client.get("/api/admin/v1/piles", headers=as_yc).get_json()["items"]
    assert "KC-PILE-01" not in {p["code"] for p in piles_yc}
    ops = client.get("/api/admin/v1/operators", headers=as_yc).get_json()
    assert [o["name"] for o in ops["items"]] == ["广东云创"]


def test_sub_operator_cannot_create_into_another_operator(
    client: FlaskClient, as_yc: dict[str, str]
) -> None:
    ids = _kc_ids()
    resp = client.post(
        "/api/admin/v1/stations",
        json={
            "name": "越权站",
            "longitude": "113.9",
            "latitude": "22.5",
            "operator_id": ids["operator"],
        },
        headers=as_yc,
    )
    assert resp.status_code == 404
    resp = client.post("/api/admin/v1/operators", json={"name": "新运营商"}, headers=as_yc)
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "PLATFORM_ONLY"


def test_role_cannot_grant_permissions_the_granter_lacks(
    client: FlaskClient, as_yc: dict[str, str], as_admin: dict[str, str]
) -> None:
    # a limited yc role, then a yc admin holding only it
    role = client.post(
        "/api/admin/v1/roles",
        json={"name": "只读", "permissions": ["station.read", "role.write", "role.read"]},
        headers=as_yc,
    )
    assert role.status_code == 201
    user = client.post(
        "/api/admin/v1/admin-users",
        json={
            "username": "yc_viewer",
            "password": "viewer123",
            "role_ids": [role.get_json()["id"]],
        },
        headers=as_yc,
    )
    assert user.status_code == 201
    viewer = client.post(
        "/api/admin/v1/auth/login", json={"username": "yc_viewer", "password": "viewer123"}
    ).get_json()
    headers = {"Authorization": f"Bearer {viewer['access_token']}"}
    resp = client.post(
        "/api/admin/v1/roles",
        json={"name": "提权", "permissions": ["station.write"]},
        headers=headers,
    )
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "PERMISSION_ESCALATION"
    # and without station.write it cannot create stations
    resp = client.post(
        "/api/admin/v1/stations",
        json={"name": "x", "longitude": "113.9", "latitude": "22.5"},
        headers=headers,
    )
    assert resp.status_code == 403
    assert resp.get_json()["error"]["details"] == {"permission": "station.write"}


def test_operator_secrets_are_never_returned(client: FlaskClient, as_admin: dict[str, str]) -> None:
    resp = client.post(
        "/api/admin/v1/operators",
        json={
            "name": "带密钥运营商",
            "wechat_app_id": "wx123",
            "wechat_app_secret": "TOPSECRET-APP",
            "wechat_mch_id": "1900000001",
            "wechat_mch_cert_serial": "ABC",
            "wechat_mch_private_key": "-----BEGIN PRIVATE KEY-----TOPSECRET",
            "wechat_apiv3_key": "0123456789abcdef0123456789abcdef",
        },
        headers=as_admin,
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["wechat_app_secret_set"] is True and body["wechat_pay_configured"] is True
    everything = [
        resp.get_data(as_text=True),
        client.get(f"/api/admin/v1/operators/{body['id']}", headers=as_admin).get_data(
            as_text=True
        ),
        client.get("/api/admin/v1/operators", headers=as_admin).get_data(as_text=True),
        client.get("/api/admin/v1/audit-logs", headers=as_admin).get_data(as_text=True),
    ]
    for text in everything:
        assert "TOPSECRET" not in text
        assert "0123456789abcdef0123456789abcdef" not in text


def test_members_belong_to_sub_operators(app: Any, demo: Any) -> None:
    driver = db.session.scalar(select(Driver).where(Driver.nickname == "演示车主"))
    assert driver is not None and balance_of(driver.id) == 10_000
