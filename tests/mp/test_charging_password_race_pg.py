"""On PostgreSQL, with real commits: a driver's own reset of their pile password and the
console issuing them one at the same moment leave exactly one active password (the race is
forced: the reset holds its new password uncommitted while the console issues)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from flask import Flask
from sqlalchemy import delete, select

from app.drivers import cards, members
from app.extensions import db
from app.ledger.models import Wallet
from app.tenancy.models import AuditLog, Driver, DriverCard, Operator
from app.tenancy.scope import SYSTEM
from app.uow import unit_of_work
from tests.support.settings import ON_POSTGRES

HOLD_SECONDS = 0.6


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks need PostgreSQL")
def test_a_reset_and_a_console_issue_at_once_leave_one_active_password(_pg_app: Flask) -> None:
    app = _pg_app
    with app.app_context():
        op = Operator(name=f"密码并发运营商-{uuid.uuid4().hex[:6]}", kind="sub")
        db.session.add(op)
        db.session.flush()
        driver = members.create_driver(op.id, openid=f"pwd-race-{uuid.uuid4().hex}")
        db.session.commit()
        ids = {"operator": op.id, "driver": driver.id}
    inserted = threading.Event()
    errors: list[BaseException] = []
    shown: list[str | None] = []

    def reset_and_hold() -> None:
        with app.app_context():
            try:
                with unit_of_work():
                    own = db.session.get(Driver, ids["driver"])
                    assert own is not None
                    shown.append(cards.reset_own_password(own).password)
                    inserted.set()
                    time.sleep(HOLD_SECONDS)
            except BaseException as exc:
                errors.append(exc)
            finally:
                inserted.set()
                db.session.remove()

    def console_issue() -> None:
        with app.app_context():
            try:
                assert inserted.wait(timeout=30)
                shown.append(cards.issue_password(SYSTEM, ids["driver"], reason="来电").password)
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=reset_and_hold), threading.Thread(target=console_issue)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        with app.app_context():
            active = db.session.scalars(
                select(DriverCard.id_tag).where(
                    DriverCard.driver_id == ids["driver"], DriverCard.is_active.is_(True)
                )
            ).all()
        assert len(shown) == 2 and shown[1] is not None
        assert active == [cards.password_tag(shown[1])]  # the later one; the reset's disabled
    finally:
        with app.app_context():
            db.session.execute(delete(DriverCard).where(DriverCard.driver_id == ids["driver"]))
            db.session.execute(delete(AuditLog).where(AuditLog.operator_id == ids["operator"]))
            db.session.execute(delete(Wallet).where(Wallet.driver_id == ids["driver"]))
            db.session.execute(delete(Driver).where(Driver.id == ids["driver"]))
            db.session.execute(delete(Operator).where(Operator.id == ids["operator"]))
            db.session.commit()
