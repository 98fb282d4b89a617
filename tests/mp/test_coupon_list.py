"""The driver's coupon list (issue 14): available / used / expired, only the driver's own,
the exact local end time (case #10), what each applies to, paged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.catalogue.models import Pile, Station
from app.charging.models import ChargeOrder
from app.extensions import db
from app.promotions import coupons
from app.promotions.models import Coupon, CouponTemplate
from app.tenancy.models import Driver
from app.tenancy.scope import SYSTEM
from tests.support.drivers import Login, Ops

URL = "/api/mp/v1/coupons"
FAR_END = datetime(2099, 1, 1, tzinfo=UTC)  # 2099-01-01 08:00 in Asia/Shanghai


def _driver(openid: str) -> Driver:
    driver = db.session.scalar(select(Driver).where(Driver.openid == openid))
    assert driver is not None
    return driver


def _template(ops: Ops, **kw: Any) -> CouponTemplate:
    data = {"name": "五元券", "kind": "fixed", "amount_fen": 500, "valid_until": FAR_END,
            "operator_id": ops.yc.id, **kw}  # fmt: skip
    return coupons.create_template(SYSTEM, data)


def _grant(template: CouponTemplate, driver: Driver, **kw: Any) -> Coupon:
    return coupons.grant(SYSTEM, template.id, driver.id, reason="测试", **kw)[0]


def _list(client: FlaskClient, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    resp = client.get(URL, headers=headers, query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()  # type: ignore[no-any-return]


def test_available_coupons_show_kind_amounts_and_local_end(
    client: FlaskClient, mp_login: Login, ops: Ops
) -> None:
    headers = mp_login("alice")
    coupon = _grant(_template(ops, kind="threshold", amount_fen=300, threshold_fen=2000),
                    _driver("alice"))  # fmt: skip
    db.session.commit()
    body = _list(client, headers)
    assert (body["total"], body["page"], body["page_size"]) == (1, 1, 20)
    item = body["items"][0]
    assert item == {
        "id": coupon.id, "name": "五元券", "kind": "threshold", "kind_name": "满减",
        "amount_fen": 300, "threshold_fen": 2000, "state": "available", "state_name": "可用",
        "applies_to": "电费和服务费", "station_names": [],
        "expires_at": "2099-01-01T00:00:00+00:00", "expires_local": "2099-01-01 07:59:59",
        "used_order_no": None,
    }  # fmt: skip


def test_case10_coupon_from_oct_14_valid_one_month_ends_2019_11_13_23_59_59(
    client: FlaskClient, mp_login: Login, ops: Ops
) -> None:
    headers = mp_login("alice")
    template = _template(ops, valid_until=None, validity_months=1)
    _grant(template, _driver("alice"), now=datetime(2019, 10, 14, 2, 30, tzinfo=UTC))
    db.session.commit()
    # the expiry job has not run: the coupon is still "available" in the table, yet past
    assert _list(client, headers)["total"] == 0
    item = _list(client, headers, state="expired")["items"][0]
    assert item["state"] == "expired" and item["state_name"] == "已过期"
    assert item["expires_at"] == "2019-11-13T16:00:00+00:00"  # 11-14 00:00 +08, exclusive
    assert item["expires_local"] == "2019-11-13 23:59:59"
    coupons.expire_coupons()
    assert _list(client, headers, state="expired")["total"] == 1


def test_another_drivers_coupons_are_not_shown(
    client: FlaskClient, mp_login: Login, ops: Ops
) -> None:
    alice, bob = mp_login("alice"), mp_login("bob")
    template = _template(ops)
    mine = _grant(template, _driver("alice"))
    _grant(template, _driver("bob"), quantity=3)
    db.session.commit()
    for state in ("available", "used", "expired"):
        ids = [i["id"] for i in _list(client, alice, state=state)["items"]]
        assert ids == ([mine.id] if state == "available" else [])
    assert _list(client, bob)["total"] == 3


def test_used_coupon_names_its_order_and_service_only_station_limited_applies_to(
    client: FlaskClient, mp_login: Login, ops: Ops
) -> None:
    headers = mp_login("alice")
    alice = _driver("alice")
    stations = list(
        db.session.scalars(
            select(Station).where(Station.operator_id == ops.yc.id).order_by(Station.id).limit(2)
        )
    )
    assert stations
    limited = _template(ops, name="免服务费", kind="service_only", percent="0",
                        amount_fen=0, station_ids=[s.id for s in stations])  # fmt: skip
    coupon = _grant(limited, alice)
    pile = db.session.scalar(select(Pile).where(Pile.station_id == stations[0].id))
    assert pile is not None
    order = ChargeOrder(order_no="T20261204000001", operator_id=ops.yc.id,
                        station_id=stations[0].id, pile_id=pile.id, driver_id=alice.id,
                        start_method="remote", state="settled")  # fmt: skip
    db.session.add(order)
    db.session.flush()
    coupon.status, coupon.used_order_id = "used", order.id
    coupon.used_at = datetime.now(UTC)
    db.session.commit()
    assert _list(client, headers)["total"] == 0
    item = _list(client, headers, state="used")["items"][0]
    assert (item["state"], item["state_name"]) == ("used", "已使用")
    assert item["used_order_no"] == "T20261204000001"
    assert item["kind_name"] == "仅抵服务费"
    names = [s.name for s in stations]
    assert item["station_names"] == names
    assert item["applies_to"] == f"服务费；限定站点：{'、'.join(names)}"


def test_revoked_coupons_are_not_listed_and_pages_are_counted(
    client: FlaskClient, mp_login: Login, ops: Ops
) -> None:
    headers = mp_login("alice")
    granted = coupons.grant(SYSTEM, _template(ops).id, _driver("alice").id, reason="测试",
                            quantity=5)  # fmt: skip
    granted[0].status = "revoked"
    db.session.commit()
    first = _list(client, headers, page=1, page_size=3)
    second = _list(client, headers, page=2, page_size=3)
    assert (first["total"], len(first["items"]), len(second["items"])) == (4, 3, 1)
    listed = {i["id"] for i in first["items"] + second["items"]}
    assert listed == {c.id for c in granted[1:]}
    for state in ("available", "used", "expired"):
        assert granted[0].id not in {i["id"] for i in _list(client, headers, state=state)["items"]}


def test_unknown_state_is_refused(client: FlaskClient, mp_login: Login, ops: Ops) -> None:
    resp = client.get(URL, headers=mp_login("alice"), query_string={"state": "revoked"})
    assert resp.status_code == 422
