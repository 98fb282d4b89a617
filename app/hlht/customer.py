"""We are the customer platform (issue 11): our drivers charge on a partner's piles.

The partner's stations, connector status and business policy are pulled into our tables
(:func:`sync_partner`, the ``hlht-sync`` job and ``flask hlht sync``); a scanned
``hlht://<ConnectorID>.<OperatorID>/<custom>`` starts through query_equip_auth then
query_start_charge with a StartChargeSeq of ours; the partner's notifications move the
order on; its notification_charge_order_info is charged to the driver's wallet once,
through the ledger. A start or a stop is never repeated blindly: when its answer is
lost we ask query_equip_charge_status instead. When the order info never comes, the
``hlht-estimate`` job charges an estimate from the policy and the last status, and a
late order info reconciles the difference (case #14)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from sqlalchemy import select

from app.charging.models import ACTIVE_STATES, ChargeOrder
from app.charging.orders import new_order_no
from app.charging.starts import StartBlocker, min_start_balance_fen
from app.config import setting
from app.db import utcnow
from app.drivers.station_info import MAX_RADIUS_M, haversine_m
from app.errors import (
    CONNECTOR_BUSY,
    CONNECTOR_FAULTED,
    HLHT_AUTH_REFUSED,
    HLHT_CONNECTOR_NOT_SYNCED,
    HLHT_ORDER_RUNNING,
    HLHT_PARTNER_UNKNOWN,
    HLHT_PARTNER_UNREACHABLE,
    HLHT_PRICE_UNKNOWN,
    HLHT_START_FAILED,
    HLHT_STOP_FAILED,
    ORDER_NOT_FOUND,
    ORDER_NOT_STOPPABLE,
    PILE_OFFLINE,
    WALLET_INSUFFICIENT,
    DomainError,
)
from app.extensions import db
from app.hlht import envelope, partners
from app.hlht.client import PartnerClient, PartnerUnreachable, our_operator_id
from app.hlht.envelope import CHINA, field
from app.hlht.models import (
    CUSTOMER_RUNNING,
    CustomerOrder,
    CustomerState,
    Partner,
    PartnerConnector,
    PartnerStation,
)
from app.hlht.pile_owner import BusinessError
from app.ledger import wallet
from app.money import apply_rate_unit_price, fee_fen, round_half_up_fen
from app.paging import Page, paginate
from app.pricing import member_discount_fen
from app.promotions import member_pricing
from app.tenancy.models import Driver
from app.tenancy.scope import Actor
from app.uow import transactional

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGES = 1000


def _client(partner: Partner, http: requests.Session | None) -> PartnerClient:
    return PartnerClient(partner, http=http)


def _data(answer: Any) -> dict[str, Any]:
    return answer.data if isinstance(answer.data, dict) else {}


def _yuan_fen(value: Any) -> int | None:
    """A yuan amount of the wire (a JSON number or text) as integer fen (half up)."""
    if value is None or value == "":
        return None
    try:
        return round_half_up_fen(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def _kwh_wh(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int((Decimal(str(value)) * 1000).to_integral_value())
    except (InvalidOperation, ValueError):
        return None


def _price(value: Any) -> str:
    try:
        return str(Decimal(str(value if value is not None else 0)).quantize(Decimal("0.0001")))
    except InvalidOperation:
        return "0.0000"


def _minute(start_time: Any) -> int:
    text = str(start_time or "000000").zfill(6)
    try:
        return int(text[:2]) * 60 + int(text[2:4])
    except ValueError:
        return 0


# --------------------------------------------------------------------------- sync


@dataclass(frozen=True, slots=True)
class SyncReport:
    partner_id: int
    stations: int
    connectors: int
    policies: int


def customer_partners() -> list[Partner]:
    """The partners whose piles our drivers may use (role cpo, a base URL)."""
    rows = db.session.scalars(select(Partner).order_by(Partner.id))
    return [p for p in rows if "cpo" in p.role_set and p.base_url]


@transactional
def _keep_stations(partner_id: int, infos: list[dict[str, Any]]) -> dict[str, int]:
    """Upsert the stations and their connectors; ConnectorID → our connector row id."""
    connectors: dict[str, int] = {}
    for info in infos:
        code = str(field(info, "StationID", ""))
        if not code:
            continue
        station = db.session.scalar(
            select(PartnerStation).where(
                PartnerStation.partner_id == partner_id, PartnerStation.station_code == code
            )
        )
        if station is None:
            station = PartnerStation(partner_id=partner_id, station_code=code)
            db.session.add(station)
        station.name = str(field(info, "StationName", ""))[:100]
        station.address = str(field(info, "Address", ""))[:200]
        station.longitude = str(field(info, "StationLng", 0))[:20]
        station.latitude = str(field(info, "StationLat", 0))[:20]
        station.station_status = int(field(info, "StationStatus", 50) or 50)
        db.session.flush()
        for equipment in field(info, "EquipmentInfos", []) or []:
            for conn in field(equipment, "ConnectorInfos", []) or []:
                cid = str(field(conn, "ConnectorID", ""))
                if not cid:
                    continue
                row = db.session.scalar(
                    select(PartnerConnector).where(
                        PartnerConnector.partner_id == partner_id,
                        PartnerConnector.connector_code == cid,
                    )
                )
                if row is None:
                    row = PartnerConnector(partner_id=partner_id, connector_code=cid, policy=[])
                    db.session.add(row)
                row.station_id = station.id
                row.equipment_code = str(field(equipment, "EquipmentID", ""))[:64]
                row.power_w = int(Decimal(str(field(conn, "Power", 0) or 0)) * 1000)
                row.current_type = (
                    "AC" if str(field(equipment, "EquipmentType", 1)) == "2" else "DC"
                )
                db.session.flush()
                connectors[cid] = row.id
    return connectors


@transactional
def _keep_status(partner_id: int, infos: list[dict[str, Any]]) -> None:
    for info in infos:
        for status in field(info, "ConnectorStatusInfos", []) or []:
            row = db.session.scalar(
                select(PartnerConnector).where(
                    PartnerConnector.partner_id == partner_id,
                    PartnerConnector.connector_code == str(field(status, "ConnectorID", "")),
                )
            )
            if row is not None:
                row.status = int(field(status, "Status", 0) or 0)


def policy_periods(data: dict[str, Any]) -> list[dict[str, Any]]:
    """PolicyInfos → our periods (start minute, yuan per kWh as 4-decimal text)."""
    periods = [
        {
            "start_minute": _minute(field(p, "StartTime")),
            "elec": _price(field(p, "ElecPrice")),
            "service": _price(field(p, "ServicePrice")),
        }
        for p in field(data, "PolicyInfos", []) or []
    ]
    return sorted(periods, key=lambda p: p["start_minute"])


@transactional
def _keep_policy(connector_row_id: int, periods: list[dict[str, Any]]) -> None:
    row = db.session.get(PartnerConnector, connector_row_id)
    if row is not None:
        row.policy = periods
        row.policy_at = utcnow()


def sync_partner(partner: Partner, http: requests.Session | None = None) -> SyncReport:
    """query_stations_info page by page, query_station_status per 50 stations and
    query_equip_business_policy per connector, kept as the partner's stations. Call
    outside any unit of work."""
    client = _client(partner, http)
    partner_id = partner.id
    infos: list[dict[str, Any]] = []
    page = 1
    while page <= MAX_PAGES:
        answer = client.call("query_stations_info", {"PageNo": page, "PageSize": PAGE_SIZE})
        if not answer.ok:
            raise PartnerUnreachable(f"query_stations_info Ret={answer.ret} {answer.msg}")
        data = _data(answer)
        infos.extend(field(data, "StationInfos", []) or [])
        if page >= int(field(data, "PageCount", 1) or 1):
            break
        page += 1
    connectors = _keep_stations(partner_id, infos)
    codes = [str(field(i, "StationID", "")) for i in infos if field(i, "StationID")]
    for start in range(0, len(codes), 50):
        answer = client.call("query_station_status", {"StationIDs": codes[start : start + 50]})
        if answer.ok:
            _keep_status(partner_id, field(_data(answer), "StationStatusInfos", []) or [])
    policies = 0
    for cid, row_id in connectors.items():
        seq = envelope.sequence_number(our_operator_id(), datetime.now(CHINA))
        answer = client.call(
            "query_equip_business_policy", {"EquipBizSeq": seq, "ConnectorID": cid}
        )
        data = _data(answer)
        if answer.ok and field(data, "SuccStat") in (0, "0"):
            _keep_policy(row_id, policy_periods(data))
            policies += 1
    log.info("hlht sync", extra={"partner_id": partner_id, "stations": len(infos)})
    return SyncReport(partner_id, len(infos), len(connectors), policies)


def sync_all() -> list[SyncReport]:
    """The ``hlht-sync`` job: every partner we are the customer of; one failing partner
    does not stop the others."""
    reports = []
    for partner in customer_partners():
        try:
            reports.append(sync_partner(partner))
        except PartnerUnreachable as err:
            log.warning("hlht sync failed", extra={"partner_id": partner.id, "error": str(err)})
    return reports


# --------------------------------------------------------------------------- pricing


def _period_at(policy: list[dict[str, Any]], at: datetime) -> dict[str, Any] | None:
    if not policy:
        return None
    local = at.astimezone(CHINA)
    minute = local.hour * 60 + local.minute
    current = policy[0]
    for period in policy:
        if period["start_minute"] <= minute:
            current = period
    return current


def policy_fees_fen(policy: list[dict[str, Any]], energy_wh: int, at: datetime) -> tuple[int, int]:
    """(electricity, service) of ``energy_wh`` at the partner's price in force at ``at``,
    each rounded half up to the fen as every tariff line."""
    period = _period_at(policy, at)
    if period is None or energy_wh <= 0:
        return 0, 0
    return fee_fen(energy_wh, Decimal(period["elec"])), fee_fen(
        energy_wh, Decimal(period["service"])
    )


def policy_amount_fen(policy: list[dict[str, Any]], energy_wh: int, at: datetime) -> int:
    """What ``energy_wh`` costs at the partner's price in force at ``at``."""
    return sum(policy_fees_fen(policy, energy_wh, at))


