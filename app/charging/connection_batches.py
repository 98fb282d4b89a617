"""Piles connecting in groups: many piles' ``PileConnected`` in one transaction, set-based
(issue 12: a reconnect storm of thousands of piles on one pile-link process).

The rules are those of ``pile_events._connected``, applied to a batch in the batch's
order with Core SQL: one query reads the piles with their open online periods and their
serving hardware, then one UPDATE of the piles, one of the periods a reconnect closes,
one INSERT of the new periods and one UPDATE of the hardware whose firmware changed: the
same round trips for 1 event or 200 (``meter_batches`` does the same for meter samples).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, String, Table, and_, any_, bindparam, func, insert, select, update

from app.catalogue.models import Pile, PileHardware, PileOnlinePeriod
from app.charging.port import EventReply, PileConnected
from app.extensions import db
from app.uow import transactional

log = logging.getLogger(__name__)

_ACCEPTED = EventReply(accepted=True)

_UNKNOWN_PILE = EventReply(accepted=False, reason="unknown_pile")

_piles: Table = Pile.__table__  # type: ignore[assignment]

_periods: Table = PileOnlinePeriod.__table__  # type: ignore[assignment]

_hardware: Table = PileHardware.__table__  # type: ignore[assignment]


@dataclass(slots=True)
class _Period:
    """An online period of the batch's view: one read (``id``) or one to insert."""

    online_at: datetime
    node: str
    id: int | None = None
    offline_at: datetime | None = None
    offline_reason: str = ""
    closed: bool = False  # by this batch


@dataclass(slots=True)
class _Pile:
    id: int
    station_id: int | None
    online: bool
    firmware: str
    read: list[_Period] = field(default_factory=list)  # the open periods read, by id
    open: list[_Period] = field(default_factory=list)  # open now in the batch's view
    new: list[_Period] = field(default_factory=list)  # periods this batch opens
    hardware_id: int | None = None  # the unit serving now (removed_at is NULL)
    hardware_firmware: str | None = None
    hardware_changed: bool = False
    seen_at: datetime | None = None
    firmware_changed: bool = False


@transactional
def record_connections(events: Sequence[PileConnected], node: str = "") -> list[EventReply]:
    """Record a batch of ``PileConnected`` in one transaction and commit it: one reply per
    event, in order. Raises, with nothing committed, when the transaction fails (the
    caller then records the events one at a time)."""
    if not events:
        return []
    piles = _read(sorted({e.pile_code for e in events}))
    replies: list[EventReply] = []
    for event in events:
        pile = piles.get(event.pile_code)
        if pile is None:
            log.warning("event from unregistered pile", extra={"pile_code": event.pile_code})
            replies.append(_UNKNOWN_PILE)
            continue
        _apply(pile, event, node)
        log.info("pile online", extra={"pile_code": event.pile_code, "protocol": event.protocol})
        replies.append(_ACCEPTED)
    _write(sorted(piles.values(), key=lambda p: p.id))
    return replies


def _apply(pile: _Pile, event: PileConnected, node: str) -> None:
    """``pile_events._connected`` on the batch's view of the pile."""
    # an online pile whose open period is this node's keeps it (the boot after the socket's
    # opening, or a boot again); anything else is a reconnect: close, open a new period
    first = pile.open[0] if pile.open else None
    if not (pile.online and first is not None and first.node == node):
        for period in pile.open:
            period.offline_at = max(event.at, period.online_at)
            period.offline_reason = "reconnect"
            period.closed = True
        period = _Period(online_at=event.at, node=node)
        pile.new.append(period)
        pile.open = [period]
    pile.online = True
    pile.seen_at = event.at
    firmware = event.info.get("firmware")
    if firmware:
        pile.firmware = str(firmware)[:50]
        pile.firmware_changed = True
        # the unit serving now carries what it reported at boot (issue 14)
        if pile.hardware_id is not None and pile.hardware_firmware != pile.firmware:
            pile.hardware_firmware = pile.firmware
            pile.hardware_changed = True


