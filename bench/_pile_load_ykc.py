"""Lean YKC piles for the pile-link benchmark: asyncio TCP, each pile logs in (0x01) and then
sends a heartbeat (0x03) every ``heartbeat_interval`` seconds, answered or not.

``"mode": "realtime"``: during the ramp each pile also starts a charge by card (0x31 →
0x32, the card of ``card_format``) and reports its gun charging (0x13); after ``go`` it
sends real-time data (0x13, charging, energy rising) ``realtime_rate`` times a second.
0x13 is never answered: the load is open, the benchmark counts the rows persisted.

Events out as JSON lines (``ramped``, ``going``, ``measuring``, ``report``, ``closed``);
``close`` on stdin ends the run. Run by ``bench/bench_pile_link.py``."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _pile_load_common import dumps, raise_nofile, summary_ms, top_errors

from pile_link.ykc.frame import FrameDecoder
from pile_link.ykc.messages import (
    BillingModelCheck,
    BillingModelCheckReply,
    CardStartReply,
    CardStartRequest,
    Heartbeat,
    Login,
    LoginReply,
    RealtimeData,
    decode_message,
    encode_message,
)


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


async def pile(
    code: str, cfg: dict[str, Any], sem: asyncio.Semaphore, out: dict[str, Any], stop: Any
) -> None:
    loop = asyncio.get_running_loop()
    try:
        async with sem:
            t0 = loop.time()
            async with asyncio.timeout(cfg["open_timeout"]):
                reader, writer = await asyncio.open_connection(cfg["host"], cfg["port"])
                login = Login(
                    pile_code=code,
                    pile_type=0x01,
                    gun_count=1,
                    protocol_version=0x0F,
                    firmware_version="BENCH1",
                    network_type=0x01,
                    sim="0" * 20,
                    carrier=0x04,
                )
                writer.write(encode_message(login, 1))
                decoder = FrameDecoder()
                reply = None
                while reply is None:
                    data = await reader.read(4096)
                    if not data:
                        raise ConnectionError("closed at login")
                    for frame in decoder.feed(data):
                        if frame.frame_type == LoginReply.FRAME_TYPE:
                            reply = frame
            out["login_lat"].append(loop.time() - t0)
            serial = None
            if cfg.get("mode") == "realtime":
                serial = await card_start(code, cfg, reader, writer, decoder, out)
    except Exception as exc:
        out["errors"].append(type(exc).__name__ + (f": {exc}"[:60] if str(exc) else ""))
        return
    finally:
        out["finished"] += 1
        if out["finished"] == cfg["count"]:
            out["ramped"].set()
    out["held"] += 1
    seq = 3
    try:
        if serial is not None:
            await realtime(code, serial, cfg, reader, writer, out, stop)
            return
        await asyncio.sleep(random.uniform(0, cfg["heartbeat_interval"]))
        while not stop.is_set():
            writer.write(encode_message(Heartbeat(pile_code=code, gun_no=1, gun_status=0), seq))
            seq = (seq + 1) % 65536
            try:
                async with asyncio.timeout(cfg["heartbeat_interval"]):
                    while await reader.read(4096):
                        pass
                    break  # closed
            except TimeoutError:
                continue
    finally:
        out["held"] -= 1
        writer.transport.abort()


async def card_start(
    code: str, cfg: dict[str, Any], reader: Any, writer: Any, decoder: Any, out: dict[str, Any]
) -> str | None:
    """§8.1/§8.2: a card start on gun 1; the serial of the session, or None if refused."""
    card = cfg["card_format"].format(int(code[-6:]))
    request = CardStartRequest(
        pile_code=code, gun_no=1, start_mode=0x01, needs_password=0x00, card_no=card
    )
    writer.write(encode_message(request, 2))
    while True:
        data = await reader.read(4096)
        if not data:
            raise ConnectionError("closed at card start")
        for frame in decoder.feed(data):
            if frame.frame_type == CardStartReply.FRAME_TYPE:
                answer = decode_message(frame)
                assert isinstance(answer, CardStartReply)
                if answer.authorized != 0x01:
                    out["start_refused"].append(f"fail 0x{answer.fail_reason:02X}")
                    return None
                out["started"] += 1
                await charging_reported(code, answer.serial, reader, writer, decoder)
                return answer.serial


def realtime_frame(code: str, serial: str, energy: int, seq: int) -> bytes:
    frame = RealtimeData(
        serial=serial,
        pile_code=code,
        gun_no=1,
        status=0x03,  # charging
        gun_returned=0x00,
        gun_plugged=0x01,
        voltage=2200,
        current=320,
        gun_temperature=75,
        gun_wire_code="0" * 16,
        soc=0,
        battery_max_temperature=75,
        charging_minutes=1,
        remaining_minutes=0,
        energy=energy,
        lossy_energy=energy,
        amount=energy,
        hardware_faults=0,
    )
    return encode_message(frame, seq)


async def charging_reported(code: str, serial: str, reader: Any, writer: Any, decoder: Any) -> None:
    """The 0x13 a pile sends when its gun starts charging (§7.2 "on change"), during the
    ramp: its status change is recorded one event at a time, so the measured 0x13s are
    only meter samples. 0x13 is never answered: a 0x05 after it is (by the connection's
    worker, after the 0x13), which tells when the status change is recorded."""
    writer.write(realtime_frame(code, serial, 0, 3))
    writer.write(encode_message(BillingModelCheck(pile_code=code, model_no="0000"), 4))
    while True:
        data = await reader.read(4096)
        if not data:
            raise ConnectionError("closed after the charging status")
        if any(f.frame_type == BillingModelCheckReply.FRAME_TYPE for f in decoder.feed(data)):
            return


async def realtime(
    code: str,
    serial: str,
    cfg: dict[str, Any],
    reader: Any,
    writer: Any,
    out: dict[str, Any],
    stop: asyncio.Event,
) -> None:
    """Heartbeats until ``go``, then 0x13 at ``realtime_rate``/s (and a heartbeat every
    ``heartbeat_interval``); whatever the server sends is read and dropped."""

    async def drain() -> None:
        while await reader.read(4096):
            pass

    drainer = asyncio.create_task(drain())
    seq, energy = 5, 0
    interval = 1.0 / cfg["realtime_rate"]
    last_beat = 0.0
    loop = asyncio.get_running_loop()
    try:
        await asyncio.sleep(random.uniform(0, interval))
        while not stop.is_set() and not drainer.done():
            now = loop.time()
            if now - last_beat >= cfg["heartbeat_interval"]:
                writer.write(encode_message(Heartbeat(pile_code=code, gun_no=1, gun_status=0), seq))
                seq, last_beat = (seq + 1) % 65536, now
            if out["going"].is_set():
                energy += 100  # 10 Wh a frame
                writer.write(realtime_frame(code, serial, energy, seq))
                seq = (seq + 1) % 65536
                out["sent"] += 1
                await asyncio.sleep(interval)
            else:
                await asyncio.sleep(min(1.0, interval * 10))
    finally:
        drainer.cancel()


async def commands(cfg: dict[str, Any], out: dict[str, Any]) -> None:
    """stdin: go (start the 0x13s), measure / report (counters), close (end)."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    try:
        async with asyncio.timeout(cfg["max_seconds"]):
            while line := await reader.readline():
                cmd = json.loads(line).get("cmd")
                if cmd == "close":
                    break
                if cmd == "go":
                    out["going"].set()
                    emit("going", t=time.monotonic())
                elif cmd in ("measure", "report"):
                    name = "measuring" if cmd == "measure" else "report"
                    emit(name, t=time.monotonic(), sent=out["sent"], held=out["held"])
    except TimeoutError:
        pass


