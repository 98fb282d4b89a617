"""OCPP 1.6J piles against the real domain, over real sockets (issue: pile link, "done
means"): the ``ocpp`` package's ChargePoint plays a third-party pile; each scenario must
leave exactly one correct order. A file SQLite database lets the server thread and the
test thread use their own connections. The domain is composed as in ``PileLinkRuntime``:
meter values go through the group-commit writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets
from flask import Flask
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, RemoteStartStopStatus
from sqlalchemy import select
from websockets.typing import Subprotocol

from app.catalogue.models import Pile
from app.charging import orders, starts, stops
from app.charging.commands import COMMAND_PORT
from app.charging.models import HELD_FOR_REVIEW, ChargeOrder, MeterSampleRecord
from app.demo import demo_driver, seed_demo
from app.extensions import db
from app.ledger import wallet
from app.state import state_of
from pile_link.group_commit import GroupCommitEvents, MeterWriterConfig
from pile_link.ocpp16.server import OcppServer, ServerThread, WsConfig
from pile_link.registry import ConnectionRegistry, LocalCommandPort
from tests.support.ports import pile_events
from tests.support.settings import BASE_CONFIG
from wsgi import compose

CODE = "DEMO-OCPP-01"
DEADLINE = 60.0  # a wait for what must happen: generous, the suites run side by side


class Platform:
    def __init__(self, app: Flask, port: int, events: GroupCommitEvents) -> None:
        self.app = app
        self.port = port
        self.events = events

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp/{CODE}"

    def orders(self) -> list[ChargeOrder]:
        with self.app.app_context():
            rows = list(db.session.scalars(select(ChargeOrder).order_by(ChargeOrder.id)))
            db.session.expunge_all()
            return rows

    def meter_rows(self) -> int:
        with self.app.app_context():
            return len(db.session.scalars(select(MeterSampleRecord.id)).all())

    def pile_online(self) -> bool:
        with self.app.app_context():
            pile = db.session.scalar(select(Pile).where(Pile.code == CODE))
            return bool(pile and pile.online)

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.01)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    app = compose({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.sqlite3'}"})
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()
    registry = ConnectionRegistry()
    state_of(app)[COMMAND_PORT] = LocalCommandPort(registry)
    # a batch waits 50 ms for more samples: an answer sent before the commit would show
    events = GroupCommitEvents(pile_events(app), MeterWriterConfig(max_delay=0.05))
    server = OcppServer(
        events, registry, host="127.0.0.1", port=0,
        config=WsConfig(heartbeat_interval=30, close_timeout=1.0, finish_timeout=5.0),
    )  # fmt: skip
    thread = ServerThread(server, drain_timeout=2.0)
    _, port = thread.start()
    try:
        yield Platform(app, port, events)
    finally:
        thread.stop()
        with app.app_context():
            db.engine.dispose()


class Xundao(ChargePoint):
    """A third-party pile."""

    def __init__(self, connection: Any) -> None:
        super().__init__(CODE, connection, response_timeout=DEADLINE)
        self.remote_calls: list[tuple[str, dict[str, Any]]] = []

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, **kw: Any) -> call_result.RemoteStartTransaction:
        self.remote_calls.append(("start", {"id_tag": id_tag, **kw}))
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        self.remote_calls.append(("stop", {"transaction_id": transaction_id}))
        return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)

    async def boot(self) -> None:
        result = await self.call(
            call.BootNotification(charge_point_model="XD-AC7", charge_point_vendor="Xundao")
        )
        assert result.status == "Accepted"

    async def status(self, connector: int, status: str, error: str = "NoError") -> None:
        await self.call(
            call.StatusNotification(connector_id=connector, error_code=error, status=status)
        )

    async def start_tx(self, connector: int, id_tag: str, meter: int, at: datetime) -> int:
        result = await self.call(
            call.StartTransaction(
                connector_id=connector, id_tag=id_tag, meter_start=meter, timestamp=at.isoformat()
            )
        )
        assert result.id_tag_info["status"] == "Accepted", result
        return int(result.transaction_id)

    async def meter(self, connector: int, tx: int, wh: int, at: datetime) -> None:
        await self.call(
            call.MeterValues(
                connector_id=connector,
                transaction_id=tx,
                meter_value=[{"timestamp": at.isoformat(), "sampled_value": [
                    {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"},
                ]}],
            )
        )  # fmt: skip

    async def stop(self, tx: int, meter: int, at: datetime, reason: str) -> None:
        await self.call(
            call.StopTransaction(
                meter_stop=meter, timestamp=at.isoformat(), transaction_id=tx, reason=reason
            )
        )


@contextlib.asynccontextmanager
async def connected(platform: Platform) -> AsyncIterator[Xundao]:
    async with websockets.connect(
        platform.url(),
        subprotocols=[Subprotocol("ocpp1.6")],
        open_timeout=DEADLINE,
        close_timeout=2,
    ) as ws:
        pile = Xundao(ws)
        task = asyncio.create_task(pile.start())
        try:
            yield pile
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await task


T0 = datetime(2021, 1, 13, 22, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_card_start_meter_values_and_stop_over_ocpp(platform: Platform) -> None:
    async def scenario() -> None:
        async with connected(platform) as pile:
            await pile.boot()
            await pile.status(1, "Preparing")
            auth = await pile.call(call.Authorize(id_tag="DEMO-CARD-01"))
            assert auth.id_tag_info["status"] == "Accepted"
            tx = await pile.start_tx(1, "DEMO-CARD-01", 1_000_000, at(1))
            await pile.status(1, "Charging")
            await pile.meter(1, tx, 1_000_900, at(10))
            await pile.stop(tx, 1_001_760, at(30), "Local")
            await pile.status(1, "Finishing")

    asyncio.run(scenario())
    [order] = platform.orders()
    assert order.state == "settled" and order.start_method == "card"
    assert order.energy_wh == 1760 and order.stop_reason == "Local"


def test_meter_values_are_answered_only_after_their_rows_are_committed(
    platform: Platform,
) -> None:
    seen: list[tuple[int, int | None]] = []

    async def scenario() -> None:
        async with connected(platform) as pile:
            await pile.boot()
            tx = await pile.start_tx(1, "DEMO-CARD-01", 1_000_000, at(1))
            for i in range(1, 6):
                await pile.meter(1, tx, 1_000_000 + 100 * i, at(1 + i))
                # the answer is in: the sample must already be in the database
                [order] = platform.orders()
                seen.append((platform.meter_rows(), order.last_meter_wh))

    asyncio.run(scenario())
    assert seen == [(i, 100 * i) for i in range(1, 6)]
    assert platform.events.writer.recorded == 5  # the group-commit path, not the direct one


def test_unknown_card_is_refused_over_ocpp(platform: Platform) -> None:
    async def scenario() -> None:
        async with connected(platform) as pile:
            await pile.boot()
            auth = await pile.call(call.Authorize(id_tag="NOBODY"))
            assert auth.id_tag_info["status"] != "Accepted"

    asyncio.run(scenario())
    assert platform.orders() == []


def test_remote_start_and_remote_stop_over_ocpp(platform: Platform) -> None:
    def start_from_app() -> str:
        with platform.app.app_context():
            outcome = starts.request_remote_start(
                demo_driver(),
                orders.require_connector(CODE, 2),
                client_request_id="e2e-1",  # type: ignore[arg-type]
            )
            assert outcome.command is not None and outcome.command.ok, outcome.command
            return outcome.order.order_no

    def stop_from_app(order_no: str) -> None:
        with platform.app.app_context():
            result = stops.request_stop(orders.get_order_by_no(order_no), by="driver")
            assert result.ok, result

    async def scenario() -> None:
        async with connected(platform) as pile:
            await pile.boot()
            await pile.status(2, "Preparing")
            order_no = await asyncio.to_thread(start_from_app)
            assert pile.remote_calls == [("start", {"id_tag": order_no, "connector_id": 2})]
            tx = await pile.start_tx(2, order_no, 500, at(1))
            # (1.76 kWh in 15 minutes: a 7 kW pile can; in 5 it could not, and the order
            # would be held for review)
            await pile.meter(2, tx, 1500, at(10))
            await asyncio.to_thread(stop_from_app, order_no)
            assert pile.remote_calls[-1] == ("stop", {"transaction_id": tx})
            await pile.stop(tx, 2260, at(16), "Remote")

    asyncio.run(scenario())
    [order] = platform.orders()
    assert order.state == "settled" and order.start_method == "remote"
    assert order.energy_wh == 1760 and order.stop_requested_by == "driver"


def test_case25_reboot_mid_session_with_late_stop_reason_reboot(platform: Platform) -> None:
    async def scenario() -> None:
        async with connected(platform) as pile:
            await pile.boot()
            tx = await pile.start_tx(1, "DEMO-CARD-01", 0, at(1))
            await pile.meter(1, tx, 800, at(10))
        # the pile reboots: its socket is gone
        platform.wait(lambda: not platform.pile_online(), "pile offline")
        assert [o.state for o in platform.orders()] == ["charging"]
        async with connected(platform) as pile:
            await pile.boot()
            await pile.status(1, "Available")  # after reboot, gun still plugged per case #25
            platform.wait(lambda: platform.orders()[0].state == "stopping", "awaiting record")
            await pile.stop(tx, 1200, at(25), "Reboot")

    asyncio.run(scenario())
    [order] = platform.orders()
    assert order.state == "settled" and order.stop_reason == "Reboot" and order.energy_wh == 1200


def test_case18_offline_mid_session_keeps_charging(platform: Platform) -> None:
    async def scenario() -> None:
        async with connected(platform) as pile:
            await pile.boot()
            tx = await pile.start_tx(1, "DEMO-CARD-01", 0, at(1))
        platform.wait(lambda: not platform.pile_online(), "pile offline")
        [order] = platform.orders()
        assert order.state == "charging" and order.offline_during
        async with connected(platform) as pile:
            await pile.boot()
            await pile.meter(1, tx, 1500, at(20))
            await pile.stop(tx, 1760, at(30), "EVDisconnected")

    asyncio.run(scenario())
    [order] = platform.orders()
    assert order.state == "settled" and order.energy_wh == 1760


@pytest.mark.parametrize(
    "glitch",
    [0xFFFFFFFF, 10**30, 1e30, "not-a-number"],
    ids=["0xFFFFFFFF", "10**30", "1e30", "non-numeric"],
)
def test_a_glitched_meter_stop_is_accepted_and_the_order_held_not_debited(
    platform: Platform, glitch: Any
) -> None:
    """Issue 15, item 2, over the wire: the pile gets its StopTransaction.conf (a refused
    record is retried forever), the order waits for an operator, the wallet is untouched."""

    def balance() -> int:
        with platform.app.app_context():
            driver = demo_driver()
            assert driver is not None
            return wallet.balance_of(driver.id)

    before = balance()

    async def scenario() -> None:
        async with connected(platform) as pile:
            await pile.boot()
            tx = await pile.start_tx(1, "DEMO-CARD-01", 1_000_000, at(1))
            await pile.meter(1, tx, 1_000_500, at(5))
            result = await pile.call(
                call.StopTransaction(
                    meter_stop=glitch, timestamp=at(6).isoformat(), transaction_id=tx,
                    reason="Local",
                ),
                skip_schema_validation=True,  # a real pile's glitch is no valid integer
            )  # fmt: skip
            assert result is not None  # answered with a .conf, not a CallError

    asyncio.run(scenario())
    [order] = platform.orders()
    assert order.state == "finished" and order.abnormal_reason == HELD_FOR_REVIEW
    assert order.total_fen is None and balance() == before
