"""The platform side of one YKC v1.6 pile connection, without the socket.

:class:`YkcSession` turns the pile's frames into the domain events of
``app.services.pile_port`` and answers from the :class:`EventReply`; it turns the domain's
commands into frames and matches the pile's replies to them. Frames go out through a
``send(bytes) -> bool`` callable; the server (``pile_link.ykc.server``) owns the socket.

Work is split in two so that a slow domain never stalls the link: :meth:`YkcSession.receive`
runs in the reader and does only cheap things (answer heartbeats, resolve replies to our
commands); whatever needs the domain comes back as a :data:`Job` for the connection's
worker, which runs jobs one at a time in arrival order. Persist before you acknowledge:
a 0x40 for a transaction record, a 0x32 for a card start and a 0x02 for a login are sent
only after ``handle()`` (which commits) has returned. Sections (§) are YKC v1.6's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Final

import gevent
import gevent.event
import gevent.lock

from app.catalogue.models import PileProtocol
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
    PileEventHandler,
    SessionStarted,
    SessionStopped,
)
from pile_link.ykc import codes
from pile_link.ykc.billing import (
    DEFAULT_TARIFF,
    NO_MODEL,
    BillingModel,
    BillingModelError,
    build_billing_model,
    tariff_dict,
)
from pile_link.ykc.fields import PILE_TZ
from pile_link.ykc.frame import Frame
from pile_link.ykc.messages import (
    BillingModelCheck,
    BillingModelCheckReply,
    BillingModelRequest,
    BillingModelSetReply,
    CardStartReply,
    CardStartRequest,
    Heartbeat,
    HeartbeatReply,
    Login,
    LoginReply,
    Message,
    MessageDecodeError,
    MessageEncodeError,
    ParallelCardStartReply,
    ParallelCardStartRequest,
    RealtimeData,
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
    UnknownMessage,
    WorkParamsReply,
    WorkParamsSet,
    decode_message,
    encode_message,
)

log = logging.getLogger(__name__)

Job = Callable[[], None]
SendFrame = Callable[[bytes], bool]

ZERO_SERIAL: Final = "0" * 32
MAX_U32: Final = 0xFFFFFFFF
# §6.3: the gun status of a heartbeat; we record a faulted gun under this code.
GUN_FAULT: Final = "GunFault"
# §7.2 item 18 bit (0 = the spec's Bit1) -> the fault code the domain records. Bit1 is the
# emergency-stop button, recorded under the same code as OCPP's (case #24).
HARDWARE_FAULT_CODES: Final = {
    0: "EmergencyStop",
    1: "NoRectifierModule",
    2: "OutletOverTemperature",
    3: "AcSurgeProtectorFault",
    4: "RectifierCommLost",
    5: "InsulationMonitorCommLost",
    6: "MeterCommLost",
    7: "CardReaderCommLost",
    8: "Rc10CommLost",
    9: "FanBoardFault",
    10: "DcFuseFault",
    11: "HvContactorFault",
    12: "DoorOpen",
}
# The domain's refusal reasons -> §8.2 item 7 (鉴权失败原因). Unknown reasons: 0x01.
AUTH_FAILURE_CODES: Final = {
    "unknown_card": 0x01,
    "unknown_pile": 0x05,
    "blocked": 0x02,
    "frozen": 0x02,
    "insufficient_balance": 0x03,
    "unsettled_order": 0x04,
    "pile_disabled": 0x05,
    "unknown_connector": 0x06,
    "not_allowed_here": 0x06,
    "wrong_password": 0x07,
    "unknown_vin": 0x09,
    "pile_has_unsettled_order": 0x0A,
}
# §8.4 failure 0x05 (未插枪): the pile may still start within 60 s and send a late 0x33.
NOT_PLUGGED: Final = 0x05
LATE_START_WINDOW: Final = 60.0
# how long a remote start's id tag is remembered for a late 0x33 (§8.4)
REMOTE_START_MEMORY: Final = 300.0
_SERIAL_COUNTER: Final = itertools.count(1)
# a 0x13 whose meter sample could not be recorded is tried again (seconds between tries
# grow: 0.5, 1.0); then the frame is given up (the next 0x13 carries the energy so far)
SAMPLE_ATTEMPTS: Final = 3
SAMPLE_RETRY_DELAY: Final = 0.5


def utcnow() -> datetime:
    return datetime.now(UTC)


def hardware_fault_codes(bits: int) -> dict[str, str]:
    """Fault code -> the spec's description, for the bits set in a §7.2 fault word."""
    found: dict[str, str] = {}
    for bit in range(16):
        if bits >> bit & 1:
            code = HARDWARE_FAULT_CODES.get(bit, f"HardwareFaultBit{bit + 1}")
            found[code] = codes.HARDWARE_FAULT_BITS.get(bit, f"未定义故障位Bit{bit + 1}")
    return found


