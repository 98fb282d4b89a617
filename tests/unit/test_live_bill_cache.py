"""The live-order bill cache: an entry serves only its own key, never past its age, and the
cache never grows without bound."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.billing.bills import BillPreview
from app.drivers import live
from app.drivers.live import LiveBillCache, SharedLiveBillCache
from tests.support.redis_db import CACHES, redis_url


def _bill(total: int) -> BillPreview:
    return BillPreview(
        order_id=1, final=False, estimated=False, energy_wh=1000, electricity_fen=total,
        service_fen=0, service_discount_fen=0, service_discount_rate=None,
        occupancy_minutes=0, occupancy_fen=0, coupon_id=None, coupon_fen=0, total_fen=total,
        lines=(),
    )  # fmt: skip


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: now[0])
    return now


def test_a_cached_bill_serves_only_its_own_key_and_only_until_it_expires(
    clock: list[float],
) -> None:
    cache = LiveBillCache(30)
    cache.put(7, ("charging", 1000), _bill(50))
    assert cache.get(7, ("charging", 1000)) == _bill(50)
    assert cache.get(7, ("charging", 1200)) is None  # the meter moved
    assert cache.get(8, ("charging", 1000)) is None  # another order
    clock[0] += 29.9
    assert cache.get(7, ("charging", 1000)) is not None
    clock[0] += 0.2
    assert cache.get(7, ("charging", 1000)) is None  # older than the setting
    assert (cache.hits, cache.misses) == (2, 3)


def test_a_zero_age_setting_turns_the_live_bill_cache_off(clock: list[float]) -> None:
    cache = LiveBillCache(0)
    cache.put(7, ("charging",), _bill(50))
    assert cache.get(7, ("charging",)) is None


def test_the_live_bill_cache_stays_bounded(
    clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LiveBillCache, "MAX_ENTRIES", 3)
    cache = LiveBillCache(10)
    for order_id in (1, 2, 3):
        cache.put(order_id, (), _bill(order_id))
    clock[0] += 11  # all three expired: dropped to make room
    cache.put(4, (), _bill(4))
    assert len(cache._entries) == 1
    for order_id in (5, 6):
        cache.put(order_id, (), _bill(order_id))
    cache.put(7, (), _bill(7))  # full of live entries: start over
    assert list(cache._entries) == [7]


def _redis_or_skip() -> Any:
    import redis

    client = redis.Redis.from_url(redis_url(CACHES))
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {redis_url(CACHES)}")
    return client


def _priced_bill() -> BillPreview:
    at = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
    line = {
        "segment_start": at, "segment_end": at + timedelta(hours=1), "tier": "peak",
        "energy_wh": 3450, "electricity_price": Decimal("1.0238"),
        "service_price": Decimal("0.8000"), "electricity_fen": 353, "service_fen": 276,
        "service_discount_fen": 28,
    }  # fmt: skip
    return replace(_bill(629), service_discount_rate=Decimal("0.90"), lines=(line,))


def test_an_estimate_one_worker_computed_serves_the_other_workers_polls() -> None:
    client = _redis_or_skip()
    prefix = f"evop-test:live-bill:{os.getpid()}:"
    first, second = (SharedLiveBillCache(30, client, prefix=prefix) for _ in range(2))
    key = ("charging", 3450, datetime(2026, 12, 4, 3, 0, tzinfo=UTC), None)
    try:
        first.put(7, key, _priced_bill())
        assert second.get(7, key) == _priced_bill()  # decimals, datetimes and lines intact
        assert second.shared_hits == 1 and second.misses == 0
        assert second.get(7, ("charging", 3500, key[2], None)) is None  # the meter moved
        assert SharedLiveBillCache(30, client, prefix=prefix).get(8, key) is None
    finally:
        for k in client.scan_iter(f"{prefix}*"):
            client.delete(k)


def test_the_shared_estimate_cache_computes_when_redis_is_down() -> None:
    import redis

    down = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2, socket_connect_timeout=0.2)
    cache = SharedLiveBillCache(30, down)
    cache.put(7, ("charging", 1), _bill(5))  # logged, the worker's own cache still holds it
    assert cache.get(7, ("charging", 1)) == _bill(5)
    assert cache.get(8, ("charging", 1)) is None


def test_without_redis_each_worker_keeps_its_own_estimates() -> None:
    assert type(live.live_bill_cache_for("", 30)) is LiveBillCache
    assert isinstance(live.live_bill_cache_for(redis_url(CACHES), 30), SharedLiveBillCache)
    assert type(live.live_bill_cache_for(redis_url(CACHES), 0)) is LiveBillCache
