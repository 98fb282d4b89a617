"""The pile-link process under test: ``python -m pile_link`` plus a loopback control port.

Composed exactly like ``pile_link/__main__.py`` (gevent monkey-patching first, then
``create_app()`` from the ``EVOP_*`` environment, ``PileLinkRuntime(app).start()``, SIGTERM
→ bounded drain). The only addition is a control port on 127.0.0.1 that the benchmark uses
to ask for the connection count and to send remote starts from *inside* the process through
``LocalCommandPort`` (what a service in the pile-link process would do), timing each one.

Run by ``bench/bench_pile_link.py``; not meant to be started by hand.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import gevent.pool  # noqa: E402
from gevent.server import StreamServer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _pile_load_common import LAG_TICK, GcPauses, LagProbe, dumps, raise_nofile  # noqa: E402

from app import create_app  # noqa: E402
from pile_link.registry import LocalCommandPort  # noqa: E402
from pile_link.runtime import PileLinkRuntime  # noqa: E402

log = logging.getLogger("pile_link")

MAX_COMMANDS = 100_000


class Profiler:
    """cProfile over a window of the bench (``profile_start`` / ``profile_stop``), plus
    where a meter value's wall time goes: queued for the writer, waiting for the domain
    gate, recording its batch (one transaction), and the answer's way back."""

    def __init__(self, runtime: PileLinkRuntime) -> None:
        self.runtime = runtime
        self.prof: Any = None
        self.waits: dict[str, list[float]] = {}
        writer = runtime.events.writer
        gate = runtime.events._gate
        inner = writer._record_batch
        record = writer.record
        flush = writer._flush
        waits = self.waits

        def note(key: str, seconds: float) -> None:
            bucket = waits.setdefault(key, [])
            if len(bucket) < 200_000:
                bucket.append(seconds)

        def timed_batch(events: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(events)
            finally:
                note("batch_record", time.perf_counter() - t0)
                note("batch_size", float(len(events)))

        queued_at: dict[int, float] = {}

        def timed_flush(batch: Any) -> None:
            now = time.perf_counter()
            for w in batch:
                queued = queued_at.pop(id(w.event), None)
                if queued is not None:
                    note("queued_until_flush", now - queued)
            flush(batch)

        def timed_record(event: Any) -> Any:
            t0 = time.perf_counter()
            queued_at[id(event)] = t0
            try:
                return record(event)
            finally:
                queued_at.pop(id(event), None)
                note("record_total", time.perf_counter() - t0)

        class TimedGate:
            def __enter__(self) -> None:
                t0 = time.perf_counter()
                gate.acquire()
                note("gate_wait", time.perf_counter() - t0)

            def __exit__(self, *exc: Any) -> None:
                gate.release()

        writer._record_batch = timed_batch
        connections = getattr(runtime.events, "connections", None)
        if connections is not None:  # piles connecting, in batches (issue 12)
            inner_connections = connections._record_batch

            def timed_connections(events: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return inner_connections(events)
                finally:
                    note("connection_batch_record", time.perf_counter() - t0)
                    note("connection_batch_size", float(len(events)))

            connections._record_batch = timed_connections
        admit = runtime.events.admit

        def timed_admit(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return admit(*args, **kwargs)
            finally:
                note("admit_total", time.perf_counter() - t0)

        runtime.events.admit = timed_admit  # type: ignore[method-assign]
        writer._flush = timed_flush
        writer.record = timed_record
        runtime.events._gate = TimedGate()

    def start(self) -> dict[str, Any]:
        for bucket in self.waits.values():
            bucket.clear()
        self.samples: dict[tuple[str, ...], int] = {}

        def sample(_signum: int, frame: Any) -> None:
            stack = []
            while frame is not None and len(stack) < 80:
                code = frame.f_code
                stack.append(f"{'/'.join(code.co_filename.split('/')[-2:])}:{code.co_name}")
                frame = frame.f_back
            key = tuple(stack)
            self.samples[key] = self.samples.get(key, 0) + 1

        # a sampling profiler on the process's CPU time (SIGPROF): whatever greenlet runs
        # is sampled, waits cost nothing (cProfile charges a greenlet's waits to its caller)
        signal.signal(signal.SIGPROF, sample)
        signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)
        self.prof = True
        return {"ok": True}

    def stop(self, path: str) -> dict[str, Any]:
        if self.prof is None:
            return {"error": "not profiling"}
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        self.prof = None
        with open(path, "w", encoding="utf-8") as fh:  # collapsed stacks, root first
            for stack, n in sorted(self.samples.items(), key=lambda kv: -kv[1]):
                fh.write(";".join(reversed(stack)) + f" {n}\n")
        out: dict[str, Any] = {"path": path}
        for key, values in self.waits.items():
            if not values:
                continue
            ordered = sorted(values)
            scale = 1.0 if key.endswith("batch_size") else 1000.0
            out[key] = {
                "n": len(values),
                "mean": sum(values) / len(values) * scale,
                "p50": ordered[len(ordered) // 2] * scale,
                "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * scale,
            }
        return out


def remote_starts(runtime: PileLinkRuntime, request: dict[str, Any]) -> dict[str, Any]:
    """Send ``count`` RemoteStartTransaction commands to connected piles whose code starts
    with ``prefix``, ``concurrency`` at a time, round-robin over the piles."""
    port = LocalCommandPort(runtime.registry)
    prefix = str(request.get("prefix", ""))
    count = min(int(request.get("count", 1000)), MAX_COMMANDS)
    concurrency = max(1, int(request.get("concurrency", 1)))
    timeout = float(request.get("timeout", 10.0))
    budget = float(request.get("max_seconds", 120.0))
    codes = [c for c in runtime.registry.pile_codes() if c.startswith(prefix)]
    if not codes:
        return {"error": f"no connected pile starts with {prefix!r}", "lat": [], "outcomes": {}}
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    stop_at = time.monotonic() + budget
    began = time.perf_counter()

    def worker(offset: int) -> None:
        i = offset
        while i < count and time.monotonic() < stop_at:
            code = codes[i % len(codes)]
            t0 = time.perf_counter()
            result = port.remote_start(
                code, 1, "BENCHRS", order_no=f"BENCH{i:08d}", timeout=timeout
            )
            latencies.append(time.perf_counter() - t0)
            key = str(result.outcome.value)
            outcomes[key] = outcomes.get(key, 0) + 1
            i += concurrency

    group = gevent.pool.Group()
    for offset in range(min(concurrency, count)):
        group.spawn(worker, offset)
    group.join(timeout=budget + timeout + 5)
    group.kill(block=False)
    return {
        "lat": latencies,
        "outcomes": outcomes,
        "elapsed": time.perf_counter() - began,
        "piles": len(codes),
    }


def probe_lag(probe: LagProbe) -> None:
    while True:
        began = time.perf_counter()
        gevent.sleep(LAG_TICK)
        probe.record(time.perf_counter() - began - LAG_TICK)


def traced_top(limit: int) -> dict[str, Any]:
    """What tracemalloc saw allocated since ``trace_start`` and still alive, by the line
    that allocated it (then tracing stops)."""
    if not tracemalloc.is_tracing():
        return {"error": "not tracing"}
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = snapshot.statistics("lineno")
    top = [
        {"where": str(stat.traceback[0]), "kib": stat.size / 1024, "count": stat.count}
        for stat in stats[:limit]
    ]
    return {"total_kib": sum(stat.size for stat in stats) / 1024, "top": top}


def serve_control(
    runtime: PileLinkRuntime, port: int, pauses: GcPauses, profiler: Profiler | None = None
) -> StreamServer:
    def handle(sock: Any, _address: Any) -> None:
        reader = sock.makefile("rb")
        try:
            for raw in reader:
                request = json.loads(raw)
                cmd = request.get("cmd")
                if cmd == "status":
                    reply: dict[str, Any] = {
                        "connections": runtime.ocpp.connection_count(),
                        "registry": len(runtime.registry),
                        "pid": os.getpid(),
                    }
                elif cmd == "probe":
                    reply = {"gc": pauses.take(), "lag": lag.take()}
                elif cmd == "codes":
                    prefix, limit = str(request.get("prefix", "")), int(request.get("limit", 1000))
                    codes = [c for c in runtime.registry.pile_codes() if c.startswith(prefix)]
                    reply = {"codes": codes[:limit]}
                elif cmd == "remote_start":
                    reply = remote_starts(runtime, request)
                elif cmd == "trace_start":
                    tracemalloc.start(int(request.get("frames", 1)))
                    reply = {"tracing": tracemalloc.is_tracing()}
                elif cmd == "trace_top":
                    reply = traced_top(int(request.get("limit", 30)))
                elif cmd == "profile_start" and profiler is not None:
                    reply = profiler.start()
                elif cmd == "profile_stop" and profiler is not None:
                    reply = profiler.stop(str(request["path"]))
                else:
                    reply = {"error": f"unknown command {cmd!r}"}
                sock.sendall((dumps(reply) + "\n").encode())
        finally:
            reader.close()
            sock.close()

    lag = LagProbe()
    gevent.spawn(probe_lag, lag)
    server = StreamServer(("127.0.0.1", port), handle)
    server.start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--profile", action="store_true", help="cProfile and wait timings")
    args = parser.parse_args()
    raise_nofile()
    # as pile_link/__main__.py from here on
    app = create_app()
    runtime = PileLinkRuntime(app)
    endpoints = runtime.start()
    gc.freeze()
    print(f"OCPP 1.6J  ws://{endpoints.ocpp[0]}:{endpoints.ocpp[1]}/ocpp/<pile_code>", flush=True)
    done = gevent.event.Event()
    profiler = Profiler(runtime) if args.profile else None
    control = serve_control(runtime, args.control_port, GcPauses(), profiler)

    def _stop() -> None:
        log.info("pile link shutting down")
        control.close()
        runtime.stop(timeout=10)
        done.set()

    gevent.signal_handler(signal.SIGTERM, _stop)
    gevent.signal_handler(signal.SIGINT, _stop)
    done.wait()


if __name__ == "__main__":
    main()
