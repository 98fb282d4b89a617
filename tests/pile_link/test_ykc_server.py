"""The YKC v1.6 TCP endpoint over real sockets.

The gevent server runs in its own thread (its own hub, nothing monkey-patched); piles are
plain blocking sockets speaking frames built with the codec; the domain is an in-memory
handler that records events. Garbage must harm only the connection that sends it.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import gevent
import pytest

from app.charging.port import (
    Admission,
    AuthorizeRequested,
    CommandOutcome,
    CommandResult,
    ConnectorState,
    ConnectorStatusChanged,
    EventReply,
    FaultCleared,
    FaultRaised,
    MeterSample,
    PileAmounts,
    PileConnected,
    PileDisconnected,
    PileEvent,
    PileTariff,
    SessionStarted,
    SessionStopped,
    TariffPeriod,
)
from pile_link.registry import Command, CommandName, ConnectionRegistry, LocalCommandPort
from pile_link.ykc import (
    MESSAGE_TYPES,
    PILE_TZ,
    BillingModelCheck,
    BillingModelCheckReply,
    BillingModelReply,
    BillingModelRequest,
    BillingModelSet,
    BillingModelSetReply,
    CardStartReply,
    CardStartRequest,
    Frame,
    FrameDecoder,
    Heartbeat,
    HeartbeatReply,
    Login,
    LoginReply,
    Message,
    RealtimeData,
    RecordSegment,
    RemoteReboot,
    RemoteRebootReply,
    RemoteStart,
    RemoteStartReply,
    RemoteStop,
    RemoteStopReply,
    TimeSync,
    TimeSyncReply,
    TransactionRecord,
    TransactionRecordAck,
    WorkParamsReply,
    WorkParamsSet,
    decode_message,
    encode_message,
    password_md5_16,
)
from pile_link.ykc.fields import Struct, layout
from pile_link.ykc.frame import Frame as RawFrame
from pile_link.ykc.server import YkcConfig, YkcServer, YkcServerThread
from pile_link.ykc.session import is_serial

DEADLINE = 60.0  # a wait for what must happen: generous, the suites run side by side
PILE = "32010200000001"
PILE2 = "32010200000002"
UNKNOWN = "99999999999999"
SERIAL = "32010200000001012406121959570001"
CARD = "00000000D14B0A54"
FUZZ_PILES = [f"3201020000{n:04d}" for n in range(10, 13)]
M = TypeVar("M", bound=Message)

TARIFF = {
    "model_id": 12,
    "segments": [
        {
            "start_minute": 0,
            "end_minute": 480,
            "tier": "valley",
            "electricity_price": "0.3500",
            "service_price": "0.6000",
        },
        {
            "start_minute": 480,
            "end_minute": 1440,
            "tier": "peak",
            "electricity_price": "1.2000",
            "service_price": "0.8000",
        },
    ],
}
DOMAIN_TARIFF = PileTariff(
    TARIFF["model_id"],
    tuple(
        TariffPeriod(
            seg["start_minute"], seg["end_minute"], seg["tier"],
            Decimal(seg["electricity_price"]), Decimal(seg["service_price"]),
        )
        for seg in TARIFF["segments"]
    ),
)  # fmt: skip


class Domain:
    """Thread-safe in-memory PileEventHandler that records events (it runs in the hub)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: list[PileEvent] = []
        self.registered = {PILE, PILE2, *(f"3201020000{n:04d}" for n in range(10, 20))}
        self.admission = Admission.ADMITTED
        self.admissions: list[tuple[str, dict[str, Any]]] = []
        self.refused_tags: set[str] = set()
        self.balance_fen = 12345
        # SessionStopped waits in handle() until this is set (a slow commit)
        self.gate: threading.Event | None = None
        self.entered: list[float] = []
        self.returned: list[float] = []

    def is_registered(self, pile_code: str) -> bool:
        return pile_code in self.registered

    def admit(self, pile_code: str, password: str | None, **kw: Any) -> Admission:
        self.admissions.append((pile_code, kw))
        if pile_code not in self.registered:
            return Admission.UNKNOWN_PILE
        return self.admission

    def tariff_for(self, pile_code: str) -> PileTariff | None:
        return DOMAIN_TARIFF if pile_code == PILE else None

    def handle(self, event: PileEvent) -> EventReply:
        if isinstance(event, SessionStopped) and self.gate is not None:
            with self.cond:
                self.entered.append(time.monotonic())
                self.cond.notify_all()
            while not self.gate.is_set():
                gevent.sleep(0.005)  # a slow commit, cooperative: the hub keeps serving
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()
            if isinstance(event, SessionStopped):
                self.returned.append(time.monotonic())
            if isinstance(event, AuthorizeRequested) and event.id_tag in self.refused_tags:
                return EventReply(accepted=False, reason="unknown_card")
            if isinstance(event, SessionStarted):
                # the domain keeps the reference the link named the session by
                return _Reply(session_ref=event.pile_session_ref, balance_fen=self.balance_fen)
            return EventReply()

    def wait_for(self, predicate: Callable[[list[PileEvent]], bool]) -> list[PileEvent]:
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.events), DEADLINE), self.events
            return list(self.events)

    def wait_event(self, kind: type, pile_code: str = PILE, count: int = 1, **fields: Any) -> Any:
        def matching(events: list[PileEvent]) -> list[Any]:
            return [
                e
                for e in events
                if isinstance(e, kind)
                and e.pile_code == pile_code
                and all(getattr(e, k) == v for k, v in fields.items())
            ]

        events = self.wait_for(lambda ev: len(matching(ev)) >= count)
        return matching(events)[count - 1]

    def of(self, kind: type | tuple[type, ...], pile_code: str = PILE) -> list[Any]:
        with self.cond:
            return [e for e in self.events if isinstance(e, kind) and e.pile_code == pile_code]


