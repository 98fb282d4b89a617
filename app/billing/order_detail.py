"""One order for the console: the itemised bill (case #18), the session's timeline with
every pile message kept for audit, the meter curve's samples, adjustments, and the station,
pile and driver to link to. Read-only when the actor sees it only through its driver at a
shared station (case #12)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.billing.abnormal_orders import money_of
from app.charging.models import ChargeOrder, MeterSampleRecord, PileMessage
from app.charging.order_search import find_order, with_names
from app.extensions import db
from app.tenancy.scope import Actor

# the order's own moments, as the timeline names them
_MOMENTS = (
    ("requested_at", "requested", "发起充电"),
    ("started_at", "started", "开始充电"),
    ("energy_ended_at", "energy_ended", "充电结束"),
    ("gun_returned_at", "gun_returned", "拔枪"),
    ("stopped_at", "stopped", "订单结束"),
    ("final_record_at", "final_record", "收到交易记录"),
)
SAMPLE_LIMIT = 2000


def itemised(bill: Any) -> dict[str, int] | None:
    """The bill's items in fen, as the driver's receipt lists them (case #18)."""
    if bill is None:
        return None
    return {
        "energy_wh": bill.energy_wh,
        "electricity_fen": bill.electricity_fen,
        "service_fen": bill.service_fen,
        "member_discount_fen": bill.service_discount_fen,
        "occupancy_fen": bill.occupancy_fen,
        "coupon_fen": bill.coupon_fen,
        "total_fen": bill.total_fen,
        "paid_fen": bill.paid_fen,
        "arrears_fen": bill.arrears_fen,
    }


def timeline_of(order: ChargeOrder, messages: list[PileMessage]) -> list[dict[str, Any]]:
    """The order's moments and its pile messages, in time order."""
    events: list[dict[str, Any]] = [
        {"at": getattr(order, attr), "kind": kind, "label": label, "payload": None}
        for attr, kind, label in _MOMENTS
        if getattr(order, attr) is not None
    ]
    events += [
        {"at": m.received_at, "kind": m.kind, "label": "充电桩消息", "payload": m.payload}
        for m in messages
    ]
    return sorted(events, key=lambda e: e["at"])


def order_detail(actor: Actor, order_no: str) -> dict[str, Any]:
    order = find_order(actor, order_no)
    messages = list(
        db.session.scalars(
            select(PileMessage)
            .where(PileMessage.order_id == order.id)
            .order_by(PileMessage.received_at, PileMessage.id)
        )
    )
    samples = list(
        db.session.scalars(
            select(MeterSampleRecord)
            .where(MeterSampleRecord.order_id == order.id)
            .order_by(MeterSampleRecord.at, MeterSampleRecord.id)
            .limit(SAMPLE_LIMIT)
        )
    )
    money = money_of(order)
    return {
        **with_names(actor, [order])[0],
        **money,
        "items": itemised(money["bill"]),
        "timeline": timeline_of(order, messages),
        "samples": samples,
    }
