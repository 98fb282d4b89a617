"""Export benchmark (issue 10): the order export of 100,000 orders, timed through the
test client, with the process's peak RSS growth during the export. Beside each figure its
ceiling (100,000 rows < 20 s, RSS growth < 100 MiB) and a peer measured in the same run:
the very same rows (query, names, bills) iterated without writing the workbook.
Printed, never asserted; not part of ``make test``.

Runs on SQLite (a file in a temporary folder) and on PostgreSQL when
``EVOP_BENCH_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
answers, in a schema of its own (``evop_bench_export_<pid>``) dropped at the end.

Run from the project root::

    .venv/bin/python bench/bench_export.py            # 100,000 orders
    .venv/bin/python bench/bench_export.py --orders 10000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import psycopg
from flask import Flask
from sqlalchemy import insert, select, text

from app.billing import order_export
from app.billing.models import Bill
from app.catalogue.models import Pile
from app.charging.models import ChargeOrder, OrderState
from app.demo import seed_demo
from app.extensions import db
from app.tenancy.admin_auth import actor_for_user
from app.tenancy.models import AdminUser, Driver
from app.tenancy.scope import Actor
from wsgi import compose

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SECONDS_CEILING = 20.0
RSS_CEILING_MIB = 100.0
CHUNK = 5000


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    return 0.0  # pragma: no cover - not Linux


def measured(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """Seconds, peak RSS growth (MiB, sampled every 10 ms) and what ``work`` returned."""
    base = rss_mib()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib())
            time.sleep(0.01)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    began = time.perf_counter()
    try:
        result = work()
    finally:
        seconds = time.perf_counter() - began
        done.set()
        watcher.join()
    peak[0] = max(peak[0], rss_mib())
    return seconds, peak[0] - base, result


def seed(n: int) -> None:
    """The demo, then ``n`` settled orders with their bills at yc's first pile, inserted
    in chunks of ``CHUNK`` rows (executemany, the models' defaults for the rest)."""
    seed_demo()
    db.session.commit()
    pile = db.session.scalars(select(Pile).order_by(Pile.id)).first()
    assert pile is not None
    driver = db.session.scalar(select(Driver).where(Driver.operator_id == pile.operator_id))
    driver_id = driver.id if driver else None
    start = datetime(2026, 11, 1, tzinfo=UTC)
    first = int(db.session.scalar(text("SELECT coalesce(max(id), 0) FROM charge_orders")) or 0)
    for lo in range(0, n, CHUNK):
        ids = range(first + lo + 1, first + min(n, lo + CHUNK) + 1)
        orders, bills = [], []
        for i in ids:
            at = start + timedelta(minutes=i)
            wh = 10_000 + i % 30_000
            orders.append({
                "id": i, "order_no": f"B{i:015d}", "operator_id": pile.operator_id,
                "station_id": pile.station_id, "pile_id": pile.id, "connector_number": 1,
                "driver_id": driver_id, "start_method": "app", "state": OrderState.SETTLED,
                "requested_at": at, "started_at": at, "stopped_at": at + timedelta(minutes=40),
                "energy_wh": wh, "stop_reason": "EVDisconnected", "total_fen": wh // 10,
            })  # fmt: skip
            bills.append({
                "order_id": i, "order_no": f"B{i:015d}", "operator_id": pile.operator_id,
                "station_id": pile.station_id, "driver_id": driver_id, "energy_wh": wh,
                "electricity_fen": wh * 6 // 100, "service_fen": wh * 5 // 100,
                "total_fen": wh * 11 // 100, "paid_fen": wh * 11 // 100,
            })  # fmt: skip
        db.session.execute(insert(ChargeOrder), orders)
        db.session.execute(insert(Bill), bills)
        db.session.commit()


def run(app: Flask, n: int, label: str) -> None:
    with app.app_context():
        began = time.perf_counter()
        seed(n)
        print(f"  {label}: seeded {n:,} orders and bills in {time.perf_counter() - began:.1f} s")
        client = app.test_client()
        resp = client.post("/api/admin/v1/auth/login",
                           json={"username": "yc_admin", "password": "yc123456"})  # fmt: skip
        assert resp.status_code == 200, resp.get_json()
        headers = {"Authorization": f"Bearer {resp.get_json()['access_token']}"}
        admin = db.session.scalar(select(AdminUser).where(AdminUser.username == "yc_admin"))
        assert admin is not None
        db.session.remove()

        def peer() -> int:
            actor: Actor = actor_for_user(admin)
            count = sum(1 for _ in order_export.order_rows(actor))
            db.session.remove()
            return count

        def export() -> tuple[int, int, str]:
            r = client.get("/api/admin/v1/orders/export", headers=headers)
            return r.status_code, len(r.data), r.headers.get("X-Export-Rows", "")

        p_s, p_rss, p_rows = measured(peer)
        e_s, e_rss, (status, size, rows) = measured(export)
        print(f"  {label}: export HTTP {status}, {rows} rows, {size / 2**20:.1f} MiB xlsx")
        print(f"    {'':<34} {'seconds':>9} {'ceiling':>8}   {'RSS growth':>10} {'ceiling':>8}")
        print(f"    {'export (GET /orders/export)':<34} {e_s:>9.2f} {SECONDS_CEILING:>8.0f}   "
              f"{e_rss:>6.1f} MiB {RSS_CEILING_MIB:>4.0f} MiB")  # fmt: skip
        print(f"    {f'peer: same rows iterated ({p_rows:,})':<34} {p_s:>9.2f} {'':>8}   "
              f"{p_rss:>6.1f} MiB")  # fmt: skip
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    print("export benchmark (printed, never asserted)")
    base = {"LOG_LEVEL": "WARNING", "SCHEDULER_ENABLED": False}
    with tempfile.TemporaryDirectory() as tmp:
        app = compose({**base, "DATABASE_URL": f"sqlite:///{tmp}/bench.db"})
        with app.app_context():
            db.create_all()
        run(app, args.orders, "SQLite")
        with app.app_context():
            db.engine.dispose()
    url = os.environ.get("EVOP_BENCH_DATABASE_URL", DEFAULT_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"  PostgreSQL at {url} does not answer ({exc.__class__.__name__}): skipped")
        return
    schema = f"evop_bench_export_{os.getpid()}"
    app = compose({
        **base, "DATABASE_URL": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
    })  # fmt: skip
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db.create_all()
    try:
        run(app, args.orders, "PostgreSQL")
    finally:
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            db.engine.dispose()


if __name__ == "__main__":
    main()
