"""Case #2: missing base data gets a clear, specific error, not a generic failure."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from app.catalogue import piles, tariffs
from app.catalogue.models import Pile, Station
from app.errors import MissingBaseData
from app.extensions import db
from app.tenancy.models import Operator


def test_case2_pile_without_station_and_station_without_tariff_are_named(app: Flask) -> None:
    op = Operator(name="基础数据运营商", kind="sub")
    db.session.add(op)
    db.session.flush()
    pile = Pile(code="LONELY-01", operator_id=op.id, protocol="ocpp16")
    station = Station(operator_id=op.id, name="无电价站", longitude=113.9, latitude=22.5)
    db.session.add_all([pile, station])
    db.session.commit()
    with pytest.raises(MissingBaseData) as exc:
        piles.require_bound(pile)
    assert exc.value.code == "PILE_WITHOUT_STATION" and "LONELY-01" in exc.value.message
    with pytest.raises(MissingBaseData) as exc:
        tariffs.current_version_for_station(station)
    assert exc.value.code == "STATION_WITHOUT_TARIFF" and "无电价站" in exc.value.message


def test_demo_station_resolves_its_current_tariff_version(app: Flask, demo: object) -> None:
    station = db.session.scalar(select(Station).where(Station.name == "云创·深圳南山科技园站"))
    assert station is not None
    version = tariffs.current_version_for_station(station)
    assert version.version == 1 and len(version.segments) == 8
    snap = tariffs.snapshot_of(version, station.timezone)
    assert snap.segments[0].start_minute == 0 and snap.segments[-1].end_minute == 1440
