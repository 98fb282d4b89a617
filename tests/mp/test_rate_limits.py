"""The drivers' API rate limits count each hit atomically: many requests of one key at once
never let more than the limit through (the hand-written limiter checked, then added)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from limits.storage import MemoryStorage, RedisStorage

from app.errors import RATE_LIMITED
from app.extensions import limiter
from app.rate_limits import rate_limit
from tests.support.redis_db import BUS, redis_url
from tests.support.settings import BASE_CONFIG
from wsgi import compose

REDIS_URL = redis_url(BUS)
THREADS = 32


def _hit_at_once(app: Flask, bucket: str, subject: str, setting: str) -> list[int]:
    """``THREADS`` hits released together; the Retry-After seconds of each refused one
    (0 for a hit let through)."""
    gate = threading.Barrier(THREADS)
    outcomes: list[int] = []
    errors: list[BaseException] = []

    def hit() -> None:
        with app.test_request_context():
            gate.wait()
            try:
                rate_limit(bucket, subject, setting)
                outcomes.append(0)
            except RATE_LIMITED as refused:
                outcomes.append(refused.details["retry_after"])
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(outcomes) == THREADS
    return outcomes


def test_concurrent_starts_never_pass_the_limit(app: Flask) -> None:
    """The embedded default: Flask-Limiter on this process's memory."""
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert isinstance(limiter.storage, MemoryStorage)
    limit, window = int(app.config["START_RATE_LIMIT"]), app.config["RATE_LIMIT_WINDOW_SECONDS"]
    for _ in range(5):  # a fresh driver each round: the window's first hits race hardest
        outcomes = _hit_at_once(app, "start", f"driver-{uuid.uuid4().hex}", "START_RATE_LIMIT")
        assert outcomes.count(0) == limit
        assert all(1 <= wait <= window for wait in outcomes if wait)


@pytest.fixture
def redis_app(app: Flask) -> Iterator[Flask]:
    """An app whose limits live in Redis (skipped without one at 127.0.0.1:6379); the shared
    limiter is bound back to ``app`` afterwards."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    other = compose({**BASE_CONFIG, "DATABASE_URL": "sqlite://", "REDIS_URL": REDIS_URL})
    try:
        yield other
    finally:
        limiter.init_app(app)


def test_concurrent_logins_never_pass_the_limit_in_redis(redis_app: Flask) -> None:
    """Production: every worker counts in the same Redis, one atomic script per hit."""
    assert isinstance(limiter.storage, RedisStorage)
    client = redis.Redis.from_url(REDIS_URL)
    address = f"test-{uuid.uuid4().hex}"  # a key of this run's own in a shared Redis
    try:
        outcomes = _hit_at_once(redis_app, "login", address, "LOGIN_RATE_LIMIT")
        assert outcomes.count(0) == int(redis_app.config["LOGIN_RATE_LIMIT"])
        assert all(wait >= 1 for wait in outcomes if wait)
    finally:
        keys = list(client.scan_iter(f"*/login/{address}/*"))
        assert keys  # the hits were counted in Redis
        client.delete(*keys)
