"""Lost bills and corrections.

An order whose final record never came (case #25 2021-01-14: the pile rebooted, the bill
was lost) is settled after ``LOST_BILL_TIMEOUT_SECONDS`` from its last meter value and its
tariff snapshot, marked *estimated* and listed as abnormal; a late real record re-settles
it (:func:`app.services.settlement.on_order_finished`). An operator can correct an order's
end time or energy: the bill is recomputed and the difference goes back to the wallet,
with audit (case #5 2019-10-14).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.models import Bill, ChargeOrder
from app.models.base import utcnow
from app.services import audit, occupancy, settlement
from app.services.context import Actor, get_scoped

log = logging.getLogger(__name__)

ORDER_CORRECT = "wallet.adjust"  # a correction moves money


def _lock_fresh(order_id: int) -> ChargeOrder | None:
    return db.session.scalar(
        select(ChargeOrder)
        .where(ChargeOrder.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def settle_lost_bills(now: datetime | None = None) -> list[str]:
    """The lost-bill job: settle, as estimated, every order still awaiting its final record
    after the timeout; retry finished orders whose settlement failed. Commits per order;
    safe to re-run (an order is settled once). Returns the order numbers settled."""
    moment = now or utcnow()
    timeout = timedelta(seconds=int(current_app.config.get("LOST_BILL_TIMEOUT_SECONDS", 1800)))
    waiting = db.session.scalars(
        select(ChargeOrder.id)
        .where(
            ChargeOrder.state == "stopping",
            ChargeOrder.awaiting_record_since.is_not(None),
            ChargeOrder.awaiting_record_since <= moment - timeout,
        )
        .order_by(ChargeOrder.id)
    ).all()
    unsettled = db.session.scalars(
        select(ChargeOrder.id)
        .outerjoin(Bill, Bill.order_id == ChargeOrder.id)
        .where(
            ChargeOrder.state == "finished",
            Bill.id.is_(None),
            ChargeOrder.abnormal_reason.in_(("", "settlement_failed", "late_record")),
        )
        .order_by(ChargeOrder.id)
    ).all()
    settled: list[str] = []
    for order_id, estimated in [(i, True) for i in waiting] + [(i, False) for i in unsettled]:
        order = _lock_fresh(order_id)
        if order is None or order.state != ("stopping" if estimated else "finished"):
            db.session.rollback()
            continue  # the record arrived meanwhile
        try:
            bill = settlement.settle_order(order, estimated=estimated, now=moment)
        except settlement.PRICING_ERRORS as err:
            db.session.rollback()
            order = _lock_fresh(order_id)
            if order is not None:
                order.abnormal_reason = order.abnormal_reason or "settlement_failed"
            log.error("settlement failed", extra={"order_id": order_id, "error": str(err)})
            db.session.commit()
            continue
        db.session.commit()
        if bill is not None:
            settled.append(order.order_no)
            if estimated:
                log.warning(
                    "final record missing: settled as estimated",
                    extra={"order_no": order.order_no, "total_fen": bill.total_fen},
                )
    return settled


@dataclass(frozen=True, slots=True)
class Correction:
    order: ChargeOrder
    bill: Bill
    refund_fen: int  # > 0 given back to the wallet (or taken off arrears), < 0 charged


def correct_order(
    actor: Actor,
    order_id: int,
    *,
    reason: str,
    ended_at: datetime | None = None,
    energy_wh: int | None = None,
) -> Correction:
    """An operator corrects a settled order's service end time or energy (case #5
    2019-10-14: gun B kept accruing occupancy after the driver moved to gun A). The bill
    is recomputed; the difference is refunded (or charged) with its own ledger entry, and
    an audit row records before and after. Commits.

    ``ended_at`` is when the service really ended: occupancy ends there; if it is before
    the end of energy transfer, the charge ends there too.
    """
    actor.require(ORDER_CORRECT)
    if not reason.strip():
        raise ValidationFailed(
            "请填写更正原因", code="REASON_REQUIRED", details={"reason": ["必填"]}
        )
    if ended_at is None and energy_wh is None:
        raise ValidationFailed("请填写要更正的结束时间或电量", code="CORRECTION_EMPTY")
    order = get_scoped(ChargeOrder, order_id, actor, what="订单")
    order = _lock_fresh(order.id) or order
    bill = settlement.bill_of(order.id)
    if bill is None:
        raise Conflict("订单尚未结算，不能更正", code="ORDER_NOT_SETTLED")
    start = settlement.session_start(order)
    if ended_at is not None and (ended_at.tzinfo is None or ended_at < start):
        raise ValidationFailed(
            "结束时间须带时区且不早于开始时间", code="CORRECTION_END_INVALID",
            details={"started_at": start.isoformat()},
        )  # fmt: skip
    if energy_wh is not None and (
        isinstance(energy_wh, bool) or not isinstance(energy_wh, int) or energy_wh < 0
    ):
        raise ValidationFailed("电量须为不小于 0 的整数（Wh）", code="CORRECTION_ENERGY_INVALID")
    occ = occupancy.session_of(order.id)
    before = _picture(order, bill, occ)
    if energy_wh is not None:
        order.energy_wh = energy_wh
    if ended_at is not None:
        energy_end = order.energy_ended_at or order.stopped_at
        if energy_end is not None and ended_at < energy_end:
            order.stopped_at = ended_at
            order.energy_ended_at = ended_at
        if occ is not None:
            occupancy.reopen_until(occ, ended_at, "correction")
    adjustment = settlement.amend_bill(order, "correction", actor=actor, note=reason.strip())
    refund = 0 if adjustment is None else adjustment.total_before_fen - adjustment.total_after_fen
    audit.record(
        actor, "order.correct", "order", order.id, operator_id=order.operator_id,
        before=before,
        after={**_picture(order, bill, occ), "refund_fen": refund,
               "wallet_amount_fen": adjustment.wallet_amount_fen if adjustment else 0},
        reason=reason.strip(),
    )  # fmt: skip
    db.session.commit()
    return Correction(order, bill, refund)


def _picture(order: ChargeOrder, bill: Bill, occ: Any) -> dict[str, Any]:
    return {
        "energy_wh": order.energy_wh,
        "stopped_at": order.stopped_at.isoformat() if order.stopped_at else None,
        "occupancy_ended_at": occ.ended_at.isoformat() if occ is not None and occ.ended_at
        else None,
        "occupancy_fen": bill.occupancy_fen,
        "total_fen": bill.total_fen,
    }  # fmt: skip
