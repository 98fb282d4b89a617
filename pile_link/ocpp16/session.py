"""The central-system side of one OCPP 1.6 pile connection, without the socket.

:class:`OcppSession` turns the pile's requests into the domain events of
``app.services.pile_port`` and answers from the :class:`EventReply`; it turns the domain's
commands into CALLs and correlates the pile's answers by unique id. Frames go out through a
``send`` callable, so the same object runs behind the WebSocket server and in unit tests
with an in-memory fake handler. Blocking waits use gevent primitives.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final, TypeVar

import gevent.event
import gevent.lock

from app.catalogue.models import PileProtocol
from app.charging.port import (
    AuthorizeRequested,
    CommandOutcome,
    CommandResult,
    ConnectorState,
    ConnectorStatusChanged,
    EventReply,
    FaultCleared,
    FaultRaised,
    MeterSample,
    PileConnected,
    PileDisconnected,
    PileEvent,
    PileEventHandler,
    SessionStarted,
    SessionStopped,
)
from pile_link.ocpp16 import codec
from pile_link.ocpp16.codec import Call, CallError, CallResult, OcppError

log = logging.getLogger(__name__)

T = TypeVar("T")
Payload = dict[str, Any]
SendFrame = Callable[[str], bool]

_STATES: Final = {
    "Available": ConnectorState.AVAILABLE,
    "Preparing": ConnectorState.PREPARING,
    "Charging": ConnectorState.CHARGING,
    "SuspendedEVSE": ConnectorState.SUSPENDED,
    "SuspendedEV": ConnectorState.SUSPENDED,
    "Finishing": ConnectorState.FINISHING,
    "Reserved": ConnectorState.RESERVED,
    "Unavailable": ConnectorState.UNAVAILABLE,
    "Faulted": ConnectorState.FAULTED,
}
NO_ERROR: Final = "NoError"
EMERGENCY_STOP: Final = "EmergencyStop"
# Vendors report the emergency-stop button in vendorErrorCode or info, in many spellings
# (case #24: operators want every press recorded).
_EMERGENCY_RE: Final = re.compile(r"emergency|e[-_ ]?stop|急停", re.IGNORECASE)
_AUTH_STATUSES: Final = frozenset({"Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"})
# Booting piles that were rejected retry after this many seconds.
REJECTED_RETRY_INTERVAL: Final = 300
# A remote start is matched to the StartTransaction that follows it within this window.
REMOTE_START_WINDOW: Final = 300.0
_BOOT_INFO_FIELDS: Final = {
    "chargePointVendor": "vendor",
    "chargePointModel": "model",
    "firmwareVersion": "firmware",
    "chargePointSerialNumber": "serial",
    "chargeBoxSerialNumber": "charge_box_serial",
    "iccid": "iccid",
    "imsi": "imsi",
    "meterType": "meter_type",
    "meterSerialNumber": "meter_serial",
}
_ACK_ONLY: Final = frozenset(
    {
        "FirmwareStatusNotification",
        "DiagnosticsStatusNotification",
        "LogStatusNotification",
        "SecurityEventNotification",
        "SignedFirmwareStatusNotification",
    }
)

# action -> the OcppSession method that answers it: one table for every session (a dict of
# bound methods per session cost 1.3 KiB of each held connection)
_ROUTES: Final[dict[str, str]] = {
    "BootNotification": "_boot",
    "Heartbeat": "_heartbeat",
    "StatusNotification": "_status",
    "Authorize": "_authorize",
    "StartTransaction": "_start",
    "MeterValues": "_meter_values",
    "StopTransaction": "_stop",
    "DataTransfer": "_data_transfer",
    **{action: "_ack" for action in _ACK_ONLY},
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime | None:
    """An OCPP timestamp as an aware UTC datetime; naive times are taken as UTC."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def to_decimal(value: Any) -> Decimal | None:
    """A finite number from an int, a float or a numeric string ("1234.5"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float | str):
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            return None
        return number if number.is_finite() else None
    return None


def round_int(value: Decimal) -> int:
    # to_integral_value, not quantize: quantize fails beyond 28 digits (a meterStop of
    # 1e30 answered InternalError, and the pile retried it forever); the domain decides
    # what a reading no meter can show means
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def energy_wh(value: Any, unit: Any = "Wh") -> int | None:
    """A meter reading in integer Wh; kWh readings are converted (DESIGN: energy is Wh)."""
    number = to_decimal(value)
    if number is None:
        return None
    if isinstance(unit, str) and unit.lower() == "kwh":
        number *= 1000
    return round_int(number)


def _reference(value: Any) -> str | None:
    """An OCPP transaction id as the domain's text reference ("17", also from "17.0")."""
    number = to_decimal(value)
    if number is not None and number == number.to_integral_value():
        return str(int(number))
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


