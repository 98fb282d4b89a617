"""Pile clocks are not trusted for money (issue 14): a pile time far from the server's is
replaced by the server's time of receipt, both are kept, and the order is in review.

The repro: a StatusNotification Available stamped 772 minutes ahead closed the occupancy
at once and charged 682 × 0.10 = ¥68.20 for time that had not passed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.billing import abnormal_orders, occupancy
from app.billing.abnormal_orders import ReviewKind
from app.charging.models import PileClockSkew
from app.charging.port import (
    ConnectorState,
    ConnectorStatusChanged,
    MeterSample,
    PileDisconnected,
    SessionStopped,
)
from app.extensions import db
from app.tenancy.scope import SYSTEM
from pile_link.ocpp16.session import OcppSession, format_time
from tests.support.money import World, bill_of


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _policy(world: World) -> None:
    occupancy.set_policy(
        SYSTEM, world.station.id, grace_minutes=90, price_per_minute=Decimal("0.10"),
        reason="站点收取占位费",
    )  # fmt: skip


def _one_minute_charge(world: World, t0: datetime) -> str:
    world.connect(t0 - timedelta(minutes=1))
    ref = world.start(t0)
    world.stop(ref, t0 + timedelta(minutes=1), 100)
    world.status(ConnectorState.FINISHING, t0 + timedelta(minutes=1))
    return ref


def _skews() -> list[PileClockSkew]:
    db.session.expire_all()
    return list(db.session.scalars(select(PileClockSkew).order_by(PileClockSkew.id)))


def _in_review(order_id: int) -> bool:
    page = abnormal_orders.list_abnormal_orders(SYSTEM, kind=ReviewKind.PILE_CLOCK)
    return order_id in [o.id for o in page.items]


def test_status_stamped_772_minutes_ahead_charges_no_occupancy_and_is_reviewed(
    world: World,
) -> None:
    _policy(world)
    now = _now()
    ref = _one_minute_charge(world, now - timedelta(minutes=3))
    ahead = now + timedelta(minutes=772)
    world.svc.handle(
        ConnectorStatusChanged(world.code, 1, ConnectorState.AVAILABLE, ahead, received_at=now)
    )
    order = world.order(ref)
    occ = occupancy.session_of(order.id)
    assert occ is not None and occ.ended_at == now and occ.end_reason == "gun_returned"
    assert (occ.billable_minutes, occ.fee_fen) == (2, 0)  # inside the 90 free minutes
    assert order.gun_returned_at == now
    assert bill_of(order).occupancy_fen == 0  # was 6820 (¥68.20) from the pile's clock
    [skew] = _skews()
    assert (skew.order_id, skew.what, skew.pile_at, skew.used_at) == (
        order.id, "status", ahead, now,
    )  # fmt: skip
    assert _in_review(order.id)
    money = abnormal_orders.money_of(order)
    assert ReviewKind.PILE_CLOCK in money["reasons"] and money["clock_skews"] == [skew]


def test_status_within_the_tolerance_uses_the_piles_time(world: World) -> None:
    _policy(world)
    now = _now()
    ref = _one_minute_charge(world, now - timedelta(minutes=3))
    stamped = now + timedelta(seconds=200)  # tolerance 300 s
    world.svc.handle(
        ConnectorStatusChanged(world.code, 1, ConnectorState.AVAILABLE, stamped, received_at=now)
    )
    assert world.order(ref).gun_returned_at == stamped
    assert _skews() == [] and not _in_review(world.order(ref).id)


def test_stop_record_stamped_ahead_ends_the_session_at_the_server_time(world: World) -> None:
    now = _now()
    world.connect(now - timedelta(minutes=20))
    ref = world.start(now - timedelta(minutes=15))
    ahead = now + timedelta(minutes=772)
    started_ahead = now + timedelta(minutes=700)
    reply = world.svc.handle(
        SessionStopped(world.code, ref, ahead, meter_stop_wh=1500, reason="Local",
                       started_at=started_ahead, received_at=now)
    )  # fmt: skip
    assert reply.accepted
    order = world.order(ref)
    assert order.stopped_at == now and order.energy_ended_at == now
    assert order.started_at == now - timedelta(minutes=15)  # its own start, not the pile's
    assert order.state == "settled"
    assert {(s.what, s.pile_at, s.used_at) for s in _skews()} == {
        ("session_stop", ahead, now),
        ("session_stop_started_at", started_ahead, now),
    }
    assert _in_review(order.id)


def test_meter_sample_behind_while_connected_uses_the_server_time(world: World) -> None:
    now = _now()
    world.connect(now - timedelta(hours=2))
    ref = world.start(now - timedelta(minutes=50))
    behind = now - timedelta(minutes=40)  # stamped while connected, came 40 minutes later
    [reply] = world.svc.handle_meter_samples(
        [MeterSample(world.code, 1, behind, ref, energy_wh=800, received_at=now)]
    )
    assert not isinstance(reply, Exception) and reply.accepted
    order = world.order(ref)
    assert order.last_meter_at == now and order.last_meter_wh == 800
    [skew] = _skews()
    assert (skew.order_id, skew.what, skew.pile_at) == (order.id, "meter", behind)


def test_buffered_record_from_before_the_connection_keeps_the_piles_time(world: World) -> None:
    # a record the pile held while offline is stamped before it reconnected: believed
    now = _now()
    world.connect(now - timedelta(hours=2))
    ref = world.start(now - timedelta(minutes=90))
    world.svc.handle(PileDisconnected(world.code, now - timedelta(minutes=70), "closed"))
    world.connect(now - timedelta(minutes=1))
    stopped = now - timedelta(minutes=60)
    world.svc.handle(
        SessionStopped(world.code, ref, stopped, meter_stop_wh=3000, reason="Local",
                       received_at=now)
    )  # fmt: skip
    assert world.order(ref).stopped_at == stopped
    assert _skews() == []


def test_ocpp_status_notification_772_minutes_ahead_over_the_wire(world: World) -> None:
    # the OCPP adapter marks the pile's timestamp as the pile's: the domain replaces it
    _policy(world)
    now = _now()
    ref = _one_minute_charge(world, now - timedelta(minutes=3))
    sent: list[str] = []
    ocpp = OcppSession(world.code, world.svc, lambda f: sent.append(f) or True, clock=lambda: now)
    payload = {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Available",
        "timestamp": format_time(now + timedelta(minutes=772)),
    }
    ocpp.on_message(json.dumps([2, "s1", "StatusNotification", payload]))
    assert json.loads(sent[-1]) == [3, "s1", {}]
    order = world.order(ref)
    occ = occupancy.session_of(order.id)
    assert occ is not None and occ.ended_at == now and occ.fee_fen == 0
    assert bill_of(order).occupancy_fen == 0
    assert _in_review(order.id)
