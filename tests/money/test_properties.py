"""Properties of stored bills beyond the pure engine's (tests/unit): for any meter curve,
member rate, wallet balance and later corrections, the stored lines sum to the bill, the
bill is paid plus owed exactly, and the ledger sums to the balance."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.billing.corrections import correct_order
from app.billing.models import Bill
from app.extensions import db
from app.ledger import wallet
from app.promotions import member_pricing
from app.tenancy.scope import SYSTEM
from tests.support.money import build_world, recent

# two-hour segments with alternating prices: sessions of a few hours get several lines
TWO_HOURLY = tuple(
    (f"{h:02d}:00", f"{h + 2:02d}:00" if h < 22 else "24:00",
     "peak" if h % 4 else "valley", "1.0213" if h % 4 else "0.3377",
     "0.6019" if h % 4 else "0.4441")
    for h in range(0, 24, 2)
)  # fmt: skip
_worlds = count(1)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(st.tuples(st.integers(1, 90), st.integers(0, 4000)), min_size=0, max_size=6),
    tail=st.integers(0, 3000),
    rate=st.sampled_from([None, "0.7", "0.85", "0"]),
    balance=st.integers(100, 3000),  # 1 yuan: the minimum to start
    corrections=st.lists(st.integers(0, 20_000), max_size=3),
)
def test_stored_bills_add_up_and_money_is_conserved(
    app: Flask,
    steps: list[tuple[int, int]],
    tail: int,
    rate: str | None,
    balance: int,
    corrections: list[int],
) -> None:
    n = next(_worlds)
    world = build_world(app, name=f"性质测试{n}", code=f"PROP-{n:05d}", segments=TWO_HOURLY,
                        balance=balance)  # fmt: skip
    if rate is not None:
        world.driver.pricing_group = "ride_hailing"
        member_pricing.set_discount(SYSTEM, group_code="ride_hailing", rate=rate,
                                    operator_id=world.operator.id)  # fmt: skip
    t0 = recent(10)
    world.connect(t0 - timedelta(minutes=1))
    minute, level = 0, 0
    samples = []
    for gap, rise in steps:
        minute += gap
        level += rise
        samples.append((minute, level))
    ref = world.start(t0, samples=samples)
    world.stop(ref, t0 + timedelta(minutes=minute + 5), level + tail)
    order = world.order(ref)
    for energy in corrections:
        correct_order(SYSTEM, order.id, energy_wh=energy, reason="性质测试")
    db.session.expire_all()
    bill = db.session.scalar(select(Bill).where(Bill.order_id == order.id))
    assert bill is not None
    lines = bill.lines
    assert sum(line.energy_wh for line in lines) == bill.energy_wh
    assert sum(line.electricity_fen for line in lines) == bill.electricity_fen
    assert sum(line.service_fen for line in lines) == bill.service_fen
    assert sum(line.service_discount_fen for line in lines) == bill.service_discount_fen
    assert bill.total_fen == (
        bill.electricity_fen + bill.service_fen - bill.service_discount_fen
        + bill.occupancy_fen - bill.coupon_fen
    )  # fmt: skip
    assert bill.paid_fen + bill.arrears_fen == bill.total_fen
    assert bill.paid_fen >= 0 and bill.arrears_fen >= 0
    assert world.balance() == balance - bill.paid_fen == wallet.ledger_sum(world.driver.id)
    assert bill.energy_wh == (corrections[-1] if corrections else level + tail)
