"""Is a pile's clock to be believed? A pile time becomes money (occupancy minutes, the
start and end of a session, the last meter reading an estimated bill is made from), and a
pile's clock can be hours off: a ``StatusNotification Available`` stamped 772 minutes ahead
closed an occupancy at once and charged ¥68.20 for time that had not passed (issue 14).

Every pile time the pile link marks as the pile's own (``received_at`` set) is checked
against the server's time of receipt: within ``PILE_CLOCK_TOLERANCE_SECONDS`` it is used;
outside it the server's time is used instead, and the pile's is kept beside it
(:class:`PileClockSkew`), which puts the order in the review queue (``pile_clock``).

A time in the past is no skew when the pile may have held the message while it was
offline (a buffered record: stamped before the current connection opened); stamped while
the pile was connected, it should have come at once."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from app.charging.port import (
    ConnectorStatusChanged,
    MeterSample,
    PileEvent,
    SessionStarted,
    SessionStopped,
)
from app.config import setting

log = logging.getLogger(__name__)

# the events whose times the pile's clock may stamp, and what each is called in review
CLOCKED: dict[type, str] = {
    ConnectorStatusChanged: "status",
    SessionStarted: "session_start",
    MeterSample: "meter",
    SessionStopped: "session_stop",
}

E = TypeVar("E", bound=PileEvent)
Clocked = ConnectorStatusChanged | SessionStarted | MeterSample | SessionStopped


@dataclasses.dataclass(frozen=True, slots=True)
class Skew:
    what: str
    pile_at: datetime
    used_at: datetime


def tolerance() -> timedelta:
    return timedelta(seconds=int(setting("PILE_CLOCK_TOLERANCE_SECONDS")))


def believable(
    pile_at: datetime,
    received_at: datetime,
    tol: timedelta,
    connected_since: Callable[[], datetime | None],
) -> bool:
    """True when ``pile_at`` may be used for money (see the module's docstring)."""
    if pile_at > received_at + tol:
        return False  # the future has not happened
    if pile_at < received_at - tol:
        since = connected_since()
        # stamped while connected, yet late: the pile's clock is behind
        return since is None or pile_at < since
    return True


def far_off(event: PileEvent, tol: timedelta) -> bool:
    """Cheap first look (no database): is any pile time of the event outside the
    tolerance either way? The meter batch hands such samples to the per-event path."""
    if not isinstance(event, Clocked) or event.received_at is None:
        return False
    received = event.received_at
    return abs(event.at - received) > tol or _future_start(event, received, tol)


def _future_start(event: PileEvent, received: datetime, tol: timedelta) -> bool:
    return (
        isinstance(event, SessionStopped)
        and event.started_at is not None
        and event.started_at > received + tol
    )


def checked(event: E, connected_since: Callable[[], datetime | None]) -> tuple[E, list[Skew]]:
    """The event with every unbelievable pile time replaced by the server's time of
    receipt, and what was replaced."""
    if not isinstance(event, Clocked) or event.received_at is None:
        return event, []
    what, received = CLOCKED[type(event)], event.received_at
    tol = tolerance()
    skews: list[Skew] = []
    changes: dict[str, object] = {}
    if not believable(event.at, received, tol, connected_since):
        skews.append(Skew(what, event.at, received))
        changes["at"] = received
    if isinstance(event, SessionStopped) and _future_start(event, received, tol):
        assert event.started_at is not None
        # a start in the future: the order's own start (or the request) is used instead
        skews.append(Skew("session_stop_started_at", event.started_at, received))
        changes["started_at"] = None
    if not skews:
        return event, []
    log.warning(
        "pile clock outside tolerance: server time used",
        extra={
            "pile_code": event.pile_code,
            "what": what,
            "pile_at": skews[0].pile_at.isoformat(),
            "received_at": received.isoformat(),
        },
    )
    return dataclasses.replace(event, **changes), skews  # type: ignore[arg-type]
