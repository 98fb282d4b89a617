"""Drivers' API benchmark (issue 5): nearby stations over 10,000 stations and live-order
polling, against the production server (``gunicorn -k gevent -w 2 wsgi:app``) on loopback.
Printed, never asserted.

Needs PostgreSQL: ``EVOP_BENCH_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``. A database of its own
(``evop_bench_mp_<pid>``) is created, seeded (the demo data, then 10,000 stations around
Shenzhen/Guangzhou with a pile and two connectors each, the demo tariff, the demo driver
charging with meter samples, and a fleet of ``--orders`` drivers each charging on a pile of
their own with 30 samples so far) and dropped at the end. The load comes from wrk (one
thread, ``bench/_drivers_api_load.lua``) when installed, else from
``bench/_drivers_api_load.py`` (asyncio, raw sockets), HTTP/1.1 keep-alive, closed loop, at
each of the ``--concurrency`` connection counts.

Polling is measured twice: the fleet, each request for the next driver's own order in turn,
while a feeder moves the orders' meters on (new sample row, order updated, as the pile link
does) so that each order gets a new sample every ``--polls-per-sample`` polls of it (6: a
driver polling every 5 s, a pile sampling every 30 s; the rate is set from the warm-up's
requests/s), so cached bill estimates go stale at a realistic pace; and one order polled by
every connection (the best case).

Run from the project root::

    .venv/bin/python bench/bench_drivers_api.py            # 20 s per endpoint
    .venv/bin/python bench/bench_drivers_api.py --quick    # 5 s per endpoint, < 1 minute
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import psycopg
from psycopg import sql
from sqlalchemy import select, text

from app.catalogue.models import Connector, Pile, Station
from app.charging import commands
from app.charging.commands import COMMAND_PORT
from app.charging.models import ChargeOrder
from app.charging.port import (
    CommandOutcome,
    CommandResult,
    MeterSample,
    PileConnected,
    SessionStarted,
)
from app.db import utcnow
from app.demo import demo_driver, seed_demo
from app.drivers import driver_auth, driver_orders, live
from app.extensions import db
from app.ledger import wallet
from app.state import state_of
from app.tenancy.models import Driver
from bench.bench_money import bulk
from miniprogram_api.schemas import orders as mp_orders
from tests.support.ports import pile_events
from wsgi import compose

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-key-that-is-long-enough-0123456789abcdef"
STATIONS = 10_000
# Shenzhen and Guangzhou: (lat, lng) box of each city's built-up area
BOXES = ((22.48, 22.78, 113.78, 114.32), (22.98, 23.30, 113.18, 113.50))
NEARBY_AT = (22.5431, 114.0579)  # Futian, Shenzhen
OCPP = "DEMO-OCPP-01"


@dataclass
class Seeded:
    token: str
    order_no: str
    stations: int
    fleet: list[tuple[str, str]]  # (order number, its driver's token)
    live_bytes: int  # the size of a fleet order's live body (the ceiling answers as many)


class _AcceptingPort(commands.NoPileLink):
    """The pile accepts every command (no pile link in the seeding process)."""

    def is_online(self, pile_code: str) -> bool:
        return True

    def remote_start(self, pile_code: str, connector_number: int, id_tag: str, **kw: Any) -> Any:
        return CommandResult(CommandOutcome.ACCEPTED)


def _database_url(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _seed(url: str, fleet_size: int) -> Seeded:
    app = compose(
        {"DATABASE_URL": url, "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING"}
        | {"SCHEDULER_ENABLED": False, "PILE_LINK_ENABLED": False}
    )
    with app.app_context():
        db.create_all()
        seed_demo()
        driver = demo_driver()
        assert driver is not None
        demo_station = db.session.scalar(select(Station).order_by(Station.id).limit(1))
        assert demo_station is not None
        began = time.perf_counter()
        db.session.execute(text("SELECT setseed(0.42)"))
        half = STATIONS // 2
        first = int(db.session.scalar(text("SELECT max(id) FROM stations")) or 0) + 1
        for i, (lat0, lat1, lng0, lng1) in enumerate(BOXES):
            city = ("深圳", "广州")[i]
            bulk(Station.__table__, half, {  # type: ignore[arg-type]
                "operator_id": str(demo_station.operator_id),
                "name": f"'基准·{city} ' || g", "city": f"'{city}'",
                "latitude": f"round(({lat0} + random() * {lat1 - lat0})::numeric, 6)",
                "longitude": f"round(({lng0} + random() * {lng1 - lng0})::numeric, 6)",
                "tariff_id": str(demo_station.tariff_id),
            })  # fmt: skip
        first_pile = int(db.session.scalar(text("SELECT max(id) FROM piles")) or 0) + 1
        bulk(Pile.__table__, STATIONS, {  # type: ignore[arg-type]
            "code": "'BENCH' || lpad(g::text, 6, '0')",
            "operator_id": str(demo_station.operator_id), "station_id": f"{first} + g - 1",
            "protocol": "'ocpp16'", "online": "g % 5 <> 0", "last_seen_at": "now()",
            "current_type": "CASE WHEN g % 3 = 0 THEN 'DC' ELSE 'AC' END",
        })  # fmt: skip
        bulk(Connector.__table__, STATIONS * 2, {  # type: ignore[arg-type]
            "pile_id": f"{first_pile} + (g - 1) / 2", "number": "1 + (g - 1) % 2",
            "qr_payload": "'BENCHQR' || g",
            "status": "CASE WHEN g % 4 = 0 THEN 'charging' ELSE 'available' END",
        })  # fmt: skip
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        seeded_in = time.perf_counter() - began

        # the demo driver charging on the demo OCPP pile, with meter samples
        wallet.post_entry(driver.id, 50_00, "manual_credit", idempotency_key="bench:fund")
        db.session.commit()
        state_of(app)[COMMAND_PORT] = _AcceptingPort()
        pile = db.session.scalar(select(Pile).where(Pile.code == OCPP))
        assert pile is not None
        started = driver_orders.start(driver, pile.connectors[0].id, "bench-start-0001")
        db.session.commit()
        order_no = started.order.order.order_no
        svc = pile_events(app)
        t0 = utcnow() - timedelta(minutes=30)
        svc.handle(PileConnected(OCPP, "ocpp16", t0 - timedelta(minutes=1)))
        reply = svc.handle(
            SessionStarted(OCPP, 1, t0, meter_start_wh=1_000_000, id_tag=order_no,
                           initiated_by="remote")
        )  # fmt: skip
        for minute in range(1, 30):
            svc.handle(
                MeterSample(OCPP, 1, t0 + timedelta(minutes=minute), reply.session_ref,
                            energy_wh=1_000_000 + minute * 115, power_w=7000,
                            soc_percent=40 + minute)
            )  # fmt: skip
        db.session.expire_all()
        state = live.live(driver, order_no).order.state
        total = int(db.session.scalar(text("SELECT count(*) FROM stations")) or 0)
        token = driver_auth.issue_token(driver)
        fleet = _seed_fleet(fleet_size, demo_station, first_pile)
        fleet_order = db.session.scalar(
            select(ChargeOrder).where(ChargeOrder.order_no == fleet[0][0])
        )
        assert fleet_order is not None
        live_bytes = len(app.json.dumps(
            mp_orders.dump_live_order(live.live(fleet_order.driver_id, fleet_order.order_no))
        ).encode())  # fmt: skip
        print(
            f"  seeded {total:,} stations, {STATIONS:,} piles, {2 * STATIONS:,} connectors "
            f"in {seeded_in:.1f} s; order {order_no} ({state}); {len(fleet):,} drivers charging",
            flush=True,
        )
        db.session.remove()
        db.engine.dispose()
    return Seeded(token, order_no, total, fleet, live_bytes)


FLEET_SAMPLES = 30  # one a minute so far


def _seed_fleet(n: int, demo_station: Station, first_pile: int) -> list[tuple[str, str]]:
    """``n`` drivers of the demo operator, each charging on connector 1 of a bench pile of
    its own for 30 minutes with a sample a minute; their order numbers and tokens."""
    assert n <= STATIONS, "one bench pile per fleet order"
    tariff = demo_station.tariff
    assert tariff is not None and tariff.current_version_id is not None
    op = str(demo_station.operator_id)
    first_driver = int(db.session.scalar(text("SELECT max(id) FROM drivers")) or 0) + 1
    bulk(Driver.__table__, n, {  # type: ignore[arg-type]
        "operator_id": op, "openid": "'bench-fleet-' || g", "nickname": "'车主' || g",
    })  # fmt: skip
    bulk(ChargeOrder.__table__, n, {  # type: ignore[arg-type]
        "order_no": "'BF' || lpad(g::text, 8, '0')", "operator_id": op,
        "station_id": f"(SELECT station_id FROM piles WHERE id = {first_pile} + g - 1)",
        "pile_id": f"{first_pile} + g - 1",
        "connector_id": f"(SELECT id FROM connectors WHERE pile_id = {first_pile} + g - 1 "
                        "AND number = 1)",
        "connector_number": "1", "driver_id": f"{first_driver} + g - 1",
        "start_method": "'remote'", "state": "'charging'", "pile_session_ref": "'bf' || g",
        "tariff_version_id": str(tariff.current_version_id), "meter_start_wh": "0",
        "energy_wh": f"{FLEET_SAMPLES * 115}", "last_meter_wh": f"{FLEET_SAMPLES * 115}",
        "last_meter_at": "now() - interval '30 seconds'", "power_w": "7000",
        "soc_percent": "60", "requested_at": "now() - interval '31 minutes'",
        "started_at": f"now() - interval '{FLEET_SAMPLES} minutes 30 seconds'",
    })  # fmt: skip
    db.session.execute(text(f"""
        INSERT INTO meter_samples (order_id, at, energy_wh, power_w, soc_percent)
        SELECT o.id, o.started_at + k * interval '1 minute', k * 115, 7000, 30 + k
        FROM charge_orders o, generate_series(1, {FLEET_SAMPLES}) AS k
        WHERE o.order_no LIKE 'BF%'
    """))  # fmt: skip
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    rows = db.session.execute(
        select(
            ChargeOrder.order_no, ChargeOrder.driver_id, Driver.operator_id, Driver.token_version
        )
        .join(Driver, Driver.id == ChargeOrder.driver_id)
        .where(ChargeOrder.order_no.like("BF%"))
        .order_by(ChargeOrder.id)
    ).all()
    return [
        (
            no,
            driver_auth.issue_token(
                SimpleNamespace(  # type: ignore[arg-type]
                    id=d, operator_id=o, token_version=v, disabled_at=None
                )
            ),
        )
        for no, d, o, v in rows
    ]


class MeterFeeder(threading.Thread):
    """Moves ``per_second`` fleet orders' meters on each second, in turn: a new sample row
    and the order's reading, time and power, as the pile link writes them."""

    def __init__(self, url: str, order_nos: list[str], per_second: float) -> None:
        super().__init__(daemon=True)
        self.url, self.order_nos, self.per_second = url, order_nos, per_second
        self.stop = threading.Event()
        self.updated = 0

    def run(self) -> None:
        tick, due, at = 0.2, 0.0, 0
        per_tick = self.per_second * tick
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(tick):
                due += per_tick
                k, due = int(due), due - int(due)
                if not k:
                    continue
                batch = [self.order_nos[(at + j) % len(self.order_nos)] for j in range(k)]
                at += k
                with conn.transaction():
                    conn.execute(
                        "UPDATE charge_orders SET energy_wh = energy_wh + 29, "
                        "last_meter_wh = energy_wh + 29, last_meter_at = now(), "
                        "power_w = 6900 + (energy_wh %% 200), updated_at = now() "
                        "WHERE order_no = ANY(%s)", [batch],
                    )  # fmt: skip
                    conn.execute(
                        "INSERT INTO meter_samples (order_id, at, energy_wh, power_w) "
                        "SELECT id, now(), energy_wh, power_w FROM charge_orders "
                        "WHERE order_no = ANY(%s)", [batch],
                    )  # fmt: skip
                self.updated += k


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(
    url: str, port: int, workers: int, *, redis_url: str, ceiling_bytes: int,
    profile_dir: str | None = None,
) -> subprocess.Popen[bytes]:  # fmt: skip
    env = os.environ | {
        "EVOP_DATABASE_URL": url, "EVOP_SECRET_KEY": SECRET, "EVOP_LOG_LEVEL": "WARNING",
        "EVOP_SCHEDULER_ENABLED": "false", "EVOP_PILE_LINK_ENABLED": "false",
        "EVOP_REDIS_URL": redis_url,
        "EVOP_BENCH_CEILING": "true", "EVOP_BENCH_CEILING_BYTES": str(ceiling_bytes),
    }  # fmt: skip
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    cmd = [gunicorn, "-k", "gevent", "-w", str(workers), "-b", f"127.0.0.1:{port}",
           "--worker-connections", "1000", "--log-level", "warning"]  # fmt: skip
    if profile_dir:
        env["EVOP_BENCH_PROFILE_DIR"] = profile_dir
        cmd += ["-c", str(Path(__file__).with_name("_drivers_api_profile.py"))]
    cmd.append("wsgi:app")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    _stop_server(proc)
    raise RuntimeError("gunicorn did not listen within 30 s")


