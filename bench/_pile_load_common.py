"""Small helpers shared by the pile-link benchmark's processes (no gevent, no app imports).

Imported by the gevent launcher after it has monkey-patched, by the asyncio central system
and by the load client, so it stays free of anything that does I/O at import time.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import socket
import time
from collections.abc import Iterable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_nofile() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process in KiB (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (threads included), in seconds."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


_PG_BACKGROUND = ("walwriter", "checkpointer", "background writer", "autovacuum", "logical")


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving ``database`` and of the server's
    background processes (WAL writer, checkpointer...); other databases' backends (other
    people's tests on the same server) are left out."""
    out: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="ascii") as fh:
                if fh.read().strip() != "postgres":
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                title = fh.read().decode("utf-8", "replace")
        except OSError:
            continue
        ours = f" {database} " in title or any(f": {w}" in title for w in _PG_BACKGROUND)
        if not ours:
            continue
        seconds = cpu_seconds(int(entry))
        if seconds is not None:
            out[int(entry)] = seconds
    return out


def system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        parts = [int(v) for v in fh.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return float(total - idle), float(total)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of unsorted values (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100.0 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(values: list[float]) -> dict[str, Any]:
    """Count, p50, p99, max (milliseconds) of latencies given in seconds."""
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    return {
        "n": len(values),
        "p50": percentile(values, 50) * 1000,  # type: ignore[operator]
        "p99": percentile(values, 99) * 1000,  # type: ignore[operator]
        "max": max(values) * 1000,
    }


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), default=str)


def top_errors(errors: Iterable[str], limit: int = 3) -> dict[str, int]:
    counts: dict[str, int] = {}
    for err in errors:
        counts[err] = counts.get(err, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:limit])


class GcPauses:
    """Pauses of the cyclic garbage collector in this process, per generation (a full
    collection walks every live object: with thousands of connections it shows in p99)."""

    def __init__(self) -> None:
        self._began = 0.0
        self.reset()
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.stats = {gen: {"n": 0, "total_ms": 0.0, "max_ms": 0.0} for gen in (0, 1, 2)}

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        ms = (time.perf_counter() - self._began) * 1000
        entry = self.stats[info["generation"]]
        entry["n"] += 1
        entry["total_ms"] += ms
        entry["max_ms"] = max(entry["max_ms"], ms)

    def take(self) -> dict[str, Any]:
        out = {str(gen): dict(v) for gen, v in self.stats.items()}
        out["objects"] = len(gc.get_objects())
        self.reset()
        return out


LAG_TICK = 0.01  # seconds between two wake-ups of the event-loop lag probe


class LagProbe:
    """How late a task that sleeps ``LAG_TICK`` wakes up: the event loop's (or the hub's)
    responsiveness, including the times the OS did not run the process at all."""

    def __init__(self) -> None:
        self.late: list[float] = []

    def record(self, overshoot: float) -> None:
        if len(self.late) < 1_000_000:
            self.late.append(max(0.0, overshoot))

    def take(self) -> dict[str, Any]:
        late, self.late = self.late, []
        return summary_ms(late)
