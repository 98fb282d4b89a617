"""``python -m pile_link.simulator`` as a user runs it: a real process against the real
pile link, one line per event, a clean exit on SIGTERM; and its argument parsing."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pile_link.simulator import PileSpec, numbered, parse_piles
from pile_link.simulator.__main__ import build_parser, main, options_from
from tests.pile_link.test_simulator_ocpp import (
    CODE,
    DEADLINE,
    FINISHED,
    Platform,
    running_platform,
    seeded_db,  # noqa: F401  (a fixture)
    until,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def platform(seeded_db: Path, tmp_path: Path) -> Iterator[Platform]:  # noqa: F811
    with running_platform(seeded_db, tmp_path) as platform:
        yield platform


async def simulator(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pile_link.simulator", *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def test_cli_runs_a_scenario_and_prints_one_line_per_event(platform: Platform) -> None:
    async def go() -> tuple[int, str, str]:
        proc = await simulator(
            "--ocpp-url", platform.url, "--piles", CODE, "--scenario", "normal",
            "--meter-interval", "0.2", "--charge-seconds", "0.6", "--time-scale", "60",
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    code, out, err = asyncio.run(go())
    assert code == 0, err
    lines = out.splitlines()
    assert all(line.split()[1] == CODE for line in lines[:-1]), lines  # pile code first
    events = [line.split()[2] for line in lines[:-1]]
    assert events[:3] == ["connected", "boot", "online"]
    assert {"started", "stopped", "scenario_done"} <= set(events)
    assert "meter" not in events  # meter samples only with --verbose
    assert lines[-1].startswith("simulator: 1 pile(s), 1 scenario run(s), 0 failed")
    [order] = platform.orders()
    assert order.state in FINISHED and order.stop_reason == "Local"


def test_cli_exits_cleanly_on_sigterm(platform: Platform) -> None:
    async def go() -> tuple[int, str]:
        proc = await simulator(
            "--ocpp-url", platform.url, "--piles", CODE, "--scenario", "idle", "--heartbeat",
            "0.2", "--verbose",
        )  # fmt: skip
        assert proc.stdout is not None
        seen: list[str] = []
        while not any(" heartbeat" in line for line in seen):
            line = await asyncio.wait_for(proc.stdout.readline(), DEADLINE)
            assert line, "the simulator ended early"
            seen.append(line.decode())
        await until(lambda: platform.pile_online(CODE), "the pile online")
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), DEADLINE)
        assert proc.returncode is not None
        return proc.returncode, "".join(seen) + out.decode()

    code, out = asyncio.run(go())
    assert code == 0, out
    assert out.splitlines()[-1].endswith("(stopped)")
    asyncio.run(until(lambda: not platform.pile_online(CODE), "the pile offline"))


def test_cli_refused_pile_gives_a_failing_exit(platform: Platform) -> None:
    async def go() -> tuple[int, str]:
        proc = await simulator("--ocpp-url", platform.url, "--piles", "NOT-REGISTERED")
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode is not None
        return proc.returncode, out.decode()

    code, out = asyncio.run(go())
    assert code == 1 and "NOT-REGISTERED rejected" in out and "1 refused" in out


def test_pile_lists_and_numbered_piles() -> None:
    assert parse_piles("DEMO-OCPP-01, 55031412782305,ocpp:12345678901234,ykc:1") == [
        PileSpec("DEMO-OCPP-01", "ocpp16"),
        PileSpec("55031412782305", "ykc"),  # 14 digits: a YKC pile number (§3.3)
        PileSpec("12345678901234", "ocpp16"),
        PileSpec("1", "ykc"),
    ]
    assert [s.code for s in numbered(2, "SIM-")] == ["SIM-00001", "SIM-00002"]
    assert [s.code for s in numbered(2, "5503", "ykc", start=9)] == [
        "55030000000009",
        "55030000000010",
    ]
    with pytest.raises(ValueError, match="14 digits"):
        numbered(1, "SIM-", "ykc")


def test_cli_options_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(
        ["--count", "3", "--scenario", "idle", "--meter-interval", "0.5", "--heartbeat", "7",
         "--id-tag", "CARD-9", "--wait-seconds", "4"]
    )  # fmt: skip
    options = options_from(args)
    assert options.config.meter_interval == 0.5 and options.config.heartbeat_interval == 7
    assert options.config.charge_seconds == 30  # untouched defaults stay
    assert options.id_tag == "CARD-9" and options.params["wait_seconds"] == 4
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "--piles" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--piles", "ykc:ABC"])


def test_the_simulator_reads_the_servers_port_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 14: make demo-piles / demo-traffic ignored EVOP_OCPP_PORT and EVOP_YKC_PORT
    monkeypatch.setenv("EVOP_OCPP_PORT", "19100")
    monkeypatch.setenv("EVOP_YKC_PORT", "18867")
    monkeypatch.setenv("EVOP_YKC_HOST", "0.0.0.0")
    args = build_parser().parse_args(["--piles", "DEMO-OCPP-01"])
    assert args.ocpp_url == "ws://127.0.0.1:19100/ocpp"
    assert (args.ykc_host, args.ykc_port) == ("127.0.0.1", 18867)
    monkeypatch.delenv("EVOP_OCPP_PORT")
    assert build_parser().parse_args([]).ocpp_url == "ws://127.0.0.1:9000/ocpp"
    explicit = build_parser().parse_args(["--ykc-port", "7000"])
    assert explicit.ykc_port == 7000  # an argument still wins
