"""Lost bills (case #25 2021-01-14), the abnormal-orders list, and the watchdog jobs:
starting timeout, offline detection, the balance guard and the minimum start balance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.billing import (
    abnormal_orders,
    balance_guard,
    lost_bills,
)
from app.billing.models import BillAdjustment
from app.catalogue.models import Pile, PileOnlinePeriod
from app.charging import orders, starts, watchdogs
from app.charging.commands import COMMAND_PORT, NoPileLink
from app.charging.models import ChargeOrder
from app.charging.port import ConnectorState, PileDisconnected
from app.db import utcnow
from app.errors import InsufficientBalance, ValidationFailed
from app.extensions import db
from app.ledger import wallet
from app.state import state_of
from app.tenancy.admin_auth import actor_for_user
from app.tenancy.scope import SYSTEM
from tests.support.money import World, bill_of, entries, outbox, recent
from tests.support.ports import FakePort


def _lost_session(world: World, hours: float = 3) -> tuple[str, Any]:
    """Case #25: charging, the pile reboots, says "available", and no record comes."""
    t0 = recent(hours)
    world.connect(t0 - timedelta(minutes=1))
    ref = world.start(t0, samples=[(10, 600), (20, 1300)])
    world.svc.handle(PileDisconnected(world.code, t0 + timedelta(minutes=21), "closed"))
    world.connect(t0 + timedelta(minutes=22))
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=22))
    return ref, t0


def test_case25_lost_bill_is_estimated_then_reconciled_by_the_late_record(world: World) -> None:
    ref, t0 = _lost_session(world)
    order = world.order(ref)
    assert order.state == "stopping"
    # not yet: the record may still come
    assert lost_bills.settle_lost_bills(t0 + timedelta(minutes=30)) == []
    assert lost_bills.settle_lost_bills(t0 + timedelta(minutes=22, seconds=1800)) == [
        order.order_no
    ]
    order = world.order(ref)
    bill = bill_of(order)
    assert order.state == "settled" and order.abnormal_reason == "estimated"
    assert bill.estimated and bill.energy_wh == 1300  # the last meter value
    assert bill.ended_at == t0 + timedelta(minutes=20)  # nothing billed after the last reading
    assert bill.total_fen == 129  # 1.3 kWh: 0.83 + 0.46
    page = abnormal_orders.list_abnormal_orders(SYSTEM, kind="estimated")
    assert [o.id for o in page.items] == [order.id]
    assert lost_bills.settle_lost_bills(t0 + timedelta(hours=2)) == []  # settled once
    # hours later the pile sends the real record: 1.76 kWh
    world.stop(ref, t0 + timedelta(minutes=22), 1760)
    order = world.order(ref)
    bill = bill_of(order)
    assert order.late_record and order.state == "settled"
    assert not bill.estimated and bill.energy_wh == 1760 and bill.total_fen == 175
    assert bill.paid_fen == 175 and bill.arrears_fen == 0
    debit = entries(world.driver)[-1]
    assert (debit.amount_fen, debit.reason) == (-46, "resettle")
    assert debit.idempotency_key == f"settle:{order.id}:2"
    world.stop(ref, t0 + timedelta(minutes=22), 1760)  # a repeat changes nothing
    reasons = db.session.scalars(select(BillAdjustment.reason).order_by(BillAdjustment.seq)).all()
    assert reasons == ["settle", "late_record"]
    assert world.balance() == 10_000 - 175 == wallet.ledger_sum(world.driver.id)
    kinds = abnormal_orders.reasons_of(order)
    assert "late_record" in kinds and "offline" in kinds and "estimated" not in kinds
    assert len(outbox("charge_finished")) == 1


def test_late_record_with_less_energy_refunds_the_difference(world: World) -> None:
    ref, t0 = _lost_session(world)
    lost_bills.settle_lost_bills(t0 + timedelta(hours=1))
    world.stop(ref, t0 + timedelta(minutes=22), 1000)
    bill = bill_of(world.order(ref))
    assert bill.total_fen == 99 and bill.paid_fen == 99
    assert entries(world.driver)[-1].amount_fen == 129 - 99
    assert outbox("refund_result")[0].payload["amount_fen"] == 30


