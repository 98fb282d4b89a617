"""A month of history for ``make run`` (``flask seed-demo``): without it the console's
概览, 充电订单, 故障记录, 离线统计 and 电量损耗 are empty. Plus 广东云创's top-up offer
(top up ¥50, get two ¥10 and one ¥5 coupons), so the H5 wallet's "top up, then pay the
bill with the best coupon" journey can happen.

Nothing here is typed in by hand: every session is played through the pile-event domain
(:func:`app.charging.pile_events.dispatch`: connect, status, start, meter, stop, faults,
disconnections) at past times on the demo piles, by card-holding demo drivers, and each
bill is settled by :func:`app.billing.settlement.settle_order` at the moment its stop
record came, so the real engine prices it and debits the drivers' wallets. The events
carry no ``received_at``: their times are the server's own (as the pile-link's are for
piles that send none), so the pile-clock check has nothing to refuse.

Only the CLI calls this (never :func:`app.demo.seed_demo`, whose rows the tests count).
Idempotent: once the history drivers exist, a second run adds nothing. Deterministic for a
given day (a seeded random generator)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from app.billing import energy_loss, occupancy_charges, settlement
from app.billing.models import OccupancySession
from app.catalogue import piles
from app.catalogue.models import Pile, PileProtocol, Station
from app.charging import pile_events
from app.charging.models import CLOSED_STATES, ChargeOrder
from app.charging.port import (
    ConnectorState,
    ConnectorStatusChanged,
    FaultCleared,
    FaultRaised,
    MeterSample,
    PileConnected,
    PileDisconnected,
    PileEvent,
    SessionStarted,
    SessionStopped,
)
from app.db import utcnow
from app.drivers import members
from app.extensions import db
from app.ledger import wallet
from app.ledger.models import Wallet, WalletEntry
from app.notices import delivery
from app.notices.models import OutboxMessage, OutboxStatus
from app.promotions import coupons
from app.promotions.models import TopUpOffer
from app.tenancy.admin_auth import actor_for_user
from app.tenancy.models import AdminUser, Driver, DriverCard, Operator
from app.tenancy.scope import SYSTEM
from app.uow import transactional

HISTORY_DAYS = 30
TZ = ZoneInfo("Asia/Shanghai")
HISTORY_NODE = "demo-history"  # the pile-link "process" the history's connections came from
DRIVER_CREDIT_FEN = 500_000  # each history driver's top-up (manual credit), ¥5,000
OFFER_NAME = "充值满 50 元送 25 元券"


@dataclass(frozen=True, slots=True)
class HistoryPile:
    """A demo pile the history plays sessions on; ``station`` None: one of seed_demo's."""

    code: str
    admin: str  # the sub-operator admin who registers it
    station: str
    sessions_per_day: tuple[int, int]  # inclusive range
    protocol: str = PileProtocol.OCPP16
    current_type: str = "DC"
    rated_power_w: int = 60000
    connectors: int = 2
    vendor: str = ""
    model: str = ""
    new: bool = False  # registered by the history (the stations seed_demo leaves bare)


HISTORY_PILES = (
    HistoryPile("DEMO-OCPP-01", "yc_admin", "云创·深圳南山科技园站", (0, 2),
                current_type="AC", rated_power_w=7000),
    HistoryPile("55031412782305", "yc_admin", "云创·深圳南山科技园站", (1, 3),
                protocol=PileProtocol.YKC, rated_power_w=120000),
    HistoryPile("DEMO-OCPP-TH01", "yc_admin", "云创·广州天河站", (1, 3), rated_power_w=60000,
                vendor="星星充电", model="XX-DC60", new=True),
    HistoryPile("DEMO-OCPP-FT01", "kc_admin", "快充·深圳福田会展中心站", (1, 3),
                rated_power_w=120000, vendor="特来电", model="TLD-DC120", new=True),
    HistoryPile("DEMO-OCPP-FT02", "kc_admin", "快充·深圳福田会展中心站", (0, 2),
                current_type="AC", rated_power_w=7000, vendor="特来电", model="TLD-AC7",
                new=True),
)  # fmt: skip

