"""The embedded HTTP server closes idle and slow clients (issue 15 #12): a connection that
sends nothing, a slowloris that trickles its headers, a kept-alive connection left idle;
a prompt client is served as before."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from app.server import TimedServer, make_server
from pile_link.server_thread import ServerThread
from tests.support.settings import BASE_CONFIG
from wsgi import compose


class _Http:
    """The server made in its own thread's hub (its connection pool belongs to that hub)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server: TimedServer | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self.server is not None
        return ("127.0.0.1", self.server.server_port)

    def start(self) -> None:
        self.server = make_server(self.app, "127.0.0.1", 0)
        self.server.start()

    def stop(self, timeout: float = 10.0) -> None:
        assert self.server is not None
        self.server.stop(timeout)


@pytest.fixture
def http_port() -> Iterator[int]:
    app: Flask = compose(
        {**BASE_CONFIG, "DATABASE_URL": "sqlite://", "HTTP_HEADER_TIMEOUT_SECONDS": 0.5,
         "HTTP_IDLE_TIMEOUT_SECONDS": 0.8, "HTTP_IO_TIMEOUT_SECONDS": 1}
    )  # fmt: skip
    thread = ServerThread(_Http(app), name="http-test", drain_timeout=1)
    _, port = thread.start()
    try:
        yield port
    finally:
        thread.stop()


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    sock.settimeout(seconds)
    got = b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
        return True, got
    except TimeoutError:
        return False, got


def test_a_connection_that_sends_nothing_is_closed(http_port: int) -> None:
    with socket.create_connection(("127.0.0.1", http_port)) as sock:
        began = time.monotonic()
        closed, _ = _closed_within(sock, 5)
        assert closed and time.monotonic() - began < 3


def test_a_slowloris_trickling_its_headers_gets_408_and_is_closed(http_port: int) -> None:
    with socket.create_connection(("127.0.0.1", http_port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        began = time.monotonic()
        for n in range(10):  # one header every 0.2 s, never the blank line
            try:
                sock.sendall(f"X-Slow-{n}: 1\r\n".encode())
            except OSError:
                break
            time.sleep(0.2)
        closed, got = _closed_within(sock, 5)
        assert closed and got.startswith(b"HTTP/1.1 408")
        assert time.monotonic() - began < 4


def test_a_prompt_client_is_served_and_an_idle_keep_alive_is_then_closed(http_port: int) -> None:
    with socket.create_connection(("127.0.0.1", http_port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        first = b""
        while b'"ok"' not in first:  # headers and body may come in separate packets
            chunk = sock.recv(4096)
            assert chunk, first
            first += chunk
        assert first.startswith(b"HTTP/1.1 200")
        began = time.monotonic()
        closed, _ = _closed_within(sock, 5)
        assert closed and 0.5 < time.monotonic() - began < 3
