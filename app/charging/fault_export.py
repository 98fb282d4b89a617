"""故障记录 exported to xlsx (issue 10): exactly the list's filters, scope and permission
(:func:`app.catalogue.pile_history.fault_filter`), each fault with its pile, station, the
order running then and its driver, its times at the station's wall clock (the platform's
zone for a fault without a station) and how long it lasted; streamed ``BATCH`` faults at a
time, audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import func

from app.catalogue.models import FaultRecord
from app.catalogue.pile_history import fault_filter
from app.charging.fault_log import with_names
from app.extensions import db
from app.tenancy.exports import audited_export, in_batches
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind, duration_text, wall_clock

CODE_LABELS = {"EmergencyStop": "急停"}


def _lasted(row: dict[str, Any]) -> int | None:
    """Seconds from start to end; None while the fault is still active."""
    if row["ended_at"] is None:
        return None
    return int((row["ended_at"] - row["started_at"]).total_seconds())


COLUMNS = [
    Column("开始时间", lambda r: wall_clock(r["started_at"], r["timezone"]), Kind.TIME, 19),
    Column("结束时间", lambda r: wall_clock(r["ended_at"], r["timezone"]), Kind.TIME, 19),
    Column("状态", lambda r: "已恢复" if r["ended_at"] else "未恢复", width=8),
    Column("持续时长", lambda r: duration_text(_lasted(r)), width=14),
    Column("持续秒数", _lasted, Kind.INT, 10),
    Column("站点", lambda r: r["station_name"], width=24),
    Column("充电桩", lambda r: r["pile_code"], width=18),
    Column("枪", lambda r: r["connector_number"], Kind.INT, 5),
    Column("故障代码", lambda r: r["code"], width=16),
    Column("故障名称", lambda r: CODE_LABELS.get(r["code"], ""), width=10),
    Column("描述", lambda r: r["description"], width=30),
    Column("当时的订单", lambda r: r["order_no"], width=22),
    Column("会员手机号", lambda r: r["driver_phone"], width=13),
]  # fmt: skip


def fault_rows(actor: Actor, **filters: Any) -> Iterator[dict[str, Any]]:
    """The faults the list finds with these filters, newest first, one batch in memory."""
    stmt = fault_filter(actor, **filters).order_by(
        FaultRecord.started_at.desc(), FaultRecord.id.desc()
    )
    return in_batches(lambda n: db.session.scalars(stmt.execution_options(yield_per=n)), with_names)


def export_faults(actor: Actor, **filters: Any) -> tuple[IO[bytes], int]:
    """The xlsx of the 故障记录 list and its row count (EXPORT_TOO_MANY_ROWS above the
    ceiling, before anything is written)."""
    count_stmt = fault_filter(actor, **filters).with_only_columns(func.count(FaultRecord.id))
    return audited_export(
        actor, sheet="故障记录", columns=COLUMNS, rows=fault_rows(actor, **filters),
        matched=db.session.scalar(count_stmt) or 0, action="fault.export",
        target_type="fault_record", filters=filters,
    )  # fmt: skip
