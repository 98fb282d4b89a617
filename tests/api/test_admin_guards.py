"""Low items of issue 15 around administrators: a role renamed to a taken name answers 409,
the last administrator of an operator cannot be stripped of administration, and logging out
revokes the token on the server."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

API = "/api/admin/v1"


def _roles(client: FlaskClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list(client.get(f"{API}/roles?page_size=100", headers=headers).get_json()["items"])


def test_renaming_a_role_to_a_taken_name_answers_409(
    client: FlaskClient, as_yc: dict[str, str]
) -> None:
    made = client.post(
        f"{API}/roles", json={"name": "客服", "permissions": ["member.read"]}, headers=as_yc
    )
    assert made.status_code == 201, made.get_json()
    taken = next(r["name"] for r in _roles(client, as_yc) if r["id"] != made.get_json()["id"])
    resp = client.patch(f"{API}/roles/{made.get_json()['id']}", json={"name": taken}, headers=as_yc)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "ROLE_NAME_TAKEN"
    same = client.patch(
        f"{API}/roles/{made.get_json()['id']}", json={"name": "客服"}, headers=as_yc
    )
    assert same.status_code == 200


def test_the_last_administrator_role_cannot_lose_administration(
    client: FlaskClient, as_admin: dict[str, str], as_yc: dict[str, str]
) -> None:
    me = client.get(f"{API}/me", headers=as_yc).get_json()
    yc_roles = [r for r in _roles(client, as_admin) if r["operator_id"] == me["operator"]["id"]]
    admin_role = next(r for r in yc_roles if "role.write" in r["permissions"])
    stripped = client.patch(
        f"{API}/roles/{admin_role['id']}", json={"permissions": ["member.read"]}, headers=as_admin
    )
    assert stripped.status_code == 409
    assert stripped.get_json()["error"]["code"] == "LAST_ADMINISTRATOR"
    assert client.get(f"{API}/me", headers=as_yc).status_code == 200  # nothing changed
    # with a second administrator in place, the change goes through
    second = client.post(
        f"{API}/roles",
        json={"name": "备用管理员", "permissions": ["admin_user.write", "role.write"],
              "operator_id": me["operator"]["id"]},
        headers=as_admin,
    )  # fmt: skip
    assert second.status_code == 201, second.get_json()
    user = client.post(
        f"{API}/admin-users",
        json={"username": "yc_backup", "display_name": "备用", "password": "Backup-12345",
              "role_ids": [second.get_json()["id"]], "operator_id": me["operator"]["id"]},
        headers=as_admin,
    )  # fmt: skip
    assert user.status_code == 201, user.get_json()
    ok = client.patch(
        f"{API}/roles/{admin_role['id']}", json={"permissions": ["member.read"]}, headers=as_admin
    )
    assert ok.status_code == 200
    # and the backup cannot now be disabled: it is the last one
    off = client.patch(
        f"{API}/admin-users/{user.get_json()['id']}", json={"is_active": False}, headers=as_admin
    )
    assert off.status_code == 409 and off.get_json()["error"]["code"] == "LAST_ADMINISTRATOR"


def test_logout_revokes_the_token_on_the_server(client: FlaskClient, as_yc: dict[str, str]) -> None:
    assert client.get(f"{API}/me", headers=as_yc).status_code == 200
    assert client.post(f"{API}/auth/logout", headers=as_yc).status_code == 204
    after = client.get(f"{API}/me", headers=as_yc)
    assert after.status_code == 401
