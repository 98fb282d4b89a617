"""The start-up banner (URLs, demo logins) is printed last (issue 14): after the start-up
jobs have run, so their log lines never scroll it away."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from app import server


class _FakeServer:
    def start(self) -> None:
        print("server listening", flush=True)

    def serve_forever(self) -> None:
        print("serving", flush=True)


def test_the_banner_comes_after_the_start_up_jobs(
    app: Flask, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(server, "make_server", lambda *a, **k: _FakeServer())
    monkeypatch.setattr(server.gevent, "signal_handler", lambda *a: None)
    monkeypatch.setitem(app.config, "DEMO_MODE", True)

    def ready_job() -> Any:
        print("platform keys downloaded", flush=True)

    server.serve(app, ready=[ready_job], extra_banner=["调度任务  lost-bills"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["server listening", "platform keys downloaded"]
    assert lines[2].startswith("运营后台  http://")
    assert any(line.startswith("演示登录") for line in lines)
    assert lines[-2:] == ["调度任务  lost-bills", "serving"]
