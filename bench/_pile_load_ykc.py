"""Lean YKC piles for the pile-link benchmark's memory run: asyncio TCP, each pile logs in
(0x01) and then sends a heartbeat (0x03) every ``heartbeat_interval`` seconds, answered or
not. Events out as JSON lines (``ramped``, ``closed``); ``close`` on stdin ends the run.
Run by ``bench/bench_pile_link.py``."""

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
from pile_link.ykc.messages import Heartbeat, Login, LoginReply, encode_message


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
    except Exception as exc:
        out["errors"].append(type(exc).__name__ + (f": {exc}"[:60] if str(exc) else ""))
        return
    finally:
        out["finished"] += 1
        if out["finished"] == cfg["count"]:
            out["ramped"].set()
    out["held"] += 1
    seq = 2
    try:
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


async def amain(cfg: dict[str, Any]) -> None:
    out: dict[str, Any] = {
        "login_lat": [],
        "errors": [],
        "finished": 0,
        "held": 0,
        "ramped": asyncio.Event(),
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
    )
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    try:
        async with asyncio.timeout(cfg["max_seconds"]):
            while line := await reader.readline():
                if json.loads(line).get("cmd") == "close":
                    break
    except TimeoutError:
        pass
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    emit("closed", held=out["held"])


def main() -> None:
    cfg = {
        "connect_concurrency": 100,
        "heartbeat_interval": 10.0,
        "open_timeout": 30.0,
        "ramp_timeout": 300.0,
        "max_seconds": 900.0,
        **json.loads(sys.argv[sys.argv.index("--config") + 1]),
    }
    raise_nofile()
    asyncio.run(amain(cfg))


if __name__ == "__main__":
    main()
