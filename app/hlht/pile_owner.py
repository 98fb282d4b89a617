"""We are the pile owner: what a partner's platform asks of our piles (T/CEC 102.2 public
information, and the token of 102.4 附录 A). Plain functions of (partner, canonical Data)
→ the answer's Data; the envelope, the token and the HTTP are :mod:`app.hlht.inbound`'s."""

from __future__ import annotations

import hmac
import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import defer, lazyload, selectinload

from app.catalogue.models import Connector, Pile, Station
from app.config import setting
from app.extensions import db
from app.hlht import partners
from app.hlht.envelope import CHINA, field
from app.hlht.models import Partner

MAX_PAGE_SIZE = 50

# our connector states → 102.2 ConnectorStatus (0 离网, 1 空闲, 2 占用（未充电）,
# 3 占用（充电中）, 4 占用（预约锁定）, 255 故障)
STATUS = {
    "available": 1, "preparing": 2, "finishing": 2, "suspended": 3, "charging": 3,
    "reserved": 4, "faulted": 255, "unavailable": 255, "unknown": 0,
}  # fmt: skip


class BusinessError(Exception):
    """Ret 4004: the business parameters are not valid for this interface."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


def our_operator_id() -> str:
    return str(setting("HLHT_OPERATOR_ID"))


def connector_id(pile_code: str, number: int) -> str:
    """A connector as partners name it: the pile code (EquipmentID) and the gun number."""
    return f"{pile_code}-{number}"


def _int(data: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = field(data, name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BusinessError(f"{name} 应为整数") from None
    if not low <= number <= high:
        raise BusinessError(f"{name} 应在 {low} 到 {high} 之间")
    return number


def query_token(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """Part 4 附录 A: OperatorID + OperatorSecret → AccessToken (SuccStat/FailReason)."""
    answer = {"OperatorID": partner.operator_id, "SuccStat": 1, "AccessToken": "",
              "TokenAvailableTime": 0, "FailReason": 0}  # fmt: skip
    if str(field(data, "OperatorID", "")) != partner.operator_id:
        return {**answer, "FailReason": 1}  # 无此运营商
    given = str(field(data, "OperatorSecret", ""))
    if not hmac.compare_digest(given.encode(), partner.operator_secret.encode()):
        return {**answer, "FailReason": 2}  # 密钥错误
    token, seconds = partners.issue_token(partner)
    return {**answer, "SuccStat": 0, "AccessToken": token, "TokenAvailableTime": seconds}


def _piles_of(station_ids: list[int]) -> dict[int, list[Pile]]:
    by_station: dict[int, list[Pile]] = {i: [] for i in station_ids}
    if station_ids:
        stmt = (
            select(Pile)
            .where(Pile.station_id.in_(station_ids))
            .options(selectinload(Pile.connectors), lazyload(Pile.station))
            .order_by(Pile.id)
        )  # one query for the piles, one for their connectors, whatever the page
        for pile in db.session.scalars(stmt):
            by_station[pile.station_id or 0].append(pile)
    return by_station


def _station_info(station: Station, piles: list[Pile]) -> dict[str, Any]:
    ours = our_operator_id()
    return {
        "StationID": str(station.id),
        "OperatorID": ours,
        "EquipmentOwnerID": ours,
        "StationName": station.name,
        "CountryCode": "CN",
        "AreaCode": "",
        "Address": station.address,
        "ServiceTel": "",
        "StationType": 1,  # 公共
        "StationStatus": 50 if station.status == "active" else 6,  # 50 正常使用, 6 维护中
        "ParkNums": 0,
        "StationLng": float(station.longitude),
        "StationLat": float(station.latitude),
        "Construction": 255,
        "EquipmentInfos": [
            {
                "EquipmentID": pile.code,
                "ManufacturerID": "",
                "EquipmentModel": pile.model,
                "EquipmentType": 1 if pile.current_type == "DC" else 2,  # 1 直流, 2 交流
                "Power": round(pile.rated_power_w / 1000, 1),
                "ConnectorInfos": [
                    {
                        "ConnectorID": connector_id(pile.code, c.number),
                        "ConnectorType": 4 if pile.current_type == "DC" else 3,
                        "Power": round(pile.rated_power_w / 1000 / max(len(pile.connectors), 1), 1),
                        "NationalStandard": 2,  # 2015
                    }
                    for c in sorted(pile.connectors, key=lambda c: c.number)
                ],
            }
            for pile in piles
        ],
    }


# a page of stations needs their own columns only (not the operator, tariff, visibility
# or pile count the console loads with them)
_STATION_ONLY = (
    lazyload(Station.operator),
    lazyload(Station.tariff),
    lazyload(Station.visibility),
    defer(Station.pile_count),  # type: ignore[attr-defined]
)


def query_stations_info(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.2 查询充电站信息: paged (PageNo, PageSize ≤ 50), only the stations shared with
    the partner (case #12), incremental by LastQueryTime (stations created since)."""
    page_no = _int(data, "PageNo", 1, 1, 10**6)
    page_size = _int(data, "PageSize", 10, 1, MAX_PAGE_SIZE)
    stmt = partners.shared_stations_query(partner)
    last = field(data, "LastQueryTime")
    if last:
        try:
            since = datetime.strptime(str(last), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
        except ValueError:
            raise BusinessError("LastQueryTime 应为 yyyy-MM-dd HH:mm:ss") from None
        stmt = stmt.where(Station.created_at >= since)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = (
        stmt.options(*_STATION_ONLY)
        .order_by(Station.id)
        .offset((page_no - 1) * page_size)
        .limit(page_size)
    )
    stations = list(db.session.scalars(page))
    piles = _piles_of([s.id for s in stations])
    return {
        "PageNo": page_no,
        "PageCount": max(math.ceil(total / page_size), 1),
        "ItemSize": total,
        "StationInfos": [_station_info(s, piles[s.id]) for s in stations],
    }


def _shared_ids(partner: Partner, wanted: list[int]) -> list[int]:
    stmt = partners.shared_stations_query(partner).where(Station.id.in_(wanted))
    return [s.id for s in db.session.scalars(stmt)]


def query_station_status(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.2 设备接口状态查询: the connectors of the asked stations it may see."""
    raw = field(data, "StationIDs")
    if not isinstance(raw, list) or not raw or len(raw) > 50:
        raise BusinessError("StationIDs 应为 1 到 50 个充电站 ID 的数组")
    wanted = [int(s) for s in raw if str(s).isdigit()]
    ids = _shared_ids(partner, wanted)
    piles = _piles_of(ids)
    infos = []
    for station_id in ids:
        connectors = [
            {
                "ConnectorID": connector_id(pile.code, c.number),
                "Status": STATUS.get(c.status, 0) if pile.online else 0,
            }
            for pile in piles[station_id]
            for c in sorted(pile.connectors, key=lambda c: c.number)
        ]
        infos.append({"StationID": str(station_id), "ConnectorStatusInfos": connectors})
    return {"Total": len(infos), "StationStatusInfos": infos}


def find_connector(partner: Partner, connector: str) -> Connector | None:
    """A connector by its ConnectorID, at a station the partner may see."""
    code, _, number = str(connector).rpartition("-")
    if not code or not number.isdigit():
        return None
    pile = db.session.scalar(select(Pile).where(Pile.code == code))
    if pile is None or pile.station_id is None or not _shared_ids(partner, [pile.station_id]):
        return None
    return next((c for c in pile.connectors if c.number == int(number)), None)


def query_equip_business_policy(partner: Partner, data: dict[str, Any]) -> dict[str, Any]:
    """102.3 查询业务策略信息: the connector's time-of-use periods, electricity and service
    price per kWh from the station's current tariff version."""
    seq = str(field(data, "EquipBizSeq", ""))
    if len(seq) != 27:
        raise BusinessError("EquipBizSeq 应为 27 位")
    wanted = str(field(data, "ConnectorID", ""))
    answer: dict[str, Any] = {"EquipBizSeq": seq, "ConnectorID": wanted, "SuccStat": 1,
                              "FailReason": 0, "SumPeriod": 0, "PolicyInfos": []}  # fmt: skip
    conn = find_connector(partner, wanted)
    station = conn.pile.station if conn is not None else None
    version = station.tariff.current_version if station and station.tariff else None
    if conn is None:
        return {**answer, "FailReason": 1}  # 此设备不存在
    if version is None:
        return {**answer, "FailReason": 2}  # 无电价
    periods = [
        {
            "StartTime": f"{seg.start_minute // 60:02d}{seg.start_minute % 60:02d}00",
            "ElecPrice": float(seg.electricity_price),
            "ServicePrice": float(seg.service_price),
        }
        for seg in sorted(version.segments, key=lambda s: s.start_minute)
    ]
    return {**answer, "SuccStat": 0, "SumPeriod": len(periods), "PolicyInfos": periods}


HANDLERS = {
    "query_token": query_token,
    "query_stations_info": query_stations_info,
    "query_station_status": query_station_status,
    "query_equip_business_policy": query_equip_business_policy,
}
