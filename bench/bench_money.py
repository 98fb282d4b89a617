"""Money benchmarks (issue 4): bills settled per second, coupon expiry over 1,000,000
coupons, occupancy accrual over 100,000 open orders, the balance guard over charging orders.
Printed, never asserted.

Needs PostgreSQL (set-based statements are what is measured): ``EVOP_BENCH_DATABASE_URL``,
default ``postgresql://postgres@127.0.0.1:5432/test``. Everything lives in a schema of its
own (``evop_bench_money_<pid>``) that is dropped at the end. Without PostgreSQL only the
pure pricing engine is measured.

Run from the project root::

    .venv/bin/python bench/bench_money.py            # full sizes (a few minutes)
    .venv/bin/python bench/bench_money.py --quick    # a tenth of the sizes
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import psycopg
from flask import Flask
from sqlalchemy import Table, select, text

from app import create_app, pricing
from app.billing import (
    balance_guard,
    occupancy_charges,
    settlement,
)
from app.billing.models import OccupancySession
from app.catalogue.models import Connector, Pile, Station, Tariff, TariffSegment, TariffVersion
from app.charging.models import ChargeOrder, MeterSampleRecord
from app.extensions import db
from app.ledger.models import Wallet
from app.promotions import coupons
from app.promotions.models import Coupon, CouponTemplate
from app.tenancy.models import Driver, Operator

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
GD = (  # (start h, end h, tier, electricity, service)
    (0, 8, "valley", "0.3500", "0.5000"),
    (8, 10, "flat", "0.6420", "0.6000"),
    (10, 12, "peak", "1.0200", "0.6000"),
    (12, 14, "flat", "0.6420", "0.6000"),
    (14, 17, "peak", "1.0200", "0.6000"),
    (17, 19, "flat", "0.6420", "0.6000"),
    (19, 22, "sharp", "1.2700", "0.6000"),
    (22, 24, "flat", "0.6420", "0.5000"),
)


def line(name: str, seconds: float, detail: str = "") -> None:
    print(f"  {name:<58} {seconds:>8.3f} s  {detail}", flush=True)


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    began = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - began
    end.append(time.perf_counter())


# --------------------------------------------------------------------------- data


def _sql_default(column: Any) -> str | None:
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        value = default.arg
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | Decimal):
            return str(value)
        return "'" + str(value).replace("'", "''") + "'"
    made = getattr(default.arg, "__wrapped__", default.arg)  # SQLAlchemy wraps callables
    if made in (list, dict):  # an empty JSON value
        return "'[]'" if made is list else "'{}'"
    return "now()"  # utcnow and the like


def bulk(table: Table, n: int, exprs: dict[str, str]) -> None:
    """``INSERT INTO table SELECT ... FROM generate_series(1, n) g``: the given expressions,
    the models' own defaults for every other non-null column."""
    cols, vals = [], []
    for column in table.columns:
        if column.name in exprs:
            cols.append(column.name)
            vals.append(exprs[column.name])
        elif column.primary_key:
            continue
        elif (sql := _sql_default(column)) is not None:
            cols.append(column.name)
            vals.append(sql)
        elif not column.nullable:
            raise ValueError(f"{table.name}.{column.name} needs a value")
    db.session.execute(
        text(
            f"INSERT INTO {table.name} ({', '.join(cols)}) "
            f"SELECT {', '.join(vals)} FROM generate_series(1, {n}) AS g"
        )
    )


