"""Pile-link load: connections held, meter values persisted, remote-start round trip, and the
same load against a minimal asyncio central system built on the ``ocpp`` package.

Printed, never asserted (issue 3, "done means"). Three kinds of process, all on loopback:

* the server under test: ``bench/_pile_load_server.py`` composes the pile link exactly like
  ``python -m pile_link`` (gevent-patched, ``PileLinkRuntime`` from ``EVOP_*``) and adds a
  control port used to send remote starts from inside the process through
  ``LocalCommandPort``; or ``bench/_pile_load_ocpp_cs.py``, the asyncio comparison;
* the load: ``bench/_pile_load_client.py``, asyncio + ``websockets`` with raw OCPP-J frames;
* this process: prepares the databases, starts and stops the others, reads RSS and CPU
  from /proc, counts rows in the database, prints the table.

Run from the project root::

    .venv/bin/python bench/bench_pile_link.py            # defaults: ~10 minutes
    .venv/bin/python bench/bench_pile_link.py --quick    # 300 piles, short windows: ~1 minute
    .venv/bin/python bench/bench_pile_link.py --two-process --piles 2000  # two processes, one
        # Redis: routed commands from the HTTP side, piles moving between them
        # (bench/_pile_load_two_process.py)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _pile_load_common import (
    ROOT,
    cpu_seconds,
    free_port,
    postgres_cpu,
    raise_nofile,
    rss_kib,
    summary_ms,
    system_cpu,
)

BENCH = Path(__file__).resolve().parent
PILE_FORMAT = "BENCH{:05d}"  # piles of the connection load
METER_FORMAT = "BMTR{:04d}"  # piles of the meter load, one driver card each
CARD_FORMAT = "BCARD{:04d}"
REPLAY_FORMAT = "BRPL{:04d}"  # piles of the storm that replay buffered transaction records
REPLAY_CARD_FORMAT = "BRCARD{:04d}"
YKC_FORMAT = "99120000{:06d}"  # YKC piles: 14 BCD digits
YKC_RT_FORMAT = "99130000{:06d}"  # YKC piles of the real-time data (0x13) load
YKC_CARD_FORMAT = "B1{:06d}"  # their drivers' cards: 8 hex digits (§8.1 物理卡号)
PILES_PER_STATION = 20
SYSTEMS = {
    "pile-link": "pile link (gevent)",
    "ocpp": "ocpp + asyncio",
    "ocpp-null": "ocpp, persist nothing",
}


# --- databases -----------------------------------------------------------------------------


def pg_admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def create_pg_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_database(
    url: str,
    piles: int,
    meter_piles: int,
    replay_piles: int = 0,
    ykc_piles: int = 0,
    ykc_rt_piles: int = 0,
) -> float:
    """Schema (``db.create_all``), demo data, then the bench piles, stations, drivers and
    cards. Returns the seconds it took."""
    began = time.perf_counter()
    from sqlalchemy import select

    from app.catalogue.models import Connector, Pile, Station, Tariff
    from app.demo import seed_demo
    from app.drivers import members
    from app.extensions import db
    from app.ledger import wallet
    from app.tenancy.models import Operator
    from wsgi import compose

    app = compose({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        db.create_all()
        seed_demo()
        operator = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        tariff = db.session.scalar(select(Tariff).where(Tariff.operator_id == operator.id))
        qr_base = app.config["QR_BASE_URL"]

        def add_piles(code_format: str, count: int, tag: str, protocol: str = "ocpp16") -> None:
            for first in range(0, count, 2000):
                chunk = range(first, min(count, first + 2000))
                stations: dict[int, Station] = {}
                for i in chunk:
                    number = i // PILES_PER_STATION
                    if number not in stations:
                        stations[number] = Station(
                            operator_id=operator.id,
                            name=f"压测站 {tag} {number}",
                            longitude=113.9 + number % 100 / 1000,
                            latitude=22.5 + number // 100 / 1000,
                            tariff_id=tariff.id,
                        )
                db.session.add_all(stations.values())
                db.session.flush()
                for i in chunk:
                    code = code_format.format(i)
                    db.session.add(
                        Pile(
                            code=code,
                            operator_id=operator.id,
                            station_id=stations[i // PILES_PER_STATION].id,
                            protocol=protocol,
                            vendor="Bench",
                            model="Load-1",
                            current_type="AC",
                            rated_power_w=7000,
                            connectors=[
                                Connector(number=n, qr_payload=f"{qr_base}{code}-{n}")
                                for n in (1, 2)
                            ],
                        )
                    )
                db.session.commit()

        add_piles(PILE_FORMAT, piles, "C")
        add_piles(METER_FORMAT, meter_piles, "M")
        add_piles(REPLAY_FORMAT, replay_piles, "R")
        add_piles(YKC_FORMAT, ykc_piles, "Y", "ykc")
        add_piles(YKC_RT_FORMAT, ykc_rt_piles, "T", "ykc")
        for i in range(ykc_rt_piles):
            driver = members.create_driver(operator.id, openid=f"bench-y{i}", nickname=f"云快充{i}")
            members.add_card(driver, YKC_CARD_FORMAT.format(i), kind="card")
            wallet.post_entry(driver.id, 10_000_000, "manual_credit", idempotency_key=f"bench:y{i}")
        for i in range(meter_piles):
            driver = members.create_driver(operator.id, openid=f"bench-{i}", nickname=f"压测{i}")
            members.add_card(driver, CARD_FORMAT.format(i), kind="card")
            wallet.post_entry(driver.id, 10_000_000, "manual_credit", idempotency_key=f"bench:{i}")
        for i in range(replay_piles):
            driver = members.create_driver(operator.id, openid=f"bench-r{i}", nickname=f"重放{i}")
            members.add_card(driver, REPLAY_CARD_FORMAT.format(i), kind="card")
            wallet.post_entry(driver.id, 10_000_000, "manual_credit", idempotency_key=f"bench:r{i}")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return time.perf_counter() - began


def count_meter_rows(url: str) -> int:
    if url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(url[len("sqlite:///") :], timeout=30)) as conn:
            return int(conn.execute("SELECT count(*) FROM meter_samples").fetchone()[0])
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM meter_samples").fetchone()
        return int(row[0]) if row else 0


def replay_landed(url: str, replay_tx: dict[str, Any]) -> dict[str, Any]:
    """Did every replayed transaction record land exactly once: per pile one order for the
    transaction, closed with the stop's reading, one meter sample, and no other order on
    the pile since the storm's transactions began."""
    import psycopg

    if not replay_tx:
        return {"checked": 0}
    codes = sorted(replay_tx)
    first_tx = min(int(v["tx"]) for v in replay_tx.values())
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT p.code, o.id, o.state, o.meter_stop_wh, o.energy_wh, "
            "(SELECT count(*) FROM meter_samples m WHERE m.order_id = o.id) "
            "FROM charge_orders o JOIN piles p ON p.id = o.pile_id "
            "WHERE p.code = ANY(%s) AND o.id >= %s",
            (codes, first_tx),
        ).fetchall()
    by_pile: dict[str, list[Any]] = {}
    for row in rows:
        by_pile.setdefault(row[0], []).append(row)
    exact = 0
    states: dict[str, int] = {}
    problems: list[str] = []
    for code, record in replay_tx.items():
        orders = by_pile.get(code, [])
        for o in orders:
            states[o[2]] = states.get(o[2], 0) + 1
        ok = (
            len(orders) == 1
            and orders[0][1] == int(record["tx"])
            and record.get("meter_stop") is not None
            and orders[0][3] == record["meter_stop"]
            and orders[0][5] == 1
        )
        if ok:
            exact += 1
        elif len(problems) < 5:
            problems.append(f"{code}: {orders}")
    return {
        "checked": len(replay_tx),
        "exactly_once": exact,
        "states": states,
        "problems": problems,
    }


