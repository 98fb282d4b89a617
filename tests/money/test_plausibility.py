"""Implausible energy is held for review, never debited (issue 15, item 2): a meter glitch
(0xFFFFFFFF on a 7 kW pile billed ¥6,957,847 and took the next top-up as arrears), a
meter that goes backwards, readings beyond any meter (10**30, once answered InternalError
forever) or that are no number. The record is accepted and kept; the wallet is untouched
until an operator decides through the correction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.billing import abnormal_orders, corrections, lost_bills, plausibility
from app.charging.models import HELD_FOR_REVIEW, PileMessage
from app.charging.port import SessionStopped
from app.extensions import db
from app.tenancy.scope import SYSTEM
from tests.support.money import World, bill_of, build_world, recent


@pytest.fixture
def rated(app: Flask) -> World:
    world = build_world(app, code="PLAUSIBLE-01", balance=10_000)
    world.pile.rated_power_w = 7000
    db.session.commit()
    return world


def _held(world: World, ref: str) -> None:
    order = world.order(ref)
    assert order.state == "finished" and order.abnormal_reason == HELD_FOR_REVIEW
    assert db.session.scalar(select(PileMessage.id).where(PileMessage.order_id == order.id))
    with pytest.raises(AssertionError):
        bill_of(order)
    assert world.balance() == 10_000  # not a fen taken


def test_a_0xffffffff_meter_stop_on_a_7kw_pile_is_held_and_never_debited(rated: World) -> None:
    t0 = recent()
    rated.connect(t0 - timedelta(minutes=1))
    ref = rated.start(t0)
    rated.stop(ref, t0, 0xFFFFFFFF)  # 0 s after start
    _held(rated, ref)
    kinds = abnormal_orders.reasons_of(rated.order(ref))
    assert "implausible_energy" in kinds


def test_energy_beyond_rated_power_times_duration_is_held(rated: World) -> None:
    t0 = recent()
    rated.connect(t0 - timedelta(minutes=1))
    ref = rated.start(t0)
    # 7 kW for one hour is at most 7 kWh (8.75 with the margin): 20 kWh is not believable
    rated.stop(ref, t0 + timedelta(hours=1), 20_000)
    _held(rated, ref)


def test_plausible_energy_on_a_rated_pile_is_settled_as_ever(rated: World) -> None:
    t0 = recent()
    rated.connect(t0 - timedelta(minutes=1))
    ref = rated.start(t0)
    rated.stop(ref, t0 + timedelta(hours=1), 6_800)
    order = rated.order(ref)
    assert order.state == "settled" and order.abnormal_reason == ""
    assert rated.balance() == 10_000 - bill_of(order).total_fen


def test_a_meter_that_goes_backwards_is_held(rated: World) -> None:
    t0 = recent()
    rated.connect(t0 - timedelta(minutes=1))
    ref = rated.start(t0)
    rated.svc.handle(
        SessionStopped(rated.code, ref, t0 + timedelta(minutes=30), meter_stop_wh=500,
                       reason="Local", meter_start_wh=2_000)
    )  # fmt: skip
    order = rated.order(ref)
    assert order.abnormal_reason == HELD_FOR_REVIEW and rated.balance() == 10_000


def test_a_record_below_what_the_samples_showed_is_held(rated: World) -> None:
    t0 = recent()
    rated.connect(t0 - timedelta(minutes=1))
    ref = rated.start(t0, samples=[(10, 1_000), (20, 2_000)])
    rated.stop(ref, t0 + timedelta(minutes=30), 300)  # the meter went back 1.7 kWh
    order = rated.order(ref)
    assert order.abnormal_reason == HELD_FOR_REVIEW and rated.balance() == 10_000


@pytest.mark.parametrize("glitch", [10**30, -5], ids=["beyond-any-meter", "negative"])
def test_a_reading_no_column_can_hold_is_accepted_kept_and_held(rated: World, glitch: int) -> None:
    t0 = recent()
    rated.connect(t0 - timedelta(minutes=1))
    ref = rated.start(t0)
    rated.stop(ref, t0 + timedelta(minutes=30), glitch)  # accepted: asserted by stop()
    order = rated.order(ref)
    assert order.meter_stop_wh is None and order.abnormal_reason == HELD_FOR_REVIEW
    assert rated.balance() == 10_000


def test_a_reading_that_is_no_number_is_held_even_where_power_is_unknown(app: Flask) -> None:
    world = build_world(app, code="PLAUSIBLE-02")  # rated power unknown (0)
    t0 = recent()
    world.connect(t0 - timedelta(minutes=1))
    ref = world.start(t0, samples=[(10, 800)])
    world.stop(ref, t0 + timedelta(minutes=30), 0, unreadable=("meter_stop",))
    order = world.order(ref)
    assert order.abnormal_reason == HELD_FOR_REVIEW and world.balance() == 10_000


def test_the_lost_bill_job_does_not_estimate_a_held_order(rated: World) -> None:
    t0 = recent(3)
    rated.connect(t0 - timedelta(minutes=1))
    ref = rated.start(t0)
    rated.stop(ref, t0, 0xFFFFFFFF)
    assert lost_bills.settle_lost_bills(t0 + timedelta(hours=2)) == []
    assert rated.balance() == 10_000


def test_the_operator_decides_a_held_order_and_only_then_it_is_debited(rated: World) -> None:
    t0 = recent()
    rated.connect(t0 - timedelta(minutes=1))
    ref = rated.start(t0)
    rated.stop(ref, t0 + timedelta(hours=1), 0xFFFFFFFF)
    order = rated.order(ref)
    decided = corrections.correct_order(
        SYSTEM, order.id, reason="核对电表：实际 6.5 kWh", energy_wh=6_500
    )
    order = rated.order(ref)
    assert order.state == "settled" and order.abnormal_reason == ""
    assert decided.bill.energy_wh == 6_500
    assert rated.balance() == 10_000 - decided.bill.total_fen < 10_000


def test_the_energy_ceiling_grows_with_power_and_time() -> None:
    assert plausibility.energy_ceiling_wh(7000, 0) == plausibility.SLACK_WH
    assert plausibility.energy_ceiling_wh(7000, 3600) == 8750 + plausibility.SLACK_WH
    assert plausibility.energy_ceiling_wh(7000, -10) == plausibility.SLACK_WH
    assert plausibility.energy_ceiling_wh(7000, 3600, 100) == 7000 + plausibility.SLACK_WH


def test_a_margin_of_zero_judges_no_energy_but_still_sees_a_meter_go_back(
    app: Flask, rated: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "ENERGY_PLAUSIBILITY_MARGIN_PERCENT", 0)
    t0 = recent()
    rated.connect(t0 - timedelta(minutes=1))
    ref = rated.start(t0)
    rated.stop(ref, t0 + timedelta(seconds=3), 16_000)  # a simulator's hour in 3 s
    assert rated.order(ref).state == "settled"
    ref = rated.start(t0 + timedelta(minutes=5), samples=[(1, 1_000)])
    rated.stop(ref, t0 + timedelta(minutes=7), 10)
    assert rated.order(ref).abnormal_reason == HELD_FOR_REVIEW
