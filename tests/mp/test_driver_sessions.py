"""Drivers' sessions can be ended (issue 14): logout, an admin's disable/enable; a stale
token answers 401 TOKEN_REVOKED, a disabled driver 403 DRIVER_DISABLED; the check reads a
short Redis cache when there is one (version-monotonic), else the database once."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.drivers import sessions
from app.drivers.sessions import DRIVER_SESSIONS, RedisSessions, SessionState
from app.extensions import db
from app.state import state_of
from app.tenancy.models import AuditLog, Driver
from tests.support.drivers import Login
from tests.support.redis_db import TOKENS, redis_url

REDIS_URL = redis_url(TOKENS)
ME = "/api/mp/v1/me"


def _driver(openid: str) -> Driver:
    driver = db.session.scalar(select(Driver).where(Driver.openid == openid))
    assert driver is not None
    return driver


def _code(resp: object) -> tuple[int, str]:
    return resp.status_code, resp.get_json()["error"]["code"]  # type: ignore[attr-defined]


def test_logout_ends_every_session_of_the_driver(client: FlaskClient, mp_login: Login) -> None:
    phone, tablet = mp_login("alice"), mp_login("alice")
    other = mp_login("bob")
    assert client.get(ME, headers=phone).status_code == 200
    assert client.post("/api/mp/v1/auth/logout", headers=phone).status_code == 204
    for headers in (phone, tablet):
        resp = client.get(ME, headers=headers)
        assert _code(resp) == (401, "TOKEN_REVOKED")
        assert resp.get_json()["error"]["message"] == "登录已失效，请重新登录"
    assert client.get(ME, headers=other).status_code == 200  # another driver is untouched
    again = mp_login("alice")  # a new login works
    assert client.get(ME, headers=again).status_code == 200


def test_admin_disable_ends_sessions_and_refuses_logins_until_enabled(
    client: FlaskClient, mp_login: Login, as_yc: dict[str, str]
) -> None:
    headers = mp_login("carol")
    driver = _driver("carol")
    url = f"/api/admin/v1/members/{driver.id}"
    missing = client.post(f"{url}/disable", json={"reason": "  "}, headers=as_yc)
    assert _code(missing) == (422, "REASON_REQUIRED")
    resp = client.post(f"{url}/disable", json={"reason": "盗刷嫌疑"}, headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["disabled"] is True and body["disabled_reason"] == "盗刷嫌疑"
    assert body["disabled_at"]
    refused = client.get(ME, headers=headers)
    assert _code(refused) == (403, "DRIVER_DISABLED")
    assert "停用" in refused.get_json()["error"]["message"]
    twice = client.post(f"{url}/disable", json={"reason": "再次"}, headers=as_yc)
    assert _code(twice) == (409, "DRIVER_ALREADY_DISABLED")
    enabled = client.post(f"{url}/enable", json={"reason": "核实无误"}, headers=as_yc)
    assert enabled.status_code == 200 and enabled.get_json()["disabled"] is False
    # the token from before the disable stays dead; a fresh login works
    assert _code(client.get(ME, headers=headers)) == (401, "TOKEN_REVOKED")
    assert client.get(ME, headers=mp_login("carol")).status_code == 200
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.target_type == "driver",
                                      AuditLog.target_id == str(driver.id))
    ).all()  # fmt: skip
    assert sorted(actions) == ["member.disable", "member.enable"]


def test_disabled_driver_cannot_log_in_again(client: FlaskClient, mp_login: Login,
                                             as_yc: dict[str, str]) -> None:  # fmt: skip
    from tests.support.drivers import YC_APP

    mp_login("dora")
    driver = _driver("dora")
    client.post(f"/api/admin/v1/members/{driver.id}/disable", json={"reason": "x"}, headers=as_yc)
    resp = client.post("/api/mp/v1/auth/login", json={"code": "code-dora", "app_id": YC_APP[0]})
    assert _code(resp) == (403, "DRIVER_DISABLED")


def test_disable_is_scoped_and_needs_member_write(
    client: FlaskClient, mp_login: Login, as_kc: dict[str, str], as_yc: dict[str, str]
) -> None:
    headers = mp_login("erin")  # a driver of 广东云创
    driver = _driver("erin")
    resp = client.post(
        f"/api/admin/v1/members/{driver.id}/disable", json={"reason": "x"}, headers=as_kc
    )
    assert resp.status_code == 404  # another sub-operator's member does not exist for kc
    assert client.get(ME, headers=headers).status_code == 200
    no_token = client.post(f"/api/admin/v1/members/{driver.id}/disable", json={"reason": "x"})
    assert no_token.status_code == 401


@pytest.fixture
def redis_sessions(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisSessions]:
    prefix = f"evop-test-{secrets.token_hex(6)}:"
    cache = RedisSessions.from_url(REDIS_URL, ttl=30, prefix=prefix)
    monkeypatch.setitem(state_of(app), DRIVER_SESSIONS, cache)
    yield cache
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_with_redis_the_check_reads_no_database_and_a_logout_still_ends_at_once(
    client: FlaskClient, mp_login: Login, redis_sessions: RedisSessions
) -> None:
    from sqlalchemy import event

    headers = mp_login("fay")
    assert client.get(ME, headers=headers).status_code == 200  # fills the cache
    seen: list[str] = []

    def _count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        client.get("/api/mp/v1/orders", headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)
    assert not any(s.startswith("SELECT drivers.token_version") for s in seen), seen
    assert client.post("/api/mp/v1/auth/logout", headers=headers).status_code == 204
    assert _code(client.get(ME, headers=headers)) == (401, "TOKEN_REVOKED")


def test_the_cache_never_goes_back_to_an_older_version(
    app: Flask, mp_login: Login, redis_sessions: RedisSessions
) -> None:
    mp_login("gus")
    driver = _driver("gus")
    newer = SessionState(5, True, driver.operator_id)
    redis_sessions.publish(driver.id, newer)
    # a reader that read the database before the change publishes what it saw: ignored
    redis_sessions.publish(driver.id, SessionState(4, False, driver.operator_id))
    assert redis_sessions.lookup(driver.id) == newer
    assert sessions.read_state(driver.id) == SessionState(1, False, driver.operator_id)


def test_the_session_state_is_cached_for_a_token_s_lifetime(
    app: Flask, mp_login: Login, client: FlaskClient, redis_sessions: RedisSessions
) -> None:
    """A polling driver's state is read from the database once, not again every 30 s (the
    fleet's polls spaced more than 30 s apart read it on every poll): the entry lives as
    long as the token, and a logout still ends the session at once."""
    assert app.config["DRIVER_SESSION_CACHE_SECONDS"] == app.config["DRIVER_TOKEN_TTL"]
    ttl = int(app.config["DRIVER_TOKEN_TTL"])
    long_lived = RedisSessions.from_url(REDIS_URL, ttl=ttl, prefix=redis_sessions._prefix)
    state_of(app)[DRIVER_SESSIONS] = long_lived
    headers = mp_login("hal")
    assert client.get(ME, headers=headers).status_code == 200
    key = f"{redis_sessions._prefix}{_driver('hal').id}"
    assert redis.Redis.from_url(REDIS_URL).ttl(key) > ttl - 60
    assert client.post("/api/mp/v1/auth/logout", headers=headers).status_code == 204
    assert _code(client.get(ME, headers=headers)) == (401, "TOKEN_REVOKED")


def _refuse(*args: object, **kwargs: object) -> None:
    raise redis.ConnectionError("refused")


def test_a_logout_redis_does_not_take_still_ends_the_session_at_once(
    client: FlaskClient, mp_login: Login, redis_sessions: RedisSessions
) -> None:
    """Redis refuses the new state (unreachable, a read-only replica after a failover):
    the process reads that driver's state from the database until Redis takes it, then
    writes it (a long-lived entry must never keep a logged-out token working)."""
    headers, other = mp_login("ida"), mp_login("ivy")
    assert client.get(ME, headers=headers).status_code == 200  # cached: version 1
    assert client.get(ME, headers=other).status_code == 200
    key = f"{redis_sessions._prefix}{_driver('ida').id}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redis_sessions, "_script", _refuse)
        assert client.post("/api/mp/v1/auth/logout", headers=headers).status_code == 204
        assert _code(client.get(ME, headers=headers)) == (401, "TOKEN_REVOKED")
        assert client.get(ME, headers=other).status_code == 200
    assert redis.Redis.from_url(REDIS_URL).get(key).startswith(b"1:")  # still the old one
    assert _code(client.get(ME, headers=headers)) == (401, "TOKEN_REVOKED")
    assert redis.Redis.from_url(REDIS_URL).get(key).startswith(b"2:")  # written at last


def test_a_ban_redis_misses_is_written_before_the_next_request(
    client: FlaskClient, mp_login: Login, as_yc: dict[str, str],
    redis_sessions: RedisSessions,
) -> None:  # fmt: skip
    """Redis unreachable while an admin disables the driver: the first request that
    reaches Redis again writes the disabled state first."""
    headers = mp_login("jay")
    assert client.get(ME, headers=headers).status_code == 200
    url = f"/api/admin/v1/members/{_driver('jay').id}/disable"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redis_sessions, "_script", _refuse)
        patch.setattr(redis_sessions._redis, "get", _refuse)
        assert client.post(url, json={"reason": "盗刷"}, headers=as_yc).status_code == 200
    driver = _driver("jay")
    key = f"{redis_sessions._prefix}{driver.id}"
    assert redis.Redis.from_url(REDIS_URL).get(key) == b"1:0:%d" % driver.operator_id
    assert _code(client.get(ME, headers=headers)) == (403, "DRIVER_DISABLED")
    # what every other process reads now
    assert redis.Redis.from_url(REDIS_URL).get(key) == b"2:1:%d" % driver.operator_id