# the history's card holders, per sub-operator (id tags the piles read)
HISTORY_DRIVERS = {
    "广东云创": (("DEMO-HIST-YC-01", "车主·陈"), ("DEMO-HIST-YC-02", "车主·林"),
                 ("DEMO-HIST-YC-03", "车主·黄"), ("DEMO-HIST-YC-04", "车主·周")),
    "深圳快充": (("DEMO-HIST-KC-01", "车主·吴"), ("DEMO-HIST-KC-02", "车主·郑"),
                 ("DEMO-HIST-KC-03", "车主·王")),
}  # fmt: skip

# local start hours, weighted toward the commute and the evening (valley at night)
START_HOURS = (0, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23)
HOUR_WEIGHTS = (2, 2, 3, 5, 5, 4, 3, 3, 3, 3, 3, 3, 4, 5, 6, 5, 4, 3, 3)
STOP_REASONS = ("EVDisconnected", "Local", "EVDisconnected", "Remote", "EVDisconnected")


@dataclass(frozen=True, slots=True)
class HistorySummary:
    created: bool
    orders: int = 0
    faults: int = 0
    disconnections: int = 0


class _SettleWhenRecorded:
    """The pile events' ``SessionOutcomes`` for the history: as billing's own
    (:class:`app.billing.session_outcomes.Billing`), but the bill is settled at the time
    its stop record came, not today (the overview counts an order on its settlement day).
    A settlement error propagates: the history must not hide one."""

    def order_finished(self, order: ChargeOrder) -> None:
        if order.state in CLOSED_STATES and not settlement.held_for_review(order):
            settlement.settle_order(order, now=order.stopped_at)

    def gun_returned(self, connector_id: int, at: datetime) -> None:
        # billing's own answer closes the connector's open occupancies; with none open (the
        # demo stations have no occupancy policy) it has nothing to do: skip its queries
        open_one = db.session.scalar(
            select(OccupancySession.id)
            .where(OccupancySession.connector_id == connector_id,
                   OccupancySession.ended_at.is_(None))
            .limit(1)
        )  # fmt: skip
        if open_one is not None:
            occupancy_charges.on_gun_returned(connector_id, at)


def _local(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).astimezone(UTC)


