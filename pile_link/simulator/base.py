"""What every simulated pile shares, whatever its protocol: settings, the energy meter,
charging sessions, the event log, the connection supervisor and the scenario primitives
(plug, start, charge, stop, drop off the network, reboot, fault).

:mod:`pile_link.simulator.ocpp_pile` and :mod:`pile_link.simulator.ykc_pile` put these on
the wire; :mod:`pile_link.simulator.scenarios` scripts them. Everything runs on one asyncio
loop, so one process can hold hundreds of piles.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import enum
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

log = logging.getLogger("pile_link.simulator")


class PileRejected(Exception):
    """The platform refuses this pile (unknown pile, wrong password, boot rejected)."""


class LinkDown(Exception):
    """The connection to the platform is gone (or was never there)."""


class ScenarioError(Exception):
    """A scenario could not go on: the platform refused something it should have accepted,
    or an expected command never came."""


class GunStatus(enum.StrEnum):
    """A gun's state as the pile reports it (OCPP names; YKC maps them onto its own)."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"  # plugged, not charging
    CHARGING = "Charging"
    FINISHING = "Finishing"  # energy transfer over, gun still in the car
    FAULTED = "Faulted"
    UNAVAILABLE = "Unavailable"


class StopReason(enum.StrEnum):
    """Why a session ended, protocol-neutral; each pile maps it onto its wire reason."""

    LOCAL = "local"  # stopped on the pile: card, password, stop button (case #11)
    REMOTE = "remote"  # the platform's remote stop
    EV_DISCONNECTED = "ev_disconnected"
    REBOOT = "reboot"  # the pile restarted mid-session (case #25)
    EMERGENCY_STOP = "emergency_stop"  # the red button (case #24)
    SOFT_RESET = "soft_reset"
    HARD_RESET = "hard_reset"
    SOC_FULL = "soc_full"


@dataclass(frozen=True, slots=True)
class PileConfig:
    """Timers and physics of a simulated pile (seconds, W, Wh)."""

    connectors: int = 2
    # None: what the platform says in BootNotification.conf (OCPP), 10 s (YKC §6.3)
    heartbeat_interval: float | None = None
    meter_interval: float = 5.0
    power_w: int = 7000
    voltage_v: float = 220.0
    # simulated seconds per real second: energy grows this much faster (demos, tests)
    time_scale: float = 1.0
    charge_seconds: float = 30.0
    offline_seconds: float = 10.0
    reboot_seconds: float = 3.0
    fault_seconds: float = 5.0
    # how long the ``remote`` scenario waits for the platform's start, then its stop
    remote_wait_seconds: float = 600.0
    battery_wh: int = 60_000
    # an answer to one of our messages must come within this
    response_timeout: float = 10.0
    reconnect_delay: float = 1.0
    reconnect_max_delay: float = 30.0
    # a YKC transaction record is re-sent this often until the platform confirms it
    record_retry_interval: float = 5.0
    # send BootNotification after a mere network reconnect too (some firmwares do)
    boot_on_reconnect: bool = False
    # a remote start that no scenario waits for starts a session that charges until the
    # platform stops it (or auto_stop_seconds pass): what the demo's app-driven piles do
    auto_charge: bool = True
    auto_stop_seconds: float | None = None
    seed: int = 0

    def with_overrides(self, **changes: Any) -> PileConfig:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One thing that happened on a simulated pile: one line of the simulator's log."""

    at: datetime
    pile_code: str
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False  # meter samples, heartbeats: shown with --verbose only

    def line(self) -> str:
        fields = " ".join(
            f"{k}={_text(v)}" for k, v in self.detail.items() if v is not None and v != ""
        )
        stamp = self.at.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]
        return f"{stamp} {self.pile_code} {self.kind}{' ' + fields if fields else ''}"


