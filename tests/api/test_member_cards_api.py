"""会员 → 会员 (issue 10): the list filtered by sub-operator, phone and pricing group (case #17
2020), and the cards and pile passwords an operator issues to a driver and disables (audited);
a pile then accepts the card or the password and refuses it once disabled."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.charging.port import AuthorizeRequested
from app.drivers import cards, members
from app.extensions import db
from app.tenancy.models import AuditLog, DriverCard, Operator
from pile_link.ykc.messages import password_md5_16
from pile_link.ykc.session import password_form
from tests.support.money import build_world

API = "/api/admin/v1"


def _operator(name: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    assert op is not None
    return op


def test_case17_members_filter_by_sub_operator_phone_and_pricing_group(
    client: FlaskClient, as_admin: dict[str, str], as_yc: dict[str, str]
) -> None:
    yc, kc = _operator("广东云创"), _operator("深圳快充")
    members.create_driver(yc.id, openid="f-1", nickname="网约车甲", phone="13711110001",
                          pricing_group="ride_hailing")  # fmt: skip
    members.create_driver(kc.id, openid="f-2", nickname="快充乙", phone="13711110002")
    db.session.commit()

    def phones(query: str, headers: dict[str, str]) -> list[str]:
        resp = client.get(f"{API}/members?{query}", headers=headers)
        assert resp.status_code == 200, resp.get_json()
        return sorted(m["phone"] for m in resp.get_json()["items"])

    assert phones("phone=1371111", as_admin) == ["13711110001", "13711110002"]
    assert phones(f"phone=1371111&operator_id={kc.id}", as_admin) == ["13711110002"]
    assert phones("phone=0001", as_admin) == ["13711110001"]
    assert phones("pricing_group=ride_hailing&phone=137", as_admin) == ["13711110001"]
    assert phones("phone=1371111", as_yc) == ["13711110001"]  # scope still applies
    assert phones(f"phone=1371111&operator_id={kc.id}", as_yc) == []
    assert phones("phone=%25", as_admin) == []  # a LIKE wildcard is a plain character


def test_a_password_is_kept_in_the_form_the_pile_link_sends() -> None:
    """The id tag of a typed password must be the one a pile start arrives with, or every
    issued password would be refused at the pile."""
    for typed in ("12345678", "00000001"):
        assert cards.password_tag(typed) == password_form(password_md5_16(typed))


def test_issue_and_disable_a_card_and_a_password(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    world = build_world(app, operator=_operator("广东云创"), code="YC-CARD-01")
    driver_id = world.driver.id
    path = f"{API}/members/{driver_id}/cards"
    body = {"kind": "card", "card_number": "a1b2c3d4", "reason": "新办卡"}
    assert client.post(path, json=body, headers=as_kc).status_code == 404
    resp = client.post(path, json=body, headers=as_yc)
    assert resp.status_code == 201, resp.get_json()
    card = resp.get_json()
    assert card["label"] == "A1B2C3D4" and card["is_active"] and card["password"] is None
    taken = client.post(path, json=body, headers=as_yc)
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "CARD_TAKEN"
    bad = client.post(path, json={"kind": "card", "card_number": "含中文"}, headers=as_yc)
    assert bad.get_json()["error"]["code"] == "CARD_NUMBER_INVALID"
    empty = client.post(path, json={"kind": "card"}, headers=as_yc)
    assert empty.get_json()["error"]["code"] == "CARD_NUMBER_INVALID"

    first = client.post(path, json={"kind": "password"}, headers=as_yc).get_json()
    password = first["password"]
    assert len(password) == cards.PASSWORD_DIGITS and password.isdigit()
    assert first["label"] == "充电密码（已隐藏）"
    second = client.post(path, json={"kind": "password", "reason": "司机忘记"}, headers=as_yc)
    assert second.status_code == 201
    listed = client.get(path, headers=as_yc).get_json()["items"]
    assert all(item["password"] is None for item in listed)  # shown once, never again
    active = {(i["kind"], i["is_active"]) for i in listed}
    assert ("password", False) in active and ("password", True) in active  # one at a time
    stored = db.session.get(DriverCard, first["id"])
    assert stored is not None and password not in stored.id_tag  # never kept as typed
    logs = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "driver_card.issue",
                               AuditLog.target_id == str(driver_id))
    ).all()  # fmt: skip
    assert len(logs) == 3 and all(password not in str(log.after) for log in logs)

    disable = f"{API}/cards/{card['id']}/disable"
    assert client.post(disable, json={"reason": "挂失"}, headers=as_kc).status_code == 404
    assert client.post(disable, json={}, headers=as_yc).status_code == 422
    resp = client.post(disable, json={"reason": "挂失"}, headers=as_yc)
    assert resp.status_code == 200 and resp.get_json()["is_active"] is False
    assert client.post(disable, json={"reason": "再次"}, headers=as_yc).status_code == 200
    disabled = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "driver_card.disable")
    ).all()
    assert len(disabled) == 1 and disabled[0].reason == "挂失"


def test_a_pile_accepts_an_issued_password_and_refuses_a_disabled_card(
    app: Any, client: FlaskClient, as_yc: dict[str, str]
) -> None:
    world = build_world(app, operator=_operator("广东云创"), code="YC-CARD-02")
    path = f"{API}/members/{world.driver.id}/cards"
    password = client.post(path, json={"kind": "password"}, headers=as_yc).get_json()["password"]
    card = client.post(path, json={"kind": "card", "card_number": "CAFE0001"},
                       headers=as_yc).get_json()  # fmt: skip
    now = datetime.now(UTC)
    world.connect(now)

    def accepted(id_tag: str) -> bool:
        return bool(world.svc.handle(AuthorizeRequested(world.code, id_tag)).accepted)

    assert accepted(password_form(password_md5_16(password)))
    assert accepted("CAFE0001")
    client.post(f"{API}/cards/{card['id']}/disable", json={"reason": "挂失"}, headers=as_yc)
    assert not accepted("CAFE0001")
    assert not accepted(password_form(password_md5_16("99999999")))
