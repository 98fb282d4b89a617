"""A simulated YKC v1.6 pile over TCP, built on the project's sans-IO codec.

What it says, in the spec's order (§5.1-§5.3): login 0x01 (after every reset or
reconnect), the records it still holds, billing-model check 0x05 (and request 0x09 when
told its model is outdated), heartbeats 0x03 per gun, real-time data 0x13 on every change
and periodically while charging, card/password start 0x31 waiting for 0x32 and its serial,
and the transaction record 0x3B re-sent until the platform confirms it with 0x40. It
answers remote start 0x34 (0x33), remote stop 0x36 (0x35), time sync 0x56 (0x55),
billing-model set 0x58 (0x57), remote reboot 0x92 (0x91) and the other platform commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

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
from pile_link.ykc import codes, units
from pile_link.ykc.fields import PILE_TZ
from pile_link.ykc.frame import FrameDecoder
from pile_link.ykc.messages import (
    BalanceUpdate,
    BalanceUpdateReply,
    BillingModelCheck,
    BillingModelCheckReply,
    BillingModelReply,
    BillingModelRequest,
    BillingModelSet,
    BillingModelSetReply,
    CardStartReply,
    CardStartRequest,
    Heartbeat,
    HeartbeatReply,
    Login,
    LoginReply,
    Message,
    MessageDecodeError,
    OfflineCardClear,
    OfflineCardClearReply,
    OfflineCardClearResult,
    OfflineCardQuery,
    OfflineCardQueryReply,
    OfflineCardQueryResult,
    OfflineCardSync,
    OfflineCardSyncReply,
    ParkingLockCommand,
    ParkingLockReply,
    ReadRealtimeData,
    RealtimeData,
    RecordSegment,
    RemoteReboot,
    RemoteRebootReply,
    RemoteStart,
    RemoteStartReply,
    RemoteStop,
    RemoteStopReply,
    RemoteUpdate,
    RemoteUpdateReply,
    TariffRate,
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

# YKC v1.6 §6.3: a heartbeat every 10 s; three missed mean the link is down
DEFAULT_HEARTBEAT: Final = 10.0
MISSED_HEARTBEATS: Final = 3
PROTOCOL_VERSION: Final = 0x10  # version × 10 (§6.1 item 4): v1.6
NO_SERIAL: Final = "0" * 32
NO_CARD: Final = "0" * 16
# a physical card number (§3.3 物理卡号): 8 bytes shown as 16 hex digits
DEFAULT_CARD: Final = "00000000D14B0A54"
_CARD_RE: Final = re.compile(r"[0-9A-Fa-f]{1,16}")
_PILE_CODE_RE: Final = re.compile(r"\d{14}")
# §13.1 stop reason codes for the transaction record (§8.7 item 30)
_REASONS: Final = {
    StopReason.LOCAL: 0x45,  # 手动停止充电
    StopReason.REMOTE: 0x40,  # APP远程停止
    StopReason.EV_DISCONNECTED: 0x6B,  # 导引断开
    StopReason.REBOOT: 0x83,  # 充电桩断电: the pile lost power / restarted (case #25)
    StopReason.EMERGENCY_STOP: 0x72,  # 急停开入 (case #24)
    StopReason.SOFT_RESET: 0x40,  # stopped on the platform's reboot command
    StopReason.HARD_RESET: 0x83,
    StopReason.SOC_FULL: 0x41,  # SOC达到100%
}
# §7.2 item 18: bit 0 (the spec's Bit1) is the emergency-stop button
_EMERGENCY_BIT: Final = 1 << 0
_OTHER_FAULT_BIT: Final = 1 << 11  # 高压接触器故障, for any other simulated fault
# §8.3/§8.4 remote start failure reasons
_START_MISMATCH, _START_BUSY, _START_FAULT, _START_NOT_PLUGGED = 0x01, 0x02, 0x03, 0x05


def stop_reason_code(reason: StopReason) -> int:
    return _REASONS[reason]


@dataclass(eq=False)
class _Link:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    seq: int = 0
    last_rx: float = field(default_factory=time.monotonic)

    def next_seq(self) -> int:
        # §3.1: from 0, +1 per frame, back to 0 on overflow (and on every new connection)
        seq = self.seq
        self.seq = (self.seq + 1) & 0xFFFF
        return seq


class SimulatedYkcPile(SimulatedPile):
    """A YKC v1.6 pile at ``host:port``; ``code`` is its 14-digit pile number and
    ``id_tag`` the physical card number its card starts use (16 hex digits).

        async with SimulatedYkcPile("127.0.0.1", 8767, "55031412782305") as pile:
            result = await pile.run_scenario("normal", charge_seconds=1)
    """

    protocol = "ykc"

    def __init__(
        self,
        host: str,
        port: int,
        code: str,
        *,
        config: PileConfig | None = None,
        id_tag: str = DEFAULT_CARD,
        dc: bool = True,
        sink: EventSink | None = None,
    ) -> None:
        if not _PILE_CODE_RE.fullmatch(code):
            raise ValueError(f"a YKC pile number is 14 digits (§3.3), not {code!r}")
        if config is None:
            config = PileConfig(power_w=60_000, voltage_v=400.0) if dc else PileConfig()
        super().__init__(code, config=config, id_tag=id_tag, sink=sink)
        self.host = host
        self.port = port
        self.dc = dc
        self.heartbeat_interval = self.config.heartbeat_interval or DEFAULT_HEARTBEAT
        self.billing_model: BillingModelReply | BillingModelSet | None = None
        self.clock_offset = 0.0  # seconds the platform's time sync moved our clock
        self._link: _Link | None = None
        self._replies: dict[tuple[int, str], asyncio.Future[Message]] = {}
        # records sent and not yet confirmed, by serial: re-sent until 0x40 (§8.8)
        self._unconfirmed: dict[str, TransactionRecord] = {}
        self._acks: dict[str, asyncio.Future[int]] = {}
        self._login_drops = 0

    # --- the link -------------------------------------------------------------------------

    async def _connect(self, *, boot: bool) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.config.response_timeout
        )
        link = _Link(reader, writer)
        link.task = asyncio.create_task(self._read(link), name=f"sim-reader-{self.code}")
        self._link = link
        self.emit("connected", host=self.host, port=self.port)
        # §6.1: every reset and every reconnection starts with a login
        login = Login(
            pile_code=self.code,
            pile_type=0x00 if self.dc else 0x01,
            gun_count=len(self.guns),
            protocol_version=PROTOCOL_VERSION,
            firmware_version="SIM-1.0",
            network_type=0x01,  # LAN
            sim="0" * 20,
            carrier=0x04,
        )
        try:
            reply = await self._request(login, LoginReply.FRAME_TYPE)
        except LinkDown:
            # §5.1: a platform that refuses a pile may just hang up; say so after a few
            self._login_drops += 1
            if self._login_drops >= 3:
                raise PileRejected("the platform hangs up at login") from None
            raise
        assert isinstance(reply, LoginReply)
        self.emit("login", result=reply.result)
        if reply.result != LoginReply.ACCEPTED:
            raise PileRejected(f"login refused (result 0x{reply.result:02X})")
        self._login_drops = 0

    async def _read(self, link: _Link) -> None:
        decoder = FrameDecoder()
        try:
            while True:
                data = await link.reader.read(4096)
                if not data:
                    return
                link.last_rx = time.monotonic()
                for frame in decoder.feed(data):
                    try:
                        message = decode_message(frame)
                    except MessageDecodeError as exc:
                        self.emit("bad_frame", error=str(exc))
                        continue
                    await self._dispatch(message, frame.seq)
                for issue in decoder.take_issues():
                    self.emit("bad_bytes", issue=issue.kind, detail=issue.detail)
        except (ConnectionError, LinkDown):
            return
        finally:
            link.closed.set()
            for future in list(self._replies.values()):
                if not future.done():
                    future.set_exception(LinkDown(f"{self.code}: connection lost"))
            self._replies.clear()

    async def _wait_link_closed(self) -> None:
        link = self._link
        if link is None:
            return
        await link.closed.wait()
        if link.task is not None:
            await asyncio.gather(link.task, return_exceptions=True)
        link.writer.close()
        with contextlib.suppress(Exception):
            await link.writer.wait_closed()

    async def _drop_link(self, *, abrupt: bool) -> None:
        link = self._link
        if link is None:
            return
        if abrupt:
            link.writer.transport.abort()
        else:
            link.writer.close()
            with contextlib.suppress(Exception):
                await link.writer.wait_closed()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(link.closed.wait()), 5.0)
        if link.task is not None:
            await asyncio.gather(link.task, return_exceptions=True)
        link.writer.close()

    async def send(self, message: Message, *, seq: int | None = None) -> None:
        """Write one frame; ``seq`` for a reply (it reuses the request's, §3.1)."""
        link = self._link
        if link is None or link.closed.is_set():
            raise LinkDown(f"{self.code} is offline")
        frame = encode_message(message, link.next_seq() if seq is None else seq)
        try:
            link.writer.write(frame)
            await link.writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise LinkDown(f"{self.code}: {exc}") from exc

    async def _request(self, message: Message, reply_type: int, key: str = "") -> Message:
        """Send and wait for the platform's answer of ``reply_type`` (for ``key``)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Message] = loop.create_future()
        slot = (reply_type, key)
        self._replies[slot] = future
        try:
            await self.send(message)
            return await asyncio.wait_for(future, self.config.response_timeout)
        except TimeoutError:
            raise LinkDown(f"{self.code}: no 0x{reply_type:02X} reply") from None
        finally:
            if self._replies.get(slot) is future:
                del self._replies[slot]

    def _resolve(self, reply_type: int, key: str, message: Message) -> bool:
        future = self._replies.pop((reply_type, key), None)
        if future is None or future.done():
            return False
        future.set_result(message)
        return True

    async def _on_online(self, *, booted: bool) -> None:
        link = self._link
        assert link is not None
        # §5.1: first what was kept while offline, then the billing model, then heartbeats
        for record in list(self._unconfirmed.values()):
            await self.send(record)
            self.emit("record_resent", ref=record.serial)
        await self._check_billing_model()
        for gun in self.guns.values():
            await self._send_status(gun)
        self.spawn(self._heartbeats(link), "heartbeat")

    async def _check_billing_model(self) -> None:
        model_no = self.billing_model.model_no if self.billing_model else "0000"
        check = await self._request(
            BillingModelCheck(pile_code=self.code, model_no=model_no),
            BillingModelCheckReply.FRAME_TYPE,
        )
        assert isinstance(check, BillingModelCheckReply)
        if check.result == BillingModelCheckReply.CURRENT and self.billing_model is not None:
            return
        model = await self._request(
            BillingModelRequest(pile_code=self.code), BillingModelReply.FRAME_TYPE
        )
        assert isinstance(model, BillingModelReply)
        self.billing_model = model
        self.emit("billing_model", model_no=model.model_no)

    async def _heartbeats(self, link: _Link) -> None:
        while not link.closed.is_set():
            await asyncio.sleep(self.heartbeat_interval)
            if link.closed.is_set():
                return
            if time.monotonic() - link.last_rx > MISSED_HEARTBEATS * self.heartbeat_interval:
                # §6.3: three heartbeats unanswered: the link is dead, reconnect
                self.emit("platform_silent")
                link.writer.transport.abort()
                return
            for gun in self.guns.values():
                with contextlib.suppress(LinkDown):
                    await self.send(
                        Heartbeat(
                            pile_code=self.code,
                            gun_no=gun.number,
                            gun_status=0x01 if gun.fault else 0x00,
                        )
                    )
            self.emit("heartbeat", verbose=True)

    # --- frames from the platform ---------------------------------------------------------

    async def _dispatch(self, message: Message, seq: int) -> None:
        match message:
            case LoginReply():
                self._resolve(LoginReply.FRAME_TYPE, "", message)
            case HeartbeatReply():
                pass
            case BillingModelCheckReply() | BillingModelReply():
                self._resolve(message.FRAME_TYPE, "", message)
            case CardStartReply():
                self._resolve(CardStartReply.FRAME_TYPE, str(message.gun_no), message)
            case TransactionRecordAck():
                self._record_confirmed(message)
            case RemoteStart():
                await self._on_remote_start(message, seq)
            case RemoteStop():
                await self._on_remote_stop(message, seq)
            case ReadRealtimeData():
                gun = self.guns.get(message.gun_no)
                if gun is not None:
                    await self.send(self._realtime(gun), seq=seq)
            case TimeSync():
                if message.time is not None:
                    self.clock_offset = (message.time - utcnow()).total_seconds()
                self.emit("time_sync", time=message.time and message.time.isoformat())
                await self.send(TimeSyncReply(pile_code=self.code, time=message.time), seq=seq)
            case BillingModelSet():
                self.billing_model = message
                self.emit("billing_model", model_no=message.model_no)
                await self.send(BillingModelSetReply(pile_code=self.code, result=0x01), seq=seq)
            case RemoteReboot():
                await self.send(RemoteRebootReply(pile_code=self.code, result=0x01), seq=seq)
                self.emit("reset", mode=message.mode)
                when_idle = message.mode == RemoteReboot.WHEN_IDLE
                self.spawn(self.reset(hard=True, when_idle=when_idle), "reset")
            case WorkParamsSet():
                self.emit("work_params", locked=message.locked, power=message.max_power_percent)
                await self.send(WorkParamsReply(pile_code=self.code, result=0x01), seq=seq)
            case BalanceUpdate():
                reply = BalanceUpdateReply(
                    pile_code=self.code, physical_card_no=message.physical_card_no, result=0x00
                )
                await self.send(reply, seq=seq)
            case OfflineCardSync():
                await self.send(
                    OfflineCardSyncReply(pile_code=self.code, result=0x01, fail_reason=0x00),
                    seq=seq,
                )
            case OfflineCardClear():
                results = tuple(
                    OfflineCardClearResult(physical_card_no=card, cleared=0x01, fail_reason=0)
                    for card in message.physical_card_nos
                )
                await self.send(
                    OfflineCardClearReply(pile_code=self.code, results=results), seq=seq
                )
            case OfflineCardQuery():
                found = tuple(
                    OfflineCardQueryResult(physical_card_no=card, present=0x00)
                    for card in message.physical_card_nos
                )
                await self.send(OfflineCardQueryReply(pile_code=self.code, results=found), seq=seq)
            case ParkingLockCommand():
                await self.send(
                    ParkingLockReply(pile_code=self.code, gun_no=message.gun_no, result=1),
                    seq=seq,
                )
            case RemoteUpdate():
                # a simulator has no firmware to fetch: "download timed out" (§11.4)
                await self.send(RemoteUpdateReply(pile_code=self.code, status=0x03), seq=seq)
            case _:
                frame_type = getattr(message, "frame_type", message.FRAME_TYPE)
                self.emit("ignored", frame_type=f"0x{frame_type:02X}")

    async def _on_remote_start(self, message: RemoteStart, seq: int) -> None:
        gun = None if message.pile_code != self.code else self.accept_remote_start(message.gun_no)
        if gun is None:
            reason = self._start_failure(message)
            self.emit("remote_start_rejected", connector=message.gun_no, reason=reason)
        reply = RemoteStartReply(
            serial=message.serial,
            pile_code=self.code,
            gun_no=message.gun_no,
            result=0x01 if gun else 0x00,
            fail_reason=0x00 if gun else self._start_failure(message),
        )
        await self.send(reply, seq=seq)
        if gun is not None:
            card = message.physical_card_no
            self.deliver_remote_start(
                RemoteStartRequest(
                    gun.number,
                    id_tag=card if card.strip("0") else message.logical_card_no,
                    session_ref=message.serial,
                    balance_fen=message.balance_fen,
                )
            )

    def _start_failure(self, message: RemoteStart) -> int:
        gun = self.guns.get(message.gun_no)
        if message.pile_code != self.code or gun is None:
            return _START_MISMATCH
        if gun.fault is not None:
            return _START_FAULT
        if gun.session is not None or gun.reserved:
            return _START_BUSY
        return _START_NOT_PLUGGED  # nobody here would plug the car in

    async def _on_remote_stop(self, message: RemoteStop, seq: int) -> None:
        gun = self.guns.get(message.gun_no)
        session = gun.session if gun is not None else None
        ok = session is not None and not session.stopping.is_set()
        fail = 0x00 if ok else (0x01 if gun is None else 0x02)  # §8.6 item 4
        await self.send(
            RemoteStopReply(
                pile_code=self.code, gun_no=message.gun_no, result=0x01 if ok else 0x00,
                fail_reason=fail,
            ),
            seq=seq,
        )  # fmt: skip
        if ok and session is not None:
            self.request_stop(session)
        else:
            self.emit("remote_stop_rejected", connector=message.gun_no)

    def _record_confirmed(self, ack: TransactionRecordAck) -> None:
        self._unconfirmed.pop(ack.serial, None)
        future = self._acks.get(ack.serial)
        if future is not None and not future.done():
            future.set_result(ack.result)

    # --- what the pile reports ------------------------------------------------------------

    def wire_reason(self, reason: StopReason) -> str:
        return f"0x{_REASONS[reason]:02X}"

    def _rate(self, at: datetime) -> TariffRate | None:
        if self.billing_model is None:
            return None
        local = at.astimezone(PILE_TZ)
        return self.billing_model.rate_at((local.hour * 60 + local.minute) // 30)

    def _amount4(self, energy_wh: int, at: datetime) -> tuple[int, int]:
        """(unit price in 0.00001 yuan/kWh, amount in 0.0001 yuan) of ``energy_wh``."""
        rate = self._rate(at)
        unit = rate.energy_price + rate.service_price if rate else 0
        # kWh4 × price5 / 10^5 = yuan4 (§7.2 item 17, §8.7 item 9)
        return unit, units.div_half_up(units.wh_to_kwh4(energy_wh) * unit, 100_000)

    def _realtime(self, gun: Gun) -> RealtimeData:
        session = gun.session
        charging = session is not None and session.charging
        if gun.fault is not None:
            status = codes.GunStatus.FAULT
        elif charging:
            status = codes.GunStatus.CHARGING
        elif gun.status is GunStatus.UNAVAILABLE:
            status = codes.GunStatus.OFFLINE
        else:
            status = codes.GunStatus.IDLE
        energy = 0
        minutes = 0
        if session is not None and session.charging:
            energy = gun.meter.register_wh - session.meter_start_wh
            minutes = int((utcnow() - session.started_at).total_seconds() * self.config.time_scale)
            minutes //= 60
        power = self.power_w(gun)
        voltage = self.config.voltage_v + self.rng.uniform(-2, 2) if charging else 0.0
        current = power / voltage if voltage else 0.0
        faults = 0
        if gun.fault == "EmergencyStop":
            faults = _EMERGENCY_BIT
        elif gun.fault is not None:
            faults = _OTHER_FAULT_BIT
        remaining_wh = self.config.battery_wh * (100 - gun.soc) / 100
        return RealtimeData(
            serial=session.ref if session is not None and charging else NO_SERIAL,
            pile_code=self.code,
            gun_no=gun.number,
            status=status,
            gun_returned=0x00 if gun.plugged else 0x01,
            gun_plugged=0x01 if gun.plugged else 0x00,
            voltage=round(voltage * 10),
            current=round(current * 10),
            gun_temperature=25 + 50,
            gun_wire_code=NO_CARD,
            soc=int(gun.soc) if gun.plugged else 0,
            battery_max_temperature=30 + 50,
            charging_minutes=min(minutes, 0xFFFF),
            remaining_minutes=min(int(remaining_wh * 60 / power) if power else 0, 0xFFFF),
            energy=units.wh_to_kwh4(energy),
            lossy_energy=units.wh_to_kwh4(energy),
            amount=self._amount4(energy, utcnow())[1],
            hardware_faults=faults,
        )

    async def _send_status(self, gun: Gun) -> None:
        await self.send(self._realtime(gun))

    async def _send_meter(self, gun: Gun, session: ChargeSession) -> None:
        await self.send(self._realtime(gun))

    async def _authorize_and_start(
        self, gun: Gun, id_tag: str, method: str, pin: str | None
    ) -> ChargeSession | None:
        if not _CARD_RE.fullmatch(id_tag):
            raise ScenarioError(f"a YKC card number is up to 16 hex digits, not {id_tag!r}")
        password = method == "password"
        request = CardStartRequest(
            pile_code=self.code,
            gun_no=gun.number,
            # §8.1 item 3: 0x01 card; 0x02 account (the password typed on the pile)
            start_mode=0x02 if password else 0x01,
            needs_password=0x01 if password else 0x00,
            card_no=id_tag.upper().rjust(16, "0"),
            password=password_md5_16(pin or "") if password else bytes(16),
        )
        try:
            reply = await self._request(request, CardStartReply.FRAME_TYPE, str(gun.number))
        except LinkDown as exc:
            raise ScenarioError(f"{self.code}: no answer to the card start") from exc
        assert isinstance(reply, CardStartReply)
        if not reply.authorized:
            reason = codes.describe(codes.AUTH_FAILURE_REASONS, reply.fail_reason)
            self.emit("card_refused", connector=gun.number, card=id_tag, reason=reason)
            return None
        self.accrue(gun)
        session = ChargeSession(
            connector=gun.number,
            id_tag=request.card_no,
            start_method=method,
            ref=reply.serial,
            meter_start_wh=gun.meter.register_wh,
            started_at=utcnow(),
        )
        self._begin(gun, session)
        await self.set_status(gun, GunStatus.CHARGING)
        return session

    async def _start_remote(self, gun: Gun, request: RemoteStartRequest) -> ChargeSession:
        if request.session_ref is None:
            gun.reserved = False
            raise ScenarioError(f"{self.code}: a remote start without a serial")
        gun.plugged = True
        self.accrue(gun)
        session = ChargeSession(
            connector=gun.number,
            id_tag=request.id_tag,
            start_method="remote",
            ref=request.session_ref,
            meter_start_wh=gun.meter.register_wh,
            started_at=utcnow(),
        )
        self._begin(gun, session)
        await self.set_status(gun, GunStatus.CHARGING)
        return session

    def _record(self, session: ChargeSession) -> TransactionRecord:
        assert session.meter_stop_wh is not None and session.stopped_at is not None
        assert session.reason is not None
        energy4 = units.wh_to_kwh4(session.energy_wh)
        unit, amount = self._amount4(session.energy_wh, session.started_at)
        empty = RecordSegment(unit_price=0, energy=0, lossy_energy=0, amount=0)
        used = RecordSegment(unit_price=unit, energy=energy4, lossy_energy=energy4, amount=amount)
        # all the energy goes to the rate period the session began in: enough for a
        # simulator (a real pile splits it at the period boundaries)
        kind = 2  # flat when there is no model
        if self.billing_model is not None:
            local = session.started_at.astimezone(PILE_TZ)
            kind = self.billing_model.periods[(local.hour * 60 + local.minute) // 30]
        segments = {name: used if i == kind else empty for i, name in enumerate(
            ("sharp", "peak", "flat", "valley"))}  # fmt: skip
        card = session.id_tag if session.start_method != "remote" else NO_CARD
        return TransactionRecord(
            serial=session.ref,
            pile_code=self.code,
            gun_no=session.connector,
            start_time=session.started_at,
            end_time=session.stopped_at,
            **segments,
            meter_start=units.wh_to_kwh4(session.meter_start_wh),
            meter_stop=units.wh_to_kwh4(session.meter_stop_wh),
            total_energy=energy4,
            lossy_total_energy=energy4,
            total_amount=amount,
            vin="",
            trade_type=0x01 if session.start_method == "remote" else 0x02,  # app / card
            trade_time=session.stopped_at,
            stop_reason=_REASONS[session.reason],
            physical_card_no=card if _CARD_RE.fullmatch(card) else NO_CARD,
        )

    async def _send_stop(self, session: ChargeSession) -> None:
        record = self._record(session)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._acks[record.serial] = future
        self._unconfirmed[record.serial] = record
        try:
            # §8.8: the pile keeps its bill and sends it again until the platform confirms
            while not future.done():
                with contextlib.suppress(LinkDown):
                    await self.send(record)
                    self.emit("record_sent", connector=session.connector, ref=record.serial)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        asyncio.shield(future), self.config.record_retry_interval
                    )
            if future.result() != TransactionRecordAck.ACCEPTED:
                self.emit("record_refused", ref=record.serial, result=future.result())
        finally:
            self._acks.pop(record.serial, None)
            self._unconfirmed.pop(record.serial, None)
