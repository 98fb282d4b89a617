"""The domain's side of the pile link: every pile event lands here and is committed
before the adapter acknowledges it to the pile (persist before you acknowledge).

Rules from the support log:
- a pile going offline or rebooting never finishes an order (cases #25, #18 2019, #15);
- only end-of-charge evidence moves an order on: a stop record finishes it, a gun-out
  status without a record puts it in ``stopping`` to await the record;
- a stop record is never refused: repeats are no-ops, late ones are reconciled, unknown
  ones become abnormal orders so no bill is lost."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import or_, select, true
from sqlalchemy.orm import lazyload

from app.catalogue import pile_access
from app.catalogue.models import Connector, FaultRecord, Pile, PileHardware, PileOnlinePeriod
from app.charging import connection_batches, meter_batches, pile_clock, session, starts
from app.charging.models import (
    ACTIVE_STATES,
    CLOSED_STATES,
    HELD_FOR_REVIEW,
    RUNNING_STATES,
    ChargeOrder,
    MeterSampleRecord,
    OrderState,
    PileClockSkew,
    PileMessage,
)
from app.charging.orders import active_order_on, new_order_no, session_number
from app.charging.port import (
    Admission,
    AdmissionRequest,
    AuthorizeRequested,
    ConnectorState,
    ConnectorStatusChanged,
    EventReply,
    FaultCleared,
    FaultRaised,
    MeterSample,
    PileConnected,
    PileDisconnected,
    PileEvent,
    PileTariff,
    SessionStarted,
    SessionStopped,
    TariffPeriod,
)
from app.charging.terms import freeze_terms
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.ledger import wallet
from app.tenancy.models import Driver, DriverCard
from app.uow import transactional, unit_of_work

log = logging.getLogger(__name__)

# the orders a pile's start record may be about (found by their id tag)
_MAY_BE_STARTING = (
    OrderState.STARTING,
    OrderState.CHARGING,
    OrderState.STOPPING,
    OrderState.FAILED,
)


def _jsonable(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            out[key] = _jsonable(value)
        elif isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, bytes):
            out[key] = value.hex()
        elif isinstance(value, str | int | float | bool | list) or value is None:
            out[key] = value
        else:
            out[key] = str(value)
    return out


class SessionOutcomes(Protocol):
    """What follows from a session's end-of-charge evidence beyond the order itself: the
    bill (``app.billing`` implements it; the composition root hands it in). Called inside
    the event's transaction; never commits, never raises into the event."""

    def order_finished(self, order: ChargeOrder) -> None: ...

    def gun_returned(self, connector_id: int, at: datetime) -> None: ...


class Application(Protocol):
    """An application to run each event in (a Flask app: a context per call)."""

    def app_context(self) -> AbstractContextManager[Any]: ...


def current_tariff(pile: Pile) -> PileTariff | None:
    """The current tariff of the pile's station, as a pile that prices sessions gets it."""
    station = pile.station
    version = station.tariff.current_version if station and station.tariff else None
    if version is None:
        return None
    return PileTariff(
        model_id=version.id,
        periods=tuple(
            TariffPeriod(
                seg.start_minute, seg.end_minute, seg.tier,
                Decimal(seg.electricity_price), Decimal(seg.service_price),
            )
            for seg in version.segments
        ),
    )  # fmt: skip


