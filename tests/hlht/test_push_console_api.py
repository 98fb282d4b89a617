"""The operator sees every push to a partner, its attempts and answers, and may send a
failed one again (issue 11 #2); sub-operators see nothing."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.hlht import outbox
from app.hlht.models import Push
from app.tenancy.models import AuditLog
from tests.support.hlht import FakePartnerPlatform, register_partner

API = "/api/admin/v1/hlht/pushes"


def test_the_push_log_shows_attempts_and_a_failed_push_can_be_sent_again(
    client: FlaskClient, as_admin: dict[str, str], as_yc: dict[str, str]
) -> None:
    partner = register_partner(base_url="http://partner.test")
    now = utcnow()
    payload = {"ConnectorStatusInfo": {"ConnectorID": "X-1", "Status": 1}}
    outbox.enqueue(partner.id, outbox.STATION_STATUS, "console-test", payload, None, now)
    db.session.commit()
    platform = FakePartnerPlatform()
    platform.answers[outbox.STATION_STATUS] = [500] * 5
    for n in range(5):
        outbox.deliver_due(now + timedelta(minutes=n), platform.session())
    listed = client.get(f"{API}?state=failed", headers=as_admin)
    assert listed.status_code == 200, listed.get_json()
    [item] = listed.get_json()["items"]
    assert item["interface"] == "notification_stationStatus" and item["attempts"] == 5
    detail = client.get(f"{API}/{item['id']}", headers=as_admin).get_json()
    assert [a["ret"] for a in detail["attempt_log"]] == [500] * 5
    assert client.get(API, headers=as_yc).status_code == 403
    retried = client.post(f"{API}/{item['id']}/retry", headers=as_admin)
    assert retried.status_code == 200 and retried.get_json()["state"] == "pending"
    assert client.post(f"{API}/{item['id']}/retry", headers=as_admin).status_code == 409
    db.session.expire_all()
    push = db.session.scalar(select(Push))
    assert push is not None and push.attempts == 0
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "hlht.push_retry"))
    outbox.deliver_due(utcnow() + timedelta(seconds=1), platform.session())
    db.session.expire_all()
    assert db.session.get(Push, push.id).state == "delivered"  # type: ignore[union-attr]
    assert client.get(f"{API}/999999", headers=as_admin).status_code == 404
