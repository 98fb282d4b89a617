"""The OCPP 1.6J WebSocket endpoint: ``ws://HOST:PORT/ocpp/<pile_code>``, subprotocol ``ocpp1.6``.

A gevent ``StreamServer`` spawns one greenlet per connection from a ``Pool`` (so a stop can
drain). The HTTP upgrade is parsed with h11 and the frames with wsproto (both sans-IO);
each connection then has a reader (this greenlet), a writer fed by a bounded queue and a
worker that handles the pile's requests one at a time, so that answers to our commands are
read even while the domain is busy with a request.

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
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, cast
from urllib.parse import unquote

import gevent
import gevent.event
import gevent.pool
import gevent.queue
import h11
from gevent.server import StreamServer
from gevent.socket import socket as GeventSocket
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

from app.charging.port import Admission, CommandResult, PileDisconnected, PileEventHandler
from pile_link.ocpp16 import codec
from pile_link.ocpp16.handler import OcppSession
from pile_link.registry import Command, ConnectionRegistry
from pile_link.server_thread import ServerThread

log = logging.getLogger(__name__)

SUBPROTOCOL: Final = "ocpp1.6"
PATH_PREFIX: Final = "/ocpp/"
PILE_CODE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
_WS_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
_RECV_BYTES: Final = 65536
_MAX_HEADER_BYTES: Final = 16384
_STOP: Final = object()


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
    call_queue_size: int = 8
    max_message_bytes: int = 1 << 20
    # wait for the pile's answer to our close frame
    close_timeout: float = 5.0
    # wait for the domain to finish a request after the pile has gone
    finish_timeout: float = 30.0
    max_connections: int = 20000

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


class OcppConnection:
    """One accepted pile connection: reader (the caller of :meth:`run`), writer, worker."""

    def __init__(
        self,
        server: OcppServer,
        sock: GeventSocket,
        address: Any,
        pile_code: str,
        trailing: bytes,
    ) -> None:
        self._server = server
        self._config = server.config
        self._sock = sock
        self._peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        self._pile_code = pile_code
        self._ws = Connection(ConnectionType.SERVER, trailing_data=trailing)
        self._out: gevent.queue.Queue[object] = gevent.queue.Queue(
            maxsize=self._config.write_queue_size
        )
        self._calls: gevent.queue.Queue[codec.Call | None] = gevent.queue.Queue(
            maxsize=self._config.call_queue_size
        )
        self._parts: list[str | bytes | bytearray] = []
        self._size = 0
        self._reason: str | None = None
        self._closing = False
        self._ended = False
        self._abort_timer: gevent.Greenlet[Any, Any] | None = None
        self.session = OcppSession(
            pile_code,
            server.events,
            self._send_text,
            heartbeat_interval=self._config.heartbeat_interval,
        )

    @property
    def pile_code(self) -> str:
        return self._pile_code

    def _extra(self, **fields: Any) -> dict[str, Any]:
        return {"pile_code": self._pile_code, "peer": self._peer, **fields}

    # --- PileLink -----------------------------------------------------------------------

    def execute(self, command: Command) -> CommandResult:
        method = getattr(self.session, command.name.value)
        result: CommandResult = method(**command.args, timeout=command.timeout)
        return result

    def close(self, reason: str, code: int = 1000) -> None:
        """Start the closing handshake; the socket is cut after ``close_timeout`` anyway."""
        if self._reason is None:
            self._reason = reason
        if self._closing or self._ended:
            return
        self._closing = True
        log.info("closing", extra=self._extra(reason=reason))
        try:
            self._out.put_nowait(CloseConnection(code=code, reason=reason[:100]))
        except gevent.queue.Full:
            self._abort()
        self._abort_timer = gevent.spawn_later(self._config.close_timeout, self._abort)

    # --- plumbing -----------------------------------------------------------------------

    def _send_text(self, text: str) -> bool:
        return self._queue(TextMessage(data=text))

    def _queue(self, event: Event) -> bool:
        if self._ended or self._closing:
            return False
        # no timer when there is room (nearly always): a gevent Timeout per frame adds up
        with contextlib.suppress(gevent.queue.Full):
            self._out.put_nowait(event)
            return True
        try:
            self._out.put(event, timeout=self._config.write_timeout)
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
                event = self._out.get()
                if event is _STOP:
                    return
                assert isinstance(event, Event)
                try:
                    data = self._ws.send(event)
                except LocalProtocolError:
                    continue  # e.g. a late answer after the close frame
                self._sock.sendall(data)
                if isinstance(event, CloseConnection) and self._ws.state is ConnectionState.CLOSED:
                    self._abort()  # we answered the pile's close: the conversation is over
        except OSError:
            self._abort()

    def _work_loop(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            self.session.handle_call(call)

    # --- the reader ---------------------------------------------------------------------

    def run(self) -> None:
        writer = gevent.spawn(self._write_loop)
        worker = gevent.spawn(self._work_loop)
        try:
            self._open()
            self._read_loop()
        except gevent.GreenletExit:
            self._set_reason("shutdown")
        except Exception:
            log.exception("connection failed", extra=self._extra())
            self._set_reason("protocol_error")
        finally:
            self._finish(writer, worker)

    def _set_reason(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason

    def _open(self) -> None:
        registry = self._server.registry
        with registry.lifecycle(self._pile_code):
            replaced = registry.claim(self)
            log.info("connected", extra=self._extra(replaced=replaced))
            try:
                if replaced:
                    self.session.emit(
                        PileDisconnected(self._pile_code, self.session.now(), "replaced")
                    )
                self.session.opened()
            except Exception:
                log.exception("domain failed on connect", extra=self._extra())

    def _read_loop(self) -> None:
        cfg = self._config
        poll = min(cfg.ping_interval, cfg.read_timeout) if cfg.ping_interval else cfg.read_timeout
        self._sock.settimeout(poll)
        last_rx = time.monotonic()
        while True:
            for event in self._ws.events():
                if not self._on_event(event):
                    return
            try:
                data = self._sock.recv(_RECV_BYTES)
            except TimeoutError:
                if time.monotonic() - last_rx >= cfg.read_timeout:
                    log.warning("pile silent: read timeout", extra=self._extra())
                    self._set_reason("heartbeat_timeout")
                    return
                if cfg.ping_interval:
                    self._queue(Ping(payload=b"liveness"))
                continue
            except OSError:
                self._set_reason("closed")
                return
            if not data:
                self._set_reason("closed")
                return
            last_rx = time.monotonic()
            self._ws.receive_data(data)

    def _on_event(self, event: Event) -> bool:
        """Handle one WebSocket event; False when the conversation is over."""
        if isinstance(event, TextMessage | BytesMessage):
            self._parts.append(event.data)
            self._size += len(event.data)
            if self._size > self._config.max_message_bytes:
                log.warning("message too big", extra=self._extra(size=self._size))
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
            self._queue(event.response())
            return True
        if isinstance(event, Pong):
            return True
        if isinstance(event, CloseConnection):
            state = self._ws.state
            if state is ConnectionState.REMOTE_CLOSING:
                self._set_reason("closed")
                try:
                    self._out.put_nowait(event.response())
                except gevent.queue.Full:
                    self._abort()
                return False
            if state is ConnectionState.OPEN:  # wsproto could not parse the stream
                log.warning(
                    "websocket protocol error",
                    extra=self._extra(code=event.code, error=event.reason),
                )
                self.close("protocol_error", code=event.code)
            return False
        return True

    def _on_frame(self, frame: str | bytes) -> None:
        call = self.session.receive(frame)
        if call is None:
            return
        with contextlib.suppress(gevent.queue.Full):
            self._calls.put_nowait(call)
            return
        try:
            self._calls.put(call, timeout=self._config.write_timeout)
        except gevent.queue.Full:
            log.warning("too many outstanding requests", extra=self._extra())
            self.close("protocol_error")

    def _finish(self, writer: gevent.Greenlet[Any, Any], worker: gevent.Greenlet[Any, Any]) -> None:
        cfg = self._config
        try:
            # Requests already received are still recorded (a StopTransaction just before
            # the socket died is end-of-charge evidence), before the pile is announced
            # offline.
            with contextlib.suppress(gevent.queue.Full):
                self._calls.put(None, timeout=cfg.finish_timeout)
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
            worker.kill(block=False)
            writer.kill(block=False)
            if self._abort_timer is not None:
                self._abort_timer.kill(block=False)
            self._announce_end(self._reason or "closed")

    def _announce_end(self, reason: str) -> None:
        registry = self._server.registry
        try:
            with registry.lifecycle(self._pile_code):
                announce = registry.release(self)
                self.session.closed(reason, announce=announce)
        except Exception:
            log.exception("domain failed on disconnect", extra=self._extra())
        finally:
            self._server.forget(self)
            self._sock.close()
        log.info("disconnected", extra=self._extra(reason=reason))


class OcppServer:
    """The OCPP 1.6J endpoint. ``start()`` and ``stop()`` run in the gevent hub that serves."""

    def __init__(
        self,
        events: PileEventHandler,
        registry: ConnectionRegistry | None = None,
        *,
        host: str = "0.0.0.0",
        port: int = 8180,
        config: WsConfig | None = None,
    ) -> None:
        self.events = events
        self.registry = registry if registry is not None else ConnectionRegistry()
        self.config = config or WsConfig()
        self._listen = (host, port)
        self._pool: gevent.pool.Pool | None = None
        self._server: StreamServer | None = None
        self._connections: set[OcppConnection] = set()
        self._stopped: gevent.event.Event | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when 0 was asked for)."""
        assert self._server is not None, "not started"
        host, port = self._server.socket.getsockname()[:2]
        return host, port

    def start(self) -> None:
        codec.load_schemas()
        self.registry.bind_to_current_hub()
        self._stopped = gevent.event.Event()
        self._pool = gevent.pool.Pool(self.config.max_connections)
        self._server = StreamServer(self._listen, self._handle, spawn=self._pool)
        self._server.start()
        log.info("ocpp endpoint listening", extra={"address": "{}:{}".format(*self.address)})

    def serve_forever(self) -> None:
        if self._server is None:
            self.start()
        assert self._stopped is not None
        self._stopped.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """Bounded drain: stop accepting, close every connection, wait, then cut the rest."""
        if self._server is None or self._pool is None:
            return
        self._server.close()
        for conn in list(self._connections):
            conn.close("shutdown", code=1001)
        self._pool.join(timeout=timeout)
        self._pool.kill(block=True, timeout=1)
        if len(self.registry) == 0:
            self.registry.unbind()
        if self._stopped is not None:
            self._stopped.set()
        log.info("ocpp endpoint stopped", extra={"left": len(self._connections)})

    def forget(self, conn: OcppConnection) -> None:
        self._connections.discard(conn)

    def connection_count(self) -> int:
        return len(self._connections)

    # --- per connection -----------------------------------------------------------------

    def _handle(self, sock: GeventSocket, address: Any) -> None:
        try:
            accepted = self._handshake(sock, address)
        except BaseException:
            sock.close()
            raise
        if accepted is None:
            sock.close()
            return
        pile_code, trailing = accepted
        conn = OcppConnection(self, sock, address, pile_code, trailing)
        self._connections.add(conn)
        conn.run()

    def _handshake(self, sock: GeventSocket, address: Any) -> tuple[str, bytes] | None:
        peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        try:
            # the timer covers the socket only: fired inside the domain's lookup it would
            # break off a database query half-way
            with gevent.Timeout(self.config.handshake_timeout):
                got = self._read_request(sock)
            if got is None:
                return None
            request, trailing = got
            pile_code, key = self._check_request(request)
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

    def _check_request(self, request: h11.Request) -> tuple[str, bytes]:
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
            admission = self.events.admit(pile_code, password)  # one lookup per upgrade
        except Exception:
            log.exception("domain failed on upgrade", extra={"pile_code": pile_code})
            raise _Refused(503, "try again later") from None
        if admission is Admission.UNKNOWN_PILE:
            raise _Refused(404, f"unknown pile {pile_code}")
        if admission is not Admission.ADMITTED:
            raise _Refused(401, "wrong password" if present else "password required", _CHALLENGE)
        return pile_code, keys[0].encode("latin-1")


__all__ = ["OcppServer", "ServerThread", "WsConfig"]
