"""YKC v1.6 piles against the real domain, over real sockets (issue: pile link, "done
means": the same scenarios as OCPP over TCP). Each scenario must leave exactly one correct
order. A file SQLite database lets the server thread and the test thread each use their
own connections.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.catalogue.models import Pile
from app.charging import orders, starts
from app.charging.commands import COMMAND_PORT
from app.charging.models import HELD_FOR_REVIEW, ChargeOrder
from app.charging.port import CommandOutcome
from app.demo import demo_driver, seed_demo
from app.extensions import db
from app.ledger import wallet
from app.state import state_of
from pile_link.group_commit import GroupCommitEvents
from pile_link.registry import ConnectionRegistry, LocalCommandPort
from pile_link.ykc import (
    BillingModelCheck,
    BillingModelCheckReply,
    CardStartReply,
    CardStartRequest,
    LoginReply,
    RemoteStart,
    RemoteStartReply,
    TransactionRecordAck,
)
from pile_link.ykc.server import YkcConfig, YkcServer, YkcServerThread
from tests.pile_link.test_ykc_server import Pile as YkcPile
from tests.pile_link.test_ykc_server import realtime, record
from tests.support.ports import pile_events
from tests.support.settings import BASE_CONFIG
from wsgi import compose

CODE = "55031412782305"  # the demo seed's YKC pile, two guns
CARD = "D14B0A54"
DEADLINE = 60.0  # a wait for what must happen: generous, the suites run side by side


class Platform:
    def __init__(self, app: Flask, port: int) -> None:
        self.app = app
        self.port = port

    def orders(self) -> list[ChargeOrder]:
        with self.app.app_context():
            rows = list(db.session.scalars(select(ChargeOrder).order_by(ChargeOrder.id)))
            db.session.expunge_all()
            return rows

    def pile_online(self) -> bool:
        with self.app.app_context():
            pile = db.session.scalar(select(Pile).where(Pile.code == CODE))
            return bool(pile and pile.online)

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.01)

    def pile(self) -> YkcPile:
        pile = YkcPile(self.port, CODE)
        assert pile.login().result == LoginReply.ACCEPTED
        return pile


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    app = compose({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'ykc.sqlite3'}"})
    with app.app_context():
        db.create_all()
        seed_demo()
        # the demo driver already owns the YKC card "D14B0A54" (seed_demo)
        db.session.remove()
    registry = ConnectionRegistry()
    state_of(app)[COMMAND_PORT] = LocalCommandPort(registry)
    server = YkcServer(
        GroupCommitEvents(pile_events(app)),  # composed as in PileLinkRuntime
        registry,
        host="127.0.0.1",
        port=0,
        config=YkcConfig(finish_timeout=5.0),
    )
    thread = YkcServerThread(server, drain_timeout=2.0)
    _, port = thread.start()
    try:
        yield Platform(app, port)
    finally:
        thread.stop()
        with app.app_context():
            db.engine.dispose()


def card_start(pile: YkcPile) -> str:
    pile.send(
        CardStartRequest(pile_code=CODE, gun_no=1, start_mode=1, needs_password=0, card_no=CARD)
    )
    _, reply = pile.expect(CardStartReply, DEADLINE)
    assert reply.authorized == 1, reply
    assert reply.serial.startswith(CODE + "01") and len(reply.serial) == 32
    return reply.serial


def test_card_start_realtime_and_record_make_one_finished_order(platform: Platform) -> None:
    with platform.pile() as pile:
        serial = card_start(pile)
        [order] = platform.orders()
        assert (order.state, order.pile_session_ref, order.id_tag) == ("charging", serial, CARD)
        pile.send(realtime(serial=serial, energy=8800, pile_code=CODE))
        platform.wait(lambda: platform.orders()[0].energy_wh == 880, "the meter sample")
        for _ in range(2):  # a repeated record is confirmed again and changes nothing
            pile.send(record(serial, stop_reason=0x45, pile_code=CODE))
            _, ack = pile.expect(TransactionRecordAck, DEADLINE)
            assert ack.serial == serial and ack.result == 0
            [order] = platform.orders()  # committed before the 0x40 was sent
            assert order.state in ("finished", "settled")
            assert (order.energy_wh, order.stop_reason) == (1760, "0x45")
            assert order.pile_amounts is not None and order.pile_amounts["total_fen"] == 175


def test_remote_start_from_the_app(platform: Platform) -> None:
    app = platform.app

    def start() -> tuple[str, str | None, CommandOutcome | None]:
        with app.app_context():
            driver = demo_driver()
            assert driver is not None
            outcome = starts.request_remote_start(driver, orders.require_connector(CODE, 2))
            command = outcome.command.outcome if outcome.command else None
            return outcome.order.order_no, outcome.order.pile_session_ref, command

    with platform.pile() as pile, ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(start)
        frame, command = pile.expect(RemoteStart, DEADLINE)
        assert command.gun_no == 2 and command.balance_fen == 10_000
        pile.send(
            RemoteStartReply(
                serial=command.serial, pile_code=CODE, gun_no=2, result=1, fail_reason=0
            ),
            seq=frame.seq,
        )
        order_no, serial, outcome = future.result(DEADLINE)
        assert (serial, outcome) == (command.serial, CommandOutcome.ACCEPTED)
        platform.wait(lambda: platform.orders()[0].state == "charging", "the remote session")
        [order] = platform.orders()
        assert (order.order_no, order.start_method) == (order_no, "remote")


def test_case18_2019_offline_and_reboot_mid_session_leave_the_order_charging(
    platform: Platform,
) -> None:
    pile = platform.pile()
    serial = card_start(pile)
    pile.send(realtime(serial=serial, energy=5000, pile_code=CODE))
    platform.wait(lambda: platform.orders()[0].energy_wh == 500, "the meter sample")
    pile.close()  # the pile drops off
    platform.wait(lambda: not platform.pile_online(), "the pile offline")
    assert platform.orders()[0].state == "charging"  # offline is not finished
    with platform.pile() as again:  # case #25: back after a reboot, gun still plugged
        platform.wait(platform.pile_online, "the pile online")
        again.send(realtime(serial="0" * 32, status=2, plugged=1, energy=0, pile_code=CODE))
        # the worker answers in order: once this is answered, the status has been handled
        again.send(BillingModelCheck(pile_code=CODE, model_no="0000"))
        again.expect(BillingModelCheckReply, DEADLINE)
        assert platform.orders()[0].state == "charging"
        again.send(record(serial, stop_reason=0x83, pile_code=CODE))  # 充电桩断电
        again.expect(TransactionRecordAck, DEADLINE)
    [order] = platform.orders()
    assert order.state in ("finished", "settled") and order.energy_wh == 1760
    assert order.offline_during


def test_a_glitched_ykc_record_is_confirmed_and_the_order_held_not_debited(
    platform: Platform,
) -> None:
    """Issue 15, item 2, over YKC: a record whose energy fields read 0xFFFFFFFF is
    confirmed (0x40 result 0: an unconfirmed record is sent again and again), the order
    waits for an operator and the card holder's wallet is untouched."""

    def balance() -> int:
        with platform.app.app_context():
            driver = demo_driver()
            assert driver is not None
            return wallet.balance_of(driver.id)

    before = balance()
    with platform.pile() as pile:
        serial = card_start(pile)
        glitch = dataclasses.replace(
            record(serial, stop_reason=0x45, pile_code=CODE),
            total_energy=0xFFFFFFFF,
            lossy_total_energy=0xFFFFFFFF,
        )
        pile.send(glitch)
        _, ack = pile.expect(TransactionRecordAck, DEADLINE)
        assert ack.serial == serial and ack.result == 0
    [order] = platform.orders()
    assert order.state == "finished" and order.abnormal_reason == HELD_FOR_REVIEW
    assert order.total_fen is None and balance() == before
