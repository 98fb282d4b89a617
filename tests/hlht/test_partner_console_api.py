"""The platform manages its interconnection partners in the console (issue 11): secrets
are write-only, changes are audited without them, sub-operators see nothing."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.hlht.models import Partner
from app.tenancy.models import AuditLog

API = "/api/admin/v1/hlht/partners"
NEW = {
    "operator_id": "MA01TEST7", "name": "测试快电", "base_url": "http://127.0.0.1:9/evcs/v1/",
    "roles": "emsp", "operator_secret": "their-secret-01", "our_operator_secret": "our-secret-01",
    "in_data_secret": "a2b4c6d8e0f1a3b5", "in_data_iv": "f0e1d2c3b4a59687",
    "in_sig_secret": "sig-secret-0001",
}  # fmt: skip


def test_the_platform_registers_and_edits_a_partner_whose_secrets_never_come_back(
    client: FlaskClient, as_admin: dict[str, str]
) -> None:
    resp = client.post(API, json=NEW, headers=as_admin)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["base_url"] == "http://127.0.0.1:9/evcs/v1" and body["roles"] == "emsp"
    assert all(body["secrets_set"].values())  # out_* default to the inbound keys
    for secret in ("their-secret-01", "our-secret-01", "a2b4c6d8e0f1a3b5", "sig-secret-0001"):
        assert secret not in str(body)
    listed = client.get(API, headers=as_admin).get_json()
    assert "MA01TEST7" in [p["operator_id"] for p in listed["items"]]
    again = client.post(API, json=NEW, headers=as_admin)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "HLHT_PARTNER_TAKEN"
    # edit: a secret left out stays, a new one replaces
    patch = {"name": "快电", "roles": "emsp,cpo", "out_sig_secret": "rotated-sig-0002"}
    edited = client.patch(f"{API}/{body['id']}", json=patch, headers=as_admin)
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["name"] == "快电" and edited.get_json()["roles"] == "cpo,emsp"
    db.session.expire_all()
    partner = db.session.get(Partner, body["id"])
    assert partner is not None
    assert (
        partner.out_sig_secret == "rotated-sig-0002" and partner.in_sig_secret == "sig-secret-0001"
    )
    short = client.patch(f"{API}/{body['id']}", json={"in_data_iv": "short"}, headers=as_admin)
    assert short.status_code == 422
    rows = db.session.scalars(select(AuditLog).where(AuditLog.target_type == "hlht_partner")).all()
    assert [r.action for r in rows] == ["hlht.partner_create", "hlht.partner_update"]
    assert rows[1].after["secrets_changed"] == ["out_sig_secret"]
    for row in rows:
        assert "rotated-sig-0002" not in str(row.after) and "sig-secret-0001" not in str(row.after)


def test_sub_operators_see_no_partners(
    client: FlaskClient, as_yc: dict[str, str], demo: Any
) -> None:
    listed = client.get(API, headers=as_yc)
    assert listed.status_code == 403
    assert listed.get_json()["error"]["code"] in ("HLHT_PLATFORM_ONLY", "PERMISSION_DENIED")
    assert client.post(API, json=NEW, headers=as_yc).status_code == 403
