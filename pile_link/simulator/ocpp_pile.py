"""A simulated OCPP 1.6J pile: the ``ocpp`` package's ChargePoint over ``websockets``,
connecting to ``<url>/<pile_code>`` with the ``ocpp1.6`` subprotocol.

It boots, heartbeats, reports connector statuses, authorizes cards, starts and stops
transactions, sends meter values, and answers the platform's RemoteStart/Stop, Reset,
ChangeAvailability, TriggerMessage and configuration requests. Request handlers only
decide and record: anything that needs a CALL of ours runs after the answer has gone out
(an ``@after`` hook or a task), because the reader that runs the handlers is also the one
that reads our answers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

import websockets
from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    AvailabilityStatus,
    ChargePointErrorCode,
    ClearCacheStatus,
    ConfigurationStatus,
    DataTransferStatus,
    RegistrationStatus,
    RemoteStartStopStatus,
    ResetStatus,
    TriggerMessageStatus,
    UnlockStatus,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from pile_link.simulator.base import (
    ChargeSession,
    EventSink,
    Gun,
    GunStatus,
    LinkDown,
    PileConfig,
    PileRejected,
    RemoteStartRequest,
    ScenarioError,
    SimulatedPile,
    StopReason,
    utcnow,
)

SUBPROTOCOL: Final = Subprotocol("ocpp1.6")
DEFAULT_HEARTBEAT: Final = 300.0
# OCPP 1.6 StopTransaction.req reasons (§7.44)
_REASONS: Final = {
    StopReason.LOCAL: "Local",
    StopReason.REMOTE: "Remote",
    StopReason.EV_DISCONNECTED: "EVDisconnected",
    StopReason.REBOOT: "Reboot",
    StopReason.EMERGENCY_STOP: "EmergencyStop",
    StopReason.SOFT_RESET: "SoftReset",
    StopReason.HARD_RESET: "HardReset",
    StopReason.SOC_FULL: "EVDisconnected",
}
_ERROR_CODES: Final = frozenset(code.value for code in ChargePointErrorCode)


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class _Link:
    """One WebSocket connection and the ChargePoint reading it."""

    ws: ClientConnection
    cp: _ChargePoint
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None


class _ChargePoint(ChargePoint):  # type: ignore[misc]  # the ocpp package is untyped
    """The protocol side of one connection; the pile's state lives in the pile."""

    def __init__(self, pile: SimulatedOcppPile, connection: ClientConnection) -> None:
        super().__init__(pile.code, connection, response_timeout=pile.config.response_timeout)
        self.pile = pile
        self._accepted_start: RemoteStartRequest | None = None
        self._accepted_stop: ChargeSession | None = None

    @on(Action.remote_start_transaction)
    def on_remote_start(
        self, id_tag: str, connector_id: int | None = None, **_: Any
    ) -> call_result.RemoteStartTransaction:
        gun = self.pile.accept_remote_start(connector_id)
        if gun is None:
            self.pile.emit("remote_start_rejected", connector=connector_id, id_tag=id_tag)
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        self._accepted_start = RemoteStartRequest(gun.number, id_tag)
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @after(Action.remote_start_transaction)
    def after_remote_start(self, **_: Any) -> None:
        request, self._accepted_start = self._accepted_start, None
        if request is not None:
            self.pile.deliver_remote_start(request)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_: Any) -> call_result.RemoteStopTransaction:
        session = self.pile.session_by_ref(str(transaction_id))
        if session is None or session.stopping.is_set():
            self.pile.emit("remote_stop_rejected", ref=transaction_id)
            return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.rejected)
        self._accepted_stop = session
        return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)

    @after(Action.remote_stop_transaction)
    def after_remote_stop(self, **_: Any) -> None:
        session, self._accepted_stop = self._accepted_stop, None
        if session is not None:
            self.pile.request_stop(session)

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> call_result.Reset:
        return call_result.Reset(status=ResetStatus.accepted)

    @after(Action.reset)
    def after_reset(self, type: str, **_: Any) -> None:
        self.pile.emit("reset", type=type)
        self.pile.spawn(self.pile.reset(hard=type == "Hard"), "reset")

    @on(Action.change_availability)
    def on_change_availability(
        self, connector_id: int, type: str, **_: Any
    ) -> call_result.ChangeAvailability:
        guns = self.pile.targets(connector_id)
        if not guns:
            return call_result.ChangeAvailability(status=AvailabilityStatus.rejected)
        if any(gun.session is not None for gun in guns):
            return call_result.ChangeAvailability(status=AvailabilityStatus.scheduled)
        return call_result.ChangeAvailability(status=AvailabilityStatus.accepted)

    @after(Action.change_availability)
    def after_change_availability(self, connector_id: int, type: str, **_: Any) -> None:
        guns = [g for g in self.pile.targets(connector_id) if g.session is None]
        self.pile.spawn(self.pile.change_availability(guns, type == "Operative"), "availability")

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, **_: Any) -> call_result.TriggerMessage:
        known = {"BootNotification", "Heartbeat", "StatusNotification", "MeterValues"}
        status = (
            TriggerMessageStatus.accepted
            if requested_message in known
            else TriggerMessageStatus.not_implemented
        )
        return call_result.TriggerMessage(status=status)

    @after(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        self.pile.spawn(self.pile.triggered(requested_message, connector_id), "trigger")

    @on(Action.get_configuration)
    def on_get_configuration(
        self, key: list[str] | None = None, **_: Any
    ) -> call_result.GetConfiguration:
        values = self.pile.configuration()
        wanted = key or list(values)
        return call_result.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": k != "HeartbeatInterval", "value": values[k]}
                for k in wanted
                if k in values
            ],
            unknown_key=[k for k in wanted if k not in values] or None,
        )

    @on(Action.change_configuration)
    def on_change_configuration(
        self, key: str, value: str, **_: Any
    ) -> call_result.ChangeConfiguration:
        if key == "HeartbeatInterval" and value.isdigit() and int(value) > 0:
            self.pile.heartbeat_interval = float(value)
            return call_result.ChangeConfiguration(status=ConfigurationStatus.accepted)
        if key in self.pile.configuration():
            return call_result.ChangeConfiguration(status=ConfigurationStatus.rejected)
        return call_result.ChangeConfiguration(status=ConfigurationStatus.not_supported)

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any) -> call_result.UnlockConnector:
        return call_result.UnlockConnector(status=UnlockStatus.unlocked)

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> call_result.ClearCache:
        return call_result.ClearCache(status=ClearCacheStatus.accepted)

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)


