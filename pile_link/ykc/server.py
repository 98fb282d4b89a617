"""The YKC v1.6 TCP endpoint (default port 8767): one connection per pile, frames of §3.1.

A gevent ``StreamServer`` spawns one greenlet per connection from a ``Pool`` (so a stop can
drain). Each connection has a reader (that greenlet: bytes → :class:`FrameDecoder` →
:class:`YkcSession`), a writer fed by a bounded queue, and a worker that runs the domain's
share of the pile's requests one at a time, so that replies to our commands and heartbeats
are handled even while the domain is busy.

Login first (§5.1 上电流程): until a 0x01 arrives nothing else is read; an unknown pile gets
a login failure and the socket is closed. A known pile takes its place in the shared
:class:`ConnectionRegistry` (replacing an older connection of the same pile) and only then
is announced online. Liveness is a read timeout: a pile heartbeats every 10 s (§6.3, "3次
未收到心跳包视为网络异常"), so ``read_timeout`` defaults to three missed heartbeats and a
margin. Bytes that never make a valid frame do not count as life; a peer that sends only
garbage is cut off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import time
from typing import Any, Final

import gevent
import gevent.event
import gevent.pool
import gevent.queue
from gevent.server import StreamServer
from gevent.socket import socket as GeventSocket

from app.charging.port import CommandOutcome, CommandResult, PileDisconnected, PileEventHandler
from pile_link.registry import Command, CommandName, ConnectionRegistry
from pile_link.server_thread import ServerThread
from pile_link.ykc.adapter import Job, PileMemory, SessionOptions, YkcSession
from pile_link.ykc.billing import DEFAULT_TARIFF
from pile_link.ykc.frame import Frame, FrameDecoder, FrameIssue
from pile_link.ykc.messages import Login

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 8767
_STOP: Final = object()


@dataclasses.dataclass(frozen=True, slots=True)
class YkcConfig:
    """Limits and timers of the endpoint (seconds, bytes, frames)."""

    # no valid frame for this long → offline ("heartbeat_timeout"); §6.3: 3 × 10 s + margin.
    # Keep it above the piles' heartbeat period (10 s unless configured otherwise).
    read_timeout: float = 35.0
    # a new connection must log in within this (§5.1: login is the first frame)
    login_timeout: float = 30.0
    # bytes discarded by the decoder without a valid frame in between → "protocol_error"
    garbage_limit: int = 16384
    # frames waiting for the socket; a pile that does not read for write_timeout is dropped
    write_queue_size: int = 64
    write_timeout: float = 10.0
    # requests waiting for the domain; beyond that new ones are dropped (the pile repeats
    # what matters: records until confirmed §8.7, billing-model requests until answered)
    work_queue_size: int = 128
    # wait for the domain to finish received requests after the pile has gone
    finish_timeout: float = 30.0
    # wait for the writer to flush (a login refusal) before the socket is cut
    close_timeout: float = 2.0
    recv_bytes: int = 4096
    max_connections: int = 20000
    # the billing model of a pile whose station has no tariff and got none pushed
    default_tariff: dict[str, Any] = dataclasses.field(default_factory=lambda: dict(DEFAULT_TARIFF))
    # §8.2 item 5: the balance a card/password start shows when the domain gives none
    card_balance_fallback_fen: int = 0


def _peer(address: Any) -> str:
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)


class YkcConnection:
    """One pile's TCP connection: reader (the caller of :meth:`run`), writer, worker.

    Implements the registry's ``PileLink`` once the pile has logged in.
    """

    def __init__(self, server: YkcServer, sock: GeventSocket, address: Any) -> None:
        self._server = server
        self._config = server.config
        self._sock = sock
        self._peer = _peer(address)
        self._decoder = FrameDecoder()
        self._out: gevent.queue.Queue[object] = gevent.queue.Queue(
            maxsize=self._config.write_queue_size
        )
        self._jobs: gevent.queue.Queue[Job | None] = gevent.queue.Queue(
            maxsize=self._config.work_queue_size
        )
        self._worker: gevent.Greenlet[Any, Any] | None = None
        self._reason: str | None = None
        self._claimed = False
        self._ended = False
        self._dropped = 0
        self.session = YkcSession(
            server.events,
            self._send,
            peer=self._peer,
            options=SessionOptions(
                default_tariff=self._config.default_tariff,
                card_balance_fallback_fen=self._config.card_balance_fallback_fen,
            ),
            memory=server.memory,
        )

    # --- PileLink -----------------------------------------------------------------------

    @property
    def pile_code(self) -> str:
        return self.session.pile_code or ""

    def execute(self, command: Command) -> CommandResult:
        if command.name not in _COMMANDS:
            return CommandResult(CommandOutcome.NOT_SUPPORTED, f"unknown command {command.name}")
        method = getattr(self.session, CommandName(command.name).value)
        result: CommandResult = method(**command.args, timeout=command.timeout)
        return result

    def close(self, reason: str) -> None:
        """Cut the connection (never blocks); the reader sees EOF and winds down."""
        if self._reason is None:
            self._reason = reason
        log.info("closing", extra=self._extra(reason=reason))
        self._abort()

    # --- plumbing -----------------------------------------------------------------------

    def _extra(self, **fields: Any) -> dict[str, Any]:
        return {
            "pile_code": self.session.pile_code,
            "protocol": "ykc",
            "peer": self._peer,
            **fields,
        }

    def _set_reason(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason

    def _send(self, data: bytes) -> bool:
        if self._ended:
            return False
        try:
            self._out.put(data, timeout=self._config.write_timeout)
        except gevent.queue.Full:
            log.warning("pile does not read: write queue full", extra=self._extra())
            self.close("heartbeat_timeout")
            return False
        return True

    def _abort(self) -> None:
        """Cut the TCP connection; a reader blocked in recv() sees EOF at once."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def _write_loop(self) -> None:
        try:
            while True:
                data = self._out.get()
                if data is _STOP:
                    return
                assert isinstance(data, bytes)
                self._sock.sendall(data)
        except OSError:
            self._abort()

    def _work_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self.session.run(job)

    # --- the reader ---------------------------------------------------------------------

    def run(self) -> None:
        writer = gevent.spawn(self._write_loop)
        try:
            self._read_loop()
        except gevent.GreenletExit:
            self._set_reason("shutdown")
        except Exception:
            log.exception("connection failed", extra=self._extra())
            self._set_reason("protocol_error")
        finally:
            self._finish(writer)

    def _read_loop(self) -> None:
        cfg = self._config
        login_deadline = time.monotonic() + cfg.login_timeout
        last_frame = time.monotonic()
        garbage_since_frame = 0
        while self._reason is None:
            logged_in = self.session.pile_code is not None
            deadline = last_frame + cfg.read_timeout if logged_in else login_deadline
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if not logged_in:
                    log.warning("no login in time", extra=self._extra())
                    self._set_reason("protocol_error")
                elif garbage_since_frame:
                    log.warning("only garbage: read timeout", extra=self._extra())
                    self._set_reason("protocol_error")
                else:
                    log.warning("pile silent: heartbeat timeout", extra=self._extra())
                    self._set_reason("heartbeat_timeout")
                return
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(cfg.recv_bytes)
            except TimeoutError:
                continue
            except OSError:
                self._set_reason("closed")
                return
            if not data:
                self._set_reason("closed")
                return
            discarded = self._decoder.bytes_discarded
            frames = self._decoder.feed(data)
            self._log_issues(self._decoder.take_issues())
            if frames:
                last_frame = time.monotonic()
                garbage_since_frame = 0
            garbage_since_frame += self._decoder.bytes_discarded - discarded
            for frame in frames:
                if not self._on_frame(frame):
                    return
            if garbage_since_frame > cfg.garbage_limit:
                log.warning("too much garbage", extra=self._extra(discarded=garbage_since_frame))
                self._set_reason("protocol_error")
                return

    def _log_issues(self, issues: list[FrameIssue]) -> None:
        if not issues:
            return
        kinds: dict[str, int] = {}
        for issue in issues:
            kinds[issue.kind] = kinds.get(issue.kind, 0) + 1
        log.warning(
            "malformed bytes discarded",
            extra=self._extra(issues=kinds, first=issues[0].data[:64].hex()),
        )

    def _on_frame(self, frame: Frame) -> bool:
        """Handle one frame; False when the conversation is over."""
        if frame.crc_high_first:
            log.debug("CRC high byte first", extra=self._extra(frame_type=frame.frame_type))
        if self.session.pile_code is None:
            return self._before_login(frame)
        job = self.session.receive(frame)
        if job is not None:
            try:
                self._jobs.put_nowait(job)
            except gevent.queue.Full:
                self._dropped += 1
                log.warning(
                    "domain too slow: frame dropped",
                    extra=self._extra(
                        frame_type=f"0x{frame.frame_type:02X}", dropped=self._dropped
                    ),
                )
        return True

    def _before_login(self, frame: Frame) -> bool:
        msg = self.session.decode(frame) if frame.frame_type == Login.FRAME_TYPE else None
        if not isinstance(msg, Login):
            log.info(
                "frame before login ignored",
                extra=self._extra(frame_type=f"0x{frame.frame_type:02X}"),
            )
            return True
        return self._login(frame, msg)

    def _login(self, frame: Frame, msg: Login) -> bool:
        """§6.1/§6.2: refuse unknown piles; claim the registry slot, announce, answer."""
        try:
            registered = self.session.is_registered(msg.pile_code)
        except Exception:
            log.exception("domain failed on login", extra=self._extra(login=msg.pile_code))
            self._set_reason("closed")
            return False
        if not registered:
            self.session.refuse_login(frame, msg, "unknown pile")
            self._set_reason("closed")
            self._flush_and_close()
            return False
        registry = self._server.registry
        with registry.lifecycle(msg.pile_code):
            self.session.pile_code = msg.pile_code  # the link's key in the registry
            replaced = registry.claim(self)
            self._claimed = True
            log.info("connected", extra=self._extra(replaced=replaced))
            try:
                if replaced:
                    self.session.emit(
                        PileDisconnected(msg.pile_code, self.session.now(), "replaced")
                    )
                accepted = self.session.open(frame, msg)
            except Exception:
                log.exception("domain failed on login", extra=self._extra())
                accepted = False
        if not accepted:
            self._set_reason("closed")
            self._flush_and_close()
            return False
        self._worker = gevent.spawn(self._work_loop)
        return True

    def _flush_and_close(self) -> None:
        """Let the writer send what is queued (a login refusal), then cut the socket."""
        with contextlib.suppress(gevent.queue.Full):
            self._out.put(_STOP, timeout=self._config.close_timeout)

    def _finish(self, writer: gevent.Greenlet[Any, Any]) -> None:
        cfg = self._config
        worker = self._worker
        try:
            if worker is not None:
                # Requests already received are still recorded (a transaction record just
                # before the socket died is end-of-charge evidence) before the pile is
                # announced offline.
                with contextlib.suppress(gevent.queue.Full):
                    self._jobs.put(None, timeout=cfg.finish_timeout)
                worker.join(timeout=cfg.finish_timeout)
            self._ended = True
            try:
                self._out.put_nowait(_STOP)
            except gevent.queue.Full:
                writer.kill(block=False)
            writer.join(timeout=cfg.close_timeout)
        except gevent.GreenletExit:  # the server's drain ran out of time
            self._set_reason("shutdown")
        finally:
            self._ended = True
            if worker is not None:
                worker.kill(block=False)
            writer.kill(block=False)
            self._announce_end(self._reason or "closed")

    def _announce_end(self, reason: str) -> None:
        registry = self._server.registry
        try:
            if self._claimed:
                with registry.lifecycle(self.pile_code):
                    announce = registry.release(self)
                    self.session.closed(reason, announce=announce)
            else:
                self.session.closed(reason, announce=False)
        except Exception:
            log.exception("domain failed on disconnect", extra=self._extra())
        finally:
            self._server.forget(self)
            self._abort()
            self._sock.close()
        log.info("disconnected", extra=self._extra(reason=reason))


