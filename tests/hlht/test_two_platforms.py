"""Two platforms of ours talk T/CEC 102 to each other over real HTTP (issue 11, "Done
means"): A owns the pile (the demo's OCPP pile, simulated over a real socket), B is the
customer platform. A driver of B scans A's ``hlht://`` code, charges and stops through
B's drivers' API; A's outbox tells B; both sides hold one order with equal totals; a
repeated notification changes nothing; A's daily check_charge_orders finds no dispute.

Each platform is its own app on its own file SQLite database (the demo data), served by
a werkzeug server in a thread; the test's own queries use their own connections."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app.billing.models import Bill
from app.catalogue.models import Connector, Pile
from app.charging.commands import COMMAND_PORT
from app.charging.models import ChargeOrder
from app.db import utcnow
from app.demo import demo_driver, seed_demo
from app.drivers.driver_auth import issue_token
from app.extensions import db
from app.hlht import business, customer, outbox, partners
from app.hlht.client import PartnerClient
from app.hlht.models import CustomerOrder, Partner, Push, RoamingOrder
from app.ledger import wallet
from app.ledger.models import Wallet, WalletEntry
from app.state import state_of
from pile_link.group_commit import GroupCommitEvents
from pile_link.ocpp16.server import OcppServer, ServerThread, WsConfig
from pile_link.registry import ConnectionRegistry, LocalCommandPort
from pile_link.simulator import PileConfig, ScenarioResult, SimulatedOcppPile
from tests.support.ports import pile_events
from tests.support.settings import BASE_CONFIG
from wsgi import compose

A_ID, B_ID = "EVOPAAAA1", "EVOPBBBB2"  # the two platforms' OperatorIDs
KEYS = {"data_secret": "a1b2c3d4e5f6g7h8", "data_iv": "h8g7f6e5d4c3b2a1",
        "sig_secret": "sig-secret-of-the-pair"}  # fmt: skip
A_TO_B, B_TO_A = "secret-a-presents-b", "secret-b-presents-a"  # OperatorSecrets
PILE = "DEMO-OCPP-01"
CONNECTOR = f"{PILE}-1"  # the ConnectorID A gives its partners
QR = f"hlht://{CONNECTOR}.{A_ID}/station-7"
MP = "/api/mp/v1"
DEADLINE = 60.0  # a wait for what must happen: generous, the suites run side by side
FAST = PileConfig(
    meter_interval=0.2, time_scale=60, response_timeout=5.0, reconnect_delay=0.05,
    reconnect_max_delay=0.5, record_retry_interval=0.3, remote_wait_seconds=30.0,
)  # fmt: skip
T = TypeVar("T")


class Side:
    """One platform: its app, its HTTP base URL."""

    def __init__(self, app: Flask, base: str) -> None:
        self.app, self.base = app, base

    def query(self, fn: Callable[[], T]) -> T:
        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.expunge_all()
                db.session.remove()


@contextlib.contextmanager
def _served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("two_platforms") / "seeded.sqlite3"
    app = compose({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()
        db.engine.dispose()
    return path


def _platform(seeded: Path, workdir: Path, name: str, operator_id: str) -> Flask:
    path = workdir / f"{name}.sqlite3"
    shutil.copyfile(seeded, path)
    return compose(
        {**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{path}", "HLHT_OPERATOR_ID": operator_id}
    )


def _register(side: Side, operator_id: str, base: str, roles: str, theirs: str, ours: str) -> None:
    def add() -> None:
        partners.add_partner({
            "operator_id": operator_id, "name": f"平台 {operator_id[-1]}", "base_url": base,
            "roles": roles, "operator_secret": theirs, "our_operator_secret": ours,
            "share_stations": "all", **KEYS,
        })  # fmt: skip
        db.session.commit()

    side.query(add)


@pytest.fixture
def pair(seeded_db: Path, tmp_path: Path) -> Iterator[tuple[Side, Side, str]]:
    """(A, B, A's OCPP URL): both served, each registered with the other."""
    app_a = _platform(seeded_db, tmp_path, "a", A_ID)
    app_b = _platform(seeded_db, tmp_path, "b", B_ID)
    registry = ConnectionRegistry()
    state_of(app_a)[COMMAND_PORT] = LocalCommandPort(registry)
    ocpp = OcppServer(
        GroupCommitEvents(pile_events(app_a)), registry, host="127.0.0.1", port=0,
        config=WsConfig(heartbeat_interval=30, close_timeout=1.0, finish_timeout=5.0),
    )  # fmt: skip
    ocpp_thread = ServerThread(ocpp, drain_timeout=2.0)
    _, ocpp_port = ocpp_thread.start()
    try:
        with _served(app_a) as base_a, _served(app_b) as base_b:
            a, b = Side(app_a, base_a), Side(app_b, base_b)
            _register(a, B_ID, base_b, "emsp", theirs=B_TO_A, ours=A_TO_B)  # B calls A's piles
            _register(b, A_ID, base_a, "cpo", theirs=A_TO_B, ours=B_TO_A)  # B's drivers use A's
            yield a, b, f"ws://127.0.0.1:{ocpp_port}/ocpp"
    finally:
        ocpp_thread.stop()
        for app in (app_a, app_b):
            with app.app_context():
                db.engine.dispose()


async def until(predicate: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def run(coro: Awaitable[T], timeout: float = 40.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def _a_order(a: Side) -> ChargeOrder | None:
    return a.query(lambda: db.session.scalar(select(ChargeOrder).order_by(ChargeOrder.id)))


def _b_order(b: Side) -> CustomerOrder | None:
    return b.query(lambda: db.session.scalar(select(CustomerOrder)))


def _connector_status(a: Side) -> str:
    def load() -> str:
        pile = db.session.scalar(select(Pile).where(Pile.code == PILE))
        assert pile is not None
        conn = db.session.scalar(
            select(Connector).where(Connector.pile_id == pile.id, Connector.number == 1)
        )
        assert conn is not None
        return conn.status

    return a.query(load)


def _tell(a: Side, now_offset: timedelta = timedelta(0)) -> int:
    """A's outbox job, once: what B has not heard yet goes out over HTTP."""
    return a.query(lambda: outbox.run(utcnow() + now_offset))


def _sync(b: Side) -> customer.SyncReport:
    def sync() -> customer.SyncReport:
        partner = db.session.scalar(select(Partner).where(Partner.operator_id == A_ID))
        assert partner is not None
        return customer.sync_partner(partner)

    return b.query(sync)


def _driver_headers(b: Side) -> tuple[int, dict[str, str]]:
    def make() -> tuple[int, str]:
        driver = demo_driver()
        assert driver is not None
        wallet.post_entry(driver.id, 10_000, "manual_credit", idempotency_key="two-platforms")
        db.session.commit()
        return driver.id, issue_token(driver)

    driver_id, token = b.query(make)
    return driver_id, {"Authorization": f"Bearer {token}"}


def _hlht_entries(b: Side, driver_id: int) -> list[int]:
    return b.query(
        lambda: [
            e.amount_fen
            for e in db.session.scalars(
                select(WalletEntry)
                .join(Wallet, Wallet.id == WalletEntry.wallet_id)
                .where(Wallet.driver_id == driver_id, WalletEntry.ref_type == "hlht_order")
                .order_by(WalletEntry.id)
            )
        ]
    )


def _post(b: Side, headers: dict[str, str], path: str, body: dict[str, Any] | None = None) -> Any:
    resp = requests.post(f"{b.base}{MP}{path}", json=body or {}, headers=headers, timeout=20)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def _charge_and_stop(
    a: Side, b: Side, ocpp_url: str, headers: dict[str, str]
) -> tuple[ScenarioResult, str]:
    """B's driver scans A's code, charges until a meter sample reached B, stops; returns
    once A has settled its order (what A tells B after that is the test's)."""
    stop_returned = asyncio.Event()

    def post(path: str, body: dict[str, Any] | None = None) -> Any:
        return _post(b, headers, path, body)

    async def go() -> tuple[ScenarioResult, str]:
        async with SimulatedOcppPile(ocpp_url, PILE, config=FAST) as pile:
            task = asyncio.create_task(
                pile.run_scenario("remote", connector=1, after_remote_stop=stop_returned.wait)
            )
            await until(lambda: _connector_status(a) == "preparing", "the gun plugged on A")
            report = await asyncio.to_thread(_sync, b)  # B pulls A's stations over HTTP
            assert report.stations >= 1 and report.policies >= 1
            scan = await asyncio.to_thread(post, "/scan", {"qr": QR})
            assert scan["can_start"] is True, scan
            assert scan["partner"]["name"] == "平台 1" and scan["partner"]["status"] == "free"
            started = await asyncio.to_thread(post, "/hlht/orders", {"qr": QR})
            order_no = str(started["order_no"])
            await until(lambda: (_a_order(a) or ChargeOrder()).state == "charging", "A charging")
            await until(lambda: (_a_order(a) or ChargeOrder()).energy_wh > 0, "a meter sample")
            await asyncio.to_thread(_tell, a, timedelta(minutes=5))  # start result, a status
            await until(lambda: (_b_order(b) or CustomerOrder()).state == "charging", "B charging")
            stopped = await asyncio.to_thread(post, f"/hlht/orders/{order_no}/stop")
            assert stopped["state"] == "stopping" and stopped["energy_wh"] > 0, stopped
            assert stopped["amount_fen"] > 0  # never 0 for energy taken (case #18 2020)
            stop_returned.set()
            result = await task
            await until(lambda: (_a_order(a) or ChargeOrder()).state == "settled", "A settled")
            return result, order_no

    result, order_no = run(go())
    assert result.ok, result.detail
    return result, order_no


def test_a_driver_of_b_charges_on_as_pile_and_both_hold_one_order_with_equal_totals(
    pair: tuple[Side, Side, str],
) -> None:
    a, b, ocpp_url = pair
    driver_id, headers = _driver_headers(b)
    balance = b.query(lambda: wallet.balance_of(driver_id))
    http = requests.Session()
    result, order_no = _charge_and_stop(a, b, ocpp_url, headers)
    _tell(a)  # the stop result and the order info
    b_order = _b_order(b)
    assert b_order is not None and b_order.order_no == order_no and b_order.state == "settled"

    # A: one order, its bill; B: one order, the same totals, charged once
    def a_side() -> tuple[list[ChargeOrder], list[RoamingOrder], Bill]:
        orders = list(db.session.scalars(select(ChargeOrder)))
        rows = list(db.session.scalars(select(RoamingOrder)))
        bill = db.session.scalar(select(Bill).where(Bill.order_id == orders[0].id))
        assert bill is not None
        return orders, rows, bill

    a_orders, rows, bill = a.query(a_side)
    assert len(a_orders) == 1 and len(rows) == 1
    assert rows[0].start_charge_seq == b_order.start_charge_seq
    assert rows[0].confirm_result == 0
    assert bill.total_fen > 0 and bill.energy_wh == a_orders[0].energy_wh == result.energy_wh
    assert b.query(lambda: len(db.session.scalars(select(CustomerOrder)).all())) == 1
    assert b_order.partner_total_fen == bill.total_fen == b_order.charged_fen
    # the wire's TotalPower is kWh to 2 decimals (102.3): B holds A's energy to 10 Wh
    assert b_order.partner_energy_wh == round(business.kwh(bill.energy_wh) * 1000)
    assert not b_order.estimated
    assert _hlht_entries(b, driver_id) == [-bill.total_fen]
    assert b.query(lambda: wallet.balance_of(driver_id)) == balance - bill.total_fen
    listed = http.get(f"{b.base}{MP}/orders", headers=headers, timeout=10).json()
    assert [
        (r["order_no"], r["total_fen"], r["partner"]["operator_id"]) for r in listed["items"]
    ] == [(order_no, bill.total_fen, A_ID)]

    # a repeated order info (A's retry after a lost answer) changes nothing on B
    def repeat() -> Any:
        push = db.session.scalar(select(Push).where(Push.interface == outbox.ORDER_INFO))
        partner_b = db.session.scalar(select(Partner).where(Partner.operator_id == B_ID))
        assert push is not None and partner_b is not None
        return PartnerClient(partner_b).call(outbox.ORDER_INFO, push.payload)

    answer = a.query(repeat)
    assert answer.ok and answer.data["ConfirmResult"] == 0
    assert _hlht_entries(b, driver_id) == [-bill.total_fen]
    again = _b_order(b)
    assert again is not None and again.charged_fen == bill.total_fen
    assert again.updated_at == b_order.updated_at  # not even touched
    assert _tell(a) >= 0 and _hlht_entries(b, driver_id) == [-bill.total_fen]

    # the next day A's check_charge_orders goes to B, which holds the same: no dispute
    a.query(lambda: outbox.check_orders_daily(utcnow() + timedelta(days=1)))
    _tell(a, timedelta(days=1))

    def checked() -> tuple[str, bool]:
        push = db.session.scalar(select(Push).where(Push.interface == outbox.CHECK_ORDERS))
        row = db.session.scalar(select(RoamingOrder))
        assert push is not None and row is not None
        return push.state, row.disputed

    assert a.query(checked) == ("delivered", False)
    final = _b_order(b)
    assert final is not None and not final.disputed


def _a_bill_total(a: Side) -> int:
    def load() -> int:
        bill = db.session.scalar(select(Bill))
        assert bill is not None
        return bill.total_fen

    return a.query(load)


def test_a_lost_order_info_is_estimated_on_b_then_reconciled_when_as_retry_arrives(
    pair: tuple[Side, Side, str],
) -> None:
    a, b, ocpp_url = pair
    driver_id, headers = _driver_headers(b)
    _result, order_no = _charge_and_stop(a, b, ocpp_url, headers)

    def point_b_at(url: str) -> None:
        partner_b = db.session.scalar(select(Partner).where(Partner.operator_id == B_ID))
        assert partner_b is not None
        partner_b.base_url = url
        db.session.commit()

    with socket.socket() as s:  # a port nobody listens on: A's pushes to B are lost
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    a.query(lambda: point_b_at(dead))
    _tell(a)
    waiting = _b_order(b)
    assert waiting is not None and waiting.state == "stopping" and waiting.order_info_at is None
    # B's estimate job, after the timeout: charged from A's policy and the last status
    assert b.query(lambda: customer.estimate_lost_orders(utcnow() + timedelta(hours=1))) == 1
    estimated = _b_order(b)
    assert estimated is not None and estimated.estimated and estimated.state == "settled"
    assert estimated.charged_fen > 0
    assert _hlht_entries(b, driver_id) == [-estimated.charged_fen]
    # A's outbox retries once B is reachable again: B reconciles to A's bill, once
    a.query(lambda: point_b_at(b.base))
    _tell(a, timedelta(hours=2))
    final = _b_order(b)
    total = _a_bill_total(a)
    assert final is not None and final.order_no == order_no
    assert not final.estimated and final.reconciled_at is not None
    assert final.partner_total_fen == final.charged_fen == total
    entries = _hlht_entries(b, driver_id)
    assert sum(entries) == -total and len(entries) == (1 if estimated.charged_fen == total else 2)
    _tell(a, timedelta(hours=3))
    assert _hlht_entries(b, driver_id) == entries
