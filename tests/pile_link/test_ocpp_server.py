"""The OCPP WebSocket endpoint over real sockets.

The gevent server runs in its own thread (its own hub, nothing monkey-patched); piles are
the ``ocpp`` package's asyncio ChargePoint over ``websockets``, or a raw wsproto client
where a test needs to misbehave on the wire. Garbage (random text and binary frames,
random bytes before and after the upgrade) must harm only the connection that sends it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import gevent
import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, RegistrationStatus, RemoteStartStopStatus
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from app.charging.port import (
    Admission,
    AuthorizeRequested,
    CommandOutcome,
    ConnectorState,
    ConnectorStatusChanged,
    EventReply,
    MeterSample,
    PileConnected,
    PileDisconnected,
    PileEvent,
    SessionStarted,
    SessionStopped,
)
from pile_link.ocpp16.server import OcppServer, ServerThread, WsConfig
from pile_link.registry import ConnectionRegistry, LocalCommandPort

PASSWORD = "correct-horse-battery"
DEADLINE = 60.0  # a wait for what must happen: generous, the suites run side by side


class Domain:
    """Thread-safe in-memory PileEventHandler that records events."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: list[PileEvent] = []
        self.registered = {"CP1", "CP2", "CPPW", "FUZZ"}
        self.passwords = {"CPPW": PASSWORD}
        self.accept_boot = True
        self.next_transaction = 100
        # seconds handle() takes for an event type (gevent.sleep: it runs in the server hub)
        self.slow: dict[type, float] = {}
        self.slow_admit = 0.0
        self.lookups: list[str] = []  # the domain's pile lookups, in order
        self.admissions: list[dict[str, Any]] = []
        self.forced: Admission | None = None  # the domain's answer whatever was sent

    def is_registered(self, pile_code: str) -> bool:
        self.lookups.append(pile_code)
        return pile_code in self.registered

    def admit(self, pile_code: str, password: str | None, **kw: Any) -> Admission:
        self.lookups.append(pile_code)
        self.admissions.append(kw)
        if self.forced is not None:
            return self.forced
        if self.slow_admit:
            gevent.sleep(self.slow_admit)  # a slow database, in the server hub
        if pile_code not in self.registered:
            return Admission.UNKNOWN_PILE
        expected = self.passwords.get(pile_code)
        ok = expected is None or password == expected
        return Admission.ADMITTED if ok else Admission.WRONG_PASSWORD

    def handle(self, event: PileEvent) -> EventReply:
        if type(event) in self.slow:
            gevent.sleep(self.slow[type(event)])
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()
            if isinstance(event, SessionStarted):
                self.next_transaction += 1
                return EventReply(session_ref=str(self.next_transaction))
            if isinstance(event, PileConnected) and event.info:
                return EventReply(accepted=self.accept_boot)
            return EventReply()

    def wait_for(
        self, predicate: Callable[[list[PileEvent]], bool], timeout: float = DEADLINE
    ) -> list[PileEvent]:
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.events), timeout), self.events
            return list(self.events)

    def wait_event(
        self, kind: type, pile_code: str, count: int = 1, timeout: float = DEADLINE, **fields: Any
    ) -> Any:
        def matching(events: list[PileEvent]) -> list[Any]:
            return [
                e
                for e in events
                if isinstance(e, kind)
                and e.pile_code == pile_code
                and all(getattr(e, k) == v for k, v in fields.items())
            ]

        events = self.wait_for(lambda ev: len(matching(ev)) >= count, timeout)
        return matching(events)[count - 1]

    def of(self, pile_code: str) -> list[PileEvent]:
        with self.cond:
            return [e for e in self.events if e.pile_code == pile_code]


@dataclass
class Link:
    domain: Domain
    server: OcppServer
    registry: ConnectionRegistry
    port: LocalCommandPort
    tcp_port: int

    def url(self, pile_code: str) -> str:
        return f"ws://127.0.0.1:{self.tcp_port}/ocpp/{pile_code}"

    def wait_connections(self, count: int) -> None:
        deadline = time.monotonic() + DEADLINE
        while self.server.connection_count() != count:
            assert time.monotonic() < deadline, self.server.connection_count()
            time.sleep(0.005)