def base_data(stations: int) -> dict[str, int]:
    op = Operator(name="基准测试运营商", kind="sub")
    db.session.add(op)
    db.session.flush()
    tariff = Tariff(operator_id=op.id, name="广东分时")
    db.session.add(tariff)
    db.session.flush()
    version = TariffVersion(
        tariff_id=tariff.id, version=1,
        segments=[TariffSegment(start_minute=a * 60, end_minute=b * 60, tier=t,
                                electricity_price=Decimal(e), service_price=Decimal(s))
                  for a, b, t, e, s in GD],
    )  # fmt: skip
    db.session.add(version)
    db.session.flush()
    tariff.current_version = version
    db.session.commit()
    bulk(Station.__table__, stations, {  # type: ignore[arg-type]
        "operator_id": str(op.id), "name": "'站点 ' || g", "longitude": "113.9",
        "latitude": "22.5", "tariff_id": str(tariff.id),
    })  # fmt: skip
    db.session.commit()
    first_station = db.session.scalar(select(Station.id).order_by(Station.id).limit(1))
    return {"operator": op.id, "version": version.id, "station0": int(first_station or 0)}


def drivers_with_wallets(n: int, operator_id: int, balance: int) -> int:
    first = int(db.session.scalar(text("SELECT coalesce(max(id), 0) FROM drivers")) or 0) + 1
    bulk(Driver.__table__, n, {"operator_id": str(operator_id)})  # type: ignore[arg-type]
    bulk(Wallet.__table__, n, {"driver_id": f"{first} + g - 1", "balance_fen": str(balance)})  # type: ignore[arg-type]
    db.session.commit()
    return first


def piles_and_connectors(n_connectors: int, ids: dict[str, int], stations: int, tag: str) -> int:
    piles = n_connectors // 2
    first_pile = int(db.session.scalar(text("SELECT coalesce(max(id), 0) FROM piles")) or 0) + 1
    bulk(Pile.__table__, piles, {  # type: ignore[arg-type]
        "code": f"'{tag}' || g", "operator_id": str(ids["operator"]),
        "station_id": f"{ids['station0']} + g % {stations}", "protocol": "'ocpp16'",
        "online": "true", "last_seen_at": "now()",
    })  # fmt: skip
    first_conn = int(db.session.scalar(text("SELECT coalesce(max(id), 0) FROM connectors")) or 0)
    bulk(Connector.__table__, n_connectors, {  # type: ignore[arg-type]
        "pile_id": f"{first_pile} + (g - 1) / 2", "number": "1 + (g - 1) % 2",
        "qr_payload": f"'{tag}-' || g",
    })  # fmt: skip
    db.session.commit()
    return first_conn + 1


def orders(
    n: int, ids: dict[str, int], first_conn: int, first_driver: int, stations: int, *,
    state: str, tag: str, started: datetime, energy_wh: int,
) -> int:  # fmt: skip
    first = int(db.session.scalar(text("SELECT coalesce(max(id), 0) FROM charge_orders")) or 0)
    at = f"'{started.isoformat()}'::timestamptz"
    bulk(ChargeOrder.__table__, n, {  # type: ignore[arg-type]
        "order_no": f"'{tag}' || g", "operator_id": str(ids["operator"]),
        "station_id": f"{ids['station0']} + ((g - 1) / 2) % {stations}",
        "pile_id": f"(SELECT pile_id FROM connectors WHERE id = {first_conn} + g - 1)",
        "connector_id": f"{first_conn} + g - 1", "connector_number": "1 + (g - 1) % 2",
        "driver_id": f"{first_driver} + g - 1", "start_method": "'card'",
        "state": f"'{state}'", "pile_session_ref": f"'{tag}' || g",
        "tariff_version_id": str(ids["version"]), "requested_at": at, "started_at": at,
        "energy_wh": str(energy_wh), "last_meter_wh": str(energy_wh),
        "last_meter_at": f"{at} + interval '60 minutes'",
        "stopped_at": f"{at} + interval '60 minutes'" if state != "charging" else "NULL",
        "energy_ended_at": f"{at} + interval '60 minutes'" if state != "charging" else "NULL",
        "final_record_at": f"{at} + interval '60 minutes'" if state != "charging" else "NULL",
    })  # fmt: skip
    db.session.commit()
    return first + 1


# --------------------------------------------------------------------------- benchmarks