class PileEventService:
    """Implements ``PileEventHandler`` for the pile link. Each call runs in its own
    application context (whose teardown closes its session) and commits before it
    returns."""

    def __init__(self, app: Application, outcomes: SessionOutcomes, *, node: str = "") -> None:
        self.app = app
        self.outcomes = outcomes
        self.node = node  # the pile-link process whose connections these events come from

    # --- registry ----------------------------------------------------------------------------

    def is_registered(self, pile_code: str) -> bool:
        with self.app.app_context():
            return _pile(pile_code) is not None

    def admit(
        self,
        pile_code: str,
        password: str | None,
        *,
        protocol: str,
        address: str | None = None,
        replacing: bool = False,
    ) -> Admission:
        """Who may connect as the pile: :func:`app.catalogue.pile_access.admit`."""
        with self.app.app_context():
            answer = pile_access.admit(
                pile_code, password, protocol=protocol, address=address, replacing=replacing
            )
            return Admission(answer)

    def tariff_for(self, pile_code: str) -> PileTariff | None:
        """The station's current tariff, for piles that price sessions themselves."""
        with self.app.app_context():
            pile = _pile(pile_code)
            return current_tariff(pile) if pile else None

    def handle(self, event: PileEvent) -> EventReply:
        with self.app.app_context():
            try:
                with unit_of_work():  # committed before the pile hears the answer
                    return dispatch(event, self.outcomes, node=self.node)
            except Exception:
                log.exception(
                    "pile event failed",
                    extra={"pile_code": event.pile_code, "event": type(event).__name__},
                )
                raise

    def handle_meter_samples(self, events: list[MeterSample]) -> list[EventReply | Exception]:
        """Meter samples of many piles in one transaction (:mod:`app.charging.meter_batches`).
        If that transaction fails, each event is recorded alone, so that one bad sample never
        costs the others; events the batch leaves aside take the per-event path too."""
        return self._batch_else_alone(
            events, lambda: list(meter_batches.record_meter_samples(events)), "meter batch"
        )

    def handle_admissions(self, requests: list[AdmissionRequest]) -> list[Admission | Exception]:
        """Many connections admitted with one pile query (:func:`pile_access.admit_many`);
        those it leaves aside (a refusal, a replacement: recorded in the pile's history)
        and all of a batch that failed are admitted one at a time."""
        with self.app.app_context():
            try:
                batch = pile_access.admit_many(
                    [
                        (r.pile_code, r.password, r.protocol, r.address, r.replacing)
                        for r in requests
                    ]
                )
            except Exception:
                log.exception(
                    "admission batch failed: one at a time", extra={"requests": len(requests)}
                )
                batch = [None] * len(requests)
        out: list[Admission | Exception] = []
        for request, answer in zip(requests, batch, strict=True):
            if answer is not None:
                out.append(Admission(answer))
                continue
            try:
                out.append(
                    self.admit(
                        request.pile_code,
                        request.password,
                        protocol=request.protocol,
                        address=request.address,
                        replacing=request.replacing,
                    )
                )
            except Exception as exc:
                log.exception("admission failed", extra={"pile_code": request.pile_code})
                out.append(exc)
        return out

    def handle_connections(self, events: list[PileConnected]) -> list[EventReply | Exception]:
        """Piles connecting, many in one set-based transaction
        (:mod:`app.charging.connection_batches`). If that transaction fails, each event is
        recorded alone, so that one bad event never costs the others."""
        return self._batch_else_alone(
            events,
            lambda: list(connection_batches.record_connections(events, node=self.node)),
            "connection batch",
        )

    def _batch_else_alone(
        self,
        events: Sequence[PileEvent],
        record: Callable[[], list[EventReply | None]],
        what: str,
    ) -> list[EventReply | Exception]:
        """``record`` the events in one unit of work; those it leaves aside (None), and all
        of them if it fails, go through :meth:`handle` one at a time."""
        with self.app.app_context():
            try:
                batch = record()
            except Exception:
                log.exception(
                    f"{what} failed: recording one at a time", extra={"events": len(events)}
                )
                batch = [None] * len(events)
        out: list[EventReply | Exception] = []
        for event, reply in zip(events, batch, strict=True):
            if reply is None:
                try:
                    reply = self.handle(event)
                except Exception as exc:  # logged by handle; the pile gets an error answer
                    out.append(exc)
                    continue
            out.append(reply)
        return out


def dispatch(event: PileEvent, outcomes: SessionOutcomes, *, node: str = "") -> EventReply:
    pile = _pile(event.pile_code)
    if pile is None:
        log.warning("event from unregistered pile", extra={"pile_code": event.pile_code})
        return EventReply(accepted=False, reason="unknown_pile")
    # a pile time far from the server's is not used for money (issue 14)
    event, skews = pile_clock.checked(event, lambda: _connected_since(pile))
    reply = _handle(pile, event, outcomes, node)
    if skews:
        _keep_skews(pile, event, skews, reply)
    return reply


