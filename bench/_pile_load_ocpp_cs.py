"""A minimal asyncio OCPP 1.6J central system built on the ``ocpp`` package, for comparison.

``ocpp.v16.ChargePoint`` handlers over ``websockets.serve``, the way python-ocpp's own
examples do it, with the same persistence as the pile link: every handler that touches the
domain calls the same ``PileEventService.handle`` (one application context, ORM, commit)
in a thread pool sized like the pile link's database pool, and answers only after it
returned (persist before you acknowledge); meter values are group-committed like the pile
link's (the same ``handle_meter_samples`` batches, the same delay), unless ``--per-event``.
What it leaves out is what "minimal" means: no lenient validation, no liveness timeout, no
per-pile event ordering guarantees beyond python-ocpp's one-request-at-a-time, no Redis.

Same environment (``EVOP_*``) and the same loopback control port protocol as
``_pile_load_server.py``. Run by ``bench/bench_pile_link.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from _pile_load_common import LAG_TICK, GcPauses, LagProbe, dumps, raise_nofile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from app import create_app
from app.billing.session_outcomes import Billing
from app.catalogue.models import PileProtocol
from app.charging.pile_events import PileEventService
from app.charging.port import (
    EventReply,
    MeterSample,
    PileConnected,
    PileDisconnected,
    SessionStarted,
    SessionStopped,
)

log = logging.getLogger("bench.ocpp_cs")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return utcnow()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


class NullEvents:
    """``--persist-nothing``: every event accepted at once, nothing stored (the server a
    Python team writes first; the ceiling of the asyncio stack, not a central system)."""

    def __init__(self) -> None:
        self.next_tx = 0

    def is_registered(self, pile_code: str) -> bool:
        return True

    def handle(self, event: Any) -> EventReply:
        if isinstance(event, SessionStarted):
            self.next_tx += 1
            return EventReply(accepted=True, session_ref=str(self.next_tx))
        return EventReply(accepted=True)


class CentralSystem:
    def __init__(
        self, threads: int, heartbeat_interval: int, group_commit: bool, persist: bool = True
    ) -> None:
        self.persist = persist
        self.app = create_app() if persist else None
        self.events: Any = (
            PileEventService(self.app, Billing(), node="bench-ocpp-cs") if persist else NullEvents()
        )
        self.pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="domain")
        self.heartbeat_interval = heartbeat_interval
        self.piles: dict[str, Pile] = {}
        self.meters = MeterBatcher(self, self.app.config) if group_commit and self.app else None

    async def domain(self, func: Any, *args: Any) -> Any:
        if not self.persist:
            return func(*args)  # no thread hop: nothing blocks
        return await asyncio.get_running_loop().run_in_executor(self.pool, func, *args)

    async def meter(self, event: MeterSample) -> EventReply:
        if self.meters is None:
            reply: EventReply = await self.domain(self.events.handle, event)
            return reply
        return await self.meters.record(event)


class MeterBatcher:
    """The pile link's group commit, the asyncio way: samples wait up to the same delay
    for others, then one batch goes to the same domain call (``handle_meter_samples``) in
    the thread pool; each handler answers once its batch has returned (committed)."""

    def __init__(self, cs: CentralSystem, cfg: Any) -> None:
        self.cs = cs
        self.delay = float(cfg["METER_BATCH_DELAY_MS"]) / 1000
        self.size = int(cfg["METER_BATCH_SIZE"])
        self.queue: asyncio.Queue[tuple[MeterSample, asyncio.Future[EventReply]]] | None = None
        self.task: asyncio.Task[None] | None = None

    async def record(self, event: MeterSample) -> EventReply:
        if self.queue is None:
            self.queue = asyncio.Queue()
            self.task = asyncio.create_task(self.run(self.queue))
        done: asyncio.Future[EventReply] = asyncio.get_running_loop().create_future()
        await self.queue.put((event, done))
        return await done

    async def run(
        self, queue: asyncio.Queue[tuple[MeterSample, asyncio.Future[EventReply]]]
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            deadline = loop.time() + self.delay
            while len(batch) < self.size and (left := deadline - loop.time()) > 0:
                try:
                    batch.append(await asyncio.wait_for(queue.get(), left))
                except TimeoutError:
                    break
            try:
                outcomes = await self.cs.domain(
                    self.cs.events.handle_meter_samples, [e for e, _ in batch]
                )
            except Exception as exc:
                outcomes = [exc] * len(batch)
            for (_, done), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)


class Pile(ChargePoint):
    """The central system's side of one pile (python-ocpp calls it a ChargePoint)."""

    cs: CentralSystem

    @on(Action.boot_notification)
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **kw: Any) -> Any:
        now = utcnow()
        info = {"vendor": charge_point_vendor, "model": charge_point_model}
        if kw.get("firmware_version"):
            info["firmware"] = kw["firmware_version"]
        reply = await self.cs.domain(
            self.cs.events.handle, PileConnected(self.id, PileProtocol.OCPP16, now, info)
        )
        status = RegistrationStatus.accepted if reply.accepted else RegistrationStatus.rejected
        return call_result.BootNotification(
            current_time=iso(now), interval=self.cs.heartbeat_interval, status=status
        )

    @on(Action.heartbeat)
    def on_heartbeat(self) -> Any:
        return call_result.Heartbeat(current_time=iso(utcnow()))

    @on(Action.status_notification)
    def on_status(self, **kw: Any) -> Any:
        return call_result.StatusNotification()

    @on(Action.start_transaction)
    async def on_start(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kw: Any
    ) -> Any:
        raw = {"connectorId": connector_id, "idTag": id_tag, "meterStart": meter_start}
        event = SessionStarted(
            self.id, connector_id, parse_time(timestamp), meter_start, id_tag, raw=raw
        )
        reply = await self.cs.domain(self.cs.events.handle, event)
        status = AuthorizationStatus.accepted if reply.accepted else AuthorizationStatus.invalid
        return call_result.StartTransaction(
            transaction_id=int(reply.session_ref or 0), id_tag_info={"status": status}
        )

    @on(Action.meter_values)
    async def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kw: Any
    ) -> Any:
        ref = kw.get("transaction_id")
        for entry in meter_value:
            values: dict[str, Decimal | None] = {}
            for sample in entry.get("sampled_value", []):
                measurand = sample.get("measurand", "Energy.Active.Import.Register")
                values[measurand] = number(sample.get("value"))
            energy, power = (
                values.get("Energy.Active.Import.Register"),
                values.get("Power.Active.Import"),
            )
            volt, amp = values.get("Voltage"), values.get("Current.Import")
            soc = values.get("SoC")
            event = MeterSample(
                self.id,
                connector_id,
                parse_time(entry.get("timestamp")),
                str(ref) if ref is not None else None,
                energy_wh=int(energy) if energy is not None else None,
                power_w=int(power) if power is not None else None,
                voltage_v=float(volt) if volt is not None else None,
                current_a=float(amp) if amp is not None else None,
                soc_percent=int(soc) if soc is not None else None,
                raw=entry,
            )
            await self.cs.meter(event)
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, **kw: Any) -> Any:
        event = SessionStopped(
            self.id,
            str(transaction_id),
            parse_time(timestamp),
            meter_stop,
            kw.get("reason") or "Local",
            raw={"transactionId": transaction_id, "meterStop": meter_stop, "timestamp": timestamp},
        )
        await self.cs.domain(self.cs.events.handle, event)
        return call_result.StopTransaction()