@dataclass(frozen=True, slots=True)
class _Reply:
    """An EventReply with the balance the lead is asked to add to the contract."""

    accepted: bool = True
    session_ref: str | None = None
    reason: str | None = None
    balance_fen: int | None = None


@dataclass
class Link:
    domain: Domain
    server: YkcServer
    registry: ConnectionRegistry
    port: int

    def wait(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + DEADLINE
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.005)

    def command(self, pile_code: str, name: CommandName, **args: Any) -> CommandResult:
        timeout = args.pop("timeout", DEADLINE)
        return self.registry.send_command(pile_code, Command(name, args, timeout))


@contextlib.contextmanager
def running(config: YkcConfig | None = None) -> Iterator[Link]:
    domain = Domain()
    registry = ConnectionRegistry()
    server = YkcServer(
        domain,
        registry,
        host="127.0.0.1",
        port=0,
        config=config or YkcConfig(finish_timeout=2.0, login_timeout=5.0),
    )
    thread = YkcServerThread(server, drain_timeout=2.0)
    _, port = thread.start()
    try:
        yield Link(domain, server, registry, port)
    finally:
        thread.stop()


@pytest.fixture(autouse=True)
def _every_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """Every log call of the endpoint runs (a bad ``extra`` key fails at INFO, not below)."""
    caplog.set_level(logging.DEBUG, logger="pile_link")


@pytest.fixture
def link() -> Iterator[Link]:
    with running() as link:
        yield link


