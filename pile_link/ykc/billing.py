"""YKC billing models (计费模型) built from the domain's tariff: four rate pairs and 48 half hours.

A tariff reaches the pile link as a plain dict (:func:`tariff_dict` of the domain's
``PileTariff``, or a ``push_tariff`` command)::

    {"model_id": 12, "segments": [{"start_minute": 0, "end_minute": 480, "tier": "valley",
                                   "electricity_price": "0.3500", "service_price": "0.6000"},
                                  ...]}

YKC v1.6 §6.8/§9.5 can say only four (electricity, service) price pairs — 尖 sharp, 峰 peak,
平 flat, 谷 valley — and which pair applies to each half hour from 00:00. A tariff with more
than four distinct pairs cannot be sent (:class:`BillingModelError`); a segment boundary
off the half hour is rounded to the half hour that contains it (``BillingModel.exact`` is
False, worth a log line: the pile's own split then differs from the platform's).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from app.charging.port import PileTariff
from pile_link.ykc import units
from pile_link.ykc.messages import BillingModelReply, BillingModelSet, TariffRate

HALF_HOURS: Final = 48
MINUTES_PER_DAY: Final = 1440
# §6.8 item 12: rate numbers 0..3 are sharp, peak, flat, valley
TIER_SLOTS: Final = {"sharp": 0, "peak": 1, "flat": 2, "valley": 3}
# §6.5: a pile that never had a model reports 0000; ours are 0001..9999.
NO_MODEL: Final = "0000"
MAX_PRICE5: Final = 0xFFFFFFFF

# The model a pile gets when the domain has none to give: one flat pair at zero, numbered
# 9999 so that it never matches a real tariff version's number (see ``model_number``).
DEFAULT_TARIFF: Final[Mapping[str, Any]] = {
    "model_id": 9999,
    "segments": [
        {
            "start_minute": 0,
            "end_minute": MINUTES_PER_DAY,
            "tier": "flat",
            "electricity_price": "0",
            "service_price": "0",
        }
    ],
}


class BillingModelError(ValueError):
    """A tariff that YKC v1.6 cannot express (or that is not a tariff at all)."""


@dataclasses.dataclass(frozen=True, slots=True)
class BillingModel:
    model_no: str  # 4 BCD digits (§6.8 item 2)
    rates: tuple[TariffRate, TariffRate, TariffRate, TariffRate]  # sharp, peak, flat, valley
    periods: tuple[int, ...]  # 48 rate numbers, 0..3
    exact: bool = True  # False when a segment boundary was not on a half hour

    def reply(self, pile_code: str) -> BillingModelReply:
        """0x0A, the answer to a pile's 0x09 (§6.8)."""
        sharp, peak, flat, valley = self.rates
        return BillingModelReply(
            pile_code=pile_code,
            model_no=self.model_no,
            sharp=sharp,
            peak=peak,
            flat=flat,
            valley=valley,
            periods=self.periods,
        )

    def set_command(self, pile_code: str) -> BillingModelSet:
        """0x58, the platform pushing a model (§9.5): same body as 0x0A."""
        sharp, peak, flat, valley = self.rates
        return BillingModelSet(
            pile_code=pile_code,
            model_no=self.model_no,
            sharp=sharp,
            peak=peak,
            flat=flat,
            valley=valley,
            periods=self.periods,
        )


def model_number(model_id: Any) -> str:
    """The 4-digit model number for the domain's model id (a tariff version id).

    Ids fold into 0001..9999 (id 10000 gives 0001 again): 0000 is what a pile without a
    model reports (§6.5), so it must never name one of ours.
    """
    if isinstance(model_id, bool):
        raise BillingModelError(f"model id {model_id!r} is not a number")
    try:
        number = int(str(model_id).strip())
    except ValueError:
        raise BillingModelError(f"model id {model_id!r} is not a number") from None
    if number < 1:
        raise BillingModelError(f"model id {model_id!r} must be positive")
    return f"{(number - 1) % 9999 + 1:04d}"


def _price5(value: Any, what: str) -> int:
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BillingModelError(f"{what} {value!r} is not a price") from None
    if not price.is_finite() or price < 0:
        raise BillingModelError(f"{what} {value!r} is not a price")
    raw = units.yuan_to_price5(price)  # §6.8: five decimals
    if raw > MAX_PRICE5:
        raise BillingModelError(f"{what} {value!r} does not fit four bytes")
    return raw


