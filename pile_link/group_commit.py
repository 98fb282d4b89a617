"""Group commit of meter values: the connections' samples go to one writer greenlet that
records them a few milliseconds' worth at a time, in one transaction per batch.

Persist before you acknowledge still holds: a connection's greenlet waits on its own
result and answers the pile only once its sample is committed. The writer never takes a
connection down with it: a batch that fails is recorded one event at a time by the domain
(``MeterBatchHandler``), and anything the writer could not finish is answered with an
error, which the protocol adapter turns into an error answer (the pile retries).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

import gevent
import gevent.event
import gevent.lock
import gevent.pool
import gevent.queue

from app.charging.port import (
    Admission,
    AdmissionBatchHandler,
    AdmissionRequest,
    ConnectionBatchHandler,
    EventReply,
    MeterBatchHandler,
    MeterSample,
    PileConnected,
    PileEvent,
    PileEventHandler,
    PileTariff,
)

log = logging.getLogger(__name__)

_STOP: Final = object()
T = TypeVar("T")
E = TypeVar("E", MeterSample, PileConnected, AdmissionRequest)  # what a writer groups
R = TypeVar("R", EventReply, Admission)  # and what it answers
RecordBatch = Callable[[list[E]], list[R | Exception]]


class MeterWriterStopped(RuntimeError):
    """The writer stopped before it recorded this sample (nothing was committed for it)."""


@dataclass(frozen=True, slots=True)
class MeterWriterConfig:
    # how long the writer waits for more samples after the first of a batch (seconds)
    max_delay: float = 0.005
    max_batch: int = 500
    # batches recorded at once: while one commits, the next one gathers and goes as soon
    # as a slot is free, without the delay (the delay only groups samples of an idle link)
    max_in_flight: int = 2


@dataclass(slots=True)
class _Waiting:
    event: Any  # the writer's event type
    result: gevent.event.AsyncResult


class MeterWriter(Generic[E, R]):
    """One writer greenlet per process, started in the gevent hub of the first caller.

    :meth:`record` blocks the calling greenlet until the sample's batch has committed and
    returns its reply (or raises what recording it raised). A call from another hub (a
    second server thread in an unpatched process) is recorded directly, alone.
    """

    def __init__(
        self, record_batch: RecordBatch[E, R], config: MeterWriterConfig | None = None
    ) -> None:
        self._record_batch: RecordBatch[E, R] = record_batch
        self.config = config or MeterWriterConfig()
        self._lock = threading.Lock()
        self._hub: Any = None
        self._queue: gevent.queue.Queue[Any] | None = None
        self._greenlet: gevent.Greenlet[Any, Any] | None = None
        self._stopped = False
        self.batches = 0  # counters for logs and tests
        self.recorded = 0

    # --- callers ------------------------------------------------------------------------

    def record(self, event: E) -> R:
        queue = self._queue_for_this_hub()
        if queue is None:
            return self._alone(event)
        waiting = _Waiting(event, gevent.event.AsyncResult())
        queue.put(waiting)
        reply: R = waiting.result.get()
        return reply

    def _alone(self, event: E) -> R:
        [outcome] = self._record_batch([event])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _queue_for_this_hub(self) -> gevent.queue.Queue[Any] | None:
        hub = gevent.get_hub()
        if self._hub is hub and self._queue is not None:
            return self._queue
        with self._lock:
            if self._stopped or (self._hub is not None and self._hub is not hub):
                return None
            if self._queue is None:
                self._hub = hub
                self._queue = gevent.queue.Queue()
                self._greenlet = gevent.spawn(self._run, self._queue)
            return self._queue

    def stop(self, timeout: float = 10.0) -> None:
        """Record what is queued, then end the writer (call from its hub, after the
        servers have drained). Later calls are recorded one at a time."""
        with self._lock:
            self._stopped = True
            queue, greenlet = self._queue, self._greenlet
            self._queue = None  # from now on every sample is recorded alone
        if queue is None or greenlet is None:
            return
        if gevent.get_hub() is not self._hub:
            return  # a dead thread's hub: nothing left to drain
        queue.put(_STOP)
        greenlet.join(timeout)
        greenlet.kill(block=True, timeout=1)

    # --- the writer ---------------------------------------------------------------------

    def _run(self, queue: gevent.queue.Queue[Any]) -> None:
        batch: list[_Waiting] = []
        in_flight = gevent.pool.Pool(max(1, self.config.max_in_flight))
        try:
            while True:
                item = queue.get()
                if item is _STOP:
                    return
                # adaptive: under load samples gather while the batches in flight commit,
                # and a batch leaves as soon as a slot frees; an idle link waits max_delay
                in_flight.wait_available()
                batch = [item]
                stop = self._collect(queue, batch, wait=in_flight.free_count() == in_flight.size)
                in_flight.spawn(self._flush_or_fail, batch)
                batch = []
                if stop:
                    return
        finally:
            # killed, or stopped: nobody may wait for ever on a writer that is gone, and
            # the next sample starts a new writer (unless stopped)
            with self._lock:
                if self._queue is queue:
                    self._queue = self._greenlet = None
            if self._stopped:
                in_flight.join()  # a stop lets the batches in flight commit
            else:
                in_flight.kill(block=True)  # a killed writer takes its batches along
            self._fail(batch, MeterWriterStopped("meter writer stopped"))
            while True:
                try:
                    item = queue.get_nowait()
                except gevent.queue.Empty:
                    break
                if item is not _STOP:
                    item.result.set_exception(MeterWriterStopped("meter writer stopped"))

    def _collect(self, queue: gevent.queue.Queue[Any], batch: list[_Waiting], wait: bool) -> bool:
        """Add to ``batch`` what is queued, and when ``wait`` what arrives within
        ``max_delay``; True when told to stop."""
        cfg = self.config
        deadline = time.monotonic() + cfg.max_delay
        while len(batch) < cfg.max_batch:
            try:
                item = queue.get_nowait()
            except gevent.queue.Empty:
                left = deadline - time.monotonic()
                if not wait or left <= 0:
                    return False
                try:
                    item = queue.get(timeout=left)
                except gevent.queue.Empty:
                    return False
            if item is _STOP:
                return True
            batch.append(item)
        return False

    def _flush_or_fail(self, batch: list[_Waiting]) -> None:
        try:
            self._flush(batch)
        finally:  # killed half-way: its callers hear it
            self._fail(batch, MeterWriterStopped("meter writer stopped"))

    def _flush(self, batch: list[_Waiting]) -> None:
        try:
            outcomes = self._record_batch([w.event for w in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} samples")
        except Exception as exc:
            # the domain isolates failing events itself; reaching here means it could not
            log.exception("meter batch failed", extra={"events": len(batch)})
            self._fail(batch, exc)
            return
        self.batches += 1
        self.recorded += len(batch)
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                waiting.result.set_exception(outcome)
            else:
                waiting.result.set(outcome)
        batch.clear()

    @staticmethod
    def _fail(batch: list[_Waiting], exc: BaseException) -> None:
        for waiting in batch:
            if not waiting.result.ready():
                waiting.result.set_exception(exc)
        batch.clear()


class BatchingDomain(PileEventHandler, MeterBatchHandler, Protocol):
    """The domain's side: events one at a time, and meter samples in batches (and, when
    it is also a ``ConnectionBatchHandler``, piles connecting in batches)."""


# piles connecting in a storm: a batch is one set-based transaction (a few round trips
# whatever its size), so it may be large; while two commit the next gathers
CONNECTION_BATCHES = MeterWriterConfig(max_delay=0.005, max_batch=250, max_in_flight=2)


class GroupCommitEvents:
    """The domain's event handler as the protocol adapters see it, with meter samples
    going through a :class:`MeterWriter`, connections (``PileConnected``) through another
    when the domain records them in batches, and every other event straight to the domain.

    At most ``max_concurrent`` domain calls run at once (a batch counts as one): a
    mass disconnect of thousands of piles then queues here, without a deadline, instead
    of in the database pool, whose checkout times out and would lose the offline events.
    Keep it below the pool's size (``pool_size + max_overflow``).
    """

    def __init__(
        self,
        events: BatchingDomain,
        config: MeterWriterConfig | None = None,
        *,
        max_concurrent: int = 20,
        connections: MeterWriterConfig | None = CONNECTION_BATCHES,
    ) -> None:
        self._events = events
        self._gate = gevent.lock.BoundedSemaphore(max_concurrent)
        self.writer = MeterWriter(self._gated(events.handle_meter_samples), config)
        self.connections: MeterWriter[PileConnected, EventReply] | None = None
        self.admissions: MeterWriter[AdmissionRequest, Admission] | None = None
        if connections is not None and isinstance(events, ConnectionBatchHandler):
            self.connections = MeterWriter(self._gated(events.handle_connections), connections)
        if connections is not None and isinstance(events, AdmissionBatchHandler):
            # the upgrades' pile lookups, one query per batch (the storm's other call)
            self.admissions = MeterWriter(self._gated(events.handle_admissions), connections)

    def _gated(self, func: Callable[..., T]) -> Callable[..., T]:
        def call(*args: Any) -> T:
            with self._gate:
                return func(*args)

        return call

    def is_registered(self, pile_code: str) -> bool:
        return self._gated(self._events.is_registered)(pile_code)

    def admit(
        self,
        pile_code: str,
        password: str | None,
        *,
        protocol: str,
        address: str | None = None,
        replacing: bool = False,
    ) -> Admission:
        if self.admissions is not None:
            return self.admissions.record(
                AdmissionRequest(pile_code, password, protocol, address, replacing)
            )
        with self._gate:
            return self._events.admit(
                pile_code, password, protocol=protocol, address=address, replacing=replacing
            )

    def handle(self, event: PileEvent) -> EventReply:
        if isinstance(event, MeterSample):
            return self.writer.record(event)
        if isinstance(event, PileConnected) and self.connections is not None:
            return self.connections.record(event)
        return self._gated(self._events.handle)(event)

    def tariff_for(self, pile_code: str) -> PileTariff | None:
        return self._gated(self._events.tariff_for)(pile_code)

    def stop(self, timeout: float = 10.0) -> None:
        self.writer.stop(timeout)
        for writer in (self.connections, self.admissions):
            if writer is not None:
                writer.stop(timeout)