@contextlib.contextmanager
def running(config: WsConfig | None = None) -> Iterator[Link]:
    domain = Domain()
    registry = ConnectionRegistry()
    server = OcppServer(
        domain,
        registry,
        host="127.0.0.1",
        port=0,
        config=config or WsConfig(heartbeat_interval=30, close_timeout=1.0, finish_timeout=2.0),
    )
    thread = ServerThread(server, drain_timeout=2.0)
    _, tcp_port = thread.start()
    try:
        yield Link(domain, server, registry, LocalCommandPort(registry), tcp_port)
    finally:
        thread.stop()


@pytest.fixture
def link() -> Iterator[Link]:
    with running() as link:
        yield link


class Pile(ChargePoint):
    """A third-party pile: the ocpp package's ChargePoint."""

    def __init__(self, pile_code: str, connection: Any) -> None:
        super().__init__(pile_code, connection, response_timeout=DEADLINE)
        self.remote_start_answer = RemoteStartStopStatus.accepted
        self.received: list[tuple[str, dict[str, Any]]] = []

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, **kwargs: Any) -> call_result.RemoteStartTransaction:
        self.received.append(("RemoteStartTransaction", {"id_tag": id_tag, **kwargs}))
        return call_result.RemoteStartTransaction(status=self.remote_start_answer)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        self.received.append(("RemoteStopTransaction", {"transaction_id": transaction_id}))
        return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)

    async def boot(self) -> call_result.BootNotification:
        result: call_result.BootNotification = await self.call(
            call.BootNotification(charge_point_model="DC60", charge_point_vendor="Xundao")
        )
        return result


@contextlib.asynccontextmanager
async def pile_session(
    link: Link, pile_code: str, **connect: Any
) -> AsyncIterator[tuple[Pile, ClientConnection]]:
    connect.setdefault("subprotocols", [Subprotocol("ocpp1.6")])
    async with websockets.connect(
        link.url(pile_code), open_timeout=DEADLINE, close_timeout=2, **connect
    ) as ws:
        pile = Pile(pile_code, ws)
        task = asyncio.create_task(pile.start())
        try:
            yield pile, ws
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await task


def refused_status(link: Link, pile_code: str, **connect: Any) -> InvalidStatus:
    async def attempt() -> None:
        async with websockets.connect(link.url(pile_code), open_timeout=DEADLINE, **connect):
            pass

    with pytest.raises(InvalidStatus) as caught:
        asyncio.run(attempt())
    return caught.value


class RawClient:
    """A blocking WebSocket client on a plain socket (wsproto), for misbehaving on purpose."""

    def __init__(
        self,
        tcp_port: int,
        pile_code: str,
        subprotocols: tuple[str, ...] = ("ocpp1.6",),
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", tcp_port), timeout=DEADLINE)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.pending: deque[Event] = deque()
        self.handshake: AcceptConnection | RejectConnection | None = None
        self.sock.sendall(
            self.ws.send(
                Request(
                    host=f"127.0.0.1:{tcp_port}",
                    target=f"/ocpp/{pile_code}",
                    subprotocols=list(subprotocols),
                    extra_headers=headers or [],
                )
            )
        )
        while self.handshake is None:
            self._pump()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def _pump(self) -> bool:
        data = self.sock.recv(65536)
        self.ws.receive_data(data or None)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection | RejectConnection):
                self.handshake = event
            else:
                self.pending.append(event)
        return bool(data)

    def send_text(self, text: str) -> None:
        self.sock.sendall(self.ws.send(TextMessage(data=text)))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(self.ws.send(BytesMessage(data=data)))

    def next_event(self, answer_pings: bool = True) -> Event | None:
        while True:
            while self.pending:
                event = self.pending.popleft()
                if isinstance(event, Ping) and answer_pings:
                    self.sock.sendall(self.ws.send(event.response()))
                    continue
                return event
            if not self._pump():
                return None

    def recv_json(self) -> Any:
        parts: list[str] = []
        while True:  # wsproto hands over a message in pieces as the bytes arrive
            event = self.next_event()
            assert isinstance(event, TextMessage), event
            parts.append(event.data)
            if event.message_finished:
                return json.loads("".join(parts))

    def call(self, unique_id: str, action: str, payload: dict[str, Any]) -> Any:
        self.send_text(json.dumps([2, unique_id, action, payload]))
        return self.recv_json()


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# --- upgrade ----------------------------------------------------------------------------


