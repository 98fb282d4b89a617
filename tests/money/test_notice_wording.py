"""Notices drivers can read (issue 14): in the order things happened, times local to the
station, each kind worded in Chinese for what it is."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from app.billing import corrections, occupancy
from app.charging import notices as charging_notices
from app.charging.port import ConnectorState
from app.notices import delivery
from app.tenancy.scope import SYSTEM
from tests.support.money import World, outbox, recent


def test_a_short_session_writes_started_before_finished(world: World) -> None:
    t0 = recent(1)
    world.connect(t0 - timedelta(minutes=1))
    ref = world.start(t0)
    world.stop(ref, t0 + timedelta(minutes=1), 100)  # before the started-notice job ran
    kinds = [m.kind for m in outbox() if m.kind in ("charge_started", "charge_finished")]
    assert kinds == ["charge_started", "charge_finished"]
    assert charging_notices.emit_charge_started(t0 - timedelta(hours=1)) == 0  # not twice


def test_times_are_local_to_the_station_to_the_minute(world: World) -> None:
    t0 = recent(1)
    world.connect(t0 - timedelta(minutes=1))
    ref = world.start(t0)
    world.stop(ref, t0 + timedelta(minutes=1), 100)
    [started] = outbox("charge_started")
    data, _ = delivery.RENDERERS["charge_started"](dict(started.payload))
    local = t0.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert data["time2"] == local and "+00:00" not in data["time2"]
    # the catch-up job's messages say the same
    payload = {"started_at": t0.isoformat(), "timezone": "Asia/Shanghai"}
    assert delivery.RENDERERS["charge_started"](payload)[0]["time2"] == local


def test_occupancy_reminder_time_is_local(world: World) -> None:
    occupancy.set_policy(
        SYSTEM, world.station.id, grace_minutes=15, price_per_minute="0.10", reason="占位费"
    )
    t0 = recent(1)
    world.connect(t0 - timedelta(minutes=1))
    ref = world.start(t0)
    world.stop(ref, t0 + timedelta(minutes=1), 100)
    world.status(ConnectorState.FINISHING, t0 + timedelta(minutes=1))
    from app.billing import occupancy_charges

    occupancy_charges.accrue_occupancy(t0 + timedelta(minutes=10))
    [reminder] = outbox("occupancy_reminder")
    data, _ = delivery.RENDERERS["occupancy_reminder"](dict(reminder.payload))
    free_until = (t0 + timedelta(minutes=16)).astimezone(ZoneInfo("Asia/Shanghai"))
    assert data["time2"] == free_until.strftime("%Y-%m-%d %H:%M")


def test_a_corrections_credit_reads_as_a_difference_given_back_not_a_refund(
    world: World,
) -> None:
    occupancy.set_policy(
        SYSTEM, world.station.id, grace_minutes=0, price_per_minute="0.10", reason="占位费"
    )
    t0 = recent(14)
    world.connect(t0 - timedelta(minutes=1))
    ref = world.start(t0)
    world.stop(ref, t0 + timedelta(minutes=1), 100)
    world.status(ConnectorState.FINISHING, t0 + timedelta(minutes=1))
    world.status(ConnectorState.AVAILABLE, t0 + timedelta(minutes=61))
    corrections.correct_order(
        SYSTEM, world.order(ref).id, ended_at=t0 + timedelta(minutes=2), reason="车主已换枪"
    )
    [credit] = outbox("refund_result")
    data, _ = delivery.RENDERERS["refund_result"](dict(credit.payload))
    assert data["amount1"] == "5.90元" and data["phrase2"] == "补退差额"
    assert data["thing3"] == "订单已更正，差额已退回钱包"
    assert not any("correction" in value for value in data.values())
