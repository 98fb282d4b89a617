"""The live order as the app polls it: one read, a cached estimate (issue 5)."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import ColumnElement, Engine, Row, bindparam, exists, func, or_, select

from app.billing import bills
from app.billing.models import Bill
from app.catalogue.models import Connector, FaultRecord, Pile, Station
from app.charging import session
from app.charging.models import ACTIVE_STATES, ChargeOrder, OrderState, OrderTerms
from app.charging.port import ConnectorState
from app.config import setting
from app.db import utcnow
from app.errors import ORDER_NOT_FOUND
from app.extensions import db
from app.promotions.models import Coupon, CouponState
from app.state import Slot, part
from app.tenancy.models import Driver

log = logging.getLogger(__name__)

# case #15: the pile is unreachable, so the app cannot stop it; the pile itself can
OFFLINE_HINT = (
    "充电桩当前离线，暂时无法通过小程序停止充电。如需停止，请在充电桩屏幕上点击"
    "「停止充电」并输入充电密码（在「我的 → 充电密码」中查看或重置），或按充电桩上的"
    "停止说明操作；订单不会丢失，"
    "充电桩恢复连接后将按实际电量结算。"
)

# the pile says the gun is out but its bill has not come yet (issue 14): when at the latest
STOPPING_HINT = (
    "充电已结束，正在等待充电桩上报账单，最迟 {by} 前完成结算；"
    "若充电桩一直未上报，将按最后一次电表读数和电价结算。"
)
# the pile reports a fault but is reachable: the app can still stop it
FAULT_HINT = (
    "充电桩报告故障，但仍在线：可在小程序中停止充电；如无法停止，请按充电桩屏幕提示操作或"
    "联系客服。故障期间不计占位费。"
)

# the lost-bill job's interval (app/jobs/scheduler.py, "lost-bills")
LOST_BILL_JOB_SECONDS = 60

_ORDER_NO = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class OrderFigures(Protocol):
    """What the live view shows of an order: a ChargeOrder, or a row of its columns."""

    @property
    def id(self) -> int: ...

    @property
    def order_no(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def station_id(self) -> int | None: ...

    @property
    def connector_number(self) -> int | None: ...

    @property
    def energy_wh(self) -> int | None: ...

    @property
    def power_w(self) -> int | None: ...

    @property
    def soc_percent(self) -> int | None: ...

    @property
    def requested_at(self) -> datetime: ...

    @property
    def started_at(self) -> datetime | None: ...

    @property
    def stopped_at(self) -> datetime | None: ...

    @property
    def energy_ended_at(self) -> datetime | None: ...

    @property
    def failure_reason(self) -> str: ...

    @property
    def awaiting_record_since(self) -> datetime | None: ...

    @property
    def timezone(self) -> str: ...


@dataclass(frozen=True, slots=True)
class LiveOrder:
    order: OrderFigures  # the ChargeOrder, or the poll's row of its columns
    station_name: str
    pile_code: str
    pile_online: bool
    can_stop: bool
    hint: str | None
    elapsed_seconds: int
    bill: bills.BillPreview | None
    payment: Bill | None = None  # the settled bill row (paid, arrears); detail view only

    @property
    def energy_wh(self) -> int:
        return self.bill.energy_wh if self.bill is not None else (self.order.energy_wh or 0)


def _elapsed(order: OrderFigures, now: datetime) -> int:
    start = order.started_at
    if start is None:
        return 0
    end = order.stopped_at or order.energy_ended_at or now
    return max(0, int((end - start).total_seconds()))


def live_view(order: ChargeOrder, now: datetime | None = None) -> LiveOrder:
    moment = now or utcnow()
    pile = db.session.get(Pile, order.pile_id)
    station = db.session.get(Station, order.station_id) if order.station_id else None
    faulted = bool(db.session.scalar(select(_faulted()).where(ChargeOrder.id == order.id)))
    return _live(
        order,
        station.name if station is not None else "",
        pile.code if pile is not None else "",
        bool(pile is not None and pile.online),
        bills.live_bill(order, moment) if order.state != OrderState.FAILED else None,
        moment,
        faulted=faulted,
    )


def _faulted() -> ColumnElement[bool]:
    """The order's pile or gun reports a fault now (an open fault record of the pile or
    this gun, or the gun's own status), correlated to the order."""
    record = exists().where(
        FaultRecord.pile_id == ChargeOrder.pile_id,
        FaultRecord.ended_at.is_(None),
        or_(
            FaultRecord.connector_number.is_(None),
            FaultRecord.connector_number == ChargeOrder.connector_number,
        ),
    )
    gun = exists().where(
        Connector.id == ChargeOrder.connector_id, Connector.status == ConnectorState.FAULTED
    )
    return or_(record, gun)


