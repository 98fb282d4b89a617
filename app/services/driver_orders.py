"""A driver's own charge orders: start (idempotent by the app's request id), the live
view, stop, the order list and the itemised bill (case #18 2020), the coupon choice
before settlement (cases #9, #13). Another driver's order is reported absent (404)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, cast

from flask import current_app
from sqlalchemy import Engine, Row, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.models import Bill, ChargeOrder, Connector, Coupon, Driver, OrderTerms, Pile, Station
from app.models.base import utcnow
from app.models.charging import ACTIVE_STATES
from app.services import charging, coupons, settlement
from app.services.context import Page, paginate
from app.services.pile_port import CommandOutcome, CommandResult
from app.services.qr import start_blocker
from app.services.stations_public import driver_operator, station_visible

# case #15: the pile is unreachable, so the app cannot stop it; the pile itself can
OFFLINE_HINT = (
    "充电桩当前离线，暂时无法通过小程序停止充电。如需停止，请在充电桩屏幕上点击"
    "「停止充电」并输入充电密码，或按充电桩上的停止说明操作；订单不会丢失，"
    "充电桩恢复连接后将按实际电量结算。"
)
_START_FAILURES = {
    CommandOutcome.PILE_OFFLINE: ("PILE_OFFLINE", "充电桩离线，启动失败，请稍后再试"),
    CommandOutcome.REJECTED: ("START_REJECTED", "充电桩拒绝启动，请检查是否已插好充电枪"),
    CommandOutcome.TIMED_OUT: ("START_TIMEOUT", "充电桩未响应，启动失败，请稍后再试"),
    CommandOutcome.NOT_SUPPORTED: ("START_REJECTED", "该充电桩不支持远程启动"),
}
MAX_CLIENT_REQUEST_ID = 40
_ORDER_NO = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _request_key(driver: Driver, client_request_id: str) -> str:
    # request ids are the app's: scoped per driver so two drivers never collide
    return f"d{driver.id}:{client_request_id}"


def own_order(driver: Driver, order_no: str) -> ChargeOrder:
    order = None
    if _ORDER_NO.match(order_no):  # odd text never reaches the database (NUL on PostgreSQL)
        order = db.session.scalar(select(ChargeOrder).where(ChargeOrder.order_no == order_no))
    if order is None or order.driver_id != driver.id:
        raise NotFound("订单不存在", code="ORDER_NOT_FOUND", details={"order_no": order_no})
    return order


@dataclass(frozen=True, slots=True)
class StartResult:
    order: LiveOrder
    repeated: bool  # the same request id had started this order before
    failure_code: str | None
    failure_message: str | None


def _failure(order: ChargeOrder, command: CommandResult | None) -> tuple[str | None, str | None]:
    if order.state != "failed":
        return None, None
    if command is not None and command.outcome in _START_FAILURES:
        return _START_FAILURES[command.outcome]
    outcome = order.failure_reason.split(":", 1)[0]
    for known, pair in _START_FAILURES.items():
        if known.value == outcome:
            return pair
    return "START_FAILED", "启动失败，请稍后再试"


def start(driver: Driver, connector_id: int, client_request_id: str) -> StartResult:
    """Start charging on a connector the driver may use. Commits."""
    key = _request_key(driver, client_request_id)
    existing = db.session.scalar(select(ChargeOrder).where(ChargeOrder.client_request_id == key))
    if existing is not None:
        return StartResult(live_view(existing), True, *_failure(existing, None))
    connector = db.session.get(Connector, connector_id)
    station = connector.pile.station if connector is not None else None
    if connector is None or (
        station is not None and not station_visible(driver_operator(driver), station)
    ):
        raise NotFound("充电枪不存在", code="CONNECTOR_NOT_FOUND", details={"id": connector_id})
    blocker = start_blocker(driver, connector)
    if blocker is not None:
        raise DomainError(blocker.message, code=blocker.code, details=blocker.details, status=409)
    try:
        outcome = charging.request_remote_start(driver, connector, client_request_id=key)
    except IntegrityError:  # the same request twice at once: the first one won
        db.session.rollback()
        first = db.session.scalar(select(ChargeOrder).where(ChargeOrder.client_request_id == key))
        if first is None:
            raise Conflict("充电枪正在使用中", code="CONNECTOR_BUSY") from None
        return StartResult(live_view(first), True, *_failure(first, None))
    order = outcome.order
    return StartResult(live_view(order), outcome.command is None, *_failure(order, outcome.command))


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


@dataclass(frozen=True, slots=True)
class LiveOrder:
    order: OrderFigures  # the ChargeOrder, or the poll's row of its columns
    station_name: str
    pile_code: str
    pile_online: bool
    can_stop: bool
    hint: str | None
    elapsed_seconds: int
    bill: settlement.BillPreview | None
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
    return _live(
        order,
        station.name if station is not None else "",
        pile.code if pile is not None else "",
        bool(pile is not None and pile.online),
        settlement.live_bill(order, moment) if order.state != "failed" else None,
        moment,
    )


def _live(
    order: OrderFigures,
    station_name: str,
    pile_code: str,
    online: bool,
    bill: settlement.BillPreview | None,
    moment: datetime,
) -> LiveOrder:
    active = order.state in ACTIVE_STATES
    return LiveOrder(
        order=order,
        station_name=station_name,
        pile_code=pile_code,
        pile_online=online,
        can_stop=online and order.state in ("starting", "charging"),
        hint=OFFLINE_HINT if active and not online else None,
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
        self._entries: dict[int, tuple[float, tuple[object, ...], settlement.BillPreview]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, order_id: int, key: tuple[object, ...]) -> settlement.BillPreview | None:
        entry = self._entries.get(order_id)
        if entry is not None and entry[1] == key and entry[0] > time.monotonic():
            self.hits += 1
            return entry[2]
        self.misses += 1
        return None

    def put(self, order_id: int, key: tuple[object, ...], bill: settlement.BillPreview) -> None:
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


def live_bill_cache() -> LiveBillCache:
    cache: LiveBillCache | None = current_app.extensions.get(_LIVE_CACHE)
    if cache is None:
        cache = LiveBillCache(float(current_app.config.get("LIVE_BILL_CACHE_SECONDS", 0)))
        current_app.extensions[_LIVE_CACHE] = cache
    return cache


_LIVE_CACHE = "evop_live_bill_cache"


def _driver_coupons() -> Any:
    """The sum of the ids of the driver's available coupons (index ix_coupons_driver_status;
    NULL: none): a grant adds its id, a use, revocation or expiry takes one away, so any
    change moves it (two changes between two polls that cancel out would need ids that
    sum alike: the age limit covers that), and with it the estimate's key."""
    return (
        select(func.sum(Coupon.id))
        .where(Coupon.driver_id == ChargeOrder.driver_id, Coupon.status == "available")
        .scalar_subquery()
    )


