"""The group-commit writer of the pile link: samples of concurrent connections share one
batch, each caller gets its own outcome only once the batch has returned (committed), and
a failing or dying writer never leaves a connection waiting."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.event
import pytest

from app.charging.port import (
    Admission,
    AdmissionRequest,
    AuthorizeRequested,
    EventReply,
    MeterSample,
    PileConnected,
    PileDisconnected,
    PileEvent,
    PileTariff,
)
from pile_link.group_commit import (
    GroupCommitEvents,
    MeterWriter,
    MeterWriterConfig,
    MeterWriterStopped,
)

T0 = datetime(2021, 1, 13, 22, 0, tzinfo=UTC)


def sample(code: str, wh: int = 100) -> MeterSample:
    return MeterSample(code, 1, T0, "1", energy_wh=wh)


class FakeDomain:
    """Records batches; answers each sample with its pile code as session_ref."""

    def __init__(self) -> None:
        self.batches: list[list[MeterSample]] = []
        self.single: list[PileEvent] = []
        self.gate: gevent.event.Event | None = None
        self.fail_codes: set[str] = set()
        self.crash = False
        self.admissions: list[dict[str, Any]] = []

    def handle_meter_samples(self, events: list[MeterSample]) -> list[EventReply | Exception]:
        if self.gate is not None:
            self.gate.wait()
        self.batches.append(list(events))
        if self.crash:
            raise RuntimeError("database gone")
        return [
            ValueError(e.pile_code)
            if e.pile_code in self.fail_codes
            else EventReply(session_ref=e.pile_code)
            for e in events
        ]

    def is_registered(self, pile_code: str) -> bool:
        return pile_code.startswith("P")

    def admit(self, pile_code: str, password: str | None, **kw: Any) -> Admission:
        self.admissions.append(kw)
        return Admission.ADMITTED if password == "secret" else Admission.WRONG_PASSWORD

    def handle(self, event: PileEvent) -> EventReply:
        self.single.append(event)
        return EventReply(reason="direct")

    def tariff_for(self, pile_code: str) -> PileTariff:
        return PileTariff(7, ())


@pytest.fixture
def domain() -> FakeDomain:
    return FakeDomain()


def _writer(domain: FakeDomain, delay: float = 0.02) -> MeterWriter:
    return MeterWriter(domain.handle_meter_samples, MeterWriterConfig(max_delay=delay))


def test_concurrent_samples_are_committed_in_one_batch(domain: FakeDomain) -> None:
    writer = _writer(domain)
    callers = [gevent.spawn(writer.record, sample(f"P{i}")) for i in range(20)]
    gevent.joinall(callers, timeout=5, raise_error=True)
    assert [c.value.session_ref for c in callers] == [f"P{i}" for i in range(20)]
    assert [len(b) for b in domain.batches] == [20]
    assert (writer.batches, writer.recorded) == (1, 20)
    writer.stop()


def test_batch_is_cut_at_max_batch(domain: FakeDomain) -> None:
    writer = MeterWriter(domain.handle_meter_samples, MeterWriterConfig(0.05, max_batch=8))
    callers = [gevent.spawn(writer.record, sample(f"P{i}")) for i in range(20)]
    gevent.joinall(callers, timeout=5, raise_error=True)
    assert [len(b) for b in domain.batches] == [8, 8, 4]
    writer.stop()


def test_callers_are_answered_only_after_the_batch_returned(domain: FakeDomain) -> None:
    writer = _writer(domain, delay=0.001)
    domain.gate = gevent.event.Event()
    callers = [gevent.spawn(writer.record, sample(f"P{i}")) for i in range(3)]
    gevent.sleep(0.05)
    assert not any(c.ready() for c in callers), "answered before the commit"
    domain.gate.set()
    gevent.joinall(callers, timeout=5, raise_error=True)
    assert all(c.successful() for c in callers)
    writer.stop()


def test_a_failed_sample_raises_only_in_its_own_caller(domain: FakeDomain) -> None:
    writer = _writer(domain)
    domain.fail_codes = {"P1"}
    callers = [gevent.spawn(writer.record, sample(f"P{i}")) for i in range(3)]
    gevent.joinall(callers, timeout=5)
    assert isinstance(callers[1].exception, ValueError)
    assert callers[0].value.session_ref == "P0" and callers[2].value.session_ref == "P2"
    writer.stop()


def test_a_crashing_batch_answers_every_caller_with_an_error_and_the_writer_goes_on(
    domain: FakeDomain,
) -> None:
    writer = _writer(domain)
    domain.crash = True
    callers = [gevent.spawn(writer.record, sample(f"P{i}")) for i in range(3)]
    gevent.joinall(callers, timeout=5)
    assert all(isinstance(c.exception, RuntimeError) for c in callers)
    domain.crash = False
    assert writer.record(sample("P9")).session_ref == "P9"
    writer.stop()


def test_a_killed_writer_never_leaves_callers_waiting(domain: FakeDomain) -> None:
    writer = _writer(domain, delay=0.001)
    domain.gate = gevent.event.Event()
    first = [gevent.spawn(writer.record, sample(f"P{i}")) for i in range(2)]
    gevent.sleep(0.05)  # the writer now waits inside the domain with these two
    queued = [gevent.spawn(writer.record, sample(f"Q{i}")) for i in range(2)]
    gevent.sleep(0.01)
    assert writer._greenlet is not None
    writer._greenlet.kill(block=True, timeout=2)
    gevent.joinall(first + queued, timeout=5)
    assert all(isinstance(c.exception, MeterWriterStopped) for c in first + queued)
    domain.gate.set()
    assert writer.record(sample("P5")).session_ref == "P5"  # a new writer took over
    writer.stop()


def test_stop_records_what_is_queued_then_records_alone(domain: FakeDomain) -> None:
    writer = _writer(domain, delay=0.2)
    callers = [gevent.spawn(writer.record, sample(f"P{i}")) for i in range(3)]
    gevent.sleep(0.01)  # queued, the batch window still open
    writer.stop(timeout=5)
    gevent.joinall(callers, timeout=5, raise_error=True)
    assert [c.value.session_ref for c in callers] == ["P0", "P1", "P2"]
    assert writer.record(sample("P7")).session_ref == "P7"
    assert [len(b) for b in domain.batches] == [3, 1]


def test_a_call_from_another_hub_is_recorded_alone(domain: FakeDomain) -> None:
    writer = _writer(domain)
    assert writer.record(sample("P1")).session_ref == "P1"  # binds the writer to this hub
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(writer.record(sample("P2"))))
    thread.start()
    thread.join(5)
    assert out[0].session_ref == "P2"
    assert [len(b) for b in domain.batches] == [1, 1]
    writer.stop()


def test_group_commit_events_batch_meter_samples_only(domain: FakeDomain) -> None:
    events = GroupCommitEvents(domain, MeterWriterConfig(max_delay=0.001))
    assert events.handle(sample("P1")).session_ref == "P1"
    assert events.handle(AuthorizeRequested("P1", "CARD")).reason == "direct"
    assert domain.single == [AuthorizeRequested("P1", "CARD")]
    assert events.is_registered("P1") and not events.is_registered("X1")
    assert events.admit("P1", "", protocol="ocpp16") is Admission.WRONG_PASSWORD
    assert events.admit("P1", "secret", protocol="ykc", address="10.0.0.9", replacing=True) is (
        Admission.ADMITTED
    )
    assert domain.admissions[-1] == {"protocol": "ykc", "address": "10.0.0.9", "replacing": True}
    assert events.tariff_for("P1") == PileTariff(7, ())  # what the YKC adapter looks up
    events.stop()


def test_a_mass_disconnect_queues_before_the_domain_not_in_the_database_pool() -> None:
    class SlowDomain(FakeDomain):
        def __init__(self) -> None:
            super().__init__()
            self.running = 0
            self.most = 0

        def handle(self, event: PileEvent) -> EventReply:
            self.running += 1
            self.most = max(self.most, self.running)
            gevent.sleep(0.005)  # a database round trip
            self.running -= 1
            return super().handle(event)

    domain = SlowDomain()
    events = GroupCommitEvents(domain, max_concurrent=4)
    gone = [gevent.spawn(events.handle, PileDisconnected(f"P{i}", T0, "closed")) for i in range(60)]
    gevent.joinall(gone, timeout=10, raise_error=True)
    assert len(domain.single) == 60, "every offline event reaches the domain"
    assert domain.most == 4


def test_piles_connecting_at_once_are_recorded_in_batches_when_the_domain_can() -> None:
    class ConnectingDomain(FakeDomain):
        def __init__(self) -> None:
            super().__init__()
            self.connection_batches: list[list[PileConnected]] = []
            self.admission_batches: list[list[AdmissionRequest]] = []

        def handle_connections(self, events: list[PileConnected]) -> list[EventReply | Exception]:
            self.connection_batches.append(list(events))
            return [EventReply(reason=e.pile_code) for e in events]

        def handle_admissions(
            self, requests: list[AdmissionRequest]
        ) -> list[Admission | Exception]:
            self.admission_batches.append(list(requests))
            return [Admission.ADMITTED if r.password else Admission.UNKNOWN_PILE for r in requests]

    domain = ConnectingDomain()
    events = GroupCommitEvents(domain, connections=MeterWriterConfig(max_delay=0.02))
    callers = [gevent.spawn(events.handle, PileConnected(f"P{i}", "ocpp16", T0)) for i in range(30)]
    gevent.joinall(callers, timeout=5, raise_error=True)
    assert [c.value.reason for c in callers] == [f"P{i}" for i in range(30)]
    assert [len(b) for b in domain.connection_batches] == [30]
    assert domain.single == []  # a disconnect, a status... still go one at a time
    assert events.handle(PileDisconnected("P1", T0, "closed")).reason == "direct"
    # the upgrades' admissions too
    admits = [
        gevent.spawn(events.admit, f"P{i}", "pw" if i % 2 else None, protocol="ocpp16")
        for i in range(10)
    ]
    gevent.joinall(admits, timeout=5, raise_error=True)
    assert [a.value for a in admits] == [
        Admission.ADMITTED if i % 2 else Admission.UNKNOWN_PILE for i in range(10)
    ]
    assert [len(b) for b in domain.admission_batches] == [10]
    assert domain.admissions == []  # none went one at a time
    events.stop()
    # a domain without batches of connections gets them one at a time
    plain = FakeDomain()
    one_by_one = GroupCommitEvents(plain)
    assert one_by_one.handle(PileConnected("P1", "ocpp16", T0)).reason == "direct"
    one_by_one.stop()