@dataclass(slots=True)
class Readings:
    """What one meterValue entry says, in the domain's units."""

    energy_wh: int | None = None
    power_w: int | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    soc_percent: int | None = None
    context: str | None = None


def read_sampled_values(samples: Any) -> Readings:
    """Extract the measurands the domain uses from a ``sampledValue`` list.

    An unphased value wins; otherwise power is summed over the phases and voltage and
    current are taken from the first phase reported. Values that are not numbers are
    skipped (the raw payload keeps them).
    """
    out = Readings()
    if not isinstance(samples, list):
        return out
    phased_power: list[Decimal] = []
    for sample in samples:
        if not isinstance(sample, dict):
            continue
        # OCPP 1.6 SampledValue: a missing measurand means Energy.Active.Import.Register.
        measurand = sample.get("measurand", "Energy.Active.Import.Register")
        unit = sample.get("unit")
        phase = sample.get("phase")
        number = to_decimal(sample.get("value"))
        if out.context is None and isinstance(sample.get("context"), str):
            out.context = sample["context"]
        if number is None:
            continue
        if measurand == "Energy.Active.Import.Register":
            if out.energy_wh is None or phase is None:
                out.energy_wh = energy_wh(number, unit or "Wh")
        elif measurand == "Power.Active.Import":
            watts = number * 1000 if isinstance(unit, str) and unit.lower() == "kw" else number
            if phase is None:
                out.power_w = round_int(watts)
            else:
                phased_power.append(watts)
        elif measurand == "Voltage":
            if out.voltage_v is None or phase is None:
                out.voltage_v = float(number)
        elif measurand == "Current.Import":
            if out.current_a is None or phase is None:
                out.current_a = float(number)
        elif measurand == "SoC" and (out.soc_percent is None or phase is None):
            out.soc_percent = round_int(number)
    if out.power_w is None and phased_power:
        out.power_w = round_int(sum(phased_power, Decimal(0)))
    return out


def fault_code(payload: Payload) -> str | None:
    """The fault a StatusNotification reports, or None when the connector is healthy."""
    error = payload.get("errorCode")
    vendor = payload.get("vendorErrorCode")
    info = payload.get("info")
    hint = " ".join(v for v in (vendor, info) if isinstance(v, str))
    if hint and _EMERGENCY_RE.search(hint):
        return EMERGENCY_STOP
    if isinstance(error, str) and error != NO_ERROR:
        if error == "OtherError" and isinstance(vendor, str) and vendor:
            return vendor
        return error
    if payload.get("status") == "Faulted":
        return vendor if isinstance(vendor, str) and vendor else "OtherError"
    return None


_OFFLINE: Final = object()


@dataclass(slots=True)
class _Pending:
    action: str
    result: gevent.event.AsyncResult