def settle_by(order: OrderFigures) -> datetime | None:
    """When an order awaiting its record is settled at the latest: the lost-bill timeout,
    then one run of its job (estimated from the last meter reading, case #25)."""
    if order.state != OrderState.STOPPING or order.awaiting_record_since is None:
        return None
    wait = int(setting("LOST_BILL_TIMEOUT_SECONDS")) + LOST_BILL_JOB_SECONDS
    return order.awaiting_record_since + timedelta(seconds=wait)


def _hint(order: OrderFigures, online: bool, faulted: bool) -> str | None:
    if order.state not in ACTIVE_STATES:
        return None
    if not online:
        return OFFLINE_HINT
    by = settle_by(order)
    if by is not None:
        local = by.astimezone(ZoneInfo(order.timezone or "Asia/Shanghai"))
        return STOPPING_HINT.format(by=local.strftime("%Y-%m-%d %H:%M"))
    if faulted:
        return FAULT_HINT
    return None


def _live(
    order: OrderFigures,
    station_name: str,
    pile_code: str,
    online: bool,
    bill: bills.BillPreview | None,
    moment: datetime,
    *,
    faulted: bool = False,
) -> LiveOrder:
    return LiveOrder(
        order=order,
        station_name=station_name,
        pile_code=pile_code,
        pile_online=online,
        can_stop=online and order.state in session.STOPPABLE,
        hint=_hint(order, online, faulted),
        elapsed_seconds=_elapsed(order, moment),
        bill=bill,
    )


class LiveBillCache:
    """Bill estimates of running orders, per application (so per database), keyed by
    everything the estimate is computed from that can change while the order runs: its
    state, meter reading and time, start/stop times, the coupon choice and the driver's
    available coupons (sum of their ids). A new meter sample, choice or coupon is a new key,
    so an entry is never wrong about what it was computed from; what no key can see (a
    coupon's validity window opening or closing with the clock before the expiry job has
    run) shows after at most ``LIVE_BILL_CACHE_SECONDS``. Bounded: full means expired
    entries go, then everything."""

    MAX_ENTRIES = 50_000

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[int, tuple[float, tuple[object, ...], bills.BillPreview]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, order_id: int, key: tuple[object, ...]) -> bills.BillPreview | None:
        entry = self._entries.get(order_id)
        if entry is not None and entry[1] == key and entry[0] > time.monotonic():
            self.hits += 1
            return entry[2]
        self.misses += 1
        return None

    def put(self, order_id: int, key: tuple[object, ...], bill: bills.BillPreview) -> None:
        if self.ttl <= 0:
            return
        now = time.monotonic()
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
        self._entries[order_id] = (now + self.ttl, key, bill)

    def forget(self, order_id: int) -> None:
        self._entries.pop(order_id, None)


def _key_text(key: tuple[object, ...]) -> str:
    """The estimate's key as text two processes spell alike (ints, strings, None, UTC
    datetimes)."""
    return "|".join("" if v is None else v.isoformat() if isinstance(v, datetime) else str(v)
                    for v in key)  # fmt: skip


def _bill_json(bill: bills.BillPreview) -> dict[str, Any]:
    out = {name: getattr(bill, name) for name in bills.BillPreview.__dataclass_fields__}
    rate = bill.service_discount_rate
    out["service_discount_rate"] = None if rate is None else str(rate)
    out["lines"] = [
        {k: v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, Decimal)
         else v for k, v in line.items()}
        for line in bill.lines
    ]  # fmt: skip
    return out


_LINE_TIMES = ("segment_start", "segment_end")
_LINE_PRICES = ("electricity_price", "service_price")


def _bill_of(data: dict[str, Any]) -> bills.BillPreview:
    rate = data["service_discount_rate"]
    lines = []
    for raw in data["lines"]:
        line = dict(raw)
        for k in _LINE_TIMES:
            line[k] = datetime.fromisoformat(line[k])
        for k in _LINE_PRICES:
            line[k] = Decimal(line[k])
        lines.append(line)
    return bills.BillPreview(
        **(data | {"service_discount_rate": None if rate is None else Decimal(rate),
                   "lines": tuple(lines)})
    )  # fmt: skip