def _read(codes: list[str]) -> dict[str, _Pile]:
    """The piles, each open period and serving unit: one query."""
    if db.session.get_bind().dialect.name == "postgresql":
        which = _piles.c.code == any_(bindparam("codes", codes, type_=ARRAY(String)))
    else:
        which = _piles.c.code.in_(codes)
    rows = db.session.execute(
        select(
            _piles.c.id,
            _piles.c.code,
            _piles.c.station_id,
            _piles.c.online,
            _piles.c.firmware,
            _periods.c.id,
            _periods.c.online_at,
            _periods.c.node,
            _hardware.c.id,
            _hardware.c.firmware,
        )
        .select_from(
            _piles.outerjoin(
                _periods, and_(_periods.c.pile_id == _piles.c.id, _periods.c.offline_at.is_(None))
            ).outerjoin(
                _hardware,
                and_(_hardware.c.pile_id == _piles.c.id, _hardware.c.removed_at.is_(None)),
            )
        )
        .where(which)
        .order_by(_piles.c.id, _periods.c.id, _hardware.c.id)
    ).all()
    piles: dict[str, _Pile] = {}
    for row in rows:
        pile_id, code, station_id, online, firmware, period_id, online_at, period_node = row[:8]
        pile = piles.get(code)
        if pile is None:
            pile = piles[code] = _Pile(pile_id, station_id, bool(online), firmware or "")
            pile.hardware_id, pile.hardware_firmware = row[8], row[9]
        if period_id is not None and all(p.id != period_id for p in pile.read):
            period = _Period(online_at=online_at, node=period_node or "", id=period_id)
            pile.read.append(period)
            pile.open.append(period)
    return piles


def _write(piles: list[_Pile]) -> None:
    """Piles first, then their periods and hardware, each in id order: the order in which
    the per-event path (its flush: piles before the rows that refer to them) takes the
    same row locks."""
    touched = [p for p in piles if p.seen_at is not None]
    if not touched:
        return
    db.session.execute(
        _UPDATE_PILE,
        [
            {
                "b_id": p.id,
                "b_seen": p.seen_at,
                "b_firmware": p.firmware if p.firmware_changed else None,
            }
            for p in touched
        ],
    )
    closed = [
        {"b_id": period.id, "b_off": period.offline_at, "b_reason": period.offline_reason}
        for p in touched
        for period in p.read
        if period.closed
    ]
    if closed:
        db.session.execute(_CLOSE_PERIOD, closed)
    opened: list[dict[str, Any]] = [
        {
            "pile_id": p.id,
            "station_id": p.station_id,
            "online_at": period.online_at,
            "offline_at": period.offline_at,
            "offline_reason": period.offline_reason,
            "node": period.node,
        }
        for p in touched
        for period in p.new
    ]
    if opened:
        db.session.execute(insert(_periods), opened)
    firmware = [
        {"b_id": p.hardware_id, "b_firmware": p.hardware_firmware}
        for p in touched
        if p.hardware_changed
    ]
    if firmware:
        db.session.execute(_UPDATE_HARDWARE, firmware)


_UPDATE_PILE = (
    update(_piles)
    .where(_piles.c.id == bindparam("b_id"))
    .values(
        online=True,
        last_seen_at=bindparam("b_seen", type_=_piles.c.last_seen_at.type),
        # None keeps the pile's firmware: only a boot that reports one changes it
        firmware=func.coalesce(
            bindparam("b_firmware", type_=_piles.c.firmware.type), _piles.c.firmware
        ),
    )
)

_CLOSE_PERIOD = (
    update(_periods)
    .where(_periods.c.id == bindparam("b_id"))
    .values(
        offline_at=bindparam("b_off", type_=_periods.c.offline_at.type),
        offline_reason=bindparam("b_reason", type_=_periods.c.offline_reason.type),
    )
)

_UPDATE_HARDWARE = (
    update(_hardware)
    .where(_hardware.c.id == bindparam("b_id"))
    .values(firmware=bindparam("b_firmware", type_=_hardware.c.firmware.type))
)
