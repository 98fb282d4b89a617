"""psycopg waits on its socket through the gevent hub directly in a gevent-patched process.

psycopg picks its wait function once, at import: with ``select`` monkey-patched it falls
back to ``wait_poll``, which builds a gevent ``select.poll`` object for every wait, registers
the socket, starts a timer for its 0.1 s wake-up interval and tears all of it down again.
Under the pile link's meter load that was about a seventh of the process's CPU (issue 12,
bench/PROFILE.md). The interval exists so that a blocked query notices Ctrl-C; in a gevent
process the hub delivers signals itself, so a wait here is one io watcher on the hub and
one switch, and nothing else.

A wait with a timeout (psycopg's cancel path) goes to psycopg's poll loop, which knows how
to expire it. psycopg offers no setting for a wait function of one's own
(``PSYCOPG_WAIT_FUNC`` names only its own), so ``psycopg.waiting.wait``, which every
connection looks up each time it waits, is replaced by one that speaks the same generator
protocol as psycopg's own (the generator yields R, W or RW and is sent what is ready).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from gevent import get_hub
from gevent.hub import Waiter
from psycopg import OperationalError, waiting

_READ = 1  # libev's EV_READ, psycopg's Wait.R / Ready.R
_WRITE = 2  # EV_WRITE, Wait.W / Ready.W

# for the waits with a timeout: psycopg's poll loop, which looks ``select.poll`` up when it
# runs (gevent's, once patched; psycopg's C wait would block the hub)
_psycopg_wait = waiting.wait_poll


def install_gevent_wait() -> bool:
    """Make psycopg wait through the gevent hub when this process is gevent-patched;
    True when installed (idempotent). A process that is not patched keeps psycopg's
    C wait function: nothing changes there."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("select"):
        return False
    waiting.wait = wait_on_hub
    return True


def wait_on_hub(gen: Any, fileno: int, interval: float = 0.0, timeout: float | None = None) -> Any:
    """psycopg's ``WaitFunc``: drive ``gen`` (it yields what it waits for, R, W or RW, and
    is sent what is ready) with one io watcher per wanted set of events."""
    if timeout is not None:
        return _psycopg_wait(gen, fileno, interval, timeout)
    hub = get_hub()
    new_watcher = hub.loop.io
    watcher: Any = None
    events = 0
    try:
        wanted = next(gen)
        while True:
            if wanted != events:
                if watcher is not None:
                    watcher.close()
                events = int(wanted)
                watcher = new_watcher(fileno, events)
            waiter = Waiter(hub)
            watcher.start(waiter.switch, pass_events=True)
            try:
                revents = waiter.get()
            finally:
                watcher.stop()
            ready = revents & (_READ | _WRITE)
            if not ready:
                _check_fd_open(fileno)
                raise OperationalError("connection socket closed")
            wanted = gen.send(ready)
    except StopIteration as stop:
        return stop.value
    finally:
        if watcher is not None:
            watcher.close()


def _check_fd_open(fileno: int) -> None:
    try:
        os.fstat(fileno)
    except OSError as error:
        raise OperationalError("connection socket closed") from error
