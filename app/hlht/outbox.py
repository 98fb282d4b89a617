"""Notifications to partners (T/CEC 102.2/102.3), as an outbox with a push log.

What a partner must hear of is found by looking, not by hooks into the charging context
(which knows nothing of partners): the roaming orders whose state or bill moved since
the partner was last told, the orders charging whose last status push is older than
``HLHT_CHARGE_STATUS_SECONDS``, the connectors of shared stations whose status changed.
Each becomes a :class:`Push` (one per dedupe key: applied once), delivered by the
scheduler: retried ``HLHT_PUSH_RETRY_SECONDS`` apart, ``HLHT_PUSH_MAX_ATTEMPTS`` times in
all, until ``Ret=0`` and ``SuccStat=0`` (notification_stationStatus: ``Status`` 0, or 1 =
discarded, never retried). Every attempt and answer is kept for the operator."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

import requests
from sqlalchemy import select

from app.billing.bills import bill_of, preview_of_bill
from app.billing.models import Bill
from app.catalogue.models import Connector, Pile, Station
from app.charging.models import ChargeOrder, OrderState
from app.config import setting
from app.db import utcnow
from app.errors import HLHT_PUSH_NOT_FOUND, HLHT_PUSH_NOT_RETRYABLE
from app.extensions import db
from app.hlht import envelope, partners
from app.hlht.business import SEQ_STAT, _local, charge_details, charge_status, kwh
from app.hlht.client import PartnerClient, PartnerUnreachable, our_operator_id
from app.hlht.envelope import CHINA, field
from app.hlht.models import (
    ConnectorStatusSeen,
    Partner,
    Push,
    PushAttempt,
    PushState,
    RoamingOrder,
    Told,
)
from app.hlht.pile_owner import STATUS, connector_id
from app.paging import Page, paginate
from app.tenancy import audit
from app.tenancy.scope import Actor
from app.uow import between_units, transactional, unit_of_work

log = logging.getLogger(__name__)

START_RESULT = "notification_start_charge_result"
CHARGE_STATUS = "notification_equip_charge_status"
STOP_RESULT = "notification_stop_charge_result"
ORDER_INFO = "notification_charge_order_info"
STATION_STATUS = "notification_stationStatus"
CHECK_ORDERS = "check_charge_orders"
# the review flag of an order the partner disputed (ConfirmResult 1, or check_charge_orders)
DISPUTED = "hlht_disputed"


def enqueue(
    partner_id: int,
    interface: str,
    key: str,
    payload: dict[str, Any],
    order_id: int | None,
    at: datetime | None = None,
) -> Push | None:
    """Add a push, due ``at``, unless one with ``key`` exists (no commit); None when it
    did."""
    if db.session.scalar(select(Push.id).where(Push.dedupe_key == key)) is not None:
        return None
    push = Push(partner_id=partner_id, interface=interface, dedupe_key=key[:120],
                payload=payload, order_id=order_id, next_attempt_at=at or utcnow())  # fmt: skip
    db.session.add(push)
    return push


# --- what partners must hear of ------------------------------------------------------------


def _stop_reason(order: ChargeOrder) -> int:
    """102.3 StopReason: 0 用户手动, 1 客户归属地平台停止, 2 BMS, 3 设备故障, 4 连接器断开."""
    if order.stop_requested_by == "hlht":
        return 1
    reason = order.stop_reason.lower()
    if "disconnect" in reason:
        return 4
    if "fault" in reason or "emergency" in reason:
        return 3
    if order.stop_requested_by:
        return 0
    return 2


def order_info(row: RoamingOrder, order: ChargeOrder, bill: Bill) -> dict[str, Any]:
    """notification_charge_order_info: our bill to the fen (electricity, service after the
    member discount, total), its lines as ChargeDetails."""
    preview = preview_of_bill(bill)
    details = charge_details(preview)
    return {
        "StartChargeSeq": row.start_charge_seq,
        "ConnectorID": row.connector_code,
        "StartTime": _local(bill.started_at or order.started_at or order.requested_at),
        "EndTime": _local(bill.ended_at or order.stopped_at or bill.settled_at),
        "TotalPower": kwh(bill.energy_wh),
        "TotalElecMoney": float(bill.electricity_fen) / 100,
        "TotalServiceMoney": float(bill.service_fen - bill.service_discount_fen) / 100,
        "TotalMoney": float(bill.total_fen) / 100,
        "StopReason": _stop_reason(order),
        "SumPeriod": len(details),
        "ChargeDetails": details,
    }


def _collect_order(row: RoamingOrder, order: ChargeOrder, now: datetime, every: int) -> None:
    state = OrderState(order.state)
    base = {"StartChargeSeq": row.start_charge_seq, "ConnectorID": row.connector_code}
    key = f"{row.partner_id}:{row.start_charge_seq}"
    started = order.started_at is not None
    if row.notified_state == Told.NOTHING and (started or state == OrderState.FAILED):
        enqueue(row.partner_id, START_RESULT, f"start:{key}", {
            **base, "StartChargeSeqStat": 2 if started else 4,
            "StartTime": _local(order.started_at or order.requested_at),
        }, order.id, now)  # fmt: skip
        row.notified_state = Told.START if started else Told.FAILURE
    if state == OrderState.CHARGING:
        due = row.last_status_push_at is None or (
            now - row.last_status_push_at >= timedelta(seconds=every)
        )
        if due:
            enqueue(row.partner_id, CHARGE_STATUS, f"status:{key}:{now.isoformat()}",
                    charge_status(row, order, now), order.id, now)  # fmt: skip
            row.last_status_push_at = now
        return
    ended = state in (OrderState.STOPPING, OrderState.FINISHED, OrderState.SETTLED)
    if ended and order.stop_requested_by == "hlht" and row.notified_state != Told.STOP:
        enqueue(row.partner_id, STOP_RESULT, f"stop:{key}", {
            **base, "StartChargeSeqStat": SEQ_STAT[state], "SuccStat": 0, "FailReason": 0,
        }, order.id, now)  # fmt: skip
        row.notified_state = Told.STOP
    if state == OrderState.SETTLED:
        bill = bill_of(order.id)
        if bill is not None and bill.adjustment_count != row.notified_adjustment:
            # a late pile record re-settles the order: the partner gets the corrected one
            enqueue(row.partner_id, ORDER_INFO, f"order:{key}:{bill.adjustment_count}",
                    order_info(row, order, bill), order.id, now)  # fmt: skip
            row.notified_adjustment = bill.adjustment_count


def collect_orders(now: datetime | None = None) -> int:
    """Enqueue what partners have not heard of their orders yet; one unit of work per
    order. Returns the orders looked at."""
    moment = now or utcnow()
    every = int(setting("HLHT_CHARGE_STATUS_SECONDS"))
    ids = db.session.scalars(
        select(RoamingOrder.id)
        .join(ChargeOrder, ChargeOrder.id == RoamingOrder.order_id)
        .outerjoin(Bill, Bill.order_id == ChargeOrder.id)
        .where(
            (ChargeOrder.state.in_((OrderState.STARTING, OrderState.CHARGING,
                                    OrderState.STOPPING, OrderState.FINISHED)))
            | ((ChargeOrder.state == OrderState.FAILED)
               & (RoamingOrder.notified_state != Told.FAILURE))
            | ((ChargeOrder.state == OrderState.SETTLED)
               & (Bill.adjustment_count != RoamingOrder.notified_adjustment))
        )
        .order_by(RoamingOrder.id)
    ).all()  # fmt: skip
    for row_id in ids:
        with unit_of_work():
            row = db.session.get(RoamingOrder, row_id, with_for_update=True)
            order = db.session.get(ChargeOrder, row.order_id) if row is not None else None
            if row is not None and order is not None:
                _collect_order(row, order, moment, every)
    return len(ids)


def _connector_statuses(partner: Partner) -> list[tuple[int, str, int]]:
    """(connector id, ConnectorID, ConnectorStatus) of every connector the partner sees."""
    shared = partners.shared_stations_query(partner).with_only_columns(Station.id)
    rows = db.session.execute(
        select(Connector.id, Connector.number, Connector.status, Pile.code, Pile.online)
        .join(Pile, Pile.id == Connector.pile_id)
        .where(Pile.station_id.in_(shared))
    ).all()
    return [
        (cid, connector_id(code, number), STATUS.get(status, 0) if online else 0)
        for cid, number, status, code, online in rows
    ]


@transactional
def collect_station_status(now: datetime | None = None) -> int:
    """notification_stationStatus for each connector whose status changed since its
    partner was told; a connector seen the first time is noted, not pushed (the partner
    asks query_station_status once). Returns the pushes enqueued."""
    moment = now or utcnow()
    pushed = 0
    for partner in db.session.scalars(select(Partner).order_by(Partner.id)):
        if "emsp" not in partner.role_set or not partner.base_url:
            continue
        seen = {
            r.connector_id: r
            for r in db.session.scalars(
                select(ConnectorStatusSeen).where(ConnectorStatusSeen.partner_id == partner.id)
            )
        }
        for cid, code, status in _connector_statuses(partner):
            known = seen.get(cid)
            if known is None:
                db.session.add(ConnectorStatusSeen(partner_id=partner.id, connector_id=cid,
                                                   status=status))  # fmt: skip
                continue
            if known.status == status:
                continue
            known.status = status
            payload = {"ConnectorStatusInfo": {"ConnectorID": code, "Status": status}}
            enqueue(partner.id, STATION_STATUS,
                    f"station:{partner.id}:{cid}:{moment.isoformat()}", payload, None,
                    moment)  # fmt: skip
            pushed += 1
    return pushed


def _orders_of_day(partner: Partner, day: date) -> list[tuple[RoamingOrder, Bill]]:
    start = datetime.combine(day, time(0), CHINA)
    rows = db.session.execute(
        select(RoamingOrder, Bill)
        .join(Bill, Bill.order_id == RoamingOrder.order_id)
        .where(
            RoamingOrder.partner_id == partner.id,
            Bill.settled_at >= start,
            Bill.settled_at < start + timedelta(days=1),
        )
        .order_by(RoamingOrder.id)
    ).all()
    return [(r, b) for r, b in rows]


@transactional
def collect_check_orders(now: datetime | None = None) -> int:
    """check_charge_orders (102.3 推送订单对账结果信息) for yesterday (China time), once a
    day per partner with roaming orders settled that day. Returns the pushes enqueued."""
    moment = now or utcnow()
    day = moment.astimezone(CHINA).date() - timedelta(days=1)
    pushed = 0
    for partner in db.session.scalars(select(Partner).order_by(Partner.id)):
        orders = _orders_of_day(partner, day)
        if not orders:
            continue
        payload = {
            "CheckOrderSeq": envelope.sequence_number(our_operator_id(), moment),
            "StartTime": f"{day:%Y-%m-%d} 00:00:00",
            "EndTime": f"{day:%Y-%m-%d} 23:59:59",
            "OrderCount": len(orders),
            "TotalOrderPower": kwh(sum(b.energy_wh for _, b in orders)),
            "TotalOrderMoney": sum(b.total_fen for _, b in orders) / 100,
            "ChargeOrders": [
                {"StartChargeSeq": r.start_charge_seq, "TotalPower": kwh(b.energy_wh),
                 "TotalMoney": b.total_fen / 100}
                for r, b in orders
            ],
        }  # fmt: skip
        if enqueue(partner.id, CHECK_ORDERS, f"check:{partner.id}:{day}", payload, None, moment):
            pushed += 1
    return pushed


# --- delivery ------------------------------------------------------------------------------


def _dispute(partner_id: int, seq: str, reason: str) -> None:
    row = db.session.scalar(
        select(RoamingOrder).where(
            RoamingOrder.partner_id == partner_id, RoamingOrder.start_charge_seq == seq
        )
    )
    if row is None:
        return
    row.disputed, row.dispute_reason = True, reason[:64]
    order = db.session.get(ChargeOrder, row.order_id)
    if order is not None:  # listed among the abnormal orders for review
        order.abnormal_reason = order.abnormal_reason or DISPUTED
    log.warning("hlht order disputed", extra={"seq": seq, "reason": reason})


def _judge(push: Push, ret: int, data: Any) -> PushState | None:
    """The state an answer leaves the push in; None: try again."""
    if ret != 0 or not isinstance(data, dict):
        return None
    if push.interface == STATION_STATUS:
        status = field(data, "Status")
        if str(status) == "1":
            return PushState.DISCARDED  # 「丢弃/忽略，不需要重试」
        return PushState.DELIVERED if str(status) == "0" else None
    if push.interface == ORDER_INFO:
        result = field(data, "ConfirmResult")
        if result is None:
            return None
        seq = str(push.payload["StartChargeSeq"])
        row = db.session.scalar(
            select(RoamingOrder).where(
                RoamingOrder.partner_id == push.partner_id, RoamingOrder.start_charge_seq == seq
            )
        )
        if row is not None:
            row.confirm_result = int(result)
        if str(result) == "1":
            _dispute(push.partner_id, seq, "confirm_result_1")
        return PushState.DELIVERED
    if push.interface == CHECK_ORDERS:
        for disputed in field(data, "DisputeOrders") or []:
            if isinstance(disputed, dict):
                _dispute(push.partner_id, str(field(disputed, "StartChargeSeq", "")),
                         f"check_orders:{field(disputed, 'DisputeReason', '')}")  # fmt: skip
        return PushState.DELIVERED
    return PushState.DELIVERED if str(field(data, "SuccStat")) == "0" else None


@transactional
def _record(
    push_id: int, ret: int | None, msg: str, data: Any, error: str, moment: datetime
) -> None:
    push = db.session.get(Push, push_id, with_for_update=True)
    if push is None or push.state != PushState.PENDING:
        return
    push.attempts += 1
    push.last_ret, push.last_msg = ret, (msg or error)[:200]
    answer = data if isinstance(data, dict) else None
    db.session.add(PushAttempt(push_id=push.id, at=moment, ret=ret, msg=msg[:200],
                               answer=answer, error=error[:300]))  # fmt: skip
    outcome = _judge(push, ret, data) if ret is not None else None
    if outcome is not None:
        push.state, push.delivered_at = outcome, moment
        return
    if push.attempts >= int(setting("HLHT_PUSH_MAX_ATTEMPTS")):
        push.state = PushState.FAILED
        log.warning("hlht push failed", extra={"push_id": push.id, "interface": push.interface})
        return
    push.next_attempt_at = moment + timedelta(seconds=int(setting("HLHT_PUSH_RETRY_SECONDS")))


def deliver_due(now: datetime | None = None, http: requests.Session | None = None) -> int:
    """Send the pushes that are due, oldest first; no transaction is held while a partner
    answers. Returns the attempts made."""
    moment = now or utcnow()
    due = db.session.execute(
        select(Push.id, Push.partner_id)
        .where(Push.state == PushState.PENDING, Push.next_attempt_at <= moment)
        .order_by(Push.id)
        .limit(200)
    ).all()
    clients: dict[int, PartnerClient] = {}
    session = http or requests.Session()
    for push_id, partner_id in due:
        if partner_id not in clients:
            partner = db.session.get(Partner, partner_id)
            assert partner is not None  # foreign key
            clients[partner_id] = PartnerClient(partner, session)
        push = db.session.get(Push, push_id)
        assert push is not None
        interface, dialect = push.interface, clients[partner_id].dialect
        payload = envelope.spell(push.payload, dialect)
        between_units()  # no transaction is held while the partner answers
        try:
            answer = clients[partner_id].call(interface, payload)
        except PartnerUnreachable as err:
            _record(push_id, None, "", None, str(err), moment)
            continue
        _record(push_id, answer.ret, answer.msg, answer.data, "", moment)
    return len(due)


def run(now: datetime | None = None, http: requests.Session | None = None) -> int:
    """The scheduler's job: find what partners must hear of, then deliver what is due."""
    collect_orders(now)
    collect_station_status(now)
    return deliver_due(now, http)