def member_rate(partner: Partner, driver: Driver) -> Decimal | None:
    """Our member discount on ``partner``'s prices: the pay-rate of the driver's pricing
    group (operator-wide) when the operator grants it for this partner, else None."""
    if not partner.grant_member_discount:
        return None
    return member_pricing.operator_rate(driver.pricing_group, driver.operator_id)


def _discount_rate(order: CustomerOrder) -> Decimal | None:
    rate = order.service_discount_rate
    return None if rate is None else Decimal(rate)


def _connector_row(order: CustomerOrder) -> PartnerConnector | None:
    return db.session.scalar(
        select(PartnerConnector).where(
            PartnerConnector.partner_id == order.partner_id,
            PartnerConnector.connector_code == order.connector_code,
        )
    )


def _partner_amount_fen(order: CustomerOrder) -> tuple[int, int]:
    """(the partner's amount so far, its service part): the partner's own when it sent one
    above 0 (service from its bill, else from its policy), else ours from its policy."""
    if order.partner_total_fen is not None and order.partner_service_fen is not None:
        return order.partner_total_fen, order.partner_service_fen
    row = _connector_row(order)
    elec, service = policy_fees_fen(
        row.policy if row is not None else [], order.energy_wh, order.started_at or utcnow()
    )
    if order.partner_total_fen is not None:
        return order.partner_total_fen, min(service, order.partner_total_fen)
    if order.partner_running_fen:
        return order.partner_running_fen, min(service, order.partner_running_fen)
    return elec + service, service