class SharedLiveBillCache(LiveBillCache):
    """The estimates shared by every worker through Redis (``REDIS_URL``), in front of
    each worker's own: an estimate one worker computed serves the polls any other worker
    answers (the app's polls of one order land on any of them), the key stored beside it
    (an entry serves only the key it was computed from, as in the worker's own cache).
    Redis unreachable: each worker computes its own, as without Redis."""

    def __init__(self, ttl_seconds: float, client: Any, *, prefix: str = "evop:live-bill:"):
        super().__init__(ttl_seconds)
        self._redis = client
        self._prefix = prefix
        self.shared_hits = 0

    @classmethod
    def from_url(cls, url: str, ttl_seconds: float) -> SharedLiveBillCache:
        return cls(ttl_seconds, redis.Redis.from_url(url, socket_timeout=0.5))

    def get(self, order_id: int, key: tuple[object, ...]) -> bills.BillPreview | None:
        found = super().get(order_id, key)
        if found is not None or self.ttl <= 0:
            return found
        try:
            raw = self._redis.get(f"{self._prefix}{order_id}")
        except redis.RedisError:
            log.warning("live bill cache unavailable order_id=%s", order_id)
            return None
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
            if entry.get("k") != _key_text(key):
                return None
            bill = _bill_of(entry["b"])
        except (ValueError, KeyError, TypeError):
            return None
        self.misses -= 1
        self.shared_hits += 1
        super().put(order_id, key, bill)
        return bill

    def put(self, order_id: int, key: tuple[object, ...], bill: bills.BillPreview) -> None:
        super().put(order_id, key, bill)
        if self.ttl <= 0:
            return
        value = json.dumps({"k": _key_text(key), "b": _bill_json(bill)})
        try:
            self._redis.set(f"{self._prefix}{order_id}", value, ex=max(1, int(self.ttl)))
        except redis.RedisError:
            log.warning("live bill cache not updated order_id=%s", order_id)

    def forget(self, order_id: int) -> None:
        super().forget(order_id)
        try:
            self._redis.delete(f"{self._prefix}{order_id}")
        except redis.RedisError:
            log.warning("live bill cache not cleared order_id=%s", order_id)


def live_bill_cache_for(redis_url: str, ttl_seconds: float) -> LiveBillCache:
    """Shared through Redis when ``REDIS_URL`` is set, else the worker's own."""
    if redis_url and ttl_seconds > 0:
        return SharedLiveBillCache.from_url(redis_url, ttl_seconds)
    return LiveBillCache(ttl_seconds)


LIVE_BILLS: Slot[LiveBillCache] = Slot("live bill estimates")


def live_bill_cache() -> LiveBillCache:
    return part(LIVE_BILLS)


def _driver_coupons() -> Any:
    """The sum of the ids of the driver's available coupons (index ix_coupons_driver_status;
    NULL: none): a grant adds its id, a use, revocation or expiry takes one away, so any
    change moves it (two changes between two polls that cancel out would need ids that
    sum alike: the age limit covers that), and with it the estimate's key."""
    return (
        select(func.sum(Coupon.id))
        .where(Coupon.driver_id == ChargeOrder.driver_id, Coupon.status == CouponState.AVAILABLE)
        .scalar_subquery()
    )


# the order's columns the live view shows and the pricing code reads
_PRICED_COLUMNS = (
    "id", "driver_id", "order_no", "state", "station_id", "connector_number", "energy_wh",
    "last_meter_wh", "last_meter_at", "power_w", "soc_percent", "requested_at", "started_at",
    "stopped_at", "energy_ended_at", "failure_reason", "tariff_version_id", "timezone",
    "meter_start_wh", "awaiting_record_since",
)  # fmt: skip