def test_subprotocol_is_echoed_exactly(link: Link) -> None:
    async def scenario() -> None:
        offers = [Subprotocol("ocpp2.0.1"), Subprotocol("ocpp1.6")]
        async with pile_session(link, "CP1", subprotocols=offers) as (pile, ws):
            assert ws.subprotocol == "ocpp1.6"
            assert ws.response is not None
            assert ws.response.headers.get_all("Sec-WebSocket-Protocol") == ["ocpp1.6"]
            assert (await pile.boot()).status == RegistrationStatus.accepted

    asyncio.run(scenario())


@pytest.mark.parametrize("offers", [[], ["ocpp2.0.1"], ["OCPP1.6"], ["ocpp1.5"]])
def test_client_without_ocpp16_is_refused(link: Link, offers: list[str]) -> None:
    status = refused_status(link, "CP1", subprotocols=[Subprotocol(o) for o in offers] or None)
    assert status.response.status_code == 400
    assert link.domain.of("CP1") == []


def test_unknown_pile_is_refused_with_404(link: Link) -> None:
    assert refused_status(link, "NOPE", subprotocols=["ocpp1.6"]).response.status_code == 404
    assert link.domain.events == []


def test_the_domain_hears_the_address_and_a_live_connection_and_its_refusals_map(
    link: Link,
) -> None:
    """Issue 15 #1: a replacement without credentials is a 409 (the live connection stays),
    an address outside the station's networks a 403."""

    async def scenario() -> None:
        async with pile_session(link, "CP1"):
            link.wait_connections(1)
            assert link.domain.admissions[-1] == {
                "protocol": "ocpp16", "address": "127.0.0.1", "replacing": False,
            }  # fmt: skip
            link.domain.forced = Admission.REPLACEMENT_REFUSED
            status = await asyncio.to_thread(refused_status, link, "CP1", subprotocols=["ocpp1.6"])
            assert status.response.status_code == 409
            assert link.domain.admissions[-1]["replacing"] is True
            assert link.port.is_online("CP1")

    asyncio.run(scenario())
    link.domain.forced = Admission.NETWORK_NOT_ALLOWED
    assert refused_status(link, "CP2", subprotocols=["ocpp1.6"]).response.status_code == 403


def test_upgrade_looks_the_pile_up_once(link: Link) -> None:
    async def scenario() -> None:
        async with pile_session(link, "CP1"):
            link.wait_connections(1)

    asyncio.run(scenario())
    assert link.domain.lookups == ["CP1"]


def test_slow_domain_at_upgrade_is_not_cut_by_the_handshake_timer() -> None:
    # the timer would fire inside the domain's database query (a broken pooled connection)
    config = WsConfig(heartbeat_interval=30, close_timeout=1.0, handshake_timeout=0.2)
    with running(config) as link:
        link.domain.slow_admit = 0.5

        async def scenario() -> None:
            async with pile_session(link, "CP1") as (pile, _ws):
                assert (await pile.boot()).status == RegistrationStatus.accepted

        asyncio.run(scenario())