def running_amount_fen(order: CustomerOrder) -> int:
    """The live order's amount for our driver: the partner's own when it sent one above 0,
    else ours from its policy (case #18 2020: a roaming driver never sees 0 for energy
    taken), less our member discount on the service fee when it was granted at the start
    (:func:`app.pricing.member_discount_fen`, the rule of our own bills)."""
    amount, service = _partner_amount_fen(order)
    return amount - member_discount_fen(service, _discount_rate(order))


# --------------------------------------------------------------------------- start / stop


def partner_by_operator(operator_id: str) -> Partner:
    partner = db.session.scalar(select(Partner).where(Partner.operator_id == operator_id))
    if partner is None or "cpo" not in partner.role_set:
        raise HLHT_PARTNER_UNKNOWN(details={"operator_id": operator_id})
    return partner


def _check_driver(driver: Driver) -> None:
    """The wallet rules of our own piles: enough money, one running order."""
    running = db.session.scalar(
        select(CustomerOrder.order_no).where(
            CustomerOrder.driver_id == driver.id, CustomerOrder.state.in_(CUSTOMER_RUNNING)
        )
    ) or db.session.scalar(
        select(ChargeOrder.order_no).where(
            ChargeOrder.driver_id == driver.id, ChargeOrder.state.in_(ACTIVE_STATES)
        )
    )
    if running:
        raise HLHT_ORDER_RUNNING(details={"order_no": running})
    balance = wallet.balance_of(driver.id)
    minimum = min_start_balance_fen()
    if balance < minimum:
        raise WALLET_INSUFFICIENT(
            "余额不足，请先充值", details={"balance_fen": balance, "min_start_balance_fen": minimum}
        )


@transactional
def _open(
    driver_id: int, partner_id: int, connector: str, qr: str, seq: str, rate: Decimal | None
) -> int:
    order = CustomerOrder(
        order_no=new_order_no(), start_charge_seq=seq, partner_id=partner_id,
        driver_id=driver_id, connector_code=connector, qr_code=qr,
        state=CustomerState.STARTING, service_discount_rate=rate,
    )  # fmt: skip
    db.session.add(order)
    db.session.flush()
    return order.id


@transactional
def _move(order_id: int, **changes: Any) -> CustomerOrder:
    order = db.session.get(CustomerOrder, order_id, populate_existing=True)
    assert order is not None
    for name, value in changes.items():
        setattr(order, name, value)
    return order


# StartChargeSeqStat → our state (1 启动中, 2 充电中, 3 停止中, 4 已结束, 5 未知)
_SEQ_STATE = {1: CustomerState.STARTING, 2: CustomerState.CHARGING, 3: CustomerState.STOPPING,
              4: CustomerState.FINISHED}  # fmt: skip


def start(
    driver: Driver, connector_code: str, operator_id: str, custom: str,
    http: requests.Session | None = None,
) -> CustomerOrder:  # fmt: skip
    """The driver scanned a partner's code: query_equip_auth, then query_start_charge
    with the custom part verbatim in QRCode. Call outside any unit of work. A lost
    start answer is not repeated: the order's status is asked instead."""
    partner = partner_by_operator(operator_id)
    _check_driver(driver)
    client = _client(partner, http)
    ours = our_operator_id()
    try:
        auth = client.call(
            "query_equip_auth",
            {"EquipAuthSeq": envelope.sequence_number(ours, datetime.now(CHINA)),
             "ConnectorID": connector_code},
        )  # fmt: skip
    except PartnerUnreachable:
        raise HLHT_PARTNER_UNREACHABLE(details={"operator_id": operator_id}) from None
    auth_data = _data(auth)
    if not auth.ok or field(auth_data, "SuccStat") not in (0, "0"):
        raise HLHT_AUTH_REFUSED(
            details={"ret": auth.ret, "fail_reason": field(auth_data, "FailReason")}
        )
    seq = envelope.sequence_number(ours, datetime.now(CHINA))
    qr = custom.lstrip("/")[:200]
    order_id = _open(driver.id, partner.id, connector_code, qr, seq, member_rate(partner, driver))
    payload = {"StartChargeSeq": seq, "ConnectorID": connector_code, "QRCode": qr}
    try:
        answer = client.call("query_start_charge", payload)
    except PartnerUnreachable:
        return refresh(order_id, http=http)  # did it start? ask, never start again
    data = _data(answer)
    if not answer.ok:
        return refresh(order_id, http=http)
    if field(data, "SuccStat") not in (0, "0"):
        _move(order_id, state=CustomerState.FAILED,
              fail_reason=f"start:{field(data, 'FailReason')}")  # fmt: skip
        raise HLHT_START_FAILED(details={"fail_reason": field(data, "FailReason")})
    stat = int(field(data, "StartChargeSeqStat", 1) or 1)
    return _move(order_id, state=_SEQ_STATE.get(stat, CustomerState.STARTING))


