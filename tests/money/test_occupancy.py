"""Occupancy fees (占位费): case #5 2019-10-14 (68.20 yuan, then corrected and refunded),
case #19 (no policy, no fee, no notice), case #18 2019-01-09 (offline is not the end)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.billing import (
    bills,
    corrections,
    lost_bills,
    occupancy,
    occupancy_charges,
)
from app.billing.models import OccupancySession
from app.charging.port import ConnectorState, PileDisconnected
from app.errors import Conflict, Forbidden, ValidationFailed
from app.extensions import db
from app.ledger import wallet
from app.tenancy.models import AuditLog
from app.tenancy.scope import SYSTEM, Actor
from tests.support.money import World, bill_of, entries, outbox, recent


def _policy(world: World, grace: int = 90, price: str = "0.10", cap: int | None = None) -> None:
    occupancy.set_policy(
        SYSTEM, world.station.id, grace_minutes=grace, price_per_minute=Decimal(price),
        cap_fen=cap, reason="站点收取占位费",
    )  # fmt: skip


def _charge_one_minute(world: World, t0: datetime, connector: int = 1) -> str:
    world.connect(t0 - timedelta(minutes=1))
    ref = world.start(t0, connector=connector)
    world.stop(ref, t0 + timedelta(minutes=1), 100)
    world.status(ConnectorState.FINISHING, t0 + timedelta(minutes=1), connector)
    return ref


def _occ(world: World, ref: str) -> OccupancySession:
    occ = occupancy.session_of(world.order(ref).id)
    assert occ is not None
    return occ


def test_case5_2019_10_14_occupancy_68_20_then_corrected_and_refunded(world: World) -> None:
    _policy(world)
    t0 = recent(14)
    ref = _charge_one_minute(world, t0)
    order = world.order(ref)
    charged = bill_of(order).total_fen
    assert charged == 10 and _occ(world, ref).ended_at is None  # 0.1 kWh: 6 + 4 fen
    # gun B only comes back 772 minutes after the charge ended
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=1 + 772))
    occ = _occ(world, ref)
    assert (occ.billable_minutes, occ.fee_fen, occ.end_reason) == (772, 6820, "gun_returned")
    bill = bill_of(order)
    assert bill.occupancy_fen == 6820 and bill.occupancy_minutes == 772
    assert bill.total_fen == charged + 6820 and bill.paid_fen == bill.total_fen
    assert entries(world.driver)[-1].amount_fen == -6820
    assert entries(world.driver)[-1].reason == "occupancy_fee"
    balance = world.balance()
    # the operator corrects the service end time: the driver left at minute 2 (gun A)
    correction = corrections.correct_order(
        SYSTEM, order.id, ended_at=t0 + timedelta(minutes=2), reason="车主已换枪，更正结束时间"
    )
    assert correction.refund_fen == 6820
    bill = bill_of(order)
    assert bill.occupancy_fen == 0 and bill.total_fen == charged and bill.paid_fen == charged
    refund = entries(world.driver)[-1]
    assert (refund.amount_fen, refund.reason) == (6820, "correction")
    assert refund.idempotency_key == f"settle:{order.id}:3"
    assert world.balance() == balance + 6820 == wallet.ledger_sum(world.driver.id)
    [log] = db.session.scalars(select(AuditLog).where(AuditLog.action == "order.correct")).all()
    assert log.before is not None and log.before["occupancy_fen"] == 6820
    assert log.after is not None and log.after["refund_fen"] == 6820
    assert log.reason == "车主已换枪，更正结束时间"
    [message] = outbox("refund_result")
    assert message.payload["amount_yuan"] == "68.20"


def test_case5_2019_10_14_a_new_order_by_the_driver_ends_occupancy(world: World) -> None:
    _policy(world)
    t0 = recent(14)
    ref = _charge_one_minute(world, t0, connector=2)  # gun B
    world.start(t0 + timedelta(minutes=3), connector=1)  # the driver moved to gun A
    result = occupancy_charges.accrue_occupancy(t0 + timedelta(minutes=800))
    assert result.closed == 1
    occ = _occ(world, ref)
    assert occ.end_reason == "new_order_by_driver"
    assert occ.ended_at == t0 + timedelta(minutes=3) and occ.fee_fen == 0
    assert bill_of(world.order(ref)).occupancy_fen == 0
    assert occupancy_charges.accrue_occupancy(t0 + timedelta(minutes=801)).closed == 0


def test_a_new_order_on_the_connector_ends_occupancy(
    world: World, make_world: Callable[..., World]
) -> None:
    _policy(world, grace=10, price="0.50", cap=1000)
    t0 = recent(14)
    ref = _charge_one_minute(world, t0)
    stranger = make_world(code="OTHER-PILE", operator=world.operator)
    # another driver's card starts on the same connector two hours later
    from app.drivers import members

    members.add_card(stranger.driver, "STRANGER-CARD")
    db.session.commit()
    world.start(t0 + timedelta(minutes=121), card="STRANGER-CARD")
    occupancy_charges.accrue_occupancy(t0 + timedelta(minutes=200))
    occ = _occ(world, ref)
    assert occ.end_reason == "new_order_on_connector" and occ.billable_minutes == 120
    assert occ.fee_fen == 1000  # 110 × 0.50 = 55.00 capped at 10.00


def test_time_while_the_pile_is_offline_is_not_charged_and_flagged(world: World) -> None:
    _policy(world, grace=0, price="0.10")
    t0 = recent(14)
    ref = _charge_one_minute(world, t0)
    world.svc.handle(PileDisconnected(world.code, t0 + timedelta(minutes=31), "closed"))
    world.connect(t0 + timedelta(minutes=91))
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=121))
    occ = _occ(world, ref)
    assert occ.billable_minutes == 60 and occ.excluded_minutes == 60
    assert occ.fee_fen == 600 and occ.review_reason == "pile_offline"


def test_case19_no_policy_no_fee_no_notice(world: World) -> None:
    t0 = recent(14)
    ref = _charge_one_minute(world, t0)
    assert occupancy.session_of(world.order(ref).id) is None
    occupancy_charges.accrue_occupancy(t0 + timedelta(hours=3))
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(hours=4))
    assert bill_of(world.order(ref)).occupancy_fen == 0
    assert outbox("occupancy_reminder") == []
    preview = bills.live_bill(world.order(ref))
    assert preview is not None and preview.occupancy_fen == 0


def test_one_reminder_before_the_free_minutes_end_only_while_online(world: World) -> None:
    _policy(world, grace=30)
    t0 = recent(14)
    ref = _charge_one_minute(world, t0)
    occ = _occ(world, ref)
    assert occ.remind_at == t0 + timedelta(minutes=1 + 30 - 10)
    # case #18 2019 / #15: the pile drops off before the reminder is due: no message
    world.svc.handle(PileDisconnected(world.code, t0 + timedelta(minutes=5), "heartbeat_timeout"))
    assert occupancy_charges.accrue_occupancy(t0 + timedelta(minutes=25)).reminders == 0
    world.connect(t0 + timedelta(minutes=26))
    assert occupancy_charges.accrue_occupancy(t0 + timedelta(minutes=27)).reminders == 1
    assert occupancy_charges.accrue_occupancy(t0 + timedelta(minutes=28)).reminders == 0
    [message] = outbox("occupancy_reminder")
    assert message.payload["grace_minutes"] == 30 and message.order_id == world.order(ref).id


def test_case18_2019_offline_pile_gets_no_settlement_or_occupancy_message(world: World) -> None:
    _policy(world, grace=0)
    t0 = recent(14)
    world.connect(t0 - timedelta(minutes=1))
    ref = world.start(t0, samples=[(5, 500)])
    world.svc.handle(PileDisconnected(world.code, t0 + timedelta(minutes=35), "heartbeat_timeout"))
    occupancy_charges.accrue_occupancy(t0 + timedelta(minutes=40))
    lost_bills.settle_lost_bills(t0 + timedelta(minutes=40))
    order = world.order(ref)
    assert order.state == "charging" and order.offline_during
    kinds = {m.kind for m in outbox()}
    assert not kinds & {"charge_finished", "occupancy_reminder"}


def test_occupancy_running_is_counted_when_capped_by_max_duration(world: World) -> None:
    _policy(world, grace=0, price="0.01")
    t0 = recent(30)
    ref = _charge_one_minute(world, t0)
    occupancy_charges.accrue_occupancy(t0 + timedelta(hours=25))
    occ = _occ(world, ref)
    assert occ.end_reason == "max_duration" and occ.review_reason == "max_duration"
    assert occ.billable_minutes == 24 * 60 and occ.fee_fen == 1440


def test_policy_admin_is_validated_audited_and_permissioned(world: World) -> None:
    reader = Actor(admin_id=None, name="reader", operator_id=world.operator.id,
                   is_platform=False, permissions=frozenset({"tariff.read"}))  # fmt: skip
    with pytest.raises(Forbidden):
        occupancy.set_policy(reader, world.station.id, grace_minutes=1, price_per_minute="0.1")
    with pytest.raises(ValidationFailed):
        _policy(world, price="0.12345")
    _policy(world)
    policy = occupancy.get_policy(SYSTEM, world.station.id)
    assert policy is not None and policy.price_per_minute == Decimal("0.1000")
    occupancy.remove_policy(SYSTEM, world.station.id, reason="取消占位费")
    assert occupancy.get_policy(SYSTEM, world.station.id) is None
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["occupancy_policy.set", "occupancy_policy.remove"]


def test_correction_needs_a_settled_order_and_a_reason(world: World) -> None:
    t0 = recent(14)
    world.connect(t0)
    ref = world.start(t0)
    with pytest.raises(Conflict):
        corrections.correct_order(SYSTEM, world.order(ref).id, energy_wh=10, reason="更正")
    world.stop(ref, t0 + timedelta(minutes=20), 1760)
    with pytest.raises(ValidationFailed):
        corrections.correct_order(SYSTEM, world.order(ref).id, energy_wh=10, reason="")
    order_id = world.order(ref).id
    result = corrections.correct_order(SYSTEM, order_id, energy_wh=1000, reason="电表误差")
    assert result.refund_fen == 175 - 99  # 1.000 kWh: 0.64 + 0.35
    assert bill_of(world.order(ref)).energy_wh == 1000


@pytest.mark.parametrize(
    "steps",
    [
        ("new_order", "gun_returned", "job"),
        ("new_order", "job", "gun_returned"),
        ("gun_returned", "new_order", "job"),
        ("gun_returned", "job", "new_order"),
        ("job", "new_order", "gun_returned"),
        ("job", "gun_returned", "new_order"),
    ],
    ids="-".join,
)
def test_case5_2019_10_14_earliest_end_wins_whatever_order_events_and_job_come_in(
    world: World, steps: tuple[str, ...]
) -> None:
    # gun B charged one minute; the driver's order on gun A began at minute 3 (its start
    # record may come late, a pile buffers it); gun B came back at minute 773
    _policy(world)
    t0 = recent(14)
    ref = _charge_one_minute(world, t0, connector=2)
    balance = world.balance()
    for step in steps:
        if step == "new_order":
            world.start(t0 + timedelta(minutes=3), connector=1)
        elif step == "gun_returned":
            world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=773), connector=2)
        else:
            occupancy_charges.accrue_occupancy(t0 + timedelta(minutes=800))
    occupancy_charges.accrue_occupancy()  # the minute job runs on
    occ = _occ(world, ref)
    assert (occ.ended_at, occ.end_reason) == (t0 + timedelta(minutes=3), "new_order_by_driver")
    assert occ.fee_fen == 0 and bill_of(world.order(ref)).occupancy_fen == 0
    assert world.balance() == balance == wallet.ledger_sum(world.driver.id)
