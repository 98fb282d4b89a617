"""How ``PileLinkRuntime`` composes a pile-link process from its settings."""

from __future__ import annotations

import redis

from pile_link.group_commit import GroupCommitEvents
from pile_link.runtime import PileLinkRuntime
from tests.support.redis_db import BUS, redis_url
from tests.support.settings import BASE_CONFIG
from wsgi import compose


def test_runtime_group_commits_meter_values_and_bounds_its_pools() -> None:
    app = compose(
        {
            **BASE_CONFIG,
            "DATABASE_URL": "sqlite://",
            "REDIS_URL": redis_url(BUS),
            "METER_BATCH_DELAY_MS": 8,
            "METER_BATCH_SIZE": 300,
            "PILE_LINK_DB_CONCURRENCY": 12,
            "REDIS_MAX_CONNECTIONS": 40,
        }
    )
    runtime = PileLinkRuntime(app)
    events = runtime.events
    assert isinstance(events, GroupCommitEvents)
    # both endpoints hand their events to the same group-commit writer
    assert runtime.ocpp.events is events and runtime.ykc.events is events
    assert (events.writer.config.max_delay, events.writer.config.max_batch) == (0.008, 300)
    assert events._gate.counter == 12
    assert runtime.node is not None
    pool = runtime.node.client.connection_pool
    assert isinstance(pool, redis.BlockingConnectionPool) and pool.max_connections == 40
