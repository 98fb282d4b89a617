"""Simulated piles inside the embedded process (``make run`` with ``EVOP_DEMO_PILES``):
the simulator's asyncio loop runs in one greenlet of the gevent-patched process and
connects to the process's own OCPP and YKC ports, as a pile on the network would.

The piles run the ``idle`` scenario: they answer remote starts and meter while charging
until the platform stops them, and reconnect (with backoff) when the link drops. Nothing
else in the process uses asyncio; its selector is gevent's, so the loop yields to the
other greenlets whenever it waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import gevent

from pile_link.simulator.base import PileConfig, SimEvent
from pile_link.simulator.fleet import Fleet, FleetOptions, PileSpec

log = logging.getLogger("pile_link.simulator.demo")

# a meter sample every 2 s (the live page moves); real power and time (the platform's
# energy plausibility check stays on); a lost link is retried within a few seconds
DEMO_CONFIG = PileConfig(meter_interval=2.0, reconnect_delay=0.5, reconnect_max_delay=5.0)


def _reachable(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


class InProcessPiles:
    """Start the piles with :meth:`start`; :meth:`stop` closes their links and ends the
    loop (the platform sees a clean close, never a crash)."""

    def __init__(
        self,
        specs: Sequence[PileSpec],
        *,
        ocpp: tuple[str, int],
        ykc: tuple[str, int],
        config: PileConfig = DEMO_CONFIG,
    ) -> None:
        self.options = FleetOptions(
            ocpp_url=f"ws://{_reachable(ocpp[0])}:{ocpp[1]}/ocpp",
            ykc_host=_reachable(ykc[0]),
            ykc_port=ykc[1],
            scenario="idle",
            config=config,
            connect_rate=0.0,
        )
        self.fleet = Fleet(specs, self.options, sink=self._log)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._greenlet: gevent.Greenlet[Any, Any] | None = None

    @property
    def codes(self) -> list[str]:
        return [pile.code for pile in self.fleet.piles]

    def online(self) -> dict[str, bool]:
        return {pile.code: pile.online for pile in self.fleet.piles}

    def start(self) -> None:
        # the ocpp package logs every frame at INFO: the process's log is for the platform
        logging.getLogger("ocpp").setLevel(logging.WARNING)
        self._greenlet = gevent.spawn(asyncio.run, self._main())
        self._greenlet.name = "demo-piles"

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self.fleet.run(self._stop)

    def stop(self, timeout: float = 5.0) -> None:
        greenlet = self._greenlet
        if greenlet is None or greenlet.dead:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        greenlet.join(timeout)
        if not greenlet.dead:
            log.warning("demo piles did not stop within %ss: killed", timeout)
            greenlet.kill(block=True, timeout=1)

    @staticmethod
    def _log(event: SimEvent) -> None:
        log.log(logging.DEBUG if event.verbose else logging.INFO, event.line())
