"""A driver's own charge orders: start, stop, list, itemised bill, coupon choice."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.billing import bills, coupon_use
from app.billing.models import Bill
from app.catalogue.models import Connector, Station
from app.catalogue.visibility import driver_operator, station_visible
from app.charging import starts, stops
from app.charging.models import ChargeOrder, OrderState, OrderTerms
from app.charging.port import CommandOutcome, CommandResult
from app.db import utcnow
from app.drivers.live import _ORDER_NO, OFFLINE_HINT, LiveOrder, live_view
from app.errors import (
    CONNECTOR_BUSY,
    CONNECTOR_NOT_FOUND,
    ORDER_NOT_FOUND,
    PILE_OFFLINE,
    STOP_REJECTED,
    STOP_TIMEOUT,
)
from app.extensions import db
from app.paging import Page, paginate
from app.pricing import CouponRefusal
from app.promotions import coupons
from app.promotions.models import Coupon
from app.tenancy.models import Driver
from app.uow import discard, in_unit_of_work

_START_FAILURES = {
    CommandOutcome.PILE_OFFLINE: ("PILE_OFFLINE", "充电桩离线，启动失败，请稍后再试"),
    CommandOutcome.REJECTED: ("START_REJECTED", "充电桩拒绝启动，请检查是否已插好充电枪"),
    CommandOutcome.TIMED_OUT: ("START_TIMEOUT", "充电桩未响应，启动失败，请稍后再试"),
    CommandOutcome.NOT_SUPPORTED: ("START_REJECTED", "该充电桩不支持远程启动"),
}

MAX_CLIENT_REQUEST_ID = 40


def _request_key(driver: Driver, client_request_id: str) -> str:
    # request ids are the app's: scoped per driver so two drivers never collide
    return f"d{driver.id}:{client_request_id}"


def own_order(driver: Driver, order_no: str) -> ChargeOrder:
    order = None
    if _ORDER_NO.match(order_no):  # odd text never reaches the database (NUL on PostgreSQL)
        order = db.session.scalar(select(ChargeOrder).where(ChargeOrder.order_no == order_no))
    if order is None or order.driver_id != driver.id:
        raise ORDER_NOT_FOUND(details={"order_no": order_no})
    return order


@dataclass(frozen=True, slots=True)
class StartResult:
    order: LiveOrder
    repeated: bool  # the same request id had started this order before
    failure_code: str | None
    failure_message: str | None


def _failure(order: ChargeOrder, command: CommandResult | None) -> tuple[str | None, str | None]:
    if order.state != OrderState.FAILED:
        return None, None
    if command is not None and command.outcome in _START_FAILURES:
        return _START_FAILURES[command.outcome]
    outcome = order.failure_reason.split(":", 1)[0]
    for known, pair in _START_FAILURES.items():
        if known.value == outcome:
            return pair
    return "START_FAILED", "启动失败，请稍后再试"


def start(driver: Driver, connector_id: int, client_request_id: str) -> StartResult:
    """Start charging on a connector the driver may use (the start rules and the one
    idempotency lookup are :func:`app.charging.starts.request_remote_start`'s). Commits."""
    key = _request_key(driver, client_request_id)
    connector = db.session.get(Connector, connector_id)
    station = connector.pile.station if connector is not None else None
    if connector is None or (
        station is not None and not station_visible(driver_operator(driver), station)
    ):
        raise CONNECTOR_NOT_FOUND(details={"id": connector_id})
    try:
        outcome = starts.request_remote_start(driver, connector, client_request_id=key)
    except (IntegrityError, CONNECTOR_BUSY) as err:
        # the same request twice at once: the first one won, either at the unique key or,
        # when it committed between our lookup and our rules, by taking the connector
        if not in_unit_of_work():
            discard()  # a fresh look: the first request's order is committed
        first = db.session.scalar(select(ChargeOrder).where(ChargeOrder.client_request_id == key))
        if first is None or first.driver_id != driver.id:
            if isinstance(err, IntegrityError):
                raise CONNECTOR_BUSY() from None
            raise
        return StartResult(live_view(first), True, *_failure(first, None))
    order = outcome.order
    return StartResult(live_view(order), outcome.command is None, *_failure(order, outcome.command))


def stop(driver: Driver, order_no: str) -> LiveOrder:
    """The driver stops charging. The order moves on when the pile's record arrives; an
    unreachable pile leaves it charging and the answer says how to stop at the pile."""
    order = own_order(driver, order_no)
    result = stops.request_stop(order, by="driver")
    if result.outcome is CommandOutcome.PILE_OFFLINE:
        raise PILE_OFFLINE(OFFLINE_HINT, details={"order_no": order.order_no})
    if result.outcome is CommandOutcome.REJECTED:
        raise STOP_REJECTED()
    if not result.ok:
        raise STOP_TIMEOUT()
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
    return replace(live_view(order), payment=bills.bill_of(order.id))


@dataclass(frozen=True, slots=True)
class CouponChoice:
    choice: str  # default | none | chosen
    selected_coupon_id: int | None  # what the bill would use now
    coupons: list[coupons.CouponView]


def coupon_choice(driver: Driver, order_no: str) -> CouponChoice:
    order = own_order(driver, order_no)
    if order.state in (OrderState.SETTLED, OrderState.FAILED, OrderState.ABNORMAL):
        bill = bills.bill_of(order.id)
        used = [coupons.view(c) for c in _used_coupon(bill)]
        return CouponChoice("final", bill.coupon_id if bill else None, used)
    now = utcnow()
    preview = bills.live_bill(order, now)
    terms = db.session.get(OrderTerms, order.id)
    candidates = coupon_use.usable_coupons(order, now)
    refusals = bills.coupon_refusals(order, candidates, now)
    usable = [_with_refusal(coupons.view(c), refusals.get(c.id)) for c in candidates]
    return CouponChoice(
        terms.coupon_choice if terms is not None else "default",
        preview.coupon_id if preview is not None else None,
        usable,
    )


def _with_refusal(view: coupons.CouponView, refusal: CouponRefusal | None) -> coupons.CouponView:
    if refusal is None:
        return view
    return replace(view, usable=False, refusal_code=refusal.code, refusal=refusal.message)


def _used_coupon(bill: Bill | None) -> list[Coupon]:
    if bill is None or bill.coupon_id is None:
        return []
    coupon = db.session.get(Coupon, bill.coupon_id)
    return [coupon] if coupon is not None else []


def choose_coupon(
    driver: Driver, order_no: str, coupon_id: int | None, *, use_default: bool = False
) -> CouponChoice:
    order = own_order(driver, order_no)
    coupon_use.choose_coupon(order, coupon_id, use_default=use_default)
    return coupon_choice(driver, order_no)
