"""The YKC v1.6 TCP endpoint (default port 8767): one connection per pile, frames of §3.1.

The connection/server plumbing (reader, bounded writer, worker, registry, drain) is
:mod:`pile_link.transport`'s; this module adds YKC's part: bytes → :class:`FrameDecoder` →
:class:`YkcSession`, the login that must come first, liveness by valid frames.

Login first (§5.1 上电流程): until a 0x01 arrives nothing else is read; an unknown pile gets
a login failure and the socket is closed. A known pile takes its place in the shared
:class:`ConnectionRegistry` (replacing an older connection of the same pile) and only then
is announced online. Liveness is a read timeout: a pile heartbeats every 10 s (§6.3, "3次
未收到心跳包视为网络异常"), so ``read_timeout`` defaults to three missed heartbeats and a
margin. Bytes that never make a valid frame do not count as life; a peer that sends only
garbage is cut off.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Final

from gevent.socket import socket as GeventSocket

from app.charging.port import (
    Admission,
    CommandOutcome,
    CommandResult,
    PileDisconnected,
    PileEventHandler,
)
from pile_link.registry import Command, CommandName, ConnectionRegistry
from pile_link.server_thread import ServerThread
from pile_link.transport import Connection, Server, peer_of
from pile_link.ykc.billing import DEFAULT_TARIFF
from pile_link.ykc.frame import Frame, FrameDecoder, FrameIssue
from pile_link.ykc.messages import Login
from pile_link.ykc.session import Job, PileMemory, SessionOptions, YkcSession

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 8767


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


class YkcConnection(Connection[Job]):
    """One pile's TCP connection; the registry's ``PileLink`` once the pile has logged in."""

    protocol = "ykc"

    def __init__(self, server: YkcServer, sock: GeventSocket, address: Any) -> None:
        super().__init__(server, sock, address)
        self._ykc_config = server.config
        self._decoder = FrameDecoder()
        self._dropped = 0
        self._frame_type = 0  # of the frame being handed to the worker
        self.session = YkcSession(
            server.events,
            self.queue,
            peer=self._peer,
            options=server.session_options,  # one for all the server's connections
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

    # --- the transport's hooks ----------------------------------------------------------

    def handle(self, job: Job) -> None:
        self.session.run(job)

    def work_queue_full(self, job: Job) -> None:
        # dropped: the pile repeats what matters (records until confirmed §8.7, billing
        # model requests until answered)
        self._dropped += 1
        log.warning(
            "domain too slow: frame dropped",
            extra=self.extra(frame_type=f"0x{self._frame_type:02X}", dropped=self._dropped),
        )

    def closed(self, reason: str, *, announce: bool) -> None:
        self.session.closed(reason, announce=announce)

    # --- the reader ---------------------------------------------------------------------

    def serve(self) -> None:
        cfg = self._ykc_config
        login_deadline = time.monotonic() + cfg.login_timeout
        last_frame = time.monotonic()
        garbage_since_frame = 0
        while self._reason is None:
            logged_in = self.session.pile_code is not None
            deadline = last_frame + cfg.read_timeout if logged_in else login_deadline
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if not logged_in:
                    log.warning("no login in time", extra=self.extra())
                    self.set_reason("protocol_error")
                elif garbage_since_frame:
                    log.warning("only garbage: read timeout", extra=self.extra())
                    self.set_reason("protocol_error")
                else:
                    log.warning("pile silent: heartbeat timeout", extra=self.extra())
                    self.set_reason("heartbeat_timeout")
                return
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(cfg.recv_bytes)
            except TimeoutError:
                continue
            except OSError:
                self.set_reason("closed")
                return
            if not data:
                self.set_reason("closed")
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
                log.warning("too much garbage", extra=self.extra(discarded=garbage_since_frame))
                self.set_reason("protocol_error")
                return

    def _log_issues(self, issues: list[FrameIssue]) -> None:
        if not issues:
            return
        kinds: dict[str, int] = {}
        for issue in issues:
            kinds[issue.kind] = kinds.get(issue.kind, 0) + 1
        log.warning(
            "malformed bytes discarded",
            extra=self.extra(issues=kinds, first=issues[0].data[:64].hex()),
        )

    def _on_frame(self, frame: Frame) -> bool:
        """Handle one frame; False when the conversation is over."""
        if frame.crc_high_first:
            log.debug("CRC high byte first", extra=self.extra(frame_type=frame.frame_type))
        if self.session.pile_code is None:
            return self._before_login(frame)
        job = self.session.receive(frame)
        if job is not None:
            self._frame_type = frame.frame_type
            self.submit(job)
        return True

    def _before_login(self, frame: Frame) -> bool:
        msg = self.session.decode(frame) if frame.frame_type == Login.FRAME_TYPE else None
        if not isinstance(msg, Login):
            log.info(
                "frame before login ignored",
                extra=self.extra(frame_type=f"0x{frame.frame_type:02X}"),
            )
            return True
        return self._login(frame, msg)

    def _login(self, frame: Frame, msg: Login) -> bool:
        """§6.1/§6.2: refuse unknown piles; claim the registry slot, announce, answer."""
        try:
            admission = self.session.admit(
                msg.pile_code,
                address=self.host,
                replacing=self._server.registry.is_online(msg.pile_code),
            )
        except Exception:
            log.exception("domain failed on login", extra=self.extra(login=msg.pile_code))
            self.set_reason("closed")
            return False
        if admission is not Admission.ADMITTED:
            self.session.refuse_login(frame, msg, admission.value)
            self.set_reason("closed")
            self.flush_and_stop_writer()
            return False
        with self._server.registry.lifecycle(msg.pile_code):
            self.session.pile_code = msg.pile_code  # the link's key in the registry
            replaced = self.claim()
            log.info("connected", extra=self.extra(replaced=replaced))
            try:
                if replaced:
                    self.session.emit(
                        PileDisconnected(msg.pile_code, self.session.now(), "replaced")
                    )
                accepted = self.session.open(frame, msg)
            except Exception:
                log.exception("domain failed on login", extra=self.extra())
                accepted = False
        if not accepted:
            self.set_reason("closed")
            self.flush_and_stop_writer()
            return False
        self.start_worker()
        return True


_COMMANDS: Final = frozenset(CommandName)


class YkcServer(Server[YkcConnection]):
    """The YKC v1.6 endpoint. ``start()`` and ``stop()`` run in the gevent hub that serves.

    Share the ``registry`` with the OCPP endpoint and start both in the same hub, so that
    one ``LocalCommandPort`` reaches piles of either protocol.
    """

    name = "ykc"
    config: YkcConfig

    def __init__(
        self,
        events: PileEventHandler,
        registry: ConnectionRegistry | None = None,
        *,
        host: str = "0.0.0.0",
        port: int = DEFAULT_PORT,
        config: YkcConfig | None = None,
    ) -> None:
        super().__init__(events, registry, host=host, port=port, config=config or YkcConfig())
        self._memory: dict[str, PileMemory] = {}
        self.session_options = SessionOptions(
            default_tariff=self.config.default_tariff,
            card_balance_fallback_fen=self.config.card_balance_fallback_fen,
        )

    def memory(self, pile_code: str) -> PileMemory:
        return self._memory.setdefault(pile_code, PileMemory())

    def accept(self, sock: GeventSocket, address: Any) -> YkcConnection:
        log.info("accepted", extra={"peer": peer_of(address), "protocol": "ykc"})
        return YkcConnection(self, sock, address)


class YkcServerThread(ServerThread):
    """A :class:`YkcServer` in its own OS thread and gevent hub (tests, unpatched
    processes). The registry binds to one hub: run the OCPP endpoint in the same hub, or
    give each its own registry."""

    def __init__(self, server: YkcServer, *, drain_timeout: float = 5.0) -> None:
        super().__init__(server, name="ykc-tcp", drain_timeout=drain_timeout)