def _wait_for_workers(port: int, token: str, workers: int, timeout: float = 180) -> None:
    """Until every worker has booted (each answers the ceiling with its pid): the master
    listens at once, and a worker building the application (seconds of CPU on a busy
    machine) would otherwise be measured as a stall of the route under test."""
    import http.client

    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(seen)} of {workers} workers answered in {timeout} s")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/api/mp/v1/bench/ceiling",
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                seen.add(resp.headers.get("X-Bench-Worker", ""))
        except OSError:
            time.sleep(0.2)
        finally:
            conn.close()


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _load(
    port: int, targets: list[tuple[str, str]], seconds: float, concurrency: int,
    max_requests: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Requests go to the (path, token) targets in turn. With ``wrk`` installed (``make
    bench`` installs it when run as root) the load comes from wrk, one thread: it costs the
    shared CPUs far less than the Python client, which is the fallback and is also used
    for runs limited to a number of requests."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        f.writelines(f"{path}\t{token}\n" for path, token in targets)
    wrk = shutil.which("wrk")
    if wrk and not max_requests:
        cmd = [wrk, "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s",
               "-s", str(Path(__file__).with_name("_drivers_api_load.lua")),
               f"http://127.0.0.1:{port}", "--", f.name]  # fmt: skip
    else:
        cmd = [sys.executable, str(Path(__file__).with_name("_drivers_api_load.py")),
               "--port", str(port), "--targets", f.name,
               "--seconds", str(seconds), "--concurrency", str(concurrency),
               "--max-requests", str(max_requests)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    os.unlink(f.name)
    if out.returncode != 0:
        raise RuntimeError(f"load client failed: {out.stderr.strip()[-500:]}")
    line = next(x for x in reversed(out.stdout.splitlines()) if x.startswith("{"))
    result: dict[str, Any] = json.loads(line)
    return result


def load_client() -> str:
    return "wrk (1 thread)" if shutil.which("wrk") else "Python asyncio client"


WORKERS: list[int] = []  # the gunicorn workers' pids (their CPU time per request)


def _workers_cpu() -> float:
    """CPU seconds the workers have used so far (user + system)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in WORKERS:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _measured(
    port: int, targets: list[tuple[str, str]], seconds: float, concurrency: int
) -> dict[str, Any]:
    """A load, with the workers' CPU time per answered request: on a machine shared with
    other work the requests/s move with the neighbours, the CPU a request costs far less."""
    before = _workers_cpu()
    result = _load(port, targets, seconds, concurrency)
    result["cpu_ms"] = (_workers_cpu() - before) * 1000 / max(result["requests"], 1)
    return result


def _line(name: str, r: dict[str, Any], ceiling: dict[str, Any] | None = None) -> None:
    statuses = ", ".join(f"{k}×{v}" for k, v in sorted(r["statuses"].items()))
    share = f"{r['rps'] / ceiling['rps']:>5.0%} of ceiling" if ceiling else f"{'ceiling':>16}"
    cpu = r.get("cpu_ms", 0.0)
    cpu_share = f" ({ceiling.get('cpu_ms', 0) / cpu:>4.0%})" if ceiling and cpu else "       "
    print(
        f"  {name:<44} {r['rps']:>6.0f} req/s {share}  CPU {cpu:>5.2f} ms/req{cpu_share}  "
        f"p50 {r['p50_ms']:>6.1f} ms  "
        f"p99 {r['p99_ms']:>6.1f} ms  max {r['max_ms']:>6.1f} ms  "
        f"errors {r['errors']}  [{statuses}]",
        flush=True,
    )


class Profiler:
    """``--profile DIR``: a cProfile of each gunicorn worker over each case's measured load
    (bench/_drivers_api_profile.py), its top printed and written to ``DIR``."""

    def __init__(self, folder: str | None, proc: subprocess.Popen[bytes] | None = None) -> None:
        self.folder = folder
        self.proc = proc

    def _workers(self) -> list[int]:
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def start(self, label: str) -> None:
        if not self.folder:
            return
        slug = "".join(c if c.isalnum() else "-" for c in label).strip("-")
        Path(self.folder, "label").write_text(slug)
        self.slug = slug
        for pid in self._workers():
            os.kill(pid, signal.SIGRTMIN + 1)

    def stop(self) -> None:
        if not self.folder:
            return
        workers = self._workers()
        for pid in workers:
            os.kill(pid, signal.SIGRTMIN + 1)
        done = [Path(self.folder, f"{self.slug}-{pid}.done") for pid in workers]
        deadline = time.monotonic() + 30
        while not all(d.exists() for d in done) and time.monotonic() < deadline:
            time.sleep(0.1)
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(*(str(d.with_suffix(".prof")) for d in done), stream=out)
        stats.sort_stats("tottime").print_stats(25)
        Path(self.folder, f"{self.slug}.txt").write_text(out.getvalue())
        print(f"  {'':<44} profile: {self.folder}/{self.slug}.txt", flush=True)


def _case(
    port: int, db_url: str, seeded: Seeded, label: str, targets: list[tuple[str, str]],
    seconds: float, connections: int, args: argparse.Namespace, ceiling: dict[str, Any],
    profiler: Profiler,
) -> dict[str, Any]:  # fmt: skip
    feeder = None
    if len(targets) > 1:
        # the rate this load reaches, so that the feeder keeps its polls per sample
        calibrated = _load(port, targets, 2.0, connections)
        rate = calibrated["rps"] / args.polls_per_sample
        feeder = MeterFeeder(db_url, [no for no, _ in seeded.fleet], rate)
        feeder.start()
    profiler.start(f"{label}-{connections}")
    opened = _sessions_opened(db_url)
    result = _measured(port, targets, seconds, connections)
    opened = _sessions_opened(db_url) - opened
    profiler.stop()
    _line(f"{label}, {connections} conn.", result, ceiling)
    # a pool too small for the requests in flight opens a connection for the excess ones
    # (connect, ping, no prepared statements): counted by PostgreSQL itself
    print(f"  {'':<44} {opened} database connections opened during the load", flush=True)
    if feeder is not None:
        feeder.stop.set()
        feeder.join()
        print(f"  {'':<44} {result['requests'] / max(feeder.updated, 1):.1f} polls per meter "
              f"sample ({feeder.updated:,} samples fed); each order polled every "
              f"{len(targets) / max(result['rps'], 1):.1f} s", flush=True)  # fmt: skip
    return result


def _sessions_opened(db_url: str) -> int:
    """Sessions PostgreSQL has established to the benchmark's database so far (this one's
    own included: the difference of two readings counts the server's, plus one)."""
    name = db_url.rpartition("/")[2]
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_stat_force_next_flush(), sessions FROM pg_stat_database "
            "WHERE datname = %s", [name],
        ).fetchone()  # fmt: skip
    return int(row[1]) - 1 if row else 0


def _fresh_redis(url: str) -> None:
    """The benchmark's Redis database starts empty (a previous run's driver sessions and
    estimates name other databases' rows): ``--redis-url`` must be a database of its own."""
    import redis

    redis.Redis.from_url(url).flushdb()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="5 s per endpoint (< 1 minute)")
    parser.add_argument("--seconds", type=float, help="load duration per endpoint")
    parser.add_argument("--concurrency", default="16,32",
                        help="keep-alive connections, a comma-separated list: every case runs "
                             "at each (closed loop: latency grows with the connections once the "
                             "2 CPUs are saturated)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--orders", type=int, help="drivers charging (fleet): 5,000; quick 300")
    parser.add_argument("--polls-per-sample", type=float, default=6.0,
                        help="polls of an order between two of its meter samples")  # fmt: skip
    parser.add_argument("--redis-url", default=os.environ.get(
                            "EVOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"),
                        help="the workers' shared Redis (EVOP_REDIS_URL), a database of the "
                             "benchmark's own: it is emptied first")  # fmt: skip
    parser.add_argument("--cases", default="", help="only the cases whose label has one of "
                        "these comma-separated words (the ceiling always runs)")  # fmt: skip
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="cProfile each worker over each case's measured load into DIR",
    )
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    args.orders = args.orders or (300 if args.quick else 5000)
    url = os.environ.get("EVOP_BENCH_DATABASE_URL", DEFAULT_URL)
    print("drivers' API benchmark (printed, never asserted)")
    print(f"  {os.cpu_count()} CPU(s) shared by server and load client; "
          f"gunicorn -k gevent -w {args.workers}, Redis {args.redis_url}; "
          f"load from {load_client()}, {args.concurrency} connections; "
          f"{seconds:g} s per endpoint")  # fmt: skip
    try:
        admin = psycopg.connect(url, connect_timeout=3, autocommit=True)
    except psycopg.Error as exc:
        print(f"  PostgreSQL at {url} does not answer ({exc.__class__.__name__}): skipped")
        return
    name = f"evop_bench_mp_{os.getpid()}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = _database_url(url, name)
    proc: subprocess.Popen[bytes] | None = None
    try:
        _fresh_redis(args.redis_url)
        seeded = _seed(db_url, args.orders)
        port = _free_port()
        if args.profile:
            os.makedirs(args.profile, exist_ok=True)
        proc = _start_server(db_url, port, args.workers, redis_url=args.redis_url,
                             ceiling_bytes=seeded.live_bytes, profile_dir=args.profile)  # fmt: skip
        _wait_for_workers(port, seeded.token, args.workers)
        WORKERS[:] = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
                      .read_text().split()]  # fmt: skip
        profiler = Profiler(args.profile, proc)
        lat, lng = NEARBY_AT
        token = seeded.token
        ceiling_label = f"ceiling (token check, {seeded.live_bytes} B constant)"
        ceiling_targets = [("/api/mp/v1/bench/ceiling", t) for _, t in seeded.fleet]
        cases: list[tuple[str, list[tuple[str, str]]]] = [
            ("nearby, 5 km, page of 20",
             [(f"/api/mp/v1/stations?lat={lat}&lng={lng}&radius_m=5000", token)]),
            ("nearby, 20 km, free DC only",
             [(f"/api/mp/v1/stations?lat={lat}&lng={lng}&radius_m=20000"
               "&free_only=true&current_type=DC", token)]),
            (f"live polling, {len(seeded.fleet):,} drivers' own",
             [(f"/api/mp/v1/orders/{no}/live", t) for no, t in seeded.fleet]),
            ("live polling, one order (best case)",
             [(f"/api/mp/v1/orders/{seeded.order_no}/live", token)]),
        ]  # fmt: skip
        if args.cases:
            words = [w.strip() for w in args.cases.split(",") if w.strip()]
            cases = [c for c in cases if any(w in c[0] for w in words)]
        print(f"  PostgreSQL, database {name}, server on 127.0.0.1:{port}")
        levels = [int(c) for c in str(args.concurrency).split(",")]
        # the ceiling, on every fleet driver's token in turn (the token check as polling's)
        _load(port, ceiling_targets, 2.0, max(levels))
        # every driver's session state once in the shared cache, as polling's warm-up does:
        # a first request of a token reads it from the database (the ceiling measured 2.7
        # ms of CPU a request cold, 1.3 ms warm)
        _load(port, ceiling_targets, 300, max(levels), len(ceiling_targets))
        for label, targets in cases:
            # warm-up on every connection: both workers answer some (each builds its caches)
            _load(port, targets[:50], 2.0, max(levels))
            if len(targets) > 1:  # every driver has polled a few times: the steady state
                _load(port, targets, 300, max(levels), 4 * len(targets))
            for level in levels:
                # the ceiling again just before: the neighbours move it by a factor of 2-4
                # within one run, so the share that holds is the one of the adjacent ceiling
                beside = _measured(port, ceiling_targets, seconds, level)
                _line(f"{ceiling_label}, {level} conn.", beside)
                _case(port, db_url, seeded, label, targets, seconds, level, args,
                      beside, profiler)  # fmt: skip
        for level in levels:  # again: the machine is shared, the ceiling may have moved
            _line(f"{ceiling_label} again, {level} conn.",
                  _measured(port, ceiling_targets, seconds, level))  # fmt: skip
    finally:
        if proc is not None:
            _stop_server(proc)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))  # fmt: skip
        admin.close()


if __name__ == "__main__":
    main()
