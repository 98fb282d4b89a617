"""Pile history for operators: online/offline periods, faults, weekly disconnection report
(cases #24, #17 2019-01-09)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select

from app.catalogue.models import FaultRecord, Pile, PileOnlinePeriod, Station
from app.db import utcnow
from app.errors import TIME_NAIVE, TIME_RANGE_INVALID, TIME_RANGE_TOO_LONG
from app.extensions import db
from app.paging import Page, paginate
from app.tenancy.scope import Actor, get_scoped


def _check_range(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise TIME_NAIVE()
    if until <= since:
        raise TIME_RANGE_INVALID()
    if until - since > timedelta(days=366):
        raise TIME_RANGE_TOO_LONG()


def _scope_piles(actor: Actor, pile_id: int | None, station_id: int | None) -> list[int] | None:
    """Pile ids the query may cover; None means every pile (platform, no filter)."""
    if pile_id is not None:
        return [get_scoped(Pile, pile_id, actor, what="充电桩").id]
    if station_id is not None:
        get_scoped(Station, station_id, actor, what="站点")
        return list(db.session.scalars(select(Pile.id).where(Pile.station_id == station_id)))
    if actor.is_platform:
        return None
    return list(db.session.scalars(select(Pile.id).where(Pile.operator_id == actor.operator_id)))


def online_periods(
    actor: Actor,
    *,
    since: datetime,
    until: datetime,
    pile_id: int | None = None,
    station_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    actor.require("pile.read")
    _check_range(since, until)
    stmt = select(PileOnlinePeriod).where(
        PileOnlinePeriod.online_at < until,
        or_(PileOnlinePeriod.offline_at.is_(None), PileOnlinePeriod.offline_at > since),
    )
    ids = _scope_piles(actor, pile_id, station_id)
    if ids is not None:
        stmt = stmt.where(PileOnlinePeriod.pile_id.in_(ids))
    return paginate(stmt.order_by(PileOnlinePeriod.online_at.desc()), page, page_size)


def faults(
    actor: Actor,
    *,
    since: datetime,
    until: datetime,
    pile_id: int | None = None,
    station_id: int | None = None,
    code: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    stmt = fault_filter(
        actor, since=since, until=until, pile_id=pile_id, station_id=station_id, code=code
    )
    return paginate(stmt.order_by(FaultRecord.started_at.desc()), page, page_size)


def fault_filter(
    actor: Actor,
    *,
    since: datetime,
    until: datetime,
    pile_id: int | None = None,
    station_id: int | None = None,
    code: str | None = None,
) -> Select[tuple[FaultRecord]]:
    """The 故障记录 list's one filter (its page and its export), unordered, permission and
    range checked: the faults that were active at some moment of [since, until)."""
    actor.require("pile.read")
    _check_range(since, until)
    stmt = select(FaultRecord).where(
        FaultRecord.started_at < until,
        or_(FaultRecord.ended_at.is_(None), FaultRecord.ended_at > since),
    )
    ids = _scope_piles(actor, pile_id, station_id)
    if ids is not None:
        stmt = stmt.where(FaultRecord.pile_id.in_(ids))
    if code:
        stmt = stmt.where(FaultRecord.code == code)
    return stmt


def disconnection_filter(
    actor: Actor,
    *,
    since: datetime,
    until: datetime,
    station_id: int | None = None,
) -> Select[tuple[PileOnlinePeriod, datetime | None]]:
    """The disconnections the weekly report counts (:func:`disconnection_report`), one row
    each: the online period that ended by going offline within [since, until), and when
    the pile came back (the start of its next period; None while it is still offline).
    Unordered, permission and range checked."""
    actor.require("pile.read")
    _check_range(since, until)
    ids = _scope_piles(actor, None, station_id)
    back = (
        func.lead(PileOnlinePeriod.online_at, type_=PileOnlinePeriod.online_at.type)
        .over(partition_by=PileOnlinePeriod.pile_id, order_by=PileOnlinePeriod.online_at)
        .label("back_at")
    )
    periods = select(PileOnlinePeriod.id, back).where(PileOnlinePeriod.online_at < until)
    if ids is not None:
        periods = periods.where(PileOnlinePeriod.pile_id.in_(ids))
    inner = periods.subquery()
    return (
        select(PileOnlinePeriod, inner.c.back_at)
        .join(inner, inner.c.id == PileOnlinePeriod.id)
        .where(PileOnlinePeriod.offline_at >= since, PileOnlinePeriod.offline_at < until)
    )


@dataclass(frozen=True, slots=True)
class DisconnectionRow:
    week_start: str  # local date of the Monday
    station_id: int | None
    station_name: str
    pile_id: int
    pile_code: str
    disconnections: int
    offline_seconds: int


def disconnection_report(
    actor: Actor,
    *,
    since: datetime,
    until: datetime,
    station_id: int | None = None,
    tz: str = "Asia/Shanghai",
) -> list[DisconnectionRow]:
    """Per week (local Monday), station and pile: how often the pile dropped off and how
    long it stayed offline within [since, until)."""
    actor.require("pile.read")
    _check_range(since, until)
    zone = ZoneInfo(tz)
    ids = _scope_piles(actor, None, station_id)
    stmt = select(PileOnlinePeriod).where(
        PileOnlinePeriod.online_at < until,
        or_(
            PileOnlinePeriod.offline_at.is_(None),
            PileOnlinePeriod.offline_at > since - timedelta(days=31),
        ),
    )
    if ids is not None:
        stmt = stmt.where(PileOnlinePeriod.pile_id.in_(ids))
    by_pile: dict[int, list[PileOnlinePeriod]] = defaultdict(list)
    for period in db.session.scalars(stmt.order_by(PileOnlinePeriod.online_at)):
        by_pile[period.pile_id].append(period)
    now = min(utcnow(), until)
    stats: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for pid, periods in by_pile.items():
        for i, period in enumerate(periods):
            if period.offline_at is None:
                continue
            back = periods[i + 1].online_at if i + 1 < len(periods) else now
            gap_start, gap_end = max(period.offline_at, since), min(back, until, now)
            if period.offline_at >= since and period.offline_at < until:
                week = _week(period.offline_at, zone)
                stats[(week, pid)][0] += 1
            # offline time is split across the weeks it spans
            cursor = gap_start
            while cursor < gap_end:
                week = _week(cursor, zone)
                week_end = _next_week_start(cursor, zone)
                part_end = min(gap_end, week_end)
                stats[(week, pid)][1] += int((part_end - cursor).total_seconds())
                cursor = part_end
    piles = {
        p.id: p for p in db.session.scalars(select(Pile).where(Pile.id.in_({k[1] for k in stats})))
    }
    rows = []
    for (week, pid), (count, seconds) in sorted(stats.items()):
        pile = piles[pid]
        rows.append(
            DisconnectionRow(
                week_start=week,
                station_id=pile.station_id,
                station_name=pile.station.name if pile.station else "",
                pile_id=pid,
                pile_code=pile.code,
                disconnections=count,
                offline_seconds=seconds,
            )
        )
    return rows


def _week(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone).date()
    return (local - timedelta(days=local.weekday())).isoformat()


def _next_week_start(at: datetime, zone: ZoneInfo) -> datetime:
    local = at.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).date() + timedelta(days=7)
    return datetime(monday.year, monday.month, monday.day, tzinfo=zone).astimezone(at.tzinfo)