def refresh(order_id: int, http: requests.Session | None = None) -> CustomerOrder:
    """query_equip_charge_status: the partner's word on an order whose answer we lost."""
    order = db.session.get(CustomerOrder, order_id, populate_existing=True)
    assert order is not None
    partner = db.session.get(Partner, order.partner_id)
    assert partner is not None
    try:
        answer = _client(partner, http).call(
            "query_equip_charge_status", {"StartChargeSeq": order.start_charge_seq}
        )
    except PartnerUnreachable:
        return order
    if answer.ok and isinstance(answer.data, dict):
        _apply_status(order.id, answer.data)
    return db.session.get(CustomerOrder, order_id, populate_existing=True) or order


def own_order(driver: Driver, order_no: str) -> CustomerOrder:
    order = db.session.scalar(select(CustomerOrder).where(CustomerOrder.order_no == order_no))
    if order is None or order.driver_id != driver.id:
        raise ORDER_NOT_FOUND(details={"order_no": order_no})
    return order


def stop(driver: Driver, order_no: str, http: requests.Session | None = None) -> CustomerOrder:
    """query_stop_charge; a lost answer is followed by a status query, not a second stop."""
    order = own_order(driver, order_no)
    if order.state not in (CustomerState.STARTING, CustomerState.CHARGING):
        raise ORDER_NOT_STOPPABLE(details={"state": order.state})
    partner = db.session.get(Partner, order.partner_id)
    assert partner is not None
    payload = {"StartChargeSeq": order.start_charge_seq, "ConnectorID": order.connector_code}
    try:
        answer = _client(partner, http).call("query_stop_charge", payload)
    except PartnerUnreachable:
        return refresh(order.id, http=http)
    data = _data(answer)
    if not answer.ok:
        return refresh(order.id, http=http)
    if field(data, "SuccStat") not in (0, "0"):
        if int(field(data, "FailReason", 0) or 0) == 3:  # 设备已停止充电
            return refresh(order.id, http=http)
        raise HLHT_STOP_FAILED(details={"fail_reason": field(data, "FailReason")})
    if order.state in CUSTOMER_RUNNING:
        return _move(order.id, state=CustomerState.STOPPING)
    return order


# --------------------------------------------------------------------------- notifications


def _order_of(partner: Partner, data: dict[str, Any]) -> CustomerOrder:
    seq = str(field(data, "StartChargeSeq", "") or "")
    order = db.session.scalar(
        select(CustomerOrder).where(CustomerOrder.start_charge_seq == seq).with_for_update()
    )
    if order is None or order.partner_id != partner.id:
        raise BusinessError("StartChargeSeq 不存在")
    return order


def _local_time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError:
        return None


def _apply_status(order_id: int, data: dict[str, Any]) -> None:
    @transactional
    def apply() -> None:
        order = db.session.get(CustomerOrder, order_id, populate_existing=True)
        assert order is not None
        _status_into(order, data)

    apply()


def _status_into(order: CustomerOrder, data: dict[str, Any]) -> None:
    if order.state in (CustomerState.SETTLED, CustomerState.FAILED):
        return
    stat = int(field(data, "StartChargeSeqStat", 0) or 0)
    state = _SEQ_STATE.get(stat)
    if state is not None and _rank(state) >= _rank(CustomerState(order.state)):
        order.state = state
    energy = _kwh_wh(field(data, "TotalPower"))
    if energy is not None and energy >= order.energy_wh:
        order.energy_wh = energy
    money = _yuan_fen(field(data, "TotalMoney"))
    order.partner_running_fen = money if money else None
    order.started_at = order.started_at or _local_time(field(data, "StartTime")) or utcnow()
    if state is CustomerState.FINISHED:
        order.stopped_at = order.stopped_at or _local_time(field(data, "EndTime")) or utcnow()
    order.last_status_at = utcnow()


_ORDER = [CustomerState.STARTING, CustomerState.CHARGING, CustomerState.STOPPING,
          CustomerState.FINISHED, CustomerState.SETTLED]  # fmt: skip


def _rank(state: CustomerState) -> int:
    return _ORDER.index(state) if state in _ORDER else -1