@pytest.fixture
def background() -> Iterator[ThreadPoolExecutor]:
    """Commands block until the pile answers: send them from another thread."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


class Pile:
    """A YKC pile on a plain blocking socket, with the codec for its frames."""

    def __init__(self, port: int, pile_code: str = PILE) -> None:
        self.pile_code = pile_code
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.decoder = FrameDecoder()
        self.inbox: deque[Frame] = deque()
        self.seq = 0

    def __enter__(self) -> Pile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, message: Message, seq: int | None = None) -> int:
        if seq is None:
            seq, self.seq = self.seq, (self.seq + 1) & 0xFFFF
        self.sock.sendall(encode_message(message, seq))
        return seq

    def _pump(self, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096)
        self.inbox.extend(self.decoder.feed(data))
        assert not self.decoder.take_issues()
        return bool(data)

    def next_frame(self, timeout: float = DEADLINE) -> Frame | None:
        """The next frame from the server; None when it closed the connection."""
        while not self.inbox:
            if not self._pump(timeout):
                return None
        return self.inbox.popleft()

    def expect(self, kind: type[M], timeout: float = DEADLINE) -> tuple[Frame, M]:
        frame = self.next_frame(timeout)
        assert frame is not None, f"connection closed while waiting for {kind.__name__}"
        msg = decode_message(frame)
        assert isinstance(msg, kind), msg
        return frame, msg

    def nothing_within(self, seconds: float) -> bool:
        """True when the server sends nothing (and keeps the connection) for ``seconds``."""
        try:
            self.next_frame(seconds)
        except TimeoutError:
            return True
        return False

    def closed_by_server(self) -> bool:
        deadline = time.monotonic() + DEADLINE
        try:
            while time.monotonic() < deadline:
                if self.next_frame(DEADLINE) is None:
                    return True
        except ConnectionResetError:
            return True
        return False

    def login(self, firmware: str = "v4.1.50") -> LoginReply:
        seq = self.send(
            Login(
                pile_code=self.pile_code,
                pile_type=0,
                gun_count=2,
                protocol_version=0x10,
                firmware_version=firmware,
                network_type=1,
                sim="0",
                carrier=4,
            )
        )
        frame, reply = self.expect(LoginReply)
        assert frame.seq == seq  # §3.1: the answer reuses the request's number
        return reply

    def heartbeat(self, gun: int = 1, status: int = 0) -> tuple[Frame, HeartbeatReply]:
        self.send(Heartbeat(pile_code=self.pile_code, gun_no=gun, gun_status=status))
        return self.expect(HeartbeatReply)


@contextlib.contextmanager
def logged_in(link: Link, pile_code: str = PILE) -> Iterator[Pile]:
    with Pile(link.port, pile_code) as pile:
        assert pile.login().result == LoginReply.ACCEPTED
        yield pile


def realtime(
    *,
    serial: str = SERIAL,
    gun: int = 1,
    status: int = 3,
    plugged: int = 1,
    energy: int = 12345,
    faults: int = 0,
    soc: int = 56,
    pile_code: str = PILE,
) -> RealtimeData:
    return RealtimeData(
        serial=serial,
        pile_code=pile_code,
        gun_no=gun,
        status=status,
        gun_returned=0,
        gun_plugged=plugged,
        voltage=3801,  # 380.1 V
        current=1002,  # 100.2 A
        gun_temperature=80,
        gun_wire_code="0",
        soc=soc,
        battery_max_temperature=75,
        charging_minutes=12,
        remaining_minutes=30,
        energy=energy,  # 0.0001 kWh
        lossy_energy=energy,
        amount=987654,
        hardware_faults=faults,
    )


def segment(energy: int, amount: int) -> RecordSegment:
    return RecordSegment(unit_price=200000, energy=energy, lossy_energy=energy, amount=amount)


def record(
    serial: str = SERIAL, stop_reason: int = 0x45, pile_code: str = PILE
) -> TransactionRecord:
    start = datetime(2024, 6, 12, 19, 59, 57, tzinfo=PILE_TZ)
    end = datetime(2024, 6, 12, 20, 45, 0, tzinfo=PILE_TZ)
    return TransactionRecord(
        serial=serial,
        pile_code=pile_code,
        gun_no=1,
        start_time=start,
        end_time=end,
        sharp=segment(0, 0),
        peak=segment(17600, 35200),
        flat=segment(0, 0),
        valley=segment(0, 0),
        meter_start=1_000_0000,
        meter_stop=1_001_7600,
        total_energy=17600,  # 1.76 kWh
        lossy_total_energy=17600,
        total_amount=17500,  # 1.75 yuan
        vin="LSVAU2180N2183294",
        trade_type=0x01,
        trade_time=end,
        stop_reason=stop_reason,
        physical_card_no=CARD,
    )


# --- login --------------------------------------------------------------------------------


def test_login_accepted_announces_the_pile(link: Link) -> None:
    with logged_in(link) as pile:
        connected = link.domain.wait_event(PileConnected)
        assert connected.protocol == "ykc"
        assert connected.info["firmware"] == "v4.1.50"
        assert connected.info["gun_count"] == 2
        assert connected.info["pile_type"] == "直流桩"
        link.wait(lambda: link.registry.is_online(PILE))
        _, reply = pile.heartbeat()
        assert reply.pile_code == PILE
    link.domain.wait_event(PileDisconnected, reason="closed")
    assert not link.registry.is_online(PILE)


def test_unknown_pile_gets_login_failure_and_is_closed(link: Link) -> None:
    with Pile(link.port, UNKNOWN) as pile:
        reply = pile.login()
        assert reply.result == LoginReply.REJECTED
        assert reply.pile_code == UNKNOWN
        assert pile.closed_by_server()
    link.wait(lambda: link.server.connection_count() == 0)
    assert link.domain.events == []
    assert not link.registry.is_online(UNKNOWN)


def test_a_login_the_domain_does_not_admit_is_refused_with_its_address(link: Link) -> None:
    """Issue 15 #1: the registered number is not enough where the station allows only some
    networks; the domain hears the source address and whether the pile is online."""
    link.domain.admission = Admission.NETWORK_NOT_ALLOWED
    with Pile(link.port) as pile:
        assert pile.login().result == LoginReply.REJECTED
        assert pile.closed_by_server()
    assert link.domain.admissions[-1] == (
        PILE, {"protocol": "ykc", "address": "127.0.0.1", "replacing": False}
    )  # fmt: skip
    assert not link.registry.is_online(PILE)
    link.domain.admission = Admission.ADMITTED
    with logged_in(link):
        with Pile(link.port) as second:  # a second login while the first is online
            second.login()
        assert link.domain.admissions[-1][1]["replacing"] is True


def test_frames_before_login_are_ignored(link: Link) -> None:
    with Pile(link.port) as pile:
        pile.send(Heartbeat(pile_code=PILE, gun_no=1, gun_status=0))
        assert pile.login().result == LoginReply.ACCEPTED
        # the heartbeat sent before the login got no answer: the next frame answers this one
        frame, _ = pile.heartbeat()
        assert frame.seq == 2


# --- heartbeat, billing model, real-time data ---------------------------------------------


def test_heartbeat_is_answered_and_gun_faults_are_recorded(link: Link) -> None:
    with logged_in(link) as pile:
        _, reply = pile.heartbeat(gun=2)
        assert (reply.gun_no, reply.reply) == (2, 0)
        pile.heartbeat(gun=2, status=1)
        raised = link.domain.wait_event(FaultRaised, code="GunFault")
        assert raised.connector_number == 2
        pile.heartbeat(gun=2, status=1)  # still faulted: nothing new
        pile.heartbeat(gun=2, status=0)
        link.domain.wait_event(FaultCleared, code="GunFault", connector_number=2)
        assert len(link.domain.of(FaultRaised)) == 1


def test_billing_model_check_and_request(link: Link) -> None:
    with logged_in(link) as pile:
        pile.send(BillingModelCheck(pile_code=PILE, model_no="0000"))
        _, check = pile.expect(BillingModelCheckReply)
        assert check.result == BillingModelCheckReply.OUTDATED  # §6.5: 0000 on first connect
        pile.send(BillingModelRequest(pile_code=PILE))
        _, model = pile.expect(BillingModelReply)
        assert model.model_no == "0012"
        assert (model.valley.energy_price, model.valley.service_price) == (35000, 60000)
        assert (model.peak.energy_price, model.peak.service_price) == (120000, 80000)
        assert model.periods == (3,) * 16 + (1,) * 32
        pile.send(BillingModelCheck(pile_code=PILE, model_no="0012"))
        _, check = pile.expect(BillingModelCheckReply)
        assert check.result == BillingModelCheckReply.CURRENT


def test_pile_without_a_tariff_gets_the_default_or_the_pushed_model(
    link: Link, background: ThreadPoolExecutor
) -> None:
    with logged_in(link, PILE2) as pile:
        pile.send(BillingModelRequest(pile_code=PILE2))
        _, model = pile.expect(BillingModelReply)
        assert model.model_no == "9999"
        pushed = {**TARIFF, "model_id": 77}
        future = background.submit(link.command, PILE2, CommandName.PUSH_TARIFF, tariff=pushed)
        frame, setting = pile.expect(BillingModelSet)
        assert setting.model_no == "0077"
        pile.send(BillingModelSetReply(pile_code=PILE2, result=1), seq=frame.seq)
        assert future.result(DEADLINE).ok
        pile.send(BillingModelRequest(pile_code=PILE2))
        _, model = pile.expect(BillingModelReply)
        assert model.model_no == "0077"


def test_realtime_data_gives_meter_samples_and_status_changes(link: Link) -> None:
    with logged_in(link) as pile:
        pile.send(realtime())
        sample = link.domain.wait_event(MeterSample)
        assert sample.session_ref == SERIAL
        assert sample.energy_wh == 1235 and sample.energy_is_session_relative
        assert sample.power_w == 38086
        assert (sample.voltage_v, sample.current_a, sample.soc_percent) == (380.1, 100.2, 56)
        assert sample.raw["body"]
        status = link.domain.wait_event(ConnectorStatusChanged)
        assert (status.connector_number, status.state) == (1, ConnectorState.CHARGING)

        pile.send(realtime(energy=22345, faults=0b1))  # Bit1: emergency stop (§7.2 item 18)
        link.domain.wait_event(MeterSample, energy_wh=2235)
        raised = link.domain.wait_event(FaultRaised, code="EmergencyStop")
        assert raised.description == "急停按钮动作故障"
        assert len(link.domain.of(ConnectorStatusChanged)) == 1  # still charging

        pile.send(realtime(serial="0" * 32, status=2, plugged=1, energy=0, soc=0))
        link.domain.wait_event(ConnectorStatusChanged, state=ConnectorState.FINISHING)
        link.domain.wait_event(FaultCleared, code="EmergencyStop")
        pile.send(realtime(serial="0" * 32, status=2, plugged=0, energy=0, soc=0))
        link.domain.wait_event(ConnectorStatusChanged, state=ConnectorState.AVAILABLE)
        pile.send(realtime(serial="0" * 32, status=1, plugged=0, energy=0, soc=0))
        faulted = link.domain.wait_event(ConnectorStatusChanged, state=ConnectorState.FAULTED)
        assert faulted.error_code == "GunFault"
        # idle frames carry no session: no sample for them
        assert len(link.domain.of(MeterSample)) == 2


# --- pile-initiated start ----------------------------------------------------------------


def card_start(card: str = CARD, **fields: Any) -> CardStartRequest:
    fields = {"start_mode": 1, "needs_password": 0, **fields}
    return CardStartRequest(pile_code=PILE, gun_no=1, card_no=card, **fields)


def test_card_start_is_answered_with_the_serial_the_link_named_it_by(link: Link) -> None:
    with logged_in(link) as pile:
        seq = pile.send(card_start())
        frame, reply = pile.expect(CardStartReply)
        assert frame.seq == seq
        assert reply.authorized == 1 and reply.fail_reason == 0
        assert is_serial(reply.serial) and reply.serial.startswith(f"{PILE}01")
        assert reply.balance_fen == 12345
        auth = link.domain.wait_event(AuthorizeRequested)
        assert (auth.id_tag, auth.connector_number) == ("D14B0A54", 1)
        started = link.domain.wait_event(SessionStarted)
        assert started.initiated_by == "pile" and started.pile_session_ref == reply.serial
        assert (started.id_tag, started.meter_start_wh) == ("D14B0A54", 0)
        assert started.raw["frame_type"] == "0x31"


def test_refused_card_gets_a_failure_and_no_session(link: Link) -> None:
    link.domain.refused_tags.add("DEADBEEF")
    with logged_in(link) as pile:
        pile.send(card_start("DEADBEEF"))
        _, reply = pile.expect(CardStartReply)
        assert (reply.authorized, reply.fail_reason) == (0, 0x01)  # 账户不存在
        assert reply.serial == "0" * 32
    assert link.domain.of(SessionStarted) == []


def test_password_start_uses_the_password_form(link: Link) -> None:
    with logged_in(link) as pile:
        pile.send(card_start("0", needs_password=1, password=password_md5_16("123456")))
        _, reply = pile.expect(CardStartReply)
        assert reply.authorized == 1
        started = link.domain.wait_event(SessionStarted)
        assert started.id_tag == "pwd:" + password_md5_16("123456").decode()


# --- remote start / stop and the other commands ------------------------------------------


def test_remote_start_round_trip(link: Link, background: ThreadPoolExecutor) -> None:
    with logged_in(link) as pile:
        future = background.submit(
            link.command,
            PILE,
            CommandName.REMOTE_START,
            connector_number=1,
            id_tag="C240612195957000001",
            order_no="C240612195957000001",
            balance_fen=100000,
            session_ref=SERIAL,
        )
        frame, start = pile.expect(RemoteStart)
        assert (start.serial, start.gun_no, start.balance_fen) == (SERIAL, 1, 100000)
        assert start.pile_code == PILE
        pile.send(
            RemoteStartReply(serial=SERIAL, pile_code=PILE, gun_no=1, result=1, fail_reason=0),
            seq=frame.seq,
        )
        result = future.result(DEADLINE)
        assert result.outcome is CommandOutcome.ACCEPTED
        assert result.data["serial"] == SERIAL
        started = link.domain.wait_event(SessionStarted, initiated_by="remote")
        assert started.pile_session_ref == SERIAL
        assert started.id_tag == "C240612195957000001"


def test_remote_start_failure_and_silence(link: Link, background: ThreadPoolExecutor) -> None:
    with logged_in(link) as pile:
        args = {"connector_number": 1, "id_tag": "x", "order_no": "x", "session_ref": SERIAL}
        future = background.submit(link.command, PILE, CommandName.REMOTE_START, **args)
        frame, _ = pile.expect(RemoteStart)
        pile.send(
            RemoteStartReply(serial=SERIAL, pile_code=PILE, gun_no=1, result=0, fail_reason=5),
            seq=frame.seq,
        )
        result = future.result(DEADLINE)
        assert result.outcome is CommandOutcome.REJECTED
        assert result.detail == "未插枪"
        assert result.data["late_start_window_s"] == 60.0
        # §8.4: the pile may start later and say so with a late 0x33
        pile.send(
            RemoteStartReply(serial=SERIAL, pile_code=PILE, gun_no=1, result=1, fail_reason=0)
        )
        late = link.domain.wait_event(SessionStarted, initiated_by="remote")
        assert late.pile_session_ref == SERIAL and late.id_tag == "x"

        future = background.submit(
            link.command, PILE, CommandName.REMOTE_START, timeout=0.3, **args
        )
        pile.expect(RemoteStart)  # and no answer
        assert future.result(DEADLINE).outcome is CommandOutcome.TIMED_OUT


def test_remote_start_refuses_a_bad_serial_without_sending(link: Link) -> None:
    with logged_in(link) as pile:
        result = link.command(
            PILE,
            CommandName.REMOTE_START,
            connector_number=1,
            id_tag="x",
            order_no="x",
            session_ref="123",
        )
        assert result.outcome is CommandOutcome.REJECTED
        assert pile.nothing_within(0.1)


def test_local_port_without_a_serial_gets_a_generated_one(
    link: Link, background: ThreadPoolExecutor
) -> None:
    port = LocalCommandPort(link.registry)
    with logged_in(link) as pile:
        future = background.submit(
            port.remote_start, PILE, 2, "C1", order_no="C1", balance_fen=500, timeout=DEADLINE
        )
        frame, start = pile.expect(RemoteStart)
        assert start.serial.startswith(PILE + "02") and len(start.serial) == 32
        pile.send(
            RemoteStartReply(
                serial=start.serial, pile_code=PILE, gun_no=2, result=1, fail_reason=0
            ),
            seq=frame.seq,
        )
        result = future.result(DEADLINE)
        assert result.ok and result.data["serial"] == start.serial


def test_remote_stop_round_trip(link: Link, background: ThreadPoolExecutor) -> None:
    with logged_in(link) as pile:
        pile.send(realtime())
        link.domain.wait_event(MeterSample)
        other = background.submit(
            link.command, PILE, CommandName.REMOTE_STOP, connector_number=1, session_ref="1" * 32
        )
        refused = other.result(DEADLINE)
        assert refused.outcome is CommandOutcome.REJECTED  # the gun charges another session
        assert refused.data["running_serial"] == SERIAL

        future = background.submit(
            link.command, PILE, CommandName.REMOTE_STOP, connector_number=1, session_ref=SERIAL
        )
        frame, stop = pile.expect(RemoteStop)
        assert (stop.pile_code, stop.gun_no) == (PILE, 1)
        pile.send(RemoteStopReply(pile_code=PILE, gun_no=1, result=1, fail_reason=0), seq=frame.seq)
        assert future.result(DEADLINE).outcome is CommandOutcome.ACCEPTED

        future = background.submit(
            link.command, PILE, CommandName.REMOTE_STOP, connector_number=1, session_ref=SERIAL
        )
        frame, _ = pile.expect(RemoteStop)
        pile.send(RemoteStopReply(pile_code=PILE, gun_no=1, result=0, fail_reason=2), seq=frame.seq)
        result = future.result(DEADLINE)
        assert (result.outcome, result.detail) == (CommandOutcome.REJECTED, "枪未处于充电状态")


def test_time_sync_reboot_and_availability(link: Link, background: ThreadPoolExecutor) -> None:
    with logged_in(link) as pile:
        future = background.submit(link.command, PILE, CommandName.SYNC_TIME)
        frame, sync = pile.expect(TimeSync)
        assert sync.time is not None
        pile.send(TimeSyncReply(pile_code=PILE, time=sync.time), seq=frame.seq)
        result = future.result(DEADLINE)
        assert result.ok and result.data["pile_time"] == sync.time.isoformat()

        future = background.submit(link.command, PILE, CommandName.RESET, hard=True)
        frame, reboot = pile.expect(RemoteReboot)
        assert reboot.mode == RemoteReboot.NOW
        pile.send(RemoteRebootReply(pile_code=PILE, result=1), seq=frame.seq)
        assert future.result(DEADLINE).ok

        future = background.submit(
            link.command, PILE, CommandName.CHANGE_AVAILABILITY, connector_number=0, available=False
        )
        frame, params = pile.expect(WorkParamsSet)
        assert params.locked == 0x01
        pile.send(WorkParamsReply(pile_code=PILE, result=0), seq=frame.seq)
        assert future.result(DEADLINE).outcome is CommandOutcome.REJECTED

        one_gun = link.command(
            PILE, CommandName.CHANGE_AVAILABILITY, connector_number=2, available=False
        )
        assert one_gun.outcome is CommandOutcome.NOT_SUPPORTED

        bad = link.command(PILE, CommandName.PUSH_TARIFF, tariff={"model_id": 1, "segments": []})
        assert bad.outcome is CommandOutcome.REJECTED


def test_command_to_an_absent_pile_is_pile_offline(link: Link) -> None:
    assert link.command(PILE, CommandName.SYNC_TIME).outcome is CommandOutcome.PILE_OFFLINE


# --- transaction records --------------------------------------------------------------------


def test_record_is_confirmed_only_after_the_domain_returned(link: Link) -> None:
    link.domain.gate = threading.Event()
    with logged_in(link) as pile:
        seq = pile.send(record())
        with link.domain.cond:
            assert link.domain.cond.wait_for(lambda: link.domain.entered, DEADLINE)
        # the domain is still committing: no confirmation yet, but the link is alive
        assert pile.nothing_within(0.3)
        link.domain.gate.set()
        frame, ack = pile.expect(TransactionRecordAck)
        received = time.monotonic()
        assert frame.seq == seq
        assert (ack.serial, ack.result) == (SERIAL, TransactionRecordAck.ACCEPTED)
        assert link.domain.returned[0] <= received
        stopped = link.domain.wait_event(SessionStopped)
        assert stopped.session_ref == SERIAL
        assert (stopped.meter_start_wh, stopped.meter_stop_wh, stopped.energy_wh) == (
            1_000_000,
            1_001_760,
            1760,
        )
        assert stopped.pile_amounts == PileAmounts(
            total_fen=175, per_tier_fen={"sharp": 0, "peak": 352, "flat": 0, "valley": 0}
        )
        assert stopped.reason == "0x45"
        assert stopped.raw["stop_reason_text"] == "结束充电，手动停止充电"
        assert stopped.connector_number == 1
        assert stopped.started_at.isoformat() == "2024-06-12T11:59:57+00:00"


def test_heartbeats_are_answered_while_the_domain_is_slow(link: Link) -> None:
    link.domain.gate = threading.Event()
    with logged_in(link) as pile:
        pile.send(record())
        with link.domain.cond:
            assert link.domain.cond.wait_for(lambda: link.domain.entered, DEADLINE)
        pile.heartbeat()
        link.domain.gate.set()
        pile.expect(TransactionRecordAck)


def test_repeated_record_is_handled_and_confirmed_again(link: Link) -> None:
    with logged_in(link) as pile:
        for _ in range(2):
            seq = pile.send(record(stop_reason=0xEE))  # an unknown reason is kept
            frame, ack = pile.expect(TransactionRecordAck)
            assert (frame.seq, ack.serial, ack.result) == (seq, SERIAL, 0)
        second = link.domain.wait_event(SessionStopped, count=2)
        assert second.reason == "0xEE"
        assert second.raw["stop_reason_text"] == "未知停止原因代码0xEE"


# --- connections -------------------------------------------------------------------------------


def test_reconnect_replaces_the_old_connection(link: Link) -> None:
    with logged_in(link) as old:
        link.domain.wait_event(PileConnected)
        with logged_in(link) as new:
            link.domain.wait_event(PileConnected, count=2)
            assert old.closed_by_server()
            link.wait(lambda: link.server.connection_count() == 1)
            kinds = [type(e).__name__ for e in link.domain.of((PileConnected, PileDisconnected))]
            assert kinds == ["PileConnected", "PileDisconnected", "PileConnected"]
            assert link.domain.of(PileDisconnected)[0].reason == "replaced"
            new.heartbeat()
            assert link.registry.is_online(PILE)
        link.domain.wait_event(PileDisconnected, reason="closed")
    assert [e.reason for e in link.domain.of(PileDisconnected)] == ["replaced", "closed"]


def test_closed_socket_is_noticed_at_once(link: Link) -> None:
    pile = Pile(link.port)
    assert pile.login().result == LoginReply.ACCEPTED
    closed_at = time.monotonic()
    pile.close()
    link.domain.wait_event(PileDisconnected, reason="closed")
    assert time.monotonic() - closed_at < 2.0  # read_timeout is 35 s: this was EOF
    link.wait(lambda: not link.registry.is_online(PILE))


def test_silent_pile_times_out() -> None:
    config = YkcConfig(read_timeout=0.5, finish_timeout=1.0)
    with running(config) as link, logged_in(link) as pile:
        pile.heartbeat()
        link.domain.wait_event(PileDisconnected, reason="heartbeat_timeout")
        assert pile.closed_by_server()


def test_shutdown_announces_every_pile() -> None:
    with running() as link:
        pile = Pile(link.port)
        assert pile.login().result == LoginReply.ACCEPTED
    try:
        link.domain.wait_event(PileDisconnected, reason="shutdown")
        assert pile.closed_by_server()
    finally:
        pile.close()


# --- garbage ------------------------------------------------------------------------------------


def _frame_bytes(rng: random.Random) -> bytes:
    """A frame with a valid CRC, a random pile frame type and a random body of the type's
    size: it reaches the adapter, often with our pile code where the layout has one."""
    frame_type = rng.choice([t for t in MESSAGE_TYPES if t % 2] + [0x07, 0x99])
    cls = MESSAGE_TYPES.get(frame_type)
    size = Struct(cls).fixed_size() if cls is not None else None
    if size is None or rng.random() < 0.1:
        size = rng.randrange(0, 200)
    body = bytearray(rng.randbytes(size))
    if cls is not None and rng.random() < 0.7:
        offset = 0
        for name, codec in layout(cls):
            if name == "pile_code":
                body[offset : offset + 7] = bytes.fromhex(rng.choice(FUZZ_PILES))
                break
            offset += codec.fixed_size() or 0
    return RawFrame(seq=rng.randrange(65536), frame_type=frame_type, body=bytes(body)).encode()


def _garbage(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.4:
        return rng.randbytes(rng.randrange(1, 300))
    if roll < 0.55:  # start byte and a length, then junk
        return bytes([0x68, rng.randrange(256)]) + rng.randbytes(rng.randrange(0, 120))
    return _frame_bytes(rng)


def test_random_bytes_leave_the_server_serving(caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(20240612)
    config = YkcConfig(login_timeout=2.0, finish_timeout=2.0, garbage_limit=65536)
    with running(config) as link:
        peers: list[Pile] = [Pile(link.port) for _ in range(4)]
        for code in FUZZ_PILES:
            pile = Pile(link.port, code)
            assert pile.login().result == LoginReply.ACCEPTED
            peers.append(pile)
        try:
            for i in range(1000):
                peer = peers[i % len(peers)]
                with contextlib.suppress(OSError):  # the server may have cut it off
                    peer.sock.sendall(_garbage(rng))
            # a fresh pile logs in and is served
            with logged_in(link, PILE) as fresh:
                fresh.heartbeat()
                fresh.send(record())
                fresh.expect(TransactionRecordAck)
        finally:
            for peer in peers:
                peer.close()
        link.wait(lambda: link.server.connection_count() == 0)
        for code in FUZZ_PILES:
            link.domain.wait_event(PileDisconnected, pile_code=code)
        # frames with a valid CRC reached the adapter and became events
        handled = [
            e for e in link.domain.events if not isinstance(e, PileConnected | PileDisconnected)
        ]
        assert len(handled) > 30
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert crashes == [], [r.getMessage() for r in crashes]


def test_garbage_only_connection_is_closed() -> None:
    with running(YkcConfig(garbage_limit=1024, login_timeout=5.0)) as link:
        with Pile(link.port) as peer:
            with contextlib.suppress(OSError):
                for _ in range(20):
                    peer.sock.sendall(bytes(range(0x69, 0xFF)) * 2)
            assert peer.closed_by_server()
        with logged_in(link, PILE) as pile:
            pile.heartbeat()


def test_record_times_come_with_the_server_time_of_receipt(link: Link) -> None:
    # issue 14: the record's start and end are the pile's clock; the domain checks them
    # against the time the link received the record
    with logged_in(link) as pile:
        before = datetime.now(UTC)
        pile.send(record())
        pile.expect(TransactionRecordAck)
        stopped = link.domain.wait_event(SessionStopped)
        assert stopped.received_at is not None
        assert before <= stopped.received_at <= datetime.now(UTC)
        assert stopped.at.isoformat() == "2024-06-12T12:45:00+00:00"  # the pile's, as sent
