"""Which pile is connected here: the connection registry and the in-process command port.

Protocol adapters register a :class:`PileLink` per connected pile (keyed by pile code, any
protocol); a pile that reconnects replaces its old link. Commands travel as plain
:class:`Command` values so that a cross-process router (Redis, later) can carry them to the
process holding the link and hand them to :meth:`ConnectionRegistry.send_command` there;
:class:`LocalCommandPort` is the one-process ``PileCommandPort``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import enum
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import gevent
import gevent.lock
from gevent.monkey import get_original

from app.charging.port import CommandOutcome, CommandResult, PileTariff
from pile_link.session_refs import new_session_ref
from pile_link.ykc.billing import tariff_dict

log = logging.getLogger(__name__)

T = TypeVar("T")

# The OS thread id even when ``threading`` is monkey-patched (then it names greenlets).
_os_thread_id: Callable[[], int] = get_original("_thread", "get_ident")
# Extra wait, beyond a command's own timeout, for a hop between threads.
_HOP_MARGIN = 5.0


class CommandName(enum.StrEnum):
    REMOTE_START = "remote_start"
    REMOTE_STOP = "remote_stop"
    RESET = "reset"
    CHANGE_AVAILABILITY = "change_availability"
    PUSH_TARIFF = "push_tariff"
    SYNC_TIME = "sync_time"
    UNLOCK_CONNECTOR = "unlock_connector"


@dataclass(frozen=True, slots=True)
class Command:
    """A command to one pile; ``args`` are the keyword arguments of the PileCommandPort
    method of the same name (JSON-friendly, so a router can serialise them)."""

    name: CommandName
    args: dict[str, Any] = field(default_factory=dict)
    timeout: float = 10.0


class PileLink(Protocol):
    """What a protocol adapter's connection offers the registry."""

    @property
    def pile_code(self) -> str: ...

    def close(self, reason: str) -> None:
        """Start closing; must not block and must not announce PileDisconnected itself
        when the registry no longer holds this link (see :meth:`ConnectionRegistry.claim`)."""

    def execute(self, command: Command) -> CommandResult: ...


class ConnectionRegistry:
    """Pile code → the live link, for one pile-link process.

    Lifecycle ordering, per pile code (hold :meth:`lifecycle` around both):

    * open: ``replaced = registry.claim(link)``; when ``replaced``, announce
      ``PileDisconnected(reason="replaced")`` and only then ``PileConnected``;
    * end: ``if registry.release(link):`` announce ``PileDisconnected``.

    A replaced link is no longer held, so its own end announces nothing: the domain never
    sees a stale "offline" after the new connection's "online".
    """

    def __init__(self) -> None:
        self._links: dict[str, PileLink] = {}
        self._locks: dict[str, tuple[gevent.lock.RLock, list[int]]] = {}
        self._hub: Any = None
        self._hub_thread: int | None = None
        self._holders = 0  # endpoints serving in the hub: the last to stop unbinds it

    # --- the hub the links live in ------------------------------------------------------

    def bind_to_current_hub(self) -> None:
        """Remember the gevent hub (and OS thread) that runs the links; each endpoint calls
        this when it starts and :meth:`unbind` when it stops, in any order."""
        self._hub = gevent.get_hub()
        self._hub_thread = _os_thread_id()
        self._holders += 1

    def unbind(self) -> None:
        """One endpoint stopped; the hub is forgotten when none is left."""
        self._holders = max(0, self._holders - 1)
        if self._holders == 0:
            self._hub = None
            self._hub_thread = None

    def run_in_hub(self, func: Callable[[], T], timeout: float) -> T:
        """Run ``func`` in a greenlet of the links' hub and wait for it, from any thread.

        In the links' own thread (a monkey-patched process, or a greenlet of the server)
        this is a plain call. From another OS thread (``flask run``, tests), the call hops
        into the hub and this thread waits; ``concurrent.futures.TimeoutError`` after
        ``timeout``.
        """
        hub, hub_thread = self._hub, self._hub_thread
        if hub is None or hub_thread == _os_thread_id():
            return func()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(func())
            except BaseException as exc:
                future.set_exception(exc)

        hub.loop.run_callback_threadsafe(gevent.spawn, job)
        try:
            return future.result(timeout=timeout)
        finally:
            future.cancel()

    # --- links --------------------------------------------------------------------------

    @contextlib.contextmanager
    def lifecycle(self, pile_code: str) -> Iterator[None]:
        """Serialise one pile's connect/disconnect announcements (they may block on the DB)."""
        lock, users = self._locks.setdefault(pile_code, (gevent.lock.RLock(), [0]))
        users[0] += 1
        try:
            with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._locks.pop(pile_code, None)

    def claim(self, link: PileLink) -> bool:
        """Make ``link`` the pile's live link; close the one it replaces (True if any)."""
        old = self._links.get(link.pile_code)
        self._links[link.pile_code] = link
        if old is None or old is link:
            return False
        log.info("connection replaced", extra={"pile_code": link.pile_code})
        old.close("replaced")
        return True

    def release(self, link: PileLink) -> bool:
        """Forget ``link``; False when it was not the live link (it had been replaced)."""
        if self._links.get(link.pile_code) is not link:
            return False
        del self._links[link.pile_code]
        return True

    def get(self, pile_code: str) -> PileLink | None:
        return self._links.get(pile_code)

    def is_online(self, pile_code: str) -> bool:
        return pile_code in self._links

    def pile_codes(self) -> list[str]:
        return list(self._links)

    def __len__(self) -> int:
        return len(self._links)

    def send_command(self, pile_code: str, command: Command) -> CommandResult:
        """Execute ``command`` on the pile's live link, from any thread.

        This is the seam for cross-process routing: the process that holds the link calls
        this with a :class:`Command` it received.
        """

        def execute() -> CommandResult:
            link = self._links.get(pile_code)
            if link is None:
                return CommandResult(CommandOutcome.PILE_OFFLINE)
            try:
                return link.execute(command)
            except Exception:
                log.exception(
                    "command failed", extra={"pile_code": pile_code, "command": command.name}
                )
                return CommandResult(CommandOutcome.REJECTED, "command failed in the pile link")

        try:
            return self.run_in_hub(execute, command.timeout + _HOP_MARGIN)
        except concurrent.futures.TimeoutError:
            return CommandResult(CommandOutcome.TIMED_OUT, "pile link did not answer")


