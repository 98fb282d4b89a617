"""OcppSession without sockets: pile requests → domain events → answers; commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import gevent
import pytest

from app.charging.port import (
    AuthorizeRequested,
    CommandOutcome,
    ConnectorState,
    ConnectorStatusChanged,
    EventReply,
    FaultCleared,
    FaultRaised,
    MeterSample,
    PileConnected,
    PileDisconnected,
    PileEvent,
    SessionStarted,
    SessionStopped,
)
from pile_link.ocpp16 import codec
from pile_link.ocpp16.session import OcppSession, energy_wh, read_sampled_values

NOW = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
CODE = "CP-0001"


class Domain:
    """In-memory PileEventHandler: records events, answers from ``replies``."""

    def __init__(self) -> None:
        self.events: list[PileEvent] = []
        self.registered = True
        self.replies: dict[type, Callable[[PileEvent], EventReply]] = {}
        self.sent_before_handle: list[int] = []
        self.outbox: list[str] = []

    def is_registered(self, pile_code: str) -> bool:
        return self.registered

    def check_password(self, pile_code: str, password: str | None) -> bool:
        return True

    def handle(self, event: PileEvent) -> EventReply:
        self.sent_before_handle.append(len(self.outbox))
        self.events.append(event)
        answer = self.replies.get(type(event))
        return answer(event) if answer else EventReply()


@pytest.fixture
def domain() -> Domain:
    return Domain()


@pytest.fixture
def session(domain: Domain) -> OcppSession:
    def send(frame: str) -> bool:
        domain.outbox.append(frame)
        return True

    return OcppSession(CODE, domain, send, heartbeat_interval=120, clock=lambda: NOW)


def request(session: OcppSession, domain: Domain, action: str, payload: dict[str, Any]) -> Any:
    """Feed one CALL; return the decoded answer frame."""
    domain.outbox.clear()
    session.on_message(json.dumps([2, "m1", action, payload]))
    assert len(domain.outbox) == 1
    return json.loads(domain.outbox[0])


def result_of(session: OcppSession, domain: Domain, action: str, payload: dict[str, Any]) -> Any:
    answer = request(session, domain, action, payload)
    assert answer[0] == 3, answer
    assert answer[1] == "m1"
    codec.validate_result(action, answer[2])
    return answer[2]


BOOT = {"chargePointVendor": "Xundao", "chargePointModel": "DC60", "firmwareVersion": "1.2"}


def test_boot_accepted_gives_the_heartbeat_interval(session: OcppSession, domain: Domain) -> None:
    answer = result_of(session, domain, "BootNotification", BOOT)
    assert answer == {
        "status": "Accepted",
        "currentTime": "2024-03-01T08:30:00.000Z",
        "interval": 120,
    }
    assert domain.events == [
        PileConnected(CODE, "ocpp16", NOW, {"vendor": "Xundao", "model": "DC60", "firmware": "1.2"})
    ]
    assert session.boot_accepted is True


def test_boot_of_unknown_pile_is_rejected_without_event(
    session: OcppSession, domain: Domain
) -> None:
    domain.registered = False
    answer = result_of(session, domain, "BootNotification", BOOT)
    assert answer["status"] == "Rejected"
    assert answer["interval"] > 0
    assert domain.events == []


def test_first_boot_of_an_admitted_connection_asks_the_domain_once_not_twice(
    domain: Domain,
) -> None:
    # the endpoint admitted the pile at the upgrade: the first boot goes straight to
    # PileConnected (issue 12: a storm's third pile lookup); a boot again asks
    lookups: list[str] = []
    domain.is_registered = lambda code: lookups.append(code) or True  # type: ignore[method-assign]
    session = OcppSession(
        CODE,
        domain,
        lambda f: domain.outbox.append(f) is None,
        heartbeat_interval=120,
        clock=lambda: NOW,
        admitted=True,
    )
    session.on_message(json.dumps([2, "b1", "BootNotification", BOOT]))
    assert lookups == [] and len(domain.events) == 1
    assert json.loads(domain.outbox[-1])[2]["status"] == "Accepted"
    domain.registered = False
    domain.is_registered = lambda code: lookups.append(code) or False  # type: ignore[method-assign]
    session.on_message(json.dumps([2, "b2", "BootNotification", BOOT]))
    assert lookups == [CODE]
    assert json.loads(domain.outbox[-1])[2]["status"] == "Rejected"


def test_boot_rejected_by_the_domain(session: OcppSession, domain: Domain) -> None:
    domain.replies[PileConnected] = lambda e: EventReply(accepted=False, reason="disabled")
    assert result_of(session, domain, "BootNotification", BOOT)["status"] == "Rejected"
    assert session.boot_accepted is False


def test_heartbeat(session: OcppSession, domain: Domain) -> None:
    assert result_of(session, domain, "Heartbeat", {}) == {
        "currentTime": "2024-03-01T08:30:00.000Z"
    }
    assert domain.events == []


def status(connector: int, state: str, error: str = "NoError", **extra: Any) -> dict[str, Any]:
    return {
        "connectorId": connector,
        "status": state,
        "errorCode": error,
        "timestamp": "2024-03-01T08:00:00Z",
        **extra,
    }


AT = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def test_status_maps_states(session: OcppSession, domain: Domain) -> None:
    assert result_of(session, domain, "StatusNotification", status(1, "SuspendedEV")) == {}
    assert domain.events == [
        ConnectorStatusChanged(
            CODE,
            1,
            ConnectorState.SUSPENDED,
            AT,
            "NoError",
            None,
            status(1, "SuspendedEV"),
            received_at=NOW,  # the pile's clock, checked by the domain
        )
    ]


def test_fault_raised_then_cleared(session: OcppSession, domain: Domain) -> None:
    faulty = status(2, "Faulted", "GroundFailure", vendorErrorCode="E17")
    result_of(session, domain, "StatusNotification", faulty)
    result_of(session, domain, "StatusNotification", faulty)  # repeated: no second fault
    result_of(session, domain, "StatusNotification", status(2, "Available"))
    kinds = [type(e).__name__ for e in domain.events]
    assert kinds == [
        "ConnectorStatusChanged",
        "FaultRaised",
        "ConnectorStatusChanged",
        "ConnectorStatusChanged",
        "FaultCleared",
    ]
    raised = domain.events[1]
    assert isinstance(raised, FaultRaised)
    assert (raised.connector_number, raised.code, raised.at) == (2, "GroundFailure", AT)
    assert "E17" in raised.description
    assert domain.events[4] == FaultCleared(CODE, 2, "GroundFailure", AT)


@pytest.mark.parametrize(
    "payload",
    [
        status(0, "Unavailable", "OtherError", vendorErrorCode="EmergencyStop"),
        status(0, "Unavailable", "NoError", vendorErrorCode="E_STOP"),
        status(0, "Faulted", "OtherError", info="急停按钮按下"),
    ],
)
def test_emergency_stop_vendor_codes_are_faults(
    session: OcppSession, domain: Domain, payload: dict[str, Any]
) -> None:
    result_of(session, domain, "StatusNotification", payload)
    faults = [e for e in domain.events if isinstance(e, FaultRaised)]
    assert len(faults) == 1
    assert faults[0].code == "EmergencyStop"
    assert faults[0].connector_number is None  # connector 0 is the pile itself


def test_authorize(session: OcppSession, domain: Domain) -> None:
    assert result_of(session, domain, "Authorize", {"idTag": "CARD1"}) == {
        "idTagInfo": {"status": "Accepted"}
    }
    domain.replies[AuthorizeRequested] = lambda e: EventReply(accepted=False, reason="Blocked")
    assert result_of(session, domain, "Authorize", {"idTag": "CARD2"})["idTagInfo"] == {
        "status": "Blocked"
    }
    domain.replies[AuthorizeRequested] = lambda e: EventReply(accepted=False, reason="no money")
    assert result_of(session, domain, "Authorize", {"idTag": "CARD3"})["idTagInfo"] == {
        "status": "Invalid"
    }
    assert domain.events[0] == AuthorizeRequested(CODE, "CARD1")


START = {
    "connectorId": 1,
    "idTag": "CARD1",
    "meterStart": 1000,
    "timestamp": "2024-03-01T08:00:00Z",
}


def test_start_transaction_gets_the_domain_reference(session: OcppSession, domain: Domain) -> None:
    domain.replies[SessionStarted] = lambda e: EventReply(session_ref="4711")
    assert result_of(session, domain, "StartTransaction", START) == {
        "transactionId": 4711,
        "idTagInfo": {"status": "Accepted"},
    }
    assert domain.events == [SessionStarted(CODE, 1, AT, 1000, "CARD1", raw=START, received_at=NOW)]


def test_start_rejected_still_answers_a_transaction_id(
    session: OcppSession, domain: Domain
) -> None:
    domain.replies[SessionStarted] = lambda e: EventReply(accepted=False)
    answer = result_of(session, domain, "StartTransaction", START)
    assert answer == {"transactionId": 0, "idTagInfo": {"status": "Invalid"}}


def test_start_accepted_without_integer_reference_is_not_acknowledged(
    session: OcppSession, domain: Domain
) -> None:
    domain.replies[SessionStarted] = lambda e: EventReply(session_ref="ORD-1")
    answer = request(session, domain, "StartTransaction", START)
    assert answer[:3] == [4, "m1", "InternalError"]


def test_meter_values_convert_units(session: OcppSession, domain: Domain) -> None:
    payload: dict[str, Any] = {
        "connectorId": 1,
        "transactionId": 4711,
        "meterValue": [
            {
                "timestamp": "2024-03-01T08:10:00+08:00",
                "sampledValue": [
                    {
                        "value": "12.3456",
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "kWh",
                    },
                    {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                    {"value": "229.5", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
                    {"value": "31.4", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                    {"value": "56", "measurand": "SoC", "unit": "Percent"},
                    {"value": "40", "measurand": "Temperature", "unit": "Celsius"},
                ],
            },
            {"timestamp": "2024-03-01T00:11:00Z", "sampledValue": [{"value": "12400"}]},
        ],
    }
    assert result_of(session, domain, "MeterValues", payload) == {}
    first, second = domain.events
    assert first == MeterSample(
        CODE,
        1,
        datetime(2024, 3, 1, 0, 10, tzinfo=UTC),
        "4711",
        energy_wh=12346,
        power_w=7200,
        voltage_v=229.5,
        current_a=31.4,
        soc_percent=56,
        raw=payload["meterValue"][0],
        received_at=NOW,
    )
    assert isinstance(second, MeterSample)
    assert second.energy_wh == 12400  # no measurand: Energy.Active.Import.Register, Wh
    assert second.at.tzinfo is UTC


def test_meter_values_sum_phase_power() -> None:
    readings = read_sampled_values(
        [
            {"value": "1000", "measurand": "Power.Active.Import", "phase": p, "unit": "W"}
            for p in ("L1", "L2", "L3")
        ]
    )
    assert readings.power_w == 3000


def test_meter_values_with_vendor_quirks_are_accepted(session: OcppSession, domain: Domain) -> None:
    payload = {
        "connectorId": 1,
        "transactionId": "4711",
        "vendor": {"board": 3},
        "meterValue": [
            {
                "timestamp": "not a time",
                "sampledValue": [
                    {"value": 1.5, "unit": "kWh", "measurand": "Energy.Active.Import.Register"},
                    {"value": "abc", "measurand": "SoC"},
                    {"value": "9", "measurand": "Vendor.Thing", "unit": "Bogus"},
                ],
            }
        ],
    }
    assert result_of(session, domain, "MeterValues", payload) == {}
    (sample,) = domain.events
    assert isinstance(sample, MeterSample)
    assert (sample.session_ref, sample.energy_wh, sample.soc_percent) == ("4711", 1500, None)
    assert sample.at == NOW  # unreadable time: the time of arrival


@pytest.mark.parametrize(
    ("value", "unit", "wh"),
    [(1234, "Wh", 1234), ("1234.5", "Wh", 1235), ("1.2344", "kWh", 1234), ("x", "Wh", None)],
)
def test_energy_wh(value: Any, unit: str, wh: int | None) -> None:
    assert energy_wh(value, unit) == wh


STOP = {
    "transactionId": 4711,
    "timestamp": "2024-03-01T09:00:00Z",
    "meterStop": 13000,
    "reason": "Local",
    "idTag": "CARD1",
}
STOP_AT = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def test_stop_transaction(session: OcppSession, domain: Domain) -> None:
    assert result_of(session, domain, "StopTransaction", STOP) == {
        "idTagInfo": {"status": "Accepted"}
    }
    assert domain.events == [
        SessionStopped(CODE, "4711", STOP_AT, 13000, "Local", raw=STOP, received_at=NOW)
    ]


def test_lenient_stop_with_vendor_fields_decimal_meter_and_unknown_reason(
    session: OcppSession, domain: Domain
) -> None:
    payload = {
        "transactionId": "4711",
        "timestamp": "2024-03-01T09:00:00Z",
        "meterStop": "13000.5",
        "reason": "BatteryProtection",
        "vendorData": {"code": 7},
        "transactionData": [
            {
                "timestamp": "2024-03-01T08:00:00Z",
                "sampledValue": [
                    {"value": "1.0", "unit": "kWh", "context": "Transaction.Begin"},
                ],
            },
            {
                "timestamp": "2024-03-01T09:00:00Z",
                "sampledValue": [{"value": "13.0005", "unit": "kWh", "context": "Transaction.End"}],
            },
        ],
    }
    assert result_of(session, domain, "StopTransaction", payload) == {}
    assert domain.events == [
        SessionStopped(
            CODE,
            "4711",
            STOP_AT,
            13001,
            "BatteryProtection",
            started_at=AT,
            meter_start_wh=1000,
            energy_wh=12001,
            raw=payload,
            received_at=NOW,
        )
    ]


def test_stop_without_reason_or_readable_meter(session: OcppSession, domain: Domain) -> None:
    result_of(session, domain, "StopTransaction", {"transactionId": 5, "meterStop": "n/a"})
    (stopped,) = domain.events
    assert isinstance(stopped, SessionStopped)
    assert (stopped.session_ref, stopped.meter_stop_wh, stopped.reason, stopped.at) == (
        "5",
        None,
        "Local",
        NOW,
    )


def test_stop_is_acknowledged_only_after_the_domain_handled_it(
    session: OcppSession, domain: Domain
) -> None:
    request(session, domain, "StopTransaction", STOP)
    assert domain.sent_before_handle == [0]  # nothing was sent before handle() returned

    def fail(event: PileEvent) -> EventReply:
        raise RuntimeError("database down")

    domain.replies[SessionStopped] = fail
    answer = request(session, domain, "StopTransaction", STOP)
    assert answer[:3] == [4, "m1", "InternalError"]


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("FlyToTheMoon", {}, "NotImplemented"),
        ("RemoteStartTransaction", {"idTag": "x"}, "NotSupported"),
        ("SignCertificate", {"csr": "x"}, "NotSupported"),
        ("Authorize", {}, "OccurenceConstraintViolation"),
        ("Authorize", {"idTag": 5}, "TypeConstraintViolation"),
        ("Heartbeat", {"x": 1}, "FormationViolation"),
    ],
)
def test_refused_requests(
    session: OcppSession, domain: Domain, action: str, payload: dict[str, Any], code: str
) -> None:
    answer = request(session, domain, action, payload)
    assert answer[:3] == [4, "m1", code]
    assert domain.events == []


@pytest.mark.parametrize(
    "action",
    [
        "FirmwareStatusNotification",
        "DiagnosticsStatusNotification",
    ],
)
def test_notifications_are_acknowledged(session: OcppSession, domain: Domain, action: str) -> None:
    assert result_of(session, domain, action, {"status": "Idle"}) == {}


def test_data_transfer_is_accepted_and_ignored(session: OcppSession, domain: Domain) -> None:
    answer = result_of(session, domain, "DataTransfer", {"vendorId": "Xundao", "data": "{}"})
    assert answer == {"status": "Accepted"}
    assert domain.events == []


def test_garbage_gets_a_callerror_and_stray_answers_are_ignored(
    session: OcppSession, domain: Domain
) -> None:
    session.on_message("{{{")
    assert json.loads(domain.outbox[-1])[:3] == [4, "-1", "FormationViolation"]
    domain.outbox.clear()
    session.on_message('[3, "nobody-asked", {}]')
    session.on_message('[3, "broken"]')
    assert domain.outbox == []


# --- commands ---------------------------------------------------------------------------


def answer_next_call(
    session: OcppSession, domain: Domain, reply: Callable[[list[Any]], list[Any] | None]
) -> gevent.Greenlet:
    """A fake pile: waits for our CALL and feeds ``reply(call)`` back."""

    def pile() -> None:
        while not domain.outbox:
            gevent.sleep(0.001)
        frame = json.loads(domain.outbox.pop(0))
        response = reply(frame)
        if response is not None:
            session.on_message(json.dumps(response))

    return gevent.spawn(pile)


def test_remote_start_round_trip_marks_the_start_remote(
    session: OcppSession, domain: Domain
) -> None:
    seen: list[Any] = []

    def accept(call: list[Any]) -> list[Any]:
        seen.append(call)
        return [3, call[1], {"status": "Accepted"}]

    pile = answer_next_call(session, domain, accept)
    result = session.remote_start(1, "ORDER123", order_no="O-1", balance_fen=500, timeout=2)
    pile.join()
    assert result.outcome is CommandOutcome.ACCEPTED
    assert seen[0][2:] == ["RemoteStartTransaction", {"connectorId": 1, "idTag": "ORDER123"}]

    domain.replies[SessionStarted] = lambda e: EventReply(session_ref="9")
    result_of(session, domain, "StartTransaction", {**START, "idTag": "ORDER123"})
    started = domain.events[-1]
    assert isinstance(started, SessionStarted)
    assert started.initiated_by == "remote"


@pytest.mark.parametrize(
    ("answer", "outcome", "detail"),
    [
        ({"status": "Rejected"}, CommandOutcome.REJECTED, "Rejected"),
        ({"status": "Maybe"}, CommandOutcome.REJECTED, "invalid answer"),
        ({}, CommandOutcome.REJECTED, "invalid answer"),
    ],
)
def test_remote_stop_answers(
    session: OcppSession,
    domain: Domain,
    answer: dict[str, Any],
    outcome: CommandOutcome,
    detail: str,
) -> None:
    seen: list[Any] = []

    def reply(call: list[Any]) -> list[Any]:
        seen.append(call)
        return [3, call[1], answer]

    pile = answer_next_call(session, domain, reply)
    result = session.remote_stop(1, "4711", timeout=2)
    pile.join()
    assert seen[0][2:] == ["RemoteStopTransaction", {"transactionId": 4711}]
    assert result.outcome is outcome
    assert detail in result.detail


def test_command_callerror_maps_to_not_supported_or_rejected(
    session: OcppSession, domain: Domain
) -> None:
    pile = answer_next_call(session, domain, lambda c: [4, c[1], "NotImplemented", "", {}])
    assert session.reset(hard=True, timeout=2).outcome is CommandOutcome.NOT_SUPPORTED
    pile.join()
    pile = answer_next_call(session, domain, lambda c: [4, c[1], "InternalError", "busy", {}])
    result = session.change_availability(1, False, timeout=2)
    pile.join()
    assert result.outcome is CommandOutcome.REJECTED
    assert result.detail == "InternalError: busy"


def test_scheduled_reset_counts_as_accepted(session: OcppSession, domain: Domain) -> None:
    pile = answer_next_call(session, domain, lambda c: [3, c[1], {"status": "Scheduled"}])
    result = session.change_availability(2, True, timeout=2)
    pile.join()
    assert (result.outcome, result.detail) == (CommandOutcome.ACCEPTED, "scheduled")


def test_unlock_connector_maps_the_piles_unlock_status(
    session: OcppSession, domain: Domain
) -> None:
    for status, outcome in (
        ("Unlocked", CommandOutcome.ACCEPTED),
        ("UnlockFailed", CommandOutcome.REJECTED),
        ("NotSupported", CommandOutcome.NOT_SUPPORTED),
    ):
        calls: list[list[Any]] = []

        def unlock(
            call: list[Any], status: str = status, calls: list[list[Any]] = calls
        ) -> list[Any]:
            calls.append(call)
            return [3, call[1], {"status": status}]

        pile = answer_next_call(session, domain, unlock)
        result = session.unlock_connector(2, timeout=2)
        pile.join()
        assert result.outcome is outcome, status
        assert calls[0][2:] == ["UnlockConnector", {"connectorId": 2}]


def test_command_times_out(session: OcppSession, domain: Domain) -> None:
    result = session.reset(timeout=0.05)
    assert result.outcome is CommandOutcome.TIMED_OUT
    # a late answer is ignored
    frame = json.loads(domain.outbox[0])
    session.on_message(json.dumps([3, frame[1], {"status": "Accepted"}]))


def test_pile_going_away_fails_the_waiting_command(session: OcppSession, domain: Domain) -> None:
    waiter = gevent.spawn(session.reset, timeout=5)
    while not domain.outbox:
        gevent.sleep(0.001)
    session.closed("closed", announce=True)
    assert waiter.get(timeout=2).outcome is CommandOutcome.PILE_OFFLINE
    assert domain.events == [PileDisconnected(CODE, NOW, "closed")]
    assert session.reset(timeout=1).outcome is CommandOutcome.PILE_OFFLINE


def test_replaced_session_does_not_announce(session: OcppSession, domain: Domain) -> None:
    session.closed("replaced", announce=False)
    assert domain.events == []


def test_invalid_commands_are_not_sent(session: OcppSession, domain: Domain) -> None:
    assert session.remote_stop(1, "ORD-1").outcome is CommandOutcome.REJECTED
    result = session.remote_start(1, "X" * 21, order_no="O")
    assert result.outcome is CommandOutcome.REJECTED
    assert "invalid request" in result.detail
    assert session.push_tariff({}).outcome is CommandOutcome.NOT_SUPPORTED
    assert domain.outbox == []


def test_sync_time_triggers_a_heartbeat(session: OcppSession, domain: Domain) -> None:
    seen: list[Any] = []

    def reply(call: list[Any]) -> list[Any]:
        seen.append(call)
        return [3, call[1], {"status": "Accepted"}]

    pile = answer_next_call(session, domain, reply)
    assert session.sync_time(timeout=2).ok
    pile.join()
    assert seen[0][2:] == ["TriggerMessage", {"requestedMessage": "Heartbeat"}]


# --- one PileConnected per connection (issue 12: a reconnect storm) ----------------------


def _graced(domain: Domain, grace: float = 0.2) -> tuple[OcppSession, list[datetime]]:
    times = [NOW, datetime(2024, 3, 1, 8, 30, 1, tzinfo=UTC)]
    clock = iter(times + [times[-1]] * 100)
    session = OcppSession(
        CODE,
        domain,
        lambda f: domain.outbox.append(f) is None,
        heartbeat_interval=120,
        clock=lambda: next(clock),
        admitted=True,
        connect_grace=grace,
    )
    return session, times


def test_the_boot_within_the_grace_announces_the_opening_once(domain: Domain) -> None:
    session, (opened_at, _) = _graced(domain)
    session.opened()
    assert domain.events == []  # nothing yet: the boot may follow
    session.on_message(json.dumps([2, "b1", "BootNotification", BOOT]))
    assert json.loads(domain.outbox[-1])[2]["status"] == "Accepted"
    # one event, with the boot's information; the period begins when the socket opened
    info = {"vendor": "Xundao", "model": "DC60", "firmware": "1.2"}
    assert domain.events == [PileConnected(CODE, "ocpp16", opened_at, info)]
    gevent.sleep(0.3)  # the grace's timer was stopped: nothing more
    assert len(domain.events) == 1


def test_without_a_boot_the_opening_is_announced_when_the_grace_ends(domain: Domain) -> None:
    session, (opened_at, _) = _graced(domain, grace=0.05)
    session.opened()
    gevent.sleep(0.15)
    assert domain.events == [PileConnected(CODE, "ocpp16", opened_at, {})]
    session.on_message(json.dumps([2, "b1", "BootNotification", BOOT]))  # a late boot
    assert [type(e) for e in domain.events] == [PileConnected, PileConnected]


def test_any_other_event_first_announces_the_opening(domain: Domain) -> None:
    session, (opened_at, _) = _graced(domain, grace=5)
    session.opened()
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    session.on_message(json.dumps([2, "s1", "StatusNotification", status]))
    assert [type(e) for e in domain.events] == [PileConnected, ConnectorStatusChanged]
    assert domain.events[0] == PileConnected(CODE, "ocpp16", opened_at, {})


def test_a_connection_gone_within_the_grace_was_online_then_offline(domain: Domain) -> None:
    session, _ = _graced(domain, grace=5)
    session.opened()
    session.closed("closed", announce=True)
    assert [type(e) for e in domain.events] == [PileConnected, PileDisconnected]


def test_a_connection_replaced_within_the_grace_announces_nothing(domain: Domain) -> None:
    session, _ = _graced(domain, grace=0.05)
    session.opened()
    session.closed("replaced", announce=False)
    gevent.sleep(0.15)
    assert domain.events == []


def test_a_boot_waits_for_the_opening_announced_when_the_grace_ended(domain: Domain) -> None:
    # the grace's announcement is in the domain when the boot comes: the boot follows it,
    # never beside it (two PileConnected of one pile at once could open two periods)
    inside: list[str] = []

    def slow(event: PileEvent) -> EventReply:
        inside.append("in")
        gevent.sleep(0.1)
        inside.append("out")
        return EventReply()

    domain.replies[PileConnected] = slow
    session, _ = _graced(domain, grace=0.01)
    session.opened()
    gevent.sleep(0.03)  # the timer is inside the domain now
    session.on_message(json.dumps([2, "b1", "BootNotification", BOOT]))
    assert inside == ["in", "out", "in", "out"]
    assert [type(e) for e in domain.events] == [PileConnected, PileConnected]
