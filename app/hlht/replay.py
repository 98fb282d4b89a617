"""The replay cache every worker shares (T/CEC 102.4: TimeStamp window plus the
(OperatorID, TimeStamp, Seq) already seen): in Redis when ``EVOP_REDIS_URL`` is set, so a
request replayed to another gunicorn worker is refused as it is by the first one."""

from __future__ import annotations

import logging
from datetime import timedelta

import redis

from app.hlht.envelope import EnvelopeError, ReplayGuard, Ret

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "evop:hlht:seen"


class RedisReplayGuard(ReplayGuard):
    """``SET key 1 NX EX 2×window``: the first worker to note a request wins, every other
    finds it there. Redis unreachable answers Ret -1 (busy: the partner tries again)
    rather than letting a request through unchecked."""

    def __init__(
        self,
        client: redis.Redis,
        window: timedelta = timedelta(minutes=5),
        prefix: str | None = None,
    ) -> None:
        super().__init__(window)
        self.client = client
        self.prefix = prefix or DEFAULT_PREFIX

    @classmethod
    def from_url(cls, url: str, prefix: str | None = None) -> RedisReplayGuard:
        return cls(redis.Redis.from_url(url, socket_timeout=2), prefix=prefix)

    def first_time(self, key: tuple[str, str, str]) -> bool:
        name = f"{self.prefix}:{':'.join(key)}"
        seconds = int(2 * self.window.total_seconds())
        try:
            return bool(self.client.set(name, b"1", nx=True, ex=seconds))
        except redis.RedisError as err:
            log.warning("hlht replay cache unreachable", extra={"error": str(err)[:200]})
            raise EnvelopeError(Ret.BUSY, "系统繁忙，请稍后重试") from None


def replay_guard(redis_url: str) -> ReplayGuard:
    """The guard of one process: shared through Redis when it is set, its memory otherwise."""
    if redis_url:
        return RedisReplayGuard.from_url(redis_url)
    return ReplayGuard()
