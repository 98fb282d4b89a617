"""On PostgreSQL, with real commits: 50 concurrent settlements (every order twice at once)
and 25 top-ups on one wallet lose no update and never pay one order twice."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update

from app.billing import arrears, settlement
from app.billing.models import Bill, BillAdjustment, BillLine
from app.catalogue.models import Connector, Pile, Station, Tariff, TariffSegment, TariffVersion
from app.charging.commands import COMMAND_PORT, NoPileLink
from app.charging.models import ChargeOrder, OrderTerms
from app.drivers import driver_orders
from app.errors import DomainError
from app.extensions import db
from app.ledger import wallet
from app.ledger.models import Wallet, WalletEntry
from app.ledger.wallet import wallet_of
from app.notices.models import OutboxMessage
from app.state import state_of
from app.tenancy.models import Driver, DriverCard, Operator
from tests.support.money import build_world, recent
from tests.support.ports import FakePort
from tests.support.settings import ON_POSTGRES

ORDERS = 25
TOPUPS = 25
START = ORDERS * 175  # fen in the wallet before the races


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks need PostgreSQL")
def test_50_concurrent_settlements_and_topups_on_one_wallet(_pg_app: Flask) -> None:
    app = _pg_app
    with app.app_context():
        # enough for every bill whatever the order of the races: a settlement that found
        # the wallet empty would post no charge entry, and the count below would depend on
        # thread scheduling (it failed so on a loaded machine)
        world = build_world(app, name="并发结算运营商", code="CONCURRENT-01", balance=START)
        t0 = recent(2)
        order_ids = []
        for i in range(ORDERS):
            order = ChargeOrder(
                order_no=f"CONC{i:06d}", operator_id=world.operator.id,
                station_id=world.station.id, pile_id=world.pile.id,
                connector_id=world.pile.connectors[0].id, connector_number=1,
                driver_id=world.driver.id, id_tag=world.card, start_method="card",
                state="finished", pile_session_ref=f"conc-{i}",
                tariff_version_id=world.station.tariff.current_version_id,  # type: ignore[union-attr]
                started_at=t0, stopped_at=t0 + timedelta(minutes=20),
                energy_ended_at=t0 + timedelta(minutes=20), final_record_at=t0,
                energy_wh=1760, meter_start_wh=0, meter_stop_wh=1760,
            )  # fmt: skip
            db.session.add(order)
            db.session.flush()
            order_ids.append(order.id)
        db.session.commit()
        ids = {
            "operator": world.operator.id, "driver": world.driver.id,
            "wallet": wallet_of(world.driver.id).id, "station": world.station.id,
            "pile": world.pile.id, "tariff": world.station.tariff_id,
        }  # fmt: skip
    errors: list[BaseException] = []
    barrier = threading.Barrier(2 * ORDERS + TOPUPS)

    def settle(order_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                order = db.session.get(ChargeOrder, order_id)
                assert order is not None
                settlement.settle_order(order)
                db.session.commit()
            except BaseException as exc:  # surfaced below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    def top_up(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                wallet.post_entry(
                    ids["driver"], 100, "topup", ref_type="payment", ref_id=f"conc-{i}",
                    idempotency_key=f"conc-topup-{i}",
                )  # fmt: skip
                db.session.commit()
            except BaseException as exc:
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=settle, args=(oid,)) for oid in order_ids * 2]
    threads += [threading.Thread(target=top_up, args=(i,)) for i in range(TOPUPS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not errors, errors[:3]
        with app.app_context():
            bills = db.session.scalars(select(Bill).where(Bill.order_id.in_(order_ids))).all()
            assert len(bills) == ORDERS and all(b.total_fen == 175 for b in bills)
            charges = db.session.scalars(
                select(WalletEntry).where(
                    WalletEntry.wallet_id == ids["wallet"], WalletEntry.reason == "charge"
                )
            ).all()
            assert len(charges) == ORDERS and len({c.ref_id for c in charges}) == ORDERS
            paid = sum(b.paid_fen for b in bills)
            assert paid + sum(b.arrears_fen for b in bills) == ORDERS * 175
            assert paid == -sum(c.amount_fen for c in charges)
            balance = db.session.scalar(
                select(Wallet.balance_fen).where(Wallet.id == ids["wallet"])
            )
            assert balance == START + TOPUPS * 100 - paid == wallet.ledger_sum(ids["driver"])
            adjustments = db.session.scalar(
                select(func.count(BillAdjustment.id)).where(
                    BillAdjustment.bill_id.in_([b.id for b in bills])
                )
            )
            assert adjustments == ORDERS  # the losers of each race changed nothing
    finally:
        with app.app_context():
            _cleanup(order_ids, ids)


def _cleanup(order_ids: list[int], ids: dict[str, int]) -> None:
    bill_ids = select(Bill.id).where(Bill.order_id.in_(order_ids))
    db.session.execute(delete(BillAdjustment).where(BillAdjustment.bill_id.in_(bill_ids)))
    db.session.execute(delete(BillLine).where(BillLine.bill_id.in_(bill_ids)))
    db.session.execute(delete(Bill).where(Bill.order_id.in_(order_ids)))
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.driver_id == ids["driver"]))
    db.session.execute(delete(OrderTerms).where(OrderTerms.order_id.in_(order_ids)))
    db.session.execute(delete(WalletEntry).where(WalletEntry.wallet_id == ids["wallet"]))
    db.session.execute(delete(ChargeOrder).where(ChargeOrder.id.in_(order_ids)))
    db.session.execute(delete(DriverCard).where(DriverCard.driver_id == ids["driver"]))
    db.session.execute(delete(Wallet).where(Wallet.id == ids["wallet"]))
    db.session.execute(delete(Driver).where(Driver.id == ids["driver"]))
    db.session.execute(delete(Connector).where(Connector.pile_id == ids["pile"]))
    db.session.execute(delete(Pile).where(Pile.id == ids["pile"]))
    db.session.execute(delete(Station).where(Station.id == ids["station"]))
    db.session.execute(
        update(Tariff).where(Tariff.id == ids["tariff"]).values(current_version_id=None)
    )
    versions = select(TariffVersion.id).where(TariffVersion.tariff_id == ids["tariff"])
    db.session.execute(delete(TariffSegment).where(TariffSegment.version_id.in_(versions)))
    db.session.execute(delete(TariffVersion).where(TariffVersion.tariff_id == ids["tariff"]))
    db.session.execute(delete(Tariff).where(Tariff.id == ids["tariff"]))
    db.session.execute(delete(Operator).where(Operator.id == ids["operator"]))
    db.session.commit()


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks need PostgreSQL")
def test_collecting_arrears_never_deadlocks_with_a_correction_of_an_owing_order(
    _pg_app: Flask,
) -> None:
    """Lock order is order, coupon, wallet. Collecting arrears used to lock the first owing
    order, then the wallet, then the next order: with a correction holding the second order
    and waiting for the wallet, PostgreSQL found a deadlock and killed one of the two."""
    app = _pg_app
    with app.app_context():
        world = build_world(app, name="欠款锁顺序运营商", code="ARREARS-LOCK-01", balance=0)
        t0 = recent(2)
        order_ids = []
        for i in range(2):
            order = ChargeOrder(
                order_no=f"ARRLOCK{i:04d}", operator_id=world.operator.id,
                station_id=world.station.id, pile_id=world.pile.id,
                connector_id=world.pile.connectors[0].id, connector_number=1,
                driver_id=world.driver.id, id_tag=world.card, start_method="card",
                state="finished", pile_session_ref=f"arrlock-{i}",
                tariff_version_id=world.station.tariff.current_version_id,  # type: ignore[union-attr]
                started_at=t0, stopped_at=t0 + timedelta(minutes=20),
                energy_ended_at=t0 + timedelta(minutes=20), final_record_at=t0,
                energy_wh=1760, meter_start_wh=0, meter_stop_wh=1760,
            )  # fmt: skip
            db.session.add(order)
            db.session.flush()
            order_ids.append(order.id)
            settlement.settle_order(order)  # an empty wallet: the whole bill is owed
        db.session.commit()
        owed = arrears.outstanding_arrears_fen(world.driver.id)
        assert owed == 2 * 175
        wallet.post_entry(world.driver.id, 1000, "topup", idempotency_key="arrlock-topup")
        db.session.commit()
        ids = {
            "operator": world.operator.id, "driver": world.driver.id,
            "wallet": wallet_of(world.driver.id).id, "station": world.station.id,
            "pile": world.pile.id, "tariff": world.station.tariff_id,
        }  # fmt: skip
    errors: list[BaseException] = []
    second_locked = threading.Event()

    def correction_of_the_second_order() -> None:
        with app.app_context():
            try:
                order = db.session.get(ChargeOrder, order_ids[1])
                assert order is not None
                settlement.lock_order(order)
                second_locked.set()
                time.sleep(0.6)  # the collector has taken what it can meanwhile
                wallet.lock_wallet(ids["driver"])
                db.session.commit()
            except BaseException as exc:  # surfaced below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    def collector() -> None:
        with app.app_context():
            try:
                assert second_locked.wait(10)
                arrears.collect_arrears(ids["driver"])
                db.session.commit()
            except BaseException as exc:
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=correction_of_the_second_order),
               threading.Thread(target=collector)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    try:
        assert not errors, errors
        with app.app_context():
            assert arrears.outstanding_arrears_fen(ids["driver"]) == 0
            assert wallet.ledger_sum(ids["driver"]) == 1000 - 2 * 175
    finally:
        with app.app_context():
            _cleanup(order_ids, ids)


def _start_world(app: Flask, name: str, code: str) -> tuple[FakePort, int, dict[str, int]]:
    """A funded driver at a pile of its own, and a fake pile that records the starts."""
    port = FakePort()
    state_of(app)[COMMAND_PORT] = port
    with app.app_context():
        world = build_world(app, name=name, code=code, balance=10_000)
        ids = {
            "operator": world.operator.id, "driver": world.driver.id,
            "wallet": wallet_of(world.driver.id).id, "station": world.station.id,
            "pile": world.pile.id, "tariff": world.station.tariff_id,
        }  # fmt: skip
        return port, world.pile.connectors[0].id, ids


def _starts_at_once(
    app: Flask, ids: dict[str, int], connector_id: int, request_ids: list[str]
) -> tuple[list[str], list[str], list[BaseException]]:
    """One thread per request id, released together: the order numbers answered, the
    codes of the domain's refusals, and anything else raised."""
    barrier = threading.Barrier(len(request_ids))
    answers: list[str] = []
    refusals: list[str] = []
    errors: list[BaseException] = []

    def start(request_id: str) -> None:
        with app.app_context():
            try:
                driver = db.session.get(Driver, ids["driver"])
                assert driver is not None
                barrier.wait(timeout=60)
                result = driver_orders.start(driver, connector_id, request_id)
                answers.append(result.order.order.order_no)
            except DomainError as exc:
                refusals.append(exc.code)
            except BaseException as exc:  # surfaced by the caller
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=start, args=(r,)) for r in request_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return answers, refusals, errors


