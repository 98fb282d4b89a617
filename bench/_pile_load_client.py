"""Lean OCPP 1.6J piles for the pile-link benchmark: asyncio + ``websockets``, raw OCPP-J frames.

One task per pile (connect, BootNotification, then either a Heartbeat every few seconds or
MeterValues as fast as the central system answers). Server CALLs (RemoteStartTransaction
and anything else) are answered at once with ``{"status": "Accepted"}``.

Driven by ``bench/bench_pile_link.py`` over stdin/stdout, one JSON object a line:
events out (``ramped``, ``ready``, ``report``, ``moved``, ``closed``), commands in
(``measure``, ``report``, ``go``, ``move``, ``close``). Every wait is bounded and the process
exits by itself after ``max_seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import time
from datetime import UTC, datetime
from typing import Any

from _pile_load_common import GcPauses, dumps, raise_nofile, summary_ms, top_errors
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

MAX_SAMPLES = 2_000_000


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:80] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Stats:
    def __init__(self) -> None:
        self.connected = 0
        self.connect_errors: list[str] = []
        self.boot_rejected = 0
        self.held = 0
        self.dropped: list[str] = []
        self.boot_lat: list[float] = []
        self.connect_done: list[float] = []  # monotonic time each pile finished booting
        self.measuring = False
        self.lat: list[float] = []
        self.late = 0  # a heartbeat still unanswered when the next one is due
        self.call_errors = 0
        self.server_calls = 0
        self.acks = 0
        self.started_tx = 0
        self.start_errors: list[str] = []
        self.replayed = 0  # storm: piles whose buffered records were all acknowledged
        self.replay_errors: list[str] = []

    def sample(self, seconds: float) -> None:
        if self.measuring and len(self.lat) < MAX_SAMPLES:
            self.lat.append(seconds)


class Pile:
    __slots__ = ("code", "index", "seq", "ws")

    def __init__(self, code: str, index: int) -> None:
        self.code = code
        self.index = index
        self.seq = 0
        self.ws: ClientConnection | None = None

    def next_id(self) -> str:
        self.seq += 1
        return f"{self.index}-{self.seq}"


class LoadClient:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.stats = Stats()
        first = int(cfg.get("first", 0))  # two clients split one range of codes
        self.piles = [Pile(cfg["code_format"].format(first + i), i) for i in range(cfg["count"])]
        # storm: piles that had a transaction running when the network went, and replay
        # its buffered records (a meter value, the stop, the stop again) once back
        self.replay = [
            Pile(cfg["replay_format"].format(i), i) for i in range(cfg.get("replay_count", 0))
        ]
        self.replay_tx: dict[str, dict[str, Any]] = {}
        self.closing = asyncio.Event()
        self.go = asyncio.Event()
        self.ramped = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.finished_ramp = 0
        self.ramp_started = 0.0
        self.loop = asyncio.get_running_loop()
        self.gc_pauses = GcPauses()
        self.stale_sockets: list[ClientConnection] = []  # moved away, left half-open

    # --- wire -----------------------------------------------------------------------------

    async def answer_server_call(self, ws: ClientConnection, msg: list[Any]) -> None:
        self.stats.server_calls += 1
        await ws.send(dumps([3, msg[1], {"status": "Accepted"}]))

    async def call(
        self, pile: Pile, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Send one CALL and wait for its CALLRESULT (server CALLs answered meanwhile)."""
        ws = pile.ws
        assert ws is not None
        uid = pile.next_id()
        await ws.send(dumps([2, uid, action, payload]))
        async with asyncio.timeout(timeout):
            while True:
                msg = json.loads(await ws.recv())
                if msg[0] == 2:
                    await self.answer_server_call(ws, msg)
                elif msg[1] == uid:
                    if msg[0] == 4:
                        self.stats.call_errors += 1
                        raise RuntimeError(f"CALLERROR {msg[2]}: {msg[3]}")
                    result: dict[str, Any] = msg[2]
                    return result

    # --- one pile -------------------------------------------------------------------------

    async def open(
        self, pile: Pile, sem: asyncio.Semaphore, deadline: float, url: str = ""
    ) -> bool:
        cfg = self.cfg
        src = cfg["source_ips"]
        local = (f"127.0.0.{1 + pile.index % src}", 0) if src > 1 else None
        try:
            async with asyncio.timeout_at(deadline), sem:
                t0 = self.loop.time()
                async with asyncio.timeout(cfg["open_timeout"]):
                    pile.ws = await connect(
                        f"{url or cfg['url']}/{pile.code}",
                        subprotocols=[Subprotocol("ocpp1.6")],
                        compression=None,
                        ping_interval=None,
                        open_timeout=None,
                        close_timeout=2,
                        max_queue=8,
                        local_addr=local,
                    )
                    boot = await self.call(
                        pile,
                        "BootNotification",
                        {"chargePointVendor": "Bench", "chargePointModel": "Load-1"},
                        cfg["open_timeout"],
                    )
                self.stats.boot_lat.append(self.loop.time() - t0)
        except Exception as exc:  # every failure is counted and reported
            late = isinstance(exc, TimeoutError) and self.loop.time() >= deadline
            self.stats.connect_errors.append("ramp deadline passed" if late else describe(exc))
            if pile.ws is not None:
                self.tasks.append(asyncio.create_task(self.abort(pile)))
            return False
        finally:
            self.finished_ramp += 1
            if self.finished_ramp == len(self.piles):
                self.ramped.set()
        if boot.get("status") != "Accepted":
            self.stats.boot_rejected += 1
            await self.abort(pile)
            return False
        self.stats.connected += 1
        self.stats.held += 1
        self.stats.connect_done.append(self.loop.time())
        return True

    async def abort(self, pile: Pile) -> None:
        if pile.ws is not None:
            try:
                async with asyncio.timeout(3):
                    await pile.ws.close()
            except Exception:
                pile.ws.transport.abort()

    async def heartbeat_pile(self, pile: Pile, sem: asyncio.Semaphore, deadline: float) -> None:
        if not await self.open(pile, sem, deadline):
            return
        await self.hold_pile(pile)

    async def hold_pile(self, pile: Pile) -> None:
        ws = pile.ws
        assert ws is not None
        interval = float(self.cfg["heartbeat_interval"])
        loop = self.loop
        next_hb = loop.time() + random.uniform(0, interval)
        pending: str | None = None
        sent_at = 0.0
        try:
            while not self.closing.is_set() and pile.ws is ws:  # not moved elsewhere
                try:
                    async with asyncio.timeout_at(next_hb):
                        raw = await ws.recv()
                except TimeoutError:
                    if pile.ws is not ws:
                        break
                    if pending is not None and self.stats.measuring:
                        self.stats.late += 1
                    pending = pile.next_id()
                    sent_at = loop.time()
                    await ws.send(f'[2,"{pending}","Heartbeat",{{}}]')
                    next_hb = max(next_hb + interval, sent_at + interval / 2)
                    continue
                msg = json.loads(raw)
                if msg[0] == 2:
                    await self.answer_server_call(ws, msg)
                elif msg[1] == pending:
                    if msg[0] == 3:
                        self.stats.sample(loop.time() - sent_at)
                    else:
                        self.stats.call_errors += 1
                    pending = None
        except ConnectionClosed as exc:
            if not self.closing.is_set() and pile.ws is ws:
                self.stats.dropped.append(describe(exc))
        finally:
            self.stats.held -= 1

    async def move(self, codes: list[str], url: str, how: str) -> dict[str, list[float]]:
        """Move the held piles named in ``codes`` to the server at ``url``: each drops its
        connection and reconnects there at once. ``how`` "close": a clean close first;
        "stale": the old socket is left open but silent (a pile whose network changed: the
        old server holds a half-open link until its read timeout). Returns, per pile code,
        [the moment it left, the moment its boot was accepted at ``url``] (monotonic: the
        clock is shared by the processes of one machine)."""
        wanted = set(codes)
        held = [p for p in self.piles if p.ws is not None and p.code in wanted]
        times: dict[str, list[float]] = {}
        sem = asyncio.Semaphore(int(self.cfg["connect_concurrency"]))
        deadline = self.loop.time() + float(self.cfg["open_timeout"]) + 30

        async def one(pile: Pile) -> None:
            old, pile.ws = pile.ws, None
            assert old is not None
            times[pile.code] = [time.monotonic()]
            if how == "stale":
                old.transport.pause_reading()  # kept referenced: the socket stays open
                self.stale_sockets.append(old)
            else:
                await self.abort_ws(old)
            if await self.open(pile, sem, deadline, url):
                times[pile.code].append(time.monotonic())
                self.tasks.append(asyncio.create_task(self.hold_pile(pile)))

        await asyncio.gather(*(one(p) for p in held))
        return times

    async def abort_ws(self, ws: ClientConnection) -> None:
        try:
            async with asyncio.timeout(3):
                await ws.close()
        except Exception:
            ws.transport.abort()

    async def meter_pile(self, pile: Pile, sem: asyncio.Semaphore, deadline: float) -> None:
        if not await self.open(pile, sem, deadline):
            self.stats.start_errors.append("not connected")
            return
        timeout = float(self.cfg["call_timeout"])
        id_tag = self.cfg["id_tag_format"].format(pile.index)
        try:
            started = await self.call(
                pile,
                "StartTransaction",
                {"connectorId": 1, "idTag": id_tag, "meterStart": 0, "timestamp": now_iso()},
                timeout,
            )
            if started.get("idTagInfo", {}).get("status") != "Accepted":
                raise RuntimeError(f"start refused: {started}")
            tx = int(started["transactionId"])
            self.stats.started_tx += 1
        except Exception as exc:
            self.stats.start_errors.append(describe(exc))
            self.stats.held -= 1
            await self.abort(pile)
            return
        wh = 0
        loop = self.loop
        try:
            await self.go.wait()
            while not self.closing.is_set():
                wh += 7
                payload = {
                    "connectorId": 1,
                    "transactionId": tx,
                    "meterValue": [
                        {
                            "timestamp": now_iso(),
                            "sampledValue": [
                                {
                                    "value": str(wh),
                                    "context": "Sample.Periodic",
                                    "measurand": "Energy.Active.Import.Register",
                                    "unit": "Wh",
                                },
                                {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"},
                                {"value": "230.4", "measurand": "Voltage", "unit": "V"},
                                {"value": "30.4", "measurand": "Current.Import", "unit": "A"},
                                {"value": "57", "measurand": "SoC", "unit": "Percent"},
                            ],
                        }
                    ],
                }
                t0 = loop.time()
                await self.call(pile, "MeterValues", payload, timeout)
                self.stats.acks += 1
                self.stats.sample(loop.time() - t0)
            await self.call(
                pile,
                "StopTransaction",
                {"transactionId": tx, "meterStop": wh, "timestamp": now_iso(), "reason": "Local"},
                timeout,
            )
        except ConnectionClosed as exc:
            if not self.closing.is_set():
                self.stats.dropped.append(describe(exc))
        except Exception as exc:
            self.stats.dropped.append(describe(exc))
        finally:
            self.stats.held -= 1

    # --- the reconnect storm ---------------------------------------------------------------

    async def prepare_replays(self) -> None:
        """Before the storm: each replay pile connects, boots, starts a transaction, and
        loses its network (the socket cut, no close handshake)."""
        sem = asyncio.Semaphore(50)
        deadline = self.loop.time() + self.cfg["ramp_timeout"]
        id_tag = self.cfg["replay_id_tag_format"]

        async def one(pile: Pile) -> None:
            if not await self.open(pile, sem, deadline):
                self.stats.replay_errors.append("prepare: not connected")
                return
            try:
                started = await self.call(
                    pile,
                    "StartTransaction",
                    {
                        "connectorId": 1,
                        "idTag": id_tag.format(pile.index),
                        "meterStart": 1000,
                        "timestamp": now_iso(),
                    },
                    self.cfg["call_timeout"],
                )
                if started.get("idTagInfo", {}).get("status") != "Accepted":
                    raise RuntimeError(f"start refused: {started}")
                self.replay_tx[pile.code] = {"tx": int(started["transactionId"])}
            except Exception as exc:
                self.stats.replay_errors.append(f"prepare: {describe(exc)}")
            finally:
                assert pile.ws is not None
                pile.ws.transport.abort()
                pile.ws = None

        self.finished_ramp = -len(self.replay)  # open() counts these too
        await asyncio.gather(*(one(p) for p in self.replay))
        self.stats = Stats()  # the storm is measured from here
        self.finished_ramp = 0

    async def replay_pile(self, pile: Pile, sem: asyncio.Semaphore, deadline: float) -> None:
        """Reconnect in the storm, then send what was buffered while offline."""
        if not await self.open(pile, sem, deadline):
            return
        record = self.replay_tx.get(pile.code)
        if record is not None:
            timeout = float(self.cfg["call_timeout"])
            tx, stop_wh, at = record["tx"], 1000 + 4321, now_iso()
            try:
                await self.call(
                    pile,
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "transactionId": tx,
                        "meterValue": [
                            {
                                "timestamp": at,
                                "sampledValue": [
                                    {
                                        "value": str(stop_wh - 21),
                                        "measurand": "Energy.Active.Import.Register",
                                        "unit": "Wh",
                                    }
                                ],
                            }
                        ],
                    },
                    timeout,
                )
                stop = {"transactionId": tx, "meterStop": stop_wh, "timestamp": at}
                for _ in range(2):  # the answer to the first was lost: the pile resends
                    await self.call(pile, "StopTransaction", {**stop, "reason": "Local"}, timeout)
                record["meter_stop"] = stop_wh
                self.stats.replayed += 1
            except Exception as exc:
                self.stats.replay_errors.append(describe(exc))
        await self.hold_pile(pile)

    # --- the run --------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        s = self.stats
        return {
            "connected": s.connected,
            "held": s.held,
            "connect_errors": len(s.connect_errors),
            "connect_error_kinds": top_errors(s.connect_errors),
            "boot_rejected": s.boot_rejected,
            "dropped": len(s.dropped),
            "dropped_kinds": top_errors(s.dropped),
            "lat": summary_ms(s.lat),
            "late": s.late,
            "call_errors": s.call_errors,
            "server_calls": s.server_calls,
            "acks": s.acks,
            "started_tx": s.started_tx,
            "start_errors": len(s.start_errors),
            "start_error_kinds": top_errors(s.start_errors),
            "replayed": s.replayed,
            "replay_errors": len(s.replay_errors),
            "replay_error_kinds": top_errors(s.replay_errors),
            "replay_tx": self.replay_tx,
            "t": time.monotonic(),
        }

    def emit(self, event: str, **fields: Any) -> None:
        sys.stdout.write(dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()

    async def ramp(self) -> None:
        cfg = self.cfg
        sem = asyncio.Semaphore(cfg["connect_concurrency"])
        if cfg["mode"] == "storm":
            await self.prepare_replays()
            self.emit("prepared", replay_tx=len(self.replay_tx))
            await asyncio.sleep(float(cfg.get("storm_pause", 2.0)))  # offline seen
        self.ramp_started = self.loop.time()
        deadline = self.ramp_started + cfg["ramp_timeout"]
        run = self.meter_pile if cfg["mode"] == "meter" else self.heartbeat_pile
        replays = self.replay if cfg["mode"] == "storm" else []
        every = max(1, len(self.piles) // max(1, len(replays)))
        for i, pile in enumerate(self.piles):
            self.tasks.append(asyncio.create_task(run(pile, sem, deadline)))
            if replays and i % every == 0:  # spread over the storm
                self.tasks.append(
                    asyncio.create_task(self.replay_pile(replays.pop(), sem, deadline))
                )
        for pile in replays:
            self.tasks.append(asyncio.create_task(self.replay_pile(pile, sem, deadline)))
        self.piles = self.piles + self.replay
        try:
            async with asyncio.timeout(cfg["ramp_timeout"] + cfg["open_timeout"] + 5):
                await self.ramped.wait()
        except TimeoutError:
            pass
        done = self.stats.connect_done
        elapsed = (max(done) - self.ramp_started) if done else self.loop.time() - self.ramp_started
        if cfg["mode"] == "meter":
            # the StartTransactions run right after each boot: give them their time
            try:
                async with asyncio.timeout(cfg["call_timeout"] + 5):
                    while self.stats.started_tx + len(self.stats.start_errors) < len(self.piles):
                        await asyncio.sleep(0.05)
            except TimeoutError:
                pass
        self.emit(
            "ramped",
            ramp_seconds=elapsed,
            boot=summary_ms(self.stats.boot_lat),
            **self.report(),
        )

    async def close_all(self) -> int:
        self.closing.set()
        self.go.set()
        open_piles = [p for p in self.piles if p.ws is not None]
        for ws in self.stale_sockets:
            ws.transport.abort()
        sem = asyncio.Semaphore(500)

        async def close_one(pile: Pile) -> None:
            async with sem:
                await self.abort(pile)

        try:
            async with asyncio.timeout(self.cfg["close_timeout"]):
                await asyncio.gather(*(close_one(p) for p in open_piles), return_exceptions=True)
                await asyncio.gather(*self.tasks, return_exceptions=True)
        except TimeoutError:
            pass
        for task in self.tasks:
            task.cancel()
        return len(open_piles)

    async def commands(self) -> None:
        reader = asyncio.StreamReader()
        await self.loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer
        )
        while True:
            line = await reader.readline()
            if not line:
                return
            request = json.loads(line)
            cmd = request.get("cmd")
            if cmd == "measure":
                # the client's own collector pauses (tens of ms with 10,000 connections)
                # would show up as server latency: no cyclic GC while measuring (bounded by
                # the measurement window; garbage is collected at the report)
                gc.collect()
                gc.freeze()
                gc.disable()
                self.gc_pauses.take()
                self.stats.lat = []
                self.stats.late = 0
                self.stats.measuring = True
                self.emit("measuring", t=time.monotonic(), acks=self.stats.acks)
            elif cmd == "report":
                self.emit("report", client_gc=self.gc_pauses.take(), **self.report())
                gc.enable()
            elif cmd == "go":
                self.go.set()
                self.emit("going", t=time.monotonic())
            elif cmd == "move":
                codes, url, how = list(request["codes"]), str(request["url"]), request["how"]

                async def moved(codes: list[str] = codes, url: str = url, how: str = how) -> None:
                    times = await self.move(codes, url, how)
                    self.emit("moved", how=how, times=times)

                self.tasks.append(asyncio.create_task(moved()))
            elif cmd == "close":
                self.stats.measuring = False
                return


async def amain(cfg: dict[str, Any]) -> None:
    client = LoadClient(cfg)
    try:
        async with asyncio.timeout(cfg["max_seconds"]):
            await client.ramp()
            await client.commands()
    except TimeoutError:
        client.emit("timeout", max_seconds=cfg["max_seconds"])
    report = client.report()
    closed = await client.close_all()
    client.emit("closed", closed=closed, **report)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="JSON settings from the benchmark")
    cfg = {
        "mode": "heartbeat",
        "connect_concurrency": 100,
        "heartbeat_interval": 5.0,
        "open_timeout": 30.0,
        "ramp_timeout": 300.0,
        "call_timeout": 30.0,
        "close_timeout": 30.0,
        "max_seconds": 900.0,
        "source_ips": 8,
        "id_tag_format": "BCARD{:04d}",
        **json.loads(parser.parse_args().config),
    }
    cfg["nofile"] = raise_nofile()
    asyncio.run(amain(cfg))


if __name__ == "__main__":
    main()
