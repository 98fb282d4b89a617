"""The console's overview (概览): today's and this month's orders and money, refunds paid
back, piles and sessions now, 30 days of trends and the ten stations by revenue.

Every figure is one aggregate query (no loop over orders), scoped to the admin's
sub-operator. An order counts on the local day its bill was settled; revenue is the bill's
total, service fees its service part after the member discount; refunds are wallet money
paid back by WeChat Pay (a request's succeeded part, on the day it finished)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, case, func, select

from app.billing.models import Bill, BillLine
from app.catalogue.models import Connector, Pile, Station
from app.charging.models import ChargeOrder, OrderState
from app.db import local_date, utcnow
from app.errors import TIMEZONE_INVALID
from app.extensions import db
from app.payments.models import RefundRequest
from app.tenancy.scope import Actor

DASHBOARD_READ = "order.read"
TREND_DAYS = 30
TOP_STATIONS = 10


@dataclass(frozen=True, slots=True)
class Totals:
    orders: int
    energy_wh: int
    revenue_fen: int
    service_fen: int
    refund_fen: int


@dataclass(frozen=True, slots=True)
class Day:
    date: str  # local YYYY-MM-DD
    orders: int
    energy_wh: int
    revenue_fen: int


@dataclass(frozen=True, slots=True)
class TierShare:
    tier: str  # sharp | peak | flat | valley
    energy_wh: int


@dataclass(frozen=True, slots=True)
class StationRevenue:
    station_id: int
    station_name: str
    orders: int
    energy_wh: int
    revenue_fen: int


@dataclass(frozen=True, slots=True)
class PilesNow:
    online: int
    offline: int
    faulted: int  # online piles with a connector reporting a fault


@dataclass(frozen=True, slots=True)
class Dashboard:
    generated_at: datetime
    timezone: str
    today: Totals
    month: Totals
    piles: PilesNow
    sessions_now: int
    trend: list[Day]
    tiers: list[TierShare]
    top_stations: list[StationRevenue]


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _own(column: Any, actor: Actor) -> list[ColumnElement[bool]]:
    return [] if actor.is_platform else [column == actor.operator_id]


def _totals(actor: Actor, since: datetime, until: datetime) -> Totals:
    bills = db.session.execute(
        select(
            func.count(Bill.id),
            func.coalesce(func.sum(Bill.energy_wh), 0),
            func.coalesce(func.sum(Bill.total_fen), 0),
            func.coalesce(func.sum(Bill.service_fen - Bill.service_discount_fen), 0),
        ).where(Bill.settled_at >= since, Bill.settled_at < until, *_own(Bill.operator_id, actor))
    ).one()
    refunded = db.session.scalar(
        select(func.coalesce(func.sum(RefundRequest.succeeded_fen), 0)).where(
            RefundRequest.finished_at >= since,
            RefundRequest.finished_at < until,
            *_own(RefundRequest.operator_id, actor),
        )
    )
    return Totals(
        orders=int(bills[0]),
        energy_wh=int(bills[1]),
        revenue_fen=int(bills[2]),
        service_fen=int(bills[3]),
        refund_fen=int(refunded or 0),
    )


def _piles_now(actor: Actor) -> PilesNow:
    faulted = (
        select(Connector.id)
        .where(Connector.pile_id == Pile.id, Connector.status == "faulted")
        .exists()
    )
    row = db.session.execute(
        select(
            func.count(Pile.id),
            func.coalesce(func.sum(case((Pile.online.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(case((Pile.online.is_(True) & faulted, 1), else_=0)), 0),
        ).where(*_own(Pile.operator_id, actor))
    ).one()
    total, online, faulty = int(row[0]), int(row[1]), int(row[2])
    return PilesNow(online=online, offline=total - online, faulted=faulty)


def _trend(actor: Actor, since: datetime, until: datetime, tz: str) -> dict[str, Day]:
    day = local_date(Bill.settled_at, tz)
    rows = db.session.execute(
        select(
            day,
            func.count(Bill.id),
            func.coalesce(func.sum(Bill.energy_wh), 0),
            func.coalesce(func.sum(Bill.total_fen), 0),
        )
        .where(Bill.settled_at >= since, Bill.settled_at < until, *_own(Bill.operator_id, actor))
        .group_by(day)
    ).all()
    return {str(d): Day(str(d), int(n), int(wh), int(fen)) for d, n, wh, fen in rows}


def _tiers(actor: Actor, since: datetime, until: datetime) -> list[TierShare]:
    rows = db.session.execute(
        select(BillLine.tier, func.coalesce(func.sum(BillLine.energy_wh), 0))
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(Bill.settled_at >= since, Bill.settled_at < until, *_own(Bill.operator_id, actor))
        .group_by(BillLine.tier)
    ).all()
    order = {"sharp": 0, "peak": 1, "flat": 2, "valley": 3}
    shares = [TierShare(str(tier), int(wh)) for tier, wh in rows]
    return sorted(shares, key=lambda s: order.get(s.tier, 9))


def _top_stations(actor: Actor, since: datetime, until: datetime) -> list[StationRevenue]:
    revenue = func.coalesce(func.sum(Bill.total_fen), 0)
    ranked = (
        select(
            Bill.station_id.label("station_id"),
            func.count(Bill.id).label("orders"),
            func.coalesce(func.sum(Bill.energy_wh), 0).label("energy_wh"),
            revenue.label("revenue_fen"),
        )
        .where(
            Bill.settled_at >= since,
            Bill.settled_at < until,
            Bill.station_id.is_not(None),
            *_own(Bill.operator_id, actor),
        )
        .group_by(Bill.station_id)
        .order_by(revenue.desc(), Bill.station_id)
        .limit(TOP_STATIONS)
        .subquery()
    )
    rows = db.session.execute(
        select(ranked, Station.name)
        .join(Station, Station.id == ranked.c.station_id)
        .order_by(ranked.c.revenue_fen.desc(), ranked.c.station_id)
    ).all()
    return [
        StationRevenue(int(r.station_id), r.name, int(r.orders), int(r.energy_wh),
                       int(r.revenue_fen))
        for r in rows
    ]  # fmt: skip


def overview(actor: Actor, *, tz: str = "Asia/Shanghai", now: datetime | None = None) -> Dashboard:
    actor.require(DASHBOARD_READ)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise TIMEZONE_INVALID(details={"timezone": tz}) from None
    now = now or utcnow()
    today = now.astimezone(zone).date()
    day_start = _local_midnight(today, zone)
    month_start = _local_midnight(today.replace(day=1), zone)
    first_day = today - timedelta(days=TREND_DAYS - 1)
    trend_start = _local_midnight(first_day, zone)
    trend_end = _local_midnight(today + timedelta(days=1), zone)
    by_day = _trend(actor, trend_start, trend_end, tz)
    trend = []
    for i in range(TREND_DAYS):
        key = (first_day + timedelta(days=i)).isoformat()
        trend.append(by_day.get(key, Day(key, 0, 0, 0)))
    sessions = db.session.scalar(
        select(func.count(ChargeOrder.id)).where(
            ChargeOrder.state.in_((OrderState.STARTING, OrderState.CHARGING)),
            *_own(ChargeOrder.operator_id, actor),
        )
    )
    return Dashboard(
        generated_at=now,
        timezone=tz,
        today=_totals(actor, day_start, trend_end),
        month=_totals(actor, month_start, trend_end),
        piles=_piles_now(actor),
        sessions_now=int(sessions or 0),
        trend=trend,
        tiers=_tiers(actor, trend_start, trend_end),
        top_stations=_top_stations(actor, trend_start, trend_end),
    )
