"""Console benchmark (issue 10): the overview (概览) and the order search with 1,000,000
orders on PostgreSQL, each query's p50 / p95 beside the 300 ms ceiling, through the test
client (app, auth, scope, serialisation; no network). Printed, never asserted; not part of
``make test``.

The orders are made in the database, not in Python: one template order and bill are
written through the models, then cloned ``--orders`` times by ``INSERT … SELECT … FROM
generate_series`` with every column copied but those that make each one its own (id,
number, pile, station, operator, driver, times, energy, amounts), spread over the demo's
piles, 5,000 drivers per sub-operator and the last ~350 days (one order every 30 s).
Runs in a schema of its own (``evop_bench_console_<pid>``), dropped at the end.

    .venv/bin/python bench/bench_console.py                  # 1,000,000 orders
    .venv/bin/python bench/bench_console.py --orders 100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import psycopg
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, insert, select, text

from app.billing.models import Bill
from app.catalogue.models import Connector, Pile
from app.charging.models import ChargeOrder, OrderState
from app.demo import seed_demo
from app.extensions import db
from app.tenancy.models import Driver
from wsgi import compose

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
CEILING_MS = 300.0
DRIVERS_PER_OPERATOR = 5000
ROUNDS = 20
API = "/api/admin/v1"


def clone(table: Table, template_id: int, n: int, overrides: dict[str, str]) -> None:
    """``n`` copies of one row, the columns in ``overrides`` computed from ``g`` (1..n)."""
    columns = [c.name for c in table.columns]
    exprs = [overrides.get(c, f't."{c}"') for c in columns]
    names = ", ".join(f'"{c}"' for c in columns)
    db.session.execute(
        text(
            f"INSERT INTO {table.name} ({names}) "
            f"SELECT {', '.join(exprs)} FROM {table.name} t, generate_series(1, :n) g "
            "WHERE t.id = :tid"
        ),
        {"n": n, "tid": template_id},
    )
    db.session.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT max(id) FROM {table.name}))"
        )
    )


def seed(n: int) -> dict[str, Any]:
    """The demo, 5,000 drivers per sub-operator, ``n`` settled orders with their bills.
    Returns what the queries look for (a driver's phone, an order number, a station)."""
    seed_demo()
    db.session.commit()
    piles = db.session.scalars(select(Pile).order_by(Pile.id)).all()
    first_connector = {
        c.pile_id: c.id for c in db.session.scalars(select(Connector).order_by(Connector.id.desc()))
    }
    drivers: dict[int, int] = {}
    for op in sorted({p.operator_id for p in piles}):
        template = db.session.scalar(select(Driver).where(Driver.operator_id == op).limit(1))
        if template is None:
            template = Driver(operator_id=op, nickname="bench", phone="13900000000")
            db.session.add(template)
            db.session.flush()
        base = int(db.session.scalar(text("SELECT max(id) FROM drivers")) or 0)
        clone(
            Driver.__table__, template.id, DRIVERS_PER_OPERATOR,  # type: ignore[arg-type]
            {"id": f"{base} + g", "openid": f"'bench-{op}-' || g", "unionid": "NULL",
             "oa_openid": "NULL", "phone": f"'1{op:02d}' || lpad(g::text, 8, '0')"},
        )  # fmt: skip
        drivers[op] = base + 1
    pile = piles[0]
    now = datetime.now(UTC).replace(microsecond=0)
    db.session.execute(
        insert(ChargeOrder),
        [{"order_no": "BTEMPLATE", "operator_id": pile.operator_id, "station_id": pile.station_id,
          "pile_id": pile.id, "connector_id": first_connector[pile.id], "connector_number": 1,
          "driver_id": drivers[pile.operator_id], "start_method": "app",
          "state": OrderState.SETTLED, "requested_at": now, "started_at": now,
          "stopped_at": now, "energy_wh": 1, "stop_reason": "EVDisconnected", "total_fen": 1}],
    )  # fmt: skip
    order_id = db.session.scalar(select(ChargeOrder.id).where(ChargeOrder.order_no == "BTEMPLATE"))
    db.session.execute(
        insert(Bill),
        [{"order_id": order_id, "order_no": "BTEMPLATE", "operator_id": pile.operator_id,
          "station_id": pile.station_id, "driver_id": drivers[pile.operator_id], "energy_wh": 1,
          "electricity_fen": 1, "service_fen": 0, "total_fen": 1, "paid_fen": 1,
          "settled_at": now}],
    )  # fmt: skip
    bill_id = db.session.scalar(select(Bill.id).where(Bill.order_id == order_id))
    k = len(piles)

    def pick(values: list[int | None]) -> str:
        return f"(ARRAY[{','.join(map(str, values))}])[1 + g % {k}]"

    driver_expr = (
        f"({pick([drivers[p.operator_id] for p in piles])} + (g / {k}) % {DRIVERS_PER_OPERATOR})"
    )
    # ids grow with time, as they do: the newest order has the highest id
    started = f"(TIMESTAMPTZ '{now.isoformat()}' - ({n} - g) * INTERVAL '30 seconds')"
    first = int(order_id or 0)
    wh = "(10000 + g % 30000)"
    # the platform's own format (app.charging.orders.new_order_no): 'C', local time, 6 digits
    number = (f"'C' || to_char({started} AT TIME ZONE 'Asia/Shanghai', 'YYMMDDHH24MISS') "
              "|| lpad((g % 1000000)::text, 6, '0')")  # fmt: skip
    clone(
        ChargeOrder.__table__, first, n,  # type: ignore[arg-type]
        {"id": f"{first} + g", "order_no": number,
         "pile_id": pick([p.id for p in piles]), "station_id": pick([p.station_id for p in piles]),
         "operator_id": pick([p.operator_id for p in piles]),
         "connector_id": pick([first_connector[p.id] for p in piles]),
         "driver_id": driver_expr, "pile_session_ref": "g::text", "client_request_id": "NULL",
         "requested_at": started, "started_at": started, "created_at": started,
         "updated_at": started, "stopped_at": f"{started} + INTERVAL '40 minutes'",
         "energy_wh": wh, "total_fen": f"{wh} * 11 / 100"},
    )  # fmt: skip
    clone(
        Bill.__table__, int(bill_id or 0), n,  # type: ignore[arg-type]
        {"id": f"{bill_id} + g", "order_id": f"{first} + g",
         "order_no": number,
         "operator_id": pick([p.operator_id for p in piles]),
         "station_id": pick([p.station_id for p in piles]), "driver_id": driver_expr,
         "energy_wh": wh, "electricity_fen": f"{wh} * 6 / 100", "service_fen": f"{wh} * 5 / 100",
         "total_fen": f"{wh} * 11 / 100", "paid_fen": f"{wh} * 11 / 100",
         "settled_at": f"{started} + INTERVAL '41 minutes'", "created_at": started},
    )  # fmt: skip
    db.session.commit()
    # what autovacuum has done to a table in production: statistics and the visibility map
    # (counts by index only); VACUUM cannot run inside a transaction
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    yc = piles[0].operator_id
    return {
        "phone": f"1{yc:02d}00001234",
        "order_no": db.session.scalar(
            select(ChargeOrder.order_no).where(ChargeOrder.id == first + n // 2)
        ),
        "station_id": piles[0].station_id,
    }


def login(client: FlaskClient, username: str, password: str) -> dict[str, str]:
    resp = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}


def timed(call: Callable[[], Any]) -> tuple[float, float, float]:
    """(p50, p95, max) in ms over ``ROUNDS`` calls, after one warm-up."""
    call()
    samples = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], samples[-1]


