"""Watchdogs over running sessions: starts that never began, piles that went silent."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from app.catalogue.models import Pile
from app.charging import commands, pile_events, session
from app.charging.models import ChargeOrder, OrderState
from app.config import setting
from app.db import utcnow
from app.extensions import db
from app.uow import transactional, unit_of_work

log = logging.getLogger(__name__)


@transactional
def fail_stuck_starts(now: datetime | None = None) -> list[str]:
    """Orders still ``starting`` past ``STARTING_TIMEOUT_SECONDS`` never started: failed,
    so the connector is free and the driver is not kept waiting. Commits."""
    moment = now or utcnow()
    timeout = timedelta(seconds=int(setting("STARTING_TIMEOUT_SECONDS")))
    orders = db.session.scalars(
        select(ChargeOrder)
        .where(
            ChargeOrder.state == OrderState.STARTING, ChargeOrder.requested_at <= moment - timeout
        )
        .with_for_update(skip_locked=True)
    ).all()
    for order in orders:
        session.start_failed(order, "start_timeout: 充电桩未在规定时间内开始充电")
        log.warning("start timed out", extra={"order_no": order.order_no})
    return [o.order_no for o in orders]


def detect_offline_piles(now: datetime | None = None) -> list[str]:
    """Piles marked online that showed no sign of life for ``HEARTBEAT_TIMEOUT_SECONDS`` and
    that no pile link of ours holds: the same effect as the pile link noticing a heartbeat
    timeout (``PileDisconnected``): an offline period, orders flagged, nothing finished and
    no message to drivers (case #18 2019-01-09). Commits per pile.

    A process with no view of the pile connections (no pile link, no Redis) does nothing:
    heartbeats do not refresh ``last_seen_at``, so silence alone would mark idle piles
    offline."""
    port = commands.port()
    if type(port) is commands.NoPileLink:
        log.debug("offline detection skipped: this process cannot see pile connections")
        return []
    moment = now or utcnow()
    timeout = timedelta(seconds=int(setting("HEARTBEAT_TIMEOUT_SECONDS")))
    stale = db.session.scalars(
        select(Pile.code).where(
            Pile.online.is_(True),
            or_(Pile.last_seen_at.is_(None), Pile.last_seen_at <= moment - timeout),
        )
    ).all()
    gone: list[str] = []
    for code in stale:
        if port.is_online(code):  # a connection we hold is the better witness
            continue
        with unit_of_work():
            pile_events.pile_went_silent(code, moment)
        gone.append(code)
    return gone
