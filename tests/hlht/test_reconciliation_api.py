"""Reconciliation with a partner (issue 11, case #14): the list of the partner's drivers'
orders on our piles, and the monthly statement export (both directions, one order a row,
a 合计 row per direction, to the fen), its month at the platform's wall clock (local
midnight), the platform's only, audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.billing.models import Bill
from app.catalogue.models import Pile
from app.charging.models import ChargeOrder, OrderState
from app.extensions import db
from app.hlht.models import CustomerOrder, CustomerState, Partner, RoamingOrder
from app.hlht.reconciliation import month_bounds
from app.tenancy.models import AuditLog, Driver, Operator
from tests.exports.test_member_export_api import sheet
from tests.support.hlht import register_partner

API = "/api/admin/v1/hlht"
SEQ = "MA07TEST1"  # the partner's StartChargeSeq prefix
OURS = "MA5EVOP01"  # ours


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _roaming(partner: Partner, n: int, settled: datetime, total: int, energy: int,
             *, disputed: bool = False, estimated: bool = False) -> ChargeOrder:  # fmt: skip
    pile = db.session.scalars(select(Pile).order_by(Pile.id)).first()
    assert pile is not None
    order = ChargeOrder(
        order_no=f"RO{n:04d}", operator_id=pile.operator_id, station_id=pile.station_id,
        pile_id=pile.id, connector_number=1, start_method="hlht", state=OrderState.SETTLED,
        energy_wh=energy, started_at=settled, stopped_at=settled,
    )  # fmt: skip
    db.session.add(order)
    db.session.flush()
    db.session.add(
        Bill(order_id=order.id, order_no=order.order_no, operator_id=order.operator_id,
             energy_wh=energy, electricity_fen=total - total // 3, service_fen=total // 3,
             total_fen=total, settled_at=settled, estimated=estimated)
    )  # fmt: skip
    db.session.add(
        RoamingOrder(partner_id=partner.id, start_charge_seq=SEQ + f"{n:018d}",
                     order_id=order.id, connector_code=f"{pile.code}01", disputed=disputed,
                     dispute_reason="ConfirmResult:1" if disputed else "")
    )  # fmt: skip
    return order


def _customer(partner: Partner, driver: Driver, n: int, settled: datetime,
              **columns: Any) -> CustomerOrder:  # fmt: skip
    order = CustomerOrder(
        order_no=f"HC{n:04d}", start_charge_seq=OURS + f"{n:018d}", partner_id=partner.id,
        driver_id=driver.id, connector_code="P1-1", state=CustomerState.SETTLED,
        settled_at=settled, started_at=settled, stopped_at=settled, **columns,
    )  # fmt: skip
    db.session.add(order)
    return order


def _world() -> tuple[Partner, Partner]:
    partner = register_partner()
    other = register_partner("MA08OTHR2")
    op = db.session.scalars(select(Operator).order_by(Operator.id)).first()
    assert op is not None
    driver = Driver(operator_id=op.id, openid="statement-driver")
    db.session.add(driver)
    db.session.flush()
    # November in Shanghai is [2026-10-31 16:00 UTC, 2026-11-30 16:00 UTC)
    _roaming(partner, 1, _utc(2026, 10, 31, 16, 0), 175, 1760)  # 11-01 00:00 local: in
    _roaming(partner, 2, _utc(2026, 11, 15, 3, 0), 1001, 10_005, disputed=True)
    _roaming(partner, 3, _utc(2026, 11, 30, 15, 59, 59), 33, 333, estimated=True)  # in
    _roaming(partner, 4, _utc(2026, 11, 30, 16, 0), 999, 999)  # 12-01 00:00 local: out
    _roaming(partner, 5, _utc(2026, 10, 31, 15, 59, 59), 999, 999)  # 10-31 23:59: out
    _roaming(other, 6, _utc(2026, 11, 15, 3, 0), 999, 999)  # another partner's
    # ours on its piles: one billed, one on our estimate, one reconciled (bill vs estimate)
    _customer(partner, driver, 1, _utc(2026, 11, 2, 1, 0), energy_wh=1760,
              partner_energy_wh=1760, partner_total_fen=175, partner_elec_fen=113,
              partner_service_fen=62, charged_fen=165, member_discount_fen=10)  # fmt: skip
    _customer(partner, driver, 2, _utc(2026, 11, 3, 1, 0), energy_wh=5000, estimated=True,
              estimate_fen=480, charged_fen=480, disputed=True,
              dispute_reason="check_orders:2")  # fmt: skip
    _customer(partner, driver, 3, _utc(2026, 11, 30, 15, 59, 59), energy_wh=2000,
              partner_energy_wh=2010, partner_total_fen=201, partner_elec_fen=141,
              partner_service_fen=60, estimate_fen=199, charged_fen=201,
              reconciled_at=_utc(2026, 12, 1, 0, 0))  # fmt: skip
    _customer(
        partner,
        driver,
        4,
        _utc(2026, 11, 30, 16, 0),
        energy_wh=1,
        partner_total_fen=999,
        charged_fen=999,
    )  # December: out
    db.session.commit()
    return partner, other


def test_month_bounds_are_local_midnights_in_shanghai() -> None:
    assert month_bounds("2026-11") == (
        datetime(2026, 11, 1, tzinfo=month_bounds("2026-11")[0].tzinfo),
        datetime(2026, 12, 1, tzinfo=month_bounds("2026-11")[0].tzinfo),
    )
    start, end = month_bounds("2026-12")
    assert start.astimezone(UTC) == _utc(2026, 11, 30, 16, 0)
    assert end.astimezone(UTC) == _utc(2026, 12, 31, 16, 0)  # into the next year


def test_the_statement_has_both_directions_of_the_month_with_totals_to_the_fen(
    client: FlaskClient, as_admin: dict[str, str]
) -> None:
    partner, _ = _world()
    resp = client.get(
        f"{API}/statement/export", query_string={"partner_id": partner.id, "month": "2026-11"},
        headers=as_admin,
    )  # fmt: skip
    rows = sheet(resp)
    assert resp.headers["X-Export-Rows"] == "8"  # 3 + 3 orders, 2 合计 rows
    assert "2026-11" in resp.headers["Content-Disposition"]
    assert "MA07TEST1" in str(rows[0][0]) and "2026-11" in str(rows[0][0])
    head = rows[1]
    assert head[:3] == ("方向", "订单号", "StartChargeSeq")
    col = {name: i for i, name in enumerate(head)}
    lines = rows[2:]
    assert [line[col["订单号"]] for line in lines] == [
        "RO0001", "RO0002", "RO0003", "3 单", "HC0001", "HC0002", "HC0003", "3 单",
    ]  # fmt: skip
    ours, ours_total = lines[:3], lines[3]
    assert {line[col["方向"]] for line in ours} == {"合作方车主·我方桩"}
    assert ours[0][col["结算时间"]] == datetime(2026, 11, 1, 0, 0)  # at the wall clock
    assert ours[1][col["争议"]] == "是" and ours[2][col["预估结算"]] == "是"
    assert ours_total[col["方向"]] == "合计 · 合作方车主·我方桩"
    assert round(ours_total[col["金额(元)"]] * 100) == 175 + 1001 + 33
    assert ours_total[col["电量(kWh)"]] == 12.098  # 1.760 + 10.005 + 0.333
    assert ours_total[col["争议"]] == "1 单"
    assert (
        round(ours_total[col["电费(元)"]] * 100) + round(ours_total[col["服务费(元)"]] * 100)
        == 175 + 1001 + 33
    )

    theirs, theirs_total = lines[4:7], lines[7]
    billed, estimated, reconciled = theirs
    assert billed[col["金额(元)"]] == 1.75 and billed[col["车主实付(元)"]] == 1.65
    assert billed[col["电费(元)"]] == 1.13 and billed[col["服务费(元)"]] == 0.62
    assert billed[col["我方预估(元)"]] is None
    # on our estimate: what we owe is the estimate, the partner's bill is empty
    assert estimated[col["金额(元)"]] == 4.8 and estimated[col["合作方账单(元)"]] is None
    assert estimated[col["预估结算"]] == "是" and estimated[col["争议"]] == "是"
    assert estimated[col["争议原因"]] == "check_orders:2"
    # reconciled: the partner's bill against our estimate, the partner's kWh
    assert (reconciled[col["合作方账单(元)"]], reconciled[col["我方预估(元)"]]) == (2.01, 1.99)
    assert reconciled[col["电量(kWh)"]] == 2.01 and reconciled[col["预估结算"]] is None
    assert round(theirs_total[col["金额(元)"]] * 100) == 175 + 480 + 201
    assert round(theirs_total[col["车主实付(元)"]] * 100) == 165 + 480 + 201
    assert round(theirs_total[col["我方预估(元)"]] * 100) == 480 + 199
    assert theirs_total[col["电量(kWh)"]] == 8.77  # 1.760 + 5.000 + 2.010
    assert theirs_total[col["争议"]] == "1 单"

    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "hlht.statement.export"))
    assert audit is not None and audit.target_id == str(partner.id)
    assert audit.after == {"filters": {"partner": "MA07TEST1", "month": "2026-11"}, "rows": 8}


def test_a_month_without_orders_is_two_zero_totals(
    client: FlaskClient, as_admin: dict[str, str]
) -> None:
    partner, _ = _world()
    resp = client.get(
        f"{API}/statement/export", query_string={"partner_id": partner.id, "month": "2025-11"},
        headers=as_admin,
    )  # fmt: skip
    lines = sheet(resp)[2:]
    assert [line[1] for line in lines] == ["0 单", "0 单"]
    assert [line[10] for line in lines] == [0, 0]


def test_the_statement_is_the_platforms_only_and_checks_its_month(
    client: FlaskClient, as_admin: dict[str, str], as_yc: dict[str, str]
) -> None:
    partner, _ = _world()
    query = {"partner_id": partner.id, "month": "2026-11"}
    refused = client.get(f"{API}/statement/export", query_string=query, headers=as_yc)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] in ("HLHT_PLATFORM_ONLY", "PERMISSION_DENIED")
    for month in ("2026-13", "2026-1", "202611", ""):
        bad = client.get(f"{API}/statement/export", query_string={**query, "month": month},
                         headers=as_admin)  # fmt: skip
        assert bad.status_code == 422, month
    missing = client.get(f"{API}/statement/export", query_string={**query, "partner_id": 99999},
                         headers=as_admin)  # fmt: skip
    assert missing.status_code == 404
    assert (
        db.session.scalar(select(AuditLog).where(AuditLog.action == "hlht.statement.export"))
        is None
    )  # nothing exported, nothing audited


def test_the_partners_drivers_orders_on_our_piles_are_listed_newest_first_and_filtered(
    client: FlaskClient, as_admin: dict[str, str], as_yc: dict[str, str]
) -> None:
    partner, other = _world()
    page = client.get(f"{API}/roaming-orders", headers=as_admin)
    assert page.status_code == 200, page.get_json()
    body = page.get_json()
    assert body["total"] == 6
    assert [i["order_no"] for i in body["items"]][:2] == ["RO0006", "RO0005"]
    mine = client.get(f"{API}/roaming-orders", query_string={"partner_id": partner.id},
                      headers=as_admin).get_json()  # fmt: skip
    assert mine["total"] == 5
    row = next(i for i in mine["items"] if i["order_no"] == "RO0002")
    assert row["partner_name"] == "测试互联平台" and row["operator_id"] == "MA07TEST1"
    assert row["start_charge_seq"] == SEQ + "2".zfill(18)
    assert (row["total_fen"], row["energy_wh"], row["disputed"]) == (1001, 10_005, True)
    assert row["pile_code"] and row["station_name"] is not None
    disputed = client.get(f"{API}/roaming-orders", query_string={"disputed": "true"},
                          headers=as_admin).get_json()  # fmt: skip
    assert [i["order_no"] for i in disputed["items"]] == ["RO0002"]
    estimated = client.get(f"{API}/roaming-orders", query_string={"estimated": "true"},
                           headers=as_admin).get_json()  # fmt: skip
    assert [i["order_no"] for i in estimated["items"]] == ["RO0003"]
    theirs = client.get(f"{API}/roaming-orders", query_string={"partner_id": other.id},
                        headers=as_admin).get_json()  # fmt: skip
    assert [i["order_no"] for i in theirs["items"]] == ["RO0006"]
    assert client.get(f"{API}/roaming-orders", query_string={"state": "x"},
                      headers=as_admin).status_code == 422  # fmt: skip
    assert client.get(f"{API}/roaming-orders", headers=as_yc).status_code == 403


def test_the_customer_orders_list_shows_our_estimate_beside_the_partners_bill(
    client: FlaskClient, as_admin: dict[str, str]
) -> None:
    partner, _ = _world()
    items = client.get(f"{API}/customer-orders", query_string={"partner_id": partner.id},
                       headers=as_admin).get_json()["items"]  # fmt: skip
    by_no = {i["order_no"]: i for i in items}
    assert (by_no["HC0003"]["partner_total_fen"], by_no["HC0003"]["estimate_fen"]) == (201, 199)
    assert (by_no["HC0002"]["partner_total_fen"], by_no["HC0002"]["estimate_fen"]) == (None, 480)
    assert by_no["HC0001"]["estimate_fen"] is None
