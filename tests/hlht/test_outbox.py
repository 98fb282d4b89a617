"""Notifications to a partner (issue 11 #2): the outbox and its push log. A partner's
order is told from start to bill (totals equal to ours, to the fen), charging status
every 50 s, connector changes; failed pushes are retried a minute apart and then given
up visibly; a token refused is fetched again once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.billing import lost_bills
from app.billing.models import Bill
from app.charging.commands import COMMAND_PORT
from app.charging.models import ChargeOrder
from app.charging.port import ConnectorState, SessionStarted
from app.db import utcnow
from app.extensions import db
from app.hlht import outbox
from app.hlht.models import Push, PushAttempt, RoamingOrder
from app.state import state_of
from tests.support.hlht import FakePartnerPlatform, PartnerCaller, register_partner
from tests.support.money import World, build_world
from tests.support.ports import FakePort

CONNECTOR = "HLHT-PILE-02-1"


@pytest.fixture
def port(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FakePort:
    fake = FakePort()
    monkeypatch.setitem(state_of(app), COMMAND_PORT, fake)
    return fake


@pytest.fixture
def world(app: Flask, port: FakePort) -> World:
    w = build_world(app, code="HLHT-PILE-02")
    w.connect(utcnow() - timedelta(hours=1))
    return w


@pytest.fixture
def platform() -> FakePartnerPlatform:
    return FakePartnerPlatform()


@pytest.fixture
def partner(app: Flask, world: World) -> PartnerCaller:
    register_partner(base_url="http://partner.test")
    caller = PartnerCaller(app.test_client())
    caller.login()
    return caller


def _pushes(interface: str | None = None) -> list[Push]:
    db.session.expire_all()
    stmt = select(Push).order_by(Push.id)
    if interface:
        stmt = stmt.where(Push.interface == interface)
    return list(db.session.scalars(stmt))


def _charge(partner: PartnerCaller, world: World, began: datetime) -> tuple[str, str]:
    """A partner's start that the pile confirms at ``began``; (StartChargeSeq, ref)."""
    seq = partner.seq()
    ret, data = partner.call(
        "query_start_charge", {"StartChargeSeq": seq, "ConnectorID": CONNECTOR}
    )
    assert ret == 0 and data["SuccStat"] == 0
    order = db.session.scalar(select(ChargeOrder).order_by(ChargeOrder.id.desc()))
    assert order is not None
    reply = world.svc.handle(
        SessionStarted(world.code, 1, began, meter_start_wh=0, id_tag=order.order_no,
                       initiated_by="remote")
    )  # fmt: skip
    assert reply.session_ref
    return seq, reply.session_ref


def test_a_partner_order_is_told_from_start_to_bill(
    partner: PartnerCaller, world: World, platform: FakePartnerPlatform
) -> None:
    http = platform.session()
    began = utcnow() - timedelta(minutes=30)
    seq, ref = _charge(partner, world, began)
    now = utcnow()
    outbox.run(now, http)
    assert platform.interfaces() == [
        "notification_start_charge_result", "notification_equip_charge_status"
    ]  # fmt: skip
    start = platform.received[0][1]
    assert (start["StartChargeSeq"], start["StartChargeSeqStat"]) == (seq, 2)
    outbox.run(now + timedelta(seconds=20), http)  # not yet 50 s
    assert len(platform.received) == 2
    world.sample(ref, began + timedelta(minutes=10), 1760)
    outbox.run(now + timedelta(seconds=50), http)
    status = platform.received[-1][1]
    assert platform.interfaces()[-1] == "notification_equip_charge_status"
    assert (status["TotalPower"], status["TotalMoney"], status["SeviceMoney"]) == (1.76, 1.75, 0.62)
    ret, _ = partner.call("query_stop_charge", {"StartChargeSeq": seq, "ConnectorID": CONNECTOR})
    assert ret == 0
    world.stop(ref, began + timedelta(minutes=11), 1760)
    outbox.run(now + timedelta(seconds=60), http)
    assert platform.interfaces()[-2:] == [
        "notification_stop_charge_result", "notification_charge_order_info"
    ]  # fmt: skip
    info = platform.received[-1][1]
    bill = db.session.scalar(select(Bill))
    assert bill is not None
    assert info["TotalMoney"] * 100 == bill.total_fen == 175
    assert round(info["TotalElecMoney"] * 100) == bill.electricity_fen == 113
    assert round(info["TotalSeviceMoney"] * 100) == bill.service_fen == 62
    assert info["TotalPower"] == 1.76 and info["StopReason"] == 1
    # The details split the session at tariff boundaries (a session across local midnight
    # has two): what they add up to is the bill, whatever the hour the test runs at.
    details = info["ChargeDetails"]
    assert round(sum(d["DetailSeviceMoney"] for d in details) * 100) == 62
    assert round(sum(d["DetailPower"] for d in details) * 1000) == 1760
    assert all(p.state == "delivered" and p.attempts == 1 for p in _pushes())
    count = len(platform.received)
    outbox.run(now + timedelta(seconds=200), http)  # nothing new: nothing sent again
    assert len(platform.received) == count