def test_abnormal_list_is_scoped_filtered_and_paged(
    app: Flask, demo: Any, make_world: Callable[..., World]
) -> None:
    from app.tenancy.models import AdminUser, Operator

    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    assert yc is not None
    world = make_world(operator=yc, code="YC-MONEY-01")
    for hours in (5, 4, 3):
        _lost_session(world, hours)
    lost_bills.settle_lost_bills(utcnow() + timedelta(hours=1))
    yc_admin = db.session.scalar(select(AdminUser).where(AdminUser.username == "yc_admin"))
    kc_admin = db.session.scalar(select(AdminUser).where(AdminUser.username == "kc_admin"))
    assert yc_admin is not None and kc_admin is not None
    page = abnormal_orders.list_abnormal_orders(actor_for_user(yc_admin), page_size=2)
    assert page.total == 3 and len(page.items) == 2
    page2 = abnormal_orders.list_abnormal_orders(actor_for_user(yc_admin), page=2, page_size=2)
    assert len(page2.items) == 1
    assert abnormal_orders.list_abnormal_orders(actor_for_user(kc_admin)).total == 0
    assert abnormal_orders.list_abnormal_orders(SYSTEM, kind="offline").total == 3
    assert abnormal_orders.list_abnormal_orders(SYSTEM, kind="failed").total == 0
    with pytest.raises(ValidationFailed):
        abnormal_orders.list_abnormal_orders(SYSTEM, kind="weird")


def test_orders_stuck_starting_fail_after_the_timeout(
    app: Flask, world: World, port: FakePort
) -> None:
    conn = orders.require_connector(world.code, 1)
    outcome = starts.request_remote_start(world.driver, conn, client_request_id="r-1")
    assert outcome.order.state == "starting"
    now = outcome.order.requested_at
    assert watchdogs.fail_stuck_starts(now + timedelta(seconds=60)) == []
    assert watchdogs.fail_stuck_starts(now + timedelta(seconds=121)) == [outcome.order.order_no]
    db.session.refresh(outcome.order)
    assert outcome.order.state == "failed" and "start_timeout" in outcome.order.failure_reason
    assert abnormal_orders.list_abnormal_orders(SYSTEM, kind="failed").total == 1


def test_minimum_start_balance_is_configurable(
    app: Flask, world: World, port: FakePort, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.config["MIN_START_BALANCE_FEN"] == 100
    monkeypatch.setitem(app.config, "MIN_START_BALANCE_FEN", 20_000)
    with pytest.raises(InsufficientBalance):
        starts.request_remote_start(world.driver, orders.require_connector(world.code, 1))
    monkeypatch.setitem(app.config, "MIN_START_BALANCE_FEN", 5_000)
    outcome = starts.request_remote_start(world.driver, orders.require_connector(world.code, 1))
    assert outcome.order.state == "starting"


def test_offline_detection_marks_silent_piles_offline_without_ending_orders(
    app: Flask, world: World, port: FakePort, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = recent(2)
    world.connect(t0)
    ref = world.start(t0, samples=[(5, 500)])
    db.session.expire_all()  # the job runs in a session of its own
    with monkeypatch.context() as patch:  # no view of the connections: no verdict
        patch.setitem(state_of(app), COMMAND_PORT, NoPileLink())
        assert watchdogs.detect_offline_piles(t0 + timedelta(hours=1)) == []
    port.online = True  # a connection we hold: left alone
    assert watchdogs.detect_offline_piles(t0 + timedelta(hours=1)) == []
    port.online = False
    assert watchdogs.detect_offline_piles(t0 + timedelta(hours=1)) == [world.code]
    pile = db.session.get(Pile, world.pile.id)
    assert pile is not None and not pile.online
    order = world.order(ref)
    assert order.state == "charging" and order.offline_during
    period = db.session.scalar(select(PileOnlinePeriod).where(PileOnlinePeriod.pile_id == pile.id))
    assert period is not None and period.offline_reason == "heartbeat_timeout"
    assert watchdogs.detect_offline_piles(t0 + timedelta(hours=2)) == []
    assert outbox() == []  # case #18 2019: no message for an offline pile


def test_balance_guard_stops_the_charge_when_the_cost_reaches_the_balance(
    make_world: Callable[..., World], port: FakePort
) -> None:
    world = make_world(balance=150)
    t0 = recent(1)
    world.connect(t0)
    ref = world.start(t0, samples=[(5, 500)])
    assert balance_guard.guard_balances() == []  # 0.50 kWh = 0.50 yuan < 1.50
    world.sample(ref, t0 + timedelta(minutes=15), 1520)  # 1.52 kWh: 0.98 + 0.54 = 1.52 yuan
    order = world.order(ref)
    assert balance_guard.guard_balances() == [order.order_no]
    assert port.stops == [(world.code, 1, ref)]
    order = world.order(ref)
    assert order.state == "stopping" and order.stop_requested_by == "balance"
    world.stop(ref, t0 + timedelta(minutes=16), 1600)
    bill = bill_of(world.order(ref))
    assert bill.paid_fen == 150 and bill.arrears_fen == bill.total_fen - 150


def test_charge_started_notices_are_written_once(world: World) -> None:
    from app.charging import notices

    t0 = recent(0.2)
    world.connect(t0)
    world.start(t0)
    assert notices.emit_charge_started(t0 - timedelta(minutes=1)) == 1
    assert notices.emit_charge_started(t0 - timedelta(minutes=1)) == 0
    [message] = outbox("charge_started")
    assert message.driver_id == world.driver.id
    assert db.session.scalar(select(ChargeOrder.state)) == "charging"
