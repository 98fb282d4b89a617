"""Drivers' login through the fake WeChat: the driver belongs to the sub-operator whose
mini-program it logged in with; tokens expire and cannot be forged; phone binding."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.tenancy.models import Driver
from tests.support.drivers import KC_APP, YC_APP, Login, Ops

LOGIN = "/api/mp/v1/auth/login"


def test_login_creates_the_driver_under_the_sub_operator_of_the_app(
    client: FlaskClient, ops: Ops
) -> None:
    first = client.post(LOGIN, json={"code": "code-alice", "app_id": YC_APP[0]})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["created"] is True and body["token_type"] == "Bearer"
    assert body["driver"]["operator_id"] == ops.yc.id and body["driver"]["phone_bound"] is False
    # case #1: the sub-operator's own branding
    assert body["operator"] == {
        "id": ops.yc.id, "name": "广东云创", "brand_color": "#13a8a8",
        "logo_url": "https://cdn.test/yc.png",
    }  # fmt: skip
    again = client.post(LOGIN, json={"code": "code-alice", "app_id": YC_APP[0]}).get_json()
    assert again["created"] is False and again["driver"]["id"] == body["driver"]["id"]
    # the same WeChat user in another sub-operator's mini-program is another member
    other = client.post(LOGIN, json={"code": "code-alice", "app_id": KC_APP[0]}).get_json()
    assert other["driver"]["operator_id"] == ops.kc.id
    assert other["driver"]["id"] != body["driver"]["id"]
    driver = db.session.get(Driver, body["driver"]["id"])
    assert driver is not None and driver.openid == "alice" and driver.unionid == "union-alice"
    me = client.get("/api/mp/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.get_json()["driver"]["id"] == driver.id


def test_login_refusals_have_stable_codes(client: FlaskClient, ops: Ops) -> None:
    unknown = client.post(LOGIN, json={"code": "code-bob", "app_id": "wx-not-ours"})
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "MINIPROGRAM_UNKNOWN"
    bad = client.post(LOGIN, json={"code": "garbage", "app_id": YC_APP[0]})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "WECHAT_CODE_INVALID"
    missing = client.post(LOGIN, json={"app_id": YC_APP[0]})
    assert missing.status_code == 422
    assert "code" in missing.get_json()["error"]["details"]["fields"]["json"]


def test_tokens_are_required_signed_and_expire(
    app: Flask, client: FlaskClient, mp_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/api/mp/v1/me").get_json()["error"]["code"] == "AUTH_REQUIRED"
    headers = mp_login("carol")
    forged = {"Authorization": headers["Authorization"][:-3] + "abc"}
    resp = client.get("/api/mp/v1/me", headers=forged)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "AUTH_TOKEN_INVALID"
    monkeypatch.setitem(app.config, "DRIVER_TOKEN_TTL", -1)
    resp = client.get("/api/mp/v1/me", headers=headers)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "AUTH_TOKEN_EXPIRED"


def test_login_is_rate_limited(
    app: Flask, client: FlaskClient, ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", 3)
    codes = [
        client.post(LOGIN, json={"code": f"code-d{i}", "app_id": YC_APP[0]}).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    resp = client.post(LOGIN, json={"code": "code-d9", "app_id": YC_APP[0]})
    assert resp.get_json()["error"]["code"] == "RATE_LIMITED"
    assert int(resp.headers["Retry-After"]) >= 1


def test_phone_binding_through_the_get_phone_number_code(
    client: FlaskClient, mp_login: Login
) -> None:
    headers = mp_login("dave")
    resp = client.post("/api/mp/v1/me/phone", json={"code": "phone-13900001111"}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["phone"] == "13900001111" and resp.get_json()["phone_bound"] is True
    bad = client.post("/api/mp/v1/me/phone", json={"code": "nope"}, headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["error"]["code"] == "WECHAT_PHONE_CODE_INVALID"
