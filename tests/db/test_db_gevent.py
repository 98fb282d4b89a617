"""psycopg's waits go through the gevent hub in a gevent-patched process (app/db_gevent.py),
and nowhere else. The patched cases run in a child process: patching this one would change
every other test."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from psycopg import waiting

from app.db_gevent import install_gevent_wait, wait_on_hub
from tests.support.settings import ON_POSTGRES, TEST_DB_URL

ROOT = Path(__file__).resolve().parents[2]

_PATCHED = """
from gevent import monkey

monkey.patch_all()

import socket
import sys
import time

import gevent
from psycopg import errors, waiting
from psycopg._enums import Wait

from app.db_gevent import install_gevent_wait, wait_on_hub

assert install_gevent_wait() is True
assert install_gevent_wait() is True  # twice: harmless, the same function in place
assert waiting.wait is wait_on_hub


def driven(*wanted):
    got = []

    def gen():
        for w in wanted:
            ready = yield w
            while not ready:  # psycopg's own wait wakes up every interval with nothing
                ready = yield w
            got.append(ready)
        return "done"

    return gen(), got


# readable: the generator is told R; writable: W; both wanted and both ready: RW
a, b = socket.socketpair()
b.send(b"x")
gen, got = driven(Wait.R, Wait.W, Wait.RW)
assert wait_on_hub(gen, a.fileno()) == "done"
assert got == [1, 2, 3], got

# a peer that hung up reads as readable (psycopg then finds the connection closed)
c, d = socket.socketpair()
d.close()
gen, got = driven(Wait.R)
assert wait_on_hub(gen, c.fileno()) == "done" and got == [1], got

# a wait with a timeout is psycopg's own, and expires
e, f = socket.socketpair()
gen, got = driven(Wait.R)
began = time.monotonic()
try:
    wait_on_hub(gen, e.fileno(), 0.05, 0.2)
except errors.OperationalError as error:
    assert "timeout" in str(error), error
else:
    raise AssertionError("no timeout")
assert 0.15 < time.monotonic() - began < 2

# while one greenlet waits on its socket, the others run
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(20)])
gen, got = driven(Wait.R)
gevent.spawn_later(0.1, f.send, b"y")
wait_on_hub(gen, e.fileno())
assert len(ticks) >= 5, ticks
ticker.kill()

url = sys.argv[1] if len(sys.argv) > 1 else ""
if url:
    import psycopg

    def sleeper(seconds):
        with psycopg.connect(url) as conn:
            with conn.pipeline():
                with conn.cursor() as cur:
                    cur.executemany("SELECT %s::int", [(i,) for i in range(50)])
            return conn.execute("SELECT pg_sleep(%s), 42", (seconds,)).fetchone()[1]

    began = time.monotonic()
    jobs = [gevent.spawn(sleeper, 0.5) for _ in range(4)]
    gevent.joinall(jobs, raise_error=True)
    took = time.monotonic() - began
    assert [j.value for j in jobs] == [42] * 4
    # four half-second queries at once, not one after another (2 s)
    assert took < 1.5, took
print("ok")
"""


def _run_patched(*args: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_PATCHED), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    assert child.stdout.strip().endswith("ok")


def test_an_unpatched_process_keeps_psycopgs_wait() -> None:
    before = waiting.wait
    assert install_gevent_wait() is False
    assert waiting.wait is before
    assert waiting.wait is not wait_on_hub


def test_a_patched_process_waits_on_the_hub() -> None:
    _run_patched()


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL run only")
def test_patched_queries_on_postgres_run_side_by_side() -> None:
    _run_patched(TEST_DB_URL.replace("postgresql+psycopg://", "postgresql://", 1))