def connector_state(status: int, plugged: int, previous: ConnectorState | None) -> ConnectorState:
    """The shared connector state for a §7.2 gun status (状态) and plug flag (是否插枪).

    ===================  ==========  =====================================================
    状态 (item 4)         是否插枪      state
    ===================  ==========  =====================================================
    0x00 离线              any         unavailable
    0x01 故障              any         faulted
    0x02 空闲              0x00 否      available
    0x02 空闲              0x01 是      finishing after charging/finishing, else preparing
    0x03 充电              any         charging
    other                any         unknown
    ===================  ==========  =====================================================

    YKC has no "finished, gun still in the car" state: an idle, plugged gun that was
    charging is read as finishing (energy transfer over, occupancy running).
    """
    if status == codes.GunStatus.OFFLINE:
        return ConnectorState.UNAVAILABLE
    if status == codes.GunStatus.FAULT:
        return ConnectorState.FAULTED
    if status == codes.GunStatus.CHARGING:
        return ConnectorState.CHARGING
    if status == codes.GunStatus.IDLE:
        if plugged != 0x01:
            return ConnectorState.AVAILABLE
        if previous in (ConnectorState.CHARGING, ConnectorState.FINISHING):
            return ConnectorState.FINISHING
        return ConnectorState.PREPARING
    return ConnectorState.UNKNOWN


def card_text(card_hex: str) -> str:
    """A physical card number as the domain keys it: the 8-byte field without its zero
    padding (§8.1 item 5 "不足8位补0"), but never shorter than a 4-byte UID."""
    text = card_hex.upper()
    while len(text) > 8 and text.startswith("00"):
        text = text[2:]
    return text


def password_form(password: bytes) -> str:
    """The id tag of a password start: ``pwd:`` + the 16-character lowercase MD5 (§8.1
    item 6; see ``messages.password_md5_16``). Piles that send the 16 raw digest bytes
    instead get the same 16 characters (the middle of the hex digest)."""
    try:
        text = password.decode("ascii").lower()
    except UnicodeDecodeError:
        text = ""
    if len(text) != 16 or any(c not in "0123456789abcdef" for c in text):
        text = password.hex()[8:24]
    return f"pwd:{text}"


def start_id_tag(msg: CardStartRequest) -> str:
    """What identifies the driver of a pile-initiated start (§8.1): the VIN for a VIN start,
    the password form when the pile asked for a password, else the card number."""
    if msg.start_mode == 0x03:
        return msg.vin
    if msg.needs_password == 0x01:
        return password_form(msg.password)
    return card_text(msg.card_no)


def is_serial(value: object) -> bool:
    """A YKC transaction serial: 32 decimal digits (§3.3 交易流水号)."""
    return isinstance(value, str) and len(value) == 32 and value.isdigit()


def new_serial(pile_code: str, gun: int, now: datetime, counter: int | None = None) -> str:
    """A serial by the §3.3 rule: pile (7 bytes) + gun (1) + yymmddHHMMSS (6) + sequence (2),
    in the pile's local time."""
    local = now.astimezone(PILE_TZ)
    number = counter if counter is not None else next(_SERIAL_COUNTER) % 10000
    return f"{pile_code:0>14}{gun:02d}{local:%y%m%d%H%M%S}{number:04d}"


def pile_amounts(msg: TransactionRecord) -> PileAmounts:
    """The record's own amounts (§8.7): the total and the amount of each rate period."""
    per_tier = {name: segment.amount_fen for name, segment in msg.segments.items()}
    return PileAmounts(total_fen=msg.total_amount_fen, per_tier_fen=per_tier)


# values dataclasses.asdict would copy as they are (deep copies of immutables are equal)
_FLAT: Final = (str, int, float, bytes, datetime, type(None))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _fields(msg: Message) -> dict[str, Any]:
    """``dataclasses.asdict(msg)``, without its recursive copy when every field is flat
    (0x13 comes several times a minute per charging gun: asdict was 60% of its cost)."""
    cls = type(msg)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(msg))
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(msg, name)
        if not isinstance(value, _FLAT):
            return dataclasses.asdict(msg)
        out[name] = value
    return out


def _raw(frame: Frame, msg: Message, **more: Any) -> dict[str, Any]:
    """What the domain keeps for audit: the decoded fields, the frame type and the body."""
    raw: dict[str, Any] = {"frame_type": f"0x{frame.frame_type:02X}", "seq": frame.seq}
    if dataclasses.is_dataclass(msg):
        raw.update(_fields(msg))
    raw["body"] = frame.body.hex()
    raw.update(more)
    return raw


def _local_to_utc(at: datetime | None) -> datetime | None:
    return at.astimezone(UTC) if at is not None else None


@dataclasses.dataclass(slots=True)
class PileMemory:
    """What the server remembers about one pile across its connections (in this process):
    open faults (so a fault raised before a reconnect is cleared after it), each gun's
    last state, and the tariff last pushed to it."""

    faults: dict[int, set[str]] = dataclasses.field(default_factory=dict)
    states: dict[int, ConnectorState] = dataclasses.field(default_factory=dict)
    tariff: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class SessionOptions:
    # the model a pile gets when the domain has none and nothing was pushed (§6.7)
    default_tariff: dict[str, Any] = dataclasses.field(default_factory=lambda: dict(DEFAULT_TARIFF))
    # §8.2 item 5: the balance shown to a card/password driver when the domain gives none
    card_balance_fallback_fen: int = 0


@dataclasses.dataclass(slots=True)
class _Pending:
    reply_type: int
    key: object  # the gun (0x35), the serial (0x33) or None (pile-wide commands)
    seq: int
    result: gevent.event.AsyncResult
    context: dict[str, Any]


_OFFLINE: Final = object()
_DEFAULT_OPTIONS: Final = SessionOptions()


def _fresh_memory(pile_code: str) -> PileMemory:
    return PileMemory()


