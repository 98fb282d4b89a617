"""The two-process run of the pile-link benchmark (``bench_pile_link.py --two-process``).

Two pile-link processes (A and B, their own ports) on one PostgreSQL database and one Redis
hold the piles between them, one load client each. This process plays an HTTP worker: it
composes the application like ``wsgi.py`` (``install_routed_port``: commands go through
Redis) and calls, in an app context, the port a console command uses
(``app.charging.commands.port()``). Printed beside each figure, in the same run: a Redis
PING from the same client (the floor of any routed command) and the same command sent
inside process A through ``LocalCommandPort`` (no Redis hop).

Then piles move from A to B, twice: a clean close then a reconnect to B, and a "stale" move
(the old socket left open but silent, as when a pile's network changes: A holds a half-open
link until its read timeout). Each moved pile is commanded from here until a command is
accepted (at B), and on for a window longer than a node's refresh period, counting the
commands that fail after that first success (a pile routed back to the dead link).
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _pile_load_common import summary_ms

PILE_FORMAT = "BENCH{:05d}"


def _fmt(summary: dict[str, Any]) -> str:
    def ms(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f} ms"

    return f"p50 {ms(summary.get('p50'))} p99 {ms(summary.get('p99'))} (n {summary.get('n')})"


def _tally(outcomes: dict[str, int], key: str, lock: threading.Lock) -> None:
    with lock:
        outcomes[key] = outcomes.get(key, 0) + 1


def routed_latency(port: Any, client: Any, codes: list[str], count: int) -> dict[str, Any]:
    """``count`` remote starts one at a time, alternating over ``codes`` (piles on both
    processes), each followed by a Redis PING from the same client: the floor."""
    lat: list[float] = []
    ping: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    for i in range(count):
        t0 = time.perf_counter()
        result = port.remote_start(codes[i % len(codes)], 1, "BENCHRS", order_no=f"TP{i}")
        lat.append(time.perf_counter() - t0)
        _tally(outcomes, result.outcome.value, lock)
        t0 = time.perf_counter()
        client.ping()
        ping.append(time.perf_counter() - t0)
    return {"routed": summary_ms(lat), "ping": summary_ms(ping), "outcomes": outcomes}


def routed_concurrent(port: Any, codes: list[str], count: int, threads: int) -> dict[str, Any]:
    lat: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        t0 = time.perf_counter()
        result = port.remote_start(codes[i % len(codes)], 1, "BENCHRS", order_no=f"TC{i}")
        took = time.perf_counter() - t0
        with lock:
            lat.append(took)
        _tally(outcomes, result.outcome.value, lock)

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - began
    return {**summary_ms(lat), "outcomes": outcomes, "rate": count / elapsed}


def probe_moved(
    port: Any, codes: list[str], stop_at: list[float]
) -> tuple[list[threading.Thread], dict[str, list[Any]]]:
    """Command each moved pile until ``stop_at[0]`` (monotonic; the caller moves it once
    the move is done): every 0.1 s while it fails, every second once one was accepted.
    Per pile, each attempt as (began, ended, outcome)."""
    out: dict[str, list[Any]] = {}

    def one(code: str) -> None:
        attempts: list[Any] = []
        i = 0
        while time.monotonic() < stop_at[0]:
            i += 1
            began = time.monotonic()
            result = port.remote_start(code, 1, "BENCHMV", order_no=f"MV{i}", timeout=1.0)
            attempts.append((began, time.monotonic(), result.outcome.value))
            time.sleep(1.0 if result.ok else 0.1)
        out[code] = attempts

    threads = [threading.Thread(target=one, args=(c,), daemon=True) for c in codes]
    for t in threads:
        t.start()
    return threads, out


def move_run(
    how: str,
    codes: list[str],
    client_a: Any,
    url_b: str,
    port: Any,
    window: float,
    heartbeat: float,
) -> dict[str, Any]:
    """Move ``codes`` from A to B and measure, per pile, the time from its cut to the end
    of the first command accepted that was sent after the cut (so answered at B), then
    count the commands failing after it until ``window`` after the move."""
    stop_at = [time.monotonic() + 300]
    threads, probes = probe_moved(port, codes, stop_at)
    sent = time.monotonic()
    client_a.send("move", codes=codes, url=url_b, how=how)
    times = client_a.expect("moved", 120)["times"]
    stop_at[0] = time.monotonic() + window
    for thread in threads:
        thread.join(window + 15)
    from_cut, reconnect, cut_delay = [], [], []
    unreached = 0
    outcomes: dict[str, int] = {}
    failed_after: dict[str, int] = {}  # of the piles whose reconnection to B succeeded
    for code in codes:
        attempts, t = probes.get(code, []), times.get(code, [])
        for _b, _e, outcome in attempts:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if not t:
            unreached += 1
            continue
        cut_delay.append(t[0] - sent)
        if len(t) > 1:
            reconnect.append(t[1] - t[0])
        first = next(
            (i for i, a in enumerate(attempts) if a[0] >= t[0] and a[2] == "accepted"), None
        )
        if first is None:
            unreached += 1
            continue
        from_cut.append(attempts[first][1] - t[0])
        if len(t) > 1:
            for _b, _e, outcome in attempts[first + 1 :]:
                if outcome != "accepted":
                    failed_after[outcome] = failed_after.get(outcome, 0) + 1
    reach = summary_ms(from_cut)
    out = {
        "how": how,
        "moved": len(codes),
        "reconnected": len(reconnect),
        "unreached": unreached,
        "reach_from_cut": reach,
        "reconnect": summary_ms(reconnect),
        "cut_after_command": summary_ms(cut_delay),
        "max_from_cut_s": max(from_cut) if from_cut else None,
        "failed_after_first_ok": failed_after,
        "outcomes": outcomes,
        "window_s": window,
        "heartbeat_s": heartbeat,
    }
    worst = out["max_from_cut_s"]
    print(
        f"  move ({how}) ×{len(codes)}: reconnected {out['reconnected']}, reachable at B "
        f"after the cut {_fmt(reach)}, max {worst if worst is None else round(worst, 3)} s "
        f"vs heartbeat {heartbeat:g} s\n"
        f"    peer: the pile's own reconnect, cut to boot accepted at B, "
        f"{_fmt(out['reconnect'])} (B routes it from the socket's opening, before the boot); "
        f"cut after the bench's command {_fmt(out['cut_after_command'])}\n"
        f"    unreached {unreached}; commands failing after the first success at B "
        f"{failed_after} over {window:g} s after the move; all outcomes {outcomes}",
        flush=True,
    )
    return out


def two_process_phase(
    args: argparse.Namespace, db_url: str, work: Path, server_cls: Any, client_cls: Any
) -> dict[str, Any]:
    from app.charging import commands
    from pile_link.redis_bus import PILE_KEY, REFRESH_SECONDS, RedisCommandPort
    from wsgi import compose

    out: dict[str, Any] = {"asked": args.piles}
    if not args.redis_url:
        return {"error": "needs Redis"}
    half = args.piles // 2
    servers = [server_cls("pile-link", db_url, args, work) for _ in range(2)]
    clients: list[Any] = []
    try:
        for n, (server, first, count) in enumerate(
            zip(servers, (0, half), (half, args.piles - half), strict=True)
        ):
            clients.append(
                client_cls(
                    {
                        "url": f"ws://127.0.0.1:{server.port}/ocpp",
                        "mode": "heartbeat",
                        "code_format": PILE_FORMAT,
                        "first": first,
                        "count": count,
                        "connect_concurrency": max(1, args.connect_concurrency // 2),
                        "heartbeat_interval": args.heartbeat,
                        "ramp_timeout": args.ramp_timeout,
                        "close_timeout": args.close_timeout,
                        "max_seconds": args.ramp_timeout + 900,
                    },
                    work,
                )
            )
            print(f"  process {'AB'[n]}: port {server.port}, piles {first}..{first + count - 1}")
        for n, client in enumerate(clients):
            ramped = client.expect("ramped", args.ramp_timeout + 90)
            out[f"ramp_{'AB'[n]}"] = ramped
            print(
                f"  process {'AB'[n]}: held {ramped['held']:,} in {ramped['ramp_seconds']:.1f}s, "
                f"{ramped['connect_errors']} connect errors {ramped['connect_error_kinds'] or ''}",
                flush=True,
            )
        status = [s.ask(cmd="status") for s in servers]
        out["registry"] = [s.get("registry") for s in status]
        codes_a = servers[0].ask(cmd="codes", prefix="BENCH", limit=10**6)["codes"]
        codes_b = servers[1].ask(cmd="codes", prefix="BENCH", limit=10**6)["codes"]
        print(f"  registries: A {len(codes_a):,}, B {len(codes_b):,}", flush=True)
        if not codes_a or not codes_b:
            raise RuntimeError("a process holds no pile")

        app = compose({"DATABASE_URL": db_url, "REDIS_URL": args.redis_url, "LOG_LEVEL": "WARNING"})
        with app.app_context():
            port = commands.port()
            assert isinstance(port, RedisCommandPort), type(port)
            redis_client = port.client
            count = max(10, args.remote_starts // 2)
            step = max(1, min(len(codes_a), len(codes_b)) // max(1, count // 2))
            pairs = zip(codes_a[::step], codes_b[::step], strict=False)
            mixed = [c for pair in pairs for c in pair]
            local = servers[0].ask(
                timeout=count + 60, cmd="remote_start", count=count, prefix="BENCH",
                concurrency=1, max_seconds=count * 0.5 + 30,
            )  # fmt: skip
            out["local_a"] = summary_ms(local.get("lat", []))
            seq = routed_latency(port, redis_client, mixed, count)
            out["routed_c1"] = seq
            conc = routed_concurrent(port, mixed, count, args.remote_concurrency)
            out[f"routed_c{args.remote_concurrency}"] = conc
            print(
                f"  remote start from the HTTP side via Redis, one at a time, to piles on A and "
                f"B: {_fmt(seq['routed'])} {seq['outcomes']}\n"
                f"    peer, same run: Redis PING {_fmt(seq['ping'])}; the same command inside "
                f"A (LocalCommandPort) {_fmt(out['local_a'])} {local.get('outcomes')}\n"
                f"  via Redis, {args.remote_concurrency} in flight: {_fmt(conc)} "
                f"{conc['rate']:.0f}/s {conc['outcomes']}",
                flush=True,
            )
            moving = max(1, min(args.move_piles, len(codes_a) // 3))
            window = REFRESH_SECONDS + 5.0  # past a refresh of A's keys
            url_b = f"ws://127.0.0.1:{servers[1].port}/ocpp"
            for n, how in enumerate(("close", "stale")):
                batch = codes_a[n * moving : (n + 1) * moving]
                out[f"move_{how}"] = move_run(
                    how, batch, clients[0], url_b, port, window, args.heartbeat
                )
                holder_b = redis_client.get(PILE_KEY.format(code=codes_b[0]))
                keys = redis_client.mget([PILE_KEY.format(code=c) for c in batch])
                out[f"move_{how}"]["keys_naming_b"] = sum(1 for k in keys if k == holder_b)
                print(
                    f"    Redis keys of the moved piles naming B at the end: "
                    f"{out[f'move_{how}']['keys_naming_b']} of {len(batch)}",
                    flush=True,
                )
            out["registry_end"] = [s.ask(cmd="status").get("registry") for s in servers]
            ends = out["registry_end"]
            print(f"  registries at the end: A {ends[0]:,}, B {ends[1]:,}", flush=True)
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        print(f"  two-process run failed: {out['error']}", flush=True)
    finally:
        for client in clients:
            client.finish(args.close_timeout + 30)
        for server in servers:
            server.stop()
    return out
