"""kill -9 of the pile-link process mid-session, on PostgreSQL (issue 15 #9): the process
restarts, the pile reconnects and sends its stop, and the end is one settled order, an
offline period in the pile's history and the order flagged. Real processes, real sockets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlalchemy import select, text
from websockets.typing import Subprotocol

from app.catalogue.models import Pile, PileOnlinePeriod
from app.charging.models import ChargeOrder, OrderState
from app.demo import seed_demo
from app.extensions import db
from tests.support.servers import free_port
from tests.support.settings import BASE_CONFIG, ON_POSTGRES, TEST_DB_URL
from wsgi import compose

ROOT = Path(__file__).resolve().parents[2]
PILE, CARD = "DEMO-OCPP-01", "DEMO-CARD-01"
NODE = "kill-test-node"


def _url(schema: str) -> str:
    base = TEST_DB_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture
def database() -> Iterator[str]:
    schema = f"evop_kill9_{os.getpid()}"
    app = compose({**BASE_CONFIG, "DATABASE_URL": _url(schema)})
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db.create_all()
        seed_demo()
        db.session.remove()
    try:
        yield _url(schema)
    finally:
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            db.engine.dispose()


def _start_pile_link(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "EVOP_DATABASE_URL": url,
        "EVOP_REDIS_URL": "",
        "EVOP_OCPP_PORT": str(port),
        "EVOP_YKC_PORT": str(free_port()),
        "EVOP_PILE_LINK_NODE": NODE,
        "EVOP_LOG_JSON": "false",
    }
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "pile_link"], cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 120  # generous: the suites of `make test` run side by side
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        if "OCPP 1.6J" in log.read_text():
            return proc
        time.sleep(0.1)
    proc.kill()
    proc.wait()  # reaped here, not by a later test's garbage collection
    raise AssertionError(f"pile link did not start: {log.read_text()}")


def _now(minutes_ago: int = 0) -> str:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class Pile16:
    """A minimal OCPP 1.6J pile over websockets."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.n = 0

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        await self.ws.send(json.dumps([2, f"m{self.n}", action, payload]))
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if message[0] == 3 and message[1] == f"m{self.n}":
                return dict(message[2])
            if message[0] == 4 and message[1] == f"m{self.n}":
                raise AssertionError(f"{action} answered {message}")
            if message[0] == 2:  # a call from the platform: accept it
                await self.ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))


async def _connect(port: int) -> Any:
    return await websockets.connect(
        f"ws://127.0.0.1:{port}/ocpp/{PILE}", subprotocols=[Subprotocol("ocpp1.6")]
    )


@pytest.mark.skipif(not ON_POSTGRES, reason="the kill -9 test runs on PostgreSQL")
def test_kill_9_mid_session_ends_with_one_settled_order_an_offline_period_and_a_flag(
    database: str, tmp_path: Path
) -> None:
    port = free_port()
    proc = _start_pile_link(database, port, tmp_path / "first.log")
    tx: dict[str, int] = {}

    async def before_the_crash() -> None:
        ws = await _connect(port)
        pile = Pile16(ws)
        await pile.call("BootNotification", {"chargePointVendor": "测试", "chargePointModel": "K9"})
        started = await pile.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": CARD, "meterStart": 0, "timestamp": _now(60)},
        )
        tx["id"] = int(started["transactionId"])
        await pile.call(
            "MeterValues",
            {
                "connectorId": 1, "transactionId": tx["id"],
                "meterValue": [{"timestamp": _now(30), "sampledValue": [
                    {"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
                ]}],
            },
        )  # fmt: skip
        proc.send_signal(signal.SIGKILL)  # mid-session, nothing announced
        proc.wait(10)
        await ws.close()

    async def after_the_restart() -> None:
        ws = await _connect(port)
        pile = Pile16(ws)
        await pile.call("BootNotification", {"chargePointVendor": "测试", "chargePointModel": "K9"})
        await pile.call(
            "StopTransaction",
            {"transactionId": tx["id"], "meterStop": 3000, "timestamp": _now(), "reason": "Local"},
        )
        await ws.close()

    try:
        asyncio.run(before_the_crash())
        proc = _start_pile_link(database, port, tmp_path / "restarted.log")
        asyncio.run(after_the_restart())
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(15)

    app = compose({**BASE_CONFIG, "DATABASE_URL": database})
    with app.app_context():
        orders = db.session.scalars(select(ChargeOrder)).all()
        assert len(orders) == 1, [(o.order_no, o.state) for o in orders]
        [order] = orders
        assert order.state == OrderState.SETTLED and order.energy_wh == 3000
        assert order.offline_during  # flagged for the operator
        pile = db.session.scalars(select(Pile).where(Pile.code == PILE)).one()
        reasons = [
            p.offline_reason
            for p in db.session.scalars(
                select(PileOnlinePeriod)
                .where(PileOnlinePeriod.pile_id == pile.id)
                .order_by(PileOnlinePeriod.id)
            )
        ]
        assert reasons[0] == "platform_restart", reasons
        db.session.remove()
        db.engine.dispose()