class SimulatedOcppPile(SimulatedPile):
    """An OCPP 1.6J pile. ``url`` is the endpoint without the pile code
    (``ws://127.0.0.1:9000/ocpp``); ``password`` is sent as HTTP Basic (security
    profile 1) when given.

        async with SimulatedOcppPile(url, "DEMO-OCPP-01", id_tag="DEMO-CARD-01") as pile:
            result = await pile.run_scenario("normal", charge_seconds=1)
    """

    protocol = "ocpp16"

    def __init__(
        self,
        url: str,
        code: str,
        *,
        config: PileConfig | None = None,
        id_tag: str = "DEMO-CARD-01",
        password: str | None = None,
        vendor: str = "EVOP-Sim",
        model: str = "SIM-AC7",
        sink: EventSink | None = None,
    ) -> None:
        super().__init__(code, config=config, id_tag=id_tag, sink=sink)
        self.url = f"{url.rstrip('/')}/{quote(code, safe='')}"
        self.password = password
        self.vendor = vendor
        self.model = model
        self.heartbeat_interval = self.config.heartbeat_interval or DEFAULT_HEARTBEAT
        self._link: _Link | None = None

    # --- the link ---------------------------------------------------------------------

    async def _connect(self, *, boot: bool) -> None:
        headers = {}
        if self.password is not None:
            token = base64.b64encode(f"{self.code}:{self.password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        try:
            ws = await websockets.connect(
                self.url,
                subprotocols=[SUBPROTOCOL],
                additional_headers=headers,
                open_timeout=self.config.response_timeout,
                close_timeout=2,
                ping_interval=None,  # piles rarely ping; the platform pings them
                compression=None,
                proxy=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403, 404):
                # the pile link refuses unknown piles and wrong passwords at the upgrade
                raise PileRejected(f"HTTP {status} at the WebSocket upgrade") from exc
            raise
        if ws.subprotocol != SUBPROTOCOL:
            await ws.close()
            raise PileRejected(f"subprotocol {ws.subprotocol!r} is not {SUBPROTOCOL}")
        link = _Link(ws, _ChargePoint(self, ws))
        link.reader = asyncio.create_task(self._read(link), name=f"sim-reader-{self.code}")
        self._link = link
        self.emit("connected", url=self.url)
        if boot:
            await self._boot()

    async def _read(self, link: _Link) -> None:
        try:
            await link.cp.start()
        except ConnectionClosed:
            pass
        finally:
            link.closed.set()

    async def _boot(self) -> None:
        while True:
            result = await self.call(
                call.BootNotification(
                    charge_point_model=self.model,
                    charge_point_vendor=self.vendor,
                    charge_point_serial_number=self.code,
                    firmware_version="sim-1.0",
                )
            )
            self.emit("boot", status=result.status, interval=result.interval)
            if result.status == RegistrationStatus.accepted:
                if not self.config.heartbeat_interval and result.interval:
                    self.heartbeat_interval = float(result.interval)
                return
            if result.status == RegistrationStatus.rejected:
                raise PileRejected("BootNotification rejected")
            # Pending: ask again after the interval the platform gave (bounded for tests)
            await asyncio.sleep(min(float(result.interval or 1), self.config.reconnect_max_delay))

    async def _wait_link_closed(self) -> None:
        link = self._link
        if link is None:
            return
        await link.closed.wait()
        if link.reader is not None:
            await asyncio.gather(link.reader, return_exceptions=True)
        with contextlib.suppress(Exception):
            await link.ws.close()

    async def _drop_link(self, *, abrupt: bool) -> None:
        link = self._link
        if link is None:
            return
        if abrupt:
            # as a dead network or a power cut: no close frame, no TCP goodbye from us
            link.ws.transport.abort()
        else:
            with contextlib.suppress(Exception):
                await link.ws.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(link.closed.wait()), 5.0)
        if link.reader is not None and link.reader.done():
            await asyncio.gather(link.reader, return_exceptions=True)

    async def call(self, payload: Any) -> Any:
        """Send one CALL on the current link and return the answer's payload object.

        Raises :class:`LinkDown` when there is no link, it drops before the answer, or
        no answer comes in time; ``OCPPError`` when the platform answers with an error.
        """
        link = self._link
        if link is None or link.closed.is_set():
            raise LinkDown(f"{self.code} is offline")
        request = asyncio.ensure_future(link.cp.call(payload, suppress=False))
        closed = asyncio.ensure_future(link.closed.wait())
        try:
            await asyncio.wait({request, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            if not request.done():
                request.cancel()
            await asyncio.gather(closed, request, return_exceptions=True)
        if request.cancelled():
            raise LinkDown(f"{self.code}: connection lost before the answer")
        exc = request.exception()
        if isinstance(exc, TimeoutError | ConnectionClosed):
            raise LinkDown(f"{self.code}: {type(exc).__name__}") from exc
        return request.result()

    async def notify(self, payload: Any) -> None:
        """A CALL whose refusal changes nothing for the pile (status, meter values): an
        error answer is logged, not raised."""
        try:
            await self.call(payload)
        except OCPPError as exc:
            self.emit("refused", action=type(payload).__name__, error=str(exc))

    async def _on_online(self, *, booted: bool) -> None:
        for gun in self.guns.values():
            await self._send_status(gun)
        link = self._link
        if link is not None:
            self.spawn(self._heartbeats(link), "heartbeat")

    async def _heartbeats(self, link: _Link) -> None:
        while not link.closed.is_set():
            await asyncio.sleep(self.heartbeat_interval)
            if link.closed.is_set():
                return
            with contextlib.suppress(LinkDown):
                await self.notify(call.Heartbeat())
                self.emit("heartbeat", verbose=True)

    # --- messages -------------------------------------------------------------------------

    def wire_reason(self, reason: StopReason) -> str:
        return _REASONS[reason]

    async def _send_status(self, gun: Gun) -> None:
        error_code, vendor_code, info = "NoError", None, None
        if gun.fault is not None:
            if gun.fault in _ERROR_CODES:
                error_code = gun.fault
            else:
                # OCPP 1.6 has no EmergencyStop error code: vendors put it here (case #24)
                error_code, vendor_code = "OtherError", gun.fault
                if gun.fault == "EmergencyStop":
                    info = "emergency stop button pressed"
        await self.notify(
            call.StatusNotification(
                connector_id=gun.number,
                error_code=error_code,
                status=gun.status.value,
                timestamp=format_time(utcnow()),
                info=info,
                vendor_error_code=vendor_code,
            )
        )

    def _samples(self, gun: Gun, context: str) -> list[dict[str, Any]]:
        power = self.power_w(gun)
        voltage = round(self.config.voltage_v + self.rng.uniform(-2, 2), 1)
        return [
            {
                "value": str(gun.meter.register_wh),
                "context": context,
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
            },
            {"value": str(round(power)), "context": context,
             "measurand": "Power.Active.Import", "unit": "W"},
            {"value": f"{voltage:.1f}", "context": context, "measurand": "Voltage", "unit": "V"},
            {"value": f"{power / voltage:.1f}", "context": context,
             "measurand": "Current.Import", "unit": "A"},
            {"value": str(int(gun.soc)), "context": context, "measurand": "SoC",
             "unit": "Percent", "location": "EV"},
        ]  # fmt: skip

    async def _send_meter(self, gun: Gun, session: ChargeSession) -> None:
        await self.notify(
            call.MeterValues(
                connector_id=gun.number,
                transaction_id=int(session.ref),
                meter_value=[
                    {
                        "timestamp": format_time(utcnow()),
                        "sampled_value": self._samples(gun, "Sample.Periodic"),
                    }
                ],
            )
        )

    async def authorize(self, id_tag: str) -> bool:
        """A card or password presented on the pile: does the platform accept it?"""
        result = await self.call(call.Authorize(id_tag=id_tag))
        status = result.id_tag_info.get("status")
        self.emit("authorize", id_tag=id_tag, status=status)
        return status == "Accepted"

    async def _authorize_and_start(
        self, gun: Gun, id_tag: str, method: str, pin: str | None
    ) -> ChargeSession | None:
        try:
            if not await self.authorize(id_tag):
                return None
        except (LinkDown, OCPPError) as exc:
            raise ScenarioError(f"{self.code}: no answer to Authorize: {exc}") from exc
        return await self._start_transaction(gun, id_tag, method)

    async def _start_transaction(self, gun: Gun, id_tag: str, method: str) -> ChargeSession | None:
        self.accrue(gun)
        meter_start = gun.meter.register_wh
        at = utcnow()
        try:
            result = await self.call(
                call.StartTransaction(
                    connector_id=gun.number,
                    id_tag=id_tag,
                    meter_start=meter_start,
                    timestamp=format_time(at),
                )
            )
        except (LinkDown, OCPPError) as exc:
            raise ScenarioError(f"{self.code}: no answer to StartTransaction: {exc}") from exc
        status = result.id_tag_info.get("status")
        if status != "Accepted":
            self.emit("start_rejected", connector=gun.number, id_tag=id_tag, status=status)
            return None
        session = ChargeSession(
            connector=gun.number,
            id_tag=id_tag,
            start_method=method,
            ref=str(result.transaction_id),
            meter_start_wh=meter_start,
            started_at=at,
        )
        self._begin(gun, session)
        await self.set_status(gun, GunStatus.CHARGING)
        return session

    async def _start_remote(self, gun: Gun, request: RemoteStartRequest) -> ChargeSession:
        try:
            if not gun.plugged:
                await self.plug(gun.number)
            session = await self._start_transaction(gun, request.id_tag, "remote")
        finally:
            gun.reserved = False
        if session is None:
            raise ScenarioError(f"{self.code}: the platform refused the remote start it sent")
        return session

    async def _send_stop(self, session: ChargeSession) -> None:
        assert session.meter_stop_wh is not None and session.stopped_at is not None
        gun = self.gun(session.connector)
        begin = [
            {
                "value": str(session.meter_start_wh),
                "context": "Transaction.Begin",
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
            }
        ]
        end = [{**begin[0], "value": str(session.meter_stop_wh), "context": "Transaction.End"}]
        payload = call.StopTransaction(
            meter_stop=session.meter_stop_wh,
            timestamp=format_time(session.stopped_at),
            transaction_id=int(session.ref),
            reason=session.wire_reason,
            id_tag=session.stop_id_tag,
            transaction_data=[
                {"timestamp": format_time(session.started_at), "sampled_value": begin},
                {"timestamp": format_time(session.stopped_at), "sampled_value": end},
            ],
        )
        # OCPP 1.6 §4.10: transaction messages are queued and retried until answered
        while True:
            await self.wait_online(None)
            try:
                await self.call(payload)
                return
            except LinkDown:
                await asyncio.sleep(min(0.2, self.config.record_retry_interval))
            except OCPPError as exc:
                self.emit("stop_not_confirmed", connector=gun.number, error=str(exc))
                await asyncio.sleep(self.config.record_retry_interval)

    # --- platform requests ------------------------------------------------------------------

    def targets(self, connector_id: int) -> list[Gun]:
        """Connector 0 means the whole pile (OCPP 1.6)."""
        if connector_id == 0:
            return list(self.guns.values())
        gun = self.guns.get(connector_id)
        return [gun] if gun is not None else []

    async def change_availability(self, guns: list[Gun], available: bool) -> None:
        for gun in guns:
            if available:
                status = GunStatus.PREPARING if gun.plugged else GunStatus.AVAILABLE
            else:
                status = GunStatus.UNAVAILABLE
            await self.set_status(gun, status)

    async def triggered(self, message: str, connector_id: int | None) -> None:
        with contextlib.suppress(LinkDown):
            if message == "Heartbeat":
                await self.notify(call.Heartbeat())
            elif message == "BootNotification":
                await self._boot()
            elif message == "StatusNotification":
                for gun in self.targets(connector_id or 0):
                    await self._send_status(gun)
            elif message == "MeterValues":
                for gun in self.targets(connector_id or 0):
                    if gun.session is not None:
                        await self._send_meter(gun, gun.session)

    def configuration(self) -> dict[str, str]:
        return {
            "HeartbeatInterval": str(int(self.heartbeat_interval)),
            "MeterValueSampleInterval": str(int(self.config.meter_interval)),
            "NumberOfConnectors": str(len(self.guns)),
        }
