"""We are the pile owner, business information (T/CEC 102.3, and 102.2 §查询统计信息): a
partner's driver authenticates, starts, watches and stops a charge on our pile. The
order is an ordinary charge order (no driver; the partner pays by statement), started
by the same start function as a driver's and priced by the same engine; the partner's
StartChargeSeq is kept beside it (:class:`RoamingOrder`) and makes the start idempotent.

Plain functions of (partner, canonical Data) → the answer's Data, like
:mod:`app.hlht.pile_owner`; ``query_start_charge`` and ``query_stop_charge`` own their
units of work (no transaction is held while the pile answers)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.billing.bills import BillPreview, live_bill
from app.catalogue.models import Connector, Pile, Station
from app.charging import starts, stops
from app.charging.models import CLOSED_STATES, ChargeOrder, OrderState
from app.charging.port import CommandOutcome
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.hlht.envelope import CHINA, field
from app.hlht.models import Partner, RoamingOrder
from app.hlht.pile_owner import (
    STATUS,
    BusinessError,
    _shared_ids,
    connector_id,
    find_connector,
)
from app.uow import discard, in_unit_of_work

log = logging.getLogger(__name__)

SEQ_LENGTH = 27  # 「格式“运营商ID+唯一编号”，27字符」

# our order states → StartChargeSeqStat (1 启动中, 2 充电中, 3 停止中, 4 已结束, 5 未知)
SEQ_STAT = {
    OrderState.CREATED: 1, OrderState.STARTING: 1, OrderState.CHARGING: 2,
    OrderState.STOPPING: 3, OrderState.FINISHED: 4, OrderState.SETTLED: 4,
    OrderState.FAILED: 4, OrderState.ABNORMAL: 5,
}  # fmt: skip

# a start rule broken → FailReason of query_start_charge / query_equip_auth (1 此设备不存在,
# 2 此设备离线, 3～99 自定义)
FAIL_REASON = {
    "PILE_OFFLINE": 2,
    "CONNECTOR_BUSY": 10,  # 枪被占用
    "CONNECTOR_FAULTED": 11,  # 枪故障
    "PILE_WITHOUT_STATION": 12,  # 桩未绑定站点
    "STATION_WITHOUT_TARIFF": 13,  # 站点无电价
    "STATION_NOT_SERVED": 12,
}
OTHER_FAILURE = 99


def sequence(partner: Partner, data: dict[str, Any], name: str) -> str:
    """A 27-character sequence number issued by ``partner``: its OperatorID first."""
    seq = str(field(data, name, "") or "")
    if len(seq) != SEQ_LENGTH or not seq.startswith(partner.operator_id):
        raise BusinessError(f"{name} 应为 27 位：合作方 OperatorID（9 位）+ 18 位唯一编号")
    return seq


def _connector(partner: Partner, data: dict[str, Any]) -> tuple[str, Connector | None]:
    wanted = str(field(data, "ConnectorID", "") or "")
    if not wanted:
        raise BusinessError("ConnectorID 必填")
    return wanted, find_connector(partner, wanted)


def _fail_reason(err: DomainError) -> int:
    return FAIL_REASON.get(err.code, OTHER_FAILURE)


def query_equip_auth(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 请求设备认证: may a start happen on this connector now (the start rules)?
    FailReason 1 the gun is not plugged, 2 the check failed (unknown, offline), 10+ ours."""
    seq = sequence(partner, data, "EquipAuthSeq")
    wanted, conn = _connector(partner, data)
    answer = {"EquipAuthSeq": seq, "ConnectorID": wanted, "SuccStat": 1, "FailReason": 0}
    if conn is None:
        return {**answer, "FailReason": 2}
    try:
        starts.check_start(None, conn)
    except DomainError as err:
        return {**answer, "FailReason": _fail_reason(err)}
    return {**answer, "SuccStat": 0}


def roaming_order(partner: Partner, seq: str) -> tuple[RoamingOrder, ChargeOrder] | None:
    row = db.session.scalar(
        select(RoamingOrder).where(
            RoamingOrder.partner_id == partner.id, RoamingOrder.start_charge_seq == seq
        )
    )
    if row is None:
        return None
    order = db.session.get(ChargeOrder, row.order_id, populate_existing=True)
    assert order is not None  # foreign key
    return row, order


def _known(partner: Partner, data: dict[str, Any]) -> tuple[str, RoamingOrder, ChargeOrder]:
    seq = sequence(partner, data, "StartChargeSeq")
    found = roaming_order(partner, seq)
    if found is None:
        raise BusinessError("StartChargeSeq 不存在")
    return seq, *found


