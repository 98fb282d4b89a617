"""The transport both endpoints share (pile_link/transport.py): the registry's hub binding
survives either stop order, and a stop is idempotent; a connection's worker exists only
while requests are pending and runs them in order; frames go straight to the socket,
and wait in order behind the ones it did not take; a pile that does not read is dropped."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import gevent
import gevent.socket
import pytest

from pile_link.ocpp16.server import OcppServer
from pile_link.registry import ConnectionRegistry
from pile_link.transport import Connection, Server
from pile_link.ykc.server import YkcServer


def _pair(registry: ConnectionRegistry) -> dict[str, Server[Any]]:
    events: Any = object()  # no pile connects: the domain is never asked
    return {
        "ocpp": OcppServer(events, registry, host="127.0.0.1", port=0),
        "ykc": YkcServer(events, registry, host="127.0.0.1", port=0),
    }


@pytest.mark.parametrize("first, second", [("ocpp", "ykc"), ("ykc", "ocpp")])
def test_endpoints_sharing_a_registry_stop_in_either_order(first: str, second: str) -> None:
    registry = ConnectionRegistry()
    servers = _pair(registry)
    for server in servers.values():
        server.start()
    servers[first].stop(timeout=1)
    # the endpoint still serving keeps the hub: commands from other threads still reach it
    assert registry._hub is not None
    servers[second].stop(timeout=1)
    assert registry._hub is None and registry._hub_thread is None


def test_a_second_stop_does_not_let_go_of_the_registry_twice() -> None:
    registry = ConnectionRegistry()
    servers = _pair(registry)
    for server in servers.values():
        server.start()
    servers["ocpp"].stop(timeout=1)
    servers["ocpp"].stop(timeout=1)
    assert registry._hub is not None  # YKC still holds it
    servers["ykc"].stop(timeout=1)
    assert registry._hub is None


def test_the_registry_forgets_its_hub_only_when_no_endpoint_holds_it() -> None:
    registry = ConnectionRegistry()
    registry.bind_to_current_hub()
    registry.bind_to_current_hub()
    registry.unbind()
    assert registry._hub is not None
    registry.unbind()
    assert registry._hub is None
    registry.unbind()  # one too many changes nothing
    registry.bind_to_current_hub()
    assert registry._hub is not None


# --- one connection's output and worker, on a socket pair in this thread's hub ------------


@dataclass(frozen=True)
class _Limits:
    write_queue_size: int = 64
    write_timeout: float = 1.0
    work_queue_size: int = 8
    finish_timeout: float = 1.0
    close_timeout: float = 1.0
    max_connections: int = 10


class _Conn(Connection[int]):
    """Bytes out as they are; each job recorded after a short domain wait, then answered."""

    protocol = "test"

    def __init__(self, server: Any, sock: Any) -> None:
        super().__init__(server, sock, ("127.0.0.1", 1))
        self.handled: list[int] = []
        self.busy = 0.01

    @property
    def pile_code(self) -> str:
        return "T1"

    def handle(self, job: int) -> None:
        gevent.sleep(self.busy)  # the domain at work: the reader keeps reading meanwhile
        self.handled.append(job)
        self.queue(f"{job};".encode())

    def work_queue_full(self, job: int) -> None:
        raise AssertionError("no room for the job")


@contextlib.contextmanager
def _connection(**limits: Any) -> Iterator[tuple[_Conn, Any]]:
    ours, theirs = gevent.socket.socketpair()
    server = SimpleNamespace(config=_Limits(**limits), registry=ConnectionRegistry())
    try:
        yield _Conn(server, ours), theirs
    finally:
        ours.close()
        theirs.close()


def _read(sock: Any, size: int) -> bytes:
    data = b""
    with gevent.Timeout(5):
        while len(data) < size:
            chunk = sock.recv(65536)
            assert chunk, data[-100:]
            data += chunk
    return data


def test_requests_start_a_worker_that_runs_them_in_order_and_ends_when_idle() -> None:
    with _connection() as (conn, pile):
        assert conn._worker is None and conn._jobs is None  # a held, idle connection
        for job in range(5):
            conn.submit(job)
        assert conn._worker is not None
        assert _read(pile, len(b"0;1;2;3;4;")) == b"0;1;2;3;4;"
        gevent.sleep(0)
        assert conn.handled == [0, 1, 2, 3, 4]
        assert conn._worker is None and conn._jobs is None
        conn.submit(5)  # the next request starts a new worker
        assert _read(pile, 2) == b"5;"
        assert conn.handled[-1] == 5


def test_a_job_submitted_while_the_worker_finishes_one_is_run_by_that_worker() -> None:
    with _connection() as (conn, pile):
        conn.submit(1)
        worker = conn._worker
        gevent.sleep(0.005)  # the worker is inside handle(1)
        conn.submit(2)
        assert conn._worker is worker
        assert _read(pile, 4) == b"1;2;"
        assert conn.handled == [1, 2]


def test_a_full_work_queue_waits_for_room_then_gives_up() -> None:
    with _connection(work_queue_size=2) as (conn, pile):
        conn.busy = 0.05
        conn.submit(0)
        gevent.sleep(0)  # the worker took it
        conn.submit(1)
        conn.submit(2)  # two waiting
        assert conn.submit_waiting(3, timeout=1.0)  # room once the worker takes the next
        assert _read(pile, 8) == b"0;1;2;3;"
        conn.busy = 1.0
        conn.submit(0)
        gevent.sleep(0)
        conn.submit(1)
        conn.submit(2)
        began = time.monotonic()
        assert not conn.submit_waiting(9, timeout=0.1)
        assert 0.1 <= time.monotonic() - began < 0.5


def test_frames_the_socket_does_not_take_at_once_wait_and_go_out_in_order() -> None:
    with _connection() as (conn, pile):
        conn.queue(b"first;")
        assert conn._backlog is None and conn._flusher is None  # sent at once
        assert _read(pile, 6) == b"first;"
        frames = [f"{i:04d}".encode() * 8192 for i in range(40)]  # 32 KiB each
        for frame in frames:
            assert conn.queue(frame)
        # the pile reads nothing yet: the socket buffers filled, the rest waits
        assert conn._backlog is not None and conn._flusher is not None
        assert len(conn._backlog) < len(frames)
        assert conn.queue(b"last;")
        expected = b"".join(frames) + b"last;"
        assert _read(pile, len(expected)) == expected
        gevent.sleep(0)
        assert conn._backlog is None and conn._flusher is None
        conn.queue(b"again;")  # straight to the socket again
        assert conn._flusher is None
        assert _read(pile, 6) == b"again;"


def test_a_pile_that_does_not_read_is_dropped_after_the_write_timeout() -> None:
    with _connection(write_queue_size=2, write_timeout=0.2) as (conn, pile):
        frame = b"x" * 65536
        began = time.monotonic()
        while conn.queue(frame):  # the socket's buffers, then the backlog, fill up
            assert time.monotonic() - began < 5
        assert 0.2 <= time.monotonic() - began < 2
        assert conn._reason == "heartbeat_timeout"
        with gevent.Timeout(5):  # the socket was cut: the pile reads what got out, then EOF
            while pile.recv(65536):
                pass
