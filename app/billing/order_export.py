"""The order search exported to xlsx (issue 10): exactly the search's filters, scope and
permission (:func:`app.charging.order_search.order_filter`), each order with its itemised
bill, streamed from the database ``BATCH`` orders at a time (``yield_per``) into a
constant-memory workbook; never all orders in memory. Who exported which filter and how
many rows is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from typing_extensions import Unpack

from app.billing.models import Bill
from app.charging.models import ChargeOrder, OrderState
from app.charging.order_search import OrderQuery, order_filter, with_names
from app.extensions import db
from app.tenancy.exports import audited_export, in_batches
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind

STATE_LABELS = {
    OrderState.CREATED: "已创建",
    OrderState.STARTING: "启动中",
    OrderState.CHARGING: "充电中",
    OrderState.STOPPING: "停止中",
    OrderState.FINISHED: "已结束（待结算）",
    OrderState.SETTLED: "已结算",
    OrderState.FAILED: "启动失败",
    OrderState.ABNORMAL: "异常",
}
# OCPP 1.6 StopTransaction reasons; a YKC pile reports its §13.1 code as "0x40"
STOP_REASON_LABELS = {
    "emergencystop": "急停",
    "evdisconnected": "车辆断开",
    "hardreset": "硬重启",
    "softreset": "软重启",
    "local": "桩端停止",
    "remote": "远程停止",
    "other": "其他",
    "powerloss": "断电",
    "reboot": "重启",
    "unlockcommand": "解锁枪",
    "deauthorized": "授权取消",
}
STOPPED_BY_LABELS = {"driver": "车主停止", "admin": "管理员停止", "hlht": "互联互通平台停止"}


def stop_reason_label(order: ChargeOrder) -> str:
    """The stop reason in Chinese; a code we do not know is kept verbatim."""
    raw = order.stop_reason.strip()
    if not raw:
        return STOPPED_BY_LABELS.get(order.stop_requested_by, "")
    known = STOP_REASON_LABELS.get(raw.lower())
    if known:
        return known
    if raw.lower().startswith("0x"):
        return f"充电桩停止代码 {raw}"
    return raw


def local_time(at: datetime | None, order: ChargeOrder) -> datetime | None:
    """A UTC moment as the station's wall clock (the xlsx cell has no zone)."""
    if at is None:
        return None
    return at.astimezone(ZoneInfo(order.timezone)).replace(tzinfo=None)


def bill_value(row: dict[str, Any], name: str) -> int | None:
    """A bill's figure of an export row (None where the order has no bill yet)."""
    bill = row["bill"]
    return None if bill is None else getattr(bill, name)


COLUMNS = [
    Column("订单号", lambda r: r["order"].order_no, width=22),
    Column("站点", lambda r: r["station_name"], width=24),
    Column("充电桩", lambda r: r["pile_code"], width=18),
    Column("枪", lambda r: r["order"].connector_number, Kind.INT, 5),
    Column("会员手机号", lambda r: r["driver_phone"], width=13),
    Column("开始时间", lambda r: local_time(r["order"].started_at, r["order"]), Kind.TIME, 19),
    Column("结束时间", lambda r: local_time(r["order"].stopped_at, r["order"]), Kind.TIME, 19),
    Column("电量(kWh)", lambda r: r["order"].energy_wh, Kind.WH, 11),
    Column("电费(元)", lambda r: bill_value(r, "electricity_fen"), Kind.FEN, 10),
    Column("服务费(元)", lambda r: bill_value(r, "service_fen"), Kind.FEN, 10),
    Column("会员优惠(元)", lambda r: bill_value(r, "service_discount_fen"), Kind.FEN, 12),
    Column("占位费(元)", lambda r: bill_value(r, "occupancy_fen"), Kind.FEN, 10),
    Column("优惠券(元)", lambda r: bill_value(r, "coupon_fen"), Kind.FEN, 10),
    Column("实付(元)", lambda r: bill_value(r, "paid_fen"), Kind.FEN, 10),
    Column("状态", lambda r: STATE_LABELS.get(r["order"].state, r["order"].state), width=14),
    Column("停止原因", lambda r: stop_reason_label(r["order"]), width=20),
]


# only what the columns and the scope read, as plain rows
_ORDER_FIELDS = (
    ChargeOrder.id, ChargeOrder.order_no, ChargeOrder.operator_id, ChargeOrder.station_id,
    ChargeOrder.pile_id,
    ChargeOrder.driver_id, ChargeOrder.connector_number, ChargeOrder.started_at,
    ChargeOrder.stopped_at, ChargeOrder.energy_wh, ChargeOrder.state, ChargeOrder.stop_reason,
    ChargeOrder.stop_requested_by, ChargeOrder.timezone,
)  # fmt: skip
_BILL_FIELDS = (
    Bill.order_id, Bill.electricity_fen, Bill.service_fen, Bill.service_discount_fen,
    Bill.occupancy_fen, Bill.coupon_fen, Bill.paid_fen,
)  # fmt: skip


def order_rows(actor: Actor, **query: Unpack[OrderQuery]) -> Iterator[dict[str, Any]]:
    """The orders the search finds with these filters, newest first, as rows of
    :func:`with_names` plus their ``bill`` (or None): one batch in memory at a time. The
    orders are plain rows of the columns the export reads, not ORM objects (measured: the
    objects' bookkeeping was most of the time of 100,000 rows)."""
    stmt = (
        order_filter(actor, **query)
        .with_only_columns(*_ORDER_FIELDS)
        .order_by(ChargeOrder.id.desc())
    )
    return in_batches(
        lambda n: db.session.execute(stmt.execution_options(yield_per=n)),
        lambda orders: _with_bills(actor, orders),
    )


def _with_bills(actor: Actor, orders: list[Any]) -> list[dict[str, Any]]:
    bills = {
        b.order_id: b
        for b in db.session.execute(
            select(*_BILL_FIELDS).where(Bill.order_id.in_([o.id for o in orders]))
        )
    }
    rows = with_names(actor, orders)
    for row in rows:
        row["bill"] = bills.get(row["order"].id)
    return rows


def export_orders(actor: Actor, **query: Unpack[OrderQuery]) -> tuple[IO[bytes], int]:
    """The xlsx of the search (a temporary file at its start) and its row count; refused
    (EXPORT_TOO_MANY_ROWS) above the ceiling before anything is written."""
    count = order_filter(actor, **query).with_only_columns(func.count(ChargeOrder.id))
    return audited_export(
        actor, sheet="充电订单", columns=COLUMNS, rows=order_rows(actor, **query),
        matched=db.session.scalar(count) or 0, action="order.export",
        target_type="charge_order", filters=dict(query),
    )  # fmt: skip
