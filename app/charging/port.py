"""The boundary between the domain and the pile link.

Protocol adapters (``pile_link.ocpp16``, ``pile_link.ykc``) turn wire messages into the
events below and hand them to a :class:`PileEventHandler` that ``app.services`` implements.
Services send commands to piles through a :class:`PileCommandPort` that ``pile_link``
implements (directly in one process, over Redis across processes). Nothing in ``app/``
imports ``pile_link``: this module is the whole contract."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class PileProtocol(enum.StrEnum):
    OCPP16 = "ocpp16"
    YKC = "ykc"


class ConnectorState(enum.StrEnum):
    """Connector states shared by both protocols (OCPP names, YKC mapped onto them)."""

    AVAILABLE = "available"  # idle, gun in holster
    PREPARING = "preparing"  # gun plugged, not charging
    CHARGING = "charging"
    SUSPENDED = "suspended"  # plugged, energy transfer paused by car or pile
    FINISHING = "finishing"  # energy transfer over, gun still plugged
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    FAULTED = "faulted"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PileConnected:
    pile_code: str
    protocol: str
    at: datetime
    # vendor, model, firmware, serial as the pile reported them; a boot/login after a
    # reboot arrives as a new PileConnected: it never ends an order by itself (case #25).
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PileDisconnected:
    pile_code: str
    at: datetime
    reason: str  # "closed", "heartbeat_timeout", "replaced", "shutdown", "protocol_error"


@dataclass(frozen=True, slots=True)
class ConnectorStatusChanged:
    pile_code: str
    connector_number: int
    state: ConnectorState
    at: datetime
    error_code: str | None = None  # None or "NoError" means no fault
    vendor_error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuthorizeRequested:
    """A pile asks whether a card / password (id tag) may charge."""

    pile_code: str
    id_tag: str
    connector_number: int | None = None


@dataclass(frozen=True, slots=True)
class SessionStarted:
    pile_code: str
    connector_number: int
    at: datetime
    meter_start_wh: int
    id_tag: str | None  # card / password / order reference the pile used
    # the pile's own session reference when it has one (YKC transaction serial); OCPP
    # piles get their transaction id from the handler's answer.
    pile_session_ref: str | None = None
    initiated_by: str = "pile"  # "pile" (card/password) or "remote"
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MeterSample:
    pile_code: str
    connector_number: int
    at: datetime
    session_ref: str | None  # OCPP transaction id or YKC serial, as text
    energy_wh: int | None = None  # register reading (OCPP) or energy so far (YKC)
    energy_is_session_relative: bool = False
    power_w: int | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    soc_percent: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionStopped:
    """End-of-charge evidence: OCPP StopTransaction, YKC transaction record."""

    pile_code: str
    session_ref: str
    at: datetime
    meter_stop_wh: int | None
    reason: str  # kept verbatim, unknown reasons included
    connector_number: int | None = None
    started_at: datetime | None = None
    meter_start_wh: int | None = None
    energy_wh: int | None = None
    # amounts the pile computed itself (YKC records carry them), integer fen
    pile_amounts: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FaultRaised:
    pile_code: str
    connector_number: int | None
    code: str  # e.g. "EmergencyStop", vendor or protocol code
    at: datetime
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FaultCleared:
    pile_code: str
    connector_number: int | None
    code: str
    at: datetime


PileEvent = (
    PileConnected
    | PileDisconnected
    | ConnectorStatusChanged
    | AuthorizeRequested
    | SessionStarted
    | MeterSample
    | SessionStopped
    | FaultRaised
    | FaultCleared
)


@dataclass(frozen=True, slots=True)
class EventReply:
    """What the domain answers to an event that the pile waits on.

    ``accepted`` answers BootNotification/login, Authorize and StartTransaction;
    ``session_ref`` is the transaction id given to an OCPP pile on StartTransaction.
    The handler commits before it returns: the adapter acknowledges only after that.
    """

    accepted: bool = True
    session_ref: str | None = None
    reason: str | None = None
    # the driver's balance, for piles that show or enforce it (YKC 0x32)
    balance_fen: int | None = None


class Admission(enum.StrEnum):
    """May this pile open a connection (the WebSocket upgrade)?"""

    ADMITTED = "admitted"
    UNKNOWN_PILE = "unknown_pile"
    WRONG_PASSWORD = "wrong_password"  # wrong or missing, for a pile that has one


class PileEventHandler(Protocol):
    def is_registered(self, pile_code: str) -> bool: ...

    def admit(self, pile_code: str, password: str | None) -> Admission: ...

    def check_password(self, pile_code: str, password: str | None) -> bool: ...

    def handle(self, event: PileEvent) -> EventReply: ...


class MeterBatchHandler(Protocol):
    """Records many meter samples at once (group commit). Returns one outcome per event,
    in order: the reply, or the exception that event's recording raised (the others are
    recorded all the same). Every reply is committed before this returns."""

    def handle_meter_samples(self, events: list[MeterSample]) -> list[EventReply | Exception]: ...


class CommandOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PILE_OFFLINE = "pile_offline"
    TIMED_OUT = "timed_out"
    NOT_SUPPORTED = "not_supported"


@dataclass(frozen=True, slots=True)
class CommandResult:
    outcome: CommandOutcome
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome is CommandOutcome.ACCEPTED


class PileCommandPort(Protocol):
    def remote_start(
        self,
        pile_code: str,
        connector_number: int,
        id_tag: str,
        *,
        order_no: str,
        balance_fen: int | None = None,
        # the session reference the domain chose when the protocol lets the platform
        # choose it (YKC: the 16-byte BCD transaction serial); None for OCPP
        session_ref: str | None = None,
        timeout: float = 10.0,
    ) -> CommandResult: ...

    def remote_stop(
        self, pile_code: str, connector_number: int, session_ref: str, *, timeout: float = 10.0
    ) -> CommandResult: ...

    def reset(
        self, pile_code: str, *, hard: bool = False, timeout: float = 10.0
    ) -> CommandResult: ...

    def change_availability(
        self, pile_code: str, connector_number: int, available: bool, *, timeout: float = 10.0
    ) -> CommandResult: ...

    def push_tariff(
        self, pile_code: str, tariff: dict[str, Any], *, timeout: float = 10.0
    ) -> CommandResult: ...

    def sync_time(self, pile_code: str, *, timeout: float = 10.0) -> CommandResult: ...

    def is_online(self, pile_code: str) -> bool: ...
