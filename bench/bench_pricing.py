"""Bills priced per second by app.services.pricing.price_session. Printed, never asserted.

Run: ``.venv/bin/python bench/bench_pricing.py`` from the project root.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from app.pricing import Sample, Segment, TariffSnapshot, price_session


def gd_tariff() -> TariffSnapshot:
    def seg(start: int, end: int, tier: str, elec: str, serv: str) -> Segment:
        return Segment(start * 60, end * 60, tier, Decimal(elec), Decimal(serv))

    return TariffSnapshot(
        (
            seg(0, 8, "valley", "0.3000", "0.5000"),
            seg(8, 10, "flat", "0.6420", "0.3523"),
            seg(10, 12, "peak", "1.0000", "0.8000"),
            seg(12, 14, "flat", "0.6420", "0.3523"),
            seg(14, 17, "peak", "1.0000", "0.8000"),
            seg(17, 19, "sharp", "1.2000", "0.8000"),
            seg(19, 22, "peak", "1.0000", "0.8000"),
            seg(22, 24, "valley", "0.3000", "0.5000"),
        )
    )


def session(start_local_hour: int, minutes: int) -> list[Sample]:
    """One reading a minute, a tapering 60 → 20 kW curve (like a DC fast charge)."""
    start = datetime(2020, 4, 14, start_local_hour, tzinfo=UTC) - timedelta(hours=8)
    samples, wh = [], 0
    for i in range(minutes + 1):
        samples.append(Sample(start + timedelta(minutes=i), wh))
        wh += 1000 - 667 * i // max(minutes, 1) + (i % 7)
    return samples


def bench(name: str, samples: list[Sample], tariff: TariffSnapshot, seconds: float = 1.0) -> None:
    rate = Decimal("0.7")
    count, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        for _ in range(100):
            price_session(samples, tariff, service_discount_rate=rate)
        count += 100
    bill = price_session(samples, tariff, service_discount_rate=rate)
    print(
        f"{name:<44} {count / elapsed:>9,.0f} bills/s  {elapsed / count * 1e6:>7.1f} µs/bill"
        f"  ({len(samples)} samples, {len(bill.lines)} lines, {bill.total_fen} fen)"
    )


def main() -> None:
    tariff = gd_tariff()
    bench("4 h, 240 samples, 09:00-13:00 (3 segments)", session(9, 240), tariff)
    bench("4 h, 240 samples, 22:00-02:00 (midnight)", session(22, 240), tariff)
    bench("live estimate, 30 samples", session(9, 30), tariff)
    bench("36 h, 2160 samples (long idle session)", session(21, 2160), tariff)


if __name__ == "__main__":
    main()
