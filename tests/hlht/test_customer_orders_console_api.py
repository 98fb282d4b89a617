"""The platform's operator reviews our drivers' orders on partners' piles (issue 11, we
are the customer platform): listed newest first, filtered, marked disputed or estimated;
sub-operators see nothing (the partners are the platform's)."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.extensions import db
from app.hlht.models import CustomerOrder, CustomerState
from app.tenancy.models import Driver, Operator
from tests.support.hlht import register_partner

API = "/api/admin/v1/hlht/customer-orders"


def _orders() -> tuple[CustomerOrder, CustomerOrder]:
    partner = register_partner(base_url="http://partner.test")
    op = Operator(name="客户方运营商", kind="sub")
    db.session.add(op)
    db.session.flush()
    driver = Driver(operator_id=op.id, openid="console-partner-orders")
    db.session.add(driver)
    db.session.flush()
    settled = CustomerOrder(
        order_no="HC0001", start_charge_seq="MA5EVOP01" + "1" * 18, partner_id=partner.id,
        driver_id=driver.id, connector_code="P1-1", state=CustomerState.SETTLED,
        energy_wh=1760, partner_total_fen=175, charged_fen=165, member_discount_fen=10,
        disputed=True, dispute_reason="check_orders:2",
    )  # fmt: skip
    running = CustomerOrder(
        order_no="HC0002", start_charge_seq="MA5EVOP01" + "2" * 18, partner_id=partner.id,
        driver_id=driver.id, connector_code="P1-1", state=CustomerState.CHARGING,
    )  # fmt: skip
    db.session.add_all([settled, running])
    db.session.commit()
    return settled, running


def test_the_operator_lists_our_drivers_partner_orders_newest_first_and_filters_them(
    client: FlaskClient, as_admin: dict[str, str], as_yc: dict[str, str]
) -> None:
    settled, running = _orders()
    page = client.get(API, headers=as_admin)
    assert page.status_code == 200, page.get_json()
    body = page.get_json()
    assert body["total"] == 2
    assert [i["order_no"] for i in body["items"]] == ["HC0002", "HC0001"]
    row = body["items"][1]
    assert row["partner_name"] == "测试互联平台" and row["operator_id"] == "MA07TEST1"
    assert (row["partner_total_fen"], row["member_discount_fen"], row["charged_fen"]) == (
        175, 10, 165,
    )  # fmt: skip
    assert row["disputed"] and row["dispute_reason"] == "check_orders:2"
    assert body["items"][0]["partner_total_fen"] is None
    disputed = client.get(API, query_string={"disputed": "true"}, headers=as_admin).get_json()
    assert [i["order_no"] for i in disputed["items"]] == ["HC0001"]
    charging = client.get(API, query_string={"state": "charging"}, headers=as_admin).get_json()
    assert [i["order_no"] for i in charging["items"]] == ["HC0002"]
    other = client.get(
        API, query_string={"partner_id": settled.partner_id + 1000}, headers=as_admin
    ).get_json()
    assert other["total"] == 0
    assert client.get(API, query_string={"state": "nonsense"}, headers=as_admin).status_code == 422
    assert client.get(API, headers=as_yc).status_code == 403
    assert running.driver_id == settled.driver_id