def _minute(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BillingModelError(f"{what} {value!r} is not a minute of the day")
    if not 0 <= value <= MINUTES_PER_DAY:
        raise BillingModelError(f"{what} {value!r} is outside 0..1440")
    return value


def tariff_dict(tariff: PileTariff) -> dict[str, Any]:
    """The domain's tariff in the plain form this module (and the push_tariff command, which
    may cross Redis as JSON) reads."""
    return {
        "model_id": tariff.model_id,
        "segments": [
            {
                "start_minute": p.start_minute,
                "end_minute": p.end_minute,
                "tier": p.tier,
                "electricity_price": str(p.electricity_price),
                "service_price": str(p.service_price),
            }
            for p in tariff.periods
        ],
    }


def build_billing_model(tariff: Mapping[str, Any]) -> BillingModel:
    """The YKC model for a tariff dict (see the module docstring)."""
    if not isinstance(tariff, Mapping):
        raise BillingModelError("a tariff is a mapping with model_id and segments")
    model_no = model_number(tariff.get("model_id"))
    segments = tariff.get("segments")
    if not isinstance(segments, list | tuple) or not segments:
        raise BillingModelError("a tariff needs at least one segment")
    parsed: list[tuple[int, int, tuple[int, int], str | None]] = []
    exact = True
    for index, seg in enumerate(segments):
        if not isinstance(seg, Mapping):
            raise BillingModelError(f"segment {index} is not a mapping")
        start = _minute(seg.get("start_minute"), f"segment {index} start_minute")
        end = _minute(seg.get("end_minute"), f"segment {index} end_minute")
        if start >= end:
            raise BillingModelError(f"segment {index} ends before it starts")
        if start % 30 or end % 30:
            exact = False
        pair = (
            _price5(seg.get("electricity_price"), f"segment {index} electricity_price"),
            _price5(seg.get("service_price"), f"segment {index} service_price"),
        )
        tier = seg.get("tier")
        parsed.append((start, end, pair, tier if isinstance(tier, str) else None))
    # Each half hour takes the segment in force at its first minute.
    half_hours: list[tuple[tuple[int, int], str | None]] = []
    for half in range(HALF_HOURS):
        minute = half * 30
        found = next(((p, t) for s, e, p, t in parsed if s <= minute < e), None)
        if found is None:
            raise BillingModelError(f"no segment covers {minute // 60:02d}:{minute % 60:02d}")
        half_hours.append(found)
    slot_of = _slots(half_hours)
    rates: list[TariffRate | None] = [None] * 4
    for pair, slot in slot_of.items():
        rates[slot] = TariffRate(energy_price=pair[0], service_price=pair[1])
    # Unused rate numbers repeat the most used pair: harmless on a pile's price screen.
    common = Counter(pair for pair, _ in half_hours).most_common(1)[0][0]
    filler = TariffRate(energy_price=common[0], service_price=common[1])
    sharp, peak, flat, valley = (rate or filler for rate in rates)
    periods = tuple(slot_of[pair] for pair, _ in half_hours)
    return BillingModel(model_no, (sharp, peak, flat, valley), periods, exact)


def _slots(half_hours: list[tuple[tuple[int, int], str | None]]) -> dict[tuple[int, int], int]:
    """Rate number (0 sharp .. 3 valley) of each distinct price pair.

    The domain's tiers are used when they are consistent (one pair per tier); otherwise
    pairs are numbered by total price, dearest first (sharp), as YKC piles expect.
    """
    pairs = list(dict.fromkeys(pair for pair, _ in half_hours))
    if len(pairs) > 4:
        raise BillingModelError(f"{len(pairs)} distinct price pairs: YKC v1.6 allows 4 (§6.8)")
    by_tier: dict[int, tuple[int, int]] = {}
    tiered: dict[tuple[int, int], int] = {}
    consistent = True
    for pair, tier in half_hours:
        slot = TIER_SLOTS.get(tier or "")
        if slot is None or by_tier.setdefault(slot, pair) != pair:
            consistent = False
            break
        if tiered.setdefault(pair, slot) != slot:
            consistent = False
            break
    if consistent:
        return tiered
    ordered = sorted(pairs, key=lambda p: (-(p[0] + p[1]), -p[0]))
    return {pair: slot for slot, pair in enumerate(ordered)}