def _handle(pile: Pile, event: PileEvent, outcomes: SessionOutcomes, node: str) -> EventReply:
    match event:
        case PileConnected():
            return _connected(pile, event, node)
        case PileDisconnected():
            return _disconnected(pile, event, node)
        case ConnectorStatusChanged():
            return _status(pile, event, outcomes)
        case AuthorizeRequested():
            return _authorize(pile, event.id_tag)
        case SessionStarted():
            return _started(pile, event)
        case MeterSample():
            return _meter(pile, event)
        case SessionStopped():
            return _stopped(pile, event, outcomes)
        case FaultRaised():
            return _fault_raised(pile, event)
        case FaultCleared():
            return _fault_cleared(pile, event)
    return EventReply(accepted=False, reason="unknown_event")  # pragma: no cover


def _connected_since(pile: Pile) -> datetime | None:
    """When the pile's current connection opened (None: not connected)."""
    if not pile.online:
        return None
    return db.session.scalar(
        select(PileOnlinePeriod.online_at).where(
            PileOnlinePeriod.pile_id == pile.id, PileOnlinePeriod.offline_at.is_(None)
        )
    )


def _keep_skews(
    pile: Pile, event: PileEvent, skews: list[pile_clock.Skew], reply: EventReply
) -> None:
    """Both times of every pile time not used, on the orders whose money took the
    server's time instead: they go to the review queue (``pile_clock``)."""
    orders: list[ChargeOrder] = []
    match event:
        case ConnectorStatusChanged():
            conn = _connector(pile, event.connector_number)
            if conn is not None:
                orders = list(
                    db.session.scalars(
                        select(ChargeOrder).where(
                            ChargeOrder.connector_id == conn.id,
                            or_(
                                ChargeOrder.gun_returned_at == event.at,
                                ChargeOrder.energy_ended_at == event.at,
                                ChargeOrder.awaiting_record_since == event.at,
                            ),
                        )
                    )
                )
        case SessionStarted() | SessionStopped():
            ref = reply.session_ref or getattr(event, "session_ref", None)
            found = _order_by_ref(pile, ref)
            orders = [found] if found is not None else []
        case MeterSample():
            found = _order_by_ref(pile, event.session_ref)
            if found is None:
                conn = _connector(pile, event.connector_number)
                found = active_order_on(conn.id) if conn else None
            orders = [found] if found is not None else []
    for skew in skews:
        for order in orders or (None,):
            db.session.add(
                PileClockSkew(
                    pile_code=pile.code,
                    order_id=order.id if order is not None else None,
                    what=skew.what,
                    pile_at=skew.pile_at,
                    used_at=skew.used_at,
                )
            )
    if orders:
        log.warning(
            "order in review: the pile's clock was not used",
            extra={"pile_code": pile.code, "order_no": [o.order_no for o in orders]},
        )


def pile_went_silent(pile_code: str, at: datetime) -> bool:
    """The heartbeat watchdog's verdict, as if the pile link had seen the timeout: an
    offline period, running orders flagged, nothing finished. No commit."""
    pile = _pile(pile_code)
    if pile is None:
        return False
    _disconnected(pile, PileDisconnected(pile_code, at, "heartbeat_timeout"))
    return True


@transactional
def recover_after_restart(node: str, now: datetime | None = None) -> list[str]:
    """A pile-link process starting: whatever the last process under this node name left
    open it closes (issue 15 #9: after a kill -9 piles stayed online with no trace). Each
    open period ends at its pile's last sign of life with reason ``platform_restart``, the
    pile is offline until it reconnects, and its running orders are flagged as offline
    during (they settle normally from the pile's own records). Returns the pile codes."""
    moment = now or utcnow()
    left = db.session.execute(
        select(PileOnlinePeriod, Pile)
        .join(Pile, Pile.id == PileOnlinePeriod.pile_id)
        .where(PileOnlinePeriod.offline_at.is_(None), PileOnlinePeriod.node == node)
        .options(lazyload("*"))
    ).all()
    codes: list[str] = []
    for period, pile in left:
        seen = pile.last_seen_at or period.online_at
        period.offline_at = max(min(seen, moment), period.online_at)
        period.offline_reason = "platform_restart"
        pile.online = False
        for order in _active_orders(pile):
            order.offline_during = True
        codes.append(pile.code)
    if codes:
        log.warning(
            "closed what the last pile-link process left open",
            extra={"node": node, "piles": len(codes)},
        )
    return sorted(set(codes))


