"""Pooled PostgreSQL connections are pinged before use only when they have sat idle.

``pool_pre_ping`` pings on every checkout: one more round trip for every request, the most
frequent statement the server ran under the drivers' polling load. A connection handed
back a moment ago is alive; one idle for ``DB_PING_IDLE_SECONDS`` (or longer) may have
been closed by a database restart, a failover or a firewall, and is pinged. A dead one is
replaced before anyone uses it (the pool's own retry on ``DisconnectionError``)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event, exc

_IDLE_SINCE = "evop_idle_since"


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < idle_seconds:
            return  # back in the pool a moment ago: alive
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # any driver error: this connection is gone
            raise exc.DisconnectionError(str(error)) from error
        if not alive:  # pragma: no cover - psycopg raises rather than answering False
            raise exc.DisconnectionError("ping failed")