_COMMANDS: Final = frozenset(CommandName)


class YkcServer:
    """The YKC v1.6 endpoint. ``start()`` and ``stop()`` run in the gevent hub that serves.

    Share the ``registry`` with the OCPP endpoint and start both in the same hub, so that
    one ``LocalCommandPort`` reaches piles of either protocol.
    """

    def __init__(
        self,
        events: PileEventHandler,
        registry: ConnectionRegistry | None = None,
        *,
        host: str = "0.0.0.0",
        port: int = DEFAULT_PORT,
        config: YkcConfig | None = None,
    ) -> None:
        self.events = events
        self.registry = registry if registry is not None else ConnectionRegistry()
        self.config = config or YkcConfig()
        self._listen = (host, port)
        self._pool: gevent.pool.Pool | None = None
        self._server: StreamServer | None = None
        self._connections: set[YkcConnection] = set()
        self._memory: dict[str, PileMemory] = {}
        self._stopped: gevent.event.Event | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when 0 was asked for)."""
        assert self._server is not None, "not started"
        host, port = self._server.socket.getsockname()[:2]
        return host, port

    def memory(self, pile_code: str) -> PileMemory:
        return self._memory.setdefault(pile_code, PileMemory())

    def start(self) -> None:
        self.registry.bind_to_current_hub()
        self._stopped = gevent.event.Event()
        self._pool = gevent.pool.Pool(self.config.max_connections)
        self._server = StreamServer(self._listen, self._handle, spawn=self._pool)
        self._server.start()
        log.info("ykc endpoint listening", extra={"address": "{}:{}".format(*self.address)})

    def serve_forever(self) -> None:
        if self._server is None:
            self.start()
        assert self._stopped is not None
        self._stopped.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """Bounded drain: stop accepting, close every connection, wait, then kill the rest."""
        if self._server is None or self._pool is None:
            return
        self._server.close()
        for conn in list(self._connections):
            conn.close("shutdown")
        self._pool.join(timeout=timeout)
        self._pool.kill(block=True, timeout=1)
        if self._stopped is not None:
            self._stopped.set()
        log.info("ykc endpoint stopped", extra={"left": len(self._connections)})

    def forget(self, conn: YkcConnection) -> None:
        self._connections.discard(conn)

    def connection_count(self) -> int:
        return len(self._connections)

    def _handle(self, sock: GeventSocket, address: Any) -> None:
        try:
            conn = YkcConnection(self, sock, address)
        except BaseException:
            sock.close()
            raise
        self._connections.add(conn)
        log.info("accepted", extra={"peer": _peer(address), "protocol": "ykc"})
        conn.run()


class YkcServerThread(ServerThread):
    """A :class:`YkcServer` in its own OS thread and gevent hub (tests, unpatched
    processes). The registry binds to one hub: run the OCPP endpoint in the same hub, or
    give each its own registry."""

    def __init__(self, server: YkcServer, *, drain_timeout: float = 5.0) -> None:
        super().__init__(server, name="ykc-tcp", drain_timeout=drain_timeout)