# the order's columns the live view shows and the pricing code reads
_PRICED_COLUMNS = (
    "id", "driver_id", "order_no", "state", "station_id", "connector_number", "energy_wh",
    "last_meter_wh", "last_meter_at", "power_w", "soc_percent", "requested_at", "started_at",
    "stopped_at", "energy_ended_at", "failure_reason", "tariff_version_id", "timezone",
    "meter_start_wh",
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
        return order, None  # not frozen yet: live_bill freezes them (and commits)
    terms = OrderTerms(
        order_id=row.terms_order_id, pricing_group=row.pricing_group,
        service_discount_rate=row.service_discount_rate, coupon_choice=row.coupon_choice,
        chosen_coupon_id=row.chosen_coupon_id,
    )  # fmt: skip
    return order, terms


def _autocommit_reads() -> None:
    """Run this request's statements in autocommit mode when it has not begun a
    transaction on the application's own engine: reads then cost no BEGIN and no ROLLBACK
    round trip, and the one write a poll may make (freezing the order's terms, a single
    INSERT) commits by itself. A session bound to a caller's connection, or already in a
    transaction, is left as it is (it must see its own writes)."""
    session = db.session()
    if isinstance(session.get_bind(), Engine) and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def live(driver: Driver | int, order_no: str, now: datetime | None = None) -> LiveOrder:
    """The driver's running order as the app polls it: one read for the order, its pile,
    station and coupon choice; the bill estimate from the cache while nothing it depends on
    has changed (an order that has stopped consuming energy is priced afresh: its occupancy
    fee grows by the minute)."""
    driver_id = driver if isinstance(driver, int) else driver.id
    row = None
    if _ORDER_NO.match(order_no):  # odd text never reaches the database (NUL on PostgreSQL)
        _autocommit_reads()
        row = db.session.execute(_LIVE_ROW, {"order_no": order_no}).first()
    if row is None or row.driver_id != driver_id:
        raise NotFound("订单不存在", code="ORDER_NOT_FOUND", details={"order_no": order_no})
    moment = now or utcnow()
    figures = cast(OrderFigures, row)
    if row.state == "failed":
        return _live(figures, row.station_name or "", row.pile_code or "", bool(row.pile_online),
                     None, moment)  # fmt: skip
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
            bill = settlement.live_bill(
                order, moment, terms=terms, has_coupons=row.coupons_fingerprint is not None
            )
        else:  # a bill may exist, occupancy may run: the persistent order, as ever
            persistent = db.session.get(ChargeOrder, row.id)
            bill = settlement.live_bill(persistent, moment) if persistent is not None else None
        if bill is not None and cacheable:
            cache.put(row.id, key, bill)
    return _live(figures, row.station_name or "", row.pile_code or "", bool(row.pile_online),
                 bill, moment)  # fmt: skip


def stop(driver: Driver, order_no: str) -> LiveOrder:
    """The driver stops charging. The order moves on when the pile's record arrives; an
    unreachable pile leaves it charging and the answer says how to stop at the pile."""
    order = own_order(driver, order_no)
    result = charging.request_stop(order, by="driver")
    if result.outcome is CommandOutcome.PILE_OFFLINE:
        raise charging.PileOffline(OFFLINE_HINT, details={"order_no": order.order_no})
    if result.outcome is CommandOutcome.REJECTED:
        raise Conflict("充电桩拒绝停止，请在充电桩上停止充电", code="STOP_REJECTED")
    if not result.ok:
        raise Conflict("充电桩未响应停止指令，请稍后重试或在充电桩上停止", code="STOP_TIMEOUT")
    return live_view(order)


@dataclass(frozen=True, slots=True)
class OrderSummary:
    order: ChargeOrder
    station_name: str
    total_fen: int | None


def list_orders(
    driver: Driver, *, page: int = 1, page_size: int = 20, state: str | None = None
) -> Page:
    stmt = select(ChargeOrder).where(ChargeOrder.driver_id == driver.id)
    if state:
        stmt = stmt.where(ChargeOrder.state == state)
    result = paginate(stmt.order_by(ChargeOrder.id.desc()), page, page_size)
    ids = {o.station_id for o in result.items if o.station_id}
    names: dict[int, str] = {
        sid: name
        for sid, name in db.session.execute(
            select(Station.id, Station.name).where(Station.id.in_(ids))
        )
    }
    totals: dict[int, int] = {
        oid: total
        for oid, total in db.session.execute(
            select(Bill.order_id, Bill.total_fen).where(
                Bill.order_id.in_([o.id for o in result.items])
            )
        )
    }
    items = [
        OrderSummary(o, names.get(o.station_id, ""), totals.get(o.id, o.total_fen))
        for o in result.items
    ]
    return Page(items=items, total=result.total, page=result.page, page_size=result.page_size)


def order_detail(driver: Driver, order_no: str) -> LiveOrder:
    """The order with its itemised bill: the settled one, else the running estimate."""
    order = own_order(driver, order_no)
    return replace(live_view(order), payment=settlement.bill_of(order.id))


# --------------------------------------------------------------------------- coupons


@dataclass(frozen=True, slots=True)
class CouponChoice:
    choice: str  # default | none | chosen
    selected_coupon_id: int | None  # what the bill would use now
    coupons: list[coupons.CouponView]


def coupon_choice(driver: Driver, order_no: str) -> CouponChoice:
    order = own_order(driver, order_no)
    if order.state in ("settled", "failed", "abnormal"):
        bill = settlement.bill_of(order.id)
        used = [coupons.view(c) for c in _used_coupon(bill)]
        return CouponChoice("final", bill.coupon_id if bill else None, used)
    now = utcnow()
    preview = settlement.live_bill(order, now)
    terms = db.session.get(OrderTerms, order.id)
    usable = [coupons.view(c) for c in coupons.usable_coupons(order, now)]
    return CouponChoice(
        terms.coupon_choice if terms is not None else "default",
        preview.coupon_id if preview is not None else None,
        usable,
    )


def _used_coupon(bill: Bill | None) -> list[Coupon]:
    if bill is None or bill.coupon_id is None:
        return []
    coupon = db.session.get(Coupon, bill.coupon_id)
    return [coupon] if coupon is not None else []


def choose_coupon(
    driver: Driver, order_no: str, coupon_id: int | None, *, use_default: bool = False
) -> CouponChoice:
    order = own_order(driver, order_no)
    coupons.choose_coupon(order, coupon_id, use_default=use_default)
    return coupon_choice(driver, order_no)
