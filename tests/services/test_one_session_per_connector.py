"""One running order per connector (issue 15 #7): a second start the pile reports on a
connector that is charging ends the first order, flagged, billed from its last meter value
if its record never comes; a start that arrives late (a buffered record) is the one that
ended. Nothing stays charging forever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.billing import lost_bills
from app.billing.abnormal_orders import list_abnormal_orders
from app.billing.models import Bill
from app.charging.models import RUNNING_STATES, SUPERSEDED, ChargeOrder, OrderState
from app.charging.pile_events import PileEventService
from app.charging.port import MeterSample, PileConnected, SessionStarted, SessionStopped
from app.extensions import db
from app.tenancy.scope import SYSTEM
from tests.support.ports import pile_events

PILE = "DEMO-OCPP-01"
T0 = datetime(2021, 1, 14, 6, 0, tzinfo=UTC)


@pytest.fixture
def svc(app: Flask, demo: Any) -> PileEventService:
    service = pile_events(app)
    service.handle(PileConnected(PILE, "ocpp16", T0))
    return service


def _order(ref: str) -> ChargeOrder:
    db.session.expire_all()
    return db.session.scalars(
        select(ChargeOrder).where(ChargeOrder.pile_session_ref == ref)
    ).one()  # fmt: skip


def _running_on_connector_1() -> list[ChargeOrder]:
    return list(
        db.session.scalars(
            select(ChargeOrder).where(
                ChargeOrder.connector_number == 1, ChargeOrder.state.in_(RUNNING_STATES)
            )
        )
    )


def test_a_second_start_on_a_charging_connector_ends_the_first_order_flagged(
    svc: PileEventService,
) -> None:
    svc.handle(SessionStarted(PILE, 1, T0, 1000, "DEMO-CARD-01", pile_session_ref="701"))
    svc.handle(MeterSample(PILE, 1, T0 + timedelta(minutes=30), "701", energy_wh=4500))
    # the stop record of 701 was lost; the pile starts a new session on the same gun
    at = T0 + timedelta(minutes=50)
    reply = svc.handle(SessionStarted(PILE, 1, at, 5200, "DEMO-CARD-01", pile_session_ref="702"))
    assert reply.accepted
    first, second = _order("701"), _order("702")
    assert first.state == OrderState.STOPPING and first.abnormal_reason == SUPERSEDED
    assert first.energy_ended_at == at and first.awaiting_record_since == at
    assert second.state == OrderState.CHARGING
    assert [o.pile_session_ref for o in _running_on_connector_1()] == ["702"]
    queue = list_abnormal_orders(SYSTEM, kind="superseded")
    assert [o.order_no for o in queue.items] == [first.order_no]

    # no record ever comes: the lost-bill job bills the last meter value, as estimated
    settled = lost_bills.settle_lost_bills(now=at + timedelta(hours=3))
    assert first.order_no in settled
    bill = db.session.scalars(select(Bill).where(Bill.order_id == first.id)).one()
    assert bill.estimated and bill.energy_wh == 3500
    # and the new session ends normally
    svc.handle(SessionStopped(PILE, "702", at + timedelta(minutes=20), 7000, "Local"))
    assert _order("702").state in (OrderState.FINISHED, OrderState.SETTLED)


def test_the_lost_stop_record_arriving_late_still_settles_the_superseded_order(
    svc: PileEventService,
) -> None:
    svc.handle(SessionStarted(PILE, 1, T0, 0, "DEMO-CARD-01", pile_session_ref="711"))
    at = T0 + timedelta(minutes=40)
    svc.handle(SessionStarted(PILE, 1, at, 6000, "DEMO-CARD-01", pile_session_ref="712"))
    svc.handle(SessionStopped(PILE, "711", T0 + timedelta(minutes=39), 6000, "EVDisconnected"))
    first = _order("711")
    assert first.state == OrderState.SETTLED and first.total_fen is not None
    assert first.energy_wh == 6000 and first.abnormal_reason == SUPERSEDED
    assert _order("712").state == OrderState.CHARGING


def test_a_start_record_arriving_after_a_later_session_began_is_the_one_that_ended(
    svc: PileEventService,
) -> None:
    later = T0 + timedelta(hours=1)
    svc.handle(SessionStarted(PILE, 1, later, 9000, "DEMO-CARD-01", pile_session_ref="722"))
    # the pile's buffer replays an older session's start after reconnecting
    reply = svc.handle(SessionStarted(PILE, 1, T0, 1000, "DEMO-CARD-01", pile_session_ref="721"))
    assert reply.accepted  # never refused: a refused record makes a pile retry forever
    old, current = _order("721"), _order("722")
    assert old.state == OrderState.STOPPING and old.abnormal_reason == SUPERSEDED
    assert current.state == OrderState.CHARGING and current.abnormal_reason == ""