class YkcSession:
    """One pile's YKC v1.6 conversation with the platform (see the module docstring)."""

    # one per held connection: slots instead of an instance dict
    __slots__ = (
        "_clock",
        "_closed",
        "_command_locks",
        "_events",
        "_memory_for",
        "_options",
        "_peer",
        "_pending",
        "_remote_starts",
        "_send",
        "_seq",
        "_serials",
        "_told",
        "login",
        "memory",
        "pile_code",
    )

    def __init__(
        self,
        events: PileEventHandler,
        send: SendFrame,
        *,
        peer: str = "",
        options: SessionOptions | None = None,
        memory: Callable[[str], PileMemory] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._events = events
        self._send = send
        self._peer = peer
        self._options = options or _DEFAULT_OPTIONS
        self._memory_for = memory or _fresh_memory
        self._clock = clock
        self.pile_code: str | None = None
        self.login: Login | None = None
        self.memory = PileMemory()
        self._seq = 0
        self._pending: list[_Pending] = []
        self._command_locks: dict[
            tuple[int, object], tuple[gevent.lock.BoundedSemaphore, list[int]]
        ] = {}
        self._closed = False
        # per connection: the state last told to the domain and each gun's current serial
        self._told: dict[int, ConnectorState] = {}
        self._serials: dict[int, str] = {}
        # serial -> (id tag, order no, when): remote starts we sent, for late 0x33s (§8.4)
        self._remote_starts: dict[str, tuple[str | None, str | None, float]] = {}

    # --- plumbing -----------------------------------------------------------------------

    def _extra(self, **fields: Any) -> dict[str, Any]:
        return {"pile_code": self.pile_code, "protocol": "ykc", "peer": self._peer, **fields}

    def now(self) -> datetime:
        return self._clock()

    def emit(self, event: PileEvent) -> EventReply:
        return self._events.handle(event)

    def _reply(self, message: Message, seq: int) -> bool:
        """Send an answer; it reuses the request's sequence number (§3.1)."""
        return self._send(encode_message(message, seq))

    def _next_seq(self) -> int:
        # §3.1: our own numbering starts at 0 on each connection and wraps to 0
        seq = self._seq
        self._seq = (seq + 1) & 0xFFFF
        return seq

    def _gun_ok(self, gun: int) -> bool:
        return 1 <= gun <= 99

    # --- login (§6.1/§6.2), in the reader before anything else --------------------------

    def admit(self, pile_code: str, *, address: str | None, replacing: bool) -> Admission:
        """The registered number and the station's allowed networks (YKC carries no
        secret): one lookup."""
        return self._events.admit(
            pile_code, None, protocol=PileProtocol.YKC, address=address, replacing=replacing
        )

    def refuse_login(self, frame: Frame, msg: Login, why: str) -> None:
        log.warning(
            "login refused",
            extra=self._extra(
                login_pile_code=msg.pile_code, why=why, firmware=msg.firmware_version
            ),
        )
        self._reply(LoginReply(pile_code=msg.pile_code, result=LoginReply.REJECTED), frame.seq)

    def open(self, frame: Frame, msg: Login) -> bool:
        """The pile logged in and holds the registry slot: tell the domain, then answer.

        False when the domain refused (a refusal has been sent) or failed (nothing sent:
        the pile logs in again later).
        """
        self.pile_code = msg.pile_code
        self.login = msg
        self.memory = self._memory_for(msg.pile_code)
        info = {
            "pile_type": codes.PILE_TYPES.get(msg.pile_type, f"0x{msg.pile_type:02X}"),
            "gun_count": msg.gun_count,
            "protocol_version": f"{msg.protocol_version / 10:.1f}",
            "firmware": msg.firmware_version,
            "network": codes.NETWORK_TYPES.get(msg.network_type, f"0x{msg.network_type:02X}"),
            "sim": msg.sim,
            "carrier": codes.CARRIERS.get(msg.carrier, f"0x{msg.carrier:02X}"),
            "peer": self._peer,
        }
        reply = self.emit(PileConnected(msg.pile_code, PileProtocol.YKC, self.now(), info))
        if not reply.accepted:
            self.refuse_login(frame, msg, reply.reason or "refused by the domain")
            return False
        self._reply(LoginReply(pile_code=msg.pile_code, result=LoginReply.ACCEPTED), frame.seq)
        log.info("login accepted", extra=self._extra(**info))
        return True

    def closed(self, reason: str, *, announce: bool) -> None:
        """The transport is gone: fail waiting commands; say so when ``announce`` (False
        for a connection another one has replaced)."""
        self._closed = True
        for pending in list(self._pending):
            pending.result.set(_OFFLINE)
        if announce and self.pile_code is not None:
            self.emit(PileDisconnected(self.pile_code, self.now(), reason))

    # --- frames in ----------------------------------------------------------------------

    def decode(self, frame: Frame) -> Message | None:
        try:
            return decode_message(frame)
        except MessageDecodeError as exc:
            log.warning(
                "undecodable frame",
                extra=self._extra(
                    frame_type=f"0x{frame.frame_type:02X}", error=str(exc), body=frame.body.hex()
                ),
            )
            return None

    def receive(self, frame: Frame) -> Job | None:
        """Take one frame of a logged-in pile; return the work left for the worker."""
        msg = self.decode(frame)
        if msg is None:
            return None
        code = getattr(msg, "pile_code", None)
        if isinstance(code, str) and code != self.pile_code and not isinstance(msg, Login):
            # One pile per connection: the frame is read as the logged-in pile's (its body,
            # kept in raw, says otherwise) so that a record is never lost.
            log.warning(
                "frame names another pile",
                extra=self._extra(frame_pile_code=code, frame_type=f"0x{frame.frame_type:02X}"),
            )
        match msg:
            case Heartbeat():
                return self._on_heartbeat(frame, msg)
            case RemoteStartReply():
                return self._on_remote_start_reply(frame, msg)
            case (
                RemoteStopReply()
                | TimeSyncReply()
                | BillingModelSetReply()
                | RemoteRebootReply()
                | WorkParamsReply()
            ):
                self._resolve(frame, msg)
                return None
            case Login():
                return lambda: self._on_relogin(frame, msg)
            case BillingModelCheck():
                return lambda: self._on_model_check(frame, msg)
            case BillingModelRequest():
                return lambda: self._on_model_request(frame, msg)
            case RealtimeData():
                return lambda: self._on_realtime(frame, msg)
            case CardStartRequest():
                return lambda: self._on_card_start(frame, msg)
            case TransactionRecord():
                return lambda: self._on_record(frame, msg)
            case UnknownMessage():
                log.warning(
                    "unknown frame type",
                    extra=self._extra(
                        frame_type=f"0x{frame.frame_type:02X}", body=frame.body.hex()
                    ),
                )
                return None
        # BMS data (§7.3-§7.10, every 15 s while charging: debug), parking locks (§10),
        # answers we did not ask for and frames a pile should never send: logged only.
        log.log(
            logging.DEBUG if 0x15 <= frame.frame_type <= 0x25 else logging.INFO,
            "frame not handled",
            extra=self._extra(
                frame_type=f"0x{frame.frame_type:02X}", message_type=type(msg).__name__
            ),
        )
        return None

    def run(self, job: Job) -> None:
        """Run a worker job; a failure costs the answer (the pile retries), not the link."""
        try:
            job()
        except Exception:
            log.exception("frame handling failed", extra=self._extra())

    # --- requests -----------------------------------------------------------------------

    def _on_heartbeat(self, frame: Frame, msg: Heartbeat) -> Job | None:
        # §6.4: answered at once, whatever the domain is doing: liveness must not wait
        # for the database.
        self._reply(HeartbeatReply(pile_code=msg.pile_code, gun_no=msg.gun_no), frame.seq)
        known = GUN_FAULT in self.memory.faults.get(msg.gun_no, set())
        if msg.gun_faulted == known:
            return None
        return lambda: self._heartbeat_fault(frame, msg)

    def _heartbeat_fault(self, frame: Frame, msg: Heartbeat) -> None:
        assert self.pile_code is not None
        faults = self.memory.faults.setdefault(msg.gun_no, set())
        at = self.now()
        if msg.gun_faulted and GUN_FAULT not in faults:
            self.emit(
                FaultRaised(
                    self.pile_code, msg.gun_no, GUN_FAULT, at, "心跳枪状态：故障", _raw(frame, msg)
                )
            )
            faults.add(GUN_FAULT)
            log.warning("fault raised", extra=self._extra(gun=msg.gun_no, fault=GUN_FAULT))
        elif not msg.gun_faulted and GUN_FAULT in faults:
            self.emit(FaultCleared(self.pile_code, msg.gun_no, GUN_FAULT, at))
            faults.discard(GUN_FAULT)
            log.info("fault cleared", extra=self._extra(gun=msg.gun_no, fault=GUN_FAULT))

    def _on_relogin(self, frame: Frame, msg: Login) -> None:
        if msg.pile_code != self.pile_code:
            self.refuse_login(frame, msg, "one pile per connection")
            return
        self.open(frame, msg)  # a pile that logs in again has reset: a new PileConnected

    def current_model(self) -> BillingModel:
        """The model this pile should have (§6.6/§6.8): the domain's, else the one pushed
        to it, else the default."""
        assert self.pile_code is not None
        tariff: Any = None
        source = "domain"
        domain = self._events.tariff_for(self.pile_code)
        if domain is not None:
            tariff = tariff_dict(domain)
        if tariff is None:
            tariff, source = self.memory.tariff, "pushed"
        if tariff is None:
            tariff, source = self._options.default_tariff, "default"
        try:
            model = build_billing_model(tariff)
        except BillingModelError as exc:
            log.error("tariff cannot be sent", extra=self._extra(source=source, error=str(exc)))
            raise
        if not model.exact:
            log.warning(
                "tariff boundaries rounded to half hours",
                extra=self._extra(model_no=model.model_no, source=source),
            )
        return model

    def _on_model_check(self, frame: Frame, msg: BillingModelCheck) -> None:
        model = self.current_model()
        current = msg.model_no == model.model_no and msg.model_no != NO_MODEL
        self._reply(
            BillingModelCheckReply(
                pile_code=msg.pile_code,
                model_no=msg.model_no,
                result=BillingModelCheckReply.CURRENT
                if current
                else BillingModelCheckReply.OUTDATED,
            ),
            frame.seq,
        )
        log.info(
            "billing model checked",
            extra=self._extra(pile_model=msg.model_no, model_no=model.model_no, current=current),
        )

    def _on_model_request(self, frame: Frame, msg: BillingModelRequest) -> None:
        # A tariff that cannot be sent raises: no answer, and the pile does not charge
        # (§6.7 "如计费模型请求不成功,则禁止充电") rather than bill at a wrong price.
        model = self.current_model()
        self._reply(model.reply(msg.pile_code), frame.seq)
        log.info("billing model sent", extra=self._extra(model_no=model.model_no))

    def _on_realtime(self, frame: Frame, msg: RealtimeData) -> None:
        assert self.pile_code is not None
        gun = msg.gun_no
        at = self.now()
        serial = msg.session_serial
        if serial is not None:
            self._serials[gun] = serial
        elif msg.status != codes.GunStatus.CHARGING:
            self._serials.pop(gun, None)
        fault_codes = hardware_fault_codes(msg.hardware_faults)
        state = connector_state(msg.status, msg.gun_plugged, self.memory.states.get(gun))
        if self._told.get(gun) != state:
            error = next(iter(fault_codes), GUN_FAULT if state is ConnectorState.FAULTED else None)
            self.emit(
                ConnectorStatusChanged(
                    self.pile_code,
                    gun,
                    state,
                    at,
                    error_code=error,
                    vendor_error=f"0x{msg.hardware_faults:04X}" if msg.hardware_faults else None,
                    raw=_raw(
                        frame,
                        msg,
                        status_text=codes.describe(codes.GUN_STATUS, msg.status),
                        gun_returned_text=codes.describe(codes.GUN_RETURNED, msg.gun_returned),
                    ),
                )
            )
            log.info(
                "connector status",
                extra=self._extra(gun=gun, state=state.value, serial=serial),
            )
            self._told[gun] = state
        self.memory.states[gun] = state
        self._sync_hardware_faults(frame, msg, fault_codes, at)
        if serial is not None or msg.status == codes.GunStatus.CHARGING:
            is_ac = self.login is not None and self.login.is_ac
            self._record_sample(
                MeterSample(
                    self.pile_code,
                    gun,
                    at,
                    serial,
                    # §7.2 item 15: energy since the session began, not a register
                    energy_wh=msg.energy_wh,
                    energy_is_session_relative=True,
                    power_w=msg.power_w,
                    voltage_v=msg.voltage_v,
                    current_a=msg.current_a,
                    # §7.2 item 11: zero on AC piles and when idle
                    soc_percent=None if is_ac or msg.soc == 0 else msg.soc,
                    raw=_raw(frame, msg, amount_fen=msg.amount_fen),
                )
            )

    def _record_sample(self, sample: MeterSample) -> None:
        """Group-committed with the other connections' samples (``GroupCommitEvents``).
        0x13 is never answered, so no pile repeats one whose batch failed: it is tried
        again here, a few times, while the connection lasts (an OCPP pile repeats its
        MeterValues after an error answer)."""
        for attempt in range(1, SAMPLE_ATTEMPTS + 1):
            try:
                self.emit(sample)
                return
            except Exception:
                if attempt == SAMPLE_ATTEMPTS or self._closed:
                    raise
                log.warning(
                    "meter sample not recorded: trying again",
                    extra=self._extra(gun=sample.connector_number, attempt=attempt),
                    exc_info=True,
                )
                gevent.sleep(SAMPLE_RETRY_DELAY * attempt)

    def _sync_hardware_faults(
        self, frame: Frame, msg: RealtimeData, found: dict[str, str], at: datetime
    ) -> None:
        assert self.pile_code is not None
        faults = self.memory.faults.setdefault(msg.gun_no, set())
        hardware = {code for code in faults if code != GUN_FAULT}
        for code in sorted(hardware - found.keys()):
            self.emit(FaultCleared(self.pile_code, msg.gun_no, code, at))
            faults.discard(code)
            log.info("fault cleared", extra=self._extra(gun=msg.gun_no, fault=code))
        for code, description in found.items():
            if code in faults:
                continue
            self.emit(
                FaultRaised(
                    self.pile_code,
                    msg.gun_no,
                    code,
                    at,
                    description,
                    raw=_raw(
                        frame, msg, hardware_faults_text=codes.hardware_faults(msg.hardware_faults)
                    ),
                )
            )
            faults.add(code)
            log.warning("fault raised", extra=self._extra(gun=msg.gun_no, fault=code))

    def _on_card_start(self, frame: Frame, msg: CardStartRequest) -> None:
        """§8.1/§8.2 (刷卡充电, §5.3): authorise, open the session, answer with its serial."""
        assert self.pile_code is not None
        id_tag = start_id_tag(msg)
        gun = msg.gun_no
        raw = _raw(
            frame,
            msg,
            start_mode_text=codes.describe(codes.START_MODES, msg.start_mode),
            password=msg.password.hex(),
        )
        serial: str | None = None
        reason: str | None = None
        if self._gun_ok(gun):
            reply = self.emit(AuthorizeRequested(self.pile_code, id_tag, gun))
        else:
            reply = EventReply(accepted=False, reason="unknown_connector")
        if reply.accepted:
            reply = self.emit(
                SessionStarted(
                    self.pile_code,
                    gun,
                    self.now(),
                    0,  # §7.2: YKC energy counts from the session's start
                    id_tag,
                    # §3.3: the platform names a card session in its 0x32 answer
                    pile_session_ref=new_serial(self.pile_code, gun, self.now()),
                    initiated_by="pile",
                    raw=raw,
                )
            )
            if reply.accepted:
                serial = reply.session_ref
                if not is_serial(serial):
                    log.error(
                        "domain gave no YKC serial: start refused",
                        extra=self._extra(gun=gun, session_ref=serial),
                    )
                    serial, reason = None, "no_serial"
        if not reply.accepted:
            reason = reply.reason
        accepted = serial is not None
        balance = getattr(reply, "balance_fen", None)
        if balance is None:
            balance = self._options.card_balance_fallback_fen
        fail = 0x00 if accepted else AUTH_FAILURE_CODES.get(reason or "", 0x01)
        if not accepted and msg.start_mode == 0x03 and reason == "unknown_card":
            fail = 0x09  # 系统中vin码不存在
        fields: dict[str, Any] = {
            "serial": serial or ZERO_SERIAL,
            "pile_code": msg.pile_code,
            "gun_no": gun,
            "logical_card_no": "0",  # the domain keeps no printed card number
            "balance_fen": max(0, min(int(balance), MAX_U32)),
            "authorized": 0x01 if accepted else 0x00,
            "fail_reason": fail,
        }
        answer: CardStartReply
        if isinstance(msg, ParallelCardStartRequest):
            answer = ParallelCardStartReply(**fields, parallel_no=msg.parallel_no)
        else:
            answer = CardStartReply(**fields)
        self._reply(answer, frame.seq)
        if serial is not None:
            self._serials[gun] = serial
        log.info(
            "card start",
            extra=self._extra(
                gun=gun, id_tag=id_tag, accepted=accepted, serial=serial, reason=reason
            ),
        )

    def _on_record(self, frame: Frame, msg: TransactionRecord) -> None:
        """§8.7/§8.8: record the bill, then (only then) confirm it. Never refused: the
        domain keeps repeats, late and unknown records (refusals make piles drop bills)."""
        assert self.pile_code is not None
        at = _local_to_utc(msg.end_time) or _local_to_utc(msg.trade_time) or self.now()
        event = SessionStopped(
            self.pile_code,
            msg.serial,
            at,
            msg.meter_stop_wh,
            f"0x{msg.stop_reason:02X}",  # §13.1 code, verbatim; the text is in raw
            connector_number=msg.gun_no,
            started_at=_local_to_utc(msg.start_time),
            meter_start_wh=msg.meter_start_wh,
            energy_wh=msg.energy_wh,
            pile_amounts=pile_amounts(msg),
            received_at=self.now(),  # the record's times are the pile's clock: checked
            raw=_raw(
                frame,
                msg,
                stop_reason_text=msg.stop_reason_text,
                stop_reason_category=msg.stop_reason_category,
                stop_reason_normal=codes.stop_reason_is_normal(msg.stop_reason),
                trade_type_text=codes.describe(codes.TRADE_TYPES, msg.trade_type),
                card=card_text(msg.physical_card_no),
            ),
        )
        self.emit(event)  # commits before it returns (persist before you acknowledge)
        self._reply(TransactionRecordAck(serial=msg.serial), frame.seq)
        if self._serials.get(msg.gun_no) == msg.serial:
            del self._serials[msg.gun_no]
        log.info(
            "transaction record confirmed",
            extra=self._extra(
                gun=msg.gun_no,
                serial=msg.serial,
                energy_wh=msg.energy_wh,
                stop_reason=event.reason,
                amount_fen=msg.total_amount_fen,
            ),
        )

    # --- replies to our commands --------------------------------------------------------

    def _resolve(self, frame: Frame, msg: Message) -> bool:
        """Hand a reply to the command waiting for it: same type and key, the same
        sequence number preferred (§3.1; not every pile echoes it)."""
        key: object = None
        if isinstance(msg, RemoteStartReply):
            key = msg.serial
        elif isinstance(msg, RemoteStopReply):
            key = msg.gun_no
        candidates = [p for p in self._pending if p.reply_type == msg.FRAME_TYPE and p.key == key]
        if not candidates:
            log.info(
                "reply without a command",
                extra=self._extra(frame_type=f"0x{frame.frame_type:02X}", seq=frame.seq),
            )
            return False
        chosen = next((p for p in candidates if p.seq == frame.seq), candidates[0])
        if chosen.seq != frame.seq:
            log.info(
                "reply with another sequence number",
                extra=self._extra(frame_type=f"0x{frame.frame_type:02X}", seq=frame.seq),
            )
        chosen.result.set(msg)
        return True

    def _on_remote_start_reply(self, frame: Frame, msg: RemoteStartReply) -> Job | None:
        self._resolve(frame, msg)
        if not msg.started:
            return None
        # §8.4: a success, answered in time or late (after a 0x05 未插枪 failure): the
        # session runs under the serial we chose.
        return lambda: self._remote_started(frame, msg)

    def _remote_started(self, frame: Frame, msg: RemoteStartReply) -> None:
        assert self.pile_code is not None
        id_tag, order_no, _ = self._remote_starts.get(msg.serial, (None, None, 0.0))
        self._serials[msg.gun_no] = msg.serial
        self.emit(
            SessionStarted(
                self.pile_code,
                msg.gun_no,
                self.now(),
                0,
                id_tag,
                pile_session_ref=msg.serial,
                initiated_by="remote",
                raw=_raw(frame, msg, order_no=order_no),
            )
        )
        log.info(
            "remote session started",
            extra=self._extra(gun=msg.gun_no, serial=msg.serial, order_no=order_no),
        )

    # --- commands -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _one_at_a_time(self, reply_type: int, key: object, timeout: float) -> Iterator[bool]:
        """One outstanding command per (reply type, key), so that a reply always finds
        its command; the lock is dropped when nobody uses it (keys include serials)."""
        slot = (reply_type, key)
        lock, users = self._command_locks.setdefault(slot, (gevent.lock.BoundedSemaphore(1), [0]))
        users[0] += 1
        acquired = False
        try:
            acquired = bool(lock.acquire(timeout=timeout))
            yield acquired
        finally:
            if acquired:
                lock.release()
            users[0] -= 1
            if users[0] == 0:
                self._command_locks.pop(slot, None)

    def command(
        self,
        message: Message,
        reply_type: int,
        *,
        key: object = None,
        timeout: float,
        context: dict[str, Any] | None = None,
    ) -> Message | CommandResult:
        """Send ``message`` with a fresh sequence number and wait for its reply.

        Returns the reply, or the CommandResult that ends the command (offline, timed out,
        not encodable).
        """
        if self._closed or self.pile_code is None:
            return CommandResult(CommandOutcome.PILE_OFFLINE)
        deadline = time.monotonic() + timeout
        with self._one_at_a_time(reply_type, key, timeout) as acquired:
            if not acquired:
                return CommandResult(CommandOutcome.TIMED_OUT, "another command is still waiting")
            seq = self._next_seq()
            try:
                data = encode_message(message, seq)
            except MessageEncodeError as exc:
                log.error("invalid command", extra=self._extra(error=str(exc)))
                return CommandResult(CommandOutcome.REJECTED, f"invalid request: {exc}")
            pending = _Pending(reply_type, key, seq, gevent.event.AsyncResult(), context or {})
            self._pending.append(pending)
            try:
                if self._closed or not self._send(data):
                    return CommandResult(CommandOutcome.PILE_OFFLINE)
                try:
                    answer = pending.result.get(timeout=max(0.0, deadline - time.monotonic()))
                except gevent.Timeout:
                    log.warning(
                        "command timed out",
                        extra=self._extra(command=type(message).__name__, seq=seq),
                    )
                    return CommandResult(CommandOutcome.TIMED_OUT)
            finally:
                self._pending.remove(pending)
        if answer is _OFFLINE:
            return CommandResult(CommandOutcome.PILE_OFFLINE)
        assert isinstance(answer, Message)
        return answer

    def remote_start(
        self,
        connector_number: int,
        id_tag: str,
        *,
        order_no: str,
        balance_fen: int | None = None,
        session_ref: str | None = None,
        timeout: float = 10.0,
        **_: Any,
    ) -> CommandResult:
        """§8.3/§8.4 (app充电流程, §5.2): 0x34 with the domain's serial, answered by 0x33."""
        if not self._gun_ok(connector_number):
            return CommandResult(CommandOutcome.REJECTED, f"no gun {connector_number}")
        if session_ref is None:
            # The domain chooses the serial (§3.3); a caller that passes none gets one by
            # the same rule, returned in ``data["serial"]``, and a warning.
            session_ref = new_serial(self.pile_code or "0", connector_number, self.now())
            log.warning(
                "remote start without a serial: one generated",
                extra=self._extra(gun=connector_number, serial=session_ref, order_no=order_no),
            )
        if not is_serial(session_ref):
            return CommandResult(
                CommandOutcome.REJECTED, f"{session_ref!r} is not a 32-digit YKC serial"
            )
        assert self.pile_code is not None or self._closed
        self._forget_old_remote_starts()
        self._remote_starts[session_ref] = (id_tag, order_no, time.monotonic())
        message = RemoteStart(
            serial=session_ref,
            pile_code=self.pile_code or "0",
            gun_no=connector_number,
            # the domain has no card for an app start: zeros (§8.3 items 4-5 "不足补零")
            logical_card_no="0",
            physical_card_no="0",
            balance_fen=max(0, min(balance_fen or 0, MAX_U32)),
        )
        answer = self.command(
            message, RemoteStartReply.FRAME_TYPE, key=session_ref, timeout=timeout
        )
        extra = self._extra(gun=connector_number, serial=session_ref, order_no=order_no)
        if isinstance(answer, CommandResult):
            log.info("remote start", extra={**extra, "outcome": answer.outcome.value})
            return answer
        assert isinstance(answer, RemoteStartReply)
        if answer.started:
            log.info("remote start", extra={**extra, "outcome": "accepted"})
            return CommandResult(CommandOutcome.ACCEPTED, data={"serial": session_ref})
        text = codes.describe(codes.REMOTE_START_FAILURE_REASONS, answer.fail_reason)
        data: dict[str, Any] = {"serial": session_ref, "fail_reason": answer.fail_reason}
        if answer.fail_reason == NOT_PLUGGED:
            data["late_start_window_s"] = LATE_START_WINDOW
        log.info("remote start", extra={**extra, "outcome": "rejected", "reason": text})
        return CommandResult(CommandOutcome.REJECTED, text, data)

    def remote_stop(
        self, connector_number: int, session_ref: str, *, timeout: float = 10.0, **_: Any
    ) -> CommandResult:
        """§8.5/§8.6: 0x36 names only the gun, so a stop for another serial than the one
        the gun reports is refused here rather than stopping someone else's charge."""
        if not self._gun_ok(connector_number):
            return CommandResult(CommandOutcome.REJECTED, f"no gun {connector_number}")
        running = self._serials.get(connector_number)
        if running is not None and session_ref and running != session_ref:
            log.warning(
                "remote stop for another session refused",
                extra=self._extra(gun=connector_number, serial=session_ref, running=running),
            )
            return CommandResult(
                CommandOutcome.REJECTED,
                "the gun is charging another session",
                {"running_serial": running},
            )
        answer = self.command(
            RemoteStop(pile_code=self.pile_code or "0", gun_no=connector_number),
            RemoteStopReply.FRAME_TYPE,
            key=connector_number,
            timeout=timeout,
        )
        extra = self._extra(gun=connector_number, serial=session_ref)
        if isinstance(answer, CommandResult):
            log.info("remote stop", extra={**extra, "outcome": answer.outcome.value})
            return answer
        assert isinstance(answer, RemoteStopReply)
        if answer.stopped:
            log.info("remote stop", extra={**extra, "outcome": "accepted"})
            return CommandResult(CommandOutcome.ACCEPTED)
        text = codes.describe(codes.REMOTE_STOP_FAILURE_REASONS, answer.fail_reason)
        log.info("remote stop", extra={**extra, "outcome": "rejected", "reason": text})
        return CommandResult(CommandOutcome.REJECTED, text, {"fail_reason": answer.fail_reason})

    def _result_flag(self, answer: Message | CommandResult, what: str) -> CommandResult:
        """For replies whose ``result`` is 0x01 success / 0x00 failure (§9.2, §9.6, §11.2)."""
        if isinstance(answer, CommandResult):
            outcome = answer
        elif getattr(answer, "result", None) == 0x01:
            outcome = CommandResult(CommandOutcome.ACCEPTED)
        else:
            outcome = CommandResult(CommandOutcome.REJECTED, "the pile answered failure")
        log.info(what, extra=self._extra(outcome=outcome.outcome.value))
        return outcome

    def reset(self, *, hard: bool = False, timeout: float = 10.0, **_: Any) -> CommandResult:
        """§11.1/§11.2: a hard reset reboots at once (0x01), a soft one when idle (0x02)."""
        mode = RemoteReboot.NOW if hard else RemoteReboot.WHEN_IDLE
        answer = self.command(
            RemoteReboot(pile_code=self.pile_code or "0", mode=mode),
            RemoteRebootReply.FRAME_TYPE,
            timeout=timeout,
        )
        return self._result_flag(answer, "remote reboot")

    def change_availability(
        self, connector_number: int, available: bool, *, timeout: float = 10.0, **_: Any
    ) -> CommandResult:
        """§9.1/§9.2: 0x52 locks or unlocks the whole pile; one gun alone cannot be."""
        guns = self.login.gun_count if self.login is not None else 0
        if connector_number != 0 and not (connector_number == 1 and guns <= 1):
            return CommandResult(
                CommandOutcome.NOT_SUPPORTED, "YKC sets availability for the whole pile only"
            )
        answer = self.command(
            WorkParamsSet(
                pile_code=self.pile_code or "0",
                locked=0x00 if available else 0x01,
                max_power_percent=100,
            ),
            WorkParamsReply.FRAME_TYPE,
            timeout=timeout,
        )
        return self._result_flag(answer, "change availability")

    def push_tariff(
        self, tariff: dict[str, Any], *, timeout: float = 10.0, **_: Any
    ) -> CommandResult:
        """§9.5/§9.6: 0x58 with the model; remembered for the pile's next 0x09 too."""
        try:
            model = build_billing_model(tariff)
        except BillingModelError as exc:
            return CommandResult(CommandOutcome.REJECTED, f"invalid tariff: {exc}")
        answer = self.command(
            model.set_command(self.pile_code or "0"),
            BillingModelSetReply.FRAME_TYPE,
            timeout=timeout,
        )
        result = self._result_flag(answer, "push tariff")
        if result.ok:
            self.memory.tariff = dict(tariff)
            return CommandResult(CommandOutcome.ACCEPTED, data={"model_no": model.model_no})
        return result

    def sync_time(self, *, timeout: float = 10.0, **_: Any) -> CommandResult:
        """§9.3/§9.4: 0x56 with the platform's time; 0x55 echoes the pile's clock."""
        answer = self.command(
            TimeSync(pile_code=self.pile_code or "0", time=self.now()),
            TimeSyncReply.FRAME_TYPE,
            timeout=timeout,
        )
        if isinstance(answer, CommandResult):
            log.info("time sync", extra=self._extra(outcome=answer.outcome.value))
            return answer
        assert isinstance(answer, TimeSyncReply)
        pile_time = answer.time.isoformat() if answer.time is not None else None
        log.info("time sync", extra=self._extra(outcome="accepted", pile_time=pile_time))
        return CommandResult(CommandOutcome.ACCEPTED, data={"pile_time": pile_time})

    def _forget_old_remote_starts(self) -> None:
        horizon = time.monotonic() - REMOTE_START_MEMORY
        for serial, (_, _, sent) in list(self._remote_starts.items()):
            if sent < horizon:
                del self._remote_starts[serial]
