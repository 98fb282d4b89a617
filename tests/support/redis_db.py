"""The Redis databases a test run may use.

`make test` runs the SQLite, PostgreSQL and browser suites side by side, so each run takes its
own block of four Redis databases (``EVOP_TEST_REDIS_BLOCK``, 1 to 3; 3 when unset) and no run
sees the keys, limits or pub/sub traffic of another. Database 0, the one ``make run`` uses, is
never a test's.
"""

from __future__ import annotations

import os

REDIS_BASE = os.environ.get("EVOP_TEST_REDIS_BASE", "redis://127.0.0.1:6379")
BLOCK = int(os.environ.get("EVOP_TEST_REDIS_BLOCK", "3"))
if not 1 <= BLOCK <= 3:
    raise RuntimeError(f"EVOP_TEST_REDIS_BLOCK must be 1, 2 or 3, not {BLOCK}")

# what each database of a block holds
CACHES = 0  # shared live-bill estimates and nearby counts
REPLAY = 1  # the T/CEC 102 replay guard
TOKENS = 2  # WeChat access tokens and driver sessions
BUS = 3  # the pile-link bus and rate limits


def redis_url(slot: int) -> str:
    """The URL of this run's database for `slot` (one of the names above)."""
    return f"{REDIS_BASE}/{BLOCK * 4 + slot}"
