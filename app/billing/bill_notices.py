"""The "charging finished" notice with its itemised bill."""

from __future__ import annotations

from typing import Any

from app.billing.models import Bill
from app.charging.models import ChargeOrder
from app.charging.notices import charge_started
from app.money import fen_to_yuan_str
from app.notices.models import OutboxMessage
from app.notices.outbox import emit
from app.pricing import kwh_str


def bill_payload(bill: Bill) -> dict[str, Any]:
    """The itemised bill as drivers see it (case #18 2020: kWh, electricity, service, total)."""
    return {
        "order_no": bill.order_no,
        "energy_kwh": kwh_str(bill.energy_wh),
        "electricity_fen": bill.electricity_fen,
        "service_fen": bill.service_fen,
        "service_discount_fen": bill.service_discount_fen,
        "occupancy_fen": bill.occupancy_fen,
        "coupon_fen": bill.coupon_fen,
        "total_fen": bill.total_fen,
        "total_yuan": fen_to_yuan_str(bill.total_fen),
        "paid_fen": bill.paid_fen,
        "arrears_fen": bill.arrears_fen,
        "estimated": bill.estimated,
    }


def charge_finished(order: ChargeOrder, bill: Bill) -> OutboxMessage | None:
    if order.driver_id is None:
        return None
    # a short session may end before the started-notice job ran: the started notice is
    # written first, so the driver hears of the two in the order they happened
    charge_started(order)
    return emit(
        "charge_finished",
        dedupe_key=f"charge_finished:{order.id}",
        operator_id=order.operator_id,
        driver_id=order.driver_id,
        order_id=order.id,
        payload=bill_payload(bill),
    )
