"""The demo's month of history (``flask seed-demo`` only): orders played through the pile
events and settled by the real engine at their stop time, both sub-operators, faults,
e-stops, disconnections, a meter reading; 云创's top-up offer; nothing added twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.billing import settlement
from app.billing.models import Bill, BillLine, StationMeterReading
from app.catalogue.models import FaultRecord, PileOnlinePeriod
from app.charging.models import ChargeOrder, MeterSampleRecord
from app.charging.terms import freeze_terms
from app.demo_history import HISTORY_DAYS, seed_demo_history
from app.extensions import db
from app.ledger import wallet
from app.ledger.models import Wallet, WalletEntry
from app.notices.models import NotificationAttempt, OutboxMessage, OutboxStatus
from app.payments.dashboard import overview
from app.promotions import coupons
from app.promotions.models import CouponTemplate, TopUpOffer
from app.tenancy.admin_auth import actor_for_user
from app.tenancy.models import AdminUser, Operator

NOW = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)  # 14:30 in Shenzhen
COUNTED = (ChargeOrder, Bill, BillLine, FaultRecord, PileOnlinePeriod, MeterSampleRecord,
           WalletEntry, StationMeterReading, TopUpOffer, CouponTemplate)  # fmt: skip


def _counts() -> list[int]:
    return [db.session.scalar(select(func.count()).select_from(m)) or 0 for m in COUNTED]


def _op(name: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    assert op is not None
    return op


def test_demo_history_is_priced_by_the_engine_and_seeded_once(app: Flask, demo: Any) -> None:
    summary = seed_demo_history(now=NOW)
    assert summary.created and summary.orders > 150 and summary.faults and summary.disconnections
    counts = _counts()

    orders = db.session.scalars(select(ChargeOrder)).all()
    assert len(orders) == summary.orders
    assert {o.state for o in orders} == {"settled"} and {o.abnormal_reason for o in orders} == {""}
    assert {o.operator_id for o in orders} == {_op("广东云创").id, _op("深圳快充").id}
    first = NOW - timedelta(days=HISTORY_DAYS + 1)
    for order in orders:
        assert first <= order.started_at < order.stopped_at < NOW
        row = settlement.bill_of(order.id)
        assert row is not None and row.settled_at == order.stopped_at  # counted that day
        again = settlement.reprice(order, row, freeze_terms(order), estimated=False,
                                   occupancy_fen=0)  # fmt: skip
        assert again is not None and again.total_fen == row.total_fen == order.total_fen > 0
        assert row.arrears_fen == 0
    tiers = set(db.session.scalars(select(BillLine.tier).distinct()))
    assert tiers == {"sharp", "peak", "flat", "valley"}

    # every wallet is its ledger, and each debit is dated when its bill was settled
    for w in db.session.scalars(select(Wallet)):
        assert wallet.ledger_sum(w.driver_id) == w.balance_fen >= 0
    debit = db.session.scalars(select(WalletEntry).where(WalletEntry.ref_type == "order")).first()
    assert debit is not None
    paid = db.session.scalar(select(ChargeOrder).where(ChargeOrder.order_no == debit.ref_id))
    assert paid is not None and debit.created_at == paid.stopped_at

    estops = db.session.scalars(
        select(FaultRecord).where(FaultRecord.code == "EmergencyStop")
    ).all()
    assert estops and all(f.order_id is not None and f.ended_at is not None for f in estops)
    assert db.session.scalar(
        select(func.count()).where(PileOnlinePeriod.offline_reason == "heartbeat_timeout")
    )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(PileOnlinePeriod)
            .where(PileOnlinePeriod.offline_at.is_(None))
        )
        == 0
    )  # the demo piles are offline until a pile connects
    reading = db.session.scalars(select(StationMeterReading)).one()
    assert reading.month.isoformat() == "2026-10-01" and reading.reading_wh > 0

    # the overview has a month to show, scoped per sub-operator
    kc = db.session.scalar(select(AdminUser).where(AdminUser.username == "kc_admin"))
    assert kc is not None
    board = overview(actor_for_user(kc), now=NOW)
    assert board.month.orders > 0 and sum(d.orders for d in board.trend) > board.month.orders
    assert {s.station_name for s in board.top_stations} == {"快充·深圳福田会展中心站"}

    again = seed_demo_history(now=NOW + timedelta(hours=1))
    assert not again.created and _counts() == counts


def test_demo_topup_offer_gives_two_tens_and_a_five(app: Flask, demo: Any) -> None:
    seed_demo_history(now=NOW)
    yc = _op("广东云创")
    offer = coupons.offer_for_topup(yc.id, 5000, NOW)
    assert offer is not None and coupons.offer_for_topup(yc.id, 4999, NOW) is None
    summary = coupons.offer_summary(offer)
    assert (summary.coupon_count, summary.total_fen) == (3, 2500)
    assert sorted((i["face_value_fen"], i["quantity"]) for i in summary.items) == [
        (500, 1), (1000, 2)
    ]  # fmt: skip
    assert all(i.template.validity_days == 30 for i in offer.items)
    assert coupons.offer_for_topup(_op("深圳快充").id, 5000, NOW) is None


def test_seed_demo_alone_has_no_history_nor_offer(app: Flask, demo: Any) -> None:
    """The test suite's demo fixture counts rows: the history is the CLI's only."""
    assert _counts()[0] == 0 and _counts()[-2:] == [0, 0]


def test_demo_history_leaves_no_pending_notices_for_its_drivers_without_openid(
    app: Flask, demo: Any
) -> None:
    """The history's card drivers have no openid: their charge notices end failed unsent
    (NO_RECIPIENT), as the delivery job ends them, not as a pending backlog (~488)."""
    for name in ("广东云创", "深圳快充"):
        _op(name).subscribe_templates = {
            "charge_started": "tpl-start",
            "charge_finished": "tpl-end",
        }
    db.session.commit()
    seed_demo_history(now=NOW)
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert len(messages) > 150
    assert {m.status for m in messages} == {OutboxStatus.FAILED}
    assert {m.last_error for m in messages} == {"NO_RECIPIENT"} and not any(
        m.sent_at for m in messages
    )
    attempts = db.session.scalars(select(NotificationAttempt)).all()
    assert len(attempts) == len(messages) and not any(a.ok for a in attempts)