def _pile(code: str) -> Pile | None:
    # every pile event starts here: load the pile alone, its station/tariff graph only when
    # a handler touches it (bench/bench_pile_link.py: 5.1 ms -> 2.3 ms per meter value)
    return db.session.scalar(select(Pile).where(Pile.code == code).options(lazyload("*")))


def _connector(pile: Pile, number: int | None) -> Connector | None:
    if number is None:
        return None
    return next((c for c in pile.connectors if c.number == number), None)


def _keep(pile: Pile, kind: str, raw: dict[str, Any], order: ChargeOrder | None) -> None:
    db.session.add(
        PileMessage(
            pile_code=pile.code,
            order_id=order.id if order else None,
            kind=kind,
            payload=_jsonable(raw),
        )
    )


def _active_orders(pile: Pile) -> list[ChargeOrder]:
    return list(
        db.session.scalars(
            select(ChargeOrder).where(
                ChargeOrder.pile_id == pile.id, ChargeOrder.state.in_(ACTIVE_STATES)
            )
        )
    )


def _order_by_ref(pile: Pile, ref: str | None) -> ChargeOrder | None:
    """The pile's session ``ref``: its own reference, or the number the platform gave a
    session that came without one (the order's id, see :func:`session_number`)."""
    if not ref:
        return None
    order = db.session.scalar(
        select(ChargeOrder).where(
            ChargeOrder.pile_id == pile.id, ChargeOrder.pile_session_ref == ref
        )
    )
    if order is None and ref.isdigit() and len(ref) < 19:
        numbered = db.session.get(ChargeOrder, int(ref))
        if numbered is not None and numbered.pile_id == pile.id:
            order = numbered
    return order


def _held_elsewhere(pile: Pile, node: str) -> bool:
    """Whether the pile's open online period is another pile-link process's."""
    holder = db.session.scalar(
        select(PileOnlinePeriod.node)
        .where(PileOnlinePeriod.pile_id == pile.id, PileOnlinePeriod.offline_at.is_(None))
        .order_by(PileOnlinePeriod.online_at.desc())
        .limit(1)
    )
    return pile.online and holder is not None and holder != node


def _close_open_periods(pile: Pile, at: datetime, reason: str) -> None:
    for period in db.session.scalars(
        select(PileOnlinePeriod).where(
            PileOnlinePeriod.pile_id == pile.id, PileOnlinePeriod.offline_at.is_(None)
        )
    ):
        period.offline_at = max(at, period.online_at)
        period.offline_reason = reason


def _connected(pile: Pile, event: PileConnected, node: str = "") -> EventReply:
    # a boot after a reboot is a new connection, never the end of an order (case #25).
    # The pile link announces a connection when it opens and again on BootNotification:
    # an online pile with an open period keeps it (no false "reconnect" in its history).
    open_period = db.session.scalar(
        select(PileOnlinePeriod).where(
            PileOnlinePeriod.pile_id == pile.id, PileOnlinePeriod.offline_at.is_(None)
        )
    )
    if not (pile.online and open_period is not None and open_period.node == node):
        _close_open_periods(pile, event.at, "reconnect")
        db.session.add(
            PileOnlinePeriod(
                pile_id=pile.id, station_id=pile.station_id, online_at=event.at, node=node
            )
        )
    pile.online = True
    pile.last_seen_at = event.at
    firmware = event.info.get("firmware")
    if firmware:
        pile.firmware = str(firmware)[:50]
        # the unit serving now carries what it reported at boot (issue 14: the history's
        # first row kept the blank of its registration); an upgrade is the same unit
        current = db.session.scalar(
            select(PileHardware).where(
                PileHardware.pile_id == pile.id, PileHardware.removed_at.is_(None)
            )
        )
        if current is not None and current.firmware != pile.firmware:
            current.firmware = pile.firmware
    log.info("pile online", extra={"pile_code": pile.code, "protocol": event.protocol})
    return EventReply(accepted=True)


def _disconnected(pile: Pile, event: PileDisconnected, node: str = "") -> EventReply:
    if node and _held_elsewhere(pile, node):
        # the pile moved to another process, and this one only now noticed its old, silent
        # connection: the pile is online there, its period and orders are that process's
        log.info(
            "disconnect of a pile held by another process: ignored",
            extra={"pile_code": pile.code, "node": node, "reason": event.reason},
        )
        return EventReply(accepted=True)
    # offline is not finished (cases #18 2019-01-09, #15): orders stay as they are
    _close_open_periods(pile, event.at, event.reason)
    pile.online = False
    for order in _active_orders(pile):
        order.offline_during = True
    log.info("pile offline", extra={"pile_code": pile.code, "reason": event.reason})
    return EventReply(accepted=True)