# the poll's one statement, built once (its SQL is compiled once per engine and cached)
_LIVE_ROW = (
    select(
        *(getattr(ChargeOrder, name) for name in _PRICED_COLUMNS),
        Pile.code.label("pile_code"), Pile.online.label("pile_online"),
        Station.name.label("station_name"), OrderTerms.order_id.label("terms_order_id"),
        OrderTerms.pricing_group, OrderTerms.service_discount_rate,
        OrderTerms.coupon_choice, OrderTerms.chosen_coupon_id,
        _driver_coupons().label("coupons_fingerprint"),
        _faulted().label("faulted"),
    )
    .outerjoin(Pile, Pile.id == ChargeOrder.pile_id)
    .outerjoin(Station, Station.id == ChargeOrder.station_id)
    .outerjoin(OrderTerms, OrderTerms.order_id == ChargeOrder.id)
    .where(ChargeOrder.order_no == bindparam("order_no"))
)  # fmt: skip


def _priced_copy(row: Row[Any]) -> tuple[ChargeOrder, OrderTerms | None]:
    """Detached copies of the order and its frozen terms, built from the poll's row, for
    the pricing code (which reads their columns only). Never added to the session."""
    order = ChargeOrder(**{name: getattr(row, name) for name in _PRICED_COLUMNS})
    if row.terms_order_id is None:
        return order, None  # not frozen (an order opened before terms were): priced as now
    terms = OrderTerms(
        order_id=row.terms_order_id, pricing_group=row.pricing_group,
        service_discount_rate=row.service_discount_rate, coupon_choice=row.coupon_choice,
        chosen_coupon_id=row.chosen_coupon_id,
    )  # fmt: skip
    return order, terms


def _autocommit_reads() -> bool:
    """Run this request's statements in autocommit mode when it has not begun a
    transaction on the application's own engine: reads then cost no BEGIN and no ROLLBACK
    round trip (a poll never writes). A session bound to a caller's connection, or already
    in a transaction, is left as it is (it must see its own writes). True: autocommit was
    set here, so the connection may go back to the pool once read (:func:`_release`)."""
    session = db.session()
    if isinstance(session.get_bind(), Engine) and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        return True
    return False


def _release(mine: bool) -> None:
    """The autocommit connection back to the pool as soon as the poll has read its rows,
    not at the end of the request: the estimate, the serialization and the answer's write
    need none, and a worker's greenlets holding connections through them outgrew the pool
    under load (a connection opened, pinged and closed per excess request)."""
    session = db.session()
    if mine and not session.identity_map:
        session.close()  # holds no object of the caller's (nothing is detached)


def live(driver: Driver | int, order_no: str, now: datetime | None = None) -> LiveOrder:
    """The driver's running order as the app polls it: one read for the order, its pile,
    station and coupon choice; the bill estimate from the cache while nothing it depends on
    has changed (an order that has stopped consuming energy is priced afresh: its occupancy
    fee grows by the minute)."""
    driver_id = driver if isinstance(driver, int) else driver.id
    row = None
    if _ORDER_NO.match(order_no):  # odd text never reaches the database (NUL on PostgreSQL)
        mine = _autocommit_reads()
        row = db.session.execute(_LIVE_ROW, {"order_no": order_no}).first()
        _release(mine)
    if row is None or row.driver_id != driver_id:
        raise ORDER_NOT_FOUND(details={"order_no": order_no})
    moment = now or utcnow()
    figures = cast(OrderFigures, row)
    if row.state == OrderState.FAILED:
        return _live(figures, row.station_name or "", row.pile_code or "", bool(row.pile_online),
                     None, moment, faulted=bool(row.faulted))  # fmt: skip
    cache = live_bill_cache()
    key = (
        row.state, row.energy_wh, row.last_meter_wh, row.last_meter_at, row.started_at,
        row.stopped_at, row.tariff_version_id, row.coupon_choice, row.chosen_coupon_id,
        row.coupons_fingerprint,
    )  # fmt: skip
    cacheable = row.state in ACTIVE_STATES and row.energy_ended_at is None
    bill = cache.get(row.id, key) if cacheable else None
    if bill is None:
        if cacheable:
            order, terms = _priced_copy(row)
            mine = _autocommit_reads()
            bill = bills.live_bill(
                order, moment, terms=terms, has_coupons=row.coupons_fingerprint is not None
            )
            _release(mine)
        else:  # a bill may exist, occupancy may run: the persistent order, as ever
            persistent = db.session.get(ChargeOrder, row.id)
            bill = bills.live_bill(persistent, moment) if persistent is not None else None
        if bill is not None and cacheable:
            cache.put(row.id, key, bill)
    return _live(figures, row.station_name or "", row.pile_code or "", bool(row.pile_online),
                 bill, moment, faulted=bool(row.faulted))  # fmt: skip
