"""Piles connecting in batches (issue 12: a reconnect storm) keep every rule of the
per-event ``PileConnected``: one online period per connection, kept by the boot that
follows the socket's opening, closed as ``reconnect`` when a period of another process
was left open, firmware kept on the pile and on the unit serving now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.catalogue import pile_access
from app.catalogue.models import Pile, PileConnectionEvent, PileHardware, PileOnlinePeriod
from app.charging import connection_batches
from app.charging.pile_events import PileEventService
from app.charging.port import (
    Admission,
    AdmissionRequest,
    EventReply,
    PileConnected,
    PileDisconnected,
)
from app.extensions import db
from app.tenancy.scope import SYSTEM
from tests.support.ports import pile_events

OCPP = "DEMO-OCPP-01"
YKC = "55031412782305"
T0 = datetime(2021, 1, 13, 22, 0, tzinfo=UTC)
NODE = "node-a"
OK = EventReply(accepted=True)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def svc(app: Flask, demo: Any) -> PileEventService:
    return pile_events(app)


def _pile(code: str) -> Pile:
    db.session.expire_all()
    pile = db.session.scalar(select(Pile).where(Pile.code == code))
    assert pile is not None
    return pile


def _periods(code: str) -> list[tuple[datetime, datetime | None, str, str]]:
    pile = _pile(code)
    return [
        (p.online_at, p.offline_at, p.offline_reason, p.node)
        for p in db.session.scalars(
            select(PileOnlinePeriod)
            .where(PileOnlinePeriod.pile_id == pile.id)
            .order_by(PileOnlinePeriod.id)
        )
    ]


def _serving_firmware(code: str) -> str:
    pile = _pile(code)
    unit = db.session.scalar(
        select(PileHardware).where(
            PileHardware.pile_id == pile.id, PileHardware.removed_at.is_(None)
        )
    )
    assert unit is not None
    return unit.firmware


def _batch(app: Flask, events: list[PileConnected], node: str = NODE) -> list[EventReply]:
    with app.app_context():
        return connection_batches.record_connections(events, node=node)


def _state(code: str) -> tuple[Any, ...]:
    pile = _pile(code)
    return (pile.online, pile.last_seen_at, pile.firmware, _periods(code), _serving_firmware(code))


def test_a_batch_opens_a_period_for_a_new_connection_and_the_boot_keeps_it(
    app: Flask, svc: PileEventService
) -> None:
    replies = _batch(app, [PileConnected(OCPP, "ocpp16", at(0)), PileConnected(YKC, "ykc", at(0))])
    assert replies == [OK, OK]
    assert _periods(OCPP) == [(at(0), None, "", NODE)]
    # the boot after the opening (another batch): same connection, same period
    assert _batch(app, [PileConnected(OCPP, "ocpp16", at(0.1), {"vendor": "X"})]) == [OK]
    pile = _pile(OCPP)
    assert pile.online and pile.last_seen_at == at(0.1)
    assert _periods(OCPP) == [(at(0), None, "", NODE)]
    assert _periods(YKC) == [(at(0), None, "", NODE)]


def test_a_period_left_open_by_another_process_is_closed_as_reconnect(
    app: Flask, svc: PileEventService
) -> None:
    svc.node = "node-b"
    assert svc.handle(PileConnected(OCPP, "ocpp16", at(0))).accepted
    assert _batch(app, [PileConnected(OCPP, "ocpp16", at(5))]) == [OK]
    assert _periods(OCPP) == [(at(0), at(5), "reconnect", "node-b"), (at(5), None, "", NODE)]


def test_an_offline_pile_with_a_period_still_open_gets_a_new_one(
    app: Flask, svc: PileEventService
) -> None:
    svc.node = NODE
    assert svc.handle(PileConnected(OCPP, "ocpp16", at(0))).accepted
    with app.app_context():
        db.session.execute(db.update(Pile).where(Pile.code == OCPP).values(online=False))
        db.session.commit()
    assert _batch(app, [PileConnected(OCPP, "ocpp16", at(3))]) == [OK]
    assert _periods(OCPP) == [(at(0), at(3), "reconnect", NODE), (at(3), None, "", NODE)]


def test_an_unknown_pile_is_refused_and_costs_the_batch_nothing(
    app: Flask, svc: PileEventService
) -> None:
    replies = _batch(
        app, [PileConnected("NO-SUCH-PILE", "ocpp16", at(0)), PileConnected(OCPP, "ocpp16", at(0))]
    )
    assert replies == [EventReply(accepted=False, reason="unknown_pile"), OK]
    assert _periods(OCPP) == [(at(0), None, "", NODE)]


def test_one_piles_opening_and_boot_in_one_batch_make_one_period(
    app: Flask, svc: PileEventService
) -> None:
    replies = _batch(
        app,
        [
            PileConnected(OCPP, "ocpp16", at(0)),
            PileConnected(OCPP, "ocpp16", at(0.1), {"firmware": "2.0"}),
            PileConnected(OCPP, "ocpp16", at(0.2)),
        ],
    )
    assert replies == [OK, OK, OK]
    pile = _pile(OCPP)
    assert (pile.online, pile.last_seen_at, pile.firmware) == (True, at(0.2), "2.0")
    assert _periods(OCPP) == [(at(0), None, "", NODE)]


def test_a_firmware_change_goes_to_the_pile_and_the_unit_serving_now(
    app: Flask, svc: PileEventService
) -> None:
    before = _pile(OCPP).firmware
    assert _batch(app, [PileConnected(OCPP, "ocpp16", at(0), {"firmware": "9.9.9"})]) == [OK]
    assert _pile(OCPP).firmware == "9.9.9" != before
    assert _serving_firmware(OCPP) == "9.9.9"
    # a boot without firmware keeps it
    assert _batch(app, [PileConnected(OCPP, "ocpp16", at(1), {"vendor": "X"})]) == [OK]
    assert _pile(OCPP).firmware == "9.9.9"
    assert _serving_firmware(OCPP) == "9.9.9"


def test_a_batch_leaves_what_one_event_at_a_time_leaves(app: Flask, svc: PileEventService) -> None:
    """The same history, per event on one pile and in batches on the other."""
    svc.node = NODE
    script: list[tuple[float, str, dict[str, Any]]] = [
        (0, "connect", {}),
        (0.1, "connect", {"firmware": "1.1"}),
        (7, "disconnect", {}),
        (8, "connect", {}),
        (8, "connect", {}),
        (8.2, "connect", {"firmware": "1.2"}),
        (9, "connect", {"firmware": "1.2"}),
    ]
    for minute, what, info in script:
        if what == "connect":
            assert svc.handle(PileConnected(OCPP, "ocpp16", at(minute), info)) == OK
        else:
            assert svc.handle(PileDisconnected(OCPP, at(minute), "closed")) == OK
    # YKC pile: the connects between two disconnects in one batch
    pending: list[PileConnected] = []
    for minute, what, info in [*script, (99, "flush", {})]:
        if what == "connect":
            pending.append(PileConnected(YKC, "ykc", at(minute), info))
            continue
        if pending:
            assert svc.handle_connections(pending) == [OK] * len(pending)
            pending = []
        if what == "disconnect":
            assert svc.handle(PileDisconnected(YKC, at(minute), "closed")) == OK
    assert _state(YKC) == _state(OCPP)


def test_a_failing_batch_is_recorded_one_event_at_a_time(
    app: Flask, svc: PileEventService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(events: Any, node: str = "") -> list[EventReply]:
        raise RuntimeError("database went away")

    monkeypatch.setattr(connection_batches, "record_connections", broken)
    svc.node = NODE
    replies = svc.handle_connections(
        [PileConnected(OCPP, "ocpp16", at(0)), PileConnected("NO-SUCH-PILE", "ocpp16", at(0))]
    )
    assert replies == [OK, EventReply(accepted=False, reason="unknown_pile")]
    assert _periods(OCPP) == [(at(0), None, "", NODE)]


# --- the upgrades' admissions in batches (one pile query for many connections) ------------


def _connection_events(code: str) -> list[tuple[str, str]]:
    pile = _pile(code)
    return [
        (e.kind, e.reason)
        for e in db.session.scalars(
            select(PileConnectionEvent)
            .where(PileConnectionEvent.pile_id == pile.id)
            .order_by(PileConnectionEvent.id)
        )
    ]


def test_admissions_in_a_batch_answer_as_one_at_a_time_and_record_refusals(
    app: Flask, svc: PileEventService
) -> None:
    with app.app_context():
        secret = pile_access.set_password(SYSTEM, _pile(OCPP).id).password
        db.session.commit()
    ip = "203.0.113.7"
    requests = [
        AdmissionRequest(OCPP, secret, "ocpp16", ip),
        AdmissionRequest("NO-SUCH-PILE", None, "ocpp16", ip),
        AdmissionRequest(OCPP, "wrong", "ocpp16", ip),
        AdmissionRequest(OCPP, None, "ocpp16", ip),
        AdmissionRequest(OCPP, secret, "ocpp16", ip, replacing=True),
        AdmissionRequest(YKC, None, "ykc", ip),
        AdmissionRequest(YKC, None, "ykc", ip, replacing=True),
    ]
    assert svc.handle_admissions(requests) == [
        Admission.ADMITTED,
        Admission.UNKNOWN_PILE,
        Admission.WRONG_PASSWORD,
        Admission.PASSWORD_REQUIRED,
        Admission.ADMITTED,
        Admission.ADMITTED,
        Admission.REPLACEMENT_REFUSED,  # proved nothing: an impostor may not take its place
    ]
    assert _connection_events(OCPP) == [
        ("refused", "wrong_password"),
        ("refused", "password_required"),
        ("replaced", ""),
    ]
    assert _connection_events(YKC) == [("refused", "replacement_refused")]
    # and the same answers one at a time
    one_by_one = [
        svc.admit(r.pile_code, r.password, protocol=r.protocol, address=r.address,
                  replacing=r.replacing)
        for r in requests
    ]  # fmt: skip
    assert one_by_one == svc.handle_admissions(requests)
