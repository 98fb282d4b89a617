"""The start-up banner (URLs, demo logins) is printed last (issue 14): after the start-up
jobs have run, so their log lines never scroll it away. A signal stops the server and then
each of the process's stops, in the main greenlet, before serve returns."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from flask import Flask

from app import server


class _FakeServer:
    def start(self) -> None:
        print("server listening", flush=True)

    def stop(self, timeout: float | None = None) -> None:
        print("server stopped", flush=True)


def _signal_soon(monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    """The process gets ``signum`` a moment after serving starts."""
    handlers: dict[int, Callable[[], None]] = {}
    monkeypatch.setattr(server.gevent, "signal_handler", handlers.__setitem__)
    gevent.spawn_later(0.05, lambda: handlers[signum]())


def test_the_banner_comes_after_the_start_up_jobs(
    app: Flask, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(server, "make_server", lambda *a, **k: _FakeServer())
    _signal_soon(monkeypatch, signal.SIGTERM)
    monkeypatch.setitem(app.config, "DEMO_MODE", True)

    def ready_job() -> Any:
        print("platform keys downloaded", flush=True)

    server.serve(app, ready=[ready_job], extra_banner=["调度任务  lost-bills"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["server listening", "platform keys downloaded"]
    assert lines[2].startswith("运营后台  http://")
    assert any(line.startswith("演示登录") for line in lines)
    assert lines[-2:] == ["调度任务  lost-bills", "server stopped"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_then_each_stop_before_serve_returns(
    app: Flask, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], signum: int
) -> None:
    """Regression: the signal handler's greenlet ran the stops while serve_forever had
    already returned and the process exited: the pile link, the demo piles and the
    scheduler were never stopped."""
    monkeypatch.setattr(server, "make_server", lambda *a, **k: _FakeServer())
    _signal_soon(monkeypatch, signum)

    def failing() -> None:
        raise RuntimeError("one stop fails: the others still run")

    server.serve(
        app,
        stops=[lambda: print("piles stopped"), failing, lambda: print("link stopped")],
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3:] == ["server stopped", "piles stopped", "link stopped"]
