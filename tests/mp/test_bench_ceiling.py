"""The drivers' benchmark's ceiling route (issue 12): mounted only by its setting, behind
the same token check as every drivers' route, never allowed in production."""

from __future__ import annotations

import os
from typing import Any

from flask.testing import FlaskClient

from app.config import check_settings
from app.demo import demo_driver, seed_demo
from app.drivers import driver_auth
from app.extensions import db
from miniprogram_api.bench_ceiling import body_of
from tests.support.settings import BASE_CONFIG
from wsgi import compose


def test_ceiling_is_not_mounted_without_its_setting(client: FlaskClient, ops: Any) -> None:
    resp = client.get("/api/mp/v1/bench/ceiling")
    assert resp.status_code == 404


def test_ceiling_checks_the_token_and_answers_the_configured_size() -> None:
    app = compose(
        {**BASE_CONFIG, "DATABASE_URL": "sqlite://", "BENCH_CEILING": True,
         "BENCH_CEILING_BYTES": 777}
    )  # fmt: skip
    with app.app_context():
        db.create_all()
        seed_demo()
        driver = demo_driver()
        assert driver is not None
        token = driver_auth.issue_token(driver)
        client = app.test_client()
        assert client.get("/api/mp/v1/bench/ceiling").status_code == 401
        bad = client.get("/api/mp/v1/bench/ceiling", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        resp = client.get("/api/mp/v1/bench/ceiling", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200
        assert len(resp.data) == 777
        assert resp.headers["X-Bench-Worker"] == str(os.getpid())
        assert resp.get_json() == {"ceiling": "x" * (777 - 15)}
        db.session.remove()
        db.engine.dispose()


def test_ceiling_body_is_json_of_the_exact_size() -> None:
    assert len(body_of(900)) == 900
    assert body_of(900).startswith(b'{"ceiling": "')


def test_production_refuses_the_ceiling_route() -> None:
    assert any("BENCH_CEILING" in p for p in check_settings({"BENCH_CEILING": True}))
    assert not any("BENCH_CEILING" in p for p in check_settings({"BENCH_CEILING": False}))
