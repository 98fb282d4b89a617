"""Login, tokens, /me, and the one error contract on every route."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.support.settings import BASE_CONFIG
from wsgi import compose


def _error(resp: Any) -> dict[str, Any]:
    body = resp.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


def test_login_returns_token_and_me_lists_permissions(client: FlaskClient, demo: Any) -> None:
    resp = client.post(
        "/api/admin/v1/auth/login", json={"username": "yc_admin", "password": "yc123456"}
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    me = client.get("/api/admin/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    data = me.get_json()
    assert data["user"]["username"] == "yc_admin"
    assert data["operator"]["name"] == "广东云创" and data["operator"]["kind"] == "sub"
    assert "station.read" in data["permissions"]


def test_wrong_password_is_401_with_stable_code(client: FlaskClient, demo: Any) -> None:
    resp = client.post("/api/admin/v1/auth/login", json={"username": "admin", "password": "nope"})
    assert resp.status_code == 401
    err = _error(resp)
    assert err["code"] == "AUTH_INVALID_CREDENTIALS"
    assert err["message"] == "用户名或密码错误"


def test_missing_and_forged_tokens_are_401(client: FlaskClient, demo: Any) -> None:
    assert _error(client.get("/api/admin/v1/stations"))["code"] == "AUTH_REQUIRED"
    resp = client.get("/api/admin/v1/stations", headers={"Authorization": "Bearer forged.token"})
    assert resp.status_code == 401
    assert _error(resp)["code"] == "AUTH_TOKEN_INVALID"


def test_password_change_revokes_old_tokens(
    client: FlaskClient, as_admin: dict[str, str], login: Any
) -> None:
    yc = login("yc_admin", "yc123456")
    users = client.get("/api/admin/v1/admin-users?q=yc_admin", headers=as_admin).get_json()
    uid = users["items"][0]["id"]
    resp = client.patch(
        f"/api/admin/v1/admin-users/{uid}", json={"password": "newpass123"}, headers=as_admin
    )
    assert resp.status_code == 200
    assert client.get("/api/admin/v1/me", headers=yc).status_code == 401
    assert login("yc_admin", "newpass123")


def test_validation_error_is_422_with_field_details(
    client: FlaskClient, as_admin: dict[str, str]
) -> None:
    resp = client.post("/api/admin/v1/stations", json={"name": ""}, headers=as_admin)
    assert resp.status_code == 422
    err = _error(resp)
    assert err["code"] == "VALIDATION_ERROR"
    fields = err["details"]["fields"]["json"]
    assert "longitude" in fields and "name" in fields


def test_unknown_route_and_method_use_error_contract(client: FlaskClient) -> None:
    resp = client.get("/api/nowhere")
    assert resp.status_code == 404
    assert _error(resp)["code"] == "NOT_FOUND"
    resp = client.delete("/healthz")
    assert resp.status_code == 405
    assert _error(resp)["code"] == "METHOD_NOT_ALLOWED"


def test_crash_is_500_with_error_contract() -> None:
    app = compose({**BASE_CONFIG, "DATABASE_URL": "sqlite://", "TESTING": False})

    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("secret internals")

    resp = app.test_client().get("/boom-for-test")
    assert resp.status_code == 500
    err = _error(resp)
    assert err["code"] == "INTERNAL_ERROR"
    assert "secret internals" not in resp.get_data(as_text=True)


def test_health_ready_and_metrics(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert b"evop_http_requests_total" in metrics.data


def test_openapi_documents_admin_api_and_swagger_ui_is_local(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/admin/v1/auth/login",
        "/api/admin/v1/stations",
        "/api/admin/v1/tariffs/{tariff_id}/segments",
    ):
        assert path in spec["paths"], path
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.get_data(as_text=True)
    assert "swagger-ui" in html and "cdn" not in html.lower()
    with client.get("/api/docs/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
