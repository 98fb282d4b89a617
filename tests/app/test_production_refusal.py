"""Production mode refuses an unsafe start (issue 15, item 5) and request bodies are
bounded (item 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import RefusedToStart
from app.startup import production_problems, refuse_unsafe_start
from tests.support.settings import BASE_CONFIG
from wsgi import compose

ROOT = Path(__file__).resolve().parents[2]


def test_production_refuses_the_development_secret_with_the_reason(tmp_path: Any) -> None:
    app = compose(
        {**BASE_CONFIG, "ENV": "production", "SECRET_KEY": "dev-only-insecure-secret-key",
         "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}"}
    )  # fmt: skip
    with pytest.raises(RefusedToStart) as refused:
        refuse_unsafe_start(app)
    text = str(refused.value)
    assert "生产模式拒绝启动" in text and "EVOP_SECRET_KEY" in text
    assert "EVOP_DATABASE_URL" in text  # all of it at once, as check-settings says it


def test_production_refuses_demo_mode(tmp_path: Any) -> None:
    app = compose({**BASE_CONFIG, "ENV": "production", "DEMO_MODE": True})
    with pytest.raises(RefusedToStart, match="EVOP_DEMO_MODE"):
        refuse_unsafe_start(app)


def test_production_refuses_to_run_with_pile_credentials_optional() -> None:
    app = compose({**BASE_CONFIG, "ENV": "production", "PILE_CREDENTIALS_REQUIRED": "off"})
    with pytest.raises(RefusedToStart, match="EVOP_PILE_CREDENTIALS_REQUIRED"):
        refuse_unsafe_start(app)


def test_demo_logins_that_still_open_are_a_production_problem(app: Flask, demo: Any) -> None:
    problems = production_problems(app)
    assert any("演示账号" in p and "admin" in p and "yc_admin" in p for p in problems)


def test_outside_production_nothing_is_refused(app: Flask, demo: Any) -> None:
    refuse_unsafe_start(app)  # development: the demo is the point


def test_the_server_process_exits_with_the_reason_in_production(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EVOP_ENV": "production",
        "EVOP_DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}",
        "EVOP_LOG_LEVEL": "WARNING",
        "EVOP_PILE_LINK_ENABLED": "0",
        "EVOP_SCHEDULER_ENABLED": "0",
    }
    done = subprocess.run(
        [sys.executable, "wsgi.py"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert "生产模式拒绝启动" in done.stderr.decode() and "EVOP_SECRET_KEY" in done.stderr.decode()


def test_a_json_body_beyond_the_limit_is_refused_before_it_is_read(client: FlaskClient) -> None:
    huge = b'{"username": "' + b"a" * (2 * 1024 * 1024) + b'", "password": "x"}'
    resp = client.post(
        "/api/admin/v1/auth/login", data=huge, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_login_of_ordinary_size_is_still_read(client: FlaskClient) -> None:
    resp = client.post("/api/admin/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert resp.status_code == 401