def _start_answer(seq: str, wanted: str, order: ChargeOrder) -> dict[str, Any]:
    failed = order.state == OrderState.FAILED
    reason = 0
    if failed:
        reason = 2 if order.failure_reason.startswith("pile_offline") else OTHER_FAILURE
    return {
        "StartChargeSeq": seq,
        "StartChargeSeqStat": SEQ_STAT[OrderState(order.state)],
        "ConnectorID": wanted,
        "SuccStat": 1 if failed else 0,
        "FailReason": reason,
    }


def query_start_charge(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 请求启动充电: the same start as a driver's (rules, order, command), owned by
    the partner; idempotent by StartChargeSeq (a repeat answers the order's state and
    sends nothing). A start a rule refuses changes nothing."""
    seq = sequence(partner, data, "StartChargeSeq")
    wanted, conn = _connector(partner, data)
    qr = str(field(data, "QRCode", "") or "")[:200]
    found = roaming_order(partner, seq)
    if found is not None:
        row, order = found
        if row.connector_code != wanted:
            raise BusinessError("StartChargeSeq 已用于另一个充电设备接口")
        return _start_answer(seq, wanted, order)
    answer = {"StartChargeSeq": seq, "StartChargeSeqStat": 5, "ConnectorID": wanted,
              "SuccStat": 1, "FailReason": 0}  # fmt: skip
    if conn is None:
        return {**answer, "FailReason": 1}  # 此设备不存在
    partner_id = partner.id

    def remember(order: ChargeOrder) -> None:
        db.session.add(
            RoamingOrder(
                partner_id=partner_id, start_charge_seq=seq, order_id=order.id,
                connector_code=wanted, qr_code=qr,
            )
        )  # fmt: skip

    try:
        outcome = starts.request_remote_start(
            None, conn, client_request_id=f"hlht:{partner.operator_id}:{seq}", on_open=remember
        )
    except (IntegrityError, DomainError) as err:
        # the same StartChargeSeq twice at once (a partner's retry racing its first try):
        # the first won, at a unique key or, when it committed between our lookup and our
        # rules, by taking the connector; the second answers the first's order
        if not in_unit_of_work():
            discard()  # a fresh look: the first request's order is committed
        first = roaming_order(partner, seq)
        if first is not None and first[0].connector_code == wanted:
            return _start_answer(seq, wanted, first[1])
        code = err.code if isinstance(err, DomainError) else "CONNECTOR_BUSY"
        log.info("hlht start refused", extra={"seq": seq, "code": code})
        return {**answer, "FailReason": FAIL_REASON.get(code, OTHER_FAILURE)}
    started = db.session.get(ChargeOrder, outcome.order.id, populate_existing=True)
    assert started is not None
    log.info("hlht start", extra={"seq": seq, "order_no": started.order_no, "state": started.state})
    return _start_answer(seq, wanted, started)


def _yuan(fen: int) -> float:
    return float(Decimal(fen) / 100)


def kwh(wh: int) -> float:
    """Wh as the standard's kWh with 2 decimals (half up)."""
    return float((Decimal(wh) / 1000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _local(at: datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if at is not None else ""


def charge_details(bill: BillPreview) -> list[dict[str, Any]]:
    """ChargeDetails (102.3 §6.6.4): one per priced segment of the bill."""
    return [
        {
            "DetailStartTime": _local(line["segment_start"]),
            "DetailEndTime": _local(line["segment_end"]),
            "ElecPrice": float(line["electricity_price"]),
            "ServicePrice": float(line["service_price"]),
            "DetailPower": kwh(line["energy_wh"]),
            "DetailElecMoney": _yuan(line["electricity_fen"]),
            "DetailServiceMoney": _yuan(line["service_fen"] - line["service_discount_fen"]),
        }
        for line in bill.lines
    ]


def charge_status(
    row: RoamingOrder, order: ChargeOrder, now: datetime | None = None
) -> dict[str, Any]:
    """What query_equip_charge_status answers and notification_equip_charge_status sends:
    the order's state, the connector's, the energy and money so far (the same bill the
    order will be settled with)."""
    moment = now or utcnow()
    conn = db.session.get(Connector, order.connector_id) if order.connector_id else None
    pile = db.session.get(Pile, order.pile_id)
    status = STATUS.get(conn.status, 0) if conn is not None and pile and pile.online else 0
    bill = live_bill(order, moment, has_coupons=False)
    energy = bill.energy_wh if bill is not None else order.energy_wh
    electricity = bill.electricity_fen if bill is not None else 0
    service = bill.service_fen - bill.service_discount_fen if bill is not None else 0
    total = bill.total_fen if bill is not None else 0
    details = charge_details(bill) if bill is not None else []
    return {
        "StartChargeSeq": row.start_charge_seq,
        "StartChargeSeqStat": SEQ_STAT[OrderState(order.state)],
        "ConnectorID": row.connector_code,
        "ConnectorStatus": status,
        "CurrentA": 0, "CurrentB": 0, "CurrentC": 0,
        "VoltageA": 0, "VoltageB": 0, "VoltageC": 0,
        "Soc": float(order.soc_percent or 0),
        "StartTime": _local(order.started_at or order.requested_at),
        "EndTime": _local(order.stopped_at or order.energy_ended_at or moment),
        "TotalPower": kwh(energy),
        "ElecMoney": _yuan(electricity),
        "ServiceMoney": _yuan(service),
        "TotalMoney": _yuan(total),
        "SumPeriod": len(details),
        "ChargeDetails": details,
    }  # fmt: skip


def query_equip_charge_status(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 查询充电状态, by StartChargeSeq."""
    _, row, order = _known(partner, data)
    return charge_status(row, order)


def query_stop_charge(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 请求停止充电: ask the pile (the order moves on when its record comes); an
    order already stopping or ended answers FailReason 3 and sends nothing."""
    seq, row, order = _known(partner, data)
    wanted = str(field(data, "ConnectorID", "") or row.connector_code)
    if wanted != row.connector_code:
        raise BusinessError("ConnectorID 与该订单的充电设备接口不符")
    answer = {"StartChargeSeq": seq, "StartChargeSeqStat": SEQ_STAT[OrderState(order.state)],
              "SuccStat": 1, "FailReason": 0}  # fmt: skip
    if order.state not in (OrderState.STARTING, OrderState.CHARGING):
        return {**answer, "FailReason": 3}  # 设备已停止充电
    result = stops.request_stop(order, by="hlht")
    if result.outcome is not CommandOutcome.ACCEPTED:
        reason = 2 if result.outcome is CommandOutcome.PILE_OFFLINE else OTHER_FAILURE
        return {**answer, "FailReason": reason}
    order = db.session.get(ChargeOrder, order.id, populate_existing=True) or order
    return {**answer, "StartChargeSeqStat": SEQ_STAT[OrderState(order.state)], "SuccStat": 0}


def _day(data: dict[str, Any], name: str) -> datetime:
    try:
        return datetime.strptime(str(field(data, name, "")), "%Y-%m-%d").replace(tzinfo=CHINA)
    except ValueError:
        raise BusinessError(f"{name} 应为 yyyy-MM-dd") from None


def query_station_stats(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.2 查询统计信息: a shared station's energy per pile and connector, days
    StartTime..EndTime (China time, both included), from the orders whose record came."""
    raw = str(field(data, "StationID", "") or "")
    start, end = _day(data, "StartTime"), _day(data, "EndTime")
    if end < start or (end - start).days > 366:
        raise BusinessError("统计时间应为一年内的 StartTime ≤ EndTime")
    if not raw.isdigit() or not _shared_ids(partner, [int(raw)]):
        raise BusinessError("StationID 不存在或未共享")
    station = db.session.get(Station, int(raw))
    assert station is not None
    rows = db.session.execute(
        select(ChargeOrder.pile_id, ChargeOrder.connector_number, func.sum(ChargeOrder.energy_wh))
        .where(
            ChargeOrder.station_id == station.id,
            ChargeOrder.state.in_(CLOSED_STATES),
            ChargeOrder.started_at >= start,
            ChargeOrder.started_at < end + timedelta(days=1),
        )
        .group_by(ChargeOrder.pile_id, ChargeOrder.connector_number)
    ).all()
    energy = {(pile_id, number or 1): int(wh or 0) for pile_id, number, wh in rows}
    piles = db.session.scalars(
        select(Pile).where(Pile.station_id == station.id).order_by(Pile.id)
    ).all()
    infos = []
    for pile in piles:
        connectors = [
            {
                "ConnectorID": connector_id(pile.code, c.number),
                "ConnectorElectricity": kwh(energy.get((pile.id, c.number), 0)),
            }
            for c in sorted(pile.connectors, key=lambda c: c.number)
        ]
        total = sum(wh for (pile_id, _), wh in energy.items() if pile_id == pile.id)
        infos.append({"EquipmentID": pile.code, "EquipmentElectricity": kwh(total),
                      "ConnectorStatsInfos": connectors})  # fmt: skip
    return {
        "StationStats": {
            "StationID": raw,
            "StartTime": start.strftime("%Y-%m-%d"),
            "EndTime": end.strftime("%Y-%m-%d"),
            "StationElectricity": kwh(sum(energy.values())),
            "EquipmentStatsInfos": infos,
        }
    }


HANDLERS = {
    "query_station_stats": query_station_stats,
    "query_equip_auth": query_equip_auth,
    "query_start_charge": query_start_charge,
    "query_equip_charge_status": query_equip_charge_status,
    "query_stop_charge": query_stop_charge,
}
# these talk to a pile: they own their units of work (none is held while it answers)
COMMANDING = frozenset({"query_start_charge", "query_stop_charge"})
