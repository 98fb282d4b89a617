"""The admin API's money endpoints: scoped, validated, audited, in the one error contract."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.billing import lost_bills
from app.catalogue.models import Station
from app.charging.port import ConnectorState
from app.extensions import db
from app.tenancy.models import AuditLog, Driver, Operator
from tests.support.money import build_world, recent

API = "/api/admin/v1"


def _yc_world(app: Any) -> Any:
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    return build_world(app, operator=yc, code="YC-API-01")


def test_abnormal_orders_bill_and_correction_over_http(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    world = _yc_world(app)
    t0 = recent(3)
    world.connect(t0)
    ref = world.start(t0, samples=[(10, 800)])
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=20))
    lost_bills.settle_lost_bills(t0 + timedelta(hours=2))
    order = world.order(ref)
    resp = client.get(f"{API}/abnormal-orders?kind=estimated", headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["total"] == 1 and body["items"][0]["order_no"] == order.order_no
    assert client.get(f"{API}/abnormal-orders", headers=as_kc).get_json()["total"] == 0
    bad = client.get(f"{API}/abnormal-orders?kind=nonsense", headers=as_yc)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "VALIDATION_ERROR"
    money = client.get(f"{API}/orders/{order.id}/bill", headers=as_yc).get_json()
    assert money["bill"]["estimated"] and money["bill"]["energy_wh"] == 800
    assert "estimated" in money["reasons"]
    assert client.get(f"{API}/orders/{order.id}/bill", headers=as_kc).status_code == 404
    resp = client.post(
        f"{API}/orders/{order.id}/corrections", json={"energy_wh": 500, "reason": "核对电表"},
        headers=as_yc,
    )  # fmt: skip
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["refund_fen"] > 0 and resp.get_json()["bill"]["energy_wh"] == 500
    empty = client.post(f"{API}/orders/{order.id}/corrections", json={"reason": "x"},
                        headers=as_yc)  # fmt: skip
    assert empty.status_code == 422
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "order.correct"))
    assert log is not None and log.actor_name and log.reason == "核对电表"


def test_coupon_templates_grants_and_offers_over_http(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    driver = db.session.scalar(select(Driver).where(Driver.nickname == "演示车主"))
    assert driver is not None
    resp = client.post(
        f"{API}/coupon-templates",
        json={"name": "一个月5元券", "kind": "fixed", "amount_fen": 500, "validity_months": 1},
        headers=as_yc,
    )
    assert resp.status_code == 201, resp.get_json()
    template = resp.get_json()
    bad = client.post(f"{API}/coupon-templates", json={"name": "x", "kind": "fixed",
                      "amount_fen": 500}, headers=as_yc)  # fmt: skip
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "COUPON_VALIDITY_INVALID"
    path = f"{API}/members/{driver.id}/coupons"
    grant = {"template_id": template["id"], "quantity": 2, "reason": "投诉补偿"}
    assert client.post(path, json=grant, headers=as_kc).status_code == 404
    resp = client.post(path, json=grant, headers=as_yc)
    assert resp.status_code == 201, resp.get_json()
    items = resp.get_json()["items"]
    assert len(items) == 2 and items[0]["valid_until"].endswith("23:59:59")
    listed = client.get(f"{path}?status=available", headers=as_yc).get_json()["items"]
    assert len(listed) == 2
    revoked = client.post(f"{API}/coupons/{items[0]['id']}/revoke", json={"reason": "误发"},
                          headers=as_yc)  # fmt: skip
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    offer = client.post(
        f"{API}/topup-offers",
        json={"min_topup_fen": 10_000, "items": [{"template_id": template["id"], "quantity": 10}]},
        headers=as_yc,
    )
    assert offer.status_code == 201, offer.get_json()
    assert offer.get_json()["text"] == "充值满 100.00 元，送 10 张优惠券，共 50.00 元"
    assert len(client.get(f"{API}/topup-offers", headers=as_yc).get_json()["items"]) == 1
    assert client.get(f"{API}/topup-offers", headers=as_kc).get_json()["items"] == []


def test_member_pricing_and_occupancy_policy_over_http(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    station = db.session.scalar(select(Station).where(Station.name == "云创·深圳南山科技园站"))
    assert station is not None
    groups = client.get(f"{API}/pricing-groups", headers=as_yc).get_json()["items"]
    assert [g["code"] for g in groups][:2] == ["ride_hailing", "taxi"]
    resp = client.put(f"{API}/service-discounts",
                      json={"group_code": "ride_hailing", "rate": "0.7", "reason": "网约车七折"},
                      headers=as_yc)  # fmt: skip
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["rate"] == "0.7000"
    bad = client.put(f"{API}/service-discounts", json={"group_code": "taxi", "rate": "70"},
                     headers=as_yc)  # fmt: skip
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "DISCOUNT_RATE_INVALID"
    policy_path = f"{API}/stations/{station.id}/occupancy-policy"
    assert client.get(policy_path, headers=as_yc).get_json()["is_active"] is False
    assert client.put(policy_path, json={"grace_minutes": 90, "price_per_minute": "0.10"},
                      headers=as_kc).status_code == 404  # fmt: skip
    resp = client.put(policy_path, json={"grace_minutes": 90, "price_per_minute": "0.10",
                                         "cap_fen": 5000, "reason": "开始收费"},
                      headers=as_yc)  # fmt: skip
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["price_per_minute"] == "0.1000"
    assert client.get(policy_path, headers=as_yc).get_json()["grace_minutes"] == 90
    assert client.delete(f"{policy_path}?reason=停止收费", headers=as_yc).status_code == 204
    assert client.get(policy_path, headers=as_yc).get_json()["is_active"] is False
    assert client.get(policy_path).status_code == 401


def test_a_coupon_template_shows_its_last_valid_local_second(
    client: FlaskClient, as_yc: dict[str, str]
) -> None:
    """Case #10: a window ending 2019-11-14 00:00 in Shanghai is shown as 2019-11-13 23:59:59,
    never as the next day's midnight nor as UTC."""
    body = {"name": "双十一券", "kind": "fixed", "amount_fen": 500,
            "valid_until": "2019-11-13T16:00:00+00:00"}  # fmt: skip
    fixed = client.post(f"{API}/coupon-templates", json=body, headers=as_yc)
    assert fixed.status_code == 201, fixed.get_json()
    assert fixed.get_json()["validity_text"] == "至 2019-11-13 23:59:59"
    monthly = {"name": "月券", "kind": "fixed", "amount_fen": 100, "validity_months": 1}
    client.post(f"{API}/coupon-templates", json=monthly, headers=as_yc)
    listed = client.get(f"{API}/coupon-templates", headers=as_yc).get_json()["items"]
    texts = {t["name"]: t["validity_text"] for t in listed}
    assert texts["月券"] == "领取当日起 1 个月（至最后一天 23:59:59）"
    assert texts["双十一券"] == "至 2019-11-13 23:59:59"


