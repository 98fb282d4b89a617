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
from app.charging.terms import terms_of
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
    order = get_scoped(ChargeOrder, order_id, actor, what="订单")
    order = locked_order(order.id) or order
    bill = _checked(order, ended_at, energy_wh, held=True)
    if bill is None:  # held for an implausible reading: this is the operator's decision
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


def _checked(
    order: ChargeOrder, ended_at: datetime | None, energy_wh: int | None, *, held: bool = False
) -> Bill | None:
    """The order's bill, once the correction asked of it makes sense; None for an order
    held for review (``held``: the caller decides it) that has none yet."""
    if ended_at is None and energy_wh is None:
        raise CORRECTION_EMPTY()
    bill = bills.bill_of(order.id)
    if bill is None and not (held and order.abnormal_reason == HELD_FOR_REVIEW):
        raise ORDER_NOT_SETTLED()
    start = bills.session_start(order)
    if ended_at is not None and (ended_at.tzinfo is None or ended_at < start):
        raise CORRECTION_END_INVALID(details={"started_at": start.isoformat()})  # fmt: skip
    if energy_wh is not None and (
        isinstance(energy_wh, bool) or not isinstance(energy_wh, int) or energy_wh < 0
    ):
        raise CORRECTION_ENERGY_INVALID()
    return bill


def preview_correction(
    actor: Actor,
    order_id: int,
    *,
    ended_at: datetime | None = None,
    energy_wh: int | None = None,
) -> dict[str, Any]:
    """The bill a correction would give and the difference, before anything is written:
    the same pricing :func:`correct_order` applies (settlement.reprice), read only."""
    actor.require(ORDER_CORRECT)
    order = get_scoped(ChargeOrder, order_id, actor, what="订单")
    bill = _checked(order, ended_at, energy_wh)
    assert bill is not None
    occ = occupancy.session_of(order.id)
    occ_fee = occ.fee_fen if occ is not None and occ.ended_at is not None else 0
    end = None
    if ended_at is not None:
        energy_end = order.energy_ended_at or order.stopped_at
        if energy_end is not None and ended_at < energy_end:
            end = ended_at
        if occ is not None:
            occ_fee = occupancy.compute_fee(occ, ended_at).fee_fen
    priced = settlement.reprice(
        order, bill, terms_of(order), estimated=False, occupancy_fen=occ_fee, end=end,
        energy_wh=energy_wh,
    )  # fmt: skip
    if priced is None:  # pragma: no cover - a settled order had a tariff
        raise ORDER_NOT_SETTLED()
    return {
        "energy_wh": priced.energy_wh,
        "electricity_fen": priced.electricity_fen,
        "service_fen": priced.service_fen,
        "member_discount_fen": priced.service_discount_fen,
        "occupancy_fen": priced.occupancy_fen,
        "coupon_fen": priced.coupon_fen,
        "total_before_fen": bill.total_fen,
        "total_after_fen": priced.total_fen,
        "refund_fen": bill.total_fen - priced.total_fen,
    }


def _picture(order: ChargeOrder, bill: Bill, occ: Any) -> dict[str, Any]:
    return {
        "energy_wh": order.energy_wh,
        "stopped_at": order.stopped_at.isoformat() if order.stopped_at else None,
        "occupancy_ended_at": occ.ended_at.isoformat() if occ is not None and occ.ended_at
        else None,
        "occupancy_fen": bill.occupancy_fen,
        "total_fen": bill.total_fen,
    }  # fmt: skip
