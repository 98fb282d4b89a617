"""The console's login resists password guessing (issue 15, item 10): failures are counted
per account and per address, past the limit both are refused for the lockout (even with
the right password), the lockout is audited, and an unknown username takes as long to
refuse as a wrong password."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.extensions import db, limiter
from app.tenancy.models import AdminUser, AuditLog

LOGIN = "/api/admin/v1/auth/login"


@pytest.fixture(autouse=True)
def fresh_limits(app: Flask) -> Iterator[None]:
    limiter.reset()
    yield
    limiter.reset()  # the windows live in the process: never lock a later test out


def _login(client: FlaskClient, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(
        LOGIN,
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    client: FlaskClient, demo: Any
) -> None:
    for _ in range(5):
        assert _login(client, "yc_admin", "guess").status_code == 401
    locked = _login(client, "yc_admin", "yc123456")
    assert locked.status_code == 429
    assert locked.get_json()["error"]["code"] == "ADMIN_LOGIN_LOCKED"
    assert int(locked.headers["Retry-After"]) > 0
    # another account from the same address is not locked
    assert _login(client, "kc_admin", "kc123456").status_code == 200
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "admin.login_locked"))
    [row] = list(rows)
    assert row.after["username"] == "yc_admin" and row.after["by"] == "account"


def test_many_failures_from_one_address_lock_that_address(
    app: Flask, client: FlaskClient, demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS", 3)
    for name in ("nobody-1", "nobody-2", "nobody-3"):
        assert _login(client, name, "x", address="10.9.9.9").status_code == 401
    assert _login(client, "admin", "admin123", address="10.9.9.9").status_code == 429
    assert _login(client, "admin", "admin123", address="10.1.1.1").status_code == 200


def test_an_unknown_username_is_refused_as_slowly_as_a_wrong_password(
    app: Flask, client: FlaskClient, demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a real hash cost, so that a skipped check would show (it was 4 ms against 130 ms)
    method = "pbkdf2:sha256:100000"
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", method)
    admin = db.session.scalar(select(AdminUser).where(AdminUser.username == "admin"))
    assert admin is not None
    admin.password_hash = generate_password_hash("admin123", method=method)
    db.session.commit()

    def timed(username: str) -> float:
        took = []
        for _ in range(4):
            start = time.perf_counter()
            assert _login(client, username, "wrong").status_code == 401
            took.append(time.perf_counter() - start)
        return sorted(took)[len(took) // 2]

    _login(client, "nobody-at-all", "wrong")  # the decoy hash is made once, not timed
    unknown, wrong = timed("nobody-at-all"), timed("admin")
    assert unknown > 0.4 * wrong, (unknown, wrong)
