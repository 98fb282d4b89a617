"""Servers the tests start as real processes: free ports and readiness."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout
DIST_INDEX = ROOT / "admin_spa" / "web" / "dist" / "index.html"


# Debian's Chromium: playwright never downloads a browser here
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000  # a wait for what must appear: generous, the suites run side by side


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], deadline_s: float = 120.0, log: Path | None = None
) -> None:
    """Wait for a started server's readiness URL (its log, if given, in the error). Generous:
    `make test` runs three suites side by side on two cores, and a readiness wait is not a
    performance figure."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = f":\n{log.read_text()}" if log else ""
            raise RuntimeError(f"server exited with {proc.returncode}{said}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    said = f":\n{log.read_text()}" if log else ""
    raise TimeoutError(f"{url} not ready after {deadline_s}s{said}")


def platform_env(db_path: Path, **extra: str) -> dict[str, str]:
    """A live platform process's environment: its own SQLite file, free ports, demo mode."""
    return {
        **os.environ,
        "FLASK_APP": "wsgi:compose",
        "EVOP_DATABASE_URL": f"sqlite:///{db_path}",
        "EVOP_HTTP_PORT": str(free_port()),
        # free pile ports too: `make test` must pass beside a `make run` (issue 15, Low)
        "EVOP_OCPP_PORT": str(free_port()),
        "EVOP_YKC_PORT": str(free_port()),
        "EVOP_DEMO_MODE": "1",
        "EVOP_LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def live_platform(env: dict[str, str]) -> Iterator[str]:
    """Migrate, seed the demo and serve ``wsgi.py`` with ``env``; yields its base URL."""
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
