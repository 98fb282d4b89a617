"""The connection/server base both pile endpoints stand on (OCPP 1.6J and YKC).

A gevent ``StreamServer`` spawns one greenlet per accepted socket from a ``Pool`` (so a
stop can drain). Each connection then has three parts:

* the **reader** (the greenlet that called :meth:`Connection.run`): bytes in, frames out,
  the protocol's own business (:meth:`Connection.serve`);
* the **output**: a frame is sent at once, without blocking, when the socket takes it
  whole and nothing is waiting before it; otherwise it waits in a bounded backlog that a
  **flusher** greenlet (alive only while there is a backlog) sends in order. A pile that
  does not read for ``write_timeout`` with the backlog full is dropped;
* a **worker** that runs the domain's share of the pile's requests one at a time, so
  that answers to our commands (and heartbeats) are read while the domain is busy. It
  exists only while a request is pending: a held connection is idle between heartbeats,
  and a parked greenlet (its Python frame chunk, its saved stack) and a queue cost more
  than the rest of the connection (bench/PROFILE.md, "Memory per held connection").

The end is the same for both protocols: requests already received are still recorded (a
stop record just before the socket died is end-of-charge evidence), then the writer is
flushed, then the registry slot is released and the domain told (only by the connection
that still holds the slot: a replaced one announces nothing).

Servers share one :class:`~pile_link.registry.ConnectionRegistry` in one hub; each binds
it on start and lets go of it on stop, so the two can be stopped in either order.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections import deque
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import gevent
import gevent.event
import gevent.pool
from gevent.server import StreamServer
from gevent.socket import socket as GeventSocket

from app.charging.port import CommandResult, PileEventHandler
from pile_link.registry import Command, ConnectionRegistry

log = logging.getLogger(__name__)


class Limits(Protocol):
    """The limits and timers (seconds) every endpoint's configuration has."""

    @property
    def write_queue_size(self) -> int: ...
    @property
    def write_timeout(self) -> float: ...
    @property
    def work_queue_size(self) -> int: ...
    @property
    def finish_timeout(self) -> float: ...
    @property
    def close_timeout(self) -> float: ...
    @property
    def max_connections(self) -> int: ...


def host_of(address: Any) -> str | None:
    """The source IP of a socket address (None for a Unix socket or none at all)."""
    return str(address[0]) if isinstance(address, tuple) and address else None


def peer_of(address: Any) -> str:
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)


Job = TypeVar("Job")


