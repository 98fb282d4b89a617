"""``python -m pile_link.simulator``: simulated OCPP 1.6J and YKC v1.6 piles for the demo,
the tests and the benchmarks.

    python -m pile_link.simulator --piles DEMO-OCPP-01,55031412782305 --scenario normal --loop
    python -m pile_link.simulator --count 500 --code-prefix SIM- --scenario idle

One line per event on stdout (pile code first); Ctrl-C or SIGTERM stops cleanly. The exit
status is 0 when every scenario ran as scripted, 1 when one failed or a pile was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from app.config import env_setting
from pile_link.simulator.base import PileConfig, SimEvent
from pile_link.simulator.fleet import OCPP, YKC, Fleet, FleetOptions, numbered, parse_piles
from pile_link.simulator.scenarios import SCENARIOS
from pile_link.simulator.ykc_pile import DEFAULT_CARD


def _reachable(host: str) -> str:
    """Where to reach a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def platform_defaults() -> tuple[str, str, int]:
    """The OCPP URL, YKC host and port the platform listens on: the same ``EVOP_*``
    settings the server reads (issue 14: ``make demo-piles`` ignored them)."""
    ocpp_host = _reachable(str(env_setting("OCPP_HOST")))
    ocpp_url = f"ws://{ocpp_host}:{int(env_setting('OCPP_PORT'))}/ocpp"
    return ocpp_url, _reachable(str(env_setting("YKC_HOST"))), int(env_setting("YKC_PORT"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pile_link.simulator",
        description="Simulated charging piles (OCPP 1.6J over WebSocket, YKC v1.6 over TCP).",
    )
    ocpp_url, ykc_host, ykc_port = platform_defaults()
    where = p.add_argument_group("platform (defaults: the EVOP_* settings the server reads)")
    where.add_argument(
        "--ocpp-url",
        default=ocpp_url,
        help="OCPP endpoint without the pile code (default %(default)s)",
    )
    where.add_argument("--ykc-host", default=ykc_host)
    where.add_argument("--ykc-port", type=int, default=ykc_port)
    which = p.add_argument_group("piles")
    which.add_argument(
        "--piles",
        default="",
        help="comma-separated pile codes; 14 digits is YKC, else OCPP; "
        "'ocpp:' / 'ykc:' prefixes force the protocol",
    )
    which.add_argument("--count", type=int, default=0, help="add N numbered piles")
    which.add_argument("--code-prefix", default="SIM-", help="prefix of numbered piles")
    which.add_argument(
        "--protocol", choices=("ocpp", "ykc"), default="ocpp", help="protocol of numbered piles"
    )
    which.add_argument("--connectors", type=int, default=2, help="guns per pile")
    which.add_argument("--password", help="OCPP HTTP Basic password of every OCPP pile")
    which.add_argument(
        "--connect-rate",
        type=float,
        default=200.0,
        help="piles started per second (0: all at once)",
    )
    what = p.add_argument_group("scenario")
    what.add_argument("--scenario", choices=sorted(SCENARIOS), default="normal")
    what.add_argument("--loop", action="store_true", help="run the scenario again and again")
    what.add_argument("--pause", type=float, default=2.0, help="seconds between loop runs")
    what.add_argument("--connector", type=int, default=1)
    what.add_argument("--id-tag", default="DEMO-CARD-01", help="OCPP card or password")
    what.add_argument("--ykc-card", default=DEFAULT_CARD, help="YKC physical card (16 hex)")
    what.add_argument("--method", choices=("card", "password"), default="card")
    what.add_argument("--pin", help="password typed on a YKC pile (--method password)")
    what.add_argument("--charge-seconds", type=float)
    what.add_argument("--offline-seconds", type=float)
    what.add_argument("--reboot-seconds", type=float)
    what.add_argument("--fault-seconds", type=float)
    what.add_argument(
        "--wait-seconds",
        type=float,
        help="remote: wait this long for the platform; idle: idle this long",
    )
    timing = p.add_argument_group("timing and physics")
    timing.add_argument("--meter-interval", type=float, help="seconds between meter samples")
    timing.add_argument(
        "--heartbeat", type=float, help="heartbeat seconds (default: the platform's / 10 s for YKC)"
    )
    timing.add_argument("--power-w", type=int, help="charging power (default 7 kW, YKC 60 kW)")
    timing.add_argument("--time-scale", type=float, help="simulated seconds per real second")
    timing.add_argument("--duration", type=float, help="stop everything after this many seconds")
    timing.add_argument("--seed", type=int, default=0)
    p.add_argument("-v", "--verbose", action="store_true", help="also log meter samples")
    return p


def options_from(args: argparse.Namespace) -> FleetOptions:
    config = PileConfig(connectors=args.connectors, seed=args.seed).with_overrides(
        meter_interval=args.meter_interval,
        heartbeat_interval=args.heartbeat,
        power_w=args.power_w,
        time_scale=args.time_scale,
        charge_seconds=args.charge_seconds,
        offline_seconds=args.offline_seconds,
        reboot_seconds=args.reboot_seconds,
        fault_seconds=args.fault_seconds,
    )
    params = {
        "connector": args.connector,
        "method": args.method,
        "pin": args.pin,
        "wait_seconds": args.wait_seconds,
    }
    return FleetOptions(
        ocpp_url=args.ocpp_url,
        ykc_host=args.ykc_host,
        ykc_port=args.ykc_port,
        scenario=args.scenario,
        loop=args.loop,
        pause=args.pause,
        id_tag=args.id_tag,
        ykc_card=args.ykc_card,
        password=args.password,
        config=config,
        params={k: v for k, v in params.items() if v is not None},
        connect_rate=args.connect_rate,
    )


async def amain(args: argparse.Namespace) -> int:
    specs = parse_piles(args.piles)
    if args.count:
        specs += numbered(args.count, args.code_prefix, YKC if args.protocol == "ykc" else OCPP)

    def show(event: SimEvent) -> None:
        if args.verbose or not event.verbose:
            print(event.line(), flush=True)

    fleet = Fleet(specs, options_from(args), sink=show)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        results = await fleet.run(stop, args.duration)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    failed = [r for r in results if not r.ok]
    print(
        f"simulator: {len(specs)} pile(s), {len(results)} scenario run(s), "
        f"{len(failed)} failed, {len(fleet.rejected)} refused"
        + (" (stopped)" if stop.is_set() else ""),
        flush=True,
    )
    return 1 if failed or fleet.rejected else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.piles and not args.count:
        parser.error("name piles with --piles or ask for --count N")
    try:
        specs_check = parse_piles(args.piles)
        if args.count:
            numbered(args.count, args.code_prefix, YKC if args.protocol == "ykc" else OCPP)
        for spec in specs_check:
            if spec.protocol == YKC and not (spec.code.isdigit() and len(spec.code) == 14):
                raise ValueError(f"YKC pile {spec.code!r} is not 14 digits")
    except ValueError as exc:
        parser.error(str(exc))
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(amain(args))
    return 130


if __name__ == "__main__":
    sys.exit(main())
