"""Member pricing (case #7): ride-hailing drivers pay 70% of the service fee (七折) on the
station page, in the live order and on the bill, per sub-operator, optionally per station."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.billing import bills
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.promotions import member_pricing
from app.tenancy.models import AuditLog, Driver
from app.tenancy.scope import SYSTEM
from tests.support.money import World, bill_of, recent

TOU = (
    ("00:00", "08:00", "valley", "0.3500", "0.5000"),
    ("08:00", "22:00", "peak", "1.0200", "0.6000"),
    ("22:00", "24:00", "flat", "0.6420", "0.5000"),
)


def _ride_hailing(world: World) -> None:
    world.driver.pricing_group = "ride_hailing"
    db.session.commit()


def test_case7_ride_hailing_pays_seventy_percent_on_page_live_and_bill(world: World) -> None:
    _ride_hailing(world)
    member_pricing.set_discount(
        SYSTEM, group_code="ride_hailing", rate="0.7", operator_id=world.operator.id,
        reason="网约车七折",
    )  # fmt: skip
    price = member_pricing.driver_price(world.driver, world.station)
    assert price.service_discount_rate == Decimal("0.7")
    assert price.current.service_price == Decimal("0.3523")
    assert price.current.member_service_price == Decimal("0.2466")  # 0.24661 half-up
    everyone = member_pricing.driver_price(None, world.station)
    assert everyone.current.member_service_price == Decimal("0.3523")
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0, samples=[(10, 900), (20, 1760)])
    live = bills.live_bill(world.order(ref))
    assert live is not None and live.service_discount_rate == Decimal("0.7")
    world.stop(ref, t0 + timedelta(minutes=20), 1760)
    bill = bill_of(world.order(ref))
    assert (bill.electricity_fen, bill.service_fen, bill.service_discount_fen) == (113, 62, 19)
    assert bill.total_fen == 113 + 43 == live.total_fen
    assert bill.pricing_group == "ride_hailing" and bill.service_discount_rate == Decimal("0.7")


def test_the_rate_is_frozen_when_the_driver_first_sees_the_order(world: World) -> None:
    _ride_hailing(world)
    member_pricing.set_discount(SYSTEM, group_code="ride_hailing", rate="0.7",
                                operator_id=world.operator.id)  # fmt: skip
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0, samples=[(10, 1760)])
    seen = bills.live_bill(world.order(ref))
    member_pricing.set_discount(SYSTEM, group_code="ride_hailing", rate="0.9",
                                operator_id=world.operator.id)  # fmt: skip
    world.stop(ref, t0 + timedelta(minutes=10), 1760)
    assert seen is not None and bill_of(world.order(ref)).total_fen == seen.total_fen


def test_a_station_rate_wins_over_the_operator_rate(make_world: Callable[..., World]) -> None:
    world = make_world(segments=TOU)
    second = make_world(code="MONEY-PILE-02", operator=world.operator)
    member_pricing.set_discount(SYSTEM, group_code="taxi", rate="0.8",
                                operator_id=world.operator.id)  # fmt: skip
    member_pricing.set_discount(SYSTEM, group_code="taxi", rate="0.5",
                                station_id=second.station.id)  # fmt: skip
    assert member_pricing.discount_rate("taxi", world.station) == Decimal("0.8")
    assert member_pricing.discount_rate("taxi", second.station) == Decimal("0.5")
    assert member_pricing.discount_rate("ride_hailing", world.station) is None
    assert member_pricing.discount_rate("none", world.station) is None
    driver = db.session.get(Driver, world.driver.id)
    assert driver is not None
    driver.pricing_group = "taxi"
    price = member_pricing.driver_price(driver, world.station, recent(0))
    assert [s.member_service_price for s in price.segments] == [
        Decimal("0.4000"), Decimal("0.4800"), Decimal("0.4000"),
    ]  # fmt: skip
    assert [s.tier for s in price.segments] == ["valley", "peak", "flat"]


def test_operators_add_groups_and_discounts_are_validated_and_audited(world: World) -> None:
    group = member_pricing.create_group(
        SYSTEM, "logistics", "物流车", operator_id=world.operator.id
    )
    with pytest.raises(Conflict):
        member_pricing.create_group(SYSTEM, "logistics", "again", operator_id=world.operator.id)
    with pytest.raises(ValidationFailed):
        member_pricing.create_group(SYSTEM, "bad code!", "x", operator_id=world.operator.id)
    for bad in ("70", "1.5", "0.12345", "-0.1", "abc"):
        with pytest.raises(ValidationFailed):
            member_pricing.set_discount(SYSTEM, group_code="logistics", rate=bad,
                                        operator_id=world.operator.id)  # fmt: skip
    with pytest.raises(NotFound):
        member_pricing.set_discount(SYSTEM, group_code="ghost", rate="0.9",
                                    operator_id=world.operator.id)  # fmt: skip
    row = member_pricing.set_discount(SYSTEM, group_code=group.code, rate="0.85",
                                      operator_id=world.operator.id)  # fmt: skip
    codes = [g.code for g in member_pricing.list_groups(SYSTEM)]
    assert codes[:2] == ["ride_hailing", "taxi"] and "logistics" in codes
    member_pricing.remove_discount(SYSTEM, row.id, reason="活动结束")
    assert member_pricing.discount_rate("logistics", world.station) is None
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["pricing_group.create", "service_discount.set", "service_discount.remove"]
