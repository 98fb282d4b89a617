"""Drivers' sessions: a token carries the driver's ``token_version``; logging out, or an
admin disabling the driver, bumps it and so ends every session of that driver at once.

The check runs before every driver request (the live poll most of all), so it reads only
(driver id -> version, disabled, operator): from a Redis cache when ``REDIS_URL`` is set,
else with one indexed database read. The cache is version-monotonic: a value is written
only over an older version, so a reader that read the database before a change can never
put the old state back after the change published the new one. Every change of the state
bumps the version and is published at once, so an entry may live as long as a token
(``DRIVER_SESSION_CACHE_SECONDS``, by default the token's lifetime: a polling driver's
state is read from the database once, not every 30 s). A change Redis does not take is
written again before the process's next request (see ``RedisSessions.publish``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select

from app.extensions import db
from app.state import Slot, part
from app.tenancy.models import Driver

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionState:
    """What a token is checked against."""

    version: int
    disabled: bool
    operator_id: int

    def encode(self) -> str:
        return f"{self.version}:{int(self.disabled)}:{self.operator_id}"

    @classmethod
    def decode(cls, raw: str | bytes) -> SessionState:
        text = raw.decode() if isinstance(raw, bytes) else raw
        version, disabled, operator_id = text.split(":")
        return cls(int(version), disabled == "1", int(operator_id))


def read_state(driver_id: int) -> SessionState | None:
    """The driver's session state from the database (None: no such driver)."""
    row = db.session.execute(
        select(Driver.token_version, Driver.disabled_at, Driver.operator_id).where(
            Driver.id == driver_id
        )
    ).first()
    if row is None:
        return None
    return SessionState(int(row[0]), row[1] is not None, int(row[2]))


def state_of_driver(driver: Driver) -> SessionState:
    return SessionState(driver.token_version, driver.disabled_at is not None, driver.operator_id)


class SessionCache(Protocol):
    def lookup(self, driver_id: int) -> SessionState | None: ...

    def publish(self, driver_id: int, state: SessionState) -> None: ...


class DatabaseSessions:
    """No shared cache: one database read per check, nothing to publish."""

    def lookup(self, driver_id: int) -> SessionState | None:
        return read_state(driver_id)

    def publish(self, driver_id: int, state: SessionState) -> None:
        return None


# KEYS[1] the driver's key; ARGV: encoded state, its version, ttl seconds. Written only when
# the key is missing or holds an older version (never back to an older state).
_SET_IF_NEWER = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(%d+):'))
  if v and v > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
return 1
"""


class RedisSessions:
    """(driver id -> state) for ``ttl`` seconds in Redis, shared by every worker; a Redis
    that does not answer falls back to the database read (the check never fails open)."""

    def __init__(self, client: Any, *, ttl: int, prefix: str = "evop:driver-session:") -> None:
        self._redis = client
        self._ttl = max(int(ttl), 1)
        self._prefix = prefix
        self._script = client.register_script(_SET_IF_NEWER)
        # committed states Redis has not taken yet (written again before the next request)
        self._owed: dict[int, SessionState] = {}

    @classmethod
    def from_url(cls, url: str, *, ttl: int, prefix: str = "evop:driver-session:") -> RedisSessions:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=0.5), ttl=ttl, prefix=prefix)

    def _key(self, driver_id: int) -> str:
        return f"{self._prefix}{driver_id}"

    def lookup(self, driver_id: int) -> SessionState | None:
        if self._owed:
            self._replay()
            if driver_id in self._owed:  # Redis may hold an older state: the database
                return read_state(driver_id)
        try:
            raw = self._redis.get(self._key(driver_id))
        except Exception:
            log.warning("driver session cache unavailable driver_id=%s", driver_id)
            return read_state(driver_id)
        if raw is not None:
            try:
                return SessionState.decode(raw)
            except ValueError:
                pass
        state = read_state(driver_id)
        if state is not None:
            self.publish(driver_id, state)
        return state

    def publish(self, driver_id: int, state: SessionState) -> None:
        """After a committed change. A state Redis does not take is kept and written again
        before this process's next lookup or publication (set-if-newer, so replaying it
        never undoes a later change), and until then this process reads that driver's
        state from the database; logged as an error (other processes may see the old
        state until it is written)."""
        owed = self._owed.get(driver_id)
        if owed is None or owed.version < state.version:
            self._owed[driver_id] = state
        self._replay()

    def _replay(self) -> None:
        for driver_id, state in list(self._owed.items()):
            try:
                self._script(
                    keys=[self._key(driver_id)], args=[state.encode(), state.version, self._ttl]
                )
            except Exception:
                log.error(
                    "driver session cache not updated driver_id=%s version=%s: written "
                    "again at the next request", driver_id, state.version,
                )  # fmt: skip
                return
            if self._owed.get(driver_id) is state:  # not replaced meanwhile (greenlets)
                del self._owed[driver_id]


DRIVER_SESSIONS: Slot[SessionCache] = Slot("driver session states")


def session_cache(redis_url: str, ttl: int) -> SessionCache:
    if not redis_url or ttl <= 0:
        return DatabaseSessions()
    return RedisSessions.from_url(redis_url, ttl=ttl)


def lookup(driver_id: int) -> SessionState | None:
    return part(DRIVER_SESSIONS).lookup(driver_id)


def publish(driver: Driver) -> None:
    """After a committed change of the driver's version or disabled state."""
    part(DRIVER_SESSIONS).publish(driver.id, state_of_driver(driver))