class OcppSession:
    """One pile's OCPP 1.6 conversation with the central system.

    Frames in: :meth:`receive` (cheap; resolves answers to our commands and answers
    broken frames) then :meth:`handle_call` for each request, in order; or both at once
    with :meth:`on_message`. Frames out: ``send(text) -> bool`` (False: not sent).
    """

    def __init__(
        self,
        pile_code: str,
        events: PileEventHandler,
        send: SendFrame,
        *,
        heartbeat_interval: int = 300,
        clock: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        admitted: bool = False,
        connect_grace: float = 0.0,
    ) -> None:
        self.pile_code = pile_code
        # the endpoint looked the pile up when it admitted the connection: the first boot
        # need not ask again (the domain refuses a PileConnected of a pile deleted since);
        # a boot again on the same connection asks
        self._admitted = admitted
        self._events = events
        self._send = send
        self._heartbeat_interval = heartbeat_interval
        self._clock = clock
        self._new_id = new_id
        self._pending: dict[str, _Pending] = {}
        # OCPP-J 1.6 (synchronicity): one CALL of ours outstanding at a time.
        self._call_lock = gevent.lock.BoundedSemaphore(1)
        self._closed = False
        self._faults: dict[int, str] = {}
        self._remote_starts: dict[tuple[int, str], float] = {}
        self.boot_accepted: bool | None = None
        # the socket's opening, not announced yet: the boot that follows within
        # ``connect_grace`` announces it (one PileConnected per connection, issue 12)
        self._connect_grace = connect_grace
        self._opened_at: datetime | None = None
        self._opening_timer: gevent.Greenlet[Any, Any] | None = None
        self._opening_lock = gevent.lock.BoundedSemaphore(1)

    def _extra(self, **fields: Any) -> dict[str, Any]:
        return {"pile_code": self.pile_code, "protocol": "ocpp16", **fields}

    # --- lifecycle --------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def emit(self, event: PileEvent) -> EventReply:
        if self._connect_grace > 0:
            self._announce_opening()  # every event after the pile's connection
        return self._events.handle(event)

    def opened(self, info: dict[str, Any] | None = None) -> None:
        """The transport is up: the pile is online (a BootNotification may follow or not).
        With a ``connect_grace``, the opening is announced by the boot that follows within
        it, else when the grace ends or before any other event, whichever comes first."""
        if self._connect_grace > 0 and not info:
            self._opened_at = self._clock()
            self._opening_timer = gevent.spawn_later(self._connect_grace, self._announce_opening)
            return
        self.emit(PileConnected(self.pile_code, PileProtocol.OCPP16, self._clock(), info or {}))

    def _announce_opening(self, info: dict[str, Any] | None = None) -> EventReply | None:
        """Announce the opening still pending (with ``info``: the boot's); None when none
        was pending. The lock lets a boot wait for an announcement already in flight."""
        with self._opening_lock:
            at, self._opened_at = self._opened_at, None
            self._stop_opening_timer()
            if at is None:
                return None
            event = PileConnected(self.pile_code, PileProtocol.OCPP16, at, info or {})
            if info is not None:
                return self._events.handle(event)  # the boot's: it answers the pile
            try:
                return self._events.handle(event)
            except Exception:
                log.exception("domain failed on connect", extra=self._extra())
                return None

    def _stop_opening_timer(self) -> None:
        timer, self._opening_timer = self._opening_timer, None
        if timer is not None and timer is not gevent.getcurrent():
            timer.kill(block=False)

    def closed(self, reason: str, *, announce: bool) -> None:
        """The transport is gone: fail waiting commands; say so when ``announce``.

        ``announce`` is False for a connection that another one has replaced: the domain
        must not read its end as the pile going offline.
        """
        self._closed = True
        for pending in list(self._pending.values()):
            pending.result.set(_OFFLINE)
        if announce:
            self.emit(PileDisconnected(self.pile_code, self._clock(), reason))
        elif self._opened_at is not None:
            # replaced before it was announced: the new connection speaks for the pile
            self._opened_at = None
            self._stop_opening_timer()

    # --- frames in --------------------------------------------------------------------

    def receive(self, frame: str | bytes) -> Call | None:
        """Decode one frame; return the request still to be handled, if it is one."""
        try:
            message = codec.parse(frame)
        except OcppError as exc:
            log.warning("malformed frame", extra=self._extra(code=exc.code, error=exc.description))
            if exc.answerable:
                self._send(codec.error_frame(exc))
            return None
        if isinstance(message, Call):
            return message
        pending = self._pending.get(message.unique_id)
        if pending is None:
            log.warning("answer to no pending call", extra=self._extra(unique_id=message.unique_id))
        else:
            pending.result.set(message)
        return None

    def handle_call(self, call: Call) -> None:
        """Answer one request from the pile, after the domain has handled (and committed) it."""
        try:
            payload = self._dispatch(call)
        except OcppError as exc:
            exc.unique_id = call.unique_id
            log.warning(
                "request refused",
                extra=self._extra(action=call.action, code=exc.code, error=exc.description),
            )
            self._send(codec.error_frame(exc))
            return
        except Exception:
            log.exception("request failed", extra=self._extra(action=call.action))
            # No acknowledgement: the pile keeps the message and retries it later.
            self._send(codec.build_error(call.unique_id, "InternalError", "handler failed"))
            return
        self._send(codec.build_result(call.unique_id, payload))

    def on_message(self, frame: str | bytes) -> None:
        call = self.receive(frame)
        if call is not None:
            self.handle_call(call)

    def _dispatch(self, call: Call) -> Payload:
        name = _ROUTES.get(call.action)
        route: Callable[[Call], Payload] | None = getattr(self, name) if name else None
        if route is None:
            if call.action == "SignCertificate":
                raise codec.NotSupported("SignCertificate is not supported")
            if codec.is_ocpp16_action(call.action):
                raise codec.NotSupported(f"{call.action} is not sent by a charge point")
            raise codec.NotImplementedAction(f"unknown action {call.action!r}")
        codec.validate_call(
            call.action,
            call.payload,
            lenient=call.action in codec.LENIENT_ACTIONS,
            unique_id=call.unique_id,
        )
        answer = route(call)
        try:
            codec.validate_result(call.action, answer)
        except OcppError as exc:
            raise codec.InternalError(f"answer does not match the schema: {exc}") from exc
        return answer

    # --- requests -----------------------------------------------------------------------

    def _boot(self, call: Call) -> Payload:
        p = call.payload
        now = self._clock()
        info = {name: p[key] for key, name in _BOOT_INFO_FIELDS.items() if key in p}
        admitted, self._admitted = self._admitted, False
        if not admitted and not self._events.is_registered(self.pile_code):
            log.warning("boot rejected: unknown pile", extra=self._extra(**info))
            self.boot_accepted = False
            return {
                "status": "Rejected",
                "currentTime": format_time(now),
                "interval": REJECTED_RETRY_INTERVAL,
            }
        # the boot announces the socket's opening when that is still pending (the period
        # begins when the socket opened), else it is a boot on a connection announced
        opening = self._announce_opening(info)
        reply = opening or self.emit(PileConnected(self.pile_code, PileProtocol.OCPP16, now, info))
        self.boot_accepted = reply.accepted
        if not reply.accepted:
            log.warning("boot rejected", extra=self._extra(reason=reply.reason, **info))
            return {
                "status": "Rejected",
                "currentTime": format_time(now),
                "interval": REJECTED_RETRY_INTERVAL,
            }
        log.info("boot accepted", extra=self._extra(**info))
        return {
            "status": "Accepted",
            "currentTime": format_time(now),
            "interval": self._heartbeat_interval,
        }

    def _heartbeat(self, call: Call) -> Payload:
        return {"currentTime": format_time(self._clock())}

    def _status(self, call: Call) -> Payload:
        p = call.payload
        connector = int(p["connectorId"])
        now = self._clock()
        stamped = parse_time(p.get("timestamp"))
        at = stamped or now
        error = p.get("errorCode")
        self.emit(
            ConnectorStatusChanged(
                self.pile_code,
                connector,
                _STATES.get(p["status"], ConnectorState.UNKNOWN),
                at,
                error_code=error,
                vendor_error=p.get("vendorErrorCode"),
                raw=p,
                received_at=now if stamped else None,  # the domain checks the pile's clock
            )
        )
        # Connector 0 is the pile itself.
        fault_connector = connector or None
        code = fault_code(p)
        active = self._faults.get(connector)
        # The state moves only once the domain has taken the event: a failure is retried
        # with the next status.
        if active is not None and active != code:
            self.emit(FaultCleared(self.pile_code, fault_connector, active, at))
            del self._faults[connector]
            log.info("fault cleared", extra=self._extra(connector=connector, fault=active))
        if code is not None and code != active:
            description = " ".join(
                str(p[k]) for k in ("errorCode", "vendorErrorCode", "info") if p.get(k)
            )
            self.emit(FaultRaised(self.pile_code, fault_connector, code, at, description, raw=p))
            self._faults[connector] = code
            log.warning("fault raised", extra=self._extra(connector=connector, fault=code))
        return {}

    def _authorize(self, call: Call) -> Payload:
        id_tag = call.payload["idTag"]
        reply = self.emit(AuthorizeRequested(self.pile_code, id_tag))
        return {"idTagInfo": {"status": self._auth_status(reply)}}

    @staticmethod
    def _auth_status(reply: EventReply) -> str:
        if reply.accepted:
            return "Accepted"
        if reply.reason == "blocked":  # a disabled driver's card (OCPP 1.6 §7.2 Blocked)
            return "Blocked"
        return reply.reason if reply.reason in _AUTH_STATUSES else "Invalid"

    def _start(self, call: Call) -> Payload:
        p = call.payload
        connector = int(p["connectorId"])
        id_tag = p["idTag"]
        now = self._clock()
        stamped = parse_time(p["timestamp"])
        at = stamped or now
        self._forget_old_remote_starts()
        remote = self._remote_starts.pop((connector, id_tag), None) is not None
        reply = self.emit(
            SessionStarted(
                self.pile_code,
                connector,
                at,
                int(p["meterStart"]),
                id_tag,
                initiated_by="remote" if remote else "pile",
                raw=p,
                received_at=now if stamped else None,
            )
        )
        transaction_id = _int_or(reply.session_ref, None)
        if transaction_id is None:
            if reply.accepted:
                raise codec.InternalError("the domain gave no integer transaction id")
            transaction_id = 0  # StartTransaction.conf always carries one
        log.info(
            "transaction started",
            extra=self._extra(
                connector=connector, transaction_id=transaction_id, accepted=reply.accepted
            ),
        )
        return {
            "transactionId": transaction_id,
            "idTagInfo": {"status": self._auth_status(reply)},
        }

    def _meter_values(self, call: Call) -> Payload:
        p = call.payload
        connector = _int_or(p.get("connectorId"), 0)
        ref = _reference(p.get("transactionId"))
        for entry in p["meterValue"]:
            if not isinstance(entry, dict):
                continue
            r = read_sampled_values(entry.get("sampledValue"))
            now = self._clock()
            stamped = parse_time(entry.get("timestamp"))
            self.emit(
                MeterSample(
                    self.pile_code,
                    connector,
                    stamped or now,
                    ref,
                    energy_wh=r.energy_wh,
                    power_w=r.power_w,
                    voltage_v=r.voltage_v,
                    current_a=r.current_a,
                    soc_percent=r.soc_percent,
                    raw=entry,
                    received_at=now if stamped else None,
                )
            )
        return {}

    def _stop(self, call: Call) -> Payload:
        p = call.payload
        ref = _reference(p["transactionId"])
        if ref is None:
            raise codec.PropertyConstraintViolation("transactionId is not a transaction reference")
        at = parse_time(p.get("timestamp"))
        if at is None:
            log.warning(
                "stop without a readable timestamp",
                extra=self._extra(transaction_id=ref, timestamp=p.get("timestamp")),
            )
        meter_stop = energy_wh(p.get("meterStop"))
        unreadable = ("meter_stop",) if meter_stop is None and "meterStop" in p else ()
        started_at, meter_start = _transaction_begin(p.get("transactionData"))
        reason = p.get("reason")
        reason = (
            reason if isinstance(reason, str) and reason else "Local"
        )  # StopTransaction.req: absent means Local
        energy = (
            meter_stop - meter_start if meter_stop is not None and meter_start is not None else None
        )
        self.emit(
            SessionStopped(
                self.pile_code,
                ref,
                at or self._clock(),
                meter_stop,
                reason,
                started_at=started_at,
                meter_start_wh=meter_start,
                energy_wh=energy,
                raw=p,
                unreadable=unreadable,
                received_at=self._clock(),  # the pile's times are checked by the domain
            )
        )
        # Only now, with the stop committed by the domain, does the pile get its answer.
        log.info(
            "transaction stopped",
            extra=self._extra(transaction_id=ref, meter_stop_wh=meter_stop, reason=reason),
        )
        answer: Payload = {}
        if isinstance(p.get("idTag"), str):
            answer["idTagInfo"] = {"status": "Accepted"}
        return answer

    def _data_transfer(self, call: Call) -> Payload:
        log.info(
            "data transfer ignored",
            extra=self._extra(
                vendor_id=call.payload.get("vendorId"), message_id=call.payload.get("messageId")
            ),
        )
        return {"status": "Accepted"}

    def _ack(self, call: Call) -> Payload:
        log.info("notification", extra=self._extra(action=call.action, payload=call.payload))
        return {}

    # --- commands -----------------------------------------------------------------------

    def call(self, action: str, payload: Payload, *, timeout: float = 10.0) -> CommandResult:
        """Send one CALL and wait for its answer.

        ACCEPTED with the answer's payload in ``data`` when the pile answered with a valid
        CALLRESULT; REJECTED for a CALLERROR or an invalid answer (NOT_SUPPORTED for
        NotImplemented/NotSupported); PILE_OFFLINE; TIMED_OUT.
        """
        if self._closed:
            return CommandResult(CommandOutcome.PILE_OFFLINE)
        try:
            codec.validate_call(action, payload)
        except OcppError as exc:
            log.error("invalid command", extra=self._extra(action=action, error=str(exc)))
            return CommandResult(CommandOutcome.REJECTED, f"invalid request: {exc}")
        deadline = time.monotonic() + timeout
        if not self._call_lock.acquire(timeout=timeout):
            return CommandResult(CommandOutcome.TIMED_OUT, "another command is still waiting")
        unique_id = self._new_id()
        pending = _Pending(action, gevent.event.AsyncResult())
        self._pending[unique_id] = pending
        try:
            if self._closed or not self._send(codec.build_call(unique_id, action, payload)):
                return CommandResult(CommandOutcome.PILE_OFFLINE)
            try:
                answer = pending.result.get(timeout=max(0.0, deadline - time.monotonic()))
            except gevent.Timeout:
                log.warning("command timed out", extra=self._extra(action=action))
                return CommandResult(CommandOutcome.TIMED_OUT)
        finally:
            del self._pending[unique_id]
            self._call_lock.release()
        return self._outcome(action, answer)

    def _outcome(self, action: str, answer: object) -> CommandResult:
        if answer is _OFFLINE:
            return CommandResult(CommandOutcome.PILE_OFFLINE)
        if isinstance(answer, CallError):
            outcome = (
                CommandOutcome.NOT_SUPPORTED
                if answer.error_code in ("NotImplemented", "NotSupported")
                else CommandOutcome.REJECTED
            )
            detail = f"{answer.error_code}: {answer.description}".rstrip(": ")
            log.info("command refused", extra=self._extra(action=action, error=detail))
            return CommandResult(outcome, detail, {"details": answer.details})
        assert isinstance(answer, CallResult)
        try:
            codec.validate_result(action, answer.payload)
        except OcppError as exc:
            log.warning("invalid answer", extra=self._extra(action=action, error=str(exc)))
            return CommandResult(CommandOutcome.REJECTED, f"invalid answer: {exc}", answer.payload)
        return CommandResult(CommandOutcome.ACCEPTED, data=answer.payload)

    def _status_call(self, action: str, payload: Payload, timeout: float) -> CommandResult:
        result = self.call(action, payload, timeout=timeout)
        if not result.ok:
            return result
        status = result.data.get("status")
        if status == "Accepted":
            return result
        if status == "Scheduled":  # Reset / ChangeAvailability after the running session
            return CommandResult(CommandOutcome.ACCEPTED, "scheduled", result.data)
        if status == "NotImplemented":  # TriggerMessage
            return CommandResult(CommandOutcome.NOT_SUPPORTED, str(status), result.data)
        return CommandResult(CommandOutcome.REJECTED, str(status), result.data)

    def remote_start(
        self,
        connector_number: int,
        id_tag: str,
        *,
        order_no: str,
        balance_fen: int | None = None,
        session_ref: str | None = None,
        timeout: float = 10.0,
    ) -> CommandResult:
        # The pile reports id_tag back in StartTransaction; balance_fen has no OCPP 1.6 field,
        # and OCPP piles get their transaction id on StartTransaction, so session_ref is None.
        result = self._status_call(
            "RemoteStartTransaction",
            {"connectorId": connector_number, "idTag": id_tag},
            timeout,
        )
        log.info(
            "remote start",
            extra=self._extra(
                connector=connector_number, order_no=order_no, outcome=str(result.outcome)
            ),
        )
        if result.ok:
            self._remote_starts[(connector_number, id_tag)] = time.monotonic()
        return result

    def remote_stop(
        self, connector_number: int, session_ref: str, *, timeout: float = 10.0
    ) -> CommandResult:
        try:
            transaction_id = int(session_ref)
        except (TypeError, ValueError):
            return CommandResult(
                CommandOutcome.REJECTED, f"{session_ref!r} is not an OCPP transaction id"
            )
        result = self._status_call(
            "RemoteStopTransaction", {"transactionId": transaction_id}, timeout
        )
        log.info(
            "remote stop",
            extra=self._extra(transaction_id=transaction_id, outcome=str(result.outcome)),
        )
        return result

    def reset(self, *, hard: bool = False, timeout: float = 10.0) -> CommandResult:
        return self._status_call("Reset", {"type": "Hard" if hard else "Soft"}, timeout)

    def change_availability(
        self, connector_number: int, available: bool, *, timeout: float = 10.0
    ) -> CommandResult:
        return self._status_call(
            "ChangeAvailability",
            {"connectorId": connector_number, "type": "Operative" if available else "Inoperative"},
            timeout,
        )

    def push_tariff(self, tariff: dict[str, Any], *, timeout: float = 10.0) -> CommandResult:
        # OCPP 1.6 has no tariff message: the platform bills, the pile only meters.
        return CommandResult(CommandOutcome.NOT_SUPPORTED, "OCPP 1.6 has no tariff message")

    def sync_time(self, *, timeout: float = 10.0) -> CommandResult:
        # An OCPP pile sets its clock from a Heartbeat answer: ask for one.
        return self._status_call("TriggerMessage", {"requestedMessage": "Heartbeat"}, timeout)

    def unlock_connector(self, connector_number: int, *, timeout: float = 10.0) -> CommandResult:
        result = self.call("UnlockConnector", {"connectorId": connector_number}, timeout=timeout)
        if not result.ok:
            return result
        status = result.data.get("status")
        if status == "Unlocked":
            return CommandResult(CommandOutcome.ACCEPTED, str(status), result.data)
        if status == "NotSupported":
            return CommandResult(CommandOutcome.NOT_SUPPORTED, str(status), result.data)
        return CommandResult(CommandOutcome.REJECTED, str(status), result.data)

    def _forget_old_remote_starts(self) -> None:
        horizon = time.monotonic() - REMOTE_START_WINDOW
        for key, sent in list(self._remote_starts.items()):
            if sent < horizon:
                del self._remote_starts[key]


def _int_or(value: Any, default: T) -> int | T:
    number = to_decimal(value)
    if number is None or number != number.to_integral_value():
        return default
    return int(number)


def _transaction_begin(data: Any) -> tuple[datetime | None, int | None]:
    """The start time and meter reading in a StopTransaction's Transaction.Begin sample."""
    if not isinstance(data, list):
        return None, None
    for entry in data:
        if not isinstance(entry, dict):
            continue
        readings = read_sampled_values(entry.get("sampledValue"))
        if readings.context == "Transaction.Begin":
            return parse_time(entry.get("timestamp")), readings.energy_wh
    return None, None
