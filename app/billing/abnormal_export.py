"""The abnormal-orders queue exported to xlsx (issue 10): exactly the queue's filters,
scope and permission (:func:`app.billing.abnormal_orders.abnormal_filter`), each order with
every review reason in Chinese, its times at the station's wall clock and its bill's total,
paid and arrears in yuan; streamed ``BATCH`` orders at a time, audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import func, select

from app.billing.abnormal_orders import ReviewKind, abnormal_filter, reasons_by_order
from app.billing.models import Bill
from app.billing.order_export import STATE_LABELS, bill_value, local_time
from app.charging.models import ChargeOrder
from app.charging.order_search import with_names
from app.extensions import db
from app.tenancy.exports import audited_export, in_batches
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind

REASON_LABELS: dict[str, str] = {
    ReviewKind.ESTIMATED: "预估结算",
    ReviewKind.AMOUNT_MISMATCH: "金额不符",
    ReviewKind.OFFLINE: "离线期间",
    ReviewKind.FAILED: "启动失败",
    ReviewKind.UNKNOWN_SESSION: "未知会话",
    ReviewKind.LATE_RECORD: "迟到记录",
    ReviewKind.SETTLEMENT_FAILED: "结算失败",
    ReviewKind.NO_TARIFF: "无电价",
    ReviewKind.ARREARS: "欠费",
    ReviewKind.OCCUPANCY_REVIEW: "占位费待审",
    ReviewKind.IMPLAUSIBLE_ENERGY: "电量异常待审",
    ReviewKind.SUPERSEDED: "被新会话取代",
    ReviewKind.PILE_CLOCK: "桩时钟偏差",
}


def reasons_text(order: ChargeOrder, kinds: list[str]) -> str:
    """The review reasons in Chinese, "、" between; an unlisted stored reason verbatim."""
    labels = [REASON_LABELS.get(k, k) for k in kinds]
    if order.abnormal_reason and order.abnormal_reason not in kinds:
        labels.append(REASON_LABELS.get(order.abnormal_reason, order.abnormal_reason))
    return "、".join(labels)


COLUMNS = [
    Column("订单号", lambda r: r["order"].order_no, width=22),
    Column("异常原因", lambda r: r["reasons"], width=24),
    Column("站点", lambda r: r["station_name"], width=24),
    Column("充电桩", lambda r: r["pile_code"], width=18),
    Column("枪", lambda r: r["order"].connector_number, Kind.INT, 5),
    Column("会员手机号", lambda r: r["driver_phone"], width=13),
    Column("下单时间", lambda r: local_time(r["order"].requested_at, r["order"]), Kind.TIME, 19),
    Column("开始时间", lambda r: local_time(r["order"].started_at, r["order"]), Kind.TIME, 19),
    Column("结束时间", lambda r: local_time(r["order"].stopped_at, r["order"]), Kind.TIME, 19),
    Column("电量(kWh)", lambda r: r["order"].energy_wh, Kind.WH, 11),
    Column("应付(元)", lambda r: bill_value(r, "total_fen"), Kind.FEN, 10),
    Column("实付(元)", lambda r: bill_value(r, "paid_fen"), Kind.FEN, 10),
    Column("欠费(元)", lambda r: bill_value(r, "arrears_fen"), Kind.FEN, 10),
    Column("状态", lambda r: STATE_LABELS.get(r["order"].state, r["order"].state), width=14),
]


def abnormal_rows(actor: Actor, **filters: Any) -> Iterator[dict[str, Any]]:
    """The orders the queue finds with these filters, newest first, one batch in memory."""
    stmt = abnormal_filter(actor, **filters).order_by(ChargeOrder.id.desc())
    return in_batches(
        lambda n: db.session.scalars(stmt.execution_options(yield_per=n)),
        lambda orders: _complete(actor, orders),
    )


def _complete(actor: Actor, orders: list[ChargeOrder]) -> list[dict[str, Any]]:
    ids = [o.id for o in orders]
    bills = {
        b.order_id: b
        for b in db.session.execute(
            select(Bill.order_id, Bill.total_fen, Bill.paid_fen, Bill.arrears_fen).where(
                Bill.order_id.in_(ids)
            )
        )
    }
    reasons = reasons_by_order(ids)
    rows = with_names(actor, orders)
    for row in rows:
        order = row["order"]
        row["bill"] = bills.get(order.id)
        row["reasons"] = reasons_text(order, reasons[order.id])
    return rows


def export_abnormal_orders(actor: Actor, **filters: Any) -> tuple[IO[bytes], int]:
    """The xlsx of the abnormal-orders queue and its row count (EXPORT_TOO_MANY_ROWS above
    the ceiling, before anything is written)."""
    count_stmt = abnormal_filter(actor, **filters).with_only_columns(func.count(ChargeOrder.id))
    return audited_export(
        actor, sheet="异常订单", columns=COLUMNS, rows=abnormal_rows(actor, **filters),
        matched=db.session.scalar(count_stmt) or 0, action="abnormal_order.export",
        target_type="charge_order", filters=filters,
    )  # fmt: skip
