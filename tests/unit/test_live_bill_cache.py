"""The live-order bill cache: an entry serves only its own key, never past its age, and the
cache never grows without bound."""

from __future__ import annotations

import pytest

from app.billing.bills import BillPreview
from app.drivers import live
from app.drivers.live import LiveBillCache


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
