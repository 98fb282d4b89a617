"""Sliding-window rate limits for login and charge start: in-process by default, in Redis
(shared by every worker) when ``REDIS_URL`` is set. Exceeding one answers 429
RATE_LIMITED with ``Retry-After``."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from typing import Protocol

from flask import current_app

from app.errors import DomainError

_KEY = "evop_rate_limiter"


class RateLimited(DomainError):
    status = 429
    code = "RATE_LIMITED"
    message = "请求过于频繁，请稍后再试"


class Limiter(Protocol):
    def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count one hit; None if allowed, else the seconds until the next is allowed."""
        ...


class MemoryLimiter:
    """One process's sliding windows, bounded: empty windows are swept as keys go cold."""

    SWEEP_EVERY = 1000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._count = 0

    def hit(self, key: str, limit: int, window: float) -> float | None:
        now = time.monotonic()
        with self._lock:
            self._count += 1
            if self._count % self.SWEEP_EVERY == 0:
                self._sweep(now, window)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(hits[0] + window - now, 0.001)
            hits.append(now)
            return None

    def _sweep(self, now: float, window: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
            del self._hits[key]


class RedisLimiter:
    """A sorted set per key (member: a unique hit, score: its time), trimmed to the window."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def hit(self, key: str, limit: int, window: float) -> float | None:
        now = time.time()
        name = f"evop:rl:{key}"
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(name, 0, now - window)
        pipe.zrange(name, 0, 0, withscores=True)
        pipe.zcard(name)
        _, oldest, count = pipe.execute()
        if int(count) >= limit:
            first = float(oldest[0][1]) if oldest else now
            return max(first + window - now, 0.001)
        pipe = self._redis.pipeline()
        pipe.zadd(name, {f"{now}:{secrets.token_hex(4)}": now})
        pipe.expire(name, math.ceil(window) + 1)
        pipe.execute()
        return None


def limiter() -> Limiter:
    found: Limiter | None = current_app.extensions.get(_KEY)
    if found is None:
        url = current_app.config.get("REDIS_URL")
        found = RedisLimiter(url) if url else MemoryLimiter()
        current_app.extensions[_KEY] = found
    return found


def check(bucket: str, subject: str, limit_setting: str) -> None:
    limit = int(current_app.config[limit_setting])
    window = float(current_app.config["RATE_LIMIT_WINDOW_SECONDS"])
    if limit <= 0:
        return
    wait = limiter().hit(f"{bucket}:{subject}", limit, window)
    if wait is not None:
        raise RateLimited(details={"retry_after": math.ceil(wait)})
