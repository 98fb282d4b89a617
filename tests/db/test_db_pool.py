"""Pooled PostgreSQL connections: pinged only after sitting idle, and a dead one is replaced
before a request uses it (app/db_pool.py)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, event, text

from app.config import load_config, normalise_db_url
from app.db_pool import _IDLE_SINCE, ping_idle_connections
from tests.support.settings import ON_POSTGRES, TEST_DB_URL

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="a server that can drop connections")


def _engine(idle_seconds: float) -> Any:
    engine = create_engine(normalise_db_url(TEST_DB_URL), pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_seconds)
    return engine


def test_a_connection_back_in_the_pool_a_moment_ago_is_used_without_a_ping() -> None:
    engine = _engine(idle_seconds=60)
    pings: list[int] = []
    real = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: pings.append(1) or real(conn)  # type: ignore[method-assign]
    try:
        for _ in range(5):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        assert len(pings) == 1  # the first checkout of a new connection only
    finally:
        engine.dispose()


def test_a_connection_killed_while_idle_is_replaced_before_use() -> None:
    engine = _engine(idle_seconds=60)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(TEST_DB_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        # as if it had sat in the pool for a minute
        record = next(iter(engine.pool._pool.queue))  # type: ignore[attr-defined]
        record.info[_IDLE_SINCE] -= 120
        with engine.connect() as conn:  # no error: the dead one was replaced
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()


def test_connections_opened_for_a_burst_are_kept_for_the_next_one(tmp_path: Any) -> None:
    """The pool keeps what a burst opened (no overflow connections closed at check-in):
    a worker under the drivers' polling opened and closed one per excess request."""
    engine = create_engine(
        normalise_db_url(TEST_DB_URL),
        **load_config(str(tmp_path), {"DATABASE_URL": TEST_DB_URL})["SQLALCHEMY_ENGINE_OPTIONS"],
    )
    opened: list[int] = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    try:
        for burst in range(2):
            held = [engine.connect() for _ in range(15)]
            for conn in held:
                conn.close()
            assert len(opened) == 15, f"burst {burst + 1} opened {len(opened)} in all"
    finally:
        engine.dispose()