def test_a_failing_push_is_retried_a_minute_apart_then_given_up(
    app: Flask, partner: PartnerCaller, world: World, platform: FakePartnerPlatform
) -> None:
    http = platform.session()
    platform.answers["notification_start_charge_result"] = [500, {"SuccStat": 1}, 500, -1, 500]
    began = utcnow() - timedelta(minutes=5)
    _charge(partner, world, began)
    now = utcnow()
    outbox.run(now, http)
    [push] = _pushes("notification_start_charge_result")
    assert push.state == "pending" and push.attempts == 1 and push.last_ret == 500
    outbox.deliver_due(now + timedelta(seconds=30), http)  # not due yet
    assert _pushes("notification_start_charge_result")[0].attempts == 1
    for n in range(2, 6):
        outbox.deliver_due(now + timedelta(seconds=60 * (n - 1)), http)
        assert _pushes("notification_start_charge_result")[0].attempts == n
    [push] = _pushes("notification_start_charge_result")
    assert push.state == "failed"  # more than 3 retries, then visible to the operator
    attempts = db.session.scalars(select(PushAttempt).where(PushAttempt.push_id == push.id)).all()
    assert [a.ret for a in attempts] == [500, 0, 500, -1, 500]
    assert attempts[1].answer == {"SuccStat": 1}
    outbox.deliver_due(now + timedelta(hours=1), http)
    assert _pushes("notification_start_charge_result")[0].attempts == 5


def test_a_refused_token_is_fetched_again_and_the_push_retried_once(
    partner: PartnerCaller, world: World, platform: FakePartnerPlatform
) -> None:
    http = platform.session()
    _charge(partner, world, utcnow() - timedelta(minutes=5))
    outbox.run(utcnow(), http)
    assert platform.tokens == ["token-1"]
    platform.revoked.add("token-1")
    outbox.run(utcnow() + timedelta(seconds=60), http)  # the next status push
    assert platform.tokens == ["token-1", "token-2"]
    assert all(p.state == "delivered" for p in _pushes())


def test_confirm_result_1_marks_the_order_disputed(
    partner: PartnerCaller, world: World, platform: FakePartnerPlatform
) -> None:
    http = platform.session()
    platform.answers["notification_charge_order_info"] = [{"ConfirmResult": 1}]
    began = utcnow() - timedelta(minutes=30)
    _seq, ref = _charge(partner, world, began)
    world.stop(ref, began + timedelta(minutes=10), 2000)
    outbox.run(utcnow(), http)
    [push] = _pushes("notification_charge_order_info")
    assert push.state == "delivered"
    row = db.session.scalar(select(RoamingOrder))
    order = db.session.scalar(select(ChargeOrder))
    assert row is not None and row.disputed and row.confirm_result == 1
    assert order is not None and order.abnormal_reason == outbox.DISPUTED


def test_connector_changes_are_pushed_and_status_1_is_not_retried(
    partner: PartnerCaller, world: World, platform: FakePartnerPlatform
) -> None:
    http = platform.session()
    outbox.run(utcnow(), http)  # the first look notes the connectors, pushes nothing
    assert platform.received == []
    world.status(ConnectorState.PREPARING, utcnow())
    platform.answers["notification_stationStatus"] = [{"Status": 1}]
    outbox.run(utcnow(), http)
    [(name, data)] = platform.received
    assert name == "notification_stationStatus"
    assert data["ConnectorStatusInfo"] == {"ConnectorID": CONNECTOR, "Status": 2}
    [push] = _pushes()
    assert push.state == "discarded" and push.attempts == 1
    outbox.run(utcnow() + timedelta(minutes=5), http)
    assert len(platform.received) == 1  # discarded: never again, and nothing changed since


def test_check_charge_orders_sends_yesterdays_orders_and_marks_disputes(
    partner: PartnerCaller, world: World, platform: FakePartnerPlatform
) -> None:
    http = platform.session()
    began = utcnow() - timedelta(minutes=30)
    seq, ref = _charge(partner, world, began)
    world.stop(ref, began + timedelta(minutes=10), 1760)
    outbox.run(utcnow(), http)
    platform.answers["check_charge_orders"] = [
        {"DisputeOrders": [{"StartChargeSeq": seq, "DisputeReason": 2}]}
    ]
    tomorrow = utcnow() + timedelta(days=1)
    assert outbox.check_orders_daily(tomorrow) == 1
    assert outbox.check_orders_daily(tomorrow) == 0  # once a day
    outbox.deliver_due(tomorrow, http)
    name, data = platform.received[-1]
    assert name == "check_charge_orders" and data["OrderCount"] == 1
    assert data["TotalOrderMoney"] == 1.75 and len(data["CheckOrderSeq"]) == 27
    row = db.session.scalar(select(RoamingOrder))
    assert row is not None and row.disputed and row.dispute_reason == "check_orders:2"


def test_a_late_pile_record_sends_the_partner_a_corrected_order(
    partner: PartnerCaller, world: World, platform: FakePartnerPlatform
) -> None:
    http = platform.session()
    began = utcnow() - timedelta(hours=2)
    seq, ref = _charge(partner, world, began)
    world.sample(ref, began + timedelta(minutes=10), 1000)
    ret, _ = partner.call("query_stop_charge", {"StartChargeSeq": seq, "ConnectorID": CONNECTOR})
    assert ret == 0
    # the pile's record never comes: settled as estimated from the last reading
    assert lost_bills.settle_lost_bills(utcnow() + timedelta(hours=2))
    outbox.run(utcnow(), http)
    [first] = [d for n, d in platform.received if n == "notification_charge_order_info"]
    assert first["TotalPower"] == 1.0
    world.stop(ref, began + timedelta(minutes=11), 1760)  # the late record
    outbox.run(utcnow() + timedelta(seconds=60), http)
    infos = [d for n, d in platform.received if n == "notification_charge_order_info"]
    assert len(infos) == 2 and infos[1]["TotalPower"] == 1.76 and infos[1]["TotalMoney"] == 1.75
    bill = db.session.scalar(select(Bill))
    assert bill is not None and bill.total_fen == 175
