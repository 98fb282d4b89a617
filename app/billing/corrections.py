"""An operator corrects an order's end time or energy; the difference goes back to the wallet
(case #5 2019-10-14)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.billing import bills, occupancy, settlement
from app.billing.models import Bill
from app.billing.settlement import locked_order
from app.charging.models import HELD_FOR_REVIEW, ChargeOrder
from app.errors import (
    CORRECTION_EMPTY,
    CORRECTION_END_INVALID,
    CORRECTION_ENERGY_INVALID,
    ORDER_NOT_SETTLED,
    REASON_REQUIRED,
)
from app.tenancy import audit
from app.tenancy.scope import Actor, get_scoped
from app.uow import transactional

ORDER_CORRECT = "wallet.adjust"  # a correction moves money


@dataclass(frozen=True, slots=True)
class Correction:
    order: ChargeOrder
    bill: Bill
    refund_fen: int  # > 0 given back to the wallet (or taken off arrears), < 0 charged


@transactional
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
        raise REASON_REQUIRED("请填写更正原因", details={"reason": ["必填"]})
    if ended_at is None and energy_wh is None:
        raise CORRECTION_EMPTY()
    order = get_scoped(ChargeOrder, order_id, actor, what="订单")
    order = locked_order(order.id) or order
    bill = bills.bill_of(order.id)
    if bill is None and order.abnormal_reason != HELD_FOR_REVIEW:
        raise ORDER_NOT_SETTLED()
    start = bills.session_start(order)
    if ended_at is not None and (ended_at.tzinfo is None or ended_at < start):
        raise CORRECTION_END_INVALID(details={"started_at": start.isoformat()})  # fmt: skip
    if energy_wh is not None and (
        isinstance(energy_wh, bool) or not isinstance(energy_wh, int) or energy_wh < 0
    ):
        raise CORRECTION_ENERGY_INVALID()
    if bill is None:
        return _decide_held(actor, order, reason.strip(), ended_at, energy_wh)
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
    return Correction(order, bill, refund)


def _decide_held(
    actor: Actor,
    order: ChargeOrder,
    reason: str,
    ended_at: datetime | None,
    energy_wh: int | None,
) -> Correction:
    """The operator's decision on an order held for an implausible reading: the energy
    (and end) it really was, then the first settlement, debited like any other."""
    before = {
        "energy_wh": order.energy_wh,
        "meter_start_wh": order.meter_start_wh,
        "meter_stop_wh": order.meter_stop_wh,
        "stopped_at": order.stopped_at.isoformat() if order.stopped_at else None,
        "abnormal_reason": order.abnormal_reason,
    }
    if energy_wh is not None:
        order.energy_wh = energy_wh
        order.last_meter_wh = energy_wh
    if ended_at is not None:
        order.stopped_at = ended_at
        order.energy_ended_at = ended_at
    order.abnormal_reason = ""
    bill = settlement.settle_order(order, estimated=order.final_record_at is None)
    if bill is None:  # no tariff: it stays in the queue under that reason
        raise ORDER_NOT_SETTLED("订单无法计费（站点没有电价），已保留待处理")
    audit.record(
        actor, "order.decide_held", "order", order.id, operator_id=order.operator_id,
        before=before,
        after={"energy_wh": order.energy_wh, "total_fen": bill.total_fen,
               "arrears_fen": bill.arrears_fen},
        reason=reason,
    )  # fmt: skip
    return Correction(order, bill, 0)


def _picture(order: ChargeOrder, bill: Bill, occ: Any) -> dict[str, Any]:
    return {
        "energy_wh": order.energy_wh,
        "stopped_at": order.stopped_at.isoformat() if order.stopped_at else None,
        "occupancy_ended_at": occ.ended_at.isoformat() if occ is not None and occ.ended_at
        else None,
        "occupancy_fen": bill.occupancy_fen,
        "total_fen": bill.total_fen,
    }  # fmt: skip
