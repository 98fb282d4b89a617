"""Settlement through the real pile event path: itemised bills, one debit per order,
coupon + bill + ledger in one transaction, arrears, the pile's own amounts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.billing import (
    arrears,
    bills,
    lost_bills,
    settlement,
)
from app.billing.models import Bill, BillAdjustment
from app.charging.port import PileAmounts
from app.extensions import db
from app.ledger import wallet
from app.ledger.models import WalletEntry
from app.promotions import coupons
from app.promotions.models import Coupon, CouponTemplate
from app.tenancy.scope import SYSTEM
from tests.support.money import World, bill_of, entries, outbox, recent


def test_case18_2020_bill_itemises_1_76_kwh_as_1_13_plus_0_62_is_1_75(world: World) -> None:
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0, samples=[(5, 500), (10, 1200)])
    world.stop(ref, t0 + timedelta(minutes=20), 1760)
    order = world.order(ref)
    bill = bill_of(order)
    assert order.state == "settled" and order.total_fen == 175
    assert (bill.energy_wh, bill.electricity_fen, bill.service_fen, bill.total_fen) == (
        1760, 113, 62, 175,
    )  # fmt: skip
    assert bill.service_discount_fen == bill.coupon_fen == bill.occupancy_fen == 0
    assert [(line.tier, line.energy_wh) for line in bill.lines] == [("flat", 1760)]
    assert sum(line.electricity_fen + line.service_fen for line in bill.lines) == 175
    assert (bill.paid_fen, bill.arrears_fen) == (175, 0)
    debit = entries(world.driver)[-1]
    assert (debit.amount_fen, debit.reason, debit.ref_id) == (-175, "charge", order.order_no)
    assert debit.idempotency_key == f"settle:{order.id}:1"
    assert world.balance() == 10_000 - 175 == wallet.ledger_sum(world.driver.id)
    [message] = outbox("charge_finished")
    assert message.payload["energy_kwh"] == "1.760" and message.payload["total_yuan"] == "1.75"
    assert message.payload["electricity_fen"] == 113 and message.payload["service_fen"] == 62


def test_without_samples_the_bill_uses_start_and_record(world: World) -> None:
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0)
    world.stop(ref, t0 + timedelta(minutes=30), 1760)
    bill = bill_of(world.order(ref))
    assert (bill.energy_wh, bill.total_fen) == (1760, 175)
    assert bill.started_at == t0 and bill.ended_at == t0 + timedelta(minutes=30)


def test_an_order_is_paid_once_however_often_it_is_settled(world: World) -> None:
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0, samples=[(10, 1000)])
    stop_at = t0 + timedelta(minutes=20)
    for _ in range(3):  # the pile repeats its record
        world.stop(ref, stop_at, 1760)
    order = world.order(ref)
    assert settlement.settle_order(order) is not None  # a direct second call amends nothing
    db.session.commit()
    charges = [e for e in entries(world.driver) if e.reason == "charge"]
    assert len(charges) == 1 and charges[0].amount_fen == -175
    assert db.session.scalar(select(func.count(Bill.id))) == 1
    assert db.session.scalar(select(func.count(BillAdjustment.id))) == 1
    db.session.add(Bill(order_id=order.id, order_no=order.order_no, operator_id=order.operator_id))
    with pytest.raises(IntegrityError):  # the database refuses a second bill too
        db.session.flush()
    db.session.rollback()


def test_live_bill_never_jumps_at_the_end(world: World) -> None:
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0, samples=[(5, 400), (12, 1100), (20, 1760)])
    live = bills.live_bill(world.order(ref))
    assert live is not None and not live.final
    world.stop(ref, t0 + timedelta(minutes=20), 1760)
    final = bills.live_bill(world.order(ref))
    assert final is not None and final.final
    fields = ("energy_wh", "electricity_fen", "service_fen", "service_discount_fen", "total_fen")
    assert [getattr(live, f) for f in fields] == [getattr(final, f) for f in fields]
    assert live.lines == final.lines


def test_wallet_that_cannot_cover_the_bill_pays_what_it_has_and_owes_the_rest(
    make_world: Callable[..., World],
) -> None:
    world = make_world(balance=100)
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0)
    world.stop(ref, t0 + timedelta(minutes=20), 1760)
    order = world.order(ref)
    bill = bill_of(order)
    assert (bill.total_fen, bill.paid_fen, bill.arrears_fen) == (175, 100, 75)
    assert world.balance() == 0 == wallet.ledger_sum(world.driver.id)
    assert arrears.outstanding_arrears_fen(world.driver.id) == 75
    wallet.post_entry(world.driver.id, 500, "topup", ref_type="payment", ref_id="P-2")
    db.session.commit()
    assert arrears.collect_all_arrears() == 75
    bill = bill_of(order)
    assert (bill.paid_fen, bill.arrears_fen) == (175, 0)
    assert world.balance() == 425 == wallet.ledger_sum(world.driver.id)
    assert arrears.collect_all_arrears() == 0  # nothing left: idempotent


def _template(world: World, **kw: Any) -> CouponTemplate:
    data = {"name": "测试券", "kind": "fixed", "amount_fen": 50, "validity_days": 30,
            "operator_id": world.operator.id, **kw}  # fmt: skip
    return coupons.create_template(SYSTEM, data)


def test_case6_coupon_use_payment_and_ledger_are_one_transaction(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    coupon = coupons.grant(SYSTEM, _template(world).id, world.driver.id, reason="客服补偿")[0]
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0)

    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(wallet, "post_entry", broken)
    world.stop(ref, t0 + timedelta(minutes=20), 1760)  # the record is kept all the same
    order = world.order(ref)
    assert order.state == "finished" and order.abnormal_reason == "settlement_failed"
    assert order.final_record_at is not None
    db.session.refresh(coupon)
    assert coupon.status == "available" and coupon.used_order_id is None  # nothing half-done
    assert db.session.scalar(select(func.count(Bill.id))) == 0
    monkeypatch.undo()
    assert lost_bills.settle_lost_bills() == [order.order_no]  # the job retries it
    bill = bill_of(order)
    db.session.refresh(coupon)
    assert coupon.status == "used" and coupon.used_order_id == order.id
    assert bill.coupon_id == coupon.id and bill.coupon_fen == coupon.used_amount_fen == 50
    assert bill.total_fen == 125
    debit = entries(world.driver)[-1]
    assert debit.amount_fen == -125 and debit.ref_id == order.order_no


def test_no_tariff_order_is_flagged_not_settled(world: World) -> None:
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0)
    order = world.order(ref)
    order.tariff_version_id = None
    db.session.commit()
    world.stop(ref, t0 + timedelta(minutes=20), 1760)
    order = world.order(ref)
    assert order.state == "finished" and order.abnormal_reason == "no_tariff"
    assert db.session.scalar(select(func.count(Bill.id))) == 0
    assert lost_bills.settle_lost_bills() == []


@pytest.mark.parametrize(
    ("amounts", "mismatch"),
    [
        (PileAmounts(electricity_fen=113, service_fen=62, total_fen=175), False),
        (PileAmounts(electricity_fen=113, service_fen=67, total_fen=180), True),
        (PileAmounts(total_fen=175, per_tier_fen={"flat": 175}), False),
        (PileAmounts(total_fen=175, per_tier_fen={"flat": 170, "peak": 5}), True),
    ],
)
def test_ykc_pile_amounts_are_kept_and_compared(
    make_world: Callable[..., World], amounts: PileAmounts, mismatch: bool
) -> None:
    world = make_world(protocol="ykc", code="55031412780001")
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0, samples=[(10, 880)])
    world.stop(ref, t0 + timedelta(minutes=20), 1760, pile_amounts=amounts)
    order = world.order(ref)
    bill = bill_of(order)
    assert bill.total_fen == 175, "ours is charged, whatever the pile says"
    assert bill.pile_total_fen == amounts.total_fen
    assert bill.amount_mismatch is mismatch
    assert (order.abnormal_reason == "amount_mismatch") is mismatch


def test_concurrent_looking_duplicate_coupon_is_not_used_twice(app: Flask, world: World) -> None:
    """Two orders of one driver and one coupon: the second bill takes no coupon."""
    coupons.grant(SYSTEM, _template(world).id, world.driver.id, reason="补偿")
    t0 = recent()
    world.connect(t0)
    first = world.start(t0, connector=1)
    second = world.start(t0 + timedelta(minutes=1), connector=2, card=world.card)
    world.stop(first, t0 + timedelta(minutes=20), 1760)
    world.stop(second, t0 + timedelta(minutes=21), 1760)
    used = [bill_of(world.order(r)).coupon_fen for r in (first, second)]
    assert sorted(used) == [0, 50]
    assert db.session.scalar(select(func.count(Coupon.id)).where(Coupon.status == "used")) == 1
    assert sum(e.amount_fen for e in entries(world.driver)) == world.balance()
    assert world.balance() == 10_000 - 125 - 175
    assert db.session.scalar(select(func.count(WalletEntry.id))) == 3