class Connection(Generic[Job]):
    """One pile's connection: reader, bounded writer, worker; the registry's ``PileLink``
    once the pile is known (:meth:`claim`)."""

    protocol: ClassVar[str]

    def __init__(self, server: Server[Any], sock: GeventSocket, address: Any) -> None:
        self._server = server
        self._config: Limits = server.config
        self._sock = sock
        # the OS socket under gevent's (non-blocking): a frame is tried on it at once
        self._raw: socket.socket | None = getattr(sock, "_sock", None)
        self._peer = peer_of(address)
        self.host = host_of(address)  # the source IP, for the domain's admission
        # frames the socket did not take at once, as (bytes, item), and their flusher;
        # both None while the socket keeps up (a held connection, nearly always)
        self._backlog: deque[tuple[bytes | None, object]] | None = None
        self._flusher: gevent.Greenlet[Any, Any] | None = None
        self._write_room: gevent.event.Event | None = None
        # the pile's requests waiting for the worker, and the worker: None while idle
        self._jobs: deque[Job] | None = None
        self._worker: gevent.Greenlet[Any, Any] | None = None
        self._job_room: gevent.event.Event | None = None
        self._reason: str | None = None
        self._claimed = False
        self._closing = False  # a closing handshake is under way: nothing new is queued
        self._writes_stopped = False  # flush_and_stop_writer: what is queued is the last
        self._ended = False

    # --- what a protocol supplies ---------------------------------------------------

    @property
    def pile_code(self) -> str:
        raise NotImplementedError

    def execute(self, command: Command) -> CommandResult:
        """Carry out one of our commands (the registry's ``PileLink``)."""
        raise NotImplementedError

    def serve(self) -> None:
        """Read until the conversation is over (the reason set through :meth:`set_reason`)."""
        raise NotImplementedError

    def encode(self, item: object) -> bytes | None:
        """The bytes of a queued item (``None``: nothing to send)."""
        assert isinstance(item, bytes | bytearray)
        return bytes(item)

    def sent(self, item: object) -> None:
        """Called after ``item`` went out (OCPP: the answer to a close frame ends it)."""

    def handle(self, job: Job) -> None:
        """Run one of the pile's requests in the worker."""
        raise NotImplementedError

    def work_queue_full(self, job: Job) -> None:
        """The domain is slower than the pile: drop, wait, or close (the protocol knows)."""
        raise NotImplementedError

    def closed(self, reason: str, *, announce: bool) -> None:
        """Tell the session (and through it the domain) that the connection ended."""
        raise NotImplementedError

    def finished(self) -> None:
        """Last clean-up of the protocol's own timers."""

    # --- the registry's PileLink ----------------------------------------------------

    def close(self, reason: str) -> None:
        """Cut the connection (never blocks); the reader sees EOF and winds down."""
        self.set_reason(reason)
        log.info("closing", extra=self.extra(reason=reason))
        self.abort()

    # --- shared plumbing ------------------------------------------------------------

    def extra(self, **fields: Any) -> dict[str, Any]:
        return {
            "pile_code": self.pile_code,
            "protocol": self.protocol,
            "peer": self._peer,
            **fields,
        }

    def set_reason(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason

    def abort(self) -> None:
        """Cut the TCP connection; a reader blocked in recv() sees EOF at once."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def queue(self, item: object) -> bool:
        """Send ``item`` (or back-log it for the flusher); False when the connection is
        ending or stuck."""
        if self._ended or self._closing or self._writes_stopped:
            return False
        if self.push(item, self._config.write_timeout):
            return True
        log.warning("pile does not read: write queue full", extra=self.extra())
        self.close("heartbeat_timeout")
        return False

    def push(self, item: object, timeout: float | None = None) -> bool:
        """Send ``item`` now when nothing waits before it and the socket takes it whole;
        else back-log it, waiting up to ``timeout`` for room (``None``: not at all). False
        when the backlog stayed full. Frames go out in the order they were pushed."""
        deadline: float | None = None
        while True:
            backlog = self._backlog
            if backlog is None:
                self._send_now(item)
                return True
            if len(backlog) < self._config.write_queue_size:
                backlog.append((self.encode(item), item))
                return True
            if timeout is None:
                return False
            now = time.monotonic()
            if deadline is None:
                deadline = now + timeout
            if now >= deadline:
                return False
            room = self._write_room
            if room is None:
                room = self._write_room = gevent.event.Event()
            room.clear()
            room.wait(deadline - now)

    def _send_now(self, item: object) -> None:
        data = self.encode(item)
        if data:
            sent = 0
            if self._raw is not None:
                try:
                    sent = self._raw.send(data)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    self.abort()  # the reader sees the end
                    return
            if sent < len(data):
                # the rest (and whatever follows) waits for the flusher
                self._backlog = deque([(data[sent:], item)])
                self._flusher = gevent.spawn(self._flush_loop)
                return
        self.sent(item)

    def _flush_loop(self) -> None:
        backlog = self._backlog
        assert backlog is not None
        try:
            while backlog:
                data, item = backlog.popleft()
                if self._write_room is not None:
                    self._write_room.set()
                if data:
                    self._sock.sendall(data)
                self.sent(item)
        except OSError:
            self.abort()
        finally:
            # nothing switches between the last look at the backlog and here: a frame
            # pushed from now on is tried on the socket at once again
            self._backlog = None
            self._flusher = None
            if self._write_room is not None:
                self._write_room.set()
                self._write_room = None

    def submit(self, job: Job) -> None:
        """Give the worker one of the pile's requests (the worker starts with the first)."""
        jobs = self._jobs
        if jobs is not None and len(jobs) >= self._config.work_queue_size:
            self.work_queue_full(job)
            return
        self._add_job(job)

    def submit_waiting(self, job: Job, timeout: float) -> bool:
        """Give the worker ``job``, waiting up to ``timeout`` for room; False: no room."""
        deadline = time.monotonic() + timeout
        while (jobs := self._jobs) is not None and len(jobs) >= self._config.work_queue_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            room = self._job_room
            if room is None:
                room = self._job_room = gevent.event.Event()
            room.clear()
            room.wait(remaining)
        self._add_job(job)
        return True

    def _add_job(self, job: Job) -> None:
        if self._jobs is None:
            self._jobs = deque()
        self._jobs.append(job)
        if self._worker is None:
            self._worker = gevent.spawn(self._work_loop)

    def start_worker(self) -> None:
        """Nothing to do any more: the worker starts with the first request and ends when
        none is left (kept for the protocols that call it)."""

    def claim(self) -> bool:
        """Take the pile's registry slot (call inside ``registry.lifecycle``); True when
        an older connection of the same pile was replaced."""
        replaced = self._server.registry.claim(self)
        self._claimed = True
        return replaced

    def _work_loop(self) -> None:
        jobs = self._jobs
        assert jobs is not None
        try:
            while jobs:
                job = jobs.popleft()
                if self._job_room is not None:
                    self._job_room.set()
                self.handle(job)
        finally:
            # as in the flusher: the next request after this starts a new worker
            self._worker = None
            if not jobs and self._jobs is jobs:
                self._jobs = None
            if self._job_room is not None:
                self._job_room.set()
                self._job_room = None

    # --- a connection's life --------------------------------------------------------

    def run(self) -> None:
        try:
            self.serve()
        except gevent.GreenletExit:
            self.set_reason("shutdown")
        except Exception:
            log.exception("connection failed", extra=self.extra())
            self.set_reason("protocol_error")
        finally:
            self._finish()

    def flush_and_stop_writer(self) -> None:
        """What is queued (a refusal) is the last to go out: nothing queued after it is
        sent; the end of the connection waits ``close_timeout`` for it."""
        self._writes_stopped = True

    def _finish(self) -> None:
        cfg = self._config
        worker = self._worker
        flusher: gevent.Greenlet[Any, Any] | None = None
        try:
            if worker is not None:
                # Requests already received are still recorded (a stop record just before
                # the socket died is end-of-charge evidence) before the pile is announced
                # offline.
                worker.join(timeout=cfg.finish_timeout)
            self._ended = True
            flusher = self._flusher
            if flusher is not None:
                backlog = self._backlog
                if backlog is not None and len(backlog) >= cfg.write_queue_size:
                    flusher.kill(block=False)  # stuck on a pile that does not read
                flusher.join(timeout=cfg.close_timeout)
        except gevent.GreenletExit:  # the server's drain ran out of time
            self.set_reason("shutdown")
        finally:
            self._ended = True
            if worker is not None:
                worker.kill(block=False)
            if self._worker is not None:
                self._worker.kill(block=False)
            if flusher is not None:
                flusher.kill(block=False)
            if self._flusher is not None:
                self._flusher.kill(block=False)
            self.finished()
            self._announce_end(self._reason or "closed")

    def _announce_end(self, reason: str) -> None:
        registry = self._server.registry
        try:
            if self._claimed:
                with registry.lifecycle(self.pile_code):
                    self.closed(reason, announce=registry.release(self))
            else:
                self.closed(reason, announce=False)
        except Exception:
            log.exception("domain failed on disconnect", extra=self.extra())
        finally:
            self._server.forget(self)
            self.abort()
            self._sock.close()
        log.info("disconnected", extra=self.extra(reason=reason))


Conn = TypeVar("Conn", bound=Connection[Any])


class Server(Generic[Conn]):
    """An endpoint: ``start()`` and ``stop()`` run in the gevent hub that serves."""

    name: ClassVar[str]

    def __init__(
        self,
        events: PileEventHandler,
        registry: ConnectionRegistry | None,
        *,
        host: str,
        port: int,
        config: Any,
    ) -> None:
        self.events = events
        self.registry = registry if registry is not None else ConnectionRegistry()
        self.config = config
        self._listen = (host, port)
        self._pool: gevent.pool.Pool | None = None
        self._server: StreamServer | None = None
        self._connections: set[Conn] = set()
        self._stopped: gevent.event.Event | None = None

    # --- what a protocol supplies ---------------------------------------------------

    def accept(self, sock: GeventSocket, address: Any) -> Conn | None:
        """The connection for a new socket (``None``: refused, the socket is closed)."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Work done once before listening (OCPP: load the JSON schemas)."""

    def close_for_shutdown(self, conn: Conn) -> None:
        conn.close("shutdown")

    # --- shared ---------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when 0 was asked for)."""
        assert self._server is not None, "not started"
        host, port = self._server.socket.getsockname()[:2]
        return host, port

    def start(self) -> None:
        self.prepare()
        self.registry.bind_to_current_hub()
        self._stopped = gevent.event.Event()
        self._pool = gevent.pool.Pool(self.config.max_connections)
        self._server = StreamServer(self._listen, self._handle, spawn=self._pool)
        self._server.start()
        log.info(
            f"{self.name} endpoint listening", extra={"address": "{}:{}".format(*self.address)}
        )

    def serve_forever(self) -> None:
        if self._server is None:
            self.start()
        assert self._stopped is not None
        self._stopped.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """Bounded drain: stop accepting, close every connection, wait, then cut the rest;
        then let go of the registry (it forgets its hub when no endpoint holds it)."""
        if self._server is None or self._pool is None:
            return
        self._server.close()
        for conn in list(self._connections):
            self.close_for_shutdown(conn)
        self._pool.join(timeout=timeout)
        self._pool.kill(block=True, timeout=1)
        if self._stopped is None or not self._stopped.is_set():
            self.registry.unbind()  # once per start, however often stop is called
        if self._stopped is not None:
            self._stopped.set()
        log.info(f"{self.name} endpoint stopped", extra={"left": len(self._connections)})

    def forget(self, conn: Connection[Any]) -> None:
        self._connections.discard(conn)  # type: ignore[arg-type]

    def connection_count(self) -> int:
        return len(self._connections)

    def _handle(self, sock: GeventSocket, address: Any) -> None:
        try:
            conn = self.accept(sock, address)
        except BaseException:
            sock.close()
            raise
        if conn is None:
            sock.close()
            return
        self._connections.add(conn)
        conn.run()
