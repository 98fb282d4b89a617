"""The console's order search and order detail: filters, paging, scope, case #12 and #18."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from app.catalogue.models import StationVisibility
from app.charging.models import ChargeOrder
from app.charging.port import ConnectorState
from app.drivers import members
from app.extensions import db
from app.tenancy.models import Operator
from tests.support.money import World, build_world, recent
from tests.support.settings import ON_POSTGRES

API = "/api/admin/v1"
_BASE = recent(8)  # 20 minutes' worth of orders an hour apart stay within one local day


def _operator(name: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    assert op is not None
    return op


def _settled(world: World, hours: float, wh: int) -> str:
    # hours before one base time: recent() moves a time out of a day's last two hours,
    # which once put the "4 hours ago" order before the "5 hours ago" one (at 22:xx local)
    t0 = _BASE + timedelta(hours=5 - hours)
    ref = world.start(t0, samples=[(5, wh // 2), (10, wh)])
    world.stop(ref, t0 + timedelta(minutes=12), wh)
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=13))
    return world.order(ref).order_no


def test_order_search_filters_pages_and_scopes(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str],
    as_admin: dict[str, str],
) -> None:  # fmt: skip
    yc = build_world(app, operator=_operator("广东云创"), code="YC-SEARCH-01")
    yc.connect(_BASE - timedelta(hours=1))
    first = _settled(yc, 5, 1000)
    second = _settled(yc, 4, 2000)
    page = client.get(f"{API}/orders?page_size=1", headers=as_yc).get_json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert page["items"][0]["order"]["order_no"] == second  # newest first
    row = client.get(f"{API}/orders?order_no={first}", headers=as_yc).get_json()["items"]
    assert [r["order"]["order_no"] for r in row] == [first]
    assert row[0]["pile_code"] == "YC-SEARCH-01" and row[0]["station_name"] == "YC-SEARCH-01 站"
    assert row[0]["read_only"] is False
    by_pile = client.get(f"{API}/orders?pile_code=YC-SEARCH-01&state=settled", headers=as_yc)
    assert by_pile.get_json()["total"] == 2
    by_openid = client.get(f"{API}/orders?openid=YC-SEARCH-01-openid", headers=as_yc)
    assert by_openid.get_json()["total"] == 2
    assert client.get(f"{API}/orders?openid=nobody", headers=as_yc).get_json()["total"] == 0
    since = (_BASE + timedelta(hours=1) - timedelta(minutes=30)).isoformat()
    in_range = client.get(f"{API}/orders", query_string={"since": since}, headers=as_yc)
    assert [r["order"]["order_no"] for r in in_range.get_json()["items"]] == [second]
    # another sub-operator sees none of these; the platform sees them all
    assert client.get(f"{API}/orders", headers=as_kc).get_json()["total"] == 0
    assert client.get(f"{API}/orders/by-no/{first}", headers=as_kc).status_code == 404
    assert client.get(f"{API}/orders?order_no={first}", headers=as_admin).get_json()["total"] == 1
    bad = client.get(f"{API}/orders?state=nonsense", headers=as_yc)
    assert bad.status_code == 422 and "订单状态无效" in str(bad.get_json())


def test_order_number_search_finds_a_whole_number_exactly_a_part_inside_and_wildcards_literally(
    app: Any, client: FlaskClient, as_yc: dict[str, str]
) -> None:
    yc = build_world(app, operator=_operator("广东云创"), code="YC-SEARCH-03")
    yc.connect(_BASE - timedelta(hours=1))
    first = _settled(yc, 5, 1000)
    second = _settled(yc, 4, 2000)

    def found(typed: str) -> list[str]:
        resp = client.get(f"{API}/orders", query_string={"order_no": typed}, headers=as_yc)
        return [r["order"]["order_no"] for r in resp.get_json()["items"]]

    assert found(first) == [first]  # the whole number (through the unique index)
    assert found(f"  {second} ") == [second]  # pasted with spaces
    assert set(found(first[:7])) >= {first} and set(found(second[-6:])) == {second}
    assert found("%") == [] and found("_") == []  # a typed % or _ is a character, not a wildcard


def test_order_detail_itemised_bill_timeline_and_samples(
    app: Any, client: FlaskClient, as_yc: dict[str, str]
) -> None:
    yc = build_world(app, operator=_operator("广东云创"), code="YC-DETAIL-01")
    yc.connect(_BASE - timedelta(hours=1))
    order_no = _settled(yc, 5, 1500)
    resp = client.get(f"{API}/orders/by-no/{order_no}", headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    items = body["items"]
    assert items["energy_wh"] == 1500
    assert items["total_fen"] == (
        items["electricity_fen"] + items["service_fen"] - items["member_discount_fen"]
        + items["occupancy_fen"] - items["coupon_fen"]
    )  # fmt: skip
    assert items["total_fen"] == body["bill"]["total_fen"] > 0
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds[0] == "requested" and "started" in kinds
    assert any(e["label"] == "充电桩消息" for e in body["timeline"])
    ats = [e["at"] for e in body["timeline"]]
    assert ats == sorted(ats)
    assert [s["energy_wh"] for s in body["samples"]][-2:] == [750, 1500]
    assert body["order"]["state"] == "settled" and body["order"]["stop_reason"]
    missing = client.get(f"{API}/orders/by-no/NOPE", headers=as_yc)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "ORDER_NOT_FOUND"


def test_sub_operator_sees_its_drivers_orders_at_a_shared_station_read_only(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    """Case #12: 云创's driver charging at a 快充 station shared with 云创."""
    yc, kc = _operator("广东云创"), _operator("深圳快充")
    world = build_world(app, operator=kc, code="KC-SHARED-01")
    world.connect(_BASE - timedelta(hours=1))
    shared_no = _settled(world, 5, 800)
    own_no = _settled(world, 4, 900)
    yc_driver = members.create_driver(yc.id, openid="yc-roamer", nickname="云创车主")
    db.session.add(StationVisibility(station_id=world.station.id, operator_id=yc.id))
    shared = db.session.scalar(select(ChargeOrder).where(ChargeOrder.order_no == shared_no))
    assert shared is not None
    shared.driver_id = yc_driver.id
    db.session.commit()
    rows = client.get(f"{API}/orders", headers=as_yc).get_json()["items"]
    assert [r["order"]["order_no"] for r in rows] == [shared_no]
    assert rows[0]["read_only"] is True
    detail = client.get(f"{API}/orders/by-no/{shared_no}", headers=as_yc)
    assert detail.status_code == 200 and detail.get_json()["read_only"] is True
    # the station's own driver's order stays 快充's alone
    assert client.get(f"{API}/orders/by-no/{own_no}", headers=as_yc).status_code == 404
    kc_rows = client.get(f"{API}/orders", headers=as_kc).get_json()
    assert kc_rows["total"] == 2 and all(not r["read_only"] for r in kc_rows["items"])
    # read-only: the bill and the correction stay with the station's operator
    assert client.get(f"{API}/orders/{shared.id}/bill", headers=as_yc).status_code == 404


