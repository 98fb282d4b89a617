"""The charging session driven by pile events, without sockets (cases #25, #18, #15, #24,
#20, #11). The same scenarios run over real sockets in tests/pile_link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.catalogue import pile_history
from app.catalogue.models import Connector, FaultRecord, Pile, PileOnlinePeriod
from app.charging import orders, starts
from app.charging.commands import COMMAND_PORT
from app.charging.models import ChargeOrder, PileMessage
from app.charging.pile_events import PileEventService
from app.charging.port import (
    AuthorizeRequested,
    ConnectorState,
    ConnectorStatusChanged,
    FaultCleared,
    FaultRaised,
    MeterSample,
    PileAmounts,
    PileConnected,
    PileDisconnected,
    SessionStarted,
    SessionStopped,
)
from app.demo import demo_driver
from app.extensions import db
from app.state import state_of
from app.tenancy.scope import SYSTEM
from tests.support.ports import FakePort, pile_events

OCPP = "DEMO-OCPP-01"
YKC = "55031412782305"
T0 = datetime(2021, 1, 13, 22, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def svc(app: Flask, demo: Any) -> PileEventService:
    return pile_events(app)


def _orders() -> list[ChargeOrder]:
    db.session.expire_all()
    return list(db.session.scalars(select(ChargeOrder).order_by(ChargeOrder.id)))


def _boot(svc: PileEventService, code: str = OCPP, minute: float = 0) -> None:
    assert svc.handle(PileConnected(code, "ocpp16", at(minute), {"firmware": "1.6.4"})).accepted


def _card_session(svc: PileEventService, code: str = OCPP) -> str:
    _boot(svc, code)
    assert svc.handle(AuthorizeRequested(code, "DEMO-CARD-01")).accepted
    reply = svc.handle(
        SessionStarted(code, 1, at(1), meter_start_wh=1_000_000, id_tag="DEMO-CARD-01")
    )
    assert reply.accepted and reply.session_ref
    svc.handle(ConnectorStatusChanged(code, 1, ConnectorState.CHARGING, at(1)))
    for minute, reading in ((5, 1_000_500), (10, 1_001_200)):
        svc.handle(
            MeterSample(code, 1, at(minute), reply.session_ref, energy_wh=reading, power_w=7000)
        )
    return reply.session_ref


def test_card_start_meter_values_and_stop_make_one_finished_order(svc: PileEventService) -> None:
    ref = _card_session(svc)
    reply = svc.handle(SessionStopped(OCPP, ref, at(30), meter_stop_wh=1_001_760, reason="Local"))
    assert reply.accepted
    [order] = _orders()
    assert order.state == "settled" and order.start_method == "card"
    assert order.energy_wh == 1760 and order.meter_start_wh == 1_000_000
    assert order.driver_id == demo_driver().id  # type: ignore[union-attr]
    assert order.tariff_version_id is not None and order.stop_reason == "Local"
    kinds = [m.kind for m in db.session.scalars(select(PileMessage).order_by(PileMessage.id))]
    assert kinds == ["session_started", "session_stopped"]


def test_repeated_stop_record_creates_no_second_order(svc: PileEventService) -> None:
    ref = _card_session(svc)
    stop = SessionStopped(OCPP, ref, at(30), meter_stop_wh=1_001_760, reason="Local")
    for _ in range(3):
        assert svc.handle(stop).accepted
    [order] = _orders()
    assert order.state == "settled" and order.energy_wh == 1760 and not order.late_record


def test_case25_reboot_with_gun_plugged_keeps_order(svc: PileEventService) -> None:
    ref = _card_session(svc)
    # 06:22 the pile reboots with the gun still plugged in
    svc.handle(PileDisconnected(OCPP, at(20), "closed"))
    _boot(svc, minute=21)
    [order] = _orders()
    assert order.state == "charging", "a reboot must never end the order"
    # after the reboot the pile says "available" without any stop record
    svc.handle(ConnectorStatusChanged(OCPP, 1, ConnectorState.AVAILABLE, at(22)))
    [order] = _orders()
    assert order.state == "stopping" and order.awaiting_record_since == at(22)
    assert order.final_record_at is None
    # the late StopTransaction with reason Reboot settles the question: still one order
    assert svc.handle(
        SessionStopped(OCPP, ref, at(23), meter_stop_wh=1_001_300, reason="Reboot")
    ).accepted
    [order] = _orders()
    assert order.state == "settled" and order.stop_reason == "Reboot" and order.energy_wh == 1300


def test_case18_2019_offline_mid_session_is_not_finished(svc: PileEventService) -> None:
    ref = _card_session(svc)
    # the pile is unreachable 07:35-07:48 while the driver still charges
    svc.handle(PileDisconnected(OCPP, at(11), "heartbeat_timeout"))
    [order] = _orders()
    assert order.state == "charging" and order.offline_during
    assert db.session.get(Pile, order.pile_id).online is False  # type: ignore[union-attr]
    _boot(svc, minute=24)
    svc.handle(MeterSample(OCPP, 1, at(25), ref, energy_wh=1_002_000))
    svc.handle(SessionStopped(OCPP, ref, at(40), meter_stop_wh=1_002_500, reason="EVDisconnected"))
    [order] = _orders()
    assert order.state == "settled" and order.energy_wh == 2500


def test_stop_record_for_unknown_session_is_kept_as_abnormal_order(svc: PileEventService) -> None:
    _boot(svc)
    reply = svc.handle(SessionStopped(OCPP, "987654", at(5), meter_stop_wh=5000, reason="Local",
                                      meter_start_wh=1000, connector_number=2))  # fmt: skip
    assert reply.accepted
    [order] = _orders()
    assert order.state == "abnormal" and order.abnormal_reason == "unknown_session"
    assert order.energy_wh == 4000 and order.connector_number == 2


def test_a_repeated_orphan_stop_record_leaves_the_abnormal_order_abnormal(
    svc: PileEventService,
) -> None:
    """Issue 15, Low: the same orphan record again moved abnormal/unknown_session to
    finished (and so to billing without an operator)."""
    _boot(svc)
    record = SessionStopped(OCPP, "987655", at(5), meter_stop_wh=5000, reason="Local",
                            meter_start_wh=1000, connector_number=2)  # fmt: skip
    for _ in range(3):
        assert svc.handle(record).accepted
    [order] = _orders()
    assert order.state == "abnormal" and order.abnormal_reason == "unknown_session"
    kept = db.session.scalars(select(PileMessage).where(PileMessage.order_id == order.id)).all()
    assert len(kept) == 3  # every copy kept for audit


def test_unknown_card_is_refused_and_leaves_no_order(svc: PileEventService) -> None:
    _boot(svc)
    assert not svc.handle(AuthorizeRequested(OCPP, "STRANGER")).accepted
    reply = svc.handle(SessionStarted(OCPP, 1, at(1), meter_start_wh=0, id_tag="STRANGER"))
    assert not reply.accepted and reply.reason == "unknown_card"
    assert _orders() == []


def test_case24_emergency_stop_fault_is_linked_to_running_order(svc: PileEventService) -> None:
    _card_session(svc)
    svc.handle(FaultRaised(OCPP, 1, "EmergencyStop", at(12), "急停按钮按下"))
    svc.handle(FaultRaised(OCPP, 1, "EmergencyStop", at(12.5)))  # repeated report: one record
    svc.handle(FaultCleared(OCPP, 1, "", at(15)))
    [fault] = db.session.scalars(select(FaultRecord)).all()
    [order] = _orders()
    assert fault.order_id == order.id and fault.started_at == at(12) and fault.ended_at == at(15)
    page = pile_history.faults(SYSTEM, since=at(0), until=at(60), pile_id=order.pile_id)
    assert page.total == 1


def test_remote_start_binds_the_pile_session_to_the_pending_order(
    app: Flask, svc: PileEventService, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = FakePort()
    monkeypatch.setitem(state_of(app), COMMAND_PORT, port)
    _boot(svc)
    svc.handle(ConnectorStatusChanged(OCPP, 2, ConnectorState.PREPARING, at(0.5)))
    driver = demo_driver()
    conn = orders.require_connector(OCPP, 2)
    outcome = starts.request_remote_start(driver, conn, client_request_id="req-1")  # type: ignore[arg-type]
    order = outcome.order
    assert order.state == "starting" and port.starts[0] == (OCPP, 2, order.order_no)
    again = starts.request_remote_start(driver, conn, client_request_id="req-1")  # type: ignore[arg-type]
    assert again.order.id == order.id and again.command is None and len(port.starts) == 1
    reply = svc.handle(
        SessionStarted(
            OCPP, 2, at(1), meter_start_wh=42, id_tag=order.order_no, initiated_by="remote"
        )
    )
    assert reply.accepted and reply.session_ref == str(order.id)
    [order] = _orders()
    assert (
        order.state == "charging" and order.start_method == "remote" and order.meter_start_wh == 42
    )


def test_ykc_pile_started_session_keeps_the_pile_serial(svc: PileEventService) -> None:
    serial = f"{YKC}01210113220000" + "0001"
    assert svc.handle(PileConnected(YKC, "ykc", at(0))).accepted
    reply = svc.handle(
        SessionStarted(
            YKC, 1, at(1), meter_start_wh=0, id_tag="DEMO-CARD-01", pile_session_ref=serial
        )
    )
    assert reply.session_ref == serial
    svc.handle(MeterSample(YKC, 1, at(2), serial, energy_wh=880, energy_is_session_relative=True))
    svc.handle(
        SessionStopped(YKC, serial, at(3), meter_stop_wh=None, energy_wh=1760, reason="0x40",
                       pile_amounts=PileAmounts(total_fen=175, electricity_fen=113, service_fen=62))
    )  # fmt: skip
    [order] = _orders()
    assert order.pile_session_ref == serial and order.energy_wh == 1760
    assert PileAmounts.from_json(order.pile_amounts) == PileAmounts(175, 113, 62)


def test_case17_2019_weekly_disconnection_report(svc: PileEventService) -> None:
    monday = datetime(2019, 1, 6, 16, 0, tzinfo=UTC)  # Monday 00:00 Asia/Shanghai
    svc.handle(PileConnected(OCPP, "ocpp16", monday))
    svc.handle(PileDisconnected(OCPP, monday + timedelta(hours=2), "heartbeat_timeout"))
    svc.handle(PileConnected(OCPP, "ocpp16", monday + timedelta(hours=2, minutes=13)))
    svc.handle(PileDisconnected(OCPP, monday + timedelta(days=8), "closed"))
    svc.handle(PileConnected(OCPP, "ocpp16", monday + timedelta(days=8, minutes=30)))
    rows = pile_history.disconnection_report(
        SYSTEM, since=monday, until=monday + timedelta(days=14)
    )
    by_week = {
        r.week_start: (r.disconnections, r.offline_seconds) for r in rows if r.pile_code == OCPP
    }
    assert by_week == {"2019-01-07": (1, 13 * 60), "2019-01-14": (1, 30 * 60)}
    periods = pile_history.online_periods(SYSTEM, since=monday, until=monday + timedelta(days=14))
    assert periods.total == 3
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(PileOnlinePeriod)
            .where(PileOnlinePeriod.offline_at.is_(None))
        )
        == 1
    )


def test_gun_returned_ends_occupancy_of_finished_order(svc: PileEventService) -> None:
    ref = _card_session(svc)
    svc.handle(SessionStopped(OCPP, ref, at(30), meter_stop_wh=1_001_760, reason="EVDisconnected"))
    svc.handle(ConnectorStatusChanged(OCPP, 1, ConnectorState.FINISHING, at(30)))
    svc.handle(ConnectorStatusChanged(OCPP, 1, ConnectorState.AVAILABLE, at(95)))
    [order] = _orders()
    assert order.energy_ended_at == at(30) and order.gun_returned_at == at(95)
    conn = db.session.get(Connector, order.connector_id)
    assert conn is not None and conn.status == "available"
