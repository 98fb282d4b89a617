"""A real platform process for the browser tests: migrated, seeded, serving the built SPA."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.servers import DIST_INDEX, ROOT, free_port, wait_ready


@pytest.fixture(scope="session")
def live_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The live server's environment (its database), for tests that add data to it."""
    return {
        **os.environ,
        "FLASK_APP": "wsgi:compose",
        "EVOP_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.sqlite3'}",
        "EVOP_HTTP_PORT": str(free_port()),
        # free pile ports too: `make test` must pass beside a `make run` (issue 15, Low)
        "EVOP_OCPP_PORT": str(free_port()),
        "EVOP_YKC_PORT": str(free_port()),
        "EVOP_DEMO_MODE": "1",
        "EVOP_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="session")
def live_server(live_env: dict[str, str]) -> Iterator[str]:
    if not DIST_INDEX.is_file():
        pytest.fail("the admin SPA is not built: run `make spa` (make test does it)")
    env = live_env
    port = int(env["EVOP_HTTP_PORT"])
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "wsgi.py"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/readyz", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
