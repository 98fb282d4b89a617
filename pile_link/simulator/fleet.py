"""Many simulated piles at once: which piles (named or numbered), how fast they connect,
and each one running its scenario once or in a loop until told to stop. The CLI is a thin
shell over :class:`Fleet`; benchmarks can use it directly.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pile_link.simulator.base import (
    EventSink,
    PileConfig,
    PileRejected,
    ScenarioResult,
    SimulatedPile,
)
from pile_link.simulator.ocpp_pile import SimulatedOcppPile
from pile_link.simulator.ykc_pile import DEFAULT_CARD, SimulatedYkcPile

OCPP = "ocpp16"
YKC = "ykc"
_YKC_CODE = re.compile(r"\d{14}")


@dataclass(frozen=True, slots=True)
class PileSpec:
    code: str
    protocol: str  # "ocpp16" or "ykc"


def parse_piles(text: str) -> list[PileSpec]:
    """``"DEMO-OCPP-01,55031412782305,ocpp:12345678901234"``: a 14-digit code is a YKC
    pile number (§3.3), anything else OCPP; ``ocpp:`` / ``ykc:`` say it outright."""
    specs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        prefix, _, rest = item.partition(":")
        if rest and prefix.lower() in ("ocpp", "ocpp16", "ykc"):
            protocol = YKC if prefix.lower() == YKC else OCPP
            specs.append(PileSpec(rest, protocol))
        else:
            specs.append(PileSpec(item, YKC if _YKC_CODE.fullmatch(item) else OCPP))
    return specs


def numbered(count: int, prefix: str, protocol: str = OCPP, start: int = 1) -> list[PileSpec]:
    """``count`` piles named ``prefix`` + number: ``SIM-00001``...; YKC numbers are padded
    to 14 digits (the prefix must then be digits)."""
    if protocol == YKC:
        if not prefix.isdigit() or len(prefix) >= 14:
            raise ValueError("YKC pile numbers are 14 digits: give a shorter digit prefix")
        width = 14 - len(prefix)
        if start + count - 1 >= 10**width:
            raise ValueError(f"{count} piles do not fit in {width} digits after {prefix!r}")
        return [PileSpec(f"{prefix}{n:0{width}d}", YKC) for n in range(start, start + count)]
    width = max(5, len(str(start + count - 1)))
    return [PileSpec(f"{prefix}{n:0{width}d}", OCPP) for n in range(start, start + count)]


@dataclass
class FleetOptions:
    ocpp_url: str = "ws://127.0.0.1:9000/ocpp"
    ykc_host: str = "127.0.0.1"
    ykc_port: int = 8767
    scenario: str = "normal"
    loop: bool = False
    pause: float = 2.0  # between two runs of a looping scenario
    id_tag: str = "DEMO-CARD-01"  # OCPP card / password
    ykc_card: str = DEFAULT_CARD  # YKC physical card number
    password: str | None = None  # OCPP HTTP Basic password
    config: PileConfig = field(default_factory=PileConfig)
    ykc_config: PileConfig | None = None  # None: config with DC power
    params: dict[str, Any] = field(default_factory=dict)  # ScenarioParams
    connect_rate: float = 200.0  # piles started per second (0: all at once)


class Fleet:
    """Build the piles, run them, close them all (also on cancellation)."""

    def __init__(
        self, specs: Sequence[PileSpec], options: FleetOptions, sink: EventSink | None = None
    ) -> None:
        self.options = options
        self.piles: list[SimulatedPile] = [self._make(spec, sink) for spec in specs]
        self.results: list[ScenarioResult] = []
        self.rejected: list[str] = []

    def _make(self, spec: PileSpec, sink: EventSink | None) -> SimulatedPile:
        o = self.options
        if spec.protocol == YKC:
            defaults = PileConfig()
            # a DC pile unless told otherwise: 60 kW at 400 V
            ykc_config = o.ykc_config or o.config.with_overrides(
                power_w=60_000 if o.config.power_w == defaults.power_w else None,
                voltage_v=400.0 if o.config.voltage_v == defaults.voltage_v else None,
            )
            return SimulatedYkcPile(
                o.ykc_host, o.ykc_port, spec.code, config=ykc_config, id_tag=o.ykc_card, sink=sink
            )
        return SimulatedOcppPile(
            o.ocpp_url, spec.code, config=o.config, id_tag=o.id_tag, password=o.password, sink=sink
        )

    async def run(
        self, stop: asyncio.Event | None = None, duration: float | None = None
    ) -> list[ScenarioResult]:
        """Run every pile's scenario; return when all are done, ``stop`` is set or
        ``duration`` seconds have passed. Piles are closed before this returns."""
        rate = self.options.connect_rate
        tasks = [
            asyncio.create_task(self._run_one(pile, i / rate if rate > 0 else 0.0))
            for i, pile in enumerate(self.piles)
        ]
        stop = stop or asyncio.Event()
        stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        everything: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*tasks))
        try:
            await asyncio.wait(
                {everything, stopper}, timeout=duration, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in (stopper, everything, *tasks):
                waiter.cancel()
            await asyncio.gather(stopper, everything, *tasks, return_exceptions=True)
            await asyncio.gather(*(pile.close() for pile in self.piles), return_exceptions=True)
        return self.results

    async def _run_one(self, pile: SimulatedPile, delay: float) -> None:
        await asyncio.sleep(delay)
        await pile.start(wait=False)
        try:
            await pile.wait_online(None)
        except PileRejected:
            self.rejected.append(pile.code)
            return
        params = dict(self.options.params)
        while True:
            try:
                result = await pile.run_scenario(self.options.scenario, **params)
            except Exception as exc:  # one pile's bug must not stop the others
                result = ScenarioResult(pile.code, pile.protocol, self.options.scenario, 0)
                result.ok, result.detail = False, f"{type(exc).__name__}: {exc}"
                pile.emit("scenario_failed", summary=result.summary())
            self.results.append(result)
            if not self.options.loop:
                return
            await asyncio.sleep(self.options.pause)