class LocalCommandPort:
    """``PileCommandPort`` for a process that holds the pile connections itself."""

    def __init__(self, registry: ConnectionRegistry) -> None:
        self._registry = registry

    def _send(
        self, pile_code: str, name: CommandName, timeout: float, **args: Any
    ) -> CommandResult:
        return self._registry.send_command(pile_code, Command(name, args, timeout))

    def remote_start(
        self,
        pile_code: str,
        connector_number: int,
        id_tag: str,
        *,
        order_no: str,
        balance_fen: int | None = None,
        session_ref: str | None = None,
        timeout: float = 10.0,
    ) -> CommandResult:
        return self._send(
            pile_code,
            CommandName.REMOTE_START,
            timeout,
            connector_number=connector_number,
            id_tag=id_tag,
            order_no=order_no,
            balance_fen=balance_fen,
            session_ref=session_ref,
        )

    def remote_stop(
        self, pile_code: str, connector_number: int, session_ref: str, *, timeout: float = 10.0
    ) -> CommandResult:
        return self._send(
            pile_code,
            CommandName.REMOTE_STOP,
            timeout,
            connector_number=connector_number,
            session_ref=session_ref,
        )

    def reset(self, pile_code: str, *, hard: bool = False, timeout: float = 10.0) -> CommandResult:
        return self._send(pile_code, CommandName.RESET, timeout, hard=hard)

    def change_availability(
        self, pile_code: str, connector_number: int, available: bool, *, timeout: float = 10.0
    ) -> CommandResult:
        return self._send(
            pile_code,
            CommandName.CHANGE_AVAILABILITY,
            timeout,
            connector_number=connector_number,
            available=available,
        )

    def push_tariff(
        self, pile_code: str, tariff: PileTariff, *, timeout: float = 10.0
    ) -> CommandResult:
        # commands carry JSON-able arguments only (they may cross Redis)
        return self._send(pile_code, CommandName.PUSH_TARIFF, timeout, tariff=tariff_dict(tariff))

    def sync_time(self, pile_code: str, *, timeout: float = 10.0) -> CommandResult:
        return self._send(pile_code, CommandName.SYNC_TIME, timeout)

    def unlock_connector(
        self, pile_code: str, connector_number: int, *, timeout: float = 10.0
    ) -> CommandResult:
        return self._send(
            pile_code, CommandName.UNLOCK_CONNECTOR, timeout, connector_number=connector_number
        )

    def new_session_ref(self, pile_code: str, protocol: str, connector_number: int) -> str | None:
        return new_session_ref(pile_code, protocol, connector_number)

    def is_online(self, pile_code: str) -> bool:
        return self._registry.is_online(pile_code)