def test_a_topup_offer_is_stopped_and_restarted_audited_and_in_scope(
    client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    """营销 → 充值活动 停用: a stopped offer is listed as inactive (drivers no longer see it),
    another sub-operator cannot touch it, and each change is audited."""
    body = {"name": "充值券", "kind": "fixed", "amount_fen": 500, "validity_days": 30}
    template = client.post(f"{API}/coupon-templates", json=body, headers=as_yc).get_json()
    offer = client.post(
        f"{API}/topup-offers",
        json={"min_topup_fen": 10_000, "items": [{"template_id": template["id"], "quantity": 2}]},
        headers=as_yc,
    ).get_json()
    assert offer["is_active"] is True
    path = f"{API}/topup-offers/{offer['offer_id']}/active"
    assert client.put(path, json={"is_active": False}, headers=as_kc).status_code == 404
    resp = client.put(path, json={"is_active": False}, headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["is_active"] is False
    listed = client.get(f"{API}/topup-offers", headers=as_yc).get_json()["items"]
    assert [o["is_active"] for o in listed if o["offer_id"] == offer["offer_id"]] == [False]
    assert client.put(path, json={}, headers=as_yc).status_code == 422
    client.put(path, json={"is_active": True}, headers=as_yc)
    actions = db.session.scalars(
        select(AuditLog.after).where(
            AuditLog.action == "topup_offer.set_active",
            AuditLog.target_id == str(offer["offer_id"]),
        )
    ).all()
    assert actions == [{"is_active": False}, {"is_active": True}]
