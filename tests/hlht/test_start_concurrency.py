"""Two query_start_charge with the same StartChargeSeq at once (a partner's retry racing
its first try) open one order and send one start; both answer that order (issue 11:
idempotent by StartChargeSeq, under concurrency too). With real commits, on a SQLite file
or a PostgreSQL schema of the test's own."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from app.charging.commands import COMMAND_PORT
from app.charging.models import ChargeOrder
from app.db import utcnow
from app.extensions import db
from app.hlht.models import RoamingOrder
from app.state import state_of
from tests.support.hlht import PartnerCaller, register_partner
from tests.support.money import build_world
from tests.support.ports import FakePort
from tests.support.settings import BASE_CONFIG, ON_POSTGRES, TEST_DB_URL
from wsgi import compose


class SlowPort(FakePort):
    """A pile that takes its time to accept: the second try arrives while the first waits."""

    def remote_start(self, *args: Any, **kw: Any) -> Any:
        threading.Event().wait(0.2)
        return super().remote_start(*args, **kw)


@pytest.fixture
def committing_app(tmp_path: Path) -> Iterator[Flask]:
    """An application whose units of work really commit (threads see each other)."""
    if ON_POSTGRES:
        schema = f"evop_start_race_{os.getpid()}"
        app = compose({**BASE_CONFIG, "DATABASE_URL": TEST_DB_URL, "SQLALCHEMY_ENGINE_OPTIONS": {
            "connect_args": {"options": f"-csearch_path={schema}"}}})  # fmt: skip
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    else:
        app = compose({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}"})
    with app.app_context():
        db.create_all()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        if ON_POSTGRES:
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        db.engine.dispose()


def _race(app: Flask, token: str, seq: str, connector: str) -> list[tuple[int, Any]]:
    """The same query_start_charge from two threads at once; their (Ret, Data)."""
    answers: list[tuple[int, Any]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def start() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                caller = PartnerCaller(app.test_client(), token=token)
                data = {"StartChargeSeq": seq, "ConnectorID": connector}
                answers.append(caller.call("query_start_charge", data))
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    return answers


def test_two_concurrent_starts_with_one_seq_open_one_order(committing_app: Flask) -> None:
    app = committing_app
    port = SlowPort()
    state_of(app)[COMMAND_PORT] = port
    with app.app_context():
        world = build_world(app, code="RACE-PILE-01")
        world.connect(utcnow() - timedelta(minutes=5))
        register_partner()
        db.session.commit()
        caller = PartnerCaller(app.test_client())
        caller.login()
        db.session.remove()
    connectors = ["RACE-PILE-01-1", "RACE-PILE-01-2", "RACE-PILE-01-1"]
    for n, connector in enumerate(connectors, start=1):
        with app.app_context():
            seq = caller.seq()
        answers = _race(app, caller.token, seq, connector)
        assert [ret for ret, _ in answers] == [0, 0], answers
        # both answer the one order: started, never "connector busy" or a 500 for the second
        assert [data["SuccStat"] for _, data in answers] == [0, 0], answers
        with app.app_context():
            rows = db.session.scalar(
                select(func.count()).select_from(RoamingOrder).where(
                    RoamingOrder.start_charge_seq == seq)
            )  # fmt: skip
            assert rows == 1
            assert db.session.scalar(select(func.count()).select_from(ChargeOrder)) == n
            # free the connector for the next round
            for order in db.session.scalars(select(ChargeOrder)):
                order.state = "failed"
            db.session.commit()
            db.session.remove()
    assert len(port.starts) == len(connectors)  # one command per StartChargeSeq