def _status(pile: Pile, event: ConnectorStatusChanged, outcomes: SessionOutcomes) -> EventReply:
    pile.last_seen_at = event.at
    conn = _connector(pile, event.connector_number)
    if conn is None:
        # connector 0 is the whole pile in OCPP; unknown guns are logged, not fatal
        return EventReply(accepted=True)
    conn.status = event.state.value
    conn.status_at = event.at
    if event.state is not ConnectorState.FAULTED and event.error_code in (None, "", "NoError"):
        # a healthy status closes faults the pile never cleared (e.g. across a reconnect)
        _fault_cleared(pile, FaultCleared(pile.code, conn.number, "", event.at))
    order = active_order_on(conn.id)
    if event.state is ConnectorState.FINISHING:
        for done in _orders_holding(conn):
            done.energy_ended_at = done.energy_ended_at or event.at
    elif event.state is ConnectorState.AVAILABLE:
        # the gun is back: occupancy ends for whatever order held this connector
        for done in _orders_holding(conn):
            done.energy_ended_at = done.energy_ended_at or event.at
            done.gun_returned_at = done.gun_returned_at or event.at
        outcomes.gun_returned(conn.id, event.at)  # occupancy ends and is charged
        if order is not None and order.state in (OrderState.CHARGING, OrderState.STARTING):
            # end-of-charge evidence without the record (case #25): await it, never settle
            session.evidence_without_record(order, event.at)
            log.info(
                "gun out without a stop record: awaiting record",
                extra={"pile_code": pile.code, "order_no": order.order_no},
            )
    return EventReply(accepted=True)


def _orders_holding(conn: Connector) -> list[ChargeOrder]:
    """Orders whose gun may still be in the car: active ones, and finished ones whose gun
    has not been returned yet (occupancy time)."""
    return list(
        db.session.scalars(
            select(ChargeOrder).where(
                ChargeOrder.connector_id == conn.id,
                ChargeOrder.gun_returned_at.is_(None),
                ChargeOrder.state.in_((*ACTIVE_STATES, *CLOSED_STATES)),
            )
        )
    )


# a start rule broken -> the reason told to the pile (OCPP idTagInfo, YKC 鉴权失败原因)
_PILE_REASONS: dict[str, str] = {
    "WALLET_INSUFFICIENT": "insufficient_balance",
    "DRIVER_DISABLED": "blocked",
}


def _card(pile: Pile, id_tag: str) -> DriverCard | None:
    return db.session.scalar(
        select(DriverCard).where(
            DriverCard.operator_id == pile.operator_id,
            DriverCard.id_tag == id_tag,
            DriverCard.is_active.is_(True),
        )
    )


def _authorize(pile: Pile, id_tag: str) -> EventReply:
    pending = db.session.scalar(
        select(ChargeOrder).where(
            ChargeOrder.pile_id == pile.id,
            ChargeOrder.id_tag == id_tag,
            ChargeOrder.state == OrderState.STARTING,
        )
    )
    if pending is not None:
        return EventReply(accepted=True)
    card = _card(pile, id_tag)
    if card is None:
        return EventReply(accepted=False, reason="unknown_card")
    driver = db.session.get(Driver, card.driver_id)
    if driver is None:
        return EventReply(accepted=False, reason="unknown_card")
    try:  # the rules an app start obeys, those that apply at the pile
        starts.check_pile_start(driver, pile)
    except DomainError as refusal:
        log.info(
            "start at the pile refused",
            extra={"pile_code": pile.code, "code": refusal.code, "why": refusal.message},
        )
        reason = _PILE_REASONS.get(refusal.code, "not_allowed_here")
        return EventReply(
            accepted=False,
            reason=reason,
            refusal_code=refusal.code,
            refusal_message=refusal.message,
        )
    return EventReply(accepted=True)


