"""The wallet: balance changes only through ledger entries; sum of ledger = balance."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app.drivers import members
from app.errors import InsufficientBalance
from app.extensions import db
from app.ledger import wallet
from app.ledger.models import Wallet, WalletEntry
from app.ledger.wallet import balance_of, wallet_of
from app.tenancy.models import Driver, Operator
from tests.support.settings import ON_POSTGRES


def _driver(name: str = "账本测试运营商") -> Driver:
    op = Operator(name=name, kind="sub")
    db.session.add(op)
    db.session.flush()
    driver = members.create_driver(op.id, openid=f"{name}-openid")
    db.session.commit()
    return driver


def test_credit_debit_and_ledger_sum(app: Flask) -> None:
    driver = _driver()
    wallet.post_entry(driver.id, 5000, "topup", ref_type="payment", ref_id="P1")
    wallet.post_entry(driver.id, -1234, "charge", ref_type="order", ref_id="O1")
    db.session.commit()
    assert balance_of(driver.id) == 3766
    assert wallet.ledger_sum(driver.id) == 3766
    entries = db.session.scalars(select(WalletEntry).order_by(WalletEntry.id)).all()
    assert [e.balance_after_fen for e in entries] == [5000, 3766]


def test_debit_beyond_balance_is_refused_and_changes_nothing(app: Flask) -> None:
    driver = _driver()
    wallet.post_entry(driver.id, 100, "topup")
    db.session.commit()
    with pytest.raises(InsufficientBalance) as exc:
        wallet.post_entry(driver.id, -101, "charge")
    assert exc.value.code == "WALLET_INSUFFICIENT"
    db.session.rollback()
    assert db.session.get(Wallet, wallet_of(driver.id).id).balance_fen == 100  # type: ignore[union-attr]
    assert wallet.ledger_sum(driver.id) == 100


def test_idempotency_key_applies_once(app: Flask) -> None:
    driver = _driver()
    first = wallet.post_entry(driver.id, 5000, "topup", idempotency_key="wxpay:4200001")
    db.session.commit()
    again = wallet.post_entry(driver.id, 5000, "topup", idempotency_key="wxpay:4200001")
    db.session.commit()
    assert first.applied and not again.applied
    assert again.entry.id == first.entry.id
    assert balance_of(driver.id) == 5000


def test_amount_must_be_whole_fen(app: Flask) -> None:
    driver = _driver()
    for bad in (0, 1.5, True):
        with pytest.raises(Exception) as exc:
            wallet.post_entry(driver.id, bad, "topup")  # type: ignore[arg-type]
        assert getattr(exc.value, "code", "") == "AMOUNT_INVALID"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amounts=st.lists(st.integers(min_value=-20_000, max_value=20_000).filter(bool), max_size=30))
def test_ledger_sums_to_balance_for_any_sequence(app: Flask, amounts: list[int]) -> None:
    driver = _driver(f"property-{len(amounts)}-{sum(amounts)}-{id(amounts)}")
    for amount in amounts:
        try:
            wallet.post_entry(driver.id, amount, "topup" if amount > 0 else "charge")
            db.session.commit()
        except InsufficientBalance:
            db.session.rollback()
    balance = db.session.scalar(select(Wallet.balance_fen).where(Wallet.driver_id == driver.id))
    assert balance == wallet.ledger_sum(driver.id) >= 0


def test_admin_adjust_is_audited_and_scoped(
    client: Any, as_yc: dict[str, str], as_kc: dict[str, str]
) -> None:
    driver = db.session.scalar(select(Driver).where(Driver.nickname == "演示车主"))
    assert driver is not None
    path = f"/api/admin/v1/members/{driver.id}/wallet-adjustments"
    assert (
        client.post(
            path, json={"amount_fen": 500, "reason": "线下付款补录"}, headers=as_kc
        ).status_code
        == 404
    )
    resp = client.post(path, json={"amount_fen": 500, "reason": "线下付款补录"}, headers=as_yc)
    assert resp.status_code == 201 and resp.get_json()["balance_after_fen"] == 10_500
    resp = client.post(path, json={"amount_fen": -20_000, "reason": "误充扣回"}, headers=as_yc)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "WALLET_INSUFFICIENT"
    logs = client.get("/api/admin/v1/audit-logs?action=wallet.adjust", headers=as_yc).get_json()[
        "items"
    ]
    assert len(logs) == 1 and logs[0]["reason"] == "线下付款补录"
    assert logs[0]["before"] == {"balance_fen": 10_000}
    entries = client.get(
        f"/api/admin/v1/members/{driver.id}/wallet-entries", headers=as_yc
    ).get_json()
    assert entries["total"] == 2 and entries["items"][0]["actor_type"] == "admin"


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks need PostgreSQL")
def test_concurrent_debits_lose_no_update_on_postgres(_pg_app: Flask) -> None:
    """40 threads debit one wallet at once: FOR UPDATE serialises them exactly."""
    app = _pg_app
    with app.app_context():
        op = Operator(name="并发测试运营商", kind="sub")
        db.session.add(op)
        db.session.flush()
        driver = members.create_driver(op.id, openid="concurrency")
        wallet.post_entry(driver.id, 3000, "topup")
        db.session.commit()
        driver_id, op_id = driver.id, op.id
    errors: list[BaseException] = []
    outcomes: list[str] = []
    barrier = threading.Barrier(40)

    def debit(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                wallet.post_entry(driver_id, -100, "charge", ref_id=f"order-{i}")
                db.session.commit()
                outcomes.append("ok")
            except InsufficientBalance:
                db.session.rollback()
                outcomes.append("insufficient")
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=debit, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors, errors
        assert outcomes.count("ok") == 30 and outcomes.count("insufficient") == 10
        with app.app_context():
            balance = db.session.scalar(
                select(Wallet.balance_fen).where(Wallet.driver_id == driver_id)
            )
            assert balance == 0 == wallet.ledger_sum(driver_id)
    finally:
        with app.app_context():
            wallet_id = db.session.scalar(select(Wallet.id).where(Wallet.driver_id == driver_id))
            db.session.execute(delete(WalletEntry).where(WalletEntry.wallet_id == wallet_id))
            db.session.execute(delete(Wallet).where(Wallet.id == wallet_id))
            db.session.execute(delete(Driver).where(Driver.id == driver_id))
            db.session.execute(delete(Operator).where(Operator.id == op_id))
            db.session.commit()
