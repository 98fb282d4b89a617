"""The pile-link bench's own harness: a server that fails to start is reported with its
output (it once crashed on ``flush of closed file`` instead), and the asyncio ``ocpp`` peer
still imports against the domain it drives (its failing import was the output hidden)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


@pytest.fixture()
def bench_module(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_pile_link

    return bench_pile_link


def test_bench_says_why_a_server_did_not_start_instead_of_flush_of_closed_file(
    bench_module, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bench"
    fake.mkdir()
    (fake / "_pile_load_ocpp_cs.py").write_text(
        "import sys\nprint('ImportError: the peer cannot start')\nsys.exit(1)\n"
    )
    monkeypatch.setattr(bench_module, "BENCH", fake)
    args = argparse.Namespace(
        heartbeat=2.0, log_level="INFO", redis_url="", ocpp_threads=2, ocpp_per_event=False
    )
    with pytest.raises(RuntimeError) as failed:
        bench_module.Server("ocpp", "sqlite://", args, tmp_path)
    assert "ocpp server did not start" in str(failed.value)
    assert "ImportError: the peer cannot start" in str(failed.value)


def test_the_asyncio_ocpp_peer_of_the_bench_imports_against_the_domain() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "_pile_load_ocpp_cs.py"), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--control-port" in done.stdout
