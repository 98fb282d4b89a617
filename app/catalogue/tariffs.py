"""Tariffs: versioned 24 h time-of-use segments (尖峰平谷), prices in yuan/kWh.

Changing prices writes a new version; orders keep the version they were priced with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.catalogue.models import Station, Tariff, TariffSegment, TariffVersion
from app.errors import STATION_WITHOUT_TARIFF, TARIFF_WITHOUT_SEGMENTS, entry
from app.extensions import db
from app.paging import Page, paginate
from app.pricing import Segment, TariffSnapshot, TariffValidationError, validate_segments
from app.tenancy import audit
from app.tenancy.operators import resolve_target_operator
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import transactional


def _validated(segments: Sequence[Segment]) -> list[Segment]:
    try:
        validate_segments(list(segments))
    except TariffValidationError as err:
        raise entry(err.code)(err.message, details=err.details) from err
    return sorted(segments, key=lambda s: s.start_minute)


def _segments_view(version: TariffVersion | None) -> list[dict[str, Any]]:
    if version is None:
        return []
    return [
        {
            "start_minute": s.start_minute,
            "end_minute": s.end_minute,
            "tier": s.tier,
            "electricity_price": str(s.electricity_price),
            "service_price": str(s.service_price),
        }
        for s in version.segments
    ]


def _new_version(tariff: Tariff, segments: Sequence[Segment], actor: Actor) -> TariffVersion:
    last = db.session.scalar(
        select(TariffVersion.version)
        .where(TariffVersion.tariff_id == tariff.id)
        .order_by(TariffVersion.version.desc())
        .limit(1)
    )
    version = TariffVersion(
        tariff_id=tariff.id,
        version=(last or 0) + 1,
        created_by_id=actor.admin_id,
        segments=[
            TariffSegment(
                start_minute=s.start_minute,
                end_minute=s.end_minute,
                tier=s.tier,
                electricity_price=s.electricity_price,
                service_price=s.service_price,
            )
            for s in segments
        ],
    )
    db.session.add(version)
    db.session.flush()
    tariff.current_version = version
    return version


def list_tariffs(
    actor: Actor,
    *,
    q: str | None = None,
    operator_id: int | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    actor.require("tariff.read")
    stmt = scoped(select(Tariff), Tariff.operator_id, actor)
    if q:
        stmt = stmt.where(Tariff.name.contains(q))
    if operator_id:
        stmt = stmt.where(Tariff.operator_id == operator_id)
    return paginate(stmt.order_by(Tariff.id.desc()), page, page_size)


def get_tariff(actor: Actor, tariff_id: int) -> Tariff:
    actor.require("tariff.read")
    return get_scoped(Tariff, tariff_id, actor, what="电价")


@transactional
def create_tariff(actor: Actor, data: dict[str, Any]) -> Tariff:
    actor.require("tariff.write")
    segments = _validated(data["segments"])
    operator_id = resolve_target_operator(actor, data.get("operator_id"))
    tariff = Tariff(operator_id=operator_id, name=data["name"])
    db.session.add(tariff)
    db.session.flush()
    version = _new_version(tariff, segments, actor)
    audit.record(
        actor, "tariff.create", "tariff", tariff.id, operator_id=operator_id,
        after={"name": tariff.name, "version": version.version,
               "segments": _segments_view(version)},
    )  # fmt: skip
    return tariff


@transactional
def rename_tariff(actor: Actor, tariff_id: int, name: str) -> Tariff:
    actor.require("tariff.write")
    tariff = get_scoped(Tariff, tariff_id, actor, what="电价")
    before = {"name": tariff.name}
    tariff.name = name
    audit.record(
        actor, "tariff.rename", "tariff", tariff.id, operator_id=tariff.operator_id,
        before=before, after={"name": name},
    )  # fmt: skip
    return tariff


@transactional
def set_segments(actor: Actor, tariff_id: int, segments: Sequence[Segment]) -> Tariff:
    """Prices change by a new version; the old one stays for the orders that used it."""
    actor.require("tariff.write")
    tariff = get_scoped(Tariff, tariff_id, actor, what="电价")
    checked = _validated(segments)
    before = {"version": tariff.current_version.version if tariff.current_version else None,
              "segments": _segments_view(tariff.current_version)}  # fmt: skip
    version = _new_version(tariff, checked, actor)
    audit.record(
        actor, "tariff.set_segments", "tariff", tariff.id, operator_id=tariff.operator_id,
        before=before, after={"version": version.version, "segments": _segments_view(version)},
    )  # fmt: skip
    return tariff


def list_versions(actor: Actor, tariff_id: int) -> list[TariffVersion]:
    tariff = get_tariff(actor, tariff_id)
    return list(
        db.session.scalars(
            select(TariffVersion)
            .where(TariffVersion.tariff_id == tariff.id)
            .order_by(TariffVersion.version.desc())
        )
    )


def snapshot_of(version: TariffVersion, timezone: str) -> TariffSnapshot:
    return TariffSnapshot(
        segments=tuple(
            Segment(
                start_minute=s.start_minute,
                end_minute=s.end_minute,
                tier=s.tier,
                electricity_price=s.electricity_price,
                service_price=s.service_price,
            )
            for s in version.segments
        ),
        timezone=timezone,
    )


def current_version_for_station(station: Station) -> TariffVersion:
    """The tariff version a new order at this station is priced with (case #2 errors)."""
    if station.tariff is None:
        raise STATION_WITHOUT_TARIFF(
            f"站点「{station.name}」未设置电价，无法充电", details={"station_id": station.id}
        )
    version = station.tariff.current_version
    if version is None or not version.segments:
        raise TARIFF_WITHOUT_SEGMENTS(
            f"电价「{station.tariff.name}」没有有效的时段", details={"tariff_id": station.tariff.id}
        )
    return version
