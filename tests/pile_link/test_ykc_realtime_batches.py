"""YKC real-time data (0x13) of many piles goes through the same group commit as OCPP
MeterValues (issue 12): the samples of concurrent connections share batches, every frame
is stored exactly once, and a batch that fails loses no sample (0x13 is never answered,
so no pile repeats it: the adapter tries again)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest
from flask import Flask
from sqlalchemy import select

from app.catalogue.models import Connector, Pile
from app.charging import meter_batches
from app.charging.models import ChargeOrder, MeterSampleRecord
from app.charging.pile_events import PileEventService
from app.charging.port import EventReply, MeterSample, PileEvent, SessionStarted
from app.extensions import db
from pile_link.group_commit import GroupCommitEvents, MeterWriterConfig
from pile_link.ykc import session as ykc_session
from pile_link.ykc.frame import Frame, FrameDecoder
from pile_link.ykc.messages import Login, Message, encode_message
from pile_link.ykc.session import YkcSession, new_serial, utcnow
from tests.pile_link.test_ykc_server import realtime, record
from tests.support.ports import pile_events

DEMO_YKC = ("55031412782305", "55031499000001")
EXTRA = tuple(f"5503149900{n:04d}" for n in range(11, 15))
CODES = DEMO_YKC + EXTRA
ROUNDS = 4


def frame_of(message: Message, seq: int = 1) -> Frame:
    [frame] = FrameDecoder().feed(encode_message(message, seq))
    return frame


class CountingDomain:
    """The real domain, with its meter batches counted (and the first ``fail`` failed)."""

    def __init__(self, svc: PileEventService, fail: int = 0) -> None:
        self.svc = svc
        self.sizes: list[int] = []
        self.fail = fail

    def handle_meter_samples(self, events: list[MeterSample]) -> list[EventReply | Exception]:
        self.sizes.append(len(events))
        if self.fail:
            self.fail -= 1
            raise RuntimeError("database gone for a moment")
        return self.svc.handle_meter_samples(events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.svc, name)


@pytest.fixture
def svc(app: Flask, demo: Any) -> PileEventService:
    template = db.session.scalar(select(Pile).where(Pile.code == DEMO_YKC[0]))
    assert template is not None
    for code in EXTRA:
        db.session.add(
            Pile(
                code=code,
                operator_id=template.operator_id,
                station_id=template.station_id,
                protocol=template.protocol,
                vendor="云快充",
                model="YKC-DC120",
                current_type="DC",
                rated_power_w=120000,
                connectors=[Connector(number=1, qr_payload=f"https://charge.test/q/{code}-1")],
            )
        )
    db.session.commit()
    return pile_events(app)


def connect(events: GroupCommitEvents) -> Iterator[tuple[YkcSession, str]]:
    """Every pile logged in (0x01) with a charge running on gun 1: (session, serial)."""
    for code in CODES:
        session = YkcSession(events, lambda data: True)
        login = Login(
            pile_code=code, pile_type=0x00, gun_count=1, protocol_version=0x0F,
            firmware_version="v1.6", network_type=0x01, sim="0" * 20, carrier=0x04,
        )  # fmt: skip
        session.pile_code = code
        assert session.open(frame_of(login), login)
        reply = events.handle(
            SessionStarted(
                code, 1, utcnow(), 0, "DEMO-CARD-01",
                pile_session_ref=new_serial(code, 1, utcnow()), initiated_by="pile",
            )
        )  # fmt: skip
        assert reply.accepted and reply.session_ref
        yield session, reply.session_ref


def send_rounds(piles: list[tuple[YkcSession, str]], rounds: int = ROUNDS) -> None:
    """Each round every pile's 0x13 at once, each run by its connection's worker."""
    for n in range(1, rounds + 1):
        jobs: list[Callable[[], None]] = []
        for session, serial in piles:
            code = session.pile_code or ""
            frame = frame_of(realtime(serial=serial, energy=n * 10_000, pile_code=code), n)
            job = session.receive(frame)
            assert job is not None
            jobs.append(job)
        pairs = zip(piles, jobs, strict=True)
        workers = [gevent.spawn(session.run, job) for (session, _), job in pairs]
        gevent.joinall(workers, raise_error=True)


def stored(serials: list[str]) -> dict[str, list[int | None]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(ChargeOrder.pile_session_ref, MeterSampleRecord.energy_wh)
        .join(MeterSampleRecord, MeterSampleRecord.order_id == ChargeOrder.id)
        .where(ChargeOrder.pile_session_ref.in_(serials))
        .order_by(MeterSampleRecord.id)
    ).all()
    out: dict[str, list[int | None]] = {s: [] for s in serials}
    for ref, wh in rows:
        out[ref].append(wh)
    return out


EXPECTED = [n * 1000 for n in range(1, ROUNDS + 1)]  # 0.0001 kWh → Wh


def test_realtime_data_of_many_piles_is_batched_and_stored_exactly_once(
    svc: PileEventService,
) -> None:
    domain = CountingDomain(svc)
    events = GroupCommitEvents(domain, MeterWriterConfig(max_delay=0.05))
    piles = list(connect(events))
    send_rounds(piles)
    events.stop()
    assert sum(domain.sizes) == len(CODES) * ROUNDS  # every sample went through a batch
    assert max(domain.sizes) > 1 and len(domain.sizes) < len(CODES) * ROUNDS
    serials = [serial for _, serial in piles]
    assert stored(serials) == {s: EXPECTED for s in serials}
    db.session.expire_all()
    energies = db.session.scalars(
        select(ChargeOrder.energy_wh).where(ChargeOrder.pile_session_ref.in_(serials))
    ).all()
    assert energies == [EXPECTED[-1]] * len(CODES)


def test_a_failed_realtime_batch_is_tried_again_and_loses_no_sample(
    svc: PileEventService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ykc_session, "SAMPLE_RETRY_DELAY", 0.01)
    domain = CountingDomain(svc, fail=1)  # the first batch fails whole, nothing committed
    events = GroupCommitEvents(domain, MeterWriterConfig(max_delay=0.05))
    piles = list(connect(events))
    send_rounds(piles)
    events.stop()
    assert domain.fail == 0 and len(domain.sizes) >= 2
    serials = [serial for _, serial in piles]
    assert stored(serials) == {s: EXPECTED for s in serials}


def test_a_batch_the_database_refuses_is_recorded_one_by_one_as_for_ocpp(
    svc: PileEventService, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = meter_batches.record_meter_samples

    def flaky(batch: list[MeterSample]) -> list[EventReply | None]:
        calls.append(len(batch))
        if len(calls) == 1:  # the first batch of 0x13 samples fails in the database
            raise RuntimeError("serialization failure")
        return real(batch)

    monkeypatch.setattr(meter_batches, "record_meter_samples", flaky)
    events = GroupCommitEvents(svc, MeterWriterConfig(max_delay=0.05))
    piles = list(connect(events))
    send_rounds(piles)
    events.stop()
    assert len(calls) >= 2
    serials = [serial for _, serial in piles]
    assert stored(serials) == {s: EXPECTED for s in serials}


class Failing:
    """A domain whose meter samples always fail."""

    def __init__(self) -> None:
        self.samples = 0

    def handle(self, event: PileEvent) -> EventReply:
        if isinstance(event, MeterSample):
            self.samples += 1
            raise RuntimeError("still gone")
        return EventReply(accepted=True)


def _charging(events: Any) -> tuple[YkcSession, Frame]:
    session = YkcSession(events, lambda data: True)
    session.pile_code = CODES[0]
    serial = new_serial(CODES[0], 1, utcnow())
    return session, frame_of(realtime(serial=serial, pile_code=CODES[0]))


def test_a_sample_that_keeps_failing_is_given_up_after_a_few_tries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ykc_session, "SAMPLE_RETRY_DELAY", 0.0)
    domain = Failing()
    session, frame = _charging(domain)
    job = session.receive(frame)
    assert job is not None
    session.run(job)  # logged, never raised into the worker
    assert domain.samples == ykc_session.SAMPLE_ATTEMPTS


def test_a_closed_connection_does_not_try_a_sample_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ykc_session, "SAMPLE_RETRY_DELAY", 0.0)
    domain = Failing()
    session, frame = _charging(domain)
    job = session.receive(frame)
    assert job is not None
    session.closed("closed", announce=False)
    session.run(job)
    assert domain.samples == 1


@pytest.mark.parametrize(
    "message",
    [realtime(), record("3" * 32)],
    ids=["0x13 flat", "0x3B with segments"],
)
def test_raw_fields_are_what_asdict_gives(message: Message) -> None:
    # the fast copy of _raw must keep the audit record as it was
    assert ykc_session._fields(message) == dataclasses.asdict(message)
