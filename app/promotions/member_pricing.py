"""Member pricing: pricing groups, their service-fee discounts per sub-operator (optionally
per station), and the prices a driver is shown.

Every price a driver sees is the price they will pay (case #7): the station page uses
:func:`driver_price`, the live order and the bill use the rate frozen in the order's
:class:`OrderTerms` by :func:`order_terms`, all through :mod:`app.pricing`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from app.catalogue import tariffs
from app.catalogue.models import Station
from app.db import utcnow
from app.errors import (
    DISCOUNT_RATE_INVALID,
    PRICING_GROUP_CODE_INVALID,
    PRICING_GROUP_EXISTS,
    PRICING_GROUP_NOT_FOUND,
)
from app.extensions import db
from app.money import apply_rate_unit_price, parse_unit_price
from app.pricing import TariffSnapshot
from app.promotions.models import BUILTIN_PRICING_GROUPS, PricingGroup, ServiceDiscount
from app.tenancy import audit
from app.tenancy.models import Driver
from app.tenancy.operators import resolve_target_operator
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import transactional

NO_GROUP = "none"

PRICES_READ = "tariff.read"

PRICES_WRITE = "tariff.write"


def discount_rate(group_code: str, station: Station) -> Decimal | None:
    """What ``group_code`` pays of the service fee at ``station`` (七折 = 0.7), or None.

    The station's own row wins over the operator-wide one; the operator is the station's.
    """
    return rate_at(group_code, station.id, station.operator_id)


def rate_at(group_code: str, station_id: int, operator_id: int) -> Decimal | None:
    if not group_code or group_code == NO_GROUP:
        return None
    rows = db.session.execute(
        select(ServiceDiscount.station_id, ServiceDiscount.rate).where(
            ServiceDiscount.operator_id == operator_id,
            ServiceDiscount.group_code == group_code,
            ServiceDiscount.is_active.is_(True),
            (ServiceDiscount.station_id == station_id) | ServiceDiscount.station_id.is_(None),
        )
    ).all()
    if not rows:
        return None
    best = min(rows, key=lambda r: r.station_id is None)  # the station's own row first
    return Decimal(best.rate)


def operator_rate(group_code: str, operator_id: int) -> Decimal | None:
    """The operator-wide rate of ``group_code`` (no station's own row): what applies off
    our stations, on a partner's prices when the operator grants it (issue 11)."""
    if not group_code or group_code == NO_GROUP:
        return None
    rate = db.session.scalar(
        select(ServiceDiscount.rate).where(
            ServiceDiscount.operator_id == operator_id,
            ServiceDiscount.group_code == group_code,
            ServiceDiscount.is_active.is_(True),
            ServiceDiscount.station_id.is_(None),
        )
    )
    return None if rate is None else Decimal(rate)


@dataclass(frozen=True, slots=True)
class SegmentPrice:
    start_minute: int
    end_minute: int
    tier: str
    electricity_price: Decimal  # yuan / kWh
    service_price: Decimal  # list price, yuan / kWh
    member_service_price: Decimal  # what this driver pays (case #7)

    @property
    def total_price(self) -> Decimal:
        return self.electricity_price + self.member_service_price


@dataclass(frozen=True, slots=True)
class DriverPrice:
    station_id: int
    tariff_version_id: int
    timezone: str
    pricing_group: str
    service_discount_rate: Decimal | None
    current: SegmentPrice
    segments: tuple[SegmentPrice, ...]


def driver_price(
    driver: Driver | None, station: Station, at: datetime | None = None
) -> DriverPrice:
    """The prices ``driver`` pays at ``station``: the segment in force at ``at`` (station
    local time) and the whole day. Unit prices are discounted for display only
    (:func:`app.money.apply_rate_unit_price`); bills discount each rounded line."""
    version = tariffs.current_version_for_station(station)
    snapshot = tariffs.snapshot_of(version, station.timezone)
    group = driver.pricing_group if driver is not None else NO_GROUP
    rate = discount_rate(group, station)
    prices = segment_prices(snapshot, rate)
    return DriverPrice(
        station_id=station.id,
        tariff_version_id=version.id,
        timezone=station.timezone,
        pricing_group=group,
        service_discount_rate=rate,
        current=prices[index_at(snapshot, at)],
        segments=prices,
    )


def segment_prices(snapshot: TariffSnapshot, rate: Decimal | None) -> tuple[SegmentPrice, ...]:
    """The day's segments at pay-rate ``rate`` of the service fee (None: list price)."""
    return tuple(
        SegmentPrice(
            s.start_minute,
            s.end_minute,
            s.tier,
            s.electricity_price,
            s.service_price,
            s.service_price if rate is None else apply_rate_unit_price(s.service_price, rate),
        )
        for s in snapshot.segments
    )


def index_at(snapshot: TariffSnapshot, at: datetime | None = None) -> int:
    """Index of the segment in force at ``at`` (default now), in the tariff's local time."""
    local = (at or utcnow()).astimezone(snapshot.zone)
    return snapshot.index_at_minute(local.hour * 60 + local.minute)


@dataclass(frozen=True, slots=True)
class DiscountTable:
    """Every active service discount in memory, for pricing many stations at once (the
    nearby search); the same rule as :func:`discount_rate`."""

    rates: Mapping[tuple[int, str, int | None], Decimal]  # (operator, group, station|None)

    def rate(self, group_code: str, station_id: int, operator_id: int) -> Decimal | None:
        if not group_code or group_code == NO_GROUP:
            return None
        own = self.rates.get((operator_id, group_code, station_id))
        return own if own is not None else self.rates.get((operator_id, group_code, None))


def discount_table() -> DiscountTable:
    rows = db.session.execute(
        select(
            ServiceDiscount.operator_id,
            ServiceDiscount.group_code,
            ServiceDiscount.station_id,
            ServiceDiscount.rate,
        ).where(ServiceDiscount.is_active.is_(True))
    )
    return DiscountTable(
        {(int(op), str(group), sid): Decimal(rate) for op, group, sid, rate in rows}
    )


@dataclass(frozen=True, slots=True)
class GroupView:
    code: str
    name: str
    operator_id: int | None
    builtin: bool
    is_active: bool


def group_exists(code: str, operator_id: int) -> bool:
    if code in BUILTIN_PRICING_GROUPS:
        return True
    return (
        db.session.scalar(
            select(PricingGroup.id).where(
                PricingGroup.code == code,
                PricingGroup.is_active.is_(True),
                (PricingGroup.operator_id == operator_id) | PricingGroup.operator_id.is_(None),
            )
        )
        is not None
    )


def list_groups(actor: Actor) -> list[GroupView]:
    actor.require(PRICES_READ)
    out = [GroupView(code, name, None, True, True) for code, name in BUILTIN_PRICING_GROUPS.items()]
    stmt = select(PricingGroup).order_by(PricingGroup.id)
    if not actor.is_platform:
        stmt = stmt.where(
            (PricingGroup.operator_id == actor.operator_id) | PricingGroup.operator_id.is_(None)
        )
    for g in db.session.scalars(stmt):
        out.append(GroupView(g.code, g.name, g.operator_id, False, g.is_active))
    return out


@transactional
def create_group(
    actor: Actor, code: str, name: str, *, operator_id: int | None = None
) -> GroupView:
    actor.require(PRICES_WRITE)
    code = code.strip()
    if not code or not code.replace("_", "").isalnum() or code == NO_GROUP:
        raise PRICING_GROUP_CODE_INVALID()
    owner = resolve_target_operator(actor, operator_id)
    if code in BUILTIN_PRICING_GROUPS or group_exists(code, owner):
        raise PRICING_GROUP_EXISTS(details={"code": code})
    group = PricingGroup(operator_id=owner, code=code, name=name.strip() or code)
    db.session.add(group)
    db.session.flush()
    audit.record(
        actor, "pricing_group.create", "pricing_group", group.id, operator_id=owner,
        after={"code": code, "name": group.name},
    )  # fmt: skip
    return GroupView(group.code, group.name, group.operator_id, False, group.is_active)


def list_discounts(actor: Actor, *, operator_id: int | None = None) -> list[ServiceDiscount]:
    actor.require(PRICES_READ)
    stmt = scoped(select(ServiceDiscount), ServiceDiscount.operator_id, actor)
    if operator_id:
        stmt = stmt.where(ServiceDiscount.operator_id == operator_id)
    return list(db.session.scalars(stmt.order_by(ServiceDiscount.id)))


def _rate(value: Decimal | str) -> Decimal:
    try:
        rate = parse_unit_price(value)  # ≥ 0, at most 4 decimals, never a float
    except (TypeError, ValueError):
        rate = Decimal(-1)
    if not Decimal(0) <= rate <= Decimal(1):
        raise DISCOUNT_RATE_INVALID(details={"rate": str(value)})
    return rate


@transactional
def set_discount(
    actor: Actor,
    *,
    group_code: str,
    rate: Decimal | str,
    station_id: int | None = None,
    operator_id: int | None = None,
    reason: str = "",
) -> ServiceDiscount:
    """Set what ``group_code`` pays of the service fee at an operator's stations (or one
    station of it). Audited: it changes prices."""
    actor.require(PRICES_WRITE)
    value = _rate(rate)
    if station_id is not None:
        station = get_scoped(Station, station_id, actor, what="站点")
        owner = station.operator_id
    else:
        owner = resolve_target_operator(actor, operator_id)
    if not group_exists(group_code, owner):
        raise PRICING_GROUP_NOT_FOUND()
    row = db.session.scalar(
        select(ServiceDiscount).where(
            ServiceDiscount.operator_id == owner,
            ServiceDiscount.group_code == group_code,
            ServiceDiscount.station_id.is_(None)
            if station_id is None
            else ServiceDiscount.station_id == station_id,
        )
    )
    before = None if row is None else {"rate": str(row.rate), "is_active": row.is_active}
    if row is None:
        row = ServiceDiscount(operator_id=owner, group_code=group_code, station_id=station_id)
        db.session.add(row)
    row.rate = value
    row.is_active = True
    db.session.flush()
    audit.record(
        actor, "service_discount.set", "service_discount", row.id, operator_id=owner,
        before=before,
        after={"group_code": group_code, "station_id": station_id, "rate": str(value)},
        reason=reason,
    )  # fmt: skip
    return row


@transactional
def remove_discount(actor: Actor, discount_id: int, *, reason: str = "") -> None:
    actor.require(PRICES_WRITE)
    row = get_scoped(ServiceDiscount, discount_id, actor, what="会员折扣")
    before = {"group_code": row.group_code, "station_id": row.station_id, "rate": str(row.rate)}
    row.is_active = False
    audit.record(
        actor, "service_discount.remove", "service_discount", row.id,
        operator_id=row.operator_id, before=before, after={"is_active": False}, reason=reason,
    )  # fmt: skip