async def amain(cfg: dict[str, Any]) -> None:
    out: dict[str, Any] = {
        "login_lat": [],
        "errors": [],
        "finished": 0,
        "held": 0,
        "ramped": asyncio.Event(),
        "going": asyncio.Event(),
        "started": 0,
        "start_refused": [],
        "sent": 0,
    }
    stop = asyncio.Event()
    sem = asyncio.Semaphore(cfg["connect_concurrency"])
    began = time.monotonic()
    tasks = [
        asyncio.create_task(pile(cfg["code_format"].format(i), cfg, sem, out, stop))
        for i in range(cfg["count"])
    ]
    try:
        async with asyncio.timeout(cfg["ramp_timeout"]):
            await out["ramped"].wait()
    except TimeoutError:
        pass
    emit(
        "ramped",
        held=out["held"],
        ramp_seconds=time.monotonic() - began,
        login=summary_ms(out["login_lat"]),
        connect_errors=len(out["errors"]),
        connect_error_kinds=top_errors(out["errors"]),
        started=out["started"],
        start_refused=len(out["start_refused"]),
        start_refused_kinds=top_errors(out["start_refused"]),
    )
    await commands(cfg, out)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    emit("closed", held=out["held"])


def main() -> None:
    cfg = {
        "connect_concurrency": 100,
        "heartbeat_interval": 10.0,
        "realtime_rate": 5.0,
        "open_timeout": 30.0,
        "ramp_timeout": 300.0,
        "max_seconds": 900.0,
        **json.loads(sys.argv[sys.argv.index("--config") + 1]),
    }
    raise_nofile()
    asyncio.run(amain(cfg))


if __name__ == "__main__":
    main()
