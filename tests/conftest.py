"""Fixtures shared by the whole suite.

The database under test comes from ``EVOP_TEST_DATABASE_URL``: unset means SQLite, a
fresh in-memory database per test; a PostgreSQL URL means one schema for the session
and every test inside a transaction that is rolled back at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import text
from sqlalchemy.orm import scoped_session, sessionmaker

from app.extensions import db
from tests.support.settings import (
    BASE_CONFIG,
    ON_POSTGRES,
    TEST_DB_URL,
)
from wsgi import compose


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL' if ON_POSTGRES else 'SQLite (in-memory per test)'}"


@pytest.fixture(scope="session")
def _pg_app() -> Iterator[Flask | None]:
    if not ON_POSTGRES:
        yield None
        return
    # a schema of this run's own, so parallel runs on one database never collide
    schema = f"evop_test_{os.getpid()}"
    app = compose(
        {
            **BASE_CONFIG,
            "DATABASE_URL": TEST_DB_URL,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
        }
    )
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db.create_all()
    yield app
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        db.engine.dispose()


@pytest.fixture
def app(_pg_app: Flask | None) -> Iterator[Flask]:
    if _pg_app is None:
        app = compose({**BASE_CONFIG, "DATABASE_URL": "sqlite://"})
        with app.app_context():
            db.create_all()
            yield app
            db.session.remove()
            db.engine.dispose()
        return
    with _pg_app.app_context():
        conn = db.engine.connect()
        trans = conn.begin()
        original = db.session
        # a plain Session: Flask-SQLAlchemy's own picks its engine by bind key and
        # would ignore the connection; every commit becomes a savepoint release
        # scoped like Flask-SQLAlchemy's, per application context
        db.session = scoped_session(  # type: ignore[method-assign]
            sessionmaker(bind=conn, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id,
        )
        try:
            yield _pg_app
        finally:
            db.session.remove()
            db.session = original  # type: ignore[method-assign]
            trans.rollback()
            conn.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def demo(app: Flask) -> Any:
    """The demo data set (three operators, three stations, two piles, one driver)."""
    from app.demo import seed_demo

    return seed_demo()


@pytest.fixture
def login(client: FlaskClient) -> Callable[[str, str], dict[str, str]]:
    """``login(username, password)`` → headers with the admin's bearer token."""

    def _login(username: str, password: str) -> dict[str, str]:
        resp = client.post(
            "/api/admin/v1/auth/login", json={"username": username, "password": password}
        )
        assert resp.status_code == 200, resp.get_json()
        return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}

    return _login


@pytest.fixture
def as_admin(demo: Any, login: Callable[[str, str], dict[str, str]]) -> dict[str, str]:
    return login("admin", "admin123")


@pytest.fixture
def as_yc(demo: Any, login: Callable[[str, str], dict[str, str]]) -> dict[str, str]:
    return login("yc_admin", "yc123456")


@pytest.fixture
def as_kc(demo: Any, login: Callable[[str, str], dict[str, str]]) -> dict[str, str]:
    return login("kc_admin", "kc123456")
