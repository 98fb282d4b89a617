"""Fixtures for the drivers' API: the fake WeChat over real HTTP, mini-program apps on the
demo sub-operators, a scriptable pile command port and a login helper."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.charging.commands import COMMAND_PORT
from app.drivers.certification import FILE_STORAGE, LocalFileStorage
from app.extensions import db, limiter
from app.state import state_of
from app.tenancy.models import Operator
from app.tenancy.wechat_accounts import TOKEN_STORE
from app.wechat.miniprogram import MemoryTokenStore
from app.wechat.sandbox.server import FakeWeChatServer
from app.wechat.sandbox.signing import PlatformKeys
from app.wechat.sandbox.state import FakeWeChat
from tests.support.drivers import (
    KC_APP,
    OA_APP,
    YC_APP,
    Login,
    Ops,
)
from tests.support.ports import FakePort


@pytest.fixture(scope="session")
def platform_keys() -> PlatformKeys:
    return PlatformKeys.generate()


@pytest.fixture
def wechat(
    app: Flask, platform_keys: PlatformKeys, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeWeChat]:
    state = FakeWeChat(platform_keys)
    for app_id, secret in (YC_APP, KC_APP, OA_APP):
        state.register_app(app_id, secret)
    # the PostgreSQL run shares one app across tests: per-test settings and fresh state
    limiter.reset()
    monkeypatch.setitem(state_of(app), TOKEN_STORE, MemoryTokenStore())
    monkeypatch.setitem(state_of(app), FILE_STORAGE, LocalFileStorage(tmp_path / "uploads"))
    with FakeWeChatServer(state) as server:
        monkeypatch.setitem(app.config, "WECHAT_API_BASE", server.base_url)
        yield state
    limiter.reset()


@pytest.fixture
def ops(demo: Any, wechat: FakeWeChat) -> Ops:
    by_name = {op.name: op for op in db.session.scalars(select(Operator))}
    yc, kc = by_name["广东云创"], by_name["深圳快充"]
    yc.wechat_app_id, yc.wechat_app_secret = YC_APP
    kc.wechat_app_id, kc.wechat_app_secret = KC_APP
    yc.logo_url = "https://cdn.test/yc.png"
    db.session.commit()
    return Ops(yc, kc, by_name["粤充平台"])


@pytest.fixture
def port(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FakePort:
    fake = FakePort(online={"DEMO-OCPP-01", "55031412782305"})
    monkeypatch.setitem(state_of(app), COMMAND_PORT, fake)
    return fake


@pytest.fixture
def mp_login(client: FlaskClient, ops: Ops) -> Login:
    """``mp_login("alice")`` → bearer headers of driver openid ``alice`` (yc's app)."""

    def _login(openid: str, app_id: str = YC_APP[0]) -> dict[str, str]:
        resp = client.post(
            "/api/mp/v1/auth/login", json={"code": f"code-{openid}", "app_id": app_id}
        )
        assert resp.status_code == 200, resp.get_json()
        return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}

    return _login