def _drivers_orders(ids: dict[str, int]) -> list[ChargeOrder]:
    return list(
        db.session.scalars(select(ChargeOrder).where(ChargeOrder.driver_id == ids["driver"]))
    )


def _end_start_world(app: Flask, ids: dict[str, int]) -> None:
    state_of(app)[COMMAND_PORT] = NoPileLink()
    with app.app_context():
        _cleanup([o.id for o in _drivers_orders(ids)], ids)


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent commits need PostgreSQL")
def test_identical_start_requests_at_once_all_answer_the_same_order(_pg_app: Flask) -> None:
    """Issue 15, item 8: eight copies of one start request (a driver's double tap, a
    retrying network) sent at once: every one answers the one order, none a 500."""
    app = _pg_app
    port, connector_id, ids = _start_world(app, "同时启动运营商", "SAME-START-01")
    try:
        copies = 8
        answers, refusals, errors = _starts_at_once(
            app, ids, connector_id, ["double-tap-0001"] * copies
        )
        assert not errors and not refusals, (errors, refusals)
        assert len(answers) == copies and len(set(answers)) == 1
        with app.app_context():
            assert len(_drivers_orders(ids)) == 1
            assert len(port.starts) == 1  # and the pile was told once
    finally:
        _end_start_world(app, ids)


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent commits need PostgreSQL")
def test_concurrent_app_starts_on_one_connector_open_one_order_and_one_remote_start(
    _pg_app: Flask,
) -> None:
    """Issue 15, item 7: five different start requests on one connector at once (five taps
    of five drivers; here five request ids) used to open five orders and send five
    RemoteStarts. The connector's running-order index lets one through; the others answer
    CONNECTOR_BUSY (a 409), none a 500."""
    app = _pg_app
    port, connector_id, ids = _start_world(app, "抢桩运营商", "RACE-START-01")
    try:
        copies = 5
        answers, refusals, errors = _starts_at_once(
            app, ids, connector_id, [f"race-{n:04d}" for n in range(copies)]
        )
        assert not errors, errors
        assert len(answers) == 1 and len(refusals) == copies - 1
        assert all(code in ("CONNECTOR_BUSY", "DRIVER_HAS_ACTIVE_ORDER") for code in refusals)
        with app.app_context():
            assert len(_drivers_orders(ids)) == 1
            assert len(port.starts) == 1
    finally:
        _end_start_world(app, ids)
