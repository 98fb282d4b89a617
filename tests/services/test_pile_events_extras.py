"""What the YKC adapter asks of the domain: billing model, balance, late remote starts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.charging import orders, starts, stops
from app.charging.commands import COMMAND_PORT
from app.charging.models import ChargeOrder
from app.charging.pile_events import PileEventService
from app.charging.port import (
    CommandOutcome,
    CommandResult,
    PileConnected,
    SessionStarted,
    SessionStopped,
    TariffPeriod,
)
from app.demo import demo_driver
from app.extensions import db
from app.state import state_of
from tests.support.ports import FakePort, pile_events

YKC = "55031412782305"
T0 = datetime(2021, 1, 14, 6, 0, tzinfo=UTC)


@pytest.fixture
def svc(app: Flask, demo: Any) -> PileEventService:
    return pile_events(app)


def test_pile_tariff_is_the_stations_current_tariff(svc: PileEventService) -> None:
    tariff = svc.tariff_for(YKC)
    assert tariff is not None
    periods = tariff.periods
    assert periods[0].start_minute == 0 and periods[-1].end_minute == 1440
    assert periods[0] == TariffPeriod(0, 480, "valley", Decimal("0.35"), Decimal("0.5"))
    assert svc.tariff_for("NO-SUCH-PILE") is None


def test_pile_start_reply_carries_the_drivers_balance(svc: PileEventService) -> None:
    svc.handle(PileConnected(YKC, "ykc", T0))
    reply = svc.handle(SessionStarted(YKC, 1, T0, meter_start_wh=0, id_tag="DEMO-CARD-01"))
    assert reply.accepted and reply.balance_fen == 10_000


def test_late_remote_start_success_revives_the_failed_order(
    app: Flask, svc: PileEventService, monkeypatch: pytest.MonkeyPatch
) -> None:
    timing_out = FakePort(start_outcome=CommandOutcome.TIMED_OUT)
    monkeypatch.setitem(state_of(app), COMMAND_PORT, timing_out)
    svc.handle(PileConnected(YKC, "ykc", T0))
    outcome = starts.request_remote_start(
        demo_driver(),  # type: ignore[arg-type]
        orders.require_connector(YKC, 1),
    )
    assert outcome.order.state == "failed"
    serial = outcome.order.pile_session_ref
    assert serial is not None and len(serial) == 32 and serial.startswith(YKC + "01")
    reply = svc.handle(
        SessionStarted(YKC, 1, T0, meter_start_wh=0, id_tag=None, pile_session_ref=serial,
                       initiated_by="remote")
    )  # fmt: skip
    assert reply.accepted and reply.session_ref == serial
    db.session.expire_all()
    [order] = db.session.scalars(select(ChargeOrder)).all()
    assert order.state == "charging" and order.abnormal_reason == "late_start"


def test_stop_record_arriving_before_the_stop_reply_is_not_overwritten(
    app: Flask, svc: PileEventService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the simulator: the pile answered RemoteStop and sent its record at once; the
    stop request then wrote "stopping" over the finished order."""

    class EagerPile(FakePort):
        def remote_stop(self, pile_code: str, connector: int, ref: str, **kw: Any) -> CommandResult:
            svc.handle(SessionStopped(pile_code, ref, T0, meter_stop_wh=1500, reason="Remote"))
            return CommandResult(CommandOutcome.ACCEPTED)

    monkeypatch.setitem(state_of(app), COMMAND_PORT, EagerPile())
    svc.handle(PileConnected("DEMO-OCPP-01", "ocpp16", T0))
    reply = svc.handle(
        SessionStarted("DEMO-OCPP-01", 1, T0, meter_start_wh=0, id_tag="DEMO-CARD-01")
    )
    order = orders.get_order_by_no(db.session.scalars(select(ChargeOrder.order_no)).one())
    assert order.pile_session_ref == reply.session_ref
    assert stops.request_stop(order, by="driver").ok
    db.session.expire_all()
    [order] = db.session.scalars(select(ChargeOrder)).all()
    assert order.state in ("finished", "settled") and order.stop_requested_by == "driver"


def test_pile_with_orders_cannot_be_deleted(app: Flask, svc: PileEventService) -> None:
    from app.catalogue import piles
    from app.catalogue.models import Pile
    from app.errors import Conflict
    from app.tenancy.scope import SYSTEM

    svc.handle(PileConnected("DEMO-OCPP-01", "ocpp16", T0))
    svc.handle(SessionStarted("DEMO-OCPP-01", 1, T0, meter_start_wh=0, id_tag="DEMO-CARD-01"))
    pile = db.session.scalars(select(Pile).where(Pile.code == "DEMO-OCPP-01")).one()
    with pytest.raises(Conflict) as exc:
        piles.delete_pile(SYSTEM, pile.id)
    assert exc.value.code == "PILE_HAS_ORDERS"


def test_connect_then_boot_leaves_one_online_period(svc: PileEventService) -> None:
    """Found by the pile-link benchmark: the socket opening and the BootNotification both
    announce the pile; that must not log a false "reconnect" every time."""
    from app.catalogue.models import PileOnlinePeriod

    svc.handle(PileConnected("DEMO-OCPP-01", "ocpp16", T0))
    svc.handle(PileConnected("DEMO-OCPP-01", "ocpp16", T0, {"firmware": "2.0"}))
    periods = db.session.scalars(select(PileOnlinePeriod)).all()
    assert len(periods) == 1 and periods[0].offline_at is None
