"""The replay cache shared by every worker (issue 11: a (OperatorID, TimeStamp, Seq)
cache): with ``EVOP_REDIS_URL`` set it lives in Redis, so a request replayed to another
worker is refused there too. Against the real Redis (db 13, a key prefix of each test's
own, removed afterwards)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import redis
from flask import Flask

from app.extensions import db
from app.hlht.envelope import CHINA, EnvelopeError, ReplayGuard, Ret, build_request, timestamp
from app.hlht.replay import RedisReplayGuard, replay_guard
from tests.support.hlht import PARTNER_KEYS, PARTNER_OPERATOR_ID, PARTNER_SECRET, register_partner
from tests.support.redis_db import REPLAY, redis_url
from tests.support.settings import BASE_CONFIG
from wsgi import compose

REDIS_URL = redis_url(REPLAY)


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"evop-test-{secrets.token_hex(6)}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def _worker(prefix: str) -> RedisReplayGuard:
    """What one worker process holds: its own connection to the shared Redis."""
    return RedisReplayGuard(redis.Redis.from_url(REDIS_URL), prefix=prefix)


def test_two_workers_see_each_others_seq(prefix: str) -> None:
    now = datetime.now(CHINA)
    stamp = timestamp(now)
    first, second = _worker(prefix), _worker(prefix)
    first.check("MA01DEMO9", stamp, "0001", now)
    with pytest.raises(EnvelopeError) as refused:
        second.check("MA01DEMO9", stamp, "0001", now)  # replayed to the other worker
    assert refused.value.ret is Ret.ENVELOPE
    second.check("MA01DEMO9", stamp, "0002", now)  # the next Seq of that second passes
    second.check("MA07TEST1", stamp, "0001", now)  # another partner's own Seq
    with pytest.raises(EnvelopeError):
        first.check("MA01DEMO9", stamp, "0002", now)


def test_a_seen_request_is_kept_twice_the_window(prefix: str) -> None:
    now = datetime.now(CHINA)
    guard = RedisReplayGuard(
        redis.Redis.from_url(REDIS_URL), window=timedelta(minutes=5), prefix=prefix
    )
    guard.check("MA01DEMO9", timestamp(now), "0003", now)
    ttl = redis.Redis.from_url(REDIS_URL).ttl(f"{prefix}:MA01DEMO9:{timestamp(now)}:0003")
    assert 590 <= ttl <= 600


def test_a_stale_request_is_refused_before_redis_is_asked(prefix: str) -> None:
    now = datetime.now(CHINA)
    guard = _worker(prefix)
    with pytest.raises(EnvelopeError):
        guard.check("MA01DEMO9", timestamp(now - timedelta(minutes=6)), "0001", now)
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{prefix}:*")) == []


def test_redis_unreachable_answers_busy() -> None:
    guard = RedisReplayGuard(redis.Redis.from_url("redis://127.0.0.1:1/0", socket_timeout=1))
    now = datetime.now(CHINA)
    with pytest.raises(EnvelopeError) as busy:
        guard.check("MA01DEMO9", timestamp(now), "0001", now)
    assert busy.value.ret is Ret.BUSY


def test_the_app_shares_the_cache_when_redis_is_set() -> None:
    assert type(replay_guard("")) is ReplayGuard
    assert isinstance(replay_guard(REDIS_URL), RedisReplayGuard)


def _platform(redis_url: str) -> Flask:
    """One worker: its own application (and database) with the demo partner."""
    app = compose({**BASE_CONFIG, "DATABASE_URL": "sqlite://", "REDIS_URL": redis_url})
    with app.app_context():
        db.create_all()
        register_partner()
        db.session.commit()
    return app


def _post(app: Flask, body: dict[str, str]) -> int:
    with app.app_context():
        resp = app.test_client().post("/evcs/v1/query_token", json=body)
        return int(resp.get_json()["Ret"])


def test_two_app_instances_refuse_each_others_replay(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.hlht.replay.DEFAULT_PREFIX", prefix)
    a, b = _platform(REDIS_URL), _platform(REDIS_URL)
    ask = {"OperatorID": PARTNER_OPERATOR_ID, "OperatorSecret": PARTNER_SECRET}
    stamp = timestamp(datetime.now(CHINA))
    body = build_request(PARTNER_OPERATOR_ID, ask, PARTNER_KEYS, stamp=stamp, seq="0042")
    assert _post(a, body) == Ret.OK
    assert _post(b, body) == Ret.ENVELOPE  # the replay, sent to the other worker
    fresh = build_request(PARTNER_OPERATOR_ID, ask, PARTNER_KEYS, stamp=stamp, seq="0043")
    assert _post(b, fresh) == Ret.OK
    # without Redis each worker keeps its own memory: the other one would take the replay
    c, d = _platform(""), _platform("")
    assert _post(c, body) == Ret.OK and _post(d, body) == Ret.OK
    assert _post(c, body) == Ret.ENVELOPE