def _started(pile: Pile, event: SessionStarted) -> EventReply:
    conn = _connector(pile, event.connector_number)
    order = _order_by_ref(pile, event.pile_session_ref)
    if order is None and event.id_tag:
        order = db.session.scalar(
            select(ChargeOrder)
            .where(ChargeOrder.pile_id == pile.id, ChargeOrder.id_tag == event.id_tag)
            .where(ChargeOrder.state.in_(_MAY_BE_STARTING))
            .order_by(ChargeOrder.id.desc())
            .limit(1)
        )
        if (
            order is not None
            and order.state == OrderState.FAILED
            and event.initiated_by != "remote"
        ):
            order = None
        elif (
            order is not None
            and order.state not in (OrderState.STARTING, OrderState.FAILED)
            and order.started_at != event.at
        ):
            order = None  # an earlier session with the same card: this is a new one
    if order is None:
        reply = _authorize(pile, event.id_tag or "")
        if not reply.accepted or conn is None:
            _keep(
                pile,
                "session_start_refused",
                {
                    "event": _event_raw(event),
                    "reason": reply.reason,
                    "code": reply.refusal_code,
                    "message": reply.refusal_message,
                },
                None,
            )
            return dataclasses.replace(
                reply, accepted=False, reason=reply.reason or "unknown_connector"
            )
    later = _one_session_per_connector(conn, order, event.at) if conn is not None else False
    if order is None:
        assert conn is not None
        order = _new_pile_order(pile, conn, event, ended_by_later=later)
    if order.started_at is None:
        order.meter_start_wh = event.meter_start_wh
    if order.state in (OrderState.STARTING, OrderState.FAILED):
        # from failed: the pile started after all (a late success reply), the car charges
        session.start_confirmed(order, event.at)
    if later and order.state == OrderState.CHARGING:
        session.superseded(order, event.at)  # before any flush: the later one runs
    order.started_at = order.started_at or event.at
    if not order.pile_session_ref:
        order.pile_session_ref = session_number(order)
    _keep(pile, "session_started", _event_raw(event), order)
    log.info("session started", extra={"pile_code": pile.code, "order_no": order.order_no})
    driver = db.session.get(Driver, order.driver_id) if order.driver_id else None
    balance = wallet.balance_of(driver.id) if driver is not None else None
    return EventReply(accepted=True, session_ref=order.pile_session_ref, balance_fen=balance)


def _one_session_per_connector(conn: Connector, order: ChargeOrder | None, at: datetime) -> bool:
    """One running order per connector (issue 15 #7). A session the pile starts ends every
    running order on its connector that began before it (see :func:`session.superseded`:
    flagged, billed from the evidence at hand). True when a running order began after this
    session: its start came late (a buffered record) and it is the one that has ended."""
    others = db.session.scalars(
        select(ChargeOrder)
        .where(ChargeOrder.connector_id == conn.id, ChargeOrder.state.in_(RUNNING_STATES))
        .where(ChargeOrder.id != order.id if order is not None else true())
        .with_for_update()
    ).all()
    later = False
    for other in others:
        if (other.started_at or other.requested_at) > at:
            later = True
            continue
        session.superseded(other, at)
        log.warning(
            "a new session on the connector closed an earlier order",
            extra={"order_no": other.order_no, "connector_id": conn.id},
        )
    db.session.flush()
    return later


def _new_pile_order(
    pile: Pile, conn: Connector, event: SessionStarted, *, ended_by_later: bool = False
) -> ChargeOrder:
    """A start the pile made itself: card or password on the pile (cases #20, #11). When a
    later session already runs on the connector, this one has ended: it awaits its record."""
    card = _card(pile, event.id_tag or "")
    station = pile.station
    version = None
    if station is not None and station.tariff is not None:
        version = station.tariff.current_version
    order = session.open_order(
        "at_pile",
        order_no=new_order_no(event.at),
        operator_id=pile.operator_id,
        station_id=pile.station_id,
        pile_id=pile.id,
        connector_id=conn.id,
        connector_number=conn.number,
        driver_id=card.driver_id if card else None,
        id_tag=event.id_tag or "",
        start_method=(card.kind if card else "unknown"),
        tariff_version_id=version.id if version else None,
        timezone=station.timezone if station else "Asia/Shanghai",
        requested_at=event.at,
        pile_session_ref=event.pile_session_ref,
    )
    if version is None:
        order.abnormal_reason = "no_tariff"
    if ended_by_later:
        session.superseded(order, event.at)
    db.session.flush()
    freeze_terms(order)  # the price the driver watches is the price they pay (case #7)
    return order