def test_correction_preview_is_the_bill_the_correction_then_makes(
    app: Any, client: FlaskClient, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    yc = build_world(app, operator=_operator("广东云创"), code="YC-PREVIEW-01")
    yc.connect(_BASE - timedelta(hours=1))
    order_no = _settled(yc, 5, 2000)
    order = db.session.scalar(select(ChargeOrder).where(ChargeOrder.order_no == order_no))
    assert order is not None
    before_total = order.total_fen
    path = f"{API}/orders/{order.id}/corrections"
    resp = client.post(f"{path}/preview", json={"energy_wh": 1200}, headers=as_yc)
    assert resp.status_code == 200, resp.get_json()
    preview = resp.get_json()
    assert preview["total_before_fen"] == before_total
    assert 0 < preview["total_after_fen"] < before_total and preview["energy_wh"] == 1200
    assert preview["refund_fen"] == before_total - preview["total_after_fen"]
    db.session.expire_all()
    assert db.session.get(ChargeOrder, order.id).energy_wh == 2000  # nothing written
    assert client.post(f"{path}/preview", json={"energy_wh": 1}, headers=as_kc).status_code == 404
    empty = client.post(f"{path}/preview", json={}, headers=as_yc)
    assert empty.status_code == 422 and empty.get_json()["error"]["code"] == "CORRECTION_EMPTY"
    done = client.post(path, json={"energy_wh": 1200, "reason": "电表核对"}, headers=as_yc)
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["bill"]["total_fen"] == preview["total_after_fen"]
    assert done.get_json()["refund_fen"] == preview["refund_fen"]
    # an end time before the end of charge: the preview again matches what the correction does
    end = (_BASE + timedelta(minutes=6)).isoformat()  # the order started at _BASE
    preview2 = client.post(f"{path}/preview", json={"ended_at": end}, headers=as_yc).get_json()
    done2 = client.post(path, json={"ended_at": end, "reason": "提前拔枪"}, headers=as_yc)
    assert done2.status_code == 201, done2.get_json()
    assert done2.get_json()["bill"]["total_fen"] == preview2["total_after_fen"]
    assert done2.get_json()["refund_fen"] == preview2["refund_fen"]


@pytest.mark.skipif(not ON_POSTGRES, reason="the trigram index is PostgreSQL's alone")
def test_order_number_part_search_is_answered_by_the_trigram_index_on_postgresql(
    app: Any, demo: Any
) -> None:
    """The search by part of a number keeps a shape the trigram index can answer (plain
    LIKE on the column, escaped), so 1,000,000 orders are not scanned (bench_console)."""
    from app.charging.order_search import order_filter
    from app.tenancy.scope import SYSTEM

    stmt = order_filter(SYSTEM, order_no="2612%04")  # a typed % stays escaped
    sql = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a few rows: else a scan
    plan = "\n".join(db.session.scalars(text(f"EXPLAIN {sql}")))
    assert "ix_charge_orders_order_no_trgm" in plan, plan
