"""营销 → 优惠券 (issue 10): a template granted to a pricing group (one coupon per member,
audited, a retried request grants nothing twice) and its usage history (case #6: who holds
each coupon, the order it paid on, when, how much)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.db import utcnow
from app.drivers import members
from app.extensions import db
from app.promotions.models import Coupon
from app.tenancy.models import AuditLog, Operator
from tests.support.money import build_world, recent

API = "/api/admin/v1"


def _yc(app: Any) -> Any:
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    return build_world(app, operator=yc, code="YC-GRP-01")


def _template(client: FlaskClient, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = {"name": "出租车专享券", "kind": "fixed", "amount_fen": 50, "validity_days": 30, **kw}
    resp = client.post(f"{API}/coupon-templates", json=body, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return dict(resp.get_json())


def _taxi_drivers(operator_id: int, n: int) -> list[int]:
    ids = [
        members.create_driver(operator_id, openid=f"taxi-{operator_id}-{i}",
                              nickname=f"出租车司机{i}", phone=f"1390000{i:04d}",
                              pricing_group="taxi").id
        for i in range(n)
    ]  # fmt: skip
    db.session.commit()
    return ids


def test_a_group_grant_gives_each_member_one_coupon_once_per_request(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    world = _yc(app)
    taxi = _taxi_drivers(world.operator.id, 3)
    kc = db.session.scalar(select(Operator).where(Operator.name == "深圳快充"))
    assert kc is not None
    _taxi_drivers(kc.id, 1)  # another sub-operator's taxi driver gets nothing
    gone = members.create_driver(world.operator.id, openid="taxi-gone", pricing_group="taxi")
    gone.disabled_at = utcnow()  # a disabled member gets nothing either
    db.session.commit()
    template = _template(client, as_yc)
    path = f"{API}/coupon-templates/{template['id']}/group-grants"
    body = {"group_code": "taxi", "reason": "出租车节日关怀", "request_id": "req-0001-abcd"}
    assert client.post(path, json=body, headers=as_kc).status_code == 404
    resp = client.post(path, json=body, headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"template_id": template["id"], "group_code": "taxi",
                               "request_id": "req-0001-abcd", "granted": 3, "skipped": 0,
                               "repeated": False}  # fmt: skip
    held = db.session.scalars(select(Coupon).where(Coupon.template_id == template["id"])).all()
    assert sorted(c.driver_id for c in held) == sorted(taxi)
    assert all(c.source == "group" and c.status == "available" and c.amount_fen == 50
               for c in held)  # fmt: skip
    assert all(c.expires_at > c.granted_at + timedelta(days=29) for c in held)
    again = client.post(path, json=body, headers=as_yc)  # the console's retry
    assert again.status_code == 200 and again.get_json()["repeated"] is True
    assert again.get_json()["granted"] == 3
    count = select(func.count(Coupon.id)).where(Coupon.template_id == template["id"])
    assert db.session.scalar(count) == 3
    logs = db.session.scalars(select(AuditLog).where(AuditLog.action == "coupon.grant_group"))
    rows = list(logs)
    assert len(rows) == 1 and rows[0].reason == "出租车节日关怀" and rows[0].actor_name
    fresh = client.post(path, json={**body, "request_id": "req-0002-abcd"}, headers=as_yc)
    assert fresh.get_json()["granted"] == 3 and db.session.scalar(count) == 6


def test_a_group_grant_respects_the_per_driver_limit_and_refuses_bad_input(
    app: Any, client: FlaskClient, as_yc: dict[str, str]
) -> None:
    world = _yc(app)
    _taxi_drivers(world.operator.id, 2)
    template = _template(client, as_yc, per_driver_limit=1)
    path = f"{API}/coupon-templates/{template['id']}/group-grants"
    first = client.post(path, json={"group_code": "taxi", "reason": "首发",
                                    "request_id": "limit-0001"}, headers=as_yc)  # fmt: skip
    assert first.get_json()["granted"] == 2
    second = client.post(path, json={"group_code": "taxi", "reason": "再发",
                                     "request_id": "limit-0002"}, headers=as_yc)  # fmt: skip
    assert (second.get_json()["granted"], second.get_json()["skipped"]) == (0, 2)
    unknown = client.post(path, json={"group_code": "no_such_group", "reason": "x",
                                      "request_id": "limit-0003"}, headers=as_yc)  # fmt: skip
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["code"] == "PRICING_GROUP_INVALID"
    bad_key = client.post(path, json={"group_code": "taxi", "reason": "x",
                                      "request_id": "a b c d e f"}, headers=as_yc)  # fmt: skip
    assert bad_key.get_json()["error"]["code"] == "COUPON_GROUP_GRANT_KEY_INVALID"
    blank = client.post(path, json={"group_code": "taxi", "reason": "  ",
                                    "request_id": "limit-0004"}, headers=as_yc)  # fmt: skip
    assert blank.get_json()["error"]["code"] == "REASON_REQUIRED"


def test_case6_the_usage_history_names_the_holder_and_the_order_it_paid_on(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    world = _yc(app)
    world.driver.pricing_group = "taxi"
    world.driver.phone = "13912345678"
    db.session.commit()
    template = _template(client, as_yc)
    resp = client.post(
        f"{API}/coupon-templates/{template['id']}/group-grants",
        json={"group_code": "taxi", "reason": "关怀", "request_id": "usage-0001"},
        headers=as_yc,
    )
    assert resp.get_json()["granted"] == 1
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0)
    world.stop(ref, t0 + timedelta(minutes=20), 1760)
    order = world.order(ref)
    path = f"{API}/coupon-templates/{template['id']}/coupons"
    assert client.get(path, headers=as_kc).status_code == 404
    page = client.get(path, headers=as_yc).get_json()
    assert page["total"] == 1
    use = page["items"][0]
    assert use["driver_id"] == world.driver.id and use["driver_phone"] == "13912345678"
    assert use["status"] == "used" and use["order_no"] == order.order_no
    assert use["order_id"] == order.id and use["used_amount_fen"] == 50 and use["used_at"]
    assert use["source"] == "group" and use["valid_until"].endswith("23:59:59")
    assert client.get(f"{path}?status=available", headers=as_yc).get_json()["total"] == 0
    assert client.get(f"{path}?status=bogus", headers=as_yc).status_code == 422
