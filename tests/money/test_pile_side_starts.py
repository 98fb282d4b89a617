"""A start made at the pile (a card, a pile password) obeys the app's start rules (issue
14): at a station without tariff, on a pile bound to no station, or with too little money
the pile is told no, with the reason, and no order opens to charge what cannot be billed."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from app.charging.models import ChargeOrder, PileMessage
from app.charging.port import AuthorizeRequested, SessionStarted
from app.extensions import db
from tests.support.money import World, build_world, recent


def _card_start(world: World) -> tuple[bool, str | None]:
    t0 = recent()
    world.connect(t0 - timedelta(minutes=1))
    reply = world.svc.handle(SessionStarted(world.code, 1, t0, meter_start_wh=0, id_tag=world.card))
    return reply.accepted, reply.reason


def _orders() -> list[ChargeOrder]:
    db.session.expire_all()
    return list(db.session.scalars(select(ChargeOrder)))


def test_a_card_start_at_a_station_without_tariff_is_refused(app: Flask) -> None:
    world = build_world(app, code="NO-TARIFF-01")
    world.station.tariff_id = None
    db.session.commit()
    assert _card_start(world) == (False, "not_allowed_here")
    assert _orders() == []
    kept = db.session.scalars(select(PileMessage.kind)).all()
    assert "session_start_refused" in kept  # the attempt is kept for audit


def test_a_card_start_on_a_pile_bound_to_no_station_is_refused(app: Flask) -> None:
    world = build_world(app, code="NO-STATION-01")
    world.pile.station_id = None
    db.session.commit()
    assert _card_start(world) == (False, "not_allowed_here")
    assert _orders() == []


def test_a_card_without_enough_money_is_refused_at_authorize(app: Flask) -> None:
    world = build_world(app, code="POOR-CARD-01", balance=0)
    t0 = recent()
    world.connect(t0 - timedelta(minutes=1))
    reply = world.svc.handle(AuthorizeRequested(world.code, world.card))
    assert (reply.accepted, reply.reason) == (False, "insufficient_balance")


def test_a_card_start_where_the_app_could_start_is_accepted(app: Flask) -> None:
    world = build_world(app, code="GOOD-CARD-01")
    assert _card_start(world) == (True, None)
    [order] = _orders()
    assert order.start_method == "card" and order.tariff_version_id is not None
