"""The HTTP server of the embedded single process (API + console + docs on gevent).

``wsgi.py`` composes the process: it starts the pile link and the scheduler and hands
their stop functions here, so SIGTERM drains everything within a bound.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Sequence

import gevent
import gevent.event
import gevent.pool
from flask import Flask
from gevent.pywsgi import WSGIHandler, WSGIServer

log = logging.getLogger(__name__)


class _HeadersTooSlow(Exception):
    """The request line and headers did not arrive within the header timeout."""


_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class TimedHandler(WSGIHandler):
    """Closes idle and slow clients (issue 15 #12: 200 idle and 300 slowloris connections
    were held for good, sharing the process's file limit with the piles).

    * a new connection must send its request line and headers within ``header_timeout``;
    * a kept-alive connection may wait ``idle_timeout`` for its next request, then has
      ``header_timeout`` for the headers;
    * every read and write of a body waits at most ``io_timeout`` (a stalled upload)."""

    server: TimedServer

    def handle(self) -> None:
        self.socket.settimeout(self.server.io_timeout)
        self._requests = 0
        super().handle()

    def read_requestline(self) -> str | None:
        if self.server.closing:
            return None  # shutting down: no next request on a kept-alive connection
        first = self._requests == 0
        self._requests += 1
        wait = self.server.header_timeout if first else self.server.idle_timeout
        self.server.waiting.add(self)
        try:
            with gevent.Timeout(wait):
                line: str | None = super().read_requestline()
                return line
        except gevent.Timeout:
            return None  # nothing came: close quietly
        finally:
            self.server.waiting.discard(self)

    def read_request(self, raw_requestline: str) -> bool:
        with gevent.Timeout(self.server.header_timeout, _HeadersTooSlow):
            ok: bool = super().read_request(raw_requestline)
            return ok

    def _handle_client_error(self, ex: Exception) -> tuple[str, bytes]:
        if isinstance(ex, _HeadersTooSlow):
            return ("408", _TIMED_OUT)
        result: tuple[str, bytes] = super()._handle_client_error(ex)
        return result


class TimedServer(WSGIServer):
    handler_class = TimedHandler

    def __init__(self, *args: object, timeouts: tuple[float, float, float], **kw: object):
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.header_timeout, self.idle_timeout, self.io_timeout = timeouts
        # connections waiting for a request line: nothing in flight, closed at shutdown
        # (a browser's idle kept-alive connection held the drain for its whole 10 s)
        self.waiting: set[TimedHandler] = set()
        self.closing = False

    def close(self) -> None:
        super().close()
        self.closing = True
        for handler in list(self.waiting):
            with contextlib.suppress(OSError):
                handler.socket.shutdown(socket.SHUT_RDWR)


def make_server(app: Flask, host: str, port: int) -> TimedServer:
    cfg = app.config
    return TimedServer(
        (host, port),
        app,
        log=None,
        error_log=log,
        spawn=gevent.pool.Pool(int(cfg["HTTP_MAX_CONNECTIONS"])),
        timeouts=(
            float(cfg["HTTP_HEADER_TIMEOUT_SECONDS"]),
            float(cfg["HTTP_IDLE_TIMEOUT_SECONDS"]),
            float(cfg["HTTP_IO_TIMEOUT_SECONDS"]),
        ),
    )


def banner(app: Flask, extra: Sequence[str] = ()) -> list[str]:
    """What a person starting the server needs to see: where everything is, the demo
    logins; ``extra`` lines (the pile link's ports, the jobs) come after the URLs."""
    host, port = app.config["HTTP_HOST"], int(app.config["HTTP_PORT"])
    base = f"http://{host}:{port}"
    lines = [
        f"运营后台  {base}/admin/",
        f"API 文档  {base}/api/docs",
        f"健康检查  {base}/healthz  {base}/readyz  {base}/metrics",
    ]
    if app.config.get("DEMO_MODE"):
        lines.append("演示登录  admin / admin123（平台）  yc_admin / yc123456  kc_admin / kc123456")
        if app.config.get("WECHAT_SANDBOX"):
            lines.append(f"司机 H5   {base}/h5/  （微信沙箱里选一位演示车主登录）")
    return lines + list(extra)


# how long the start-up jobs may take before the banner is printed anyway
READY_WAIT_SECONDS = 15.0


def serve(
    app: Flask,
    stops: Sequence[Callable[[], None]] = (),
    ready: Sequence[Callable[[], None]] = (),
    extra_banner: Sequence[str] = (),
) -> None:
    """Serve until SIGTERM or SIGINT, then stop the HTTP server (a bounded drain) and each
    of ``stops`` in order, and return. Each of ``ready`` runs in a greenlet once the
    socket listens (the demo downloads its platform key from the sandbox this server
    serves). The banner is printed last, once those have run (issue 14: it scrolled away
    under the start-up's log lines)."""
    host, port = app.config["HTTP_HOST"], int(app.config["HTTP_PORT"])
    server = make_server(app, host, port)
    asked = gevent.event.Event()
    # the signal only asks: the main greenlet stops everything and only then returns (the
    # handler's own greenlet died with the process when serve_forever returned first, so
    # the pile link, the demo piles and the scheduler were never stopped)
    gevent.signal_handler(signal.SIGTERM, asked.set)
    gevent.signal_handler(signal.SIGINT, asked.set)
    server.start()
    started = [gevent.spawn(job) for job in ready]
    gevent.joinall(started, timeout=READY_WAIT_SECONDS)
    print("\n".join(banner(app, extra_banner)), flush=True)
    asked.wait()
    log.info("shutting down", extra={"drain_seconds": 10})
    gevent.killall([g for g in started if not g.dead], timeout=1)
    server.stop(timeout=10)
    for stop in stops:
        try:
            stop()
        except Exception:
            log.exception("stop failed")
    log.info("stopped")
