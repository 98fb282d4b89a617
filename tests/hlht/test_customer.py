"""We are the customer platform (issue 11): our drivers charge on a partner's piles. The
partner is played in memory (:class:`FakePartnerPlatform`); its notifications come in
over our ``/evcs/v1/`` with its envelope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.hlht import customer
from app.hlht.models import CustomerOrder, Partner, PartnerConnector, PartnerStation
from app.ledger import wallet
from app.ledger.models import WalletEntry
from tests.support.hlht import FakePartnerPlatform, PartnerCaller, register_partner
from tests.support.money import World, build_world

OPERATOR = "MA07TEST1"
CONNECTOR = "P1-1"
STATION_INFO = {
    "StationID": "S1", "OperatorID": OPERATOR, "StationName": "合作方一号站",
    "Address": "深圳市南山区", "StationLng": 113.95, "StationLat": 22.53, "StationStatus": 50,
    "EquipmentInfos": [{"EquipmentID": "P1", "Power": 60.0,
                        "ConnectorInfos": [{"ConnectorID": CONNECTOR, "Power": 60.0}]}],
}  # fmt: skip
POLICY = {
    "SuccStat": 0, "FailReason": 0, "SumPeriod": 1,
    # the standard's own typo, as the partner spells it
    "PolicyInfos": [{"StartTime": "000000", "ElecPrice": 0.6420, "SevicePrice": 0.3523}],
}  # fmt: skip


@pytest.fixture
def world(app: Flask) -> World:
    return build_world(app, code="CUST-PILE-01", balance=10_000)


@pytest.fixture
def platform() -> FakePartnerPlatform:
    return FakePartnerPlatform()


@pytest.fixture
def partner(app: Flask, world: World) -> Partner:
    return register_partner(base_url="http://partner.test")


@pytest.fixture
def caller(app: Flask, partner: Partner) -> PartnerCaller:
    c = PartnerCaller(app.test_client())
    c.login()
    return c


def _synced(partner: Partner, platform: FakePartnerPlatform) -> customer.SyncReport:
    platform.answers["query_stations_info"] = [
        {"PageNo": 1, "PageCount": 1, "ItemSize": 1, "StationInfos": [STATION_INFO]}
    ]
    platform.answers["query_station_status"] = [
        {"Total": 1, "StationStatusInfos": [
            {"StationID": "S1", "ConnectorStatusInfos": [{"ConnectorID": CONNECTOR, "Status": 1}]}
        ]}
    ]  # fmt: skip
    platform.answers["query_equip_business_policy"] = [dict(POLICY)]
    return customer.sync_partner(partner, platform.session())


def _start(world: World, platform: FakePartnerPlatform) -> CustomerOrder:
    return customer.start(world.driver, CONNECTOR, OPERATOR, "/custom-7", platform.session())


def _entries() -> list[WalletEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(WalletEntry).where(WalletEntry.ref_type == "hlht_order").order_by(WalletEntry.id)
        )
    )


def test_sync_keeps_the_partners_stations_status_and_policy(
    partner: Partner, platform: FakePartnerPlatform
) -> None:
    report = _synced(partner, platform)
    assert (report.stations, report.connectors, report.policies) == (1, 1, 1)
    station = db.session.scalar(select(PartnerStation))
    assert station is not None and station.name == "合作方一号站"
    assert station.partner_id == partner.id
    conn = db.session.scalar(select(PartnerConnector))
    assert conn is not None and conn.status == 1 and conn.power_w == 60_000
    assert conn.policy == [{"start_minute": 0, "elec": "0.6420", "service": "0.3523"}]
    # a second sync updates the same rows
    _synced(partner, platform)
    assert db.session.scalar(select(func.count()).select_from(PartnerConnector)) == 1
    asked = dict(platform.received)
    assert asked["query_stations_info"]["PageSize"] == 50
    assert len(asked["query_equip_business_policy"]["EquipBizSeq"]) == 27


def test_sync_follows_every_page(partner: Partner, platform: FakePartnerPlatform) -> None:
    second = {**STATION_INFO, "StationID": "S2",
              "EquipmentInfos": [{"EquipmentID": "P2",
                                  "ConnectorInfos": [{"ConnectorID": "P2-1"}]}]}  # fmt: skip
    platform.answers["query_stations_info"] = [
        {"PageNo": 1, "PageCount": 2, "StationInfos": [STATION_INFO]},
        {"PageNo": 2, "PageCount": 2, "StationInfos": [second]},
    ]
    report = customer.sync_partner(partner, platform.session())
    assert report.stations == 2
    pages = [d["PageNo"] for i, d in platform.received if i == "query_stations_info"]
    assert pages == [1, 2]


def test_a_scan_starts_through_auth_then_start_with_our_seq_and_the_custom_part(
    partner: Partner, world: World, platform: FakePartnerPlatform
) -> None:
    _synced(partner, platform)
    platform.answers["query_start_charge"] = [
        {"SuccStat": 0, "FailReason": 0, "StartChargeSeqStat": 1}
    ]
    order = _start(world, platform)
    assert platform.interfaces()[-2:] == ["query_equip_auth", "query_start_charge"]
    sent = platform.received[-1][1]
    assert sent["QRCode"] == "custom-7" and sent["ConnectorID"] == CONNECTOR
    assert sent["StartChargeSeq"] == order.start_charge_seq
    assert len(order.start_charge_seq) == 27 and order.start_charge_seq.startswith("MA5EVOP01")
    assert order.state == "starting" and order.driver_id == world.driver.id


def test_an_unknown_operator_is_refused_in_chinese(world: World) -> None:
    with pytest.raises(DomainError) as err:
        customer.start(world.driver, CONNECTOR, "MA09NONE0", "", None)
    assert err.value.code == "HLHT_PARTNER_UNKNOWN" and "互联" in err.value.message


def test_a_refused_auth_opens_no_order(
    partner: Partner, world: World, platform: FakePartnerPlatform
) -> None:
    platform.answers["query_equip_auth"] = [{"SuccStat": 1, "FailReason": 1}]
    with pytest.raises(DomainError) as err:
        _start(world, platform)
    assert err.value.code == "HLHT_AUTH_REFUSED"
    assert db.session.scalar(select(func.count()).select_from(CustomerOrder)) == 0


def test_an_unfunded_driver_is_refused_before_asking_the_partner(
    app: Flask, partner: Partner, platform: FakePartnerPlatform
) -> None:
    poor = build_world(app, name="穷运营商", code="CUST-POOR-01", balance=0)
    with pytest.raises(DomainError) as err:
        _start(poor, platform)
    assert err.value.code == "WALLET_INSUFFICIENT" and platform.received == []


def test_one_running_order_per_driver(
    partner: Partner, world: World, platform: FakePartnerPlatform
) -> None:
    first = _start(world, platform)
    with pytest.raises(DomainError) as err:
        _start(world, platform)
    assert err.value.code == "HLHT_ORDER_RUNNING"
    assert err.value.details["order_no"] == first.order_no


def test_a_refused_start_fails_the_order_and_charges_nothing(
    partner: Partner, world: World, platform: FakePartnerPlatform
) -> None:
    platform.answers["query_start_charge"] = [{"SuccStat": 1, "FailReason": 2}]
    with pytest.raises(DomainError) as err:
        _start(world, platform)
    assert err.value.code == "HLHT_START_FAILED"
    order = db.session.scalar(select(CustomerOrder))
    assert order is not None and order.state == "failed" and _entries() == []


def test_a_lost_start_answer_is_followed_by_a_status_query_not_a_second_start(
    partner: Partner, world: World, platform: FakePartnerPlatform
) -> None:
    platform.answers["query_start_charge"] = [500]
    platform.answers["query_equip_charge_status"] = [
        {"StartChargeSeqStat": 2, "TotalPower": 0.1, "TotalMoney": 0}
    ]
    order = _start(world, platform)
    assert platform.interfaces().count("query_start_charge") == 1
    assert platform.interfaces()[-1] == "query_equip_charge_status"
    assert order.state == "charging"


def test_a_token_refused_on_start_is_not_retried_blindly(
    partner: Partner, world: World, platform: FakePartnerPlatform
) -> None:
    platform.answers["query_start_charge"] = [4002]
    platform.answers["query_equip_charge_status"] = [{"StartChargeSeqStat": 1}]
    _start(world, platform)
    assert platform.interfaces().count("query_start_charge") == 1


def test_the_live_amount_comes_from_the_policy_when_the_partner_says_0(
    partner: Partner, world: World, platform: FakePartnerPlatform, caller: PartnerCaller
) -> None:
    _synced(partner, platform)
    order = _start(world, platform)
    ret, data = caller.call(
        "notification_equip_charge_status",
        {"StartChargeSeq": order.start_charge_seq, "StartChargeSeqStat": 2,
         "ConnectorID": CONNECTOR, "TotalPower": 1.76, "TotalMoney": 0},
    )  # fmt: skip
    assert ret == 0 and data["SuccStat"] == 0
    db.session.expire_all()
    live = db.session.get(CustomerOrder, order.id)
    assert live is not None and live.state == "charging" and live.energy_wh == 1760
    # case #18 2020: never 0 — 1.76 kWh at 0.6420 + 0.3523 → 113 + 62 fen
    assert customer.running_amount_fen(live) == 175


def test_a_status_for_an_unknown_seq_is_4004_and_changes_nothing(caller: PartnerCaller) -> None:
    ret, _ = caller.call(
        "notification_equip_charge_status", {"StartChargeSeq": "MA5EVOP01" + "0" * 18}
    )
    assert ret == 4004


def _order_info(order: CustomerOrder, total: float, kwh: float) -> dict:
    return {
        "StartChargeSeq": order.start_charge_seq, "ConnectorID": CONNECTOR,
        "StartTime": "2026-12-04 10:00:00", "EndTime": "2026-12-04 10:30:00",
        "TotalPower": kwh, "TotalElecMoney": 1.13, "TotalSeviceMoney": 0.62,
        "TotalMoney": total, "StopReason": 1,
    }  # fmt: skip


def test_the_order_info_is_charged_once(
    partner: Partner, world: World, platform: FakePartnerPlatform, caller: PartnerCaller
) -> None:
    order = _start(world, platform)
    before = wallet.balance_of(world.driver.id)
    ret, data = caller.call("notification_charge_order_info", _order_info(order, 1.75, 1.76))
    assert ret == 0 and data["ConfirmResult"] == 0
    ret, data = caller.call("notification_charge_order_info", _order_info(order, 1.75, 1.76))
    assert ret == 0 and data["ConfirmResult"] == 0
    db.session.expire_all()
    assert wallet.balance_of(world.driver.id) == before - 175
    assert [e.amount_fen for e in _entries()] == [-175]
    settled = db.session.get(CustomerOrder, order.id)
    assert settled is not None and settled.state == "settled" and not settled.estimated
    assert (settled.partner_total_fen, settled.energy_wh) == (175, 1760)


def test_stop_asks_query_stop_charge_and_the_results_finish_the_order(
    partner: Partner, world: World, platform: FakePartnerPlatform, caller: PartnerCaller
) -> None:
    order = _start(world, platform)
    caller.call("notification_start_charge_result",
                {"StartChargeSeq": order.start_charge_seq, "StartChargeSeqStat": 2,
                 "ConnectorID": CONNECTOR, "StartTime": "2026-12-04 10:00:00"})  # fmt: skip
    db.session.expire_all()
    stopped = customer.stop(world.driver, order.order_no, platform.session())
    assert stopped.state == "stopping" and platform.interfaces()[-1] == "query_stop_charge"
    ret, data = caller.call(
        "notification_stop_charge_result",
        {"StartChargeSeq": order.start_charge_seq, "StartChargeSeqStat": 4, "SuccStat": 0,
         "FailReason": 0, "ConnectorID": CONNECTOR},
    )  # fmt: skip
    assert ret == 0 and data["SuccStat"] == 0
    db.session.expire_all()
    done = db.session.get(CustomerOrder, order.id)
    assert done is not None and done.state == "finished"
    with pytest.raises(DomainError) as err:
        customer.stop(world.driver, order.order_no, platform.session())
    assert err.value.code == "ORDER_NOT_STOPPABLE"


def test_a_lost_order_info_is_estimated_then_reconciled(
    partner: Partner, world: World, platform: FakePartnerPlatform, caller: PartnerCaller
) -> None:
    _synced(partner, platform)
    order = _start(world, platform)
    before = wallet.balance_of(world.driver.id)
    caller.call("notification_equip_charge_status",
                {"StartChargeSeq": order.start_charge_seq, "StartChargeSeqStat": 2,
                 "TotalPower": 1.76})  # fmt: skip
    caller.call("notification_stop_charge_result",
                {"StartChargeSeq": order.start_charge_seq, "StartChargeSeqStat": 4,
                 "SuccStat": 0})  # fmt: skip
    db.session.expire_all()
    assert customer.estimate_lost_orders(utcnow() + timedelta(minutes=5)) == 0  # not yet
    assert customer.estimate_lost_orders(utcnow() + timedelta(hours=1)) == 1
    db.session.expire_all()
    estimated = db.session.get(CustomerOrder, order.id)
    assert estimated is not None and estimated.estimated and estimated.state == "settled"
    assert estimated.estimate_fen == 175  # our estimate, kept for the statement
    assert wallet.balance_of(world.driver.id) == before - 175
    assert customer.estimate_lost_orders(utcnow() + timedelta(hours=2)) == 0  # once
    # the partner's order comes late, for more energy: the difference is taken
    ret, _ = caller.call("notification_charge_order_info", _order_info(order, 2.10, 2.11))
    assert ret == 0
    db.session.expire_all()
    assert wallet.balance_of(world.driver.id) == before - 210
    assert [e.amount_fen for e in _entries()] == [-175, -35]
    final = db.session.get(CustomerOrder, order.id)
    assert final is not None and not final.estimated and final.reconciled_at is not None
    assert (final.partner_total_fen, final.estimate_fen) == (210, 175)  # bill vs estimate
    caller.call("notification_charge_order_info", _order_info(order, 2.10, 2.11))
    assert [e.amount_fen for e in _entries()] == [-175, -35]


def _check(seq: str, *orders: tuple[str, float, float]) -> dict:
    return {
        "CheckOrderSeq": seq, "StartTime": "2026-12-04 00:00:00",
        "EndTime": "2026-12-04 23:59:59", "OrderCount": len(orders),
        "TotalOrderPower": sum(o[1] for o in orders), "TotalOrderMoney": sum(o[2] for o in orders),
        "ChargeOrders": [{"StartChargeSeq": s, "TotalPower": kwh, "TotalMoney": money}
                         for s, kwh, money in orders],
    }  # fmt: skip


def test_the_partners_check_charge_orders_is_answered_with_our_disputes_and_moves_no_money(
    partner: Partner, world: World, platform: FakePartnerPlatform, caller: PartnerCaller
) -> None:
    agreed = _start(world, platform)
    caller.call("notification_charge_order_info", _order_info(agreed, 1.75, 1.76))
    db.session.expire_all()
    customer_order = db.session.get(CustomerOrder, agreed.id)
    assert customer_order is not None
    customer_order.state = "settled"  # the driver's next order may start
    db.session.commit()
    balance = wallet.balance_of(world.driver.id)
    seq = "MA07TEST1" + "2026120500000001"[:18].ljust(18, "0")
    check = _check(
        seq,
        (agreed.start_charge_seq, 1.76, 1.75),
        ("MA07TEST1NOSUCHORDER0000001", 2.0, 3.0),
    )
    ret, data = caller.call("check_charge_orders", check)
    assert ret == 0 and data["CheckOrderSeq"] == seq
    assert data["TotalDisputeOrder"] == 1
    assert (data["TotalDisputePower"], data["TotalDisputeMoney"]) == (2.0, 3.0)  # from integers
    assert data["DisputeOrders"] == [
        {"StartChargeSeq": "MA07TEST1NOSUCHORDER0000001", "TotalPower": 2.0, "TotalMoney": 3.0,
         "DisputeReason": customer.DISPUTE_UNKNOWN}
    ]  # fmt: skip
    db.session.expire_all()
    held = db.session.get(CustomerOrder, agreed.id)
    assert held is not None and not held.disputed
    # the partner says more money than its own order info did: disputed with our figures
    ret, data = caller.call(
        "check_charge_orders", _check(seq, (agreed.start_charge_seq, 1.76, 1.95))
    )
    assert ret == 0 and data["TotalDisputeOrder"] == 1 and data["TotalDisputeMoney"] == 1.75
    (dispute,) = data["DisputeOrders"]
    assert dispute["DisputeReason"] == customer.DISPUTE_MONEY and dispute["TotalMoney"] == 1.75
    ret, data = caller.call(
        "check_charge_orders", _check(seq, (agreed.start_charge_seq, 1.80, 1.75))
    )
    assert data["DisputeOrders"][0]["DisputeReason"] == customer.DISPUTE_ENERGY
    assert data["DisputeOrders"][0]["TotalPower"] == 1.76
    db.session.expire_all()
    held = db.session.get(CustomerOrder, agreed.id)
    assert held is not None and held.disputed and held.dispute_reason == "check_orders:3"
    assert wallet.balance_of(world.driver.id) == balance  # reconciliation moves no money
    assert [e.amount_fen for e in _entries()] == [-175]


def test_a_check_charge_orders_without_its_orders_is_4004_and_changes_nothing(
    partner: Partner, world: World, platform: FakePartnerPlatform, caller: PartnerCaller
) -> None:
    order = _start(world, platform)
    bad = {"CheckOrderSeq": "MA07TEST1" + "0" * 18, "ChargeOrders": [
        {"StartChargeSeq": order.start_charge_seq, "TotalPower": 1.0, "TotalMoney": 9.0},
        {"StartChargeSeq": order.start_charge_seq},
    ]}  # fmt: skip
    ret, _ = caller.call("check_charge_orders", bad)
    assert ret == 4004
    ret, _ = caller.call("check_charge_orders", {"CheckOrderSeq": "MA07TEST1" + "0" * 18})
    assert ret == 4004
    db.session.expire_all()
    held = db.session.get(CustomerOrder, order.id)
    assert held is not None and not held.disputed  # the first item's dispute rolled back