def _event_raw(event: Any) -> dict[str, Any]:
    raw = dict(getattr(event, "raw", {}) or {})
    raw.setdefault("_event", type(event).__name__)
    for name in (
        "connector_number",
        "id_tag",
        "meter_start_wh",
        "meter_stop_wh",
        "reason",
        "session_ref",
    ):
        if hasattr(event, name):
            raw.setdefault(f"_{name}", getattr(event, name))
    raw.setdefault("_at", event.at.isoformat())
    return raw


def _meter(pile: Pile, event: MeterSample) -> EventReply:
    pile.last_seen_at = event.at
    order = _order_by_ref(pile, event.session_ref)
    if order is None:
        conn = _connector(pile, event.connector_number)
        order = active_order_on(conn.id) if conn else None
    if order is None or order.state not in (*ACTIVE_STATES,):
        return EventReply(accepted=True)  # nothing to attach to; never an error to the pile
    start, energy = meter_batches.session_energy(event, order.meter_start_wh, order.energy_wh)
    if start != order.meter_start_wh:
        order.meter_start_wh = start
    if energy is not None:
        order.energy_wh = energy
        order.last_meter_wh = energy
        order.last_meter_at = event.at
    if event.power_w is not None:
        order.power_w = event.power_w
    if event.soc_percent is not None:
        order.soc_percent = event.soc_percent
    if order.state == OrderState.STARTING:
        session.start_confirmed(order, event.at)
    db.session.add(
        MeterSampleRecord(order_id=order.id, **meter_batches.sample_values(event, energy))
    )
    return EventReply(accepted=True)


def _stopped(pile: Pile, event: SessionStopped, outcomes: SessionOutcomes) -> EventReply:
    order = _order_by_ref(pile, event.session_ref)
    if order is None:
        order = _orphan_record(pile, event)
        _keep(pile, "session_stopped", _event_raw(event), order)
        return EventReply(accepted=True, session_ref=order.pile_session_ref)
    _keep(pile, "session_stopped", _event_raw(event), order)
    if order.state == OrderState.ABNORMAL:
        # the same orphan record again (a pile retrying): kept above, and the order stays
        # where it is, abnormal and awaiting an operator, never moved to finished
        return EventReply(accepted=True, session_ref=order.pile_session_ref)
    meter_stop = meter_batches.readable_wh(event.meter_stop_wh)
    energy = _record_energy(order, event)
    doubts = _doubts(order, event, energy)
    if order.state in CLOSED_STATES:
        # a repeat or a late record for a closed order: accepted, reconciled, never refused
        if order.final_record_at is not None and order.meter_stop_wh == meter_stop:
            return EventReply(accepted=True, session_ref=order.pile_session_ref)
        order.late_record = True
        order.abnormal_reason = order.abnormal_reason or "late_record"
    order.meter_stop_wh = meter_stop
    if energy is not None:
        order.energy_wh = energy
        order.last_meter_wh = energy
    order.stopped_at = event.at
    order.energy_ended_at = order.energy_ended_at or event.at
    order.stop_reason = (event.reason or "")[:64]
    order.final_record_at = event.at
    if event.pile_amounts is not None:
        order.pile_amounts = event.pile_amounts.as_json()
    if order.started_at is None:
        order.started_at = event.started_at or order.requested_at
    if doubts:
        # accepted and kept (a refused record makes a real pile retry forever), but the
        # money waits for an operator: billing holds an order with this reason
        order.abnormal_reason = HELD_FOR_REVIEW
        log.warning(
            "stop record not believable: order held for review",
            extra={"pile_code": pile.code, "order_no": order.order_no, "doubts": doubts},
        )
    session.record_received(order)
    outcomes.order_finished(order)  # bill, coupon, wallet: flushed, committed below
    log.info(
        "session stopped",
        extra={"pile_code": pile.code, "order_no": order.order_no, "reason": order.stop_reason},
    )
    return EventReply(accepted=True, session_ref=order.pile_session_ref)