def bench_pricing_engine() -> None:
    snapshot = pricing.TariffSnapshot(
        tuple(pricing.Segment(a * 60, b * 60, t, Decimal(e), Decimal(s)) for a, b, t, e, s in GD)
    )
    start = datetime(2020, 4, 14, 1, 0, tzinfo=UTC)  # 09:00 local
    samples = [pricing.Sample(start + timedelta(minutes=i), 900 * i) for i in range(121)]
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < 1.0:
        pricing.price_session(samples, snapshot, service_discount_rate=Decimal("0.7"))
        count += 1
    elapsed = time.perf_counter() - began
    line("pricing engine: 2 h session, 121 samples, 2 segments", elapsed,
         f"{count / elapsed:,.0f} bills/s (pure, no database)")  # fmt: skip


def bench_settlement(app: Flask, ids: dict[str, int], n: int, stations: int) -> None:
    first_driver = drivers_with_wallets(n, ids["operator"], 100_000)
    first_conn = piles_and_connectors(n, ids, stations, "SETTLE")
    started = datetime.now(UTC) - timedelta(hours=3)
    first = orders(n, ids, first_conn, first_driver, stations, state="finished", tag="S",
                   started=started, energy_wh=30_000)  # fmt: skip
    bulk(MeterSampleRecord.__table__, n * 30, {  # type: ignore[arg-type]
        "order_id": f"{first} + (g - 1) / 30",
        "at": f"'{started.isoformat()}'::timestamptz + ((g - 1) % 30 + 1) * interval '2 minutes'",
        "energy_wh": "((g - 1) % 30 + 1) * 1000",
    })  # fmt: skip
    db.session.commit()
    order_ids = list(range(first, first + n))
    with timed() as took:
        for order_id in order_ids:
            order = db.session.get(ChargeOrder, order_id)
            assert order is not None
            settlement.settle_order(order)
            db.session.commit()
    line(f"settle {n:,} orders (30 samples each; bill, ledger, outbox)", took(),
         f"{n / took():,.0f} bills/s settled and committed, one at a time")  # fmt: skip


def bench_coupon_expiry(ids: dict[str, int], n: int) -> None:
    first_driver = drivers_with_wallets(10_000, ids["operator"], 0)
    template = CouponTemplate(operator_id=ids["operator"], name="满减券", kind="threshold",
                              amount_fen=500, threshold_fen=3000, validity_days=30)  # fmt: skip
    db.session.add(template)
    db.session.commit()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    with timed() as took:
        bulk(Coupon.__table__, n, {  # type: ignore[arg-type]
            "template_id": str(template.id), "operator_id": str(ids["operator"]),
            "driver_id": f"{first_driver} + g % 10000", "name": "'满减券'", "kind": "'threshold'",
            "amount_fen": "500", "threshold_fen": "3000", "source": "'admin'",
            "valid_from": "now() - interval '40 days'",
            # every second coupon is past its end
            "expires_at": f"CASE WHEN g % 2 = 0 THEN '{past}'::timestamptz "
                          f"ELSE '{future}'::timestamptz END",
        })  # fmt: skip
        db.session.commit()
        db.session.execute(text("ANALYZE coupons"))
        db.session.commit()
    line(f"(setup: {n:,} coupons inserted)", took())
    with timed() as took:
        expired = coupons.expire_coupons()
    line(f"coupon expiry over {n:,} coupons, {expired:,} due (one UPDATE)", took())
    with timed() as took:
        expired = coupons.expire_coupons()
    line(f"coupon expiry again: {expired:,} due (index only)", took())
    db.session.execute(
        text("UPDATE coupons SET status = 'available', expires_at = now() - interval '1 second'")
    )
    db.session.commit()
    with timed() as took:
        expired = coupons.expire_coupons()
    line(f"coupon expiry worst case: all {expired:,} due at once", took())