def run(app: Flask, n: int) -> None:
    with app.app_context():
        began = time.perf_counter()
        found = seed(n)
        print(f"  seeded {n:,} orders and bills in {time.perf_counter() - began:.1f} s")
        client = app.test_client()
        platform = login(client, "admin", "admin123")
        yc = login(client, "yc_admin", "yc123456")
        since = quote((datetime.now(UTC) - timedelta(days=7)).isoformat())

        def get(path: str, headers: dict[str, str]) -> Callable[[], Any]:
            def call() -> Any:
                resp = client.get(path, headers=headers)
                assert resp.status_code == 200, (path, resp.get_json())
                db.session.remove()

            return call

        queries = [
            ("概览, platform admin", get(f"{API}/dashboard", platform)),
            ("概览, sub-operator admin", get(f"{API}/dashboard", yc)),
            ("orders, first page", get(f"{API}/orders", yc)),
            ("orders, by driver phone", get(f"{API}/orders?phone={found['phone']}", yc)),
            ("orders, by whole order number",
             get(f"{API}/orders?order_no={found['order_no']}", yc)),
            ("orders, by part of a number (7)",
             get(f"{API}/orders?order_no={found['order_no'][-7:]}", yc)),
            ("orders, station + state + 7 days",
             get(f"{API}/orders?station_id={found['station_id']}&state=settled&since={since}", yc)),
            ("orders, page 500 (offset 9,980)", get(f"{API}/orders?page=500", yc)),
        ]  # fmt: skip
        print(f"    {'query':<36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'ceiling':>8}")
        for label, call in queries:
            p50, p95, worst = timed(call)
            flag = "" if p95 < CEILING_MS else "  over"
            print(f"    {label:<36} {p50:>8.1f} {p95:>8.1f} {worst:>8.1f} "
                  f"{CEILING_MS:>8.0f}{flag}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args()
    print("console benchmark (printed, never asserted)")
    url = os.environ.get("EVOP_BENCH_DATABASE_URL", DEFAULT_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"  PostgreSQL at {url} does not answer ({exc.__class__.__name__}): skipped")
        return
    schema = f"evop_bench_console_{os.getpid()}"
    app = compose({
        "LOG_LEVEL": "WARNING", "SCHEDULER_ENABLED": False, "DATABASE_URL": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
    })  # fmt: skip
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db.create_all()
    try:
        run(app, args.orders)
    finally:
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            db.engine.dispose()


if __name__ == "__main__":
    main()