def make_handlers(cs: CentralSystem) -> tuple[Any, Any]:
    async def process_request(conn: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if not path.startswith("/ocpp/"):
            return conn.respond(404, "not an OCPP endpoint\n")
        code = path[len("/ocpp/") :]
        if not await cs.domain(cs.events.is_registered, code):
            return conn.respond(404, f"unknown pile {code}\n")
        return None

    async def handler(conn: ServerConnection) -> None:
        assert conn.request is not None
        code = conn.request.path.split("?", 1)[0][len("/ocpp/") :]
        pile = Pile(code, conn, response_timeout=30)
        pile.cs = cs
        cs.piles[code] = pile
        try:
            await pile.start()
        except ConnectionClosed:
            pass
        finally:
            if cs.piles.get(code) is pile:
                del cs.piles[code]
                event = PileDisconnected(code, utcnow(), "closed")
                await cs.domain(cs.events.handle, event)

    return process_request, handler


async def remote_starts(cs: CentralSystem, request: dict[str, Any]) -> dict[str, Any]:
    prefix = str(request.get("prefix", ""))
    count = int(request.get("count", 1000))
    concurrency = max(1, int(request.get("concurrency", 1)))
    timeout = float(request.get("timeout", 10.0))
    codes = [c for c in cs.piles if c.startswith(prefix)]
    if not codes:
        return {"error": f"no connected pile starts with {prefix!r}", "lat": [], "outcomes": {}}
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    began = time.perf_counter()

    async def worker(offset: int) -> None:
        for i in range(offset, count, concurrency):
            pile = cs.piles.get(codes[i % len(codes)])
            t0 = time.perf_counter()
            try:
                if pile is None:
                    raise ConnectionError("offline")
                async with asyncio.timeout(timeout):
                    result = await pile.call(
                        call.RemoteStartTransaction(id_tag="BENCHRS", connector_id=1)
                    )
                key = "accepted" if result and result.status == "Accepted" else "rejected"
            except TimeoutError:
                key = "timed_out"
            except Exception:
                key = "pile_offline"
            latencies.append(time.perf_counter() - t0)
            outcomes[key] = outcomes.get(key, 0) + 1

    await asyncio.gather(*(worker(o) for o in range(min(concurrency, count))))
    return {
        "lat": latencies,
        "outcomes": outcomes,
        "elapsed": time.perf_counter() - began,
        "piles": len(codes),
    }


async def amain(args: argparse.Namespace) -> None:
    cs = CentralSystem(
        args.threads,
        int(os.environ.get("EVOP_OCPP_HEARTBEAT_SECONDS", "300")),
        group_commit=not args.per_event,
        persist=not args.persist_nothing,
    )
    # python-ocpp logs every frame at INFO: a production deployment turns that off
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    process_request, handler = make_handlers(cs)
    host = os.environ.get("EVOP_OCPP_HOST", "127.0.0.1")
    port = int(os.environ["EVOP_OCPP_PORT"])

    pauses = GcPauses()
    lag = LagProbe()

    async def probe_lag() -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(LAG_TICK)
            lag.record(time.perf_counter() - began - LAG_TICK)

    lag_task = asyncio.create_task(probe_lag())

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                request = json.loads(line)
                if request.get("cmd") == "status":
                    reply: dict[str, Any] = {"connections": len(cs.piles), "pid": os.getpid()}
                elif request.get("cmd") == "probe":
                    reply = {"gc": pauses.take(), "lag": lag.take()}
                elif request.get("cmd") == "remote_start":
                    reply = await remote_starts(cs, request)
                else:
                    reply = {"error": "unknown command"}
                writer.write((dumps(reply) + "\n").encode())
                await writer.drain()
        finally:
            writer.close()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        handler,
        host,
        port,
        subprotocols=[Subprotocol("ocpp1.6")],
        process_request=process_request,
        compression=None,
        ping_interval=None,  # liveness from heartbeats, like the pile link
        max_queue=8,
        backlog=1024,
    ):
        ctl = await asyncio.start_server(control, "127.0.0.1", args.control_port)
        print(f"ocpp central system ws://{host}:{port}/ocpp/<pile_code>", flush=True)
        await stop.wait()
        ctl.close()
        lag_task.cancel()
    cs.pool.shutdown(wait=False, cancel_futures=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=30)
    parser.add_argument(
        "--per-event", action="store_true", help="one transaction per meter value (before issue 3)"
    )
    parser.add_argument(
        "--persist-nothing", action="store_true", help="acknowledge everything, store nothing"
    )
    args = parser.parse_args()
    raise_nofile()
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