def _text(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if " " in text else text


EventSink = Callable[[SimEvent], None]


class EnergyMeter:
    """A gun's energy register (Wh). It only goes forward and, like a real meter, keeps
    its reading across reconnects and reboots."""

    def __init__(self, register_wh: int) -> None:
        self._wh = float(register_wh)

    @property
    def register_wh(self) -> int:
        return int(self._wh)

    def add(self, wh: float) -> None:
        if wh > 0:
            self._wh += wh


@dataclass(eq=False)
class ChargeSession:
    """One charging session on one gun, from start to its confirmed stop record."""

    connector: int
    id_tag: str
    start_method: str  # "card", "password" or "remote"
    ref: str  # OCPP transaction id / YKC transaction serial
    meter_start_wh: int
    started_at: datetime
    charging: bool = True  # energy flows
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    meter_stop_wh: int | None = None
    stopped_at: datetime | None = None
    reason: StopReason | None = None
    wire_reason: str | None = None  # what went on the wire ("Reboot", "0x83")
    stop_id_tag: str | None = None  # the card / password that stopped it on the pile
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def energy_wh(self) -> int:
        if self.meter_stop_wh is None:
            return 0
        return self.meter_stop_wh - self.meter_start_wh


@dataclass(eq=False)
class Gun:
    number: int
    meter: EnergyMeter
    soc: float
    status: GunStatus = GunStatus.AVAILABLE
    plugged: bool = False
    fault: str | None = None
    session: ChargeSession | None = None
    # a remote start was accepted for this gun and its session has not begun yet
    reserved: bool = False
    last_accrual: float = 0.0


@dataclass(frozen=True, slots=True)
class RemoteStartRequest:
    """The platform asked this pile to start charging (OCPP RemoteStartTransaction,
    YKC 0x34)."""

    connector: int
    id_tag: str
    session_ref: str | None = None  # YKC: the serial the platform chose
    balance_fen: int | None = None


@dataclass(slots=True)
class ScenarioResult:
    """What one scenario run did: the session it made and how it ended."""

    pile_code: str
    protocol: str
    scenario: str
    connector: int
    ok: bool = True
    detail: str = ""
    session_ref: str | None = None
    id_tag: str | None = None
    start_method: str | None = None
    meter_start_wh: int | None = None
    meter_stop_wh: int | None = None
    energy_wh: int = 0
    stop_reason: str | None = None  # protocol-neutral (StopReason value)
    wire_reason: str | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    events: list[SimEvent] = field(default_factory=list)

    def record(self, session: ChargeSession) -> None:
        self.session_ref = session.ref
        self.id_tag = session.id_tag
        self.start_method = session.start_method
        self.meter_start_wh = session.meter_start_wh
        self.meter_stop_wh = session.meter_stop_wh
        self.energy_wh = session.energy_wh
        self.stop_reason = session.reason.value if session.reason else None
        self.wire_reason = session.wire_reason
        self.started_at = session.started_at
        self.stopped_at = session.stopped_at

    def summary(self) -> str:
        if not self.ok:
            return f"scenario {self.scenario} failed: {self.detail}"
        if self.session_ref is None:
            return f"scenario {self.scenario} done {self.detail}".rstrip()
        return (
            f"scenario {self.scenario} done: connector={self.connector} ref={self.session_ref} "
            f"energy={self.energy_wh}Wh reason={self.wire_reason}"
        )


class SimulatedPile(abc.ABC):
    """A pile on one asyncio loop: a supervisor keeps it connected (reconnecting with
    backoff, as real piles do), guns meter energy while they charge, and the scenario
    primitives below drive it. Subclasses speak the protocol.

    Use it as an async context manager (connects and waits until the platform accepted
    the pile) or call :meth:`start` / :meth:`close`.
    """

    protocol: str = ""

    def __init__(
        self,
        code: str,
        *,
        config: PileConfig | None = None,
        id_tag: str = "DEMO-CARD-01",
        sink: EventSink | None = None,
    ) -> None:
        self.code = code
        self.config = config or PileConfig()
        self.id_tag = id_tag
        # deterministic per seed and pile: the same run twice gives the same numbers
        self.rng = random.Random(f"{self.config.seed}:{code}")
        self._sinks: list[EventSink] = [sink] if sink else []
        self.recent: deque[SimEvent] = deque(maxlen=64)
        self.guns: dict[int, Gun] = {
            n: Gun(
                number=n,
                meter=EnergyMeter(self.rng.randrange(100_000, 5_000_000)),
                soc=float(self.rng.randrange(15, 45)),
            )
            for n in range(1, self.config.connectors + 1)
        }
        self._tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._online = asyncio.Event()
        self._offline = asyncio.Event()
        self._offline.set()
        self._want_online = asyncio.Event()
        self._dead = asyncio.Event()  # the supervisor gave up (rejected)
        self._rejection: PileRejected | None = None
        self._closing = False
        self._needs_boot = True
        self._remote_queue: asyncio.Queue[RemoteStartRequest] = asyncio.Queue()
        self._remote_waiters = 0

    # --- protocol hooks -----------------------------------------------------------------

    @abc.abstractmethod
    async def _connect(self, *, boot: bool) -> None:
        """Open the link and introduce the pile (BootNotification / login when ``boot``).
        Raise :class:`PileRejected` when refused for good, anything else to retry."""

    @abc.abstractmethod
    async def _wait_link_closed(self) -> None:
        """Return when the current link is gone."""

    @abc.abstractmethod
    async def _drop_link(self, *, abrupt: bool) -> None:
        """Close the current link; ``abrupt``: as a network failure or power cut would,
        without a closing handshake."""

    @abc.abstractmethod
    async def _on_online(self, *, booted: bool) -> None:
        """After (re)connecting: start heartbeats, report statuses, resend what waits."""

    @abc.abstractmethod
    async def _send_status(self, gun: Gun) -> None:
        """Report ``gun.status`` (and ``gun.fault``); raise LinkDown when offline."""

    @abc.abstractmethod
    async def _send_meter(self, gun: Gun, session: ChargeSession) -> None:
        """One meter sample of a charging session."""

    @abc.abstractmethod
    async def _authorize_and_start(
        self, gun: Gun, id_tag: str, method: str, pin: str | None
    ) -> ChargeSession | None:
        """A card / password start on the pile; None when the platform refuses it."""

    @abc.abstractmethod
    async def _start_remote(self, gun: Gun, request: RemoteStartRequest) -> ChargeSession:
        """Begin the session the platform's remote start asked for."""

    @abc.abstractmethod
    async def _send_stop(self, session: ChargeSession) -> None:
        """Deliver the stop record and return once the platform confirmed it, retrying
        across disconnects (persist before acknowledge: the pile keeps it until then)."""

    @abc.abstractmethod
    def wire_reason(self, reason: StopReason) -> str:
        """The stop reason as this protocol writes it."""

    # --- lifecycle ----------------------------------------------------------------------

    def add_sink(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def remove_sink(self, sink: EventSink) -> None:
        with contextlib.suppress(ValueError):
            self._sinks.remove(sink)

    def emit(self, kind: str, *, verbose: bool = False, **detail: Any) -> None:
        event = SimEvent(utcnow(), self.code, kind, detail, verbose)
        if not verbose:  # heartbeats and meter samples would crowd out what matters
            self.recent.append(event)
        for sink in list(self._sinks):
            sink(event)
        log.debug(event.line())

    @property
    def online(self) -> bool:
        return self._online.is_set()

    async def start(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Start the supervisor; with ``wait``, return once the platform accepted the pile
        (raise :class:`PileRejected` when it refused, TimeoutError after ``timeout``)."""
        if self._supervisor is None:
            self._want_online.set()
            self._supervisor = asyncio.create_task(
                self._supervise(), name=f"sim-supervisor-{self.code}"
            )
        if wait:
            await self.wait_online(timeout if timeout is not None else self._deadline())

    async def close(self) -> None:
        """Stop everything and close the link gracefully."""
        self._closing = True
        self._want_online.clear()
        tasks = [t for t in (self._supervisor, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self._drop_link(abrupt=False)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._online.clear()
        self._offline.set()

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _deadline(self) -> float:
        return max(self.config.response_timeout * 3, self.config.reconnect_max_delay)

    async def wait_online(self, timeout: float | None = None) -> None:
        if self._rejection is not None:
            raise self._rejection
        if self._online.is_set():
            return
        waiters = [
            asyncio.ensure_future(self._online.wait()),
            asyncio.ensure_future(self._dead.wait()),
        ]
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        if self._rejection is not None:
            raise self._rejection
        if not done:
            raise TimeoutError(f"{self.code}: not online after {timeout}s")

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A task that lives as long as the pile (cancelled by :meth:`close`)."""
        task = asyncio.create_task(coro, name=f"sim-{name}-{self.code}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.emit("error", task=task.get_name(), error=f"{type(exc).__name__}: {exc}")

    async def _supervise(self) -> None:
        delay = self.config.reconnect_delay
        while not self._closing:
            await self._want_online.wait()
            boot = self._needs_boot or self.config.boot_on_reconnect
            try:
                await self._connect(boot=boot)
            except PileRejected as exc:
                self.emit("rejected", reason=str(exc))
                with contextlib.suppress(Exception):
                    await self._drop_link(abrupt=False)
                self._rejection = exc
                self._dead.set()
                return
            except Exception as exc:
                self.emit("connect_failed", error=f"{type(exc).__name__}: {exc}".strip(": "))
                with contextlib.suppress(Exception):
                    await self._drop_link(abrupt=True)
                await asyncio.sleep(delay * (0.5 + self.rng.random()))
                delay = min(delay * 2, self.config.reconnect_max_delay)
                continue
            delay = self.config.reconnect_delay
            self._needs_boot = False
            self._offline.clear()
            try:
                # statuses first, then "online": a scenario waiting to send a late stop
                # record must come after the pile's post-boot status (case #25)
                await self._on_online(booted=boot)
                self._online.set()
                self.emit("online", booted=boot)
            except LinkDown as exc:
                # the platform went quiet in the middle of the greeting: start over
                self.emit("connect_failed", error=str(exc))
                await self._drop_link(abrupt=True)
            await self._wait_link_closed()
            self._online.clear()
            self._offline.set()
            if not self._closing:
                self.emit("offline")

    # --- physics ------------------------------------------------------------------------

    def gun(self, number: int) -> Gun:
        try:
            return self.guns[number]
        except KeyError:
            raise ScenarioError(f"{self.code} has no connector {number}") from None

    def accrue(self, gun: Gun) -> None:
        """Add the energy delivered since the last accrual (the car keeps charging while
        the pile is offline: case #18 2019-01-09)."""
        now = time.monotonic()
        session = gun.session
        if session is not None and session.charging and gun.last_accrual:
            seconds = (now - gun.last_accrual) * self.config.time_scale
            wh = self.power_w(gun) * seconds / 3600
            gun.meter.add(wh)
            gun.soc = min(100.0, gun.soc + wh * 100 / self.config.battery_wh)
        gun.last_accrual = now

    def power_w(self, gun: Gun) -> float:
        session = gun.session
        if session is None or not session.charging:
            return 0.0
        # the car tapers off near full, as batteries do
        return self.config.power_w * (0.3 if gun.soc >= 95 else 1.0)

    def _begin(self, gun: Gun, session: ChargeSession) -> None:
        gun.session = session
        gun.reserved = False
        gun.plugged = True
        gun.last_accrual = time.monotonic()
        self.spawn(self._meter_loop(gun, session), f"meter-{gun.number}")
        self.emit(
            "started",
            connector=gun.number,
            ref=session.ref,
            id_tag=session.id_tag,
            method=session.start_method,
            meter_wh=session.meter_start_wh,
        )

    def _end_energy(self, gun: Gun, session: ChargeSession) -> None:
        """Energy stops flowing: fix the stop reading and time."""
        if session.charging:
            self.accrue(gun)
            session.charging = False
            session.meter_stop_wh = gun.meter.register_wh
            session.stopped_at = utcnow()

    async def _meter_loop(self, gun: Gun, session: ChargeSession) -> None:
        while gun.session is session and session.charging:
            await asyncio.sleep(self.config.meter_interval)
            if gun.session is not session or not session.charging:
                return
            self.accrue(gun)
            if self.online:
                try:
                    await self._send_meter(gun, session)
                except LinkDown:
                    continue
                self.emit(
                    "meter",
                    verbose=True,
                    connector=gun.number,
                    ref=session.ref,
                    wh=gun.meter.register_wh - session.meter_start_wh,
                    soc=int(gun.soc),
                )

    # --- scenario primitives --------------------------------------------------------------

    async def set_status(self, gun: Gun, status: GunStatus) -> None:
        """Change a gun's status and report it (now if online, else on reconnect)."""
        gun.status = status
        self.emit("status", connector=gun.number, status=status.value, fault=gun.fault)
        if self.online:
            with contextlib.suppress(LinkDown):
                await self._send_status(gun)

    async def plug(self, connector: int) -> None:
        """The driver plugs the gun into the car."""
        gun = self.gun(connector)
        gun.plugged = True
        if gun.session is None and gun.fault is None:
            await self.set_status(gun, GunStatus.PREPARING)

    async def unplug(self, connector: int) -> None:
        """The driver returns the gun to its holster: occupancy ends."""
        gun = self.gun(connector)
        gun.plugged = False
        if gun.session is None and gun.fault is None:
            await self.set_status(gun, GunStatus.AVAILABLE)

    async def start_local(
        self,
        connector: int,
        id_tag: str | None = None,
        *,
        method: str = "card",
        pin: str | None = None,
    ) -> ChargeSession | None:
        """A card swipe or a password typed on the pile starts charging (cases #20, #11);
        None when the platform refuses the card."""
        gun = self.gun(connector)
        if gun.session is not None or gun.fault is not None:
            raise ScenarioError(f"{self.code} connector {connector} is busy or faulted")
        await self.wait_online()  # as long as it takes: real piles keep trying
        if not gun.plugged:
            await self.plug(connector)
        tag = id_tag or self.id_tag
        session = await self._authorize_and_start(gun, tag, method, pin)
        if session is None:
            self.emit("start_refused", connector=connector, id_tag=tag, method=method)
        return session

    async def wait_remote_start(self, timeout: float | None = None) -> ChargeSession:
        """Wait for the platform's remote start and begin that session."""
        self._remote_waiters += 1
        try:
            request = await asyncio.wait_for(self._remote_queue.get(), timeout)
        except TimeoutError:
            raise ScenarioError(f"{self.code}: no remote start within {timeout}s") from None
        finally:
            self._remote_waiters -= 1
        return await self._start_remote(self.gun(request.connector), request)

    async def charge(self, session: ChargeSession, seconds: float | None) -> bool:
        """Let the session charge for ``seconds`` (None: until stopped); True when the
        platform's remote stop came first."""
        try:
            await asyncio.wait_for(session.stop_requested.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def stop_session(
        self, session: ChargeSession, reason: StopReason, *, wire_reason: str | None = None
    ) -> ChargeSession:
        """End the session and deliver its record until the platform confirms it.

        Stopping a session twice (a reset while a scenario stops it) sends one record: the
        second caller waits for the first one's confirmation.
        """
        if session.stopping.is_set():
            await session.confirmed.wait()
            return session
        session.stopping.set()
        gun = self.gun(session.connector)
        self._end_energy(gun, session)
        session.reason = reason
        session.wire_reason = wire_reason or self.wire_reason(reason)
        await self._send_stop(session)
        session.confirmed.set()
        if gun.session is session:
            gun.session = None
        self.emit(
            "stopped",
            connector=gun.number,
            ref=session.ref,
            reason=session.wire_reason,
            energy_wh=session.energy_wh,
            meter_wh=session.meter_stop_wh,
        )
        if gun.fault is None and gun.status is GunStatus.CHARGING:
            await self.set_status(gun, GunStatus.FINISHING if gun.plugged else GunStatus.AVAILABLE)
        return session

    async def _wait_offline(self) -> None:
        await asyncio.wait_for(self._offline.wait(), self._deadline())

    async def go_offline(
        self, seconds: float, *, while_offline: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """The network goes away for ``seconds`` (charging goes on), then comes back
        (case #18 2019-01-09). ``while_offline`` is awaited before reconnecting."""
        self._want_online.clear()
        await self._drop_link(abrupt=True)
        await self._wait_offline()
        self.emit("network_down", seconds=seconds)
        await asyncio.sleep(seconds)
        if while_offline is not None:
            await while_offline()
        self.emit("network_up")
        self._want_online.set()
        await self.wait_online()  # as long as it takes: real piles keep trying

    async def reboot(
        self,
        seconds: float,
        *,
        while_offline: Callable[[], Awaitable[None]] | None = None,
    ) -> list[ChargeSession]:
        """Power-cycle the pile: charging stops, the link drops without a stop record,
        and after ``seconds`` it boots again and reports its guns idle although the gun
        may still be in the car (case #25 2021-01-14). Returns the interrupted sessions,
        whose late stop records are still to be sent."""
        interrupted = []
        for gun in self.guns.values():
            session = gun.session
            if session is not None and session.charging:
                self._end_energy(gun, session)
                interrupted.append(session)
        self._want_online.clear()
        await self._drop_link(abrupt=True)
        await self._wait_offline()
        self.emit("rebooting", seconds=seconds, interrupted=len(interrupted) or None)
        await asyncio.sleep(seconds)
        if while_offline is not None:
            await while_offline()
        for gun in self.guns.values():
            gun.reserved = False
            if gun.fault is None:
                gun.status = GunStatus.AVAILABLE
        self._needs_boot = True
        self._want_online.set()
        await self.wait_online()  # as long as it takes: real piles keep trying
        return interrupted

    async def raise_fault(self, connector: int, code: str = "EmergencyStop") -> None:
        """A fault on a gun (default: the emergency-stop button, case #24); charging stops
        at once, the stop record follows through :meth:`stop_session`."""
        gun = self.gun(connector)
        gun.fault = code
        if gun.session is not None:
            self._end_energy(gun, gun.session)
        await self.set_status(gun, GunStatus.FAULTED)

    async def clear_fault(self, connector: int) -> None:
        gun = self.gun(connector)
        gun.fault = None
        status = GunStatus.PREPARING if gun.plugged else GunStatus.AVAILABLE
        await self.set_status(gun, status)

    async def reset(self, *, hard: bool, when_idle: bool = False) -> None:
        """The platform's reset / remote reboot. A soft reset ends running sessions with
        their stop records first; a hard one cuts them, and their records (reason
        HardReset) follow the boot, as case #25 piles do."""
        if when_idle:
            while any(gun.session is not None for gun in self.guns.values()):
                await asyncio.sleep(self.config.meter_interval)
        if not hard:
            for gun in self.guns.values():
                if gun.session is not None:
                    gun.session.stop_requested.set()
                    await self.stop_session(gun.session, StopReason.SOFT_RESET)
        interrupted = await self.reboot(self.config.reboot_seconds)
        for session in interrupted:
            session.stop_requested.set()
            await self.stop_session(session, StopReason.HARD_RESET)

    # --- remote commands ------------------------------------------------------------------

    def free_gun(self, connector: int | None) -> Gun | None:
        """The gun a remote start may use: the one asked for, or the first idle one."""
        candidates: Iterable[Gun]
        if connector:
            gun = self.guns.get(connector)
            candidates = [gun] if gun is not None else []
        else:
            candidates = self.guns.values()
        for gun in candidates:
            if gun.session is None and gun.fault is None and not gun.reserved:
                return gun
        return None

    def accept_remote_start(self, connector: int | None) -> Gun | None:
        """Decide on a remote start: the gun reserved for it, or None to refuse."""
        if self._remote_waiters == 0 and not self.config.auto_charge:
            return None
        gun = self.free_gun(connector)
        if gun is not None:
            gun.reserved = True
        return gun

    def deliver_remote_start(self, request: RemoteStartRequest) -> None:
        """After the pile answered "accepted": hand the start to a waiting scenario, or
        charge on our own until the platform stops it (the demo's app-driven piles)."""
        self.emit("remote_start", connector=request.connector, id_tag=request.id_tag)
        if self._remote_waiters > 0:
            self._remote_queue.put_nowait(request)
        else:
            self.spawn(self._auto_session(request), f"auto-{request.connector}")

    async def _auto_session(self, request: RemoteStartRequest) -> None:
        gun = self.gun(request.connector)
        try:
            session = await self._start_remote(gun, request)
        except ScenarioError as exc:
            gun.reserved = False
            self.emit("start_failed", connector=gun.number, error=str(exc))
            return
        stopped = await self.charge(session, self.config.auto_stop_seconds)
        await self.stop_session(session, StopReason.REMOTE if stopped else StopReason.LOCAL)
        await self.unplug(gun.number)

    def session_by_ref(self, ref: str) -> ChargeSession | None:
        for gun in self.guns.values():
            if gun.session is not None and gun.session.ref == ref:
                return gun.session
        return None

    def request_stop(self, session: ChargeSession) -> None:
        """The platform's remote stop: whoever drives the session stops it."""
        self.emit("remote_stop", connector=session.connector, ref=session.ref)
        session.stop_requested.set()

    async def run_scenario(self, name: str, **params: Any) -> ScenarioResult:
        """Run one scripted scenario (see :mod:`pile_link.simulator.scenarios`)."""
        from pile_link.simulator import scenarios

        return await scenarios.run(self, name, **params)