# --- processes -----------------------------------------------------------------------------


class Server:
    """A server under test, started as its own process."""

    def __init__(self, system: str, db_url: str, args: argparse.Namespace, work: Path) -> None:
        self.system = system
        self.port = free_port()
        self.ykc_port = free_port()
        self.control_port = free_port()
        self.log_path = work / f"{system}-{int(time.time() * 1000)}.log"
        env = {
            **os.environ,
            "EVOP_DATABASE_URL": db_url,
            "EVOP_OCPP_HOST": "127.0.0.1",
            "EVOP_OCPP_PORT": str(self.port),
            "EVOP_YKC_HOST": "127.0.0.1",
            "EVOP_YKC_PORT": str(self.ykc_port),
            "EVOP_OCPP_HEARTBEAT_SECONDS": str(max(1, int(args.heartbeat))),
            "EVOP_LOG_LEVEL": args.log_level,
            "EVOP_REDIS_URL": args.redis_url if system == "pile-link" else "",
            "PYTHONUNBUFFERED": "1",
        }
        script = "_pile_load_server.py" if system == "pile-link" else "_pile_load_ocpp_cs.py"
        cmd = [sys.executable, str(BENCH / script), "--control-port", str(self.control_port)]
        if system == "ocpp-null":
            cmd.append("--persist-nothing")
        self.profile_dir = args.profile if system == "pile-link" else ""
        if self.profile_dir:
            cmd.append("--profile")
        if system in ("ocpp", "ocpp-null"):
            cmd += ["--threads", str(args.ocpp_threads)]
            if args.ocpp_per_event:
                cmd.append("--per-event")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.control: socket.socket | None = None
        self._reader: Any = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.control = socket.create_connection(("127.0.0.1", self.control_port), 1)
                break
            except OSError:
                time.sleep(0.2)
        if self.control is None:
            self.stop()  # closes the log: log_tail reads the file by its path
            raise RuntimeError(f"{system} server did not start: {self.log_tail()}")
        self._reader = self.control.makefile("rb")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ask(self, timeout: float = 30.0, **request: Any) -> dict[str, Any]:
        assert self.control is not None
        self.control.settimeout(timeout)
        self.control.sendall((json.dumps(request) + "\n").encode())
        line = self._reader.readline()
        if not line:
            raise RuntimeError(f"control connection closed: {self.log_tail()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def profile_start(self) -> None:
        if self.profile_dir:
            self.ask(cmd="profile_start")

    def profile_stop(self, name: str) -> dict[str, Any] | None:
        """Dump the window's cProfile to ``<profile dir>/<name>.prof``; print where the
        server's time went (top functions) and a meter value's waits."""
        if not self.profile_dir:
            return None
        path = str(Path(self.profile_dir).resolve() / f"{name}.stacks")
        reply = self.ask(timeout=120, cmd="profile_stop", path=path)
        print_profile(path, name, reply)
        return reply

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server's output, also after ``stop`` closed the log (a
        server that failed to start is stopped before its output is quoted)."""
        if not self._log.closed:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:])[-1500:]

    def stop(self, timeout: float = 25.0) -> None:
        with contextlib.suppress(OSError):
            if self.control is not None:
                self.control.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


class LoadClient:
    """The load generator process; events come back as JSON lines on its stdout."""

    def __init__(
        self, config: dict[str, Any], work: Path, script: str = "_pile_load_client.py"
    ) -> None:
        self.log_path = work / f"client-{int(time.time() * 1000)}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in finish()
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / script), "--config", json.dumps(config)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.put(json.loads(line))
        self.events.put(None)

    def send(self, cmd: str, **fields: Any) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.write((json.dumps({"cmd": cmd, **fields}) + "\n").encode())
            self.proc.stdin.flush()

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got = self.events.get(timeout=left)
            except queue.Empty:
                break
            if got is None:
                raise RuntimeError(f"load client exited: {self.stderr_tail()}")
            if got.get("event") == event:
                return got
        raise RuntimeError(f"load client: no {event!r} within {timeout:.0f}s")

    def stderr_tail(self) -> str:
        if not self._log.closed:
            self._log.flush()
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-5:])[-1500:]

    def finish(self, timeout: float) -> dict[str, Any]:
        """Close every pile and wait for the client to exit (killed after ``timeout``)."""
        self.send("close")
        try:
            closed = self.expect("closed", timeout)
        except RuntimeError as exc:
            closed = {"error": str(exc)}
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()
        return closed


class CpuWindow:
    """CPU used by the server, the client and the whole machine between start and stop."""

    database = ""  # the PostgreSQL database whose backends count as "postgres"

    def __init__(self, server_pid: int, client_pid: int) -> None:
        self.pids = {"server": server_pid, "client": client_pid}
        self.began = time.monotonic()
        self.cpu0 = {k: cpu_seconds(p) or 0.0 for k, p in self.pids.items()}
        self.pg0 = postgres_cpu(self.database)
        self.sys0 = system_cpu()

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.began
        busy1, total1 = system_cpu()
        out = {
            f"{k}_cpu": ((cpu_seconds(p) or 0.0) - self.cpu0[k]) / wall * 100
            for k, p in self.pids.items()
        }
        pg1 = postgres_cpu(self.database)
        out["postgres_cpu"] = sum(v - self.pg0.get(p, 0.0) for p, v in pg1.items()) / wall * 100
        ncpu = os.cpu_count() or 1
        out["machine_cpu"] = (busy1 - self.sys0[0]) / max(1.0, total1 - self.sys0[1]) * 100 * ncpu
        out["other_cpu"] = max(
            0.0, out["machine_cpu"] - out["server_cpu"] - out["client_cpu"] - out["postgres_cpu"]
        )
        return out


def print_traced(traced: dict[str, Any], held: int) -> None:
    """Python allocations still alive after the login storm, per held connection, by the
    line that made them (``--trace-memory``; RSS is measured before tracing's own cost)."""
    if "error" in traced:
        print(f"  traced memory: {traced['error']}", flush=True)
        return
    print(
        f"  traced Python memory alive after the storm: {traced['total_kib'] / held:.2f} KiB "
        f"per held connection ({traced['total_kib']:,.0f} KiB in all); by line:",
        flush=True,
    )
    for entry in traced["top"]:
        print(
            f"    {entry['kib'] * 1024 / held:8.0f} B/conn  {entry['count'] / held:6.2f} "
            f"objects/conn  {entry['where']}",
            flush=True,
        )


def window_pauses(gc_stats: dict[str, Any], lag: dict[str, Any]) -> str:
    """The server's garbage-collector runs and event-loop lag over a measured window."""
    young = gc_stats["0"]["n"] + gc_stats["1"]["n"]
    text = (
        f"GC full {gc_stats['2']['n']} (max {gc_stats['2']['max_ms']:.0f} ms), young {young} "
        f"({gc_stats['0']['total_ms'] + gc_stats['1']['total_ms']:.0f} ms in all)"
    )
    if lag.get("n"):
        text += f"; loop lag p50 {lag['p50']:.1f} p99 {lag['p99']:.1f} max {lag['max']:.0f} ms"
    return text


def print_profile(path: str, name: str, waits: dict[str, Any], top: int = 22) -> None:
    """The sampled stacks (1 ms of server CPU each): functions by self and by inclusive
    share, and the packages the CPU went to."""
    counts: list[tuple[list[str], int]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            counts.append((stack.split(";"), int(n)))
    total = sum(n for _, n in counts) or 1
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    packages: dict[str, int] = {}
    for stack, n in counts:
        own[stack[-1]] = own.get(stack[-1], 0) + n
        for fn in set(stack):
            incl[fn] = incl.get(fn, 0) + n
        pkg = stack[-1].split("/")[0]
        packages[pkg] = packages.get(pkg, 0) + n
    print(f"  profile {name}: {total} samples of 1 ms server CPU ({path})")
    for title, table in (("self", own), ("inclusive", incl), ("package (self)", packages)):
        print(f"    by {title}:")
        for fn, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"    {n / total * 100:5.1f}%  {fn}")
    for key, v in waits.items():
        if isinstance(v, dict) and "p50" in v:
            unit = "" if key == "batch_size" else " ms"
            print(
                f"    wait {key}: n {v['n']} mean {v['mean']:.2f}{unit} "
                f"p50 {v['p50']:.2f}{unit} p99 {v['p99']:.2f}{unit}"
            )


# --- the phases ----------------------------------------------------------------------------


def connections_phase(
    system: str, args: argparse.Namespace, db_url: str, work: Path
) -> dict[str, Any]:
    out: dict[str, Any] = {"asked": args.piles}
    server = Server(system, db_url, args, work)
    client: LoadClient | None = None
    try:
        time.sleep(1.0)
        out["rss_before"] = rss_kib(server.pid)
        client = LoadClient(
            {
                "url": f"ws://127.0.0.1:{server.port}/ocpp",
                "mode": "heartbeat",
                "code_format": PILE_FORMAT,
                "count": args.piles,
                "connect_concurrency": args.connect_concurrency,
                "heartbeat_interval": args.heartbeat,
                "ramp_timeout": args.ramp_timeout,
                "close_timeout": args.close_timeout,
                "max_seconds": args.ramp_timeout + args.hold + 600,
            },
            work,
        )
        server.profile_start()
        ramp_cpu = CpuWindow(server.pid, client.pid)
        ramped = client.expect("ramped", args.ramp_timeout + 90)
        out["ramp"] = ramped
        out["ramp_cpu"] = ramp_cpu.stop()
        server.profile_stop(f"ramp-{args.piles}")
        out["rss_after_ramp"] = rss_kib(server.pid)
        out["server_connections"] = server.ask(cmd="status").get("connections")
        print(
            f"  {system}: held {ramped['held']:,} of {args.piles:,} in "
            f"{ramped['ramp_seconds']:.1f}s; {ramped['connect_errors']} connect errors "
            f"{ramped['connect_error_kinds'] or ''}; CPU {cpu_text(out['ramp_cpu'])}",
            flush=True,
        )
        time.sleep(min(3.0, args.heartbeat))
        client.send("measure")
        client.expect("measuring", 30)
        cpu = CpuWindow(server.pid, client.pid)
        server.ask(cmd="probe")
        time.sleep(args.hold)
        probe = server.ask(cmd="probe")
        out["gc_hold"], out["lag_hold"] = probe["gc"], probe["lag"]
        client.send("report")
        report = client.expect("report", 60)
        out["hold"] = {**report, **cpu.stop(), "seconds": args.hold}
        out["rss_after_hold"] = rss_kib(server.pid)
        print(
            f"  {system}: heartbeat RTT p50 {fmt_ms(report['lat']['p50'])} "
            f"p99 {fmt_ms(report['lat']['p99'])} over {report['lat']['n']:,}; "
            f"held {report['held']:,}; CPU {cpu_text(out['hold'])}",
            flush=True,
        )
        out["remote_start"] = remote_start_runs(server, args)
        if system == "pile-link" and args.redis_url:
            codes = server.ask(cmd="codes", prefix="BENCH", limit=args.remote_starts)["codes"]
            out["remote_start_redis"] = redis_remote_starts(args, codes)
        client.send("report")
        out["end"] = client.expect("report", 60)
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        print(f"  {system}: connections phase failed: {out['error']}", flush=True)
    finally:
        if client is not None:
            out["closed"] = client.finish(args.close_timeout + 30)
        server.stop()
    return out


def storm_phase(system: str, args: argparse.Namespace, db_url: str, work: Path) -> dict[str, Any]:
    """A reconnect storm: ``--storm-piles`` OCPP piles connect and boot at once (up to
    ``--storm-concurrency`` handshakes in flight) while ``--storm-replays`` piles that lost
    their network mid-transaction come back and replay its records."""
    out: dict[str, Any] = {"asked": args.storm_piles}
    server = Server(system, db_url, args, work)
    client: LoadClient | None = None
    try:
        time.sleep(1.0)
        out["rss_before"] = rss_kib(server.pid)
        client = LoadClient(
            {
                "url": f"ws://127.0.0.1:{server.port}/ocpp",
                "mode": "storm",
                "code_format": PILE_FORMAT,
                "count": args.storm_piles,
                "replay_format": REPLAY_FORMAT,
                "replay_id_tag_format": REPLAY_CARD_FORMAT,
                "replay_count": args.storm_replays,
                "connect_concurrency": args.storm_concurrency,
                "heartbeat_interval": max(args.heartbeat, 30.0),
                "ramp_timeout": args.ramp_timeout,
                "close_timeout": args.close_timeout,
                "max_seconds": args.ramp_timeout * 2 + 600,
            },
            work,
        )
        prepared = client.expect("prepared", args.ramp_timeout + 60)
        out["prepared"] = prepared.get("replay_tx")
        ramp_cpu = CpuWindow(server.pid, client.pid)
        server.profile_start()
        ramped = client.expect("ramped", args.ramp_timeout + 120)
        out["ramp"] = ramped
        out["ramp_cpu"] = ramp_cpu.stop()
        server.profile_stop(f"storm-{args.storm_piles}")
        time.sleep(2.0)  # the last replays' answers
        client.send("report")
        report = client.expect("report", 60)
        out["report"] = report
        out["rss_after"] = rss_kib(server.pid)
        out["landed"] = replay_landed(db_url, report["replay_tx"]) if system != "ocpp-null" else {}
        rate = ramped["connected"] / ramped["ramp_seconds"] if ramped["ramp_seconds"] else 0
        print(
            f"  {system}: storm {ramped['connected']:,} of "
            f"{args.storm_piles + args.storm_replays:,} booted in {ramped['ramp_seconds']:.1f}s "
            f"({rate:,.0f}/s); {ramped['connect_errors']} connect errors "
            f"{ramped['connect_error_kinds'] or ''}; {ramped['boot_rejected']} rejected; "
            f"replayed {report['replayed']}/{out['prepared']} "
            f"({report['replay_errors']} errors {report['replay_error_kinds'] or ''}); "
            f"landed {out['landed']}; CPU {cpu_text(out['ramp_cpu'])}",
            flush=True,
        )
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        print(f"  {system}: storm phase failed: {out['error']}", flush=True)
    finally:
        if client is not None:
            out["closed"] = client.finish(args.close_timeout + 30)
        server.stop()
    return out


def ykc_phase(args: argparse.Namespace, db_url: str, work: Path) -> dict[str, Any]:
    """``--ykc-piles`` YKC piles log in (a login storm) and are held: the rate, and the
    server's RSS per held connection."""
    out: dict[str, Any] = {"asked": args.ykc_piles}
    server = Server("pile-link", db_url, args, work)
    client: LoadClient | None = None
    try:
        time.sleep(1.0)
        out["rss_before"] = rss_kib(server.pid)
        if args.trace_memory:
            server.ask(cmd="trace_start")
        client = LoadClient(
            {
                "host": "127.0.0.1",
                "port": server.ykc_port,
                "code_format": YKC_FORMAT,
                "count": args.ykc_piles,
                "connect_concurrency": args.storm_concurrency,
                "heartbeat_interval": 10.0,
                "ramp_timeout": args.ramp_timeout,
                "max_seconds": args.ramp_timeout + 300,
            },
            work,
            "_pile_load_ykc.py",
        )
        cpu = CpuWindow(server.pid, client.pid)
        ramped = client.expect("ramped", args.ramp_timeout + 60)
        out["ramp"] = ramped
        out["ramp_cpu"] = cpu.stop()
        time.sleep(3.0)
        out["rss_after"] = rss_kib(server.pid)
        out["server_connections"] = server.ask(cmd="status").get("registry")
        n = ramped["held"]
        per = (out["rss_after"] - out["rss_before"]) / n if n else None
        out["rss_per_conn"] = per
        if args.trace_memory and n:
            print_traced(server.ask(timeout=300, cmd="trace_top", limit=30), n)
        print(
            f"  pile-link YKC: {n:,} of {args.ykc_piles:,} logged in in "
            f"{ramped['ramp_seconds']:.1f}s ({n / ramped['ramp_seconds']:,.0f}/s); "
            f"{ramped['connect_errors']} errors {ramped['connect_error_kinds'] or ''}; "
            f"RSS per held connection {per if per is None else round(per, 1)} KiB; "
            f"CPU {cpu_text(out['ramp_cpu'])}",
            flush=True,
        )
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        print(f"  pile-link YKC: phase failed: {out['error']}", flush=True)
    finally:
        if client is not None:
            client.send("close")
            with contextlib.suppress(Exception):
                client.expect("closed", 60)
            with contextlib.suppress(Exception):
                client.proc.wait(10)
        server.stop()
    return out


def ykc_realtime_phase(
    args: argparse.Namespace, db_url: str, work: Path, db_name: str, piles: int
) -> dict[str, Any]:
    """``piles`` YKC piles each start a charge by card, then send real-time data (0x13) at
    ``--ykc-realtime-rate`` a second each (never answered: an open load); the meter rows
    persisted per second (DB count), beside the OCPP MeterValues run of the same size."""
    out: dict[str, Any] = {"piles": piles}
    server = Server("pile-link", db_url, args, work)
    client: LoadClient | None = None
    try:
        client = LoadClient(
            {
                "host": "127.0.0.1",
                "port": server.ykc_port,
                "mode": "realtime",
                "code_format": YKC_RT_FORMAT,
                "card_format": YKC_CARD_FORMAT,
                "count": piles,
                "connect_concurrency": min(piles, 50),
                "realtime_rate": args.ykc_realtime_rate,
                "heartbeat_interval": 10.0,
                "ramp_timeout": 300,
                "max_seconds": args.meter_seconds + args.meter_warmup + 600,
            },
            work,
            "_pile_load_ykc.py",
        )
        ramped = client.expect("ramped", 360)
        out["ramp"] = ramped
        if not ramped.get("started"):
            raise RuntimeError(
                f"no charge started: {ramped['start_refused_kinds']} "
                f"{ramped['connect_error_kinds']}"
            )
        client.send("go")
        client.expect("going", 30)
        time.sleep(args.meter_warmup)
        client.send("measure")
        m0 = client.expect("measuring", 30)
        rows0, t_rows0 = count_meter_rows(db_url), time.monotonic()
        cpu = CpuWindow(server.pid, client.pid)
        server.ask(cmd="probe")
        server.profile_start()
        time.sleep(args.meter_seconds)
        client.send("report")
        m1 = client.expect("report", 60)
        rows1, t_rows1 = count_meter_rows(db_url), time.monotonic()
        out.update(cpu.stop())
        probe = server.ask(cmd="probe")
        out["gc"], out["lag"] = probe["gc"], probe["lag"]
        out["waits"] = server.profile_stop(f"ykc-realtime-{piles}-{db_name}")
        out["rows_per_s"] = (rows1 - rows0) / (t_rows1 - t_rows0)
        out["sent_per_s"] = (m1["sent"] - m0["sent"]) / (m1["t"] - m0["t"])
        out["rows"] = rows1 - rows0
        print(
            f"  pile-link YKC 0x13 on {db_name}: {out['rows_per_s']:,.0f} rows/s (DB), "
            f"{out['sent_per_s']:,.0f} frames/s sent; {ramped['started']} charges running, "
            f"{ramped['start_refused']} refused {ramped['start_refused_kinds'] or ''}; "
            f"CPU {cpu_text(out)}; {window_pauses(out['gc'], out['lag'])}",
            flush=True,
        )
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        print(f"  pile-link YKC 0x13 on {db_name}: phase failed: {out['error']}", flush=True)
    finally:
        if client is not None:
            out["closed"] = client.finish(60)
        server.stop()
    return out


def remote_start_runs(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for concurrency in (1, args.remote_concurrency):
        reply = server.ask(
            timeout=args.remote_starts * 0.5 + 60,
            cmd="remote_start",
            count=args.remote_starts,
            prefix="BENCH",
            concurrency=concurrency,
            max_seconds=args.remote_starts * 0.5 + 30,
        )
        lat = reply.get("lat", [])
        runs[f"c{concurrency}"] = {
            **summary_ms(lat),
            "outcomes": reply.get("outcomes"),
            "rate": len(lat) / reply["elapsed"] if reply.get("elapsed") else None,
            "error": reply.get("error"),
            "concurrency": concurrency,
        }
        r = runs[f"c{concurrency}"]
        print(
            f"  {server.system}: remote start ×{r['n']} at concurrency {concurrency}: "
            f"p50 {fmt_ms(r['p50'])} p99 {fmt_ms(r['p99'])} {r['outcomes']}",
            flush=True,
        )
    return runs


def redis_remote_starts(args: argparse.Namespace, codes: list[str]) -> dict[str, Any]:
    """Remote starts from this process (like an HTTP worker) through RedisCommandPort, one
    at a time, to piles the server holds."""
    import redis

    from pile_link.redis_bus import RedisCommandPort
    from pile_link.registry import ConnectionRegistry

    client = redis.Redis.from_url(args.redis_url)
    port = RedisCommandPort(ConnectionRegistry(), client)
    count = max(1, args.remote_starts // 2)
    if not codes:
        return {**summary_ms([]), "outcomes": {"no pile connected": 1}}
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    stop_at = time.monotonic() + count * 0.5 + 30
    for i in range(count):
        if time.monotonic() > stop_at:
            break
        t0 = time.perf_counter()
        result = port.remote_start(
            codes[i % len(codes)], 1, "BENCHRS", order_no=f"R{i}", timeout=10
        )
        latencies.append(time.perf_counter() - t0)
        outcomes[result.outcome.value] = outcomes.get(result.outcome.value, 0) + 1
    client.close()
    out = {**summary_ms(latencies), "outcomes": outcomes}
    print(
        f"  pile-link: remote start via Redis ×{out['n']}: p50 {fmt_ms(out['p50'])} "
        f"p99 {fmt_ms(out['p99'])} {outcomes}",
        flush=True,
    )
    return out


def meter_phase(
    system: str, args: argparse.Namespace, db_url: str, work: Path, db_name: str, piles: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"piles": piles}
    server = Server(system, db_url, args, work)
    client: LoadClient | None = None
    try:
        client = LoadClient(
            {
                "url": f"ws://127.0.0.1:{server.port}/ocpp",
                "mode": "meter",
                "code_format": METER_FORMAT,
                "id_tag_format": CARD_FORMAT,
                "count": piles,
                "connect_concurrency": min(piles, 50),
                "ramp_timeout": 120,
                "call_timeout": 30,
                "max_seconds": args.meter_seconds + args.meter_warmup + 300,
            },
            work,
        )
        ramped = client.expect("ramped", 300)
        out["ramp"] = ramped
        if ramped["started_tx"] == 0:
            raise RuntimeError(
                f"no transaction started: {ramped['start_error_kinds']} "
                f"{ramped['connect_error_kinds']}"
            )
        client.send("go")
        client.expect("going", 30)
        time.sleep(args.meter_warmup)
        client.send("measure")
        m0 = client.expect("measuring", 30)
        rows0, t_rows0 = count_meter_rows(db_url), time.monotonic()
        cpu = CpuWindow(server.pid, client.pid)
        server.ask(cmd="probe")
        server.profile_start()
        time.sleep(args.meter_seconds)
        client.send("report")
        m1 = client.expect("report", 60)
        rows1, t_rows1 = count_meter_rows(db_url), time.monotonic()
        out.update(cpu.stop())
        probe = server.ask(cmd="probe")
        out["gc"], out["lag"] = probe["gc"], probe["lag"]
        out["waits"] = server.profile_stop(f"meter-{piles}-{db_name}")
        out["rows_per_s"] = (rows1 - rows0) / (t_rows1 - t_rows0)
        out["acks_per_s"] = (m1["acks"] - m0["acks"]) / (m1["t"] - m0["t"])
        out["lat"] = m1["lat"]
        out["rows"] = rows1 - rows0
        out["report"] = m1
        print(
            f"  {system} on {db_name}: {out['rows_per_s']:,.0f} rows/s (DB), "
            f"{out['acks_per_s']:,.0f} acks/s, ack p50 {fmt_ms(m1['lat']['p50'])} "
            f"p99 {fmt_ms(m1['lat']['p99'])}; {ramped['started_tx']} transactions open; "
            f"dropped {m1['dropped']} {m1['dropped_kinds'] or ''}; CPU {cpu_text(out)}; "
            f"{window_pauses(out['gc'], out['lag'])}",
            flush=True,
        )
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        print(f"  {system} on {db_name}: meter phase failed: {out['error']}", flush=True)
    finally:
        if client is not None:
            out["closed"] = client.finish(60)
        server.stop()
    return out


# --- the table -----------------------------------------------------------------------------


def cpu_text(cpu: dict[str, float]) -> str:
    return "server {:.0f}%, client {:.0f}%, postgres {:.0f}%, others {:.0f}% (of 200%)".format(
        cpu["server_cpu"], cpu["client_cpu"], cpu["postgres_cpu"], cpu["other_cpu"]
    )


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def fmt_dec(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def cpu_rows(row: Any, windows: list[dict[str, Any] | None], when: str) -> None:
    """Where the rest of the 2 cores went: load client, PostgreSQL, everything else."""

    def text(w: dict[str, Any] | None) -> str:
        if not w or "client_cpu" not in w:
            return "—"
        return "{:.0f} / {:.0f} / {:.0f} %".format(
            w["client_cpu"], w["postgres_cpu"], w["other_cpu"]
        )

    row(f"CPU client / postgres / others {when}".rstrip(), [text(w) for w in windows])


def fmt_num(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:,.0f}{unit}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return ""
    return f"{a / b:.2f}×"


def dig(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)  # type: ignore[assignment]
    return data


def failure_notes(results: dict[str, Any]) -> list[str]:
    """Every kind of connect error, refused start and dropped connection, per run."""
    notes = []
    for system, phases in results.items():
        for phase, data in phases.items():
            for part in ("ramp", "end", "report"):
                block = data.get(part) or {}
                for key in ("connect_error_kinds", "start_error_kinds", "dropped_kinds"):
                    for kind, count in (block.get(key) or {}).items():
                        note = f"{SYSTEMS[system]}, {phase}: {count:,} × {kind}"
                        if note not in notes:
                            notes.append(note)
            if data.get("error"):
                notes.append(f"{SYSTEMS[system]}, {phase}: phase failed: {data['error']}")
    return notes


class Table:
    """Rows of the printed table: a label, one column per system, the ratio of two."""

    width = 44
    col = 24

    def __init__(self, results: dict[str, Any], args: argparse.Namespace) -> None:
        self.results = results
        self.args = args
        self.systems = [s for s in SYSTEMS if s in results]

    def row(self, label: str, values: list[str], raw: list[float | None] | None = None) -> None:
        line = f"{label:<{self.width}}" + "".join(f"{v:>{self.col}}" for v in values)
        if raw is not None and len(raw) >= 2 and self.systems[0] == "pile-link":
            line += "".join(f"{ratio(raw[0], other):>{self.col}}" for other in raw[1:])
        print(line)

    def section(self, title: str) -> None:
        print(f"-- {title}")

    def get(self, system: str, *path: str) -> Any:
        return dig(self.results[system], *path)

    def parts(self) -> tuple[Any, Any, Any, list[str], argparse.Namespace, int, int]:
        return self.row, self.section, self.get, self.systems, self.args, self.width, self.col


def print_connections(t: Table) -> None:
    row, section, get, systems, args, width, col = t.parts()

    section(
        f"connections: {args.piles:,} OCPP piles, BootNotification then Heartbeat every "
        f"{args.heartbeat:g} s, PostgreSQL"
    )
    for s in systems:
        if get(s, "conn", "error"):
            print(f"   {SYSTEMS[s]}: FAILED {get(s, 'conn', 'error')}")
    held = [get(s, "conn", "ramp", "connected") for s in systems]
    row("piles connected and booted", [fmt_num(v) for v in held], held)
    row(
        "still held at the end of the hold",
        [fmt_num(get(s, "conn", "hold", "held")) for s in systems],
    )
    row(
        "connect errors / boot rejected / dropped",
        [
            f"{fmt_num(get(s, 'conn', 'ramp', 'connect_errors'))} / "
            f"{fmt_num(get(s, 'conn', 'ramp', 'boot_rejected'))} / "
            f"{fmt_num(get(s, 'conn', 'end', 'dropped'))}"
            for s in systems
        ],
    )
    ramp_rate = [
        (get(s, "conn", "ramp", "connected") or 0) / get(s, "conn", "ramp", "ramp_seconds")
        if get(s, "conn", "ramp", "ramp_seconds")
        else None
        for s in systems
    ]
    row("connect + boot rate (piles/s)", [fmt_num(v, "/s") for v in ramp_rate], ramp_rate)
    row(
        "ramp time",
        [
            "—" if v is None else f"{v:.1f} s"
            for v in [get(s, "conn", "ramp", "ramp_seconds") for s in systems]
        ],
    )
    boot = [get(s, "conn", "ramp", "boot", "p99") for s in systems]
    row(
        "connect+boot p50 / p99 during the ramp",
        [
            f"{fmt_ms(get(s, 'conn', 'ramp', 'boot', 'p50'))} / {fmt_ms(b)}"
            for s, b in zip(systems, boot, strict=True)
        ],
    )
    for label, key in (
        ("server RSS before (MiB)", "rss_before"),
        ("server RSS after ramp (MiB)", "rss_after_ramp"),
        ("server RSS after hold (MiB)", "rss_after_hold"),
    ):
        vals = [get(s, "conn", key) for s in systems]
        row(label, ["—" if v is None else f"{v / 1024:,.0f}" for v in vals], vals)
    per_conn = []
    for s in systems:
        before, after, n = (
            get(s, "conn", "rss_before"),
            get(s, "conn", "rss_after_hold") or get(s, "conn", "rss_after_ramp"),
            get(s, "conn", "ramp", "connected"),
        )
        per_conn.append((after - before) / n if before and after and n else None)
    row(
        "RSS per connection (KiB, after hold)",
        ["—" if v is None else f"{v:.1f}" for v in per_conn],
        per_conn,
    )
    hb_rate = [
        (get(s, "conn", "hold", "lat", "n") or 0) / args.hold if get(s, "conn", "hold") else None
        for s in systems
    ]
    row("heartbeats answered per second", [fmt_num(v, "/s") for v in hb_rate], hb_rate)
    p50 = [get(s, "conn", "hold", "lat", "p50") for s in systems]
    p99 = [get(s, "conn", "hold", "lat", "p99") for s in systems]
    row("heartbeat round trip p50", [fmt_ms(v) for v in p50], p50)
    row("heartbeat round trip p99", [fmt_ms(v) for v in p99], p99)
    row(
        "heartbeats late (next due, no answer)",
        [fmt_num(get(s, "conn", "hold", "late")) for s in systems],
    )
    cpu = [get(s, "conn", "hold", "server_cpu") for s in systems]
    row("server CPU during hold (% of a core)", [fmt_num(v, " %") for v in cpu], cpu)
    per_hb = [
        c / 100 / r * 1e6 if c is not None and r else None
        for c, r in zip(cpu, hb_rate, strict=True)
    ]
    row("server CPU per heartbeat (µs, whole process)", [fmt_num(v) for v in per_hb], per_hb)
    cpu_rows(row, [get(s, "conn", "hold") for s in systems], "during hold")

    def pauses(system: str) -> str:
        gc_stats = get(system, "conn", "gc_hold")
        if not gc_stats:
            return "—"
        young = gc_stats["0"]["n"] + gc_stats["1"]["n"]
        return f"{gc_stats['2']['n']} (max {gc_stats['2']['max_ms']:.0f} ms) / {young}"

    row("server GC runs during hold: full / young", [pauses(s) for s in systems])

    def client_pauses(system: str) -> str:
        gc_stats = get(system, "conn", "hold", "client_gc")
        if not gc_stats:
            return "—"
        longest = max(gc_stats[g]["max_ms"] for g in ("0", "1", "2"))
        return f"{sum(gc_stats[g]['n'] for g in ('0', '1', '2'))} (max {longest:.0f} ms)"

    row("load client GC runs during hold", [client_pauses(s) for s in systems])
    row(
        "server loop lag during hold p50 / p99 / max",
        [
            "—"
            if not get(s, "conn", "lag_hold", "n")
            else "{:.1f} / {:.1f} / {:.0f} ms".format(
                get(s, "conn", "lag_hold", "p50"),
                get(s, "conn", "lag_hold", "p99"),
                get(s, "conn", "lag_hold", "max"),
            )
            for s in systems
        ],
    )
    row(
        "live Python objects in the server",
        [fmt_num(get(s, "conn", "gc_hold", "objects")) for s in systems],
    )
    ramp_cpu = [get(s, "conn", "ramp_cpu", "server_cpu") for s in systems]
    row("server CPU during ramp (% of a core)", [fmt_num(v, " %") for v in ramp_cpu], ramp_cpu)
    per_connect = [
        c / 100 * get(s, "conn", "ramp", "ramp_seconds") / n * 1000
        if c is not None and n and get(s, "conn", "ramp", "ramp_seconds")
        else None
        for s, c, n in zip(systems, ramp_cpu, held, strict=True)
    ]
    row("server CPU per connect + boot (ms)", [fmt_dec(v) for v in per_connect], per_connect)
    cpu_rows(row, [get(s, "conn", "ramp_cpu") for s in systems], "during ramp")

    section(
        f"remote start: RemoteStartTransaction from inside the server process to a connected "
        f"pile that answers at once, ×{args.remote_starts:,}, under the heartbeat load"
    )
    for key, label in (("c1", "one at a time"), (f"c{args.remote_concurrency}", "concurrent")):
        if key == "c1" or args.remote_concurrency != 1:
            conc = "" if key == "c1" else f" ({args.remote_concurrency} at a time)"
            a = [get(s, "conn", "remote_start", key, "p50") for s in systems]
            b = [get(s, "conn", "remote_start", key, "p99") for s in systems]
            rate = [get(s, "conn", "remote_start", key, "rate") for s in systems]
            row(f"{label}{conc}: p50", [fmt_ms(v) for v in a], a)
            row(f"{label}{conc}: p99", [fmt_ms(v) for v in b], b)
            row(f"{label}{conc}: commands/s", [fmt_num(v, "/s") for v in rate], rate)
            row(
                f"{label}{conc}: outcomes",
                [
                    ",".join(
                        f"{k}={v}"
                        for k, v in (get(s, "conn", "remote_start", key, "outcomes") or {}).items()
                    )
                    or "—"
                    for s in systems
                ],
            )
    if "pile-link" in t.results and get("pile-link", "conn", "remote_start_redis"):
        r = get("pile-link", "conn", "remote_start_redis")
        print(
            f"{'via Redis from another process (pile link)':<{width}}"
            f"{'p50 ' + fmt_ms(r['p50']) + ', p99 ' + fmt_ms(r['p99']):>{col}}"
            f"   ×{r['n']} {r['outcomes']}"
        )


def print_meters(t: Table) -> None:
    row, section, get, systems, args = t.row, t.section, t.get, t.systems, t.args
    runs = [(f"meter_pg_{n}", "PostgreSQL", n) for n in args.meter_runs]
    runs += [(f"meter_sqlite_{n}", "SQLite (reference)", n) for n in args.meter_runs]
    for db_key, db_title, piles in runs:
        if not any(db_key in t.results[s] for s in systems):
            continue
        section(
            f"meter values on {db_title}: {piles} piles, each with an open "
            f"transaction, MeterValues as fast as acknowledged, {args.meter_seconds:g} s"
        )
        for s in systems:
            if get(s, db_key, "error"):
                print(f"   {SYSTEMS[s]}: FAILED {get(s, db_key, 'error')}")
        rows = [get(s, db_key, "rows_per_s") for s in systems]
        acks = [get(s, db_key, "acks_per_s") for s in systems]
        row("meter rows persisted per second (DB count)", [fmt_num(v, "/s") for v in rows], rows)
        row("MeterValues acknowledged per second", [fmt_num(v, "/s") for v in acks], acks)
        a = [get(s, db_key, "lat", "p50") for s in systems]
        b = [get(s, db_key, "lat", "p99") for s in systems]
        row("ack round trip p50", [fmt_ms(v) for v in a], a)
        row("ack round trip p99", [fmt_ms(v) for v in b], b)
        cpu = [get(s, db_key, "server_cpu") for s in systems]
        row("server CPU (% of a core)", [fmt_num(v, " %") for v in cpu], cpu)
        per_row = [
            c / 100 / r * 1000 if c is not None and r else None
            for c, r in zip(cpu, rows, strict=True)
        ]
        row("server CPU per meter value (ms)", [fmt_dec(v) for v in per_row], per_row)
        cpu_rows(row, [get(s, db_key) for s in systems], "")
        row(
            "transactions open / dropped",
            [
                f"{fmt_num(get(s, db_key, 'ramp', 'started_tx'))} / "
                f"{fmt_num(get(s, db_key, 'report', 'dropped'))}"
                for s in systems
            ],
        )
        print_ykc_realtime(t, db_key, piles)


def print_ykc_realtime(t: Table, db_key: str, piles: int) -> None:
    """The YKC 0x13 run of the same size, beside the pile link's OCPP figure above."""
    ykc = t.results.get("pile-link", {}).get(db_key.replace("meter_", "ykc_rt_"))
    if not ykc:
        return
    if ykc.get("error"):
        print(f"   YKC 0x13: FAILED {ykc['error']}")
        return
    ocpp = t.get("pile-link", db_key, "rows_per_s")
    rows, sent = ykc.get("rows_per_s"), ykc.get("sent_per_s")
    share = ratio(rows, ocpp)
    print(
        f"YKC real-time data (0x13), pile link, {piles} piles charging: "
        f"{fmt_num(rows, '/s')} rows persisted ({share} the OCPP MeterValues above), "
        f"{fmt_num(sent, '/s')} frames sent; server CPU {fmt_num(ykc.get('server_cpu'), ' %')}, "
        f"others {fmt_num(ykc.get('other_cpu'), ' %')}; charges running "
        f"{fmt_num(dig(ykc, 'ramp', 'started'))}"
    )


def print_storm(t: Table) -> None:
    row, section, get, systems, args = t.row, t.section, t.get, t.systems, t.args
    section(
        f"reconnect storm: {args.storm_piles:,} OCPP piles connect and boot at once "
        f"({args.storm_concurrency} handshakes in flight) while {args.storm_replays} replay a "
        f"transaction's buffered records (meter value, stop, the stop again); PostgreSQL"
    )
    for s in systems:
        if get(s, "storm", "error"):
            print(f"   {SYSTEMS[s]}: FAILED {get(s, 'storm', 'error')}")
    held = [get(s, "storm", "ramp", "connected") for s in systems]
    row("piles connected and booted", [fmt_num(v) for v in held], held)
    secs = [get(s, "storm", "ramp", "ramp_seconds") for s in systems]
    rate = [h / x if h and x else None for h, x in zip(held, secs, strict=True)]
    row("connect + boot rate (piles/s)", [fmt_num(v, "/s") for v in rate], rate)
    row("storm time", ["—" if v is None else f"{v:.1f} s" for v in secs], secs)
    row(
        "connect errors / boot rejected",
        [
            f"{fmt_num(get(s, 'storm', 'ramp', 'connect_errors'))} / "
            f"{fmt_num(get(s, 'storm', 'ramp', 'boot_rejected'))}"
            for s in systems
        ],
    )
    p99 = [get(s, "storm", "ramp", "boot", "p99") for s in systems]
    row("connect+boot p99", [fmt_ms(v) for v in p99], p99)
    row(
        "records replayed (acknowledged) / prepared",
        [
            f"{fmt_num(get(s, 'storm', 'report', 'replayed'))} / "
            f"{fmt_num(get(s, 'storm', 'prepared'))}"
            for s in systems
        ],
    )
    row(
        "landed exactly once (DB) / checked",
        [
            f"{fmt_num(get(s, 'storm', 'landed', 'exactly_once'))} / "
            f"{fmt_num(get(s, 'storm', 'landed', 'checked'))}"
            if get(s, "storm", "landed")
            else "—"
            for s in systems
        ],
    )
    cpu = [get(s, "storm", "ramp_cpu", "server_cpu") for s in systems]
    row("server CPU during storm (% of a core)", [fmt_num(v, " %") for v in cpu], cpu)
    per = [
        c / 100 * x / h * 1000 if c is not None and h and x else None
        for c, h, x in zip(cpu, held, secs, strict=True)
    ]
    row("server CPU per connect + boot (ms)", [fmt_dec(v) for v in per], per)
    per_conn = []
    for s in systems:
        before, after, n = (
            get(s, "storm", "rss_before"),
            get(s, "storm", "rss_after"),
            get(s, "storm", "ramp", "connected"),
        )
        per_conn.append((after - before) / n if before and after and n else None)
    row(
        "RSS per held connection (KiB)",
        ["—" if v is None else f"{v:.1f}" for v in per_conn],
        per_conn,
    )
    cpu_rows(row, [get(s, "storm", "ramp_cpu") for s in systems], "during storm")


def print_table(results: dict[str, Any], args: argparse.Namespace) -> None:
    t = Table(results, args)
    head = f"{'':<{t.width}}" + "".join(f"{SYSTEMS[s]:>{t.col}}" for s in t.systems)
    if len(t.systems) >= 2 and t.systems[0] == "pile-link":
        head += "".join(f"{'pile-link ÷ ' + s:>{t.col}}" for s in t.systems[1:])
    print()
    print("=" * len(head))
    print(head)
    print("=" * len(head))
    if any("conn" in results[s] for s in t.systems):
        print_connections(t)
    print_meters(t)
    if any("storm" in results[s] for s in t.systems):
        print_storm(t)
    ykc = results.get("pile-link", {}).get("ykc")
    if ykc:
        ramp = ykc.get("ramp") or {}
        t.section(f"YKC: {args.ykc_piles:,} piles log in (0x01) at once and are held (pile link)")
        secs = ramp.get("ramp_seconds")
        held = ramp.get("held")
        per = ykc.get("rss_per_conn")
        took = "—" if secs is None else f"{secs:.1f} s"
        print(
            f"logged in {fmt_num(held)} in {took} "
            f"({fmt_num(held / secs if held and secs else None, '/s')}), errors "
            f"{fmt_num(ramp.get('connect_errors'))} {ramp.get('connect_error_kinds') or ''}; "
            f"login p99 {fmt_ms((ramp.get('login') or {}).get('p99'))}; RSS per held "
            f"connection {'—' if per is None else f'{per:.1f}'} KiB"
        )
    print("=" * len(head))
    notes = failure_notes(results)
    if notes:
        print("failures and refusals seen by the load client:")
        for note in notes:
            print(f"  {note}")


# --- main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--piles", type=int, default=10_000, help="piles of the connection load")
    p.add_argument("--heartbeat", type=float, default=10.0, help="heartbeat interval, seconds")
    p.add_argument("--hold", type=float, default=20.0, help="seconds measured at full load")
    p.add_argument("--connect-concurrency", type=int, default=100, help="handshakes in flight")
    p.add_argument("--ramp-timeout", type=float, default=150.0, help="give up connecting after")
    p.add_argument("--close-timeout", type=float, default=60.0)
    p.add_argument("--remote-starts", type=int, default=2000, help="commands per measurement")
    p.add_argument("--remote-concurrency", type=int, default=20, help="commands in flight")
    p.add_argument(
        "--meter-piles",
        default="100,1000",
        help="piles of the meter load, one run per value (comma-separated)",
    )
    p.add_argument("--storm-piles", type=int, default=10_000, help="piles of the storm")
    p.add_argument("--storm-replays", type=int, default=100, help="storm piles replaying")
    p.add_argument("--storm-concurrency", type=int, default=1000, help="storm handshakes")
    p.add_argument("--ykc-piles", type=int, default=10_000, help="YKC piles logging in, held")
    p.add_argument(
        "--ykc-realtime-rate",
        type=float,
        default=5.0,
        help="0x13 frames a second per YKC pile of the real-time run (0 skips it)",
    )
    p.add_argument("--meter-seconds", type=float, default=15.0)
    p.add_argument("--meter-warmup", type=float, default=3.0)
    p.add_argument("--ocpp-threads", type=int, default=30, help="DB threads of the asyncio CS")
    p.add_argument(
        "--ocpp-per-event",
        action="store_true",
        help="the asyncio CS commits each meter value alone (the pile link batches them)",
    )
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument(
        "--pg-database",
        default="",
        help="database created (dropped first) on --pg-url's server; default evop_bench_<pid>",
    )
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="'' for none")
    p.add_argument("--log-level", default="INFO", help="EVOP_LOG_LEVEL of the servers")
    p.add_argument(
        "--systems", default="pile-link,ocpp", help="pile-link, ocpp, or both (comma-separated)"
    )
    p.add_argument(
        "--skip", default="", help="phases to skip: connections,meter,sqlite,storm,ykc,ykc_rt"
    )
    p.add_argument(
        "--quick", action="store_true", help="300 piles, short windows, no SQLite (~1 minute)"
    )
    p.add_argument("--keep", action="store_true", help="keep the databases and logs")
    p.add_argument(
        "--two-process",
        action="store_true",
        help="only the two-process run: --piles split over two pile-link processes on one "
        "database and Redis, commands from the HTTP side, piles moved from one to the other",
    )
    p.add_argument("--move-piles", type=int, default=100, help="piles moved per kind of move")
    p.add_argument(
        "--trace-memory",
        action="store_true",
        help="tracemalloc the YKC login storm and hold: what stays alive per connection",
    )
    p.add_argument(
        "--profile",
        default="",
        help="directory: cProfile the pile link during the ramp and the meter window, "
        "print the top functions and a meter value's waits",
    )
    args = p.parse_args()
    args.meter_runs = [int(v) for v in str(args.meter_piles).split(",") if v.strip()]
    if args.quick:
        args.piles = min(args.piles, 300)
        args.hold = min(args.hold, 4.0)
        args.heartbeat = min(args.heartbeat, 2.0)
        args.remote_starts = min(args.remote_starts, 300)
        args.meter_piles = "10"
        args.storm_piles = min(args.storm_piles, 300)
        args.storm_replays = min(args.storm_replays, 10)
        args.ykc_piles = min(args.ykc_piles, 300)
        args.meter_seconds = min(args.meter_seconds, 4.0)
        args.meter_warmup = min(args.meter_warmup, 1.0)
        args.ramp_timeout = min(args.ramp_timeout, 30.0)
        args.skip = ",".join(filter(None, [args.skip, "sqlite"]))
        args.meter_runs = [10]
    if args.two_process:
        args.skip = "connections,meter,sqlite,storm,ykc"
        args.meter_runs = []
    args.meter_piles = max(args.meter_runs) if args.meter_runs else 0
    return args


def ykc_rt_piles(args: argparse.Namespace, skip: set[str]) -> int:
    """YKC piles of the real-time data run (the meter runs' largest size), 0 when skipped."""
    if skip & {"meter", "meter_pg", "ykc_rt"} or args.ykc_realtime_rate <= 0:
        return 0
    return args.meter_piles


def check_redis(url: str) -> str:
    if not url:
        return ""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.close()
    except Exception as exc:
        print(f"Redis at {url} not reachable ({type(exc).__name__}): measuring without it")
        return ""
    return url


def cleanup_redis(url: str) -> None:
    if not url:
        return
    import redis

    client = redis.Redis.from_url(url)
    for pattern in ("evop:pile:BENCH*", "evop:pile:BMTR*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for first in range(0, len(keys), 1000):
            client.delete(*keys[first : first + 1000])
    client.close()


@contextlib.contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="evop-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"logs and SQLite database kept in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    args = parse_args()
    began = time.monotonic()
    nofile = raise_nofile()
    systems = [s.strip() for s in args.systems.split(",") if s.strip() in SYSTEMS]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.piles + 200 > nofile:
        print(f"RLIMIT_NOFILE is {nofile}: asking for {args.piles} piles may fail to open sockets")
    args.redis_url = check_redis(args.redis_url)
    db_name = args.pg_database or f"evop_bench_{os.getpid()}"
    pg_url = args.pg_url.rsplit("/", 1)[0] + f"/{db_name}"
    admin_url = pg_admin_url(args.pg_url)
    print(
        f"pile-link benchmark: {', '.join(systems)}; {args.piles:,} piles, heartbeat "
        f"{args.heartbeat:g} s, hold {args.hold:g} s; meter {args.meter_piles} piles × "
        f"{args.meter_seconds:g} s; {os.cpu_count()} CPUs; RLIMIT_NOFILE {nofile}; "
        f"Redis {'on' if args.redis_url else 'off'}",
        flush=True,
    )
    CpuWindow.database = db_name
    results: dict[str, dict[str, Any]] = {s: {} for s in systems}
    with workspace(args.keep) as work:
        sqlite_url = f"sqlite:///{work / 'bench.sqlite3'}"
        try:
            try:
                create_pg_database(admin_url, db_name)
                took = prepare_database(
                    pg_url,
                    max(args.piles, 0 if "storm" in skip else args.storm_piles),
                    args.meter_piles,
                    0 if "storm" in skip else args.storm_replays,
                    0 if "ykc" in skip else args.ykc_piles,
                    ykc_rt_piles(args, skip),
                )
                print(f"PostgreSQL database {db_name} ready in {took:.1f}s", flush=True)
            except Exception as exc:  # reported; the SQLite reference can still run
                print(f"PostgreSQL setup failed, skipping its phases: {type(exc).__name__}: {exc}")
                skip |= {"connections", "meter_pg"}
            if "sqlite" not in skip and "meter" not in skip:
                took = prepare_database(sqlite_url, 0, args.meter_piles)
                print(f"SQLite database ready in {took:.1f}s", flush=True)
            for system in systems:
                if "connections" not in skip:
                    results[system]["conn"] = connections_phase(system, args, pg_url, work)
            for system in systems:
                for n in args.meter_runs if not skip & {"meter", "meter_pg"} else []:
                    results[system][f"meter_pg_{n}"] = meter_phase(
                        system, args, pg_url, work, "PostgreSQL", n
                    )
                if system == "pile-link" and (n := ykc_rt_piles(args, skip)):
                    # after the OCPP meter runs, in the same invocation: the peer
                    results[system][f"ykc_rt_pg_{n}"] = ykc_realtime_phase(
                        args, pg_url, work, "PostgreSQL", n
                    )
            for system in systems:
                for n in args.meter_runs if not skip & {"sqlite", "meter"} else []:
                    results[system][f"meter_sqlite_{n}"] = meter_phase(
                        system, args, sqlite_url, work, "SQLite", n
                    )
            for system in systems:
                if "storm" not in skip:
                    results[system]["storm"] = storm_phase(system, args, pg_url, work)
            if "ykc" not in skip and "pile-link" in systems:
                results["pile-link"]["ykc"] = ykc_phase(args, pg_url, work)
            if args.two_process:
                from _pile_load_two_process import two_process_phase

                print("two pile-link processes, one database, one Redis:", flush=True)
                two_process_phase(args, pg_url, work, Server, LoadClient)  # prints its figures
        finally:
            if not args.keep:
                with contextlib.suppress(Exception):
                    drop_pg_database(admin_url, db_name)
            with contextlib.suppress(Exception):
                cleanup_redis(args.redis_url)
        if not args.two_process:
            print_table(results, args)
        print(f"total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
