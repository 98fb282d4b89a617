"""Coupons: validity (case #10), default choice (cases #9, #13) and the driver's own
choice, top-up offers (case #5 2019-10-28), revocation of a refunded top-up's coupons
(case #4 2019-10-15), grants with audit, limits, expiry and reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.billing import coupon_use
from app.billing.bills import TARIFF_SNAPSHOTS
from app.db import utcnow
from app.drivers import members
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.notices.models import OutboxMessage
from app.promotions import coupons
from app.promotions.models import Coupon, CouponTemplate
from app.state import part
from app.tenancy.models import AuditLog
from app.tenancy.scope import SYSTEM
from tests.support.money import World, bill_of, outbox, recent


def _template(world: World, **kw: Any) -> CouponTemplate:
    data = {"name": "券", "kind": "fixed", "amount_fen": 50, "validity_days": 30,
            "operator_id": world.operator.id, **kw}  # fmt: skip
    return coupons.create_template(SYSTEM, data)


def _grant(world: World, template: CouponTemplate, **kw: Any) -> Coupon:
    return coupons.grant(SYSTEM, template.id, world.driver.id, reason="测试", **kw)[0]


def _settle_one(world: World, wh: int = 1760) -> Any:
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0)
    world.stop(ref, t0 + timedelta(minutes=20), wh)
    return world.order(ref)


def test_case10_one_month_from_oct_14_is_valid_until_nov_13_23_59_59(world: World) -> None:
    template = _template(world, validity_days=None, validity_months=1)
    granted = datetime(2019, 10, 14, 2, 30, tzinfo=UTC)  # 10:30 in Asia/Shanghai
    coupon = _grant(world, template, now=granted)
    assert coupon.expires_at == datetime(2019, 11, 13, 16, 0, tzinfo=UTC)  # 11-14 00:00 +08
    assert coupons.view(coupon).valid_until == "2019-11-13 23:59:59"
    last_second = datetime(2019, 11, 13, 15, 59, 59, tzinfo=UTC)
    assert coupons.expire_coupons(last_second) == 0
    assert coupons.expire_coupons(coupon.expires_at) == 1
    db.session.refresh(coupon)
    assert coupon.status == "expired"


def test_fixed_date_validity_and_not_yet_valid_coupons(world: World) -> None:
    start = utcnow() + timedelta(days=1)
    template = _template(
        world, validity_days=None, valid_from=start, valid_until=start + timedelta(days=7)
    )
    _grant(world, template)
    order = _settle_one(world)
    assert bill_of(order).coupon_fen == 0, "a coupon not valid yet is not used"


def test_case13_largest_deduction_is_used_by_default(world: World) -> None:
    small = _grant(world, _template(world, amount_fen=30))
    big = _grant(world, _template(world, amount_fen=60))
    unreachable = _grant(world, _template(world, kind="threshold", amount_fen=150,
                                          threshold_fen=10_000))  # fmt: skip
    order = _settle_one(world)
    bill = bill_of(order)
    assert bill.coupon_id == big.id and bill.coupon_fen == 60 and bill.total_fen == 115
    for coupon, status in ((small, "available"), (big, "used"), (unreachable, "available")):
        db.session.refresh(coupon)
        assert coupon.status == status


def test_case9_equal_coupons_soonest_expiry_first_then_lowest_threshold(world: World) -> None:
    later = _grant(world, _template(world, validity_days=20))
    sooner_high = _grant(world, _template(world, validity_days=5, kind="threshold",
                                          threshold_fen=150))  # fmt: skip
    sooner_low = _grant(world, _template(world, validity_days=5, kind="threshold",
                                         threshold_fen=100))  # fmt: skip
    order = _settle_one(world)
    assert bill_of(order).coupon_id == sooner_low.id
    order2 = _settle_one(world)
    assert bill_of(order2).coupon_id == sooner_high.id
    order3 = _settle_one(world)
    assert bill_of(order3).coupon_id == later.id


def test_driver_may_choose_another_coupon_or_none_before_settlement(world: World) -> None:
    default = _grant(world, _template(world, amount_fen=60))
    other = _grant(world, _template(world, amount_fen=20))
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0, samples=[(5, 500)])
    order = world.order(ref)
    coupon_use.choose_coupon(order, other.id)
    world.stop(ref, t0 + timedelta(minutes=20), 1760)
    assert bill_of(world.order(ref)).coupon_id == other.id
    ref2 = world.start(t0 + timedelta(minutes=30))
    coupon_use.choose_coupon(world.order(ref2), None)
    world.stop(ref2, t0 + timedelta(minutes=40), 1760)
    bill2 = bill_of(world.order(ref2))
    assert bill2.coupon_id is None and bill2.total_fen == 175
    db.session.refresh(default)
    assert default.status == "available"
    with pytest.raises(Conflict):
        coupon_use.choose_coupon(world.order(ref2), default.id)  # settled already


def test_coupon_of_another_operator_or_station_is_not_applicable(world: World) -> None:
    scoped = _template(world, station_ids=[world.station.id])
    coupon = _grant(world, scoped)
    assert coupons.option_of(coupon).station_ids == frozenset({world.station.id})
    with pytest.raises(ValidationFailed) as err:
        _template(world, station_ids=[999_999])
    assert err.value.code == "COUPON_STATIONS_INVALID"
    t0 = recent()
    world.connect(t0)
    ref = world.start(t0)
    with pytest.raises(ValidationFailed):
        coupon_use.choose_coupon(world.order(ref), 424242)


def test_case5_2019_10_28_topup_offer_states_count_and_total(world: World) -> None:
    twenty = _template(world, name="满减券", kind="threshold", amount_fen=2000,
                       threshold_fen=5000)  # fmt: skip
    ten = _template(world, name="10元券", amount_fen=1000)
    offer = coupons.create_offer(
        SYSTEM,
        {"operator_id": world.operator.id, "min_topup_fen": 10_000,
         "items": [{"template_id": twenty.id, "quantity": 2},
                   {"template_id": ten.id, "quantity": 1}]},
    )  # fmt: skip
    [summary] = coupons.topup_offers(world.operator.id)
    assert (summary.coupon_count, summary.total_fen) == (3, 5000)
    assert summary.text == "充值满 100.00 元，送 3 张优惠券，共 50.00 元"
    assert coupons.grant_for_topup(world.driver.id, "wx-small", 9_999) is None
    grant = coupons.grant_for_topup(world.driver.id, "wx-4200001", 10_000)
    again = coupons.grant_for_topup(world.driver.id, "wx-4200001", 10_000)
    db.session.commit()
    assert grant is not None and again is not None and grant.id == again.id
    assert grant.offer_id == offer.id
    got = db.session.scalars(select(Coupon).where(Coupon.source_ref == "wx-4200001")).all()
    assert sorted(c.amount_fen for c in got) == [1000, 2000, 2000]


def test_case4_2019_10_15_refunded_topup_revokes_its_coupons(world: World) -> None:
    template = _template(world, amount_fen=50)
    coupons.create_offer(
        SYSTEM, {"operator_id": world.operator.id, "min_topup_fen": 5_000,
                 "items": [{"template_id": template.id, "quantity": 2}]},
    )  # fmt: skip
    coupons.grant_for_topup(world.driver.id, "wx-refunded", 5_000)
    db.session.commit()
    order = _settle_one(world)  # spends one of the two
    assert bill_of(order).coupon_fen == 50
    result = coupons.revoke_coupons_of_topup("wx-refunded")
    db.session.commit()
    assert len(result.revoked_ids) == 1 and len(result.used_ids) == 1
    assert result.used_amount_fen == 50
    statuses = db.session.scalars(
        select(Coupon.status).where(Coupon.source_ref == "wx-refunded").order_by(Coupon.id)
    ).all()
    assert sorted(statuses) == ["revoked", "used"]
    again = coupons.revoke_coupons_of_topup("wx-refunded")
    assert again.revoked_ids == () and again.used_amount_fen == 50
    log = db.session.scalars(select(AuditLog).where(AuditLog.action == "coupon.revoke_topup"))
    assert len(log.all()) == 2


def test_admin_grant_needs_a_reason_is_audited_and_respects_the_limit(world: World) -> None:
    template = _template(world, per_driver_limit=2)
    with pytest.raises(ValidationFailed):
        coupons.grant(SYSTEM, template.id, world.driver.id, reason=" ")
    coupons.grant(SYSTEM, template.id, world.driver.id, quantity=2, reason="投诉补偿")
    with pytest.raises(Conflict) as err:
        coupons.grant(SYSTEM, template.id, world.driver.id, reason="再补一张")
    assert err.value.code == "COUPON_LIMIT_REACHED"
    [row] = db.session.scalars(select(AuditLog).where(AuditLog.action == "coupon.grant")).all()
    assert row.reason == "投诉补偿" and row.after is not None and row.after["quantity"] == 2
    coupon = db.session.scalars(select(Coupon)).first()
    assert coupon is not None
    coupons.revoke_coupon(SYSTEM, coupon.id, reason="误发")
    with pytest.raises(Conflict):
        coupons.revoke_coupon(SYSTEM, coupon.id, reason="再撤一次")


def test_registration_grant_is_given_once(world: World) -> None:
    _template(world, registration_quantity=2)
    driver = members.create_driver(world.operator.id, openid="new-driver")
    assert len(coupons.grant_on_registration(driver)) == 2
    assert coupons.grant_on_registration(driver) == []
    db.session.commit()
    assert len(coupons.driver_coupons(driver.id)) == 2


def test_template_validation(world: World) -> None:
    for bad in (
        {"kind": "cash"},
        {"kind": "threshold", "amount_fen": 100},
        {"kind": "percent"},
        {"kind": "percent", "percent": "1.5"},
        {"validity_days": None},
        {"validity_months": 1},
    ):
        with pytest.raises(ValidationFailed):
            _template(world, **bad)
    percent = _template(world, kind="percent", percent="0.8", cap_fen=500, amount_fen=0)
    assert str(percent.percent) == "0.8000"


def test_expiring_soon_reminder_once_per_driver_and_day(world: World) -> None:
    now = utcnow()
    for days in (1, 2, 10):
        _grant(world, _template(world, validity_days=days))
    assert coupons.remind_expiring(now, days=3) == 1
    [message] = outbox("coupon_expiring")
    assert message.payload["count"] == 2 and message.driver_id == world.driver.id
    assert coupons.remind_expiring(now, days=3) == 0  # each coupon is mentioned once
    reminded = db.session.scalar(
        select(func.count(Coupon.id)).where(Coupon.reminded_at.is_not(None))
    )
    assert reminded == 2
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1


def test_tariff_snapshot_cache_is_per_app_not_per_process(world: World) -> None:
    """A module-level cache keyed by tariff version id served one database's tariff to
    another's orders (found when the suite ran in another order)."""
    order = _settle_one(world)
    cache = part(TARIFF_SNAPSHOTS)
    assert (order.tariff_version_id, order.timezone) in cache
