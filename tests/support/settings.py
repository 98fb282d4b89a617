"""The settings every test app starts from and the database the suite runs on."""

from __future__ import annotations

import os
from typing import Any

TEST_DB_URL = os.environ.get("EVOP_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DB_URL.startswith("postgres")


BASE_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "LOG_LEVEL": "WARNING",
    "QR_BASE_URL": "https://charge.test/q/",
    # every nearby search sees what the test just wrote (tests/mp/test_station_index.py
    # covers the cache with a positive age)
    "NEARBY_CACHE_SECONDS": 0,
}
