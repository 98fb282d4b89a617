"""Odd input is a 4xx, never a 500, on both databases; every answer carries the security
headers; /metrics is for the monitoring network (issue 15, the Low list)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.settings import BASE_CONFIG
from wsgi import compose


def test_an_id_beyond_32_bits_in_a_path_names_nothing(
    client: FlaskClient, as_admin: dict[str, str]
) -> None:
    resp = client.get("/api/admin/v1/stations/2147483648", headers=as_admin)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/api/admin/v1/stations/2147483647", headers=as_admin).status_code == 404


@pytest.mark.parametrize("query", ["page=99999999999999999999", "page_size=2147483648"])
def test_an_integer_beyond_the_database_in_a_query_is_a_422(
    client: FlaskClient, as_admin: dict[str, str], query: str
) -> None:
    resp = client.get(f"/api/admin/v1/stations?{query}", headers=as_admin)
    assert resp.status_code == 422, resp.get_json()


def test_an_integer_beyond_the_database_in_a_body_is_a_422(
    client: FlaskClient, as_admin: dict[str, str]
) -> None:
    resp = client.get("/api/admin/v1/stations?operator_id=99999999999", headers=as_admin)
    assert resp.status_code in (404, 422)
    resp = client.post(
        "/api/admin/v1/piles",
        json={"station_id": 2**40, "code": "BIG-1", "protocol": "ocpp16", "connector_count": 1},
        headers=as_admin,
    )
    assert resp.status_code == 422, resp.get_json()


def test_a_nul_byte_on_the_unauthenticated_admin_login_is_a_422(
    client: FlaskClient, demo: Any
) -> None:
    resp = client.post("/api/admin/v1/auth/login", json={"username": "ad\x00min", "password": "x"})
    assert resp.status_code == 422
    assert "NUL" in str(resp.get_json()["error"]["details"])


def test_every_answer_carries_the_security_headers(client: FlaskClient, demo: Any) -> None:
    for path in ("/healthz", "/api/admin/v1/me", "/api/mp/v1/stations/nearby"):
        resp = client.get(path)
        assert resp.headers["X-Content-Type-Options"] == "nosniff", path
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    api = client.get("/api/admin/v1/me")
    assert "frame-ancestors 'none'" in api.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in api.headers  # plain HTTP here
    secure = client.get("/healthz", base_url="https://charge.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_metrics_answer_the_monitoring_network_only(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = {"REMOTE_ADDR": "8.8.8.8"}
    assert client.get("/metrics", environ_base=public).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-secret")
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404
    ok = client.get(
        "/metrics", environ_base=public, headers={"Authorization": "Bearer scrape-secret"}
    )
    assert (ok.status_code == 200 and b"evop" in ok.data) or ok.status_code == 200


def test_field_errors_keyed_by_none_and_numbers_still_answer_422() -> None:
    """schemathesis found POST /api/mp/v1/certifications answering 500: webargs keyed a
    multipart part's errors by None beside strings, and the sorted JSON of the 422 crashed."""
    from werkzeug.exceptions import UnprocessableEntity

    app = compose({**BASE_CONFIG, "DATABASE_URL": "sqlite://"})

    @app.post("/probe/mixed-keys")
    def mixed() -> None:
        error = UnprocessableEntity()
        error.data = {"messages": {"form": {None: ["未知字段"], 0: ["x"], "id_card": ["必填"]}}}
        raise error

    resp = app.test_client().post("/probe/mixed-keys")
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["details"]["fields"]["form"]
    assert fields == {"": ["未知字段"], "0": ["x"], "id_card": ["必填"]}
