"""A pile-link process that died leaves a trace when it restarts (issue 15 #9): what it
left open is closed at each pile's last sign of life, its piles are offline until they
reconnect, their running orders are flagged; another process's piles are untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.billing.session_outcomes import Billing
from app.catalogue.models import Pile, PileOnlinePeriod
from app.charging.models import ChargeOrder, OrderState
from app.charging.pile_events import PileEventService, recover_after_restart
from app.charging.port import (
    MeterSample,
    PileConnected,
    PileDisconnected,
    SessionStarted,
    SessionStopped,
)
from app.extensions import db

OCPP, YKC = "DEMO-OCPP-01", "55031412782305"
T0 = datetime(2021, 1, 14, 6, 0, tzinfo=UTC)


def _periods(code: str) -> list[tuple[str, str | None]]:
    db.session.expire_all()
    pile = db.session.scalars(select(Pile).where(Pile.code == code)).one()
    return [
        (p.node, p.offline_reason or None)
        for p in db.session.scalars(
            select(PileOnlinePeriod)
            .where(PileOnlinePeriod.pile_id == pile.id)
            .order_by(PileOnlinePeriod.id)
        )
    ]


def test_a_restart_closes_what_its_node_left_open_and_flags_running_orders(
    app: Flask, demo: Any
) -> None:
    crashed = PileEventService(app, Billing(), node="link-a")
    other = PileEventService(app, Billing(), node="link-b")
    crashed.handle(PileConnected(OCPP, "ocpp16", T0))
    other.handle(PileConnected(YKC, "ykc", T0))
    crashed.handle(SessionStarted(OCPP, 1, T0, 0, "DEMO-CARD-01", pile_session_ref="901"))
    last_sign = T0 + timedelta(minutes=10)
    crashed.handle(MeterSample(OCPP, 1, last_sign, "901", energy_wh=1500))
    # kill -9: nothing announced. The process starts again under the same name
    assert recover_after_restart("link-a", now=T0 + timedelta(minutes=30)) == [OCPP]
    db.session.expire_all()
    pile = db.session.scalars(select(Pile).where(Pile.code == OCPP)).one()
    assert not pile.online
    [period] = db.session.scalars(
        select(PileOnlinePeriod).where(PileOnlinePeriod.pile_id == pile.id)
    ).all()
    assert period.offline_reason == "platform_restart" and period.offline_at == last_sign
    order = db.session.scalars(select(ChargeOrder)).one()
    assert order.state == OrderState.CHARGING and order.offline_during  # flagged, not ended
    assert _periods(YKC) == [("link-b", None)]  # the other process's pile is untouched
    # the pile reconnects and sends its stop: a new period, one settled order
    crashed.handle(PileConnected(OCPP, "ocpp16", T0 + timedelta(minutes=31)))
    crashed.handle(SessionStopped(OCPP, "901", T0 + timedelta(minutes=20), 3000, "Local"))
    assert _periods(OCPP) == [("link-a", "platform_restart"), ("link-a", None)]
    db.session.expire_all()
    order = db.session.scalars(select(ChargeOrder)).one()
    assert order.state == OrderState.SETTLED and order.energy_wh == 3000
    assert recover_after_restart("link-a") == [OCPP]  # the pile is online again: closed again


def test_a_clean_start_with_nothing_left_open_changes_nothing(app: Flask, demo: Any) -> None:
    assert recover_after_restart("link-a") == []


def test_a_late_disconnect_from_the_process_a_pile_left_leaves_it_online_at_the_new_one(
    app: Flask, demo: Any
) -> None:
    """A pile's network changes: it reconnects to process B while A still holds its silent
    old socket; when A times that socket out, the pile stays online at B, B's period open,
    its running order unflagged (it was marked offline while connected, issue 12 goal 5)."""
    a = PileEventService(app, Billing(), node="link-a")
    b = PileEventService(app, Billing(), node="link-b")
    a.handle(PileConnected(OCPP, "ocpp16", T0))
    a.handle(SessionStarted(OCPP, 1, T0, 0, "DEMO-CARD-01", pile_session_ref="902"))
    b.handle(PileConnected(OCPP, "ocpp16", T0 + timedelta(minutes=1)))
    a.handle(PileDisconnected(OCPP, T0 + timedelta(minutes=5), "heartbeat_timeout"))
    db.session.expire_all()
    pile = db.session.scalars(select(Pile).where(Pile.code == OCPP)).one()
    assert pile.online
    assert _periods(OCPP) == [("link-a", "reconnect"), ("link-b", None)]
    order = db.session.scalars(select(ChargeOrder)).one()
    assert order.state == OrderState.CHARGING and not order.offline_during
    # B's own disconnect still takes the pile offline
    b.handle(PileDisconnected(OCPP, T0 + timedelta(minutes=9), "closed"))
    db.session.expire_all()
    assert not db.session.scalars(select(Pile).where(Pile.code == OCPP)).one().online
    assert _periods(OCPP) == [("link-a", "reconnect"), ("link-b", "closed")]
