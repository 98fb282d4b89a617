"""Scripted scenarios, the same script for both protocols: each drives a simulated pile
through one charging story from the support log and returns what happened.

- ``normal``: card on the pile → charge → stop button on the pile.
- ``remote``: plug in, wait for the platform's remote start, charge until its remote stop.
- ``reboot_with_gun_plugged``: mid-session the pile restarts, reports its gun idle, and
  sends the bill late with reason Reboot (case #25 2021-01-14).
- ``offline_during_charge``: the network goes away mid-session, charging goes on, the
  pile comes back and stops normally (case #18 2019-01-09).
- ``emergency_stop``: the emergency-stop button mid-session: fault, stop with reason
  EmergencyStop, fault cleared later (case #24).
- ``card_start``: card or password start on the pile and the same credential stops it
  (cases #20, #11).
- ``idle``: heartbeats only (load tests, benchmarks); remote starts still work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pile_link.simulator.base import (
    ChargeSession,
    ScenarioError,
    ScenarioResult,
    SimEvent,
    SimulatedPile,
    StopReason,
)


@dataclass(frozen=True, slots=True)
class ScenarioParams:
    """Knobs of a scenario run; None means the pile's :class:`PileConfig` value."""

    connector: int = 1
    id_tag: str | None = None
    method: str = "card"  # card_start: "card" or "password"
    pin: str | None = None  # the password typed on a YKC pile
    charge_seconds: float | None = None
    offline_seconds: float | None = None
    reboot_seconds: float | None = None
    fault_seconds: float | None = None
    # remote: how long to wait for the platform's start and stop; idle: how long to idle
    wait_seconds: float | None = None
    # awaited while the pile is off the network, before it comes back (tests use it to
    # wait until the platform has seen the pile go offline)
    while_offline: Callable[[], Awaitable[None]] | None = None
    # awaited after the platform's remote stop, before the pile sends its stop record: a
    # real pile takes a moment to wind down, tests use it to pin the order of events
    after_remote_stop: Callable[[], Awaitable[None]] | None = None


Scenario = Callable[[SimulatedPile, ScenarioParams, ScenarioResult], Awaitable[None]]


def _charge_seconds(pile: SimulatedPile, params: ScenarioParams) -> float:
    return pile.config.charge_seconds if params.charge_seconds is None else params.charge_seconds


async def _card_session(pile: SimulatedPile, params: ScenarioParams) -> ChargeSession:
    session = await pile.start_local(
        params.connector, params.id_tag, method=params.method, pin=params.pin
    )
    if session is None:
        await pile.unplug(params.connector)  # the driver gives up and hangs the gun back
        raise ScenarioError(f"the platform refused {params.id_tag or pile.id_tag}")
    return session


async def _finish(
    pile: SimulatedPile,
    session: ChargeSession,
    remote_stop: bool,
    params: ScenarioParams,
    result: ScenarioResult,
) -> None:
    reason = StopReason.REMOTE if remote_stop else StopReason.LOCAL
    if remote_stop and params.after_remote_stop is not None:
        await params.after_remote_stop()
    await pile.stop_session(session, reason)
    await pile.unplug(session.connector)
    result.record(session)


async def normal(pile: SimulatedPile, params: ScenarioParams, result: ScenarioResult) -> None:
    session = await _card_session(pile, params)
    stopped = await pile.charge(session, _charge_seconds(pile, params))
    await _finish(pile, session, stopped, params, result)


async def remote(pile: SimulatedPile, params: ScenarioParams, result: ScenarioResult) -> None:
    wait = pile.config.remote_wait_seconds if params.wait_seconds is None else params.wait_seconds
    await pile.plug(params.connector)
    session = await pile.wait_remote_start(wait)
    result.connector = session.connector
    stopped = await pile.charge(session, wait)
    await _finish(pile, session, stopped, params, result)
    if session.connector != params.connector:
        await pile.unplug(params.connector)