def bench_occupancy(ids: dict[str, int], n: int, stations: int) -> None:
    first_driver = drivers_with_wallets(n, ids["operator"], 10_000)
    first_conn = piles_and_connectors(n, ids, stations, "OCC")
    started = datetime.now(UTC) - timedelta(hours=3)
    first = orders(n, ids, first_conn, first_driver, stations, state="settled", tag="O",
                   started=started, energy_wh=20_000)  # fmt: skip
    ended = f"'{(started + timedelta(minutes=60)).isoformat()}'::timestamptz"
    bulk(OccupancySession.__table__, n, {  # type: ignore[arg-type]
        "order_id": f"{first} + g - 1", "operator_id": str(ids["operator"]),
        "station_id": f"{ids['station0']} + ((g - 1) / 2) % {stations}",
        "pile_id": f"(SELECT pile_id FROM connectors WHERE id = {first_conn} + g - 1)",
        "connector_id": f"{first_conn} + g - 1", "driver_id": f"{first_driver} + g - 1",
        "grace_minutes": "600", "price_per_minute": "0.1000", "cap_fen": "5000",
        "started_at": ended, "remind_at": f"{ended} + interval '590 minutes'",
        # 0.1 % are due for their reminder now; the rest were reminded or are not due
        "reminded_at": f"CASE WHEN g % 1000 = 0 THEN NULL ELSE {ended} END",
    })  # fmt: skip
    # 0.1 % of the guns came back since the last run
    db.session.execute(
        text(
            "UPDATE charge_orders SET gun_returned_at = now() - interval '1 minute' "
            f"WHERE id >= {first} AND (id - {first}) % 1000 = 1"
        )
    )
    db.session.execute(
        text(
            "UPDATE occupancy_sessions SET remind_at = now() - interval '1 minute' "
            "WHERE reminded_at IS NULL"
        )
    )
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    with timed() as took:
        result = occupancy_charges.accrue_occupancy()
    line(
        f"occupancy accrual over {result.open_sessions + result.closed:,} open orders", took(),
        f"{result.closed} closed and charged, {result.reminders} reminders",
    )  # fmt: skip
    with timed() as took:
        result = occupancy_charges.accrue_occupancy()
    line(f"occupancy accrual again ({result.open_sessions:,} open, nothing due)", took())


def bench_balance_guard(ids: dict[str, int], n: int, stations: int) -> None:
    first_driver = drivers_with_wallets(n, ids["operator"], 50_000)
    first_conn = piles_and_connectors(n, ids, stations, "GUARD")
    started = datetime.now(UTC) - timedelta(hours=1)
    orders(n, ids, first_conn, first_driver, stations, state="charging", tag="G",
           started=started, energy_wh=20_000)  # fmt: skip
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    with timed() as took:
        stopped = balance_guard.guard_balances()
    line(f"balance guard over {n:,} charging orders (all far from balance)", took(),
         f"{len(stopped)} stopped")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument(
        "--only", choices=("settle", "coupons", "occupancy", "guard"), help="one benchmark"
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    print("money benchmarks (printed, never asserted)")
    bench_pricing_engine()
    url = os.environ.get("EVOP_BENCH_DATABASE_URL", DEFAULT_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"  PostgreSQL at {url} does not answer ({exc.__class__.__name__}): "
              "database benchmarks skipped")  # fmt: skip
        return
    schema = f"evop_bench_money_{os.getpid()}"
    app = create_app({
        "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SCHEDULER_ENABLED": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
    })  # fmt: skip
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            db.create_all()
            stations = 100
            ids = base_data(stations)
            print(f"  PostgreSQL, schema {schema}")
            if args.only in (None, "settle"):
                bench_settlement(app, ids, 2_000 // scale, stations)
            if args.only in (None, "coupons"):
                bench_coupon_expiry(ids, 1_000_000 // scale)
            if args.only in (None, "occupancy"):
                bench_occupancy(ids, 100_000 // scale, stations)
            if args.only in (None, "guard"):
                bench_balance_guard(ids, 20_000 // scale, stations)
        finally:
            db.session.rollback()
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            db.engine.dispose()


if __name__ == "__main__":
    main()