class _PileScript:
    """One pile's month as pile events, in time order."""

    def __init__(self, spec: HistoryPile, cards: list[str], rng: random.Random) -> None:
        self.spec = spec
        self.cards = cards
        self.rng = rng
        self.events: list[tuple[datetime, int, PileEvent]] = []
        self.busy: dict[int, list[tuple[datetime, datetime]]] = {
            n: [] for n in range(1, spec.connectors + 1)
        }
        self.register = {n: rng.randint(800_000, 3_000_000) for n in self.busy}
        self.sessions = 0
        self.faults = 0
        self.disconnections = 0

    def add(self, at: datetime, event: PileEvent) -> None:
        self.events.append((at, len(self.events), event))

    def free(self, conn: int, begin: datetime, end: datetime) -> bool:
        return all(end <= b or begin >= e for b, e in self.busy[conn])

    def session(self, begin: datetime, limit: datetime, *, estop: bool = False) -> bool:
        spec, rng = self.spec, self.rng
        ac = spec.current_type == "AC"
        power = int(spec.rated_power_w * rng.uniform(0.55, 0.85))
        if ac:
            minutes = rng.randint(90, 330)
        else:  # a DC session adds 15–60 kWh, at what the car takes
            power = min(power, rng.randint(40_000, 90_000))
            minutes = max(int(rng.randint(15_000, 60_000) * 60 / power), 12)
        if estop:
            minutes = rng.randint(8, 20)
        end = begin + timedelta(minutes=minutes)
        if end + timedelta(minutes=5) > limit:
            return False
        conn = next((n for n in self.busy if self.free(n, begin, end + timedelta(minutes=5))), None)
        if conn is None:
            return False
        self.busy[conn].append((begin - timedelta(minutes=3), end + timedelta(minutes=5)))
        energy = int(power * minutes / 60)
        card = rng.choice(self.cards)
        code = spec.code
        start_wh = self.register[conn]
        self.register[conn] = start_wh + energy
        ref = f"H{code[-4:]}{conn}{begin:%m%d%H%M}"
        self.add(begin, SessionStarted(code, conn, begin, start_wh, card, pile_session_ref=ref))
        if minutes >= 60:  # a long session's meter on the way (its energy by tier)
            at = begin + timedelta(minutes=minutes // 2)
            self.add(
                at,
                MeterSample(
                    code,
                    conn,
                    at,
                    ref,
                    energy_wh=start_wh + energy // 2,
                    power_w=power,
                    soc_percent=None if ac else 55,
                ),
            )
        if estop:  # 急停: the pile stops the session and reports the fault (case #24)
            self.add(end, FaultRaised(code, conn, "EmergencyStop", end, "急停按钮被按下"))
            self.add(
                end,
                ConnectorStatusChanged(
                    code,
                    conn,
                    ConnectorState.FAULTED,
                    end,
                    error_code="OtherError",
                    vendor_error="EmergencyStop",
                ),
            )
        reason = "EmergencyStop" if estop else rng.choice(STOP_REASONS)
        self.add(
            end,
            SessionStopped(
                code,
                ref,
                end,
                start_wh + energy,
                reason,
                connector_number=conn,
                started_at=begin,
                meter_start_wh=start_wh,
            ),
        )
        if estop:
            cleared = end + timedelta(minutes=rng.randint(15, 40))
            self.add(cleared, FaultCleared(code, conn, "EmergencyStop", cleared))
            self.busy[conn].append((end, cleared + timedelta(minutes=5)))
            end = cleared
            self.faults += 1
        back = end + timedelta(minutes=rng.randint(1, 4))
        self.add(
            back,
            ConnectorStatusChanged(
                code, conn, ConnectorState.AVAILABLE, back, error_code="NoError"
            ),
        )
        self.sessions += 1
        return True

    def fault(self, day: date) -> None:
        """A fault at night with no session on the connector (a ground or over-heat fault)."""
        code, rng = self.spec.code, self.rng
        conn = rng.choice(list(self.busy))
        begin = _local(day, 2, rng.randint(0, 50))
        end = begin + timedelta(minutes=rng.randint(40, 150))
        if not self.free(conn, begin, end):
            return
        self.busy[conn].append((begin, end))
        faults = (("GroundFailure", "接地故障"), ("HighTemperature", "枪头温度过高"))
        kind, words = rng.choice(faults)
        self.add(begin, FaultRaised(code, conn, kind, begin, words))
        self.add(
            begin,
            ConnectorStatusChanged(code, conn, ConnectorState.FAULTED, begin, error_code=kind),
        )
        self.add(end, FaultCleared(code, conn, kind, end))
        self.add(
            end,
            ConnectorStatusChanged(code, conn, ConnectorState.AVAILABLE, end, error_code="NoError"),
        )
        self.faults += 1

    def outage(self, day: date) -> None:
        """The pile drops off the network at night and comes back (离线统计)."""
        begin = _local(day, 4, self.rng.randint(0, 30))
        end = begin + timedelta(minutes=self.rng.randint(20, 200))
        if any(not self.free(n, begin, end) for n in self.busy):
            return
        for n in self.busy:
            self.busy[n].append((begin, end))
        self.add(begin, PileDisconnected(self.spec.code, begin, "heartbeat_timeout"))
        self.add(end, PileConnected(self.spec.code, self.spec.protocol, end))
        self.disconnections += 1


def _script(spec: HistoryPile, cards: list[str], first: date, now: datetime) -> _PileScript:
    rng = random.Random(f"{spec.code}:{first.isoformat()}")
    script = _PileScript(spec, cards, rng)
    script.add(_local(first, 0, 0), PileConnected(spec.code, spec.protocol, _local(first, 0, 0)))
    limit = now - timedelta(minutes=20)
    estop_day = rng.randint(3, HISTORY_DAYS - 3)
    fault_days = set(rng.sample(range(1, HISTORY_DAYS), 2))
    outage_days = set(rng.sample(range(1, HISTORY_DAYS), 2))
    for offset in range(HISTORY_DAYS + 1):
        day = first + timedelta(days=offset)
        if offset in fault_days:
            script.fault(day)
        if offset in outage_days:
            script.outage(day)
        wanted = rng.randint(*spec.sessions_per_day)
        hours = rng.choices(START_HOURS, HOUR_WEIGHTS, k=wanted)
        for n, hour in enumerate(sorted(hours)):
            begin = _local(day, hour, rng.randint(5, 55))
            script.session(begin, limit, estop=offset == estop_day and n == 0)
    last = max(at for at, _, _ in script.events)
    # the demo's piles are offline until a real (or simulated) one connects
    end = min(last + timedelta(minutes=10), now - timedelta(minutes=5))
    script.add(end, PileDisconnected(spec.code, end, "closed"))
    script.events.sort(key=lambda item: (item[0], item[1]))
    return script


def _admin(username: str) -> AdminUser:
    user = db.session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        raise RuntimeError("seed_demo() first: the demo admins are missing")
    return user


def _pile_for(spec: HistoryPile) -> Pile:
    pile = db.session.scalar(select(Pile).where(Pile.code == spec.code))
    if pile is not None:
        return pile
    admin = _admin(spec.admin)
    station = db.session.scalar(select(Station).where(Station.name == spec.station))
    assert station is not None, spec.station
    return piles.create_pile(
        actor_for_user(admin),
        {"station_id": station.id, "code": spec.code, "protocol": spec.protocol,
         "vendor": spec.vendor, "model": spec.model, "firmware": "1.6.0",
         "current_type": spec.current_type, "rated_power_w": spec.rated_power_w,
         "connector_count": spec.connectors},
    )  # fmt: skip


def _drivers() -> dict[int, list[str]]:
    """The history's card holders, each with money on the wallet: cards by operator id."""
    cards: dict[int, list[str]] = {}
    for op_name, holders in HISTORY_DRIVERS.items():
        op = db.session.scalar(select(Operator).where(Operator.name == op_name))
        if op is None:
            raise RuntimeError("seed_demo() first: the demo operators are missing")
        for n, (id_tag, nickname) in enumerate(holders, start=1):
            driver = members.create_driver(
                op.id, nickname=nickname, phone=f"1390000{op.id:02d}{n:02d}"
            )
            members.add_card(driver, id_tag, kind="card")
            wallet.post_entry(
                driver.id, DRIVER_CREDIT_FEN, "manual_credit",
                idempotency_key=f"demo-history:credit:{id_tag}", note="演示历史数据：预存余额",
            )  # fmt: skip
            cards.setdefault(op.id, []).append(id_tag)
    return cards


def _backdate_wallets(driver_ids: list[int], since: datetime) -> None:
    """Each history debit's ledger entry carries the time its bill was settled (the
    entries were written now, while the month was played); the credits the day before."""
    wallet_ids = select(Wallet.id).where(Wallet.driver_id.in_(driver_ids))
    settled = (
        select(ChargeOrder.stopped_at)
        .where(ChargeOrder.order_no == WalletEntry.ref_id)
        .scalar_subquery()
    )
    db.session.execute(
        update(WalletEntry)
        .where(WalletEntry.wallet_id.in_(wallet_ids), WalletEntry.ref_type == "order")
        .values(created_at=settled)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(WalletEntry)
        .where(WalletEntry.wallet_id.in_(wallet_ids), WalletEntry.reason == "manual_credit")
        .values(created_at=since - timedelta(days=1))
        .execution_options(synchronize_session=False)
    )


def _handle_unreachable_notices(driver_ids: list[int], now: datetime) -> None:
    """The history's drivers hold cards and no WeChat openid: each of their notices (charge
    started, finished) ends as the delivery job ends one for such a driver (failed unsent,
    NO_RECIPIENT, or TEMPLATE_NOT_CONFIGURED where the kind is off), not as a month of
    pending messages the console's outbox would show as a backlog. Never sent: only
    drivers with no openid are handled here, and the job gives up on them before WeChat."""
    pending = db.session.scalars(
        select(OutboxMessage)
        .join(Driver, Driver.id == OutboxMessage.driver_id)
        .where(OutboxMessage.driver_id.in_(driver_ids),
               OutboxMessage.status == OutboxStatus.PENDING,
               or_(Driver.openid.is_(None), Driver.openid == ""))
        .order_by(OutboxMessage.id)
    )  # fmt: skip
    for message in pending.all():
        delivery.deliver_one(message, now)


def _meter_reading(station_name: str, month: str) -> None:
    """The utility meter of the station for ``month``: what was billed plus ~7% of loss
    (transformer, cables, the piles' own draw), rounded to the kWh as a meter reads."""
    station = db.session.scalar(select(Station).where(Station.name == station_name))
    assert station is not None
    admin = db.session.scalar(select(AdminUser).where(AdminUser.operator_id == station.operator_id))
    assert admin is not None
    actor = actor_for_user(admin)
    billed = energy_loss.report(actor, month=month, station_id=station.id).items[0].billed_wh
    if billed <= 0:
        return
    reading_wh = round(billed / 0.93 / 1000) * 1000
    energy_loss.record_reading(
        actor, station.id, month=month, reading_wh=reading_wh, note="供电局电表月度抄表（演示）"
    )


def demo_topup_offer() -> TopUpOffer:
    """广东云创's "top up ¥50, get two ¥10 and one ¥5 coupons" (30 days), once."""
    yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    if yc is None:
        raise RuntimeError("seed_demo() first: 广东云创 is missing")
    found = db.session.scalar(
        select(TopUpOffer).where(TopUpOffer.operator_id == yc.id, TopUpOffer.name == OFFER_NAME)
    )
    if found is not None:
        return found
    template: dict[str, Any] = {"kind": "fixed", "validity_days": 30, "operator_id": yc.id}
    ten = coupons.create_template(SYSTEM, {**template, "name": "10元券", "amount_fen": 1000})
    five = coupons.create_template(SYSTEM, {**template, "name": "5元券", "amount_fen": 500})
    return coupons.create_offer(
        SYSTEM,
        {"operator_id": yc.id, "name": OFFER_NAME, "min_topup_fen": 5000,
         "items": [{"template_id": ten.id, "quantity": 2},
                   {"template_id": five.id, "quantity": 1}]},
    )  # fmt: skip


@transactional
def seed_demo_history(now: datetime | None = None) -> HistorySummary:
    """The demo's month of history and its top-up offer (see the module); needs
    :func:`app.demo.seed_demo` first. Adds nothing the second time."""
    demo_topup_offer()
    first_tag = next(iter(HISTORY_DRIVERS.values()))[0][0]
    if db.session.scalar(select(DriverCard.id).where(DriverCard.id_tag == first_tag)):
        return HistorySummary(created=False)
    now = now or utcnow()
    first = now.astimezone(TZ).date() - timedelta(days=HISTORY_DAYS)
    cards = _drivers()
    outcomes = _SettleWhenRecorded()
    summary = HistorySummary(created=True)
    events: list[tuple[datetime, int, int, PileEvent]] = []
    totals = [0, 0, 0]
    for n, spec in enumerate(HISTORY_PILES):
        pile = _pile_for(spec)
        script = _script(spec, cards[pile.operator_id], first, now)
        events.extend((at, n, seq, event) for at, seq, event in script.events)
        totals[0] += script.sessions
        totals[1] += script.faults
        totals[2] += script.disconnections
    events.sort(key=lambda item: (item[0], item[1], item[2]))
    for _, _, _, event in events:
        reply = pile_events.dispatch(event, outcomes, node=HISTORY_NODE)
        if not reply.accepted:
            raise RuntimeError(f"demo history event refused: {event!r}: {reply.reason}")
    db.session.flush()
    driver_ids = list(
        db.session.scalars(
            select(Driver.id)
            .join(DriverCard, DriverCard.driver_id == Driver.id)
            .where(DriverCard.id_tag.in_([t for tags in cards.values() for t in tags]))
        )
    )
    _backdate_wallets(driver_ids, _local(first, 0, 0))
    _handle_unreachable_notices(driver_ids, now)
    _meter_reading("云创·深圳南山科技园站", energy_loss.previous_month(now.date()))
    return HistorySummary(
        created=summary.created, orders=totals[0], faults=totals[1], disconnections=totals[2]
    )