def _doubts(order: ChargeOrder, event: SessionStopped, energy: int | None) -> list[str]:
    """What makes a record's readings unbelievable: sent but unreadable or beyond any
    meter, or a meter that went backwards (below its start, or below the energy the
    session's own samples already showed; 1 Wh of rounding allowed)."""
    found = list(event.unreadable)
    for name in ("meter_stop_wh", "meter_start_wh", "energy_wh"):
        value = getattr(event, name)
        if value is not None and meter_batches.readable_wh(value) is None:
            found.append(name)
    stop = meter_batches.readable_wh(event.meter_stop_wh)
    begin = meter_batches.readable_wh(event.meter_start_wh)
    start = begin if begin is not None else order.meter_start_wh
    if stop is not None and start is not None and stop < start:
        found.append("meter_backwards")
    elif energy is not None and order.state not in CLOSED_STATES and energy + 1 < order.energy_wh:
        found.append("below_samples")
    return found


def _record_energy(order: ChargeOrder, event: SessionStopped) -> int | None:
    energy = meter_batches.readable_wh(event.energy_wh)
    if energy is not None:
        return energy
    begin = meter_batches.readable_wh(event.meter_start_wh)
    start = begin if begin is not None else order.meter_start_wh
    stop = meter_batches.readable_wh(event.meter_stop_wh)
    if stop is not None and start is not None:
        return max(stop - start, 0)
    return None


def _orphan_record(pile: Pile, event: SessionStopped) -> ChargeOrder:
    """A record for a session we never saw: kept as an abnormal order for review."""
    conn = _connector(pile, event.connector_number)
    order = session.open_order(
        "orphan_record",
        order_no=new_order_no(event.at),
        operator_id=pile.operator_id,
        station_id=pile.station_id,
        pile_id=pile.id,
        connector_id=conn.id if conn else None,
        connector_number=conn.number if conn else event.connector_number,
        start_method="unknown",
        abnormal_reason="unknown_session",
        pile_session_ref=event.session_ref,
        timezone=pile.station.timezone if pile.station else "Asia/Shanghai",
        requested_at=event.started_at or event.at,
        started_at=event.started_at,
        meter_start_wh=meter_batches.readable_wh(event.meter_start_wh),
        meter_stop_wh=meter_batches.readable_wh(event.meter_stop_wh),
        stopped_at=event.at,
        stop_reason=(event.reason or "")[:64],
        final_record_at=event.at,
        pile_amounts=event.pile_amounts.as_json() if event.pile_amounts else None,
    )
    order.energy_wh = _record_energy(order, event) or 0
    db.session.flush()
    log.warning(
        "stop record for an unknown session kept as abnormal order",
        extra={
            "pile_code": pile.code,
            "order_no": order.order_no,
            "session_ref": event.session_ref,
        },
    )
    return order


def _fault_raised(pile: Pile, event: FaultRaised) -> EventReply:
    open_same = db.session.scalar(
        select(FaultRecord).where(
            FaultRecord.pile_id == pile.id,
            FaultRecord.connector_number.is_(event.connector_number)
            if event.connector_number is None
            else FaultRecord.connector_number == event.connector_number,
            FaultRecord.code == event.code,
            FaultRecord.ended_at.is_(None),
        )
    )
    if open_same is not None:
        return EventReply(accepted=True)
    conn = _connector(pile, event.connector_number)
    running = active_order_on(conn.id) if conn else None
    if running is None and conn is None:
        orders = _active_orders(pile)
        running = orders[0] if orders else None
    db.session.add(
        FaultRecord(
            pile_id=pile.id,
            station_id=pile.station_id,
            connector_number=event.connector_number,
            code=event.code[:64],
            description=event.description[:200],
            started_at=event.at,
            order_id=running.id if running else None,
            raw=_jsonable(dict(event.raw)),
        )
    )
    log.info("fault raised", extra={"pile_code": pile.code, "code": event.code})
    return EventReply(accepted=True)


def _fault_cleared(pile: Pile, event: FaultCleared) -> EventReply:
    stmt = select(FaultRecord).where(FaultRecord.pile_id == pile.id, FaultRecord.ended_at.is_(None))
    if event.connector_number is not None:
        stmt = stmt.where(FaultRecord.connector_number == event.connector_number)
    if event.code:
        stmt = stmt.where(FaultRecord.code == event.code)
    for record in db.session.scalars(stmt):
        record.ended_at = max(event.at, record.started_at)
    return EventReply(accepted=True)