def test_other_paths_are_404(link: Link) -> None:
    with socket.create_connection(("127.0.0.1", link.tcp_port), timeout=DEADLINE) as sock:
        sock.sendall(b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 404 ")


def test_basic_auth(link: Link) -> None:
    missing = refused_status(link, "CPPW", subprotocols=["ocpp1.6"])
    assert missing.response.status_code == 401
    assert missing.response.headers["WWW-Authenticate"].startswith("Basic")
    wrong = refused_status(
        link, "CPPW", subprotocols=["ocpp1.6"], additional_headers=basic("CPPW", "guess")
    )
    assert wrong.response.status_code == 401
    other_user = refused_status(
        link, "CPPW", subprotocols=["ocpp1.6"], additional_headers=basic("CP1", PASSWORD)
    )
    assert other_user.response.status_code == 401
    assert link.domain.of("CPPW") == []

    async def scenario() -> None:
        async with pile_session(link, "CPPW", additional_headers=basic("CPPW", PASSWORD)) as (
            pile,
            _,
        ):
            assert (await pile.boot()).status == RegistrationStatus.accepted

    asyncio.run(scenario())


# --- the conversation -------------------------------------------------------------------


def test_charging_conversation_gives_exact_events(link: Link) -> None:
    t0 = "2024-03-01T08:00:00Z"
    t1 = "2024-03-01T08:30:00Z"
    at0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    at1 = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    meter = [
        {
            "timestamp": t1,
            "sampledValue": [
                {"value": "5.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"},
                {"value": "80", "measurand": "SoC", "unit": "Percent", "location": "EV"},
            ],
        }
    ]

    async def scenario() -> None:
        async with pile_session(link, "CP1") as (pile, _):
            boot = await pile.boot()
            assert (boot.status, boot.interval) == (RegistrationStatus.accepted, 30)
            await pile.call(
                call.StatusNotification(
                    connector_id=1, error_code="NoError", status="Preparing", timestamp=t0
                )
            )
            auth = await pile.call(call.Authorize(id_tag="CARD1"))
            assert auth.id_tag_info == {"status": "Accepted"}
            start = await pile.call(
                call.StartTransaction(
                    connector_id=1, id_tag="CARD1", meter_start=1000, timestamp=t0
                )
            )
            assert start.transaction_id == 101
            await pile.call(call.MeterValues(connector_id=1, transaction_id=101, meter_value=meter))
            stop = await pile.call(
                call.StopTransaction(
                    meter_stop=6000, timestamp=t1, transaction_id=101, reason="EVDisconnected"
                )
            )
            assert stop.id_tag_info is None

    asyncio.run(scenario())
    events = link.domain.wait_for(lambda ev: isinstance(ev[-1], PileDisconnected))
    assert [type(e) for e in events] == [
        PileConnected,
        PileConnected,
        ConnectorStatusChanged,
        AuthorizeRequested,
        SessionStarted,
        MeterSample,
        SessionStopped,
        PileDisconnected,
    ]
    opened, booted = events[0], events[1]
    assert isinstance(opened, PileConnected) and isinstance(booted, PileConnected)
    assert (opened.pile_code, opened.protocol, opened.info) == ("CP1", "ocpp16", {})
    assert booted.info == {"vendor": "Xundao", "model": "DC60"}
    # the pile's own times come with the server's time of receipt (the domain checks them)
    stamped = [e for e in events[2:7] if not isinstance(e, AuthorizeRequested)]
    assert all(getattr(e, "received_at", None) is not None for e in stamped)
    received = [
        e if isinstance(e, AuthorizeRequested) else dataclasses.replace(e, received_at=None)
        for e in events[2:7]
    ]
    assert received == [
        ConnectorStatusChanged(
            "CP1",
            1,
            ConnectorState.PREPARING,
            at0,
            "NoError",
            raw={"connectorId": 1, "errorCode": "NoError", "status": "Preparing", "timestamp": t0},
        ),
        AuthorizeRequested("CP1", "CARD1"),
        SessionStarted(
            "CP1",
            1,
            at0,
            1000,
            "CARD1",
            raw={"connectorId": 1, "idTag": "CARD1", "meterStart": 1000, "timestamp": t0},
        ),
        MeterSample(
            "CP1", 1, at1, "101", energy_wh=5500, power_w=7000, soc_percent=80, raw=meter[0]
        ),
        SessionStopped(
            "CP1",
            "101",
            at1,
            6000,
            "EVDisconnected",
            raw={
                "meterStop": 6000,
                "timestamp": t1,
                "transactionId": 101,
                "reason": "EVDisconnected",
            },
        ),
    ]
    closed = events[7]
    assert isinstance(closed, PileDisconnected)
    assert (closed.pile_code, closed.reason) == ("CP1", "closed")


def test_boot_rejected_by_the_domain_and_for_a_pile_removed_meanwhile(link: Link) -> None:
    async def scenario() -> None:
        async with pile_session(link, "CP1") as (pile, _):
            link.domain.accept_boot = False
            boot = await pile.boot()
            assert boot.status == RegistrationStatus.rejected
            assert boot.interval > 0
            link.domain.accept_boot = True
            link.domain.registered.discard("CP1")
            assert (await pile.boot()).status == RegistrationStatus.rejected

    asyncio.run(scenario())


def test_lenient_stop_with_vendor_fields_over_the_wire(link: Link) -> None:
    payload = {
        "transactionId": 101,
        "timestamp": "2024-03-01T09:00:00Z",
        "meterStop": "1234.5",
        "reason": "VendorOverTemperature",
        "vendorData": {"board": "X1", "temperature": 81.5},
    }
    with RawClient(link.tcp_port, "CP1") as pile:
        assert pile.call("s1", "StopTransaction", payload) == [3, "s1", {}]
        stopped = link.domain.wait_event(SessionStopped, "CP1")
    assert (stopped.session_ref, stopped.meter_stop_wh, stopped.reason) == (
        "101",
        1235,
        "VendorOverTemperature",
    )
    assert stopped.raw == payload


def test_strict_requests_get_precise_callerrors(link: Link) -> None:
    with RawClient(link.tcp_port, "CP1") as pile:
        boot = {"chargePointVendor": "V", "chargePointModel": "M", "extra": 1}
        assert pile.call("b1", "BootNotification", boot)[:3] == [4, "b1", "FormationViolation"]
        assert pile.call("b2", "Teleport", {})[:3] == [4, "b2", "NotImplemented"]
        assert pile.call("b3", "Reset", {"type": "Hard"})[:3] == [4, "b3", "NotSupported"]
        assert pile.call("b4", "Heartbeat", {})[:2] == [3, "b4"]


# --- commands ---------------------------------------------------------------------------


def test_remote_start_and_stop_round_trip(link: Link) -> None:
    async def scenario() -> None:
        async with pile_session(link, "CP1") as (pile, _):
            await pile.boot()
            started = await asyncio.to_thread(
                link.port.remote_start, "CP1", 1, "ORDER42", order_no="O-42", timeout=DEADLINE
            )
            assert started.outcome is CommandOutcome.ACCEPTED
            assert pile.received == [
                ("RemoteStartTransaction", {"id_tag": "ORDER42", "connector_id": 1})
            ]
            start = await pile.call(
                call.StartTransaction(
                    connector_id=1,
                    id_tag="ORDER42",
                    meter_start=0,
                    timestamp="2024-03-01T08:00:00Z",
                )
            )
            stopped = await asyncio.to_thread(
                link.port.remote_stop, "CP1", 1, str(start.transaction_id), timeout=DEADLINE
            )
            assert stopped.outcome is CommandOutcome.ACCEPTED
            assert pile.received[1] == (
                "RemoteStopTransaction",
                {"transaction_id": start.transaction_id},
            )
            pile.remote_start_answer = RemoteStartStopStatus.rejected
            refused = await asyncio.to_thread(
                link.port.remote_start, "CP1", 2, "ORDER43", order_no="O-43", timeout=DEADLINE
            )
            assert (refused.outcome, refused.detail) == (CommandOutcome.REJECTED, "Rejected")
            reset = await asyncio.to_thread(link.port.reset, "CP1", timeout=DEADLINE)
            assert reset.outcome is CommandOutcome.NOT_SUPPORTED  # no Reset handler on this pile

    asyncio.run(scenario())
    started = link.domain.wait_event(SessionStarted, "CP1")
    assert started.initiated_by == "remote"


def test_command_to_offline_pile_and_to_a_pile_that_does_not_answer(link: Link) -> None:
    assert link.port.reset("CP1").outcome is CommandOutcome.PILE_OFFLINE
    assert not link.port.is_online("CP1")
    with RawClient(link.tcp_port, "CP1") as pile:
        link.domain.wait_event(PileConnected, "CP1")
        assert link.port.is_online("CP1")
        result = link.port.remote_stop("CP1", 1, "101", timeout=0.2)
        assert result.outcome is CommandOutcome.TIMED_OUT
        sent = pile.recv_json()
        assert sent[0] == 2 and sent[2] == "RemoteStopTransaction"


# --- liveness and replacement -----------------------------------------------------------


def test_closed_socket_is_noticed_at_once(link: Link) -> None:
    pile = RawClient(link.tcp_port, "CP1")
    link.domain.wait_event(PileConnected, "CP1")
    began = time.monotonic()
    pile.sock.close()  # no close frame: the TCP connection just ends
    gone = link.domain.wait_event(PileDisconnected, "CP1", timeout=2.0)
    assert gone.reason == "closed"
    assert time.monotonic() - began < 2.0
    assert not link.port.is_online("CP1")


def test_stop_sent_just_before_the_socket_dies_is_recorded_before_the_disconnect(
    link: Link,
) -> None:
    link.domain.slow[SessionStopped] = 0.2
    with RawClient(link.tcp_port, "CP1") as pile:
        stop = {"transactionId": 7, "timestamp": "2024-03-01T09:00:00Z", "meterStop": 10}
        pile.send_text(json.dumps([2, "s1", "StopTransaction", stop]))
    link.domain.wait_event(PileDisconnected, "CP1")
    assert [type(e) for e in link.domain.of("CP1")] == [
        PileConnected,
        SessionStopped,
        PileDisconnected,
    ]


def test_requests_sent_back_to_back_are_answered_in_order_and_the_worker_then_ends(
    link: Link,
) -> None:
    link.domain.slow[ConnectorStatusChanged] = 0.1  # the first request keeps the domain busy
    with RawClient(link.tcp_port, "CP1") as pile:
        link.domain.wait_event(PileConnected, "CP1")
        (conn,) = list(link.server._connections)
        status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        pile.send_text(json.dumps([2, "r1", "StatusNotification", status]))
        for n in range(2, 6):
            pile.send_text(json.dumps([2, f"r{n}", "Heartbeat", {}]))
        answers = [pile.recv_json() for _ in range(5)]
        assert [a[1] for a in answers] == ["r1", "r2", "r3", "r4", "r5"]
        assert all(a[0] == 3 for a in answers)
        deadline = time.monotonic() + DEADLINE
        while conn._worker is not None:  # idle between heartbeats: no worker greenlet
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert conn._jobs is None and conn._backlog is None
        assert pile.call("r6", "Heartbeat", {})[:2] == [3, "r6"]  # a new worker answers


def test_reconnect_replaces_the_old_connection(link: Link) -> None:
    async def scenario() -> None:
        async with pile_session(link, "CP1") as (_, old_ws):
            link.domain.wait_event(PileConnected, "CP1")
            async with pile_session(link, "CP1") as (new_pile, _):
                await old_ws.wait_closed()
                assert old_ws.close_code == 1000
                assert old_ws.close_reason == "replaced"
                await asyncio.to_thread(link.wait_connections, 1)
                assert [
                    (type(e).__name__, getattr(e, "reason", None)) for e in link.domain.of("CP1")
                ] == [
                    ("PileConnected", None),
                    ("PileDisconnected", "replaced"),
                    ("PileConnected", None),
                ]
                assert link.port.is_online("CP1")
                assert (await new_pile.boot()).status == RegistrationStatus.accepted
                result = await asyncio.to_thread(
                    link.port.remote_stop, "CP1", 1, "7", timeout=DEADLINE
                )
                assert result.outcome is CommandOutcome.ACCEPTED

    asyncio.run(scenario())
    link.domain.wait_event(PileDisconnected, "CP1", count=2)
    reasons = [e.reason for e in link.domain.of("CP1") if isinstance(e, PileDisconnected)]
    assert reasons == ["replaced", "closed"]


def test_silent_pile_is_dropped_and_pings_keep_a_quiet_pile_online() -> None:
    config = WsConfig(ping_interval=0.1, read_timeout=0.35, close_timeout=0.5)
    with (
        running(config) as link,
        RawClient(link.tcp_port, "CP1") as quiet,
        RawClient(link.tcp_port, "CP2"),
    ):
        # CP1 answers pings (and nothing else); CP2 never reads its socket.
        pings = 0
        began = time.monotonic()
        while time.monotonic() - began < 1.0:
            event = quiet.next_event(answer_pings=False)
            assert isinstance(event, Ping)
            quiet.sock.sendall(quiet.ws.send(event.response()))
            pings += 1
        gone = link.domain.wait_event(PileDisconnected, "CP2")
        assert gone.reason == "heartbeat_timeout"
        assert pings >= 5
        assert link.port.is_online("CP1")
        assert not [e for e in link.domain.of("CP1") if isinstance(e, PileDisconnected)]


def test_shutdown_drains_connections() -> None:
    with running(WsConfig(close_timeout=0.2)) as link:
        pile = RawClient(link.tcp_port, "CP1")
        link.domain.wait_event(PileConnected, "CP1")
    # the server thread has stopped: the pile was told, the domain too
    with pile:
        event = pile.next_event()
        assert isinstance(event, CloseConnection)
        assert event.code == 1001
    gone = link.domain.wait_event(PileDisconnected, "CP1")
    assert gone.reason == "shutdown"


def test_oversized_message_closes_only_that_connection() -> None:
    with (
        running(WsConfig(max_message_bytes=1000, close_timeout=0.5)) as link,
        RawClient(link.tcp_port, "CP1") as big,
        RawClient(link.tcp_port, "CP2") as other,
    ):
        big.send_text("[" + " " * 2000 + "]")
        event = big.next_event()
        assert isinstance(event, CloseConnection) and event.code == 1009
        assert link.domain.wait_event(PileDisconnected, "CP1").reason == "protocol_error"
        assert other.call("h", "Heartbeat", {})[:2] == [3, "h"]


# --- garbage ----------------------------------------------------------------------------

SEED = 20240301
ALPHABET = '[]{}",:0123456789-.eE truefalsnul\\/abcXYZ\u00e9\u6025\u505c\U0001f50c'


def random_text(rng: random.Random) -> str:
    size = rng.randint(0, 120)
    if rng.random() < 0.3:  # something that looks like a frame
        head = rng.choice(["[2,", "[3,", "[4,", "[", '[2,"x",', '[2,"x","BootNotification",'])
        return head + "".join(rng.choice(ALPHABET) for _ in range(size))
    return "".join(rng.choice(ALPHABET) for _ in range(size))


def drain(sock: socket.socket) -> None:
    """Read until the server closes the connection."""
    while sock.recv(65536):
        pass


def test_random_frames_and_bytes_do_not_hurt_the_server() -> None:
    rng = random.Random(SEED)
    with running() as link:
        with RawClient(link.tcp_port, "CP2") as bystander:
            assert bystander.call("h0", "Heartbeat", {})[:2] == [3, "h0"]

            # 1,000 random text frames: every one that is not a CALLRESULT/CALLERROR
            # gets exactly one answer, and it is a CALLERROR.
            with RawClient(link.tcp_port, "FUZZ") as fuzz:
                frames = [random_text(rng) for _ in range(1000)]
                for frame in frames:
                    fuzz.send_text(frame)
                fuzz.send_text('[2,"last","Heartbeat",{}]')
                answers = []
                while True:
                    answer = fuzz.recv_json()
                    if answer[1] == "last":
                        break
                    answers.append(answer)
                assert len(answers) >= 990
                assert all(a[0] == 4 for a in answers)

            # 1,000 random binary frames
            with RawClient(link.tcp_port, "FUZZ") as fuzz:
                for _ in range(1000):
                    fuzz.send_bytes(rng.randbytes(rng.randint(0, 64)))
                fuzz.send_text('[2,"last","Heartbeat",{}]')
                while fuzz.recv_json()[1] != "last":
                    pass

            # random bytes instead of an HTTP request, and instead of WebSocket frames
            for _ in range(100):
                with socket.create_connection(("127.0.0.1", link.tcp_port), DEADLINE) as raw:
                    raw.sendall(rng.randbytes(rng.randint(1, 512)))
                    raw.shutdown(socket.SHUT_WR)
                    drain(raw)
            for n in range(100):
                with RawClient(link.tcp_port, "FUZZ") as fuzz:
                    fuzz.sock.sendall(rng.randbytes(rng.randint(1, 512)))
                    fuzz.sock.shutdown(socket.SHUT_WR)
                    drain(fuzz.sock)
                # one at a time: each garbage connection is finished before the next
                link.domain.wait_event(PileDisconnected, "FUZZ", count=n + 3)

            assert bystander.call("h1", "Heartbeat", {})[:2] == [3, "h1"]
        assert_fresh_pile_boots(link)
        link.wait_connections(0)


def test_json_shaped_garbage_gets_precise_errors() -> None:
    shapes = [
        (
            [2, "a", "BootNotification", {"chargePointVendor": 1, "chargePointModel": "M"}],
            "TypeConstraintViolation",
        ),
        ([2, "b", "StatusNotification", {"connectorId": 1}], "OccurenceConstraintViolation"),
        ([2, "c", "Authorize", {"idTag": "x" * 21}], "PropertyConstraintViolation"),
        ([2, "d", "Heartbeat", {"x": None}], "FormationViolation"),
        ([9, "e"], "ProtocolError"),
        ([2, "f", "StopTransaction", {"timestamp": "x"}], "OccurenceConstraintViolation"),
    ]
    with running() as link, RawClient(link.tcp_port, "FUZZ") as fuzz:
        for message, code in shapes:
            fuzz.send_text(json.dumps(message))
            answer = fuzz.recv_json()
            assert answer[:3] == [4, message[1], code]


def assert_fresh_pile_boots(link: Link) -> None:
    async def scenario() -> None:
        async with pile_session(link, "CP1") as (pile, _):
            boot = await pile.call(
                call.BootNotification(charge_point_model="M", charge_point_vendor="V")
            )
            assert boot.status == RegistrationStatus.accepted

    asyncio.run(scenario())
