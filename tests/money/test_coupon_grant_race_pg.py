"""On PostgreSQL, with real commits: a grant to one driver (it holds the driver's wallet), a
top-up's coupons (the wallet too) and a grant to the driver's pricing group (it holds the
template) at the same moment never give the driver more coupons of a template than its
per-driver limit. Each race is made certain, not left to luck: the first grant holds its
locks with its coupon inserted but not committed while the second runs.

The group-first cases are the bug (a grant to one driver counted the coupons before it
touched the template the group grant held, then inserted one more); the group-second cases
guard the other order (the group grant's lock waits for the first grant's coupon)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from app.drivers import members
from app.errors import COUPON_LIMIT_REACHED
from app.extensions import db
from app.ledger import wallet
from app.ledger.models import Wallet
from app.notices.models import OutboxMessage
from app.promotions import coupons
from app.promotions.models import Coupon, CouponTemplate, TopUpGrant, TopUpOffer, TopUpOfferItem
from app.tenancy.models import AuditLog, Driver, Operator
from app.tenancy.scope import SYSTEM
from app.uow import unit_of_work
from tests.support.settings import ON_POSTGRES

HOLD_SECONDS = 0.6  # how long the first grant keeps its coupon uncommitted


def _world(app: Flask) -> dict[str, int]:
    with app.app_context():
        op = Operator(name=f"发券并发运营商-{uuid.uuid4().hex[:6]}", kind="sub")
        db.session.add(op)
        db.session.flush()
        driver = members.create_driver(
            op.id, openid=f"race-{uuid.uuid4().hex}", pricing_group="taxi"
        )
        template = CouponTemplate(operator_id=op.id, name="限领一张", kind="fixed", amount_fen=100,
                                  validity_days=30, per_driver_limit=1)  # fmt: skip
        db.session.add(template)
        db.session.flush()
        offer = TopUpOffer(operator_id=op.id, name="充值送券", min_topup_fen=100)
        offer.items.append(TopUpOfferItem(template_id=template.id, quantity=1))
        db.session.add(offer)
        db.session.commit()
        return {"operator": op.id, "driver": driver.id, "template": template.id, "offer": offer.id}


def _cleanup(app: Flask, ids: dict[str, int]) -> None:
    with app.app_context():
        db.session.execute(delete(TopUpGrant).where(TopUpGrant.driver_id == ids["driver"]))
        db.session.execute(delete(Coupon).where(Coupon.template_id == ids["template"]))
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.driver_id == ids["driver"]))
        db.session.execute(delete(AuditLog).where(AuditLog.operator_id == ids["operator"]))
        db.session.execute(delete(TopUpOfferItem).where(TopUpOfferItem.offer_id == ids["offer"]))
        db.session.execute(delete(TopUpOffer).where(TopUpOffer.id == ids["offer"]))
        db.session.execute(delete(CouponTemplate).where(CouponTemplate.id == ids["template"]))
        db.session.execute(delete(Wallet).where(Wallet.driver_id == ids["driver"]))
        db.session.execute(delete(Driver).where(Driver.id == ids["driver"]))
        db.session.execute(delete(Operator).where(Operator.id == ids["operator"]))
        db.session.commit()


def _single(ids: dict[str, int]) -> None:
    coupons.grant(SYSTEM, ids["template"], ids["driver"], reason="客服补发")


def _group(ids: dict[str, int]) -> None:
    coupons.grant_to_group(SYSTEM, ids["template"], "taxi", reason="出租车关怀",
                           request_id=f"race-{uuid.uuid4().hex[:12]}")  # fmt: skip


def _topup(ids: dict[str, int]) -> None:
    with unit_of_work():  # the payment notification's (grant_for_topup does not commit)
        wallet.lock_wallet(ids["driver"])  # the top-up's ledger entry holds it first
        grant = coupons.grant_for_topup(ids["driver"], f"race-pay-{uuid.uuid4().hex}", 10_000)
        assert grant is not None


Grant = Callable[[dict[str, int]], None]


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks need PostgreSQL")
@pytest.mark.parametrize(
    ("first", "second"),
    [(_single, _group), (_group, _single), (_topup, _group), (_group, _topup)],
    ids=["single-then-group", "group-then-single", "topup-then-group", "group-then-topup"],
)
def test_a_grant_to_one_driver_and_a_group_grant_at_once_never_exceed_the_per_driver_limit(
    _pg_app: Flask, first: Grant, second: Grant
) -> None:
    app = _pg_app
    ids = _world(app)
    inserted = threading.Event()
    errors: list[BaseException] = []
    refused: list[BaseException] = []

    def hold_first() -> None:
        with app.app_context():
            try:
                with unit_of_work():  # the grant joins it: nothing commits until the end
                    first(ids)
                    db.session.flush()
                    inserted.set()
                    time.sleep(HOLD_SECONDS)
            except BaseException as exc:
                errors.append(exc)
            finally:
                inserted.set()
                db.session.remove()

    def run_second() -> None:
        with app.app_context():
            try:
                assert inserted.wait(timeout=30)
                second(ids)
            except COUPON_LIMIT_REACHED as exc:  # the single grant refusing is right
                refused.append(exc)
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=hold_first), threading.Thread(target=run_second)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        with app.app_context():
            held = db.session.scalar(
                select(func.count(Coupon.id)).where(
                    Coupon.template_id == ids["template"], Coupon.driver_id == ids["driver"]
                )
            )
        assert held == 1  # the limit; the second grant gave nothing
        assert len(refused) == (1 if second is _single else 0)
    finally:
        _cleanup(app, ids)
