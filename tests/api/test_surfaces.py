"""Both HTTP surfaces declare their security once: the document and the authentication
agree, operation by operation, and only the routes marked public skip both."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.openapi import EvopBlueprint

PUBLIC = {
    ("post", "/api/admin/v1/auth/login"),
    ("post", "/api/mp/v1/auth/login"),
    ("post", "/api/mp/v1/auth/oa-login"),  # official-account web authorization (H5)
    ("get", "/api/mp/v1/h5/config"),  # which app ids the H5 pages log in with
    ("get", "/api/mp/v1/deep-links"),
    ("post", "/api/mp/v1/pay/notify/{mch_id}"),
    ("post", "/api/mp/v1/pay/refund-notify/{mch_id}"),
}
BEARER = [{"bearerAuth": []}]


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if method != "parameters"
    }


def test_every_operation_but_the_public_ones_requires_a_bearer_token(client: FlaskClient) -> None:
    ops = _operations(client.get("/api/openapi.json").get_json())
    assert len(ops) > 100
    assert {key for key, op in ops.items() if "security" not in op} == PUBLIC
    assert all(op["security"] == BEARER for key, op in ops.items() if key not in PUBLIC)


def test_routes_without_a_token_answer_401_unless_public(app: Flask, client: FlaskClient) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
        if not isinstance(blueprint, EvopBlueprint):
            continue
        url = re.sub(r"<(?:int[^:]*:)?(\w+)>", "1", rule.rule)
        url = re.sub(r"<[^>]+>", "x", url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
            resp = client.open(url, method=method, json={})
            code = (resp.get_json(silent=True) or {}).get("error", {}).get("code")
            if (method.lower(), path) in PUBLIC:
                assert code != "AUTH_REQUIRED", (method, url)
            else:
                assert (resp.status_code, code) == (401, "AUTH_REQUIRED"), (method, url)
            checked += 1
    assert checked > 100
