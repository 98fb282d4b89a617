"""Meter samples recorded in batches (issue 3: group commit) keep every rule of the
per-event path: meters only go forward, a ``starting`` order becomes ``charging``, a
sample for no order is accepted and stored nowhere, one bad sample loses no other."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, text, update

from app.catalogue.models import Pile
from app.charging import meter_batches, orders
from app.charging.models import ChargeOrder, MeterSampleRecord
from app.charging.pile_events import PileEventService
from app.charging.port import EventReply, MeterSample, PileConnected, SessionStarted
from app.extensions import db
from app.ledger.wallet import wallet_of
from tests.money.test_concurrency_pg import _cleanup
from tests.support.money import build_world
from tests.support.ports import pile_events
from tests.support.settings import ON_POSTGRES

OCPP = "DEMO-OCPP-01"
YKC = "55031412782305"
T0 = datetime(2021, 1, 13, 22, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def svc(app: Flask, demo: Any) -> PileEventService:
    return pile_events(app)


def _start(svc: PileEventService, code: str = OCPP, connector: int = 1) -> str:
    assert svc.handle(PileConnected(code, "ocpp16", at(0))).accepted
    reply = svc.handle(
        SessionStarted(code, connector, at(1), meter_start_wh=1_000_000, id_tag="DEMO-CARD-01")
    )
    assert reply.accepted and reply.session_ref
    return reply.session_ref


def _order(ref: str) -> ChargeOrder:
    db.session.expire_all()
    order = db.session.scalar(select(ChargeOrder).where(ChargeOrder.pile_session_ref == ref))
    assert order is not None
    return order


def _samples() -> list[MeterSampleRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(MeterSampleRecord).order_by(MeterSampleRecord.id)))


def _record(app: Flask, events: list[MeterSample]) -> list[EventReply | None]:
    with app.app_context():
        return meter_batches.record_meter_samples(events)


def test_two_samples_of_one_order_in_a_batch_keep_the_larger_energy(
    app: Flask, svc: PileEventService
) -> None:
    ref = _start(svc)
    replies = _record(
        app,
        [
            MeterSample(OCPP, 1, at(5), ref, energy_wh=1_001_500, power_w=7000, voltage_v=220.4),
            MeterSample(OCPP, 1, at(6), ref, energy_wh=1_001_200, current_a=31.25, soc_percent=40),
        ],
    )
    assert replies == [EventReply(accepted=True), EventReply(accepted=True)]
    order = _order(ref)
    assert order.energy_wh == 1500 and order.last_meter_wh == 1500
    assert order.last_meter_at == at(6) and order.power_w == 7000 and order.soc_percent == 40
    assert order.meter_start_wh == 1_000_000 and order.state == "charging"
    rows = [(s.order_id, s.at, s.energy_wh, s.power_w, s.voltage_dv, s.current_da, s.soc_percent)
            for s in _samples()]  # fmt: skip
    assert rows == [
        (order.id, at(5), 1500, 7000, 2204, None, None),
        (order.id, at(6), 1500, None, None, 312, 40),
    ]


def test_batch_leaves_the_order_as_the_per_event_path_does(
    app: Flask, svc: PileEventService
) -> None:
    # the same samples, one order through svc.handle, another through one batch
    one = _start(svc, OCPP, 1)
    other = _start(svc, YKC, 1)
    readings = [(5, 1_000_400, 3000, None), (6, None, 6500, 55), (7, 1_000_300, None, None)]
    for minute, wh, watts, soc in readings:
        svc.handle(MeterSample(OCPP, 1, at(minute), one, energy_wh=wh, power_w=watts,
                               soc_percent=soc))  # fmt: skip
    _record(app, [MeterSample(YKC, 1, at(m), other, energy_wh=wh, power_w=w, soc_percent=s)
                  for m, wh, w, s in readings])  # fmt: skip

    def view(order: ChargeOrder) -> tuple[Any, ...]:
        return (order.state, order.meter_start_wh, order.energy_wh, order.last_meter_wh,
                order.last_meter_at, order.power_w, order.soc_percent)  # fmt: skip

    assert view(_order(one)) == view(_order(other)) == (
        "charging", 1_000_000, 400, 400, at(7), 6500, 55,
    )  # fmt: skip
    by_order: dict[int, list[tuple[Any, ...]]] = {}
    for s in _samples():
        by_order.setdefault(s.order_id, []).append((s.at, s.energy_wh, s.power_w, s.soc_percent))
    assert by_order[_order(one).id] == by_order[_order(other).id]


def test_one_batch_updates_the_orders_of_several_piles(app: Flask, svc: PileEventService) -> None:
    one, other = _start(svc, OCPP, 1), _start(svc, YKC, 1)
    # called directly: a failing batch raises here instead of falling back event by event
    replies = _record(
        app,
        [
            MeterSample(OCPP, 1, at(5), one, energy_wh=1_000_300, power_w=7000),
            MeterSample(YKC, 1, at(5), other, energy_wh=1_000_800, soc_percent=61),
            MeterSample(OCPP, 1, at(6), one, energy_wh=1_000_450),
        ],
    )
    assert replies == [EventReply(accepted=True)] * 3
    assert (_order(one).energy_wh, _order(one).power_w, _order(one).last_meter_at) == (
        450, 7000, at(6),
    )  # fmt: skip
    assert (_order(other).energy_wh, _order(other).soc_percent) == (800, 61)
    assert len(_samples()) == 3


def test_first_absolute_reading_of_a_batch_sets_the_meter_start(
    app: Flask, svc: PileEventService
) -> None:
    ref = _start(svc)
    order = _order(ref)
    order.meter_start_wh = None
    db.session.commit()
    _record(
        app,
        [
            MeterSample(OCPP, 1, at(5), ref, energy_wh=2_000_000),
            MeterSample(OCPP, 1, at(6), ref, energy_wh=2_000_700),
        ],
    )
    order = _order(ref)
    assert order.meter_start_wh == 2_000_000 and order.energy_wh == 700
    assert [s.energy_wh for s in _samples()] == [0, 700]


def test_batch_with_a_starting_order_moves_it_to_charging(
    app: Flask, svc: PileEventService
) -> None:
    assert svc.handle(PileConnected(OCPP, "ocpp16", at(0))).accepted
    pile = db.session.scalar(select(Pile).where(Pile.code == OCPP))
    assert pile is not None
    conn = next(c for c in pile.connectors if c.number == 2)
    order = ChargeOrder(
        order_no=orders.new_order_no(at(0)), operator_id=pile.operator_id,
        station_id=pile.station_id, pile_id=pile.id, connector_id=conn.id, connector_number=2,
        start_method="remote", state="starting", requested_at=at(0),
    )  # fmt: skip
    db.session.add(order)
    db.session.commit()
    order_id = order.id
    events = [
        MeterSample(OCPP, 2, at(2), None, energy_wh=300, energy_is_session_relative=True),
        MeterSample(OCPP, 2, at(3), None, energy_wh=500, energy_is_session_relative=True),
    ]
    # the batch leaves it to the per-event path ...
    assert _record(app, events) == [None, None]
    assert _samples() == []
    # ... which the service runs after the batch
    assert svc.handle_meter_samples(events) == [EventReply(accepted=True)] * 2
    db.session.expire_all()
    order = db.session.get(ChargeOrder, order_id)  # type: ignore[assignment]
    assert order.state == "charging" and order.started_at == at(2) and order.energy_wh == 500
    assert [s.energy_wh for s in _samples()] == [300, 500]


def test_sample_for_no_order_is_accepted_and_stored_nowhere(
    app: Flask, svc: PileEventService
) -> None:
    assert svc.handle(PileConnected(OCPP, "ocpp16", at(0))).accepted
    replies = svc.handle_meter_samples(
        [
            MeterSample(OCPP, 1, at(2), "987654", energy_wh=1000),  # no such session
            MeterSample(OCPP, 0, at(2), None, energy_wh=1000),  # connector 0: the pile
            MeterSample("NO-SUCH-PILE", 1, at(2), "1", energy_wh=1000),
        ]
    )
    assert replies == [
        EventReply(accepted=True),
        EventReply(accepted=True),
        EventReply(accepted=False, reason="unknown_pile"),
    ]
    assert _samples() == []
    assert db.session.scalar(select(func.count()).select_from(ChargeOrder)) == 0


def test_sample_for_a_finished_order_is_accepted_and_not_stored(
    app: Flask, svc: PileEventService
) -> None:
    ref = _start(svc)
    order = _order(ref)
    order.state = "finished"
    order.energy_wh = 1760
    db.session.commit()
    assert _record(app, [MeterSample(OCPP, 1, at(40), ref, energy_wh=1_009_000)]) == [
        EventReply(accepted=True)
    ]
    assert _samples() == [] and _order(ref).energy_wh == 1760


def test_session_ref_unknown_falls_back_to_the_active_order_on_the_connector(
    app: Flask, svc: PileEventService
) -> None:
    ref = _start(svc)
    _record(app, [MeterSample(OCPP, 1, at(5), "not-ours", energy_wh=1_000_250)])
    assert _order(ref).energy_wh == 250
    assert [s.order_id for s in _samples()] == [_order(ref).id]


def test_batch_lookup_pairs_each_reference_with_its_own_pile(
    app: Flask, svc: PileEventService
) -> None:
    """The batch looks each (pile, reference) pair up on its own: a reference is one pile's
    (another pile's session of the same reference is not it), and a sample without one, in
    the same batch as a referenced sample of its pile, goes to the connector's order."""
    one, other = _start(svc, OCPP, 1), _start(svc, YKC, 1)
    replies = _record(
        app,
        [
            MeterSample(YKC, 1, at(5), one, energy_wh=1_000_100),  # OCPP's reference on YKC
            MeterSample(OCPP, 1, at(5), one, energy_wh=1_000_300),
            MeterSample(OCPP, 1, at(6), None, energy_wh=1_000_400),
            MeterSample(YKC, 1, at(6), other, energy_wh=1_000_200),
        ],
    )
    assert replies == [EventReply(accepted=True)] * 4
    assert (_order(one).energy_wh, _order(other).energy_wh) == (400, 200)
    by_order = sorted((s.order_id, s.energy_wh) for s in _samples())
    assert by_order == sorted(
        [(_order(other).id, 100), (_order(one).id, 300), (_order(one).id, 400),
         (_order(other).id, 200)]
    )  # fmt: skip


def test_failing_event_in_a_batch_does_not_lose_the_others(
    app: Flask, svc: PileEventService
) -> None:
    ref = _start(svc)
    naive = datetime(2021, 1, 13, 22, 4)  # stored times are aware UTC: this one cannot be
    outcomes = svc.handle_meter_samples(
        [
            MeterSample(OCPP, 1, at(3), ref, energy_wh=1_000_100),
            MeterSample(OCPP, 1, naive, ref, energy_wh=1_000_150),
            MeterSample(OCPP, 1, at(5), ref, energy_wh=1_000_200),
        ]
    )
    assert outcomes[0] == outcomes[2] == EventReply(accepted=True)
    assert isinstance(outcomes[1], Exception)
    assert [(s.at, s.energy_wh) for s in _samples()] == [(at(3), 100), (at(5), 200)]
    assert _order(ref).energy_wh == 200


def test_pile_last_seen_is_written_at_most_once_a_minute(app: Flask, svc: PileEventService) -> None:
    ref = _start(svc)

    def last_seen() -> datetime | None:
        db.session.expire_all()
        pile = db.session.scalar(select(Pile).where(Pile.code == OCPP))
        assert pile is not None
        return pile.last_seen_at

    before = last_seen()
    assert before is not None
    _record(app, [MeterSample(OCPP, 1, before + timedelta(seconds=30), ref, energy_wh=1_000_001)])
    assert last_seen() == before
    later = before + timedelta(seconds=61)
    _record(app, [MeterSample(OCPP, 1, later, ref, energy_wh=1_000_002)])
    assert last_seen() == later


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks need PostgreSQL")
def test_stop_record_committed_during_a_meter_batch_keeps_its_final_energy(
    _pg_app: Flask,
) -> None:
    """The batch read the order as charging; a stop record (another transaction) finishes
    it before the batch writes: the batch must not overwrite the final energy."""
    app = _pg_app
    with app.app_context():
        world = build_world(app, name="抄表竞争运营商", code="METER-RACE-01", balance=0)
        order = ChargeOrder(
            order_no="METERRACE0001", operator_id=world.operator.id,
            station_id=world.station.id, pile_id=world.pile.id,
            connector_id=world.pile.connectors[0].id, connector_number=1,
            driver_id=world.driver.id, id_tag=world.card, start_method="card",
            state="charging", pile_session_ref="race-1", started_at=at(0),
            meter_start_wh=0, energy_wh=100,
        )  # fmt: skip
        db.session.add(order)
        db.session.commit()
        order_id = order.id
        ids = {
            "operator": world.operator.id, "driver": world.driver.id,
            "wallet": wallet_of(world.driver.id).id, "station": world.station.id,
            "pile": world.pile.id, "tariff": world.station.tariff_id,
        }  # fmt: skip
    outcome: list[Any] = []

    def batch() -> None:
        with app.app_context():
            try:
                outcome.append(
                    meter_batches.record_meter_samples(
                        [MeterSample("METER-RACE-01", 1, at(5), "race-1", energy_wh=900)]
                    )
                )
            except BaseException as exc:
                outcome.append(exc)
            finally:
                db.session.remove()

    try:
        with app.app_context(), db.engine.connect() as stop:
            with stop.begin():  # the stop record's transaction, holding the order's row
                stop.execute(
                    update(ChargeOrder)
                    .where(ChargeOrder.id == order_id)
                    .values(state="finished", energy_wh=1760)
                )
                writer = threading.Thread(target=batch, daemon=True)
                writer.start()
                _wait_for_a_lock_wait("UPDATE charge_orders")
            writer.join(10)
        assert outcome == [[EventReply(accepted=True)]], outcome
        with app.app_context():
            order = db.session.get(ChargeOrder, order_id)  # type: ignore[assignment]
            assert order.state == "finished" and order.energy_wh == 1760
            assert db.session.scalars(
                select(MeterSampleRecord.energy_wh).where(MeterSampleRecord.order_id == order_id)
            ).all() == [900]
    finally:
        with app.app_context():
            db.session.execute(
                delete(MeterSampleRecord).where(MeterSampleRecord.order_id == order_id)
            )
            db.session.commit()
            _cleanup([order_id], ids)


def _wait_for_a_lock_wait(statement: str) -> None:
    deadline = time.monotonic() + 10
    with db.engine.connect() as watch:
        while not watch.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE :statement"
            ),
            {"statement": statement + "%"},
        ):
            watch.rollback()  # the statistics views are a snapshot per transaction
            assert time.monotonic() < deadline, f"nobody waits on a lock in {statement}"
            time.sleep(0.01)
