"""电量损耗 (case #8): per station and month, the energy the platform billed against what
the utility meter says the station drew, the ratio, and the orders not yet settled that
explain part of the gap (41,837.58 kWh billed against 46,980 on the meter = 89.05%).

A month is the station's local calendar month; an order belongs to the month its charging
started in. Billed energy and money are the settled bills' (estimated ones counted, and
also shown apart); the unsettled orders are those that started in the month and have no
bill yet (still charging, stopping, awaiting their bill, or abnormal). Each station of the
page costs three aggregate queries (bills, open orders, reading: no loop over orders; a
page is at most 100 stations); the ratio is in basis points (8905 = 89.05%), rounded half
up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select

from app.billing.models import Bill, StationMeterReading
from app.catalogue.models import Station
from app.charging.models import ChargeOrder, OrderState
from app.db import utcnow
from app.errors import MONTH_INVALID
from app.extensions import db
from app.paging import Page, paginate
from app.pricing import local_midnight
from app.tenancy import audit
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import transactional

REPORT_READ = "order.read"  # like the overview: money and energy of the operator's orders
READING_WRITE = "station.write"  # the reading belongs to the station's own records
UNSETTLED_STATES = (
    OrderState.CREATED,
    OrderState.STARTING,
    OrderState.CHARGING,
    OrderState.STOPPING,
    OrderState.FINISHED,
    OrderState.ABNORMAL,
)
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class StationLoss:
    station_id: int
    station_name: str
    month: str  # YYYY-MM
    orders: int
    billed_wh: int
    electricity_fen: int
    service_fen: int  # after member discounts
    total_fen: int
    estimated_orders: int
    estimated_wh: int
    unsettled_orders: int
    unsettled_wh: int
    meter_wh: int | None
    gap_wh: int | None  # meter less billed
    ratio_bp: int | None  # billed / meter in basis points
    reading_note: str
    reading_entered_at: datetime | None


@dataclass(frozen=True, slots=True)
class UnsettledOrder:
    order_no: str
    state: str
    pile_id: int
    connector_number: int | None
    started_at: datetime | None
    energy_wh: int


def parse_month(value: str, *, today: date | None = None) -> date:
    """``"2019-10"`` → ``date(2019, 10, 1)``; refuses other spellings and months before
    2000 or after the next one."""
    m = _MONTH.fullmatch(value or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise MONTH_INVALID(details={"month": value})
    month = date(int(m.group(1)), int(m.group(2)), 1)
    today = today or utcnow().date()
    latest = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    if month.year < 2000 or month > latest:
        raise MONTH_INVALID(details={"month": value})
    return month


def previous_month(today: date | None = None) -> str:
    today = today or utcnow().date()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def ratio_bp(billed_wh: int, meter_wh: int | None) -> int | None:
    """Billed over metered in basis points, half up (41,837,580 / 46,980,000 → 8905)."""
    if not meter_wh or meter_wh <= 0:
        return None
    return (billed_wh * 20000 + meter_wh) // (2 * meter_wh)


def _stations(actor: Actor, station_id: int | None) -> list[Station]:
    stmt = scoped(select(Station), Station.operator_id, actor).order_by(Station.id)
    if station_id is not None:
        stmt = stmt.where(Station.id == station_id)
    return list(db.session.scalars(stmt))


def _window(station: Station, month: date) -> tuple[datetime, datetime]:
    return local_midnight(month, station.timezone), local_midnight(_next(month), station.timezone)


def report(
    actor: Actor, *, month: str, station_id: int | None = None, page: int = 1, page_size: int = 20
) -> Page:
    """A page of the actor's stations with their month's figures."""
    actor.require(REPORT_READ)
    first = parse_month(month)
    stations = _stations(actor, station_id)
    total = len(stations)
    page = max(page, 1)
    page_size = min(max(page_size, 1), 100)
    shown = stations[(page - 1) * page_size : page * page_size]
    rows = [_loss(s, first) for s in shown]
    return Page(items=rows, total=total, page=page, page_size=page_size)


def all_rows(actor: Actor, *, month: str, station_id: int | None = None) -> list[StationLoss]:
    """Every station of the actor (the export)."""
    actor.require(REPORT_READ)
    first = parse_month(month)
    return [_loss(s, first) for s in _stations(actor, station_id)]


def _loss(station: Station, month: date) -> StationLoss:
    since, until = _window(station, month)
    bills = db.session.execute(
        select(
            func.count(Bill.id),
            func.coalesce(func.sum(Bill.energy_wh), 0),
            func.coalesce(func.sum(Bill.electricity_fen), 0),
            func.coalesce(func.sum(Bill.service_fen - Bill.service_discount_fen), 0),
            func.coalesce(func.sum(Bill.total_fen), 0),
            func.coalesce(func.sum(case((Bill.estimated.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(case((Bill.estimated.is_(True), Bill.energy_wh), else_=0)), 0),
        ).where(Bill.station_id == station.id, Bill.started_at >= since, Bill.started_at < until)
    ).one()
    energy = func.coalesce(
        func.nullif(ChargeOrder.energy_wh, 0),
        ChargeOrder.last_meter_wh - ChargeOrder.meter_start_wh,
        0,
    )
    open_orders = db.session.execute(
        select(func.count(ChargeOrder.id), func.coalesce(func.sum(energy), 0)).where(
            ChargeOrder.station_id == station.id,
            ChargeOrder.started_at >= since,
            ChargeOrder.started_at < until,
            ChargeOrder.state.in_([s.value for s in UNSETTLED_STATES]),
        )
    ).one()
    reading = db.session.scalar(
        select(StationMeterReading).where(
            StationMeterReading.station_id == station.id, StationMeterReading.month == month
        )
    )
    billed = int(bills[1])
    meter = reading.reading_wh if reading is not None else None
    return StationLoss(
        station_id=station.id,
        station_name=station.name,
        month=f"{month.year:04d}-{month.month:02d}",
        orders=int(bills[0]),
        billed_wh=billed,
        electricity_fen=int(bills[2]),
        service_fen=int(bills[3]),
        total_fen=int(bills[4]),
        estimated_orders=int(bills[5]),
        estimated_wh=int(bills[6]),
        unsettled_orders=int(open_orders[0]),
        unsettled_wh=max(int(open_orders[1]), 0),
        meter_wh=meter,
        gap_wh=None if meter is None else meter - billed,
        ratio_bp=ratio_bp(billed, meter),
        reading_note=reading.note if reading is not None else "",
        reading_entered_at=reading.entered_at if reading is not None else None,
    )


def unsettled(
    actor: Actor, station_id: int, *, month: str, page: int = 1, page_size: int = 20
) -> Page:
    """The orders of the station's month that have no bill yet: the part of the gap the
    platform can still explain."""
    actor.require(REPORT_READ)
    station = get_scoped(Station, station_id, actor, what="站点")
    since, until = _window(station, parse_month(month))
    stmt = (
        select(ChargeOrder)
        .where(
            ChargeOrder.station_id == station.id,
            ChargeOrder.started_at >= since,
            ChargeOrder.started_at < until,
            ChargeOrder.state.in_([s.value for s in UNSETTLED_STATES]),
        )
        .order_by(ChargeOrder.started_at, ChargeOrder.id)
    )
    found = paginate(stmt, page, page_size)
    items = [
        UnsettledOrder(
            order_no=o.order_no,
            state=o.state,
            pile_id=o.pile_id,
            connector_number=o.connector_number,
            started_at=o.started_at,
            energy_wh=o.energy_wh or max((o.last_meter_wh or 0) - (o.meter_start_wh or 0), 0),
        )
        for o in found.items
    ]
    return Page(items=items, total=found.total, page=found.page, page_size=found.page_size)


@transactional
def record_reading(
    actor: Actor, station_id: int, *, month: str, reading_wh: int, note: str = ""
) -> StationLoss:
    """Enter (or correct) the month's utility meter reading of a station; audited with the
    value it replaced."""
    actor.require(READING_WRITE)
    station = get_scoped(Station, station_id, actor, what="站点")
    first = parse_month(month)
    row = db.session.scalar(
        select(StationMeterReading).where(
            StationMeterReading.station_id == station.id, StationMeterReading.month == first
        )
    )
    before: dict[str, Any] | None = None
    if row is None:
        row = StationMeterReading(operator_id=station.operator_id, station_id=station.id,
                                  month=first, reading_wh=reading_wh)  # fmt: skip
        db.session.add(row)
    else:
        before = {"reading_wh": row.reading_wh, "note": row.note}
    row.reading_wh = reading_wh
    row.note = note
    row.entered_by = actor.admin_id
    row.entered_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        "meter_reading.record",
        "station",
        station.id,
        operator_id=station.operator_id,
        before=before,
        after={"month": month, "reading_wh": reading_wh, "note": note},
    )
    return _loss(station, first)
