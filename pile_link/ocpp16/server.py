"""The OCPP 1.6J WebSocket endpoint: ``ws://HOST:PORT/ocpp/<pile_code>``, subprotocol ``ocpp1.6``.

The connection/server plumbing (reader, bounded writer, worker, registry, drain) is
:mod:`pile_link.transport`'s; this module adds the WebSocket part: the HTTP upgrade parsed
with h11 and the frames with wsproto (both sans-IO), pings, the closing handshake.

Refusals happen at the upgrade, before any domain event: a path that is not
``/ocpp/<code>`` → 404; no ``ocpp1.6`` among the offered subprotocols → 400; a pile the
domain does not know (``admit``) → 404; a wrong or missing password (HTTP
Basic, OCPP security profile 1) for a pile that has one → 401. TLS is terminated in front.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import http
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, cast
from urllib.parse import unquote

import gevent
import gevent.event
import gevent.pool
import h11
from gevent.socket import socket as GeventSocket
from wsproto.connection import Connection as WsProtocol
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

from app.catalogue.models import PileProtocol
from app.charging.port import Admission, CommandResult, PileDisconnected, PileEventHandler
from pile_link.ocpp16 import codec
from pile_link.ocpp16.session import OcppSession
from pile_link.registry import Command, ConnectionRegistry
from pile_link.server_thread import ServerThread
from pile_link.transport import Connection, Server, host_of, peer_of

log = logging.getLogger(__name__)

SUBPROTOCOL: Final = "ocpp1.6"
PATH_PREFIX: Final = "/ocpp/"
PILE_CODE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
_WS_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
_RECV_BYTES: Final = 65536
_MAX_HEADER_BYTES: Final = 16384


@dataclass(frozen=True, slots=True)
class WsConfig:
    """Limits and timers of the endpoint (seconds)."""

    # the heartbeat interval given to piles in BootNotification answers
    heartbeat_interval: int = 300
    # after this much silence the server sends a WebSocket ping (None: never)
    ping_interval: float | None = 60.0
    # no byte from the pile for this long (pings unanswered, no heartbeat) → offline
    read_timeout: float = 150.0
    handshake_timeout: float = 10.0
    # frames waiting for the socket; a pile that does not read for write_timeout is dropped
    write_queue_size: int = 64
    write_timeout: float = 10.0
    # requests waiting for the domain (a pile should have only one outstanding)
    work_queue_size: int = 8
    max_message_bytes: int = 1 << 20
    # wait for the pile's answer to our close frame
    close_timeout: float = 5.0
    # wait for the domain to finish a request after the pile has gone
    finish_timeout: float = 30.0
    max_connections: int = 20000
    # the socket's opening is announced with the BootNotification that follows within
    # this long (one PileConnected per connection instead of two); 0: at once
    connect_grace: float = 0.0

    def __post_init__(self) -> None:
        # Liveness: without pings, only heartbeats prove a quiet pile alive.
        floor = self.ping_interval if self.ping_interval else self.heartbeat_interval
        if self.read_timeout <= floor:
            raise ValueError(f"read_timeout must exceed {floor}s (ping or heartbeat interval)")


def _http_response(status: int, body: str = "", headers: Iterable[tuple[str, str]] = ()) -> bytes:
    payload = body.encode("utf-8")
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if status != 101:
        lines += [
            "Content-Type: text/plain; charset=utf-8",
            f"Content-Length: {len(payload)}",
            "Connection: close",
        ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class _Refused(Exception):
    def __init__(self, status: int, body: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(body)
        self.status = status
        self.body = body
        self.headers = list(headers)


def accept_token(key: bytes) -> str:
    return base64.b64encode(hashlib.sha1(key + _WS_GUID).digest()).decode("ascii")


def _header_values(request: h11.Request, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in request.headers if key == name]


def _tokens(request: h11.Request, name: bytes) -> list[str]:
    return [t.strip() for v in _header_values(request, name) for t in v.split(",") if t.strip()]


def pile_code_from_target(target: str) -> str | None:
    path = target.split("?", 1)[0]
    if not path.startswith(PATH_PREFIX):
        return None
    code = unquote(path[len(PATH_PREFIX) :]).rstrip("/")
    return code if PILE_CODE_RE.fullmatch(code) else None


def basic_password(request: h11.Request, pile_code: str) -> tuple[bool, str | None]:
    """(present, password) from ``Authorization: Basic``; the user must be the pile code."""
    values = _header_values(request, b"authorization")
    if not values:
        return False, None
    scheme, _, credentials = values[0].strip().partition(" ")
    if scheme.lower() != "basic":
        raise _Refused(401, "Basic authentication required", _CHALLENGE)
    try:
        raw = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _Refused(401, "malformed credentials", _CHALLENGE) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    user, sep, password = text.partition(":")
    if not sep or user != pile_code:
        raise _Refused(401, "wrong user", _CHALLENGE)
    return True, password


_CHALLENGE: Final = [("WWW-Authenticate", 'Basic realm="OCPP", charset="UTF-8"')]


class OcppConnection(Connection[codec.Call]):
    """One accepted pile connection over WebSocket, its :class:`OcppSession` the protocol."""

    protocol = "ocpp16"

    def __init__(
        self,
        server: OcppServer,
        sock: GeventSocket,
        address: Any,
        pile_code: str,
        trailing: bytes,
    ) -> None:
        super().__init__(server, sock, address)
        self._ws_config = server.config
        self._pile_code = pile_code
        self._ws = WsProtocol(ConnectionType.SERVER, trailing_data=trailing)
        self._recv_view = server.recv_view
        self._parts: list[str | bytes | bytearray] = []
        self._size = 0
        self._abort_timer: gevent.Greenlet[Any, Any] | None = None
        self.session = OcppSession(
            pile_code,
            server.events,
            self._send_text,
            heartbeat_interval=self._ws_config.heartbeat_interval,
            connect_grace=self._ws_config.connect_grace,
            admitted=True,  # by OcppServer._check_request, before this connection exists
        )

    @property
    def pile_code(self) -> str:
        return self._pile_code

    # --- PileLink -----------------------------------------------------------------------

    def execute(self, command: Command) -> CommandResult:
        method = getattr(self.session, command.name.value)
        result: CommandResult = method(**command.args, timeout=command.timeout)
        return result

    def close(self, reason: str, code: int = 1000) -> None:
        """Start the closing handshake; the socket is cut after ``close_timeout`` anyway."""
        self.set_reason(reason)
        if self._closing or self._ended:
            return
        self._closing = True
        log.info("closing", extra=self.extra(reason=reason))
        if not self.push(CloseConnection(code=code, reason=reason[:100])):
            self.abort()
        self._abort_timer = gevent.spawn_later(self._ws_config.close_timeout, self.abort)

    # --- the transport's hooks ----------------------------------------------------------

    def _send_text(self, text: str) -> bool:
        return self.queue(TextMessage(data=text))

    def encode(self, item: object) -> bytes | None:
        assert isinstance(item, Event)
        try:
            return self._ws.send(item)
        except LocalProtocolError:
            return None  # e.g. a late answer after the close frame

    def sent(self, item: object) -> None:
        if isinstance(item, CloseConnection) and self._ws.state is ConnectionState.CLOSED:
            self.abort()  # we answered the pile's close: the conversation is over

    def handle(self, job: codec.Call) -> None:
        self.session.handle_call(job)

    def work_queue_full(self, job: codec.Call) -> None:
        # a pile should have one request outstanding: wait a little, then give up on it
        if not self.submit_waiting(job, self._ws_config.write_timeout):
            log.warning("too many outstanding requests", extra=self.extra())
            self.close("protocol_error")

    def closed(self, reason: str, *, announce: bool) -> None:
        self.session.closed(reason, announce=announce)

    def finished(self) -> None:
        if self._abort_timer is not None:
            self._abort_timer.kill(block=False)

    # --- the reader ---------------------------------------------------------------------

    def serve(self) -> None:
        self._open()
        self._read_loop()

    def _open(self) -> None:
        with self._server.registry.lifecycle(self._pile_code):
            replaced = self.claim()
            log.info("connected", extra=self.extra(replaced=replaced))
            try:
                if replaced:
                    self.session.emit(
                        PileDisconnected(self._pile_code, self.session.now(), "replaced")
                    )
                self.session.opened()
            except Exception:
                log.exception("domain failed on connect", extra=self.extra())

    def _read_loop(self) -> None:
        cfg = self._ws_config
        poll = min(cfg.ping_interval, cfg.read_timeout) if cfg.ping_interval else cfg.read_timeout
        self._sock.settimeout(poll)
        last_rx = time.monotonic()
        while True:
            for event in self._ws.events():
                if not self._on_event(event):
                    return
            try:
                # into the server's one buffer (no switch before the copy): a 64 KiB
                # block allocated and shrunk per read fragmented the heap of thousands
                nbytes = self._sock.recv_into(self._recv_view)
            except TimeoutError:
                if time.monotonic() - last_rx >= cfg.read_timeout:
                    log.warning("pile silent: read timeout", extra=self.extra())
                    self.set_reason("heartbeat_timeout")
                    return
                if cfg.ping_interval:
                    self.queue(Ping(payload=b"liveness"))
                continue
            except OSError:
                self.set_reason("closed")
                return
            if not nbytes:
                self.set_reason("closed")
                return
            last_rx = time.monotonic()
            self._ws.receive_data(bytes(self._recv_view[:nbytes]))

    def _on_event(self, event: Event) -> bool:
        """Handle one WebSocket event; False when the conversation is over."""
        if isinstance(event, TextMessage | BytesMessage):
            self._parts.append(event.data)
            self._size += len(event.data)
            if self._size > self._ws_config.max_message_bytes:
                log.warning("message too big", extra=self.extra(size=self._size))
                self.close("protocol_error", code=1009)
                return False
            if event.message_finished:
                parts, self._parts, self._size = self._parts, [], 0
                if isinstance(event, TextMessage):
                    self._on_frame("".join(cast(list[str], parts)))
                else:
                    self._on_frame(b"".join(cast(list[bytes | bytearray], parts)))
            return True
        if isinstance(event, Ping):
            self.queue(event.response())
            return True
        if isinstance(event, Pong):
            return True
        if isinstance(event, CloseConnection):
            state = self._ws.state
            if state is ConnectionState.REMOTE_CLOSING:
                self.set_reason("closed")
                if not self.push(event.response()):
                    self.abort()
                return False
            if state is ConnectionState.OPEN:  # wsproto could not parse the stream
                log.warning(
                    "websocket protocol error",
                    extra=self.extra(code=event.code, error=event.reason),
                )
                self.close("protocol_error", code=event.code)
            return False
        return True

    def _on_frame(self, frame: str | bytes) -> None:
        call = self.session.receive(frame)
        if call is not None:
            self.submit(call)


class OcppServer(Server[OcppConnection]):
    """The OCPP 1.6J endpoint. ``start()`` and ``stop()`` run in the gevent hub that serves."""

    name = "ocpp"
    config: WsConfig

    def __init__(
        self,
        events: PileEventHandler,
        registry: ConnectionRegistry | None = None,
        *,
        host: str = "0.0.0.0",
        port: int = 8180,
        config: WsConfig | None = None,
    ) -> None:
        super().__init__(events, registry, host=host, port=port, config=config or WsConfig())
        # the readers' one receive buffer (they all run in the hub that serves)
        self.recv_view = memoryview(bytearray(_RECV_BYTES))

    def prepare(self) -> None:
        codec.load_schemas()

    def close_for_shutdown(self, conn: OcppConnection) -> None:
        conn.close("shutdown", code=1001)

    # --- per connection -----------------------------------------------------------------

    def accept(self, sock: GeventSocket, address: Any) -> OcppConnection | None:
        accepted = self._handshake(sock, address)
        if accepted is None:
            return None
        pile_code, trailing = accepted
        return OcppConnection(self, sock, address, pile_code, trailing)

    def _handshake(self, sock: GeventSocket, address: Any) -> tuple[str, bytes] | None:
        peer = peer_of(address)
        try:
            # the timer covers the socket only: fired inside the domain's lookup it would
            # break off a database query half-way
            with gevent.Timeout(self.config.handshake_timeout):
                got = self._read_request(sock)
            if got is None:
                return None
            request, trailing = got
            pile_code, key = self._check_request(request, address)
            with gevent.Timeout(self.config.handshake_timeout):
                sock.sendall(
                    _http_response(
                        101,
                        headers=[
                            ("Upgrade", "websocket"),
                            ("Connection", "Upgrade"),
                            ("Sec-WebSocket-Accept", accept_token(key)),
                            ("Sec-WebSocket-Protocol", SUBPROTOCOL),
                        ],
                    )
                )
            return pile_code, trailing
        except _Refused as refusal:
            log.warning(
                "upgrade refused",
                extra={"peer": peer, "status": refusal.status, "why": refusal.body},
            )
            self._send_quietly(sock, _http_response(refusal.status, refusal.body, refusal.headers))
        except gevent.Timeout:
            log.info("handshake timed out", extra={"peer": peer})
        except OSError:
            pass
        except Exception:
            log.exception("handshake failed", extra={"peer": peer})
        return None

    @staticmethod
    def _send_quietly(sock: GeventSocket, data: bytes) -> None:
        with contextlib.suppress(OSError):
            sock.sendall(data)

    @staticmethod
    def _read_request(sock: GeventSocket) -> tuple[h11.Request, bytes] | None:
        parser = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEADER_BYTES)
        request: h11.Request | None = None
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:
                raise _Refused(exc.error_status_hint, "bad HTTP request") from None
            if event is h11.NEED_DATA:
                parser.receive_data(sock.recv(_RECV_BYTES))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                # bytes after the request (frames sent without waiting for the 101)
                return request, bytes(parser.trailing_data[0])
            elif isinstance(event, h11.ConnectionClosed):
                return None

    def _check_request(self, request: h11.Request, address: Any) -> tuple[str, bytes]:
        if request.method != b"GET":
            raise _Refused(405, "GET only", [("Allow", "GET")])
        pile_code = pile_code_from_target(request.target.decode("latin-1"))
        if pile_code is None:
            raise _Refused(404, "not an OCPP endpoint: use /ocpp/<pile_code>")
        if "websocket" not in (
            t.lower() for t in _tokens(request, b"upgrade")
        ) or "upgrade" not in (t.lower() for t in _tokens(request, b"connection")):
            raise _Refused(400, "WebSocket upgrade expected")
        if _header_values(request, b"sec-websocket-version") != ["13"]:
            raise _Refused(426, "WebSocket version 13 only", [("Sec-WebSocket-Version", "13")])
        keys = _header_values(request, b"sec-websocket-key")
        try:
            key_ok = len(keys) == 1 and len(base64.b64decode(keys[0], validate=True)) == 16
        except (binascii.Error, ValueError):
            key_ok = False
        if not key_ok:
            raise _Refused(400, "bad Sec-WebSocket-Key")
        if SUBPROTOCOL not in _tokens(request, b"sec-websocket-protocol"):
            raise _Refused(400, f"subprotocol {SUBPROTOCOL} required")
        present, password = basic_password(request, pile_code)
        try:
            admission = self.events.admit(  # one lookup per upgrade
                pile_code,
                password,
                protocol=PileProtocol.OCPP16,
                address=host_of(address),
                replacing=self.registry.is_online(pile_code),
            )
        except Exception:
            log.exception("domain failed on upgrade", extra={"pile_code": pile_code})
            raise _Refused(503, "try again later") from None
        if admission is Admission.UNKNOWN_PILE:
            raise _Refused(404, f"unknown pile {pile_code}")
        if admission is Admission.NETWORK_NOT_ALLOWED:
            raise _Refused(403, "source address not allowed for this pile")
        if admission is Admission.REPLACEMENT_REFUSED:
            # the live connection stays; this one may come back with the pile's password
            raise _Refused(409, "pile already connected: credentials required to replace")
        if admission is not Admission.ADMITTED:
            raise _Refused(401, "wrong password" if present else "password required", _CHALLENGE)
        return pile_code, keys[0].encode("latin-1")


__all__ = ["OcppServer", "ServerThread", "WsConfig"]
