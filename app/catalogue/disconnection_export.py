"""离线统计 exported to xlsx (issue 10): the weekly summary exactly as the report computes it
(:func:`app.catalogue.pile_history.disconnection_report`, same filters, scope and
permission) and the list behind it, one row per disconnection the summary counts
(:func:`app.catalogue.pile_history.disconnection_filter`) with when the pile went offline
and came back at the station's wall clock, why, and for how long; the list streamed
``BATCH`` disconnections at a time. Both audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import func, select

from app.catalogue.models import Pile, PileOnlinePeriod, Station
from app.catalogue.pile_history import (
    DisconnectionRow,
    disconnection_filter,
    disconnection_report,
)
from app.db import utcnow
from app.extensions import db
from app.tenancy.exports import audited_export, in_batches
from app.tenancy.scope import Actor
from app.xlsx_export import Column, Kind, duration_text, wall_clock

REASON_LABELS = {
    "closed": "连接关闭",
    "heartbeat_timeout": "心跳超时",
    "replaced": "新连接替换",
    "shutdown": "平台停机",
    "protocol_error": "协议错误",
    "reboot": "桩重启",
    "platform_restart": "平台进程重启",
}

SUMMARY_COLUMNS = [
    Column("周（周一）", lambda r: date.fromisoformat(r.week_start), Kind.DATE, 12),
    Column("站点", lambda r: r.station_name, width=24),
    Column("充电桩", lambda r: r.pile_code, width=18),
    Column("掉线次数", lambda r: r.disconnections, Kind.INT, 10),
    Column("离线时长", lambda r: duration_text(r.offline_seconds), width=16),
    Column("离线秒数", lambda r: r.offline_seconds, Kind.INT, 10),
]


def export_disconnection_summary(
    actor: Actor,
    *,
    since: datetime,
    until: datetime,
    station_id: int | None = None,
    timezone: str = "Asia/Shanghai",
) -> tuple[IO[bytes], int]:
    """The weekly summary (week, station, pile) as the report shows it: aggregated rows,
    a few per pile and week whatever the number of disconnections."""
    rows: list[DisconnectionRow] = disconnection_report(
        actor, since=since, until=until, station_id=station_id, tz=timezone
    )
    return audited_export(
        actor, sheet="离线统计", columns=SUMMARY_COLUMNS, rows=rows, matched=len(rows),
        action="disconnection.export", target_type="pile_online_period",
        filters={"since": since, "until": until, "station_id": station_id,
                 "timezone": timezone, "view": "summary"},
    )  # fmt: skip


def _offline_seconds(row: dict[str, Any]) -> int:
    """From going offline to coming back (to now while still offline)."""
    period: PileOnlinePeriod = row["period"]
    assert period.offline_at is not None  # the filter keeps only periods that ended
    back = row["back_at"] or row["now"]
    return int((back - period.offline_at).total_seconds())


def _reason(row: dict[str, Any]) -> str:
    reason = row["period"].offline_reason
    return REASON_LABELS.get(reason, reason)


DETAIL_COLUMNS = [
    Column("离线时间", lambda r: wall_clock(r["period"].offline_at, r["timezone"]), Kind.TIME, 19),
    Column("恢复在线时间", lambda r: wall_clock(r["back_at"], r["timezone"]), Kind.TIME, 19),
    Column("状态", lambda r: "已恢复" if r["back_at"] else "仍离线", width=8),
    Column("离线时长", lambda r: duration_text(_offline_seconds(r)), width=16),
    Column("离线秒数", _offline_seconds, Kind.INT, 10),
    Column("离线原因", _reason, width=14),
    Column("站点", lambda r: r["station_name"], width=24),
    Column("充电桩", lambda r: r["pile_code"], width=18),
    Column("上线时间", lambda r: wall_clock(r["period"].online_at, r["timezone"]), Kind.TIME, 19),
]  # fmt: skip


def disconnection_rows(actor: Actor, **filters: Any) -> Iterator[dict[str, Any]]:
    """The disconnections the summary counts, newest first, one batch in memory."""
    stmt = disconnection_filter(actor, **filters).order_by(
        PileOnlinePeriod.offline_at.desc(), PileOnlinePeriod.id.desc()
    )
    now = utcnow()
    return in_batches(
        lambda n: db.session.execute(stmt.execution_options(yield_per=n)).tuples(),
        lambda batch: _complete(batch, now),
    )


def _complete(
    batch: list[tuple[PileOnlinePeriod, datetime | None]], now: datetime
) -> list[dict[str, Any]]:
    piles = {
        p.id: p
        for p in db.session.execute(
            select(Pile.id, Pile.code, Pile.station_id).where(
                Pile.id.in_({period.pile_id for period, _ in batch})
            )
        )
    }
    station_ids = {p.station_id for p in piles.values() if p.station_id is not None}
    stations = {
        s.id: s
        for s in db.session.execute(
            select(Station.id, Station.name, Station.timezone).where(Station.id.in_(station_ids))
        )
    }
    rows = []
    for period, back_at in batch:
        pile = piles.get(period.pile_id)
        station = stations.get(pile.station_id) if pile and pile.station_id else None
        rows.append(
            {
                "period": period, "back_at": back_at, "now": now,
                "pile_code": pile.code if pile else "",
                "station_name": station.name if station else "",
                "timezone": station.timezone if station else None,
            }
        )  # fmt: skip
    return rows


def export_disconnections(
    actor: Actor, *, since: datetime, until: datetime, station_id: int | None = None
) -> tuple[IO[bytes], int]:
    """The list behind the summary and its row count (EXPORT_TOO_MANY_ROWS above the
    ceiling, before anything is written)."""
    filters: dict[str, Any] = {"since": since, "until": until, "station_id": station_id}
    count_stmt = disconnection_filter(actor, **filters).with_only_columns(
        func.count(PileOnlinePeriod.id)
    )
    return audited_export(
        actor, sheet="掉线明细", columns=DETAIL_COLUMNS, rows=disconnection_rows(actor, **filters),
        matched=db.session.scalar(count_stmt) or 0, action="disconnection.export",
        target_type="pile_online_period", filters={**filters, "view": "detail"},
    )  # fmt: skip