def check_orders_daily(now: datetime | None = None) -> int:
    return collect_check_orders(now)


# --- the platform's console -----------------------------------------------------------------


def _require(actor: Actor, permission: str) -> None:
    partners._require(actor, permission)


def list_pushes(
    actor: Actor,
    *,
    partner_id: int | None = None,
    state: str | None = None,
    interface: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    _require(actor, "hlht.read")
    stmt = select(Push).order_by(Push.id.desc())
    if partner_id is not None:
        stmt = stmt.where(Push.partner_id == partner_id)
    if state:
        stmt = stmt.where(Push.state == state)
    if interface:
        stmt = stmt.where(Push.interface == interface)
    return paginate(stmt, page, page_size)


def get_push(actor: Actor, push_id: int) -> tuple[Push, list[PushAttempt]]:
    _require(actor, "hlht.read")
    push = db.session.get(Push, push_id)
    if push is None:
        raise HLHT_PUSH_NOT_FOUND(details={"id": push_id})
    attempts = list(
        db.session.scalars(
            select(PushAttempt).where(PushAttempt.push_id == push_id).order_by(PushAttempt.id)
        )
    )
    return push, attempts


@transactional
def retry_push(actor: Actor, push_id: int) -> Push:
    """Send a failed push again (its attempts start over), audited."""
    _require(actor, "hlht.write")
    push = db.session.get(Push, push_id, with_for_update=True)
    if push is None:
        raise HLHT_PUSH_NOT_FOUND(details={"id": push_id})
    if push.state != PushState.FAILED:
        raise HLHT_PUSH_NOT_RETRYABLE(details={"state": push.state})
    before = {"state": push.state, "attempts": push.attempts}
    push.state, push.attempts, push.next_attempt_at = PushState.PENDING, 0, utcnow()
    audit.record(actor, "hlht.push_retry", "hlht_push", push.id, operator_id=None,
                 before=before, after={"state": push.state})  # fmt: skip
    return push
