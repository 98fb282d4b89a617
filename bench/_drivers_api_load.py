"""Load client for bench_drivers_api.py: ``--concurrency`` keep-alive HTTP/1.1 connections on
loopback, sending GETs back to back for ``--seconds``, each to the next of the ``--targets``
(a file of ``path<TAB>bearer token`` lines, taken in turn); prints one JSON line
(requests/s, p50, p99, max, errors, status counts). asyncio and raw sockets: the client
must stay cheap, it shares the CPUs with the server."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Iterator


async def _worker(
    host: str, port: int, requests: Iterator[bytes], until: float, latencies: list[float],
    statuses: Counter[str], limit: float,
) -> None:  # fmt: skip
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < until and len(latencies) < limit:
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection(host, port)
            began = time.perf_counter()
            writer.write(next(requests))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            status = head[9:12].decode()
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                key, _, value = line.partition(b":")
                name = key.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await asyncio.wait_for(reader.readexactly(length), 10)
            latencies.append(time.perf_counter() - began)
            statuses[status] += 1
            if close:
                writer.close()
                reader = writer = None
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            statuses[f"error:{exc.__class__.__name__}"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def _run(args: argparse.Namespace) -> dict[str, object]:
    with open(args.targets, encoding="utf-8") as f:
        targets = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    requests = itertools.cycle(
        [
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
            ).encode()
            for path, token in targets
        ]
    )
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    began = time.perf_counter()
    until = began + args.seconds
    await asyncio.gather(
        *(_worker("127.0.0.1", args.port, requests, until, latencies, statuses,
                  args.max_requests or float("inf"))
          for _ in range(args.concurrency))
    )  # fmt: skip
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0
        )

    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    return {
        "requests": len(latencies), "seconds": elapsed, "rps": ok / elapsed,
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
        "errors": sum(v for k, v in statuses.items() if not k.startswith("2")),
        "statuses": dict(statuses),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--targets", required=True, help="file of path<TAB>token lines")
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_run(args))))


if __name__ == "__main__":
    main()
