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


def _refusals() -> list[dict[str, object]]:
    db.session.expire_all()
    return [
        m.payload
        for m in db.session.scalars(
            select(PileMessage).where(PileMessage.kind == "session_start_refused")
        )
    ]


def test_a_refused_pile_start_keeps_the_reason_the_app_gives(app: Flask) -> None:
    # case #2: the same specific reason as the app's, kept with the attempt
    world = build_world(app, code="NO-TARIFF-02")
    world.station.tariff_id = None
    db.session.commit()
    assert _card_start(world) == (False, "not_allowed_here")
    [kept] = _refusals()
    assert kept["code"] == "STATION_WITHOUT_TARIFF"
    assert kept["message"] == f"站点「{world.station.name}」未设置电价，无法充电"


def test_a_ykc_password_start_on_a_pile_without_station_is_refused_with_the_apps_reason(
    app: Flask,
) -> None:
    world = build_world(app, code="55031412782399", protocol="ykc")
    world.pile.station_id = None
    db.session.commit()
    t0 = recent()
    world.connect(t0 - timedelta(minutes=1))
    auth = world.svc.handle(AuthorizeRequested(world.code, world.card, 1))
    assert (auth.accepted, auth.reason, auth.refusal_code) == (
        False, "not_allowed_here", "PILE_WITHOUT_STATION",
    )  # fmt: skip
    assert auth.refusal_message == f"充电桩 {world.code} 未绑定站点，暂不能充电"
    reply = world.svc.handle(
        SessionStarted(world.code, 1, t0, meter_start_wh=0, id_tag=world.card,
                       pile_session_ref=f"{world.code}01{1:016d}")
    )  # fmt: skip
    assert not reply.accepted and reply.refusal_code == "PILE_WITHOUT_STATION"
    assert _orders() == []


def test_an_ocpp_authorize_at_a_station_without_tariff_is_invalid_on_the_wire(
    app: Flask,
) -> None:
    import json

    from pile_link.ocpp16.session import OcppSession

    world = build_world(app, code="NO-TARIFF-03")
    world.station.tariff_id = None
    db.session.commit()
    world.connect(recent())
    sent: list[str] = []
    ocpp = OcppSession(world.code, world.svc, lambda f: sent.append(f) or True)
    ocpp.on_message(json.dumps([2, "a1", "Authorize", {"idTag": world.card}]))
    assert json.loads(sent[-1]) == [3, "a1", {"idTagInfo": {"status": "Invalid"}}]
    assert _orders() == []


def test_a_disabled_drivers_card_is_refused_at_the_pile_as_the_app_refuses_it(
    app: Flask,
) -> None:
    import json

    from app.db import utcnow
    from pile_link.ocpp16.session import OcppSession

    world = build_world(app, code="DISABLED-01")
    world.driver.disabled_at, world.driver.disabled_reason = utcnow(), "测试停用"
    db.session.commit()
    world.connect(recent())
    auth = world.svc.handle(AuthorizeRequested(world.code, world.card))
    assert (auth.accepted, auth.reason, auth.refusal_code) == (False, "blocked", "DRIVER_DISABLED")
    assert _card_start(world) == (False, "blocked")
    assert _orders() == []
    sent: list[str] = []
    ocpp = OcppSession(world.code, world.svc, lambda f: sent.append(f) or True)
    ocpp.on_message(json.dumps([2, "a1", "Authorize", {"idTag": world.card}]))
    assert json.loads(sent[-1]) == [3, "a1", {"idTagInfo": {"status": "Blocked"}}]


def test_a_disabled_drivers_ykc_password_is_refused_at_the_pile(app: Flask) -> None:
    from app.db import utcnow

    world = build_world(app, code="55031412782398", protocol="ykc")
    world.driver.disabled_at = utcnow()
    db.session.commit()
    world.connect(recent())
    auth = world.svc.handle(AuthorizeRequested(world.code, world.card, 1))
    assert (auth.accepted, auth.refusal_code) == (False, "DRIVER_DISABLED")
    assert auth.refusal_message == "账号已停用，如有疑问请联系客服"