async def reboot_with_gun_plugged(
    pile: SimulatedPile, params: ScenarioParams, result: ScenarioResult
) -> None:
    # case #25 2021-01-14: the pile restarted at 06:22 with the gun in the car, said
    # "idle" after the reboot, and its bill came later; the order must survive that
    session = await _card_session(pile, params)
    await pile.charge(session, _charge_seconds(pile, params) / 2)
    seconds = pile.config.reboot_seconds if params.reboot_seconds is None else params.reboot_seconds
    interrupted = await pile.reboot(seconds, while_offline=params.while_offline)
    if session not in interrupted:
        raise ScenarioError("the session was not running when the pile rebooted")
    await pile.stop_session(session, StopReason.REBOOT)
    await pile.unplug(session.connector)
    result.record(session)


async def offline_during_charge(
    pile: SimulatedPile, params: ScenarioParams, result: ScenarioResult
) -> None:
    # case #18 2019-01-09: offline 07:35-07:48 while the driver was still charging
    session = await _card_session(pile, params)
    half = _charge_seconds(pile, params) / 2
    await pile.charge(session, half)
    seconds = (
        pile.config.offline_seconds if params.offline_seconds is None else params.offline_seconds
    )
    await pile.go_offline(seconds, while_offline=params.while_offline)
    stopped = await pile.charge(session, half)
    await _finish(pile, session, stopped, params, result)


async def emergency_stop(
    pile: SimulatedPile, params: ScenarioParams, result: ScenarioResult
) -> None:
    # case #24: operators want every press of the button, and the order it interrupted
    session = await _card_session(pile, params)
    await pile.charge(session, _charge_seconds(pile, params) / 2)
    await pile.raise_fault(params.connector, "EmergencyStop")
    await pile.stop_session(session, StopReason.EMERGENCY_STOP)
    seconds = pile.config.fault_seconds if params.fault_seconds is None else params.fault_seconds
    await asyncio.sleep(seconds)
    await pile.clear_fault(params.connector)
    await pile.unplug(params.connector)
    result.record(session)


async def card_start(pile: SimulatedPile, params: ScenarioParams, result: ScenarioResult) -> None:
    # cases #20 (password charging kept working when QR starts failed) and #11 (password
    # stop on the pile screen): the same card or password starts and stops the session
    session = await _card_session(pile, params)
    stopped = await pile.charge(session, _charge_seconds(pile, params))
    if not stopped:
        session.stop_id_tag = session.id_tag
    await _finish(pile, session, stopped, params, result)


async def idle(pile: SimulatedPile, params: ScenarioParams, result: ScenarioResult) -> None:
    # heartbeats run on their own; remote starts are answered (auto_charge)
    if params.wait_seconds is None:
        await asyncio.Event().wait()
    else:
        await asyncio.sleep(params.wait_seconds)
    result.detail = f"after {params.wait_seconds}s"


SCENARIOS: dict[str, Scenario] = {
    "normal": normal,
    "remote": remote,
    "reboot_with_gun_plugged": reboot_with_gun_plugged,
    "offline_during_charge": offline_during_charge,
    "emergency_stop": emergency_stop,
    "card_start": card_start,
    "idle": idle,
}


async def run(pile: SimulatedPile, name: str, **params: object) -> ScenarioResult:
    """Run scenario ``name`` on ``pile`` (keyword arguments: :class:`ScenarioParams`).

    A scenario that cannot go on (a refused card, a remote start that never came) gives
    ``ok=False`` with the reason in ``detail``; other errors propagate.
    """
    try:
        script = SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
    options = ScenarioParams(**params)  # type: ignore[arg-type]
    result = ScenarioResult(pile.code, pile.protocol, name, options.connector)
    events: list[SimEvent] = []
    collect = events.append
    pile.add_sink(collect)
    pile.emit("scenario", name=name, connector=options.connector)
    try:
        await pile.wait_online()  # a pile waits for its platform as long as it takes
        await script(pile, options, result)
    except ScenarioError as exc:
        result.ok = False
        result.detail = str(exc)
    finally:
        pile.remove_sink(collect)
        result.events = events
    pile.emit("scenario_done" if result.ok else "scenario_failed", summary=result.summary())
    return result
