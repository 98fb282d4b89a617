"""Driver certification (case #4 2019-10-09): upload validated by content and size, review
by the sub-operator's admins, taxi and ride-hailing exclusive, revocation."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.drivers.certification import storage
from app.drivers.models import CertificationApplication
from app.extensions import db
from app.tenancy.models import AuditLog, Driver
from tests.support.drivers import Login

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WEBP = b"RIFF\x40\x00\x00\x00WEBPVP8 " + b"\x00" * 64
URL = "/api/mp/v1/certifications"
ADMIN = "/api/admin/v1/certifications"


def _form(kind: str = "ride_hailing", **override: bytes) -> dict[str, Any]:
    files = {"id_card": JPEG, "driving_licence": PNG, "vehicle_photo": WEBP, **override}
    data: dict[str, Any] = {"kind": kind}
    for name, content in files.items():
        data[name] = (io.BytesIO(content), f"{name}.jpg", "image/jpeg")
    return data


def _submit(client: FlaskClient, headers: dict[str, str], **kw: Any) -> Any:
    return client.post(URL, data=_form(**kw), headers=headers, content_type="multipart/form-data")


def _group(openid: str) -> str:
    db.session.expire_all()
    driver = db.session.scalar(select(Driver).where(Driver.openid == openid))
    assert driver is not None
    return driver.pricing_group


def test_uploads_are_checked_by_content_and_size(
    app: Flask, client: FlaskClient, mp_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = mp_login("olga")
    fake_jpeg = _submit(client, headers, id_card=b"%PDF-1.4 not an image at all")
    assert fake_jpeg.status_code == 422
    assert fake_jpeg.get_json()["error"]["code"] == "UPLOAD_NOT_IMAGE"
    assert "id_card" in fake_jpeg.get_json()["error"]["details"]
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    big = _submit(client, headers, vehicle_photo=JPEG + b"\x00" * 2000)
    assert big.status_code == 413 and big.get_json()["error"]["code"] == "UPLOAD_TOO_LARGE"
    huge = _submit(client, headers, vehicle_photo=JPEG + b"\x00" * 10_000)
    assert huge.status_code == 413  # over the whole request's limit: refused unread
    missing = client.post(
        URL, data={"kind": "taxi", "id_card": (io.BytesIO(JPEG), "a.jpg")}, headers=headers,
        content_type="multipart/form-data",
    )  # fmt: skip
    assert missing.status_code == 422
    bad_kind = _submit(client, headers, kind="bus")
    assert bad_kind.status_code == 422
    assert client.get(URL + "/current", headers=headers).get_json()["application"] is None


def test_review_flow_exclusive_groups_and_revocation(
    client: FlaskClient, mp_login: Login, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    headers = mp_login("pete")
    first = _submit(client, headers)
    assert first.status_code == 201, first.get_json()
    app_id = first.get_json()["id"]
    assert first.get_json()["state"] == "pending" and len(first.get_json()["files"]) == 3
    twice = _submit(client, headers, kind="taxi")
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "CERTIFICATION_PENDING"
    # another sub-operator's admin does not see it
    assert client.get(f"{ADMIN}/{app_id}", headers=as_kc).status_code == 404
    assert client.get(ADMIN, headers=as_kc).get_json()["total"] == 0
    listing = client.get(ADMIN + "?state=pending", headers=as_yc).get_json()
    assert [a["id"] for a in listing["items"]] == [app_id]
    file_id = listing["items"][0]["files"][0]["id"]
    image = client.get(f"{ADMIN}/{app_id}/files/{file_id}", headers=as_yc)
    assert image.status_code == 200 and image.data == JPEG and image.mimetype == "image/jpeg"
    approved = client.post(f"{ADMIN}/{app_id}/approve", headers=as_yc)
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    assert _group("pete") == "ride_hailing"
    again = client.post(f"{ADMIN}/{app_id}/approve", headers=as_yc)
    assert again.get_json()["error"]["code"] == "CERTIFICATION_STATE_INVALID"
    taxi = _submit(client, headers, kind="taxi")
    assert taxi.status_code == 409 and taxi.get_json()["error"]["code"] == "CERTIFICATION_EXCLUSIVE"
    no_reason = client.post(f"{ADMIN}/{app_id}/revoke", json={"reason": ""}, headers=as_yc)
    assert no_reason.status_code == 422
    revoked = client.post(f"{ADMIN}/{app_id}/revoke", json={"reason": "已不再从事网约车"},
                          headers=as_yc)  # fmt: skip
    assert revoked.get_json()["state"] == "revoked" and _group("pete") == "none"
    current = client.get(URL + "/current", headers=headers).get_json()
    assert current["pricing_group"] == "none" and current["application"]["id"] == app_id
    # now taxi is allowed; rejected with a reason
    taxi = _submit(client, headers, kind="taxi")
    assert taxi.status_code == 201
    rejected = client.post(
        f"{ADMIN}/{taxi.get_json()['id']}/reject", json={"reason": "照片不清晰"}, headers=as_yc
    )
    assert rejected.get_json()["reject_reason"] == "照片不清晰" and _group("pete") == "none"
    actions = [
        a.action
        for a in db.session.scalars(
            select(AuditLog).where(AuditLog.target_type == "certification").order_by(AuditLog.id)
        )
    ]
    assert actions == ["certification.approve", "certification.revoke", "certification.reject"]


def test_a_driver_never_sees_another_drivers_certification(
    client: FlaskClient, mp_login: Login
) -> None:
    owner, other = mp_login("quinn"), mp_login("rita")
    app_id = _submit(client, owner).get_json()["id"]
    assert client.get(f"{URL}/{app_id}", headers=owner).status_code == 200
    resp = client.get(f"{URL}/{app_id}", headers=other)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "CERTIFICATION_NOT_FOUND"
    assert client.get(URL + "/current", headers=other).get_json()["application"] is None


def test_a_file_missing_from_storage_answers_a_clear_error_not_500(
    client: FlaskClient, mp_login: Login, as_yc: dict[str, str]
) -> None:
    headers = mp_login("lost-file")
    app_id = _submit(client, headers).get_json()["id"]
    row = db.session.get(CertificationApplication, app_id)
    assert row is not None
    lost = row.files[0]
    path = Path(storage().root) / lost.storage_key  # type: ignore[attr-defined]
    path.unlink()
    resp = client.get(f"{ADMIN}/{app_id}/files/{lost.id}", headers=as_yc)
    assert resp.status_code == 404
    error = resp.get_json()["error"]
    assert error["code"] == "FILE_MISSING" and "重新提交" in error["message"]
    assert error["details"] == {"file_id": lost.id, "role": lost.role}
