"""Foreign keys hold on both databases, and a constraint answers 409, never 500 (issue 15 #11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.billing.models import OccupancyPolicy
from app.catalogue import pile_history, piles, stations
from app.catalogue.models import Pile, PileOnlinePeriod, Station
from app.charging.pile_events import PileEventService
from app.charging.port import PileConnected, SessionStarted
from app.errors import Conflict
from app.extensions import db
from app.tenancy.models import Operator
from app.tenancy.scope import SYSTEM
from tests.support.ports import pile_events
from tests.support.settings import BASE_CONFIG

T0 = datetime(2021, 1, 14, 6, 0, tzinfo=UTC)


@pytest.fixture
def svc(app: Flask, demo: Any) -> PileEventService:
    return pile_events(app)


def _station(name: str = "待删站点") -> Station:
    operator = db.session.scalars(select(Operator).order_by(Operator.id)).first()
    assert operator is not None
    return stations.create_station(
        SYSTEM,
        {
            "name": name,
            "address": "深圳",
            "longitude": Decimal("114.0"),
            "latitude": Decimal("22.5"),
            "operator_id": operator.id,
        },
    )


def _pile(station: Station, code: str) -> Pile:
    return piles.create_pile(
        SYSTEM,
        {
            "code": code,
            "station_id": station.id,
            "operator_id": station.operator_id,
            "protocol": "ocpp16",
            "current_type": "AC",
            "rated_power_kw": Decimal("7"),
            "connector_count": 1,
        },
    )


def test_the_embedded_database_enforces_foreign_keys(app: Flask) -> None:
    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.session.add(PileOnlinePeriod(pile_id=987654, online_at=T0))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_deleting_a_pile_takes_its_online_periods_and_the_disconnection_report_still_answers(
    app: Flask, demo: Any
) -> None:
    pile = _pile(_station(), "FK-DEL-01")
    db.session.add(PileOnlinePeriod(pile_id=pile.id, online_at=T0, offline_at=T0 + timedelta(1)))
    db.session.commit()
    piles.delete_pile(SYSTEM, pile.id)
    left = db.session.scalar(
        select(func.count()).where(PileOnlinePeriod.pile_id == pile.id)
    )  # fmt: skip
    assert left == 0
    rows = pile_history.disconnection_report(SYSTEM, since=T0, until=T0 + timedelta(days=7))
    assert all(row.pile_code != "FK-DEL-01" for row in rows)


def test_a_connector_with_orders_cannot_be_deleted(svc: PileEventService) -> None:
    svc.handle(PileConnected("DEMO-OCPP-01", "ocpp16", T0))
    svc.handle(SessionStarted("DEMO-OCPP-01", 1, T0, meter_start_wh=0, id_tag="DEMO-CARD-01"))
    pile = db.session.scalars(select(Pile).where(Pile.code == "DEMO-OCPP-01")).one()
    connector = next(c for c in pile.connectors if c.number == 1)
    with pytest.raises(Conflict) as exc:
        piles.delete_connector(SYSTEM, connector.id)
    assert exc.value.code == "CONNECTOR_HAS_ORDERS"
    assert exc.value.details == {"order_count": 1}


def test_a_station_with_history_is_kept_and_one_without_takes_its_settings(
    app: Flask, demo: Any
) -> None:
    used = _station("有历史的站点")
    pile = _pile(used, "FK-HIST-01")
    db.session.add(PileOnlinePeriod(pile_id=pile.id, station_id=used.id, online_at=T0))
    db.session.commit()
    piles.update_pile(SYSTEM, pile.id, {"station_id": None})
    with pytest.raises(Conflict) as exc:
        stations.delete_station(SYSTEM, used.id)
    assert exc.value.code == "STATION_HAS_HISTORY"
    assert exc.value.details["online_period_count"] == 1

    fresh = _station("无历史的站点")
    db.session.add(
        OccupancyPolicy(station_id=fresh.id, grace_minutes=15, price_per_minute=Decimal("0.5"))
    )
    db.session.commit()
    stations.delete_station(SYSTEM, fresh.id)
    assert db.session.scalar(
        select(func.count()).where(OccupancyPolicy.station_id == fresh.id)
    ) == 0  # fmt: skip


def test_an_integrity_error_no_service_checked_answers_409_in_the_error_contract() -> None:
    from wsgi import compose

    app = compose({**BASE_CONFIG, "DATABASE_URL": "sqlite://"})

    @app.post("/probe/orphan")
    def orphan() -> Any:
        db.session.add(PileOnlinePeriod(pile_id=424242, online_at=T0))
        db.session.commit()
        return {}

    with app.app_context():
        db.create_all()
        client: FlaskClient = app.test_client()
        resp = client.post("/probe/orphan")
        assert resp.status_code == 409
        assert resp.get_json()["error"]["code"] == "DATA_IN_USE"
        db.session.remove()
        db.engine.dispose()
