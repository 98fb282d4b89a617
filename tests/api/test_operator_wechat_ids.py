"""One WeChat app and one merchant per operator, changed only by the platform (issue 15,
item 3: a 广东云创 admin set its operator to 深圳快充's app id and every 深圳快充 driver
login failed; with the merchant id, 深圳快充's genuine notify was refused)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.tenancy.models import AuditLog, Operator

API = "/api/admin/v1/operators"


def _ids(name: str) -> int:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    assert op is not None
    return op.id


def test_a_sub_operator_cannot_change_its_wechat_identifiers(
    client: FlaskClient, as_yc: dict[str, str]
) -> None:
    yc = _ids("广东云创")
    for field in ("wechat_app_id", "wechat_mch_id"):
        resp = client.patch(f"{API}/{yc}", json={field: "wx-stolen"}, headers=as_yc)
        assert resp.status_code == 403, resp.get_json()
        assert resp.get_json()["error"]["code"] == "WECHAT_IDS_PLATFORM_ONLY"
    # branding stays its own to edit
    resp = client.patch(f"{API}/{yc}", json={"brand_color": "#123456"}, headers=as_yc)
    assert resp.status_code == 200


@pytest.mark.parametrize(
    "field, code",
    [("wechat_app_id", "WECHAT_APP_ID_TAKEN"), ("wechat_mch_id", "WECHAT_MCH_ID_TAKEN")],
)
def test_an_identifier_in_use_by_another_operator_is_a_409_that_names_no_one(
    client: FlaskClient, as_admin: dict[str, str], field: str, code: str
) -> None:
    yc, kc = _ids("广东云创"), _ids("深圳快充")
    assert (
        client.patch(f"{API}/{kc}", json={field: "ID-OF-KC"}, headers=as_admin).status_code == 200
    )
    resp = client.patch(f"{API}/{yc}", json={field: "ID-OF-KC"}, headers=as_admin)
    assert resp.status_code == 409
    body = resp.get_json()["error"]
    assert body["code"] == code and "深圳快充" not in str(body)
    # setting the same value again on its owner is no conflict; clearing always works
    assert (
        client.patch(f"{API}/{kc}", json={field: "ID-OF-KC"}, headers=as_admin).status_code == 200
    )
    assert client.patch(f"{API}/{kc}", json={field: ""}, headers=as_admin).status_code == 200


def test_a_change_of_identifier_is_audited(client: FlaskClient, as_admin: dict[str, str]) -> None:
    kc = _ids("深圳快充")
    client.patch(f"{API}/{kc}", json={"wechat_app_id": "wx-new-kc"}, headers=as_admin)
    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "operator.update").order_by(AuditLog.id.desc())
    ).first()
    assert row is not None and row.after["wechat_app_id"] == "wx-new-kc"


def test_the_database_holds_one_app_per_operator_even_past_the_service(demo: Any) -> None:
    yc, kc = (db.session.get(Operator, _ids(n)) for n in ("广东云创", "深圳快充"))
    assert yc is not None and kc is not None
    yc.wechat_app_id = kc.wechat_app_id = "wx-same"
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    yc, kc = (db.session.get(Operator, _ids(n)) for n in ("广东云创", "深圳快充"))
    assert yc is not None and kc is not None
    yc.wechat_app_id = kc.wechat_app_id = ""  # "not set" may repeat
    db.session.flush()