def notification_start_charge_result(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 推送启动充电结果: SuccStat 0 received (a repeat changes nothing)."""
    order = _order_of(partner, data)
    stat = int(field(data, "StartChargeSeqStat", 0) or 0)
    if stat == 4 and order.state == CustomerState.STARTING:
        order.state = CustomerState.FAILED  # it ended without starting
        order.fail_reason = f"start_result:{field(data, 'FailReason', '')}"
    elif stat == 2 and order.state == CustomerState.STARTING:
        order.state = CustomerState.CHARGING
        order.started_at = order.started_at or _local_time(field(data, "StartTime")) or utcnow()
    return {"StartChargeSeq": order.start_charge_seq, "SuccStat": 0, "FailReason": 0}


def notification_equip_charge_status(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 推送充电状态: the energy and (when it says any) the money so far."""
    order = _order_of(partner, data)
    _status_into(order, data)
    return {"StartChargeSeq": order.start_charge_seq, "SuccStat": 0}


def notification_stop_charge_result(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 推送停止充电结果."""
    order = _order_of(partner, data)
    if order.state in CUSTOMER_RUNNING and field(data, "SuccStat") in (0, "0", None):
        order.state = CustomerState.FINISHED
        order.stopped_at = order.stopped_at or utcnow()
    return {"StartChargeSeq": order.start_charge_seq, "SuccStat": 0, "FailReason": 0}


def _charge(order: CustomerOrder, target_fen: int, *, estimated: bool, version: str) -> None:
    """Bring what the wallet was charged for ``order`` to ``target_fen``: one ledger entry
    for the difference, idempotent by order and version."""
    difference = target_fen - order.charged_fen
    if difference != 0:
        wallet.post_entry(
            order.driver_id, -difference,
            "charge" if version == "bill" else "correction",
            ref_type="hlht_order", ref_id=order.order_no,
            idempotency_key=f"hlht:{order.order_no}:{version}",
            note=f"互联互通订单 {order.order_no}" + ("（预估）" if estimated else ""),
            allow_negative=True,
        )  # fmt: skip
    order.charged_fen = target_fen
    order.estimated = estimated


def notification_charge_order_info(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 推送充电订单信息: the partner's bill, charged to the driver's wallet once; a
    repeat changes nothing; after our estimate the difference goes to or from the wallet
    (case #14). ConfirmResult 0 agreed."""
    order = _order_of(partner, data)
    answer = {"StartChargeSeq": order.start_charge_seq, "ConnectorID": order.connector_code,
              "ConfirmResult": 0}  # fmt: skip
    total = _yuan_fen(field(data, "TotalMoney"))
    if total is None or total < 0:
        raise BusinessError("TotalMoney 应为不小于 0 的金额")
    if order.order_info_at is not None:
        return answer  # told before: nothing changes
    order.partner_total_fen = total
    order.partner_elec_fen = _yuan_fen(field(data, "TotalElecMoney"))
    order.partner_service_fen = _yuan_fen(field(data, "TotalServiceMoney"))
    energy = _kwh_wh(field(data, "TotalPower"))
    order.partner_energy_wh = energy
    if energy is not None:
        order.energy_wh = energy
    order.started_at = order.started_at or _local_time(field(data, "StartTime"))
    order.stopped_at = order.stopped_at or _local_time(field(data, "EndTime")) or utcnow()
    order.order_info_at = utcnow()
    _, service = _partner_amount_fen(order)
    order.member_discount_fen = member_discount_fen(service, _discount_rate(order))
    payable = total - order.member_discount_fen
    if order.state == CustomerState.SETTLED and order.estimated:
        _charge(order, payable, estimated=False, version="reconcile")
        order.reconciled_at = utcnow()
    else:
        _charge(order, payable, estimated=False, version="bill")
        order.settled_at = utcnow()
    order.state = CustomerState.SETTLED
    return answer


# DisputeReason of check_charge_orders' answer (102.3 推送订单对账结果信息)
DISPUTE_UNKNOWN = 1  # 交易不存在
DISPUTE_MONEY = 2  # 交易金额错误
DISPUTE_ENERGY = 3  # 交易电量错误


def _what_we_hold(order: CustomerOrder) -> tuple[int, int]:
    """(the partner's amount, energy Wh) as we hold them: its order info when it came,
    else our estimate before our member discount."""
    if order.partner_total_fen is not None:
        return order.partner_total_fen, (
            order.partner_energy_wh if order.partner_energy_wh is not None else order.energy_wh
        )
    return order.charged_fen + order.member_discount_fen, order.energy_wh


def check_charge_orders(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 推送订单对账结果信息, the partner's daily reconciliation of the orders of our
    drivers on its piles: each order it lists is held against ours (the amount and energy
    of its order info, or our estimate); the ones that differ, or that we do not know, are
    answered as DisputeOrders with our figures and marked disputed on our side for the
    monthly statement (case #14). No money moves; a repeat answers the same."""
    seq = str(field(data, "CheckOrderSeq", "") or "")
    listed = field(data, "ChargeOrders")
    if not seq or not isinstance(listed, list):
        raise BusinessError("CheckOrderSeq、ChargeOrders 必填")
    disputes: list[dict[str, Any]] = []
    disputed_fen = disputed_wh = 0  # the totals in integers, turned to yuan and kWh once
    for item in listed:
        if not isinstance(item, dict):
            raise BusinessError("ChargeOrders 应为对象列表")
        their_seq = str(field(item, "StartChargeSeq", "") or "")
        money, energy = _yuan_fen(field(item, "TotalMoney")), _kwh_wh(field(item, "TotalPower"))
        if not their_seq or money is None or energy is None:
            raise BusinessError("ChargeOrders 每项须有 StartChargeSeq、TotalPower、TotalMoney")
        order = db.session.scalar(
            select(CustomerOrder)
            .where(CustomerOrder.start_charge_seq == their_seq,
                   CustomerOrder.partner_id == partner.id)
            .with_for_update()
        )  # fmt: skip
        if order is None:
            disputes.append({"StartChargeSeq": their_seq, "TotalPower": field(item, "TotalPower"),
                             "TotalMoney": field(item, "TotalMoney"),
                             "DisputeReason": DISPUTE_UNKNOWN})  # fmt: skip
            disputed_fen, disputed_wh = disputed_fen + money, disputed_wh + energy
            continue
        ours_fen, ours_wh = _what_we_hold(order)
        reason = DISPUTE_MONEY if ours_fen != money else DISPUTE_ENERGY if ours_wh != energy else 0
        if reason:
            order.disputed, order.dispute_reason = True, f"check_orders:{reason}"
            disputes.append({"StartChargeSeq": their_seq, "TotalPower": ours_wh / 1000,
                             "TotalMoney": ours_fen / 100, "DisputeReason": reason})  # fmt: skip
            disputed_fen, disputed_wh = disputed_fen + ours_fen, disputed_wh + ours_wh
    return {
        "CheckOrderSeq": seq, "StartTime": field(data, "StartTime", ""),
        "EndTime": field(data, "EndTime", ""), "TotalDisputeOrder": len(disputes),
        "TotalDisputePower": disputed_wh / 1000, "TotalDisputeMoney": disputed_fen / 100,
        "DisputeOrders": disputes,
    }  # fmt: skip


HANDLERS = {
    "check_charge_orders": check_charge_orders,
    "notification_start_charge_result": notification_start_charge_result,
    "notification_equip_charge_status": notification_equip_charge_status,
    "notification_stop_charge_result": notification_stop_charge_result,
    "notification_charge_order_info": notification_charge_order_info,
}


# --------------------------------------------------------------------------- lost order info


def estimate_after() -> timedelta:
    return timedelta(seconds=int(setting("HLHT_ORDER_INFO_TIMEOUT_SECONDS")))


@transactional
def estimate_lost_orders(now: datetime | None = None) -> int:
    """The ``hlht-estimate`` job: a stopped order (or one silent since) whose order info
    has not come within the timeout is charged from the policy and the last status,
    marked estimated; the partner's order info, if it comes, reconciles it."""
    moment = now or utcnow()
    cutoff = moment - estimate_after()
    candidates = db.session.scalars(
        select(CustomerOrder).where(
            CustomerOrder.state.in_([CustomerState.FINISHED, CustomerState.STOPPING,
                                     CustomerState.CHARGING]),
            CustomerOrder.order_info_at.is_(None),
        ).with_for_update()
    ).all()  # fmt: skip
    done = 0
    for order in candidates:
        last = order.stopped_at or order.last_status_at or order.created_at
        if (
            order.state != CustomerState.FINISHED
            and (order.last_status_at or order.created_at) > cutoff
        ):
            continue  # still talking to us
        if last > cutoff:
            continue
        amount, service = _partner_amount_fen(order)
        order.estimate_fen = amount
        order.member_discount_fen = member_discount_fen(service, _discount_rate(order))
        _charge(order, running_amount_fen(order), estimated=True, version="bill")
        order.state = CustomerState.SETTLED
        order.settled_at = moment
        order.stopped_at = order.stopped_at or moment
        done += 1
    return done


# --------------------------------------------------------------------------- scan / live

START_PATH = "/api/mp/v1/hlht/orders"

# 102.2 ConnectorStatus: 0 离网, 1 空闲, 2 占用（未充电，已插枪）, 3 占用（充电中),
# 4 占用（预约锁定）, 255 故障 → what our drivers see; 2 can start (the gun is in)
_CONNECTOR_STATUS = {0: "offline", 1: "free", 2: "free", 3: "busy", 4: "busy", 255: "faulted"}


@dataclass(frozen=True, slots=True)
class PartnerPrice:
    """The partner's period in force now (yuan per kWh as the policy gives it)."""

    start_minute: int
    end_minute: int
    electricity_price: Decimal
    service_price: Decimal
    # what our driver pays of it: our member rate where the operator grants it (display
    # only, as our stations show it; the bill discounts the rounded service fee)
    member_service_price: Decimal

    @property
    def total_price(self) -> Decimal:
        return self.electricity_price + self.member_service_price


@dataclass(frozen=True, slots=True)
class PartnerScan:
    """What scanning a partner's ``hlht://`` code shows: the partner, the connector as
    the last sync saw it, its price now, the wallet and whether a start can go ahead
    (start through :data:`START_PATH`)."""

    operator_id: str
    partner_name: str | None
    connector_code: str
    station_name: str | None
    station_address: str | None
    status: str  # free | busy | offline | faulted | unknown
    connector_status: int | None  # the partner's ConnectorStatus as synced
    power_w: int | None
    synced_at: datetime | None
    price: PartnerPrice | None
    balance_fen: int
    can_start: bool
    reason: StartBlocker | None
    start_path: str = START_PATH


def price_now(
    policy: list[dict[str, Any]], at: datetime, rate: Decimal | None = None
) -> PartnerPrice | None:
    period = _period_at(policy, at)
    if period is None:
        return None
    later = [p["start_minute"] for p in policy if p["start_minute"] > period["start_minute"]]
    service = Decimal(period["service"])
    return PartnerPrice(
        start_minute=period["start_minute"], end_minute=min(later) if later else 24 * 60,
        electricity_price=Decimal(period["elec"]), service_price=service,
        member_service_price=service if rate is None else apply_rate_unit_price(service, rate),
    )  # fmt: skip


def scan(driver: Driver, connector_code: str, operator_id: str) -> PartnerScan:
    """The scan answer for a partner's connector, from what we synced (no call to the
    partner: the start asks it with query_equip_auth). Never raises for the partner's or
    the connector's state: ``reason`` says why a start cannot go ahead."""
    balance = wallet.balance_of(driver.id)
    try:
        partner = partner_by_operator(operator_id)
    except DomainError as err:
        return PartnerScan(
            operator_id=operator_id, partner_name=None, connector_code=connector_code,
            station_name=None, station_address=None, status="unknown", connector_status=None,
            power_w=None, synced_at=None, price=None, balance_fen=balance, can_start=False,
            reason=StartBlocker.of(err),
        )  # fmt: skip
    row = db.session.scalar(
        select(PartnerConnector).where(
            PartnerConnector.partner_id == partner.id,
            PartnerConnector.connector_code == connector_code,
        )
    )
    station = db.session.get(PartnerStation, row.station_id) if row is not None else None
    status = "unknown" if row is None else _CONNECTOR_STATUS.get(row.status, "unknown")
    rate = member_rate(partner, driver)
    price = price_now(row.policy or [], utcnow(), rate) if row is not None else None
    blocker: DomainError | None = None
    where = {"operator_id": operator_id, "connector_id": connector_code}
    if row is None:
        blocker = HLHT_CONNECTOR_NOT_SYNCED(details=where)
    elif status == "offline":
        blocker = PILE_OFFLINE("合作运营商的充电桩离线，请换一台充电桩", details=where)
    elif status == "faulted":
        blocker = CONNECTOR_FAULTED(details=where)
    elif status != "free":
        blocker = CONNECTOR_BUSY(details={**where, "connector_status": row.status})
    elif price is None:
        blocker = HLHT_PRICE_UNKNOWN(details=where)
    else:
        try:
            _check_driver(driver)
        except DomainError as err:
            blocker = err
    return PartnerScan(
        operator_id=operator_id, partner_name=partner.name, connector_code=connector_code,
        station_name=station.name if station is not None else None,
        station_address=station.address if station is not None else None,
        status=status, connector_status=row.status if row is not None else None,
        power_w=row.power_w if row is not None else None,
        synced_at=row.updated_at if row is not None else None, price=price,
        balance_fen=balance, can_start=blocker is None,
        reason=None if blocker is None else StartBlocker.of(blocker),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PartnerLive:
    """A driver's order on a partner's pile as the app follows it: the energy and the
    amount so far (the partner's, or ours from its policy — never 0 for energy taken),
    the bill once the partner's order info (or our estimate) settled it."""

    order: CustomerOrder
    partner_name: str
    station_name: str | None
    amount_fen: int
    elapsed_seconds: int
    can_stop: bool
    final: bool
    hint: str | None

    @property
    def bill(self) -> CustomerOrder | None:
        """The settled order (its totals are the bill), else None."""
        return self.order if self.final else None


_HINTS = {
    CustomerState.STARTING: "正在启动，请稍候",
    CustomerState.STOPPING: "正在停止，等待合作运营商确认",
    CustomerState.FINISHED: "已停止，等待合作运营商的账单",
    CustomerState.FAILED: "启动未成功，未扣费",
}


def live_view(order: CustomerOrder, now: datetime | None = None) -> PartnerLive:
    moment = now or utcnow()
    partner = db.session.get(Partner, order.partner_id)
    row = _connector_row(order)
    station = db.session.get(PartnerStation, row.station_id) if row is not None else None
    final = order.state == CustomerState.SETTLED
    elapsed = 0
    if order.started_at is not None:
        elapsed = max(0, int(((order.stopped_at or moment) - order.started_at).total_seconds()))
    hint = _HINTS.get(CustomerState(order.state))
    if final and order.estimated:
        hint = "合作运营商的账单未到，按其价格预估结算；账单到达后多退少补"
    return PartnerLive(
        order=order, partner_name=partner.name if partner is not None else "",
        station_name=station.name if station is not None else None,
        amount_fen=order.charged_fen if final else running_amount_fen(order),
        elapsed_seconds=elapsed,
        can_stop=order.state in (CustomerState.STARTING, CustomerState.CHARGING),
        final=final, hint=hint,
    )  # fmt: skip


def live(driver: Driver, order_no: str) -> PartnerLive:
    """The driver's own partner order (ORDER_NOT_FOUND for anyone else's), from what the
    partner told us; no call to the partner."""
    return live_view(own_order(driver, order_no))


def stop_and_show(
    driver: Driver, order_no: str, http: requests.Session | None = None
) -> PartnerLive:
    """:func:`stop` (once: a lost answer is followed by a status query), then the order."""
    return live_view(stop(driver, order_no, http=http))


@dataclass(frozen=True, slots=True)
class PartnerOrderSummary:
    order: CustomerOrder
    partner_name: str
    station_name: str | None
    amount_fen: int  # charged once settled, else the running amount


def _listed_amount_fen(order: CustomerOrder) -> int:
    if order.state == CustomerState.SETTLED:
        return order.charged_fen
    if order.state == CustomerState.FAILED:
        return 0
    return running_amount_fen(order)


def list_orders(
    driver: Driver, *, page: int = 1, page_size: int = 20, state: str | None = None
) -> Page:
    """The driver's orders on partners' piles, newest first (names read per page)."""
    stmt = select(CustomerOrder).where(CustomerOrder.driver_id == driver.id)
    if state:
        stmt = stmt.where(CustomerOrder.state == state)
    result = paginate(stmt.order_by(CustomerOrder.id.desc()), page, page_size)
    orders: list[CustomerOrder] = result.items
    partner_names: dict[int, str] = {
        pid: name
        for pid, name in db.session.execute(
            select(Partner.id, Partner.name).where(Partner.id.in_({o.partner_id for o in orders}))
        )
    }
    station_names: dict[tuple[int, str], str] = {
        (pid, code): name
        for pid, code, name in db.session.execute(
            select(PartnerConnector.partner_id, PartnerConnector.connector_code,
                   PartnerStation.name)
            .join(PartnerStation, PartnerStation.id == PartnerConnector.station_id)
            .where(PartnerConnector.partner_id.in_({o.partner_id for o in orders}),
                   PartnerConnector.connector_code.in_({o.connector_code for o in orders}))
        )
    }  # fmt: skip
    items = [
        PartnerOrderSummary(
            o,
            partner_names.get(o.partner_id, ""),
            station_names.get((o.partner_id, o.connector_code)),
            _listed_amount_fen(o),
        )
        for o in orders
    ]
    return Page(items=items, total=result.total, page=result.page, page_size=result.page_size)


# --------------------------------------------------------------------------- nearby


@dataclass(frozen=True, slots=True)
class PartnerStationNear:
    """A partner's station near the driver, marked as the partner's, with its connectors
    as the last sync saw them and the lowest price in force now."""

    station: PartnerStation
    operator_id: str
    partner_name: str
    distance_m: int
    connectors: int
    free_connectors: int
    lowest_price: PartnerPrice | None


def _coordinate(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def nearby_stations(
    *, lat: float, lng: float, radius_m: int = 5000, page: int = 1, page_size: int = 20,
    now: datetime | None = None,
) -> Page:  # fmt: skip
    """Partners' synced stations within ``radius_m``, nearest first (ties by id), paged.
    Read from the synced tables on each call (partners' stations are few next to ours;
    coordinates are the partner's text, so the distance is computed here)."""
    moment = now or utcnow()
    radius_m = min(max(int(radius_m), 1), MAX_RADIUS_M)
    page, page_size = max(page, 1), min(max(page_size, 1), 100)
    partners = {p.id: p for p in customer_partners()}
    hits: list[tuple[int, PartnerStation]] = []
    for station in db.session.scalars(
        select(PartnerStation).where(PartnerStation.partner_id.in_(partners))
    ):
        slat, slng = _coordinate(station.latitude), _coordinate(station.longitude)
        if slat is None or slng is None:
            continue
        distance = round(haversine_m(lat, lng, slat, slng))
        if distance <= radius_m:
            hits.append((distance, station))
    hits.sort(key=lambda hit: (hit[0], hit[1].id))
    shown = hits[(page - 1) * page_size : page * page_size]
    by_station: dict[int, list[PartnerConnector]] = {}
    for row in db.session.scalars(
        select(PartnerConnector).where(
            PartnerConnector.station_id.in_([station.id for _, station in shown])
        )
    ):
        by_station.setdefault(row.station_id, []).append(row)
    items = []
    for distance, station in shown:
        rows = by_station.get(station.id, [])
        prices = [p for p in (price_now(r.policy or [], moment) for r in rows) if p is not None]
        partner = partners[station.partner_id]
        items.append(
            PartnerStationNear(
                station=station,
                operator_id=partner.operator_id,
                partner_name=partner.name,
                distance_m=distance,
                connectors=len(rows),
                free_connectors=sum(_CONNECTOR_STATUS.get(r.status) == "free" for r in rows),
                lowest_price=min(prices, key=lambda p: p.total_price) if prices else None,
            )
        )
    return Page(items=items, total=len(hits), page=page, page_size=page_size)


# --------------------------------------------------------------------------- the console


@dataclass(frozen=True, slots=True)
class ConsoleCustomerOrder:
    """Our driver's partner order as the platform's operator reviews it."""

    order: CustomerOrder
    partner_name: str
    operator_id: str

    @property
    def estimate_fen(self) -> int | None:
        return our_estimate_fen(self.order)


def our_estimate_fen(order: CustomerOrder) -> int | None:
    """Our estimate of the partner's amount (before our member discount) when its order
    info was late: kept after its bill came; for an order estimated before the estimate was
    kept, what the wallet holds on it."""
    if order.estimate_fen is not None:
        return order.estimate_fen
    if order.estimated:
        return order.charged_fen + order.member_discount_fen
    return None


def list_customer_orders(
    actor: Actor, *, partner_id: int | None = None, state: str | None = None,
    driver_id: int | None = None, disputed: bool | None = None,
    estimated: bool | None = None, page: int = 1, page_size: int = 20,
) -> Page:  # fmt: skip
    """Our drivers' orders on partners' piles, newest first (the platform's only, as the
    partners are): filter by partner, state, driver, disputed by the partner's
    check_charge_orders, or settled on our estimate."""
    partners._require(actor, "hlht.read")
    stmt = select(CustomerOrder)
    if partner_id is not None:
        stmt = stmt.where(CustomerOrder.partner_id == partner_id)
    if state:
        stmt = stmt.where(CustomerOrder.state == state)
    if driver_id is not None:
        stmt = stmt.where(CustomerOrder.driver_id == driver_id)
    if disputed is not None:
        stmt = stmt.where(CustomerOrder.disputed.is_(disputed))
    if estimated is not None:
        stmt = stmt.where(CustomerOrder.estimated.is_(estimated))
    result = paginate(stmt.order_by(CustomerOrder.id.desc()), page, page_size)
    orders: list[CustomerOrder] = result.items
    named = {
        pid: (name, operator)
        for pid, name, operator in db.session.execute(
            select(Partner.id, Partner.name, Partner.operator_id).where(
                Partner.id.in_({o.partner_id for o in orders})
            )
        )
    }
    items = [ConsoleCustomerOrder(o, *named.get(o.partner_id, ("", ""))) for o in orders]
    return Page(items=items, total=result.total, page=result.page, page_size=result.page_size)
