"""Simulated charging piles (OCPP 1.6J and YKC v1.6) with scripted scenarios from the
support log: what the demo, the tests and the benchmarks drive.

    async with SimulatedOcppPile("ws://127.0.0.1:9000/ocpp", "DEMO-OCPP-01") as pile:
        result = await pile.run_scenario("normal", charge_seconds=2)
        print(result.session_ref, result.energy_wh, result.wire_reason)

Command line: ``python -m pile_link.simulator --help``. Nothing here imports the domain
(``app``): a simulated pile knows the platform only through its sockets.
"""

from pile_link.simulator.base import (
    ChargeSession,
    GunStatus,
    LinkDown,
    PileConfig,
    PileRejected,
    ScenarioError,
    ScenarioResult,
    SimEvent,
    SimulatedPile,
    StopReason,
)
from pile_link.simulator.fleet import Fleet, FleetOptions, PileSpec, numbered, parse_piles
from pile_link.simulator.ocpp_pile import SimulatedOcppPile
from pile_link.simulator.scenarios import SCENARIOS, ScenarioParams
from pile_link.simulator.ykc_pile import SimulatedYkcPile

__all__ = [
    "SCENARIOS",
    "ChargeSession",
    "Fleet",
    "FleetOptions",
    "GunStatus",
    "LinkDown",
    "PileConfig",
    "PileRejected",
    "PileSpec",
    "ScenarioError",
    "ScenarioParams",
    "ScenarioResult",
    "SimEvent",
    "SimulatedOcppPile",
    "SimulatedPile",
    "SimulatedYkcPile",
    "StopReason",
    "numbered",
    "parse_piles",
]
