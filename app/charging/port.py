"""The boundary between the domain and the pile link: this module is the whole contract.

The pile link turns each protocol's wire messages into the events below and hands them to
a :class:`PileEventHandler` (:class:`app.charging.pile_events.PileEventService`). Services
send commands to piles through a :class:`PileCommandPort` that the pile link implements
(directly in one process, over Redis across processes). Protocol words stay on the other
side: a pile's session reference is an opaque string the adapter minted or parsed, amounts
and tariffs cross as typed values. Nothing in ``app/`` imports ``pile_link``."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable


class ConnectorState(enum.StrEnum):
    """Connector states every protocol is mapped onto."""

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
    # when the pile link received it, if ``at`` is the pile's own clock: the domain
    # checks the one against the other (app/charging/pile_clock.py); None: ``at`` is ours
    received_at: datetime | None = None


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
    # the session's reference when the adapter has one (named in the start command or by
    # the pile); otherwise the handler's answer gives the number the platform chose
    pile_session_ref: str | None = None
    initiated_by: str = "pile"  # "pile" (card/password) or "remote"
    raw: dict[str, Any] = field(default_factory=dict)
    # when the pile link received it, if ``at`` is the pile's own clock: the domain
    # checks the one against the other (app/charging/pile_clock.py); None: ``at`` is ours
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MeterSample:
    pile_code: str
    connector_number: int
    at: datetime
    session_ref: str | None  # as the adapter parsed it from the wire
    # a register reading, or the energy so far when energy_is_session_relative
    energy_wh: int | None = None
    energy_is_session_relative: bool = False
    power_w: int | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    soc_percent: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # when the pile link received it, if ``at`` is the pile's own clock: the domain
    # checks the one against the other (app/charging/pile_clock.py); None: ``at`` is ours
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PileAmounts:
    """What a pile that prices sessions itself says one cost, integer fen: kept beside our
    bill and compared with it, never charged."""

    total_fen: int | None = None
    electricity_fen: int | None = None
    service_fen: int | None = None
    per_tier_fen: Mapping[str, int] = field(default_factory=dict)  # "peak" -> fen, ...

    def as_json(self) -> dict[str, Any]:
        return {
            "total_fen": self.total_fen,
            "electricity_fen": self.electricity_fen,
            "service_fen": self.service_fen,
            "per_tier_fen": dict(self.per_tier_fen),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PileAmounts | None:
        if not data:
            return None

        def fen(value: Any) -> int | None:
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        tiers = data.get("per_tier_fen") or {}
        return cls(
            total_fen=fen(data.get("total_fen")),
            electricity_fen=fen(data.get("electricity_fen")),
            service_fen=fen(data.get("service_fen")),
            per_tier_fen={str(k): v for k, v in tiers.items() if fen(v) is not None},
        )


@dataclass(frozen=True, slots=True)
class SessionStopped:
    """End-of-charge evidence: the pile's stop or transaction record."""

    pile_code: str
    session_ref: str
    at: datetime
    meter_stop_wh: int | None
    reason: str  # kept verbatim, unknown reasons included
    connector_number: int | None = None
    started_at: datetime | None = None
    meter_start_wh: int | None = None
    energy_wh: int | None = None
    pile_amounts: PileAmounts | None = None  # piles that price sessions themselves
    raw: dict[str, Any] = field(default_factory=dict)
    # readings the pile sent that could not be read as numbers ("meter_stop", ...): the
    # record is still accepted, the order held for review
    unreadable: tuple[str, ...] = ()
    # when the pile link received it, if ``at`` is the pile's own clock: the domain
    # checks the one against the other (app/charging/pile_clock.py); None: ``at`` is ours
    received_at: datetime | None = None


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

    ``accepted`` answers a connect, an authorisation and a session start; ``session_ref``
    is the session's reference: the pile's own, or, for a pile that brought none, the
    number the platform gave the session (the order's id, as text). The handler commits
    before it returns: the adapter acknowledges only after that.
    """

    accepted: bool = True
    session_ref: str | None = None
    reason: str | None = None
    # the driver's balance, for piles that show or enforce it
    balance_fen: int | None = None
    # a refused start: the code and Chinese message the app gives for the same rule
    # (case #2), for piles with a screen, the logs and the kept record
    refusal_code: str | None = None
    refusal_message: str | None = None


class Admission(enum.StrEnum):
    """May this pile open a connection (the WebSocket upgrade, the YKC login)?"""

    ADMITTED = "admitted"
    UNKNOWN_PILE = "unknown_pile"
    WRONG_PASSWORD = "wrong_password"  # wrong, for a pile that has one
    PASSWORD_REQUIRED = "password_required"  # none sent, or the pile has none and one is due
    NETWORK_NOT_ALLOWED = "network_not_allowed"  # outside its station's allowed networks
    # a live connection of the pile exists and this one proved nothing: an impostor with
    # a known pile code must not take a real pile's place
    REPLACEMENT_REFUSED = "replacement_refused"


@dataclass(frozen=True, slots=True)
class TariffPeriod:
    """One time-of-use period of a day: minutes of the station's local day, end exclusive
    (1440 = 24:00), prices in yuan per kWh."""

    start_minute: int
    end_minute: int
    tier: str  # sharp | peak | flat | valley
    electricity_price: Decimal
    service_price: Decimal


@dataclass(frozen=True, slots=True)
class PileTariff:
    """The station's current tariff for piles that price sessions themselves; ``model_id``
    changes whenever the prices do (it is the tariff version's id)."""

    model_id: int
    periods: tuple[TariffPeriod, ...]


class PileEventHandler(Protocol):
    def is_registered(self, pile_code: str) -> bool: ...

    def admit(
        self,
        pile_code: str,
        password: str | None,
        *,
        protocol: str,
        address: str | None = None,
        replacing: bool = False,
    ) -> Admission:
        """One lookup per connection: ``address`` the source IP, ``replacing`` whether a
        connection of this pile is live in this process."""
        ...

    def tariff_for(self, pile_code: str) -> PileTariff | None: ...

    def handle(self, event: PileEvent) -> EventReply: ...


class MeterBatchHandler(Protocol):
    """Records many meter samples at once (group commit). Returns one outcome per event,
    in order: the reply, or the exception that event's recording raised (the others are
    recorded all the same). Every reply is committed before this returns."""

    def handle_meter_samples(self, events: list[MeterSample]) -> list[EventReply | Exception]: ...


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    """One connection asking to be admitted (``PileEventHandler.admit``'s arguments)."""

    pile_code: str
    password: str | None
    protocol: str
    address: str | None = None
    replacing: bool = False


@runtime_checkable
class AdmissionBatchHandler(Protocol):
    """Admits many connections at once (a reconnect storm), with the rules of one: one
    outcome per request, in order; refusals recorded as ``admit`` records them."""

    def handle_admissions(
        self, requests: list[AdmissionRequest]
    ) -> list[Admission | Exception]: ...


@runtime_checkable
class ConnectionBatchHandler(Protocol):
    """Records many ``PileConnected`` at once (a reconnect storm), with the rules of one:
    one outcome per event, in order, every reply committed before this returns."""

    def handle_connections(self, events: list[PileConnected]) -> list[EventReply | Exception]: ...


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
    def new_session_ref(self, pile_code: str, protocol: str, connector_number: int) -> str | None:
        """A reference for a session the platform is about to start, for protocols where
        the platform names the session in the start command; None where the pile numbers
        it on its start (the platform then gives it the order's id). Minted by the adapter
        of ``protocol``, without asking the pile."""
        ...

    def remote_start(
        self,
        pile_code: str,
        connector_number: int,
        id_tag: str,
        *,
        order_no: str,
        balance_fen: int | None = None,
        # from new_session_ref, when the protocol names the session in the start command
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
        self, pile_code: str, tariff: PileTariff, *, timeout: float = 10.0
    ) -> CommandResult: ...

    def sync_time(self, pile_code: str, *, timeout: float = 10.0) -> CommandResult: ...

    def unlock_connector(
        self, pile_code: str, connector_number: int, *, timeout: float = 10.0
    ) -> CommandResult:
        """Release a gun stuck in its socket (no session needed)."""
        ...

    def is_online(self, pile_code: str) -> bool: ...
