"""``make run``'s process for real (issue 13): ``python wsgi.py`` with everything the demo
starts — the WeChat sandbox, the partner sandbox, the simulated piles, the pile link, the
scheduler — comes up, answers, and on SIGTERM (what ``docker stop``, systemd and Ctrl-C's
cousin send) stops every part and exits 0 well before a supervisor would kill it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.servers import ROOT, platform_env, wait_ready

STOP_DEADLINE_S = 20.0  # systemd's and docker's default grace is 90 s and 10 s


def _post_json(url: str) -> bytes:
    req = urllib.request.Request(url, data=b"{}", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return bytes(resp.read())


def test_make_runs_process_serves_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = platform_env(
        tmp_path / "run.sqlite3",
        EVOP_WECHAT_SANDBOX="1",
        EVOP_HLHT_SANDBOX="1",
        EVOP_DEMO_PILES="1",
        EVOP_SCHEDULER_ENABLED="1",
        EVOP_LOG_LEVEL="INFO",
        EVOP_LOG_JSON="0",
    )
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "wsgi.py"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{env['EVOP_HTTP_PORT']}"
            wait_ready(f"{base}/readyz", proc, deadline_s=60)
            # the partner sandbox answers as a T/CEC 102 peer: an empty envelope is 4003
            assert b'"Ret":4003' in _post_json(f"{base}/sandbox/hlht/evcs/v1/query_token")
            deadline = time.monotonic() + 30
            while "互联沙箱  已同步" not in log.read_text(encoding="utf-8", errors="replace"):
                assert time.monotonic() < deadline, log.read_text(encoding="utf-8")[-3000:]
                time.sleep(0.2)
            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=STOP_DEADLINE_S)
            took = time.monotonic() - began
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, text[-3000:]
    assert took < STOP_DEADLINE_S
    assert "Traceback" not in text, text[-3000:]
    # nothing listens on its ports any more (closed connections may linger in TIME_WAIT,
    # which SO_REUSEADDR lets a new server bind past, as the servers themselves do)
    for port in ("EVOP_HTTP_PORT", "EVOP_OCPP_PORT", "EVOP_YKC_PORT"):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(env[port])))
            s.listen()
