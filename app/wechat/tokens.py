"""The access tokens and tickets shared by every process, in Redis (``EVOP_REDIS_URL``).

WeChat invalidates an app's previous access token whenever a new one is fetched
(「获取接口调用凭据」), so gunicorn workers that each cached their own kept knocking each
other's tokens out. Here the values live in wechatpy's ``RedisStorage`` and a Redis lock
(``SET NX`` with an expiry, released only by its holder: redis-py's ``Lock``) lets one
process fetch while the others wait and then read what it stored.
"""

from __future__ import annotations

from typing import Any

import redis
from wechatpy.session.redisstorage import RedisStorage

DEFAULT_PREFIX = "evop:wechat"
# a fetch is one HTTP call with a 10 s timeout: the lock outlives it, a waiter gives up later
LOCK_SECONDS = 15.0
LOCK_WAIT_SECONDS = 20.0


class RedisTokenStore:
    """wechatpy's Redis session storage plus a cross-process refresh lock."""

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._storage = RedisStorage(client, prefix=prefix)

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisTokenStore:
        return cls(redis.Redis.from_url(url), prefix)

    def get(self, key: str, default: Any = None) -> Any:
        return self._storage.get(key, default)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        self._storage.set(key, value, ttl)

    def delete(self, key: str) -> None:
        self._storage.delete(key)

    def refresh_lock(self, key: str) -> Any:
        """Held by one process at a time; a holder that dies frees it after LOCK_SECONDS.
        A waiter that cannot have it within LOCK_WAIT_SECONDS raises ``LockError``."""
        return self.client.lock(
            f"{self.prefix}:lock:{key}", timeout=LOCK_SECONDS, blocking_timeout=LOCK_WAIT_SECONDS
        )
