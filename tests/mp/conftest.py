"""Fixtures for the drivers' API: the fake WeChat over real HTTP, mini-program apps on the
demo sub-operators, a scriptable pile command port and a login helper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.charging import commands
from app.charging.port import CommandOutcome, CommandResult
from app.extensions import db, limiter
from app.tenancy.models import Operator
from app.wechat.sandbox.server import FakeWeChatServer
from app.wechat.sandbox.signing import PlatformKeys
from app.wechat.sandbox.state import FakeWeChat

YC_APP = ("wx00000000000000yc", "yc-mp-secret-0123456789")
KC_APP = ("wx00000000000000kc", "kc-mp-secret-0123456789")
OA_APP = ("wx0000000000000oa1", "oa-secret-0123456789")


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
    for key in ("evop_wechat_token_store", "evop_file_storage"):
        monkeypatch.delitem(app.extensions, key, raising=False)
    with FakeWeChatServer(state) as server:
        monkeypatch.setitem(app.config, "WECHAT_API_BASE", server.base_url)
        monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
        yield state
    limiter.reset()
    for key in ("evop_wechat_token_store", "evop_file_storage"):
        app.extensions.pop(key, None)


@dataclass
class Ops:
    yc: Operator
    kc: Operator
    platform: Operator


@pytest.fixture
def ops(demo: Any, wechat: FakeWeChat) -> Ops:
    by_name = {op.name: op for op in db.session.scalars(select(Operator))}
    yc, kc = by_name["广东云创"], by_name["深圳快充"]
    yc.wechat_app_id, yc.wechat_app_secret = YC_APP
    kc.wechat_app_id, kc.wechat_app_secret = KC_APP
    yc.logo_url = "https://cdn.test/yc.png"
    db.session.commit()
    return Ops(yc, kc, by_name["粤充平台"])


@dataclass
class FakePort(commands.NoPileLink):
    online: set[str] = field(default_factory=set)
    starts: list[tuple[str, int, str]] = field(default_factory=list)
    stops: list[tuple[str, int, str]] = field(default_factory=list)

    def is_online(self, pile_code: str) -> bool:
        return pile_code in self.online

    def remote_start(self, pile_code: str, connector_number: int, id_tag: str, **kw: Any) -> Any:
        if pile_code not in self.online:
            return CommandResult(CommandOutcome.PILE_OFFLINE)
        self.starts.append((pile_code, connector_number, id_tag))
        return CommandResult(CommandOutcome.ACCEPTED)

    def remote_stop(
        self, pile_code: str, connector_number: int, session_ref: str, **kw: Any
    ) -> Any:
        if pile_code not in self.online:
            return CommandResult(CommandOutcome.PILE_OFFLINE)
        self.stops.append((pile_code, connector_number, session_ref))
        return CommandResult(CommandOutcome.ACCEPTED)


@pytest.fixture
def port(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FakePort:
    fake = FakePort(online={"DEMO-OCPP-01", "55031412782305"})
    monkeypatch.setitem(app.extensions, "evop_pile_command_port", fake)
    return fake


Login = Callable[..., dict[str, str]]


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
