"""Interconnection (T/CEC 102): envelope round trips per second, and query_stations_info
over 10,000 shared stations through the real /evcs/v1/ face (a page of 50; goal < 50 ms),
and the push job's look at their connectors for notification_stationStatus.
Printed, never asserted; each figure beside its peer measured in the same run.

Run: ``.venv/bin/python bench/bench_hlht.py [--stations 10000] [--database-url URL]``
(SQLite in memory by default; a PostgreSQL URL gets a schema of its own and drops it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from sqlalchemy import insert, text

from app.catalogue.models import Connector, Pile, Station
from app.extensions import db
from app.hlht import envelope as env
from app.hlht import outbox, partners
from app.hlht.envelope import CHINA, Keys
from app.tenancy.models import Operator
from wsgi import compose

KEYS = Keys("a2b4c6d8e0f1a3b5", "f0e1d2c3b4a59687", "a2b4c6d8e0f1a3b5")
PAYLOAD = {"StationIDs": [str(i) for i in range(1, 51)], "Note": "充电站状态查询" * 4}


def envelope_round_trips(seconds: float = 2.0) -> tuple[float, float]:
    """(round trips per second, and the sign-only rate beside it): sign + encrypt +
    verify + decrypt of a request, then of its answer."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        body = env.build_request("MA01DEMO9", PAYLOAD, KEYS, stamp="20261203140000", seq="0001")
        req = env.open_request(body, lambda _: KEYS)
        answer = env.build_response(env.Ret.OK, "成功", req.data, KEYS)
        env.open_response(answer, KEYS)
        n += 1
    trips = n / (time.perf_counter() - start)
    m, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds / 2:
        env.sign(KEYS.sig_secret, "MA01DEMO9", "x" * 400, "20261203140000", "0001")
        m += 1
    return trips, m / (time.perf_counter() - start)


def seed(count: int) -> None:
    op = Operator(name="基准运营商", kind="sub")
    db.session.add(op)
    db.session.flush()
    db.session.execute(
        insert(Station),
        [{"operator_id": op.id, "name": f"基准站 {i}", "address": "深圳市南山区",
          "longitude": Decimal("113.9"), "latitude": Decimal("22.5"), "status": "active",
          "timezone": "Asia/Shanghai"} for i in range(count)],
    )  # fmt: skip
    ids = [row[0] for row in db.session.execute(text("SELECT id FROM stations ORDER BY id"))]
    db.session.execute(
        insert(Pile),
        [{"code": f"B{i:08d}", "operator_id": op.id, "station_id": sid, "protocol": "ocpp16",
          "current_type": "DC", "rated_power_w": 60000} for i, sid in enumerate(ids)],
    )  # fmt: skip
    piles = [row[0] for row in db.session.execute(text("SELECT id FROM piles ORDER BY id"))]
    db.session.execute(
        insert(Connector),
        [{"pile_id": pid, "number": n, "qr_payload": f"B{pid}-{n}", "status": "available"}
         for pid in piles for n in (1, 2)],
    )  # fmt: skip
    partners.add_partner(
        {"operator_id": "MA01DEMO9", "name": "基准伙伴", "operator_secret": "s",
         "our_operator_secret": "s", "data_secret": KEYS.data_secret,
         "data_iv": KEYS.data_iv, "sig_secret": KEYS.sig_secret, "share_stations": "all"}
    )  # fmt: skip
    db.session.commit()


def stations_info(count: int, database_url: str) -> None:
    config = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "SCHEDULER_ENABLED": False}
    schema = None
    if database_url.startswith("postgres"):
        schema = f"bench_hlht_{os.getpid()}"
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": f"-csearch_path={schema}"}
        }
    app = compose(config)
    with app.app_context():
        if schema:
            with db.engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db.create_all()
        t0 = time.perf_counter()
        seed(count)
        print(f"seeded {count} stations, {count} piles, {2 * count} connectors "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    client = app.test_client()
    seq = iter(range(1, 10**6))

    def call(interface: str, data: dict[str, object], token: str | None = None) -> dict:
        stamp = env.timestamp(datetime.now(CHINA))
        body = env.build_request(
            "MA01DEMO9", data, KEYS, stamp=stamp, seq=f"{next(seq) % 10000:04d}"
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = client.post(f"/evcs/v1/{interface}", json=body, headers=headers).get_json()
        return env.open_response(answer, KEYS)[2]

    token = call("query_token", {"OperatorID": "MA01DEMO9", "OperatorSecret": "s"})["AccessToken"]
    pages = count // 50
    for name, page_of in (
        ("first pages", lambda i: 1 + i % 5),
        ("pages across", lambda i: 1 + (i * 37) % pages),
    ):
        took = []
        for i in range(40):
            start = time.perf_counter()
            data = call("query_stations_info", {"PageNo": page_of(i), "PageSize": 50}, token)
            took.append((time.perf_counter() - start) * 1000)
            assert len(data["StationInfos"]) == 50
        took.sort()
        p50, p95 = statistics.median(took), took[int(len(took) * 0.95) - 1]
        print(f"query_stations_info, page of 50 of {count} ({name}): p50 {p50:.1f} ms, "
              f"p95 {p95:.1f} ms   (goal < 50 ms)")  # fmt: skip
    start = time.perf_counter()
    for _ in range(40):
        call("query_token", {"OperatorID": "MA01DEMO9", "OperatorSecret": "s"})
    print(f"  beside it, query_token through the same face: "
          f"{(time.perf_counter() - start) * 1000 / 40:.1f} ms per call")  # fmt: skip
    with app.app_context():
        db.session.execute(text("UPDATE hlht_partners SET base_url = 'http://partner.invalid'"))
        db.session.commit()
        for label in ("first look (notes every connector)", "a look with nothing changed"):
            start = time.perf_counter()
            outbox.collect_station_status()
            print(f"  the push job's connector scan, {2 * count} connectors, {label}: "
                  f"{(time.perf_counter() - start) * 1000:.0f} ms")  # fmt: skip
    if schema:
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--database-url", default="sqlite://")
    args = parser.parse_args()
    trips, signs = envelope_round_trips()
    print(f"envelope round trips (request and answer: sign+encrypt+verify+decrypt): "
          f"{trips:,.0f}/s   beside HMAC-MD5 sign alone: {signs:,.0f}/s")  # fmt: skip
    stations_info(args.stations, args.database_url)


if __name__ == "__main__":
    main()
