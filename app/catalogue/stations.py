"""Stations: where piles stand, which tariff they sell at, and who may sell them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from app.catalogue.models import (
    FaultRecord,
    Pile,
    PileOnlinePeriod,
    Station,
    StationVisibility,
    Tariff,
)
from app.catalogue.pile_access import normalise_networks
from app.charging.models import ChargeOrder
from app.errors import (
    OPERATOR_NOT_FOUND,
    STATION_HAS_HISTORY,
    STATION_HAS_PILES,
    STATION_INVALID,
    STATION_SHARING_PLATFORM_ONLY,
    TARIFF_OPERATOR_MISMATCH,
)
from app.extensions import db
from app.paging import Page, paginate
from app.tenancy import audit
from app.tenancy.models import Operator
from app.tenancy.operators import resolve_target_operator
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import transactional

FIELDS = ("name", "address", "city", "longitude", "latitude", "timezone", "status", "tariff_id")

# mainland China, loosely: catches swapped or zero coordinates (GCJ-02 only applies here)
_LNG = (Decimal("73"), Decimal("136"))

_LAT = (Decimal("3"), Decimal("54"))


def _view(st: Station) -> dict[str, Any]:
    return audit.snapshot(st, FIELDS) | {
        "visible_to_operator_ids": st.visible_to_operator_ids,
        "pile_networks": list(st.pile_networks or []),
    }


def _validate(data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    lng, lat = data.get("longitude"), data.get("latitude")
    if lng is not None and not (_LNG[0] <= Decimal(str(lng)) <= _LNG[1]):
        errors["longitude"] = ["经度应在中国境内 (73~136)"]
    if lat is not None and not (_LAT[0] <= Decimal(str(lat)) <= _LAT[1]):
        errors["latitude"] = ["纬度应在中国境内 (3~54)"]
    tz = data.get("timezone")
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = ["未知的时区"]
    if data.get("status") not in (None, "active", "inactive"):
        errors["status"] = ["状态应为 active 或 inactive"]
    if errors:
        raise STATION_INVALID(details=errors)


def _check_tariff(actor: Actor, tariff_id: int | None, operator_id: int) -> None:
    if tariff_id is None:
        return
    tariff = get_scoped(Tariff, tariff_id, actor, what="电价")
    if tariff.operator_id != operator_id:
        raise TARIFF_OPERATOR_MISMATCH(details={"tariff_id": tariff_id})


def _set_visibility(actor: Actor, st: Station, operator_ids: list[int]) -> None:
    """Sharing a station into another tenant's driver app (case #12) is the platform's
    grant, never a sub-operator's own doing (issue 15 #6: its drivers would pay through
    the wrong merchant); a sub-operator saving the list unchanged is fine. Checked before
    any lookup, so the answer reveals no operator ids."""
    wanted = set(operator_ids) - {st.operator_id}
    if not actor.is_platform and wanted != set(st.visible_to_operator_ids):
        raise STATION_SHARING_PLATFORM_ONLY(details={"visible_to_operator_ids": sorted(wanted)})
    for oid in wanted:
        if db.session.get(Operator, oid) is None:
            raise OPERATOR_NOT_FOUND("可见运营商不存在", details={"operator_id": oid})
    st.visibility = [StationVisibility(operator_id=oid) for oid in sorted(wanted)]


def list_stations(
    actor: Actor,
    *,
    q: str | None = None,
    operator_id: int | None = None,
    city: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    actor.require("station.read")
    stmt = scoped(select(Station), Station.operator_id, actor)
    if q:
        stmt = stmt.where(Station.name.contains(q) | Station.address.contains(q))
    if operator_id:
        stmt = stmt.where(Station.operator_id == operator_id)
    if city:
        stmt = stmt.where(Station.city == city)
    return paginate(stmt.order_by(Station.id.desc()), page, page_size)


def get_station(actor: Actor, station_id: int) -> Station:
    actor.require("station.read")
    return get_scoped(Station, station_id, actor, what="站点")


@transactional
def create_station(actor: Actor, data: dict[str, Any]) -> Station:
    actor.require("station.write")
    _validate(data)
    operator_id = resolve_target_operator(actor, data.get("operator_id"))
    _check_tariff(actor, data.get("tariff_id"), operator_id)
    st = Station(operator_id=operator_id)
    for name in FIELDS:
        if data.get(name) is not None:
            setattr(st, name, data[name])
    _set_visibility(actor, st, data.get("visible_to_operator_ids") or [])
    st.pile_networks = normalise_networks(data.get("pile_networks"))
    db.session.add(st)
    db.session.flush()
    audit.record(
        actor, "station.create", "station", st.id, operator_id=operator_id, after=_view(st)
    )
    return st


@transactional
def update_station(actor: Actor, station_id: int, data: dict[str, Any]) -> Station:
    actor.require("station.write")
    st = get_scoped(Station, station_id, actor, what="站点")
    _validate(data)
    if "tariff_id" in data:
        _check_tariff(actor, data["tariff_id"], st.operator_id)
    before = _view(st)
    for name in FIELDS:
        if name in data and (data[name] is not None or name == "tariff_id"):
            setattr(st, name, data[name])
    if data.get("visible_to_operator_ids") is not None:
        _set_visibility(actor, st, data["visible_to_operator_ids"])
    if data.get("pile_networks") is not None:
        st.pile_networks = normalise_networks(data["pile_networks"])
    db.session.flush()
    db.session.refresh(st)
    audit.record(
        actor, "station.update", "station", st.id, operator_id=st.operator_id,
        before=before, after=_view(st),
    )  # fmt: skip
    return st


def _count(column: Any, value: int) -> int:
    return db.session.scalar(select(func.count()).where(column == value)) or 0


@transactional
def delete_station(actor: Actor, station_id: int) -> None:
    actor.require("station.write")
    st = get_scoped(Station, station_id, actor, what="站点")
    piles = db.session.scalar(select(func.count()).where(Pile.station_id == st.id))
    if piles:
        raise STATION_HAS_PILES(details={"pile_count": piles})
    history = {
        "order_count": _count(ChargeOrder.station_id, st.id),
        "online_period_count": _count(PileOnlinePeriod.station_id, st.id),
        "fault_count": _count(FaultRecord.station_id, st.id),
    }
    if any(history.values()):
        raise STATION_HAS_HISTORY(details=history)
    # its own settings (occupancy policy, service discounts) go with it: ON DELETE CASCADE
    audit.record(
        actor, "station.delete", "station", st.id, operator_id=st.operator_id, before=_view(st)
    )
    db.session.delete(st)
