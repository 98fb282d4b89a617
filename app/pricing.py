"""Pricing: time-of-use tariffs, session bills, coupons, occupancy fees, voucher validity.

Pure functions over values (no database, no Flask). The same :func:`price_session` prices
the live estimate and the final bill, so what a driver watches is what they pay (case #7,
case #18 2020-04-14). Money rounding lives in :mod:`app.money`.

Decisions, stated once:

* A tariff segment applies to the instants whose *local wall clock* (station time zone)
  falls inside it. A session crossing midnight gets one line per day; a repeated DST hour
  is billed twice at its segment's price; a skipped DST hour has no line.
* Energy between two meter samples is spread linearly over time; per-window shares are
  made whole Wh by largest remainder (ties: the earlier window), so lines sum to the meter.
* Bill lines cover the session's own time (clipped to the first and last sample), and
  every segment instance the session touched has a line, even at 0 Wh.
* The member service discount (case #7) is taken per line: ``line discount = service −
  apply_rate_fen(service, rate)``; the bill's discount is the sum of its lines'.
* Coupons deduct from the charging amount (electricity + service − discount), never from
  the occupancy fee, and never below zero.
* Occupancy fees count whole elapsed minutes (floor): a started minute is free."""

from __future__ import annotations

import bisect
import calendar
import itertools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from app.money import apply_rate_fen, fee_fen, parse_unit_price, round_half_up_fen

DEFAULT_TIMEZONE = "Asia/Shanghai"

MINUTES_PER_DAY = 1440

TIERS: dict[str, str] = {"sharp": "尖", "peak": "峰", "flat": "平", "valley": "谷"}

_ONE_US = timedelta(microseconds=1)

_ONE_DAY = timedelta(days=1)

_ONE_MINUTE = timedelta(minutes=1)

_NEVER = datetime.max.replace(tzinfo=UTC)


class TariffValidationError(Exception):
    """A tariff that cannot be used. ``code`` is stable; ``message`` is for operators."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details or {}


@dataclass(frozen=True, slots=True)
class Segment:
    """One time-of-use segment of the local day: ``[start_minute, end_minute)``, 1440 = 24:00."""

    start_minute: int
    end_minute: int
    tier: str  # sharp 尖 / peak 峰 / flat 平 / valley 谷
    electricity_price: Decimal  # yuan per kWh, up to 4 decimals
    service_price: Decimal  # yuan per kWh, up to 4 decimals


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@lru_cache(maxsize=64)
def zone_for(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name (cached)."""
    return ZoneInfo(name)


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else zone_for(tz)


def validate_segments(segments: Sequence[Segment]) -> None:
    """Raise :class:`TariffValidationError` unless ``segments`` tile 00:00–24:00 exactly once.

    Segments may come in any order; ``details["segments"]`` holds 0-based indexes into the
    sequence as given. Codes: ``TARIFF_SEGMENTS_INCOMPLETE`` (empty, or not starting at
    00:00 / ending at 24:00), ``TARIFF_SEGMENTS_GAP``, ``TARIFF_SEGMENTS_OVERLAP``,
    ``TARIFF_SEGMENT_RANGE_INVALID`` (start ≥ end or outside the day: split a segment that
    crosses midnight into two), ``TARIFF_PRICE_INVALID``, ``TARIFF_TIER_INVALID``.
    """
    if not segments:
        raise TariffValidationError(
            "TARIFF_SEGMENTS_INCOMPLETE", "电价时段不能为空，须覆盖全天 00:00–24:00", {}
        )
    for index, seg in enumerate(segments):
        start, end = seg.start_minute, seg.end_minute
        if (
            isinstance(start, bool)
            or isinstance(end, bool)
            or not isinstance(start, int)
            or not isinstance(end, int)
            or not 0 <= start < end <= MINUTES_PER_DAY
        ):
            raise TariffValidationError(
                "TARIFF_SEGMENT_RANGE_INVALID",
                f"第 {index + 1} 个时段的起止时间无效：须在 00:00–24:00 之内且开始早于结束"
                "（跨零点的时段请拆成两段）",
                {"segments": [index], "start_minute": start, "end_minute": end},
            )
        if seg.tier not in TIERS:
            raise TariffValidationError(
                "TARIFF_TIER_INVALID",
                f"第 {index + 1} 个时段的类型无效：须为 尖、峰、平、谷 之一",
                {"segments": [index], "tier": seg.tier, "allowed": sorted(TIERS)},
            )
        for name in ("electricity_price", "service_price"):
            price = getattr(seg, name)
            ok = isinstance(price, Decimal)
            if ok:
                try:
                    ok = parse_unit_price(price) == price
                except ValueError:
                    ok = False
            if not ok:
                raise TariffValidationError(
                    "TARIFF_PRICE_INVALID",
                    f"第 {index + 1} 个时段的{'电价' if name == 'electricity_price' else '服务费'}"
                    "无效：须为不小于 0、最多 4 位小数的金额（元/kWh）",
                    {"segments": [index], "field": name, "value": str(price)},
                )
    order = sorted(range(len(segments)), key=lambda i: segments[i].start_minute)
    for prev, nxt in itertools.pairwise(order):
        a, b = segments[prev], segments[nxt]
        if b.start_minute < a.end_minute:
            raise TariffValidationError(
                "TARIFF_SEGMENTS_OVERLAP",
                f"第 {prev + 1} 个时段与第 {nxt + 1} 个时段重叠"
                f"（{_hhmm(b.start_minute)}–{_hhmm(min(a.end_minute, b.end_minute))}）",
                {
                    "segments": [prev, nxt],
                    "from": _hhmm(b.start_minute),
                    "to": _hhmm(min(a.end_minute, b.end_minute)),
                },
            )
    for prev, nxt in itertools.pairwise(order):
        a, b = segments[prev], segments[nxt]
        if b.start_minute > a.end_minute:
            raise TariffValidationError(
                "TARIFF_SEGMENTS_GAP",
                f"{_hhmm(a.end_minute)}–{_hhmm(b.start_minute)} 没有设置电价"
                f"（第 {prev + 1} 个与第 {nxt + 1} 个时段之间）",
                {"segments": [prev, nxt], "from": _hhmm(a.end_minute), "to": _hhmm(b.start_minute)},
            )
    first, last = segments[order[0]], segments[order[-1]]
    if first.start_minute != 0 or last.end_minute != MINUTES_PER_DAY:
        raise TariffValidationError(
            "TARIFF_SEGMENTS_INCOMPLETE",
            "电价时段须覆盖全天 00:00–24:00",
            {
                "segments": [order[0], order[-1]],
                "from": _hhmm(first.start_minute),
                "to": _hhmm(last.end_minute),
            },
        )


@dataclass(frozen=True, slots=True)
class TariffSnapshot:
    """The tariff in force for one session, frozen when the session starts.

    Always valid: construction validates the segments and the time zone and keeps the
    segments sorted by start.
    """

    segments: tuple[Segment, ...]
    timezone: str = DEFAULT_TIMEZONE
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _ends: tuple[timedelta, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        segments = tuple(self.segments)
        validate_segments(segments)
        try:
            zone_for(self.timezone)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise TariffValidationError(
                "TARIFF_TIMEZONE_INVALID",
                f"时区无效：{self.timezone}",
                {"timezone": self.timezone},
            ) from exc
        ordered = tuple(sorted(segments, key=lambda s: s.start_minute))
        object.__setattr__(self, "segments", ordered)
        object.__setattr__(self, "_starts", tuple(s.start_minute for s in ordered))
        object.__setattr__(self, "_ends", tuple(timedelta(minutes=s.end_minute) for s in ordered))

    @property
    def zone(self) -> ZoneInfo:
        return zone_for(self.timezone)

    def index_at_minute(self, minute_of_day: int) -> int:
        """Index (into the sorted ``segments``) of the segment covering a local minute."""
        return bisect.bisect_right(self._starts, minute_of_day) - 1


def segment_at(tariff: TariffSnapshot, at: datetime) -> Segment:
    """The segment in force at instant ``at`` (for "current price" on the station page)."""
    local = _require_aware("at", at).astimezone(tariff.zone)
    return tariff.segments[tariff.index_at_minute(local.hour * 60 + local.minute)]


def _require_aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value


def _find_transition(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """First instant in ``(before, after]`` whose UTC offset is ``after``'s (bisection)."""
    target = after.astimezone(zone).utcoffset()
    lo, hi = before, after
    while hi - lo > _ONE_US:
        mid = lo + (hi - lo) // 2
        if mid.astimezone(zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi


def wall_to_utc(wall: datetime, tz: ZoneInfo | str) -> datetime:
    """The first instant whose local wall clock reads ``wall`` (naive) or later, in UTC.

    An ambiguous wall time (a repeated DST hour) gives its first occurrence; a skipped one
    gives the moment the clocks jumped.
    """
    zone = _zone(tz)
    naive = wall.replace(tzinfo=None)
    u0 = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    u1 = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    first, second = (u0, u1) if u0 <= u1 else (u1, u0)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    return _find_transition(first, second, zone)


def local_midnight(day: date, tz: ZoneInfo | str) -> datetime:
    """The first instant (UTC) of local calendar day ``day``."""
    return wall_to_utc(datetime(day.year, day.month, day.day), tz)


@dataclass(frozen=True, slots=True)
class Sample:
    """A meter reading: cumulative energy (Wh) since the session started, at ``at``."""

    at: datetime
    energy_wh: int


@dataclass(frozen=True, slots=True)
class SegmentWindow:
    """The part of one segment instance (segment × local day) that a session covered."""

    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    local_date: date
    segment_index: int  # into TariffSnapshot.segments (sorted)
    segment: Segment


def _normalise_samples(samples: Iterable[Sample]) -> tuple[list[datetime], list[int]]:
    """Sample times (UTC) and readings, sorted by time (stable) and checked."""
    items = list(samples)
    if not items:
        raise ValueError("a session needs at least one sample")
    ats = [s.at for s in items]
    whs = [s.energy_wh for s in items]
    if {type(at) for at in ats} != {datetime} or {at.tzinfo for at in ats} != {UTC}:
        ats = [_require_aware("sample time", at).astimezone(UTC) for at in ats]
    if {type(wh) for wh in whs} != {int}:
        bad = next(wh for wh in whs if type(wh) is not int)
        raise TypeError(f"energy_wh must be an int, got {type(bad).__name__}")
    if min(whs) < 0:
        raise ValueError(f"energy_wh must not be negative, got {min(whs)}")
    if not all(map(operator.le, ats, ats[1:])):
        order = sorted(range(len(ats)), key=ats.__getitem__)  # stable: ties keep their order
        ats = [ats[i] for i in order]
        whs = [whs[i] for i in order]
    if not all(map(operator.le, whs, whs[1:])):
        i = next(i for i in range(1, len(whs)) if whs[i] < whs[i - 1])
        raise ValueError(
            f"cumulative energy went down at {ats[i].isoformat()}: {whs[i - 1]} → {whs[i]} Wh"
        )
    return ats, whs


def _window_at(at: datetime, end: datetime, tariff: TariffSnapshot) -> SegmentWindow:
    local = at.astimezone(tariff.zone)
    index = tariff.index_at_minute(local.hour * 60 + local.minute)
    return SegmentWindow(at, end, local.date(), index, tariff.segments[index])


_SCAN_STEP = timedelta(hours=1)


@lru_cache(maxsize=512)
def _offset_changes(zone: ZoneInfo, year: int) -> tuple[datetime, ...]:
    """Instants (UTC) in ``(Jan 1, next Jan 1]`` of ``year`` where ``zone``'s offset changes.

    ``zoneinfo`` has no public list of transitions, so this scans the year hour by hour and
    bisects each change to the microsecond (two changes less than an hour apart would be
    missed; tzdata has none). Cached: about 9000 conversions once per zone and year.
    """
    if year >= 9999:
        return ()
    at = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    offset = at.astimezone(zone).utcoffset()
    changes: list[datetime] = []
    while at < end:
        nxt = min(at + _SCAN_STEP, end)
        nxt_offset = nxt.astimezone(zone).utcoffset()
        if nxt_offset != offset:
            changes.append(_find_transition(at, nxt, zone))
            offset = nxt_offset
        at = nxt
    return tuple(changes)


def _windows(t0: datetime, t1: datetime, tariff: TariffSnapshot) -> list[SegmentWindow]:
    """Cut ``[t0, t1]`` wherever the local wall clock enters another segment or day.

    Between two UTC-offset changes the wall clock is UTC plus a constant, so each such
    piece is walked in naive wall time; pieces join where the clock jumps (DST).
    """
    if t0 == t1:
        return [_window_at(t0, t1, tariff)]
    zone = tariff.zone
    segments, ends = tariff.segments, tariff._ends
    changes = [
        at
        for year in range(t0.year, t1.year + 1)
        for at in _offset_changes(zone, year)
        if t0 < at < t1
    ]
    windows: list[SegmentWindow] = []
    last_key: tuple[date, int] | None = None
    for piece_start, piece_end in itertools.pairwise([t0, *changes, t1]):
        offset = piece_start.astimezone(zone).utcoffset() or timedelta(0)
        wall = piece_start.replace(tzinfo=None) + offset
        wall_end = piece_end.replace(tzinfo=None) + offset
        while wall < wall_end:
            day = wall.date()
            midnight = datetime(day.year, day.month, day.day)
            index = tariff.index_at_minute((wall - midnight) // _ONE_MINUTE)
            nxt = min(midnight + ends[index], wall_end)
            start_utc = (wall - offset).replace(tzinfo=UTC)
            end_utc = (nxt - offset).replace(tzinfo=UTC)
            if last_key == (day, index):  # same segment instance across a clock change
                prev = windows[-1]
                windows[-1] = SegmentWindow(prev.start, end_utc, day, index, prev.segment)
            else:
                windows.append(SegmentWindow(start_utc, end_utc, day, index, segments[index]))
                last_key = (day, index)
            wall = nxt
    return windows


def _allocate(ats: list[datetime], whs: list[int], windows: list[SegmentWindow]) -> list[int]:
    """Whole Wh per window: linear between samples, largest remainder, exact total.

    The meter curve is piecewise linear through the samples; a window's exact share is the
    curve's rise across it. A window boundary that falls on samples takes the first reading
    there, so a jump at an instant belongs to the window containing that instant, and the
    first reading (energy before the first sample) to the first window.
    """
    total = whs[-1]
    if len(windows) == 1:
        return [total]
    levels: list[int | Fraction] = [0]
    for window in windows[1:]:
        x = window.start
        i = bisect.bisect_left(ats, x)
        if ats[i] == x:
            levels.append(whs[i])
            continue
        before, after = ats[i - 1], ats[i]
        span = (after - before) // _ONE_US
        rise = (whs[i] - whs[i - 1]) * ((x - before) // _ONE_US)
        levels.append(
            whs[i - 1] + rise // span
            if rise % span == 0
            else Fraction(whs[i - 1] * span + rise, span)
        )
    levels.append(total)
    whole: list[int] = []
    remainders: list[tuple[Fraction, int]] = []
    for k, (low, high) in enumerate(itertools.pairwise(levels)):
        share = high - low
        num, den = share.numerator, share.denominator
        floor = num // den
        whole.append(floor)
        if den != 1:
            remainders.append((Fraction(num - floor * den, den), k))
    missing = total - sum(whole)
    remainders.sort(key=lambda r: (-r[0], r[1]))  # ties: the earlier window
    for _, k in remainders[:missing]:
        whole[k] += 1
    return whole


def split_energy(
    samples: Sequence[Sample], tariff: TariffSnapshot
) -> list[tuple[SegmentWindow, int]]:
    """Split a session's energy across the segment instances it covered, in time order.

    ``samples`` are cumulative readings (any order; sorted by time, stable). The session
    runs from the first sample to the last; a first sample above 0 Wh counts in the first
    window. Energy between samples is interpolated linearly; the whole-Wh shares add up to
    the last reading exactly (largest remainder, ties to the earlier window). Windows follow
    the local wall clock of ``tariff.timezone``, one per segment per local day, so a session
    crossing midnight (or several) keeps each day's instance separate. Raises ``ValueError``
    for no samples, naive times, or a reading that goes down.
    """
    ats, whs = _normalise_samples(samples)
    windows = _windows(ats[0], ats[-1], tariff)
    return list(zip(windows, _allocate(ats, whs, windows), strict=True))


@dataclass(frozen=True, slots=True)
class BillLine:
    """One segment instance of a bill: energy, unit prices and the rounded fees."""

    segment_start: datetime  # UTC, the session's part of the segment instance
    segment_end: datetime
    tier: str
    energy_wh: int
    electricity_price: Decimal
    service_price: Decimal
    electricity_fen: int
    service_fen: int
    service_discount_fen: int = 0  # case #7: member discount on this line's service fee

    @property
    def payable_fen(self) -> int:
        return self.electricity_fen + self.service_fen - self.service_discount_fen


@dataclass(frozen=True, slots=True)
class Bill:
    """A priced session: itemised energy, electricity, service, discount, fees (case #18).

    ``total_fen = electricity_fen + service_fen − service_discount_fen + occupancy_fen −
    coupon_fen``, never negative; ``coupon_fen`` is the amount actually deducted.
    """

    lines: tuple[BillLine, ...]
    energy_wh: int
    electricity_fen: int
    service_fen: int
    service_discount_fen: int
    occupancy_fen: int
    coupon_fen: int
    total_fen: int
    started_at: datetime  # UTC, first sample
    ended_at: datetime  # UTC, last sample
    service_discount_rate: Decimal | None = None
    estimated: bool = False  # settled from the last meter reading (DESIGN "charging session")

    @property
    def charging_fen(self) -> int:
        """Electricity + service − member discount: what coupons deduct from."""
        return self.electricity_fen + self.service_fen - self.service_discount_fen

    @property
    def discounted_service_fen(self) -> int:
        return self.service_fen - self.service_discount_fen


def _require_fen(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int number of fen, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def member_discount_fen(service_fen: int, service_discount_rate: Decimal | None) -> int:
    """The member discount on a rounded service fee (case #7): ``service −
    apply_rate_fen(service, rate)``; 0 without a rate. Every bill line takes it so, and so
    does a partner's bill when the operator grants our discount on its prices."""
    if service_discount_rate is None:
        return 0
    return service_fen - apply_rate_fen(service_fen, service_discount_rate)


def _bill(
    split: list[tuple[SegmentWindow, int]],
    *,
    service_discount_rate: Decimal | None,
    occupancy_fen: int,
    coupon_fen: int,
    estimated: bool,
) -> Bill:
    _require_fen("occupancy_fen", occupancy_fen)
    _require_fen("coupon_fen", coupon_fen)
    if service_discount_rate is not None:
        apply_rate_fen(0, service_discount_rate)  # validates the rate even with no lines
    lines: list[BillLine] = []
    energy = electricity = service = discount = 0
    for window, wh in split:
        seg = window.segment
        e_fen = fee_fen(wh, seg.electricity_price)
        s_fen = fee_fen(wh, seg.service_price)
        d_fen = member_discount_fen(s_fen, service_discount_rate)
        lines.append(
            BillLine(
                window.start,
                window.end,
                seg.tier,
                wh,
                seg.electricity_price,
                seg.service_price,
                e_fen,
                s_fen,
                d_fen,
            )
        )
        energy += wh
        electricity += e_fen
        service += s_fen
        discount += d_fen
    charging = electricity + service - discount
    coupon = min(coupon_fen, charging)
    return Bill(
        lines=tuple(lines),
        energy_wh=energy,
        electricity_fen=electricity,
        service_fen=service,
        service_discount_fen=discount,
        occupancy_fen=occupancy_fen,
        coupon_fen=coupon,
        total_fen=charging - coupon + occupancy_fen,
        started_at=split[0][0].start,
        ended_at=split[-1][0].end,
        service_discount_rate=service_discount_rate,
        estimated=estimated,
    )


def price_session(
    samples: Sequence[Sample],
    tariff: TariffSnapshot,
    *,
    service_discount_rate: Decimal | None = None,
    occupancy_fen: int = 0,
    coupon_fen: int = 0,
) -> Bill:
    """Price a session from its meter samples: the live estimate and the final bill alike.

    Each segment instance is a line: ``electricity_fen = fee_fen(wh, electricity_price)``,
    ``service_fen = fee_fen(wh, service_price)`` (case #18 2020-04-14: 1.76 kWh → 1.13 +
    0.62 = 1.75 yuan). ``service_discount_rate`` is the member group's pay-rate on the
    service fee (case #7: ride-hailing 七折 = ``Decimal("0.7")``), taken per line. Totals are
    sums of the rounded lines. ``coupon_fen`` is capped at the charging amount.
    """
    return _bill(
        split_energy(samples, tariff),
        service_discount_rate=service_discount_rate,
        occupancy_fen=occupancy_fen,
        coupon_fen=coupon_fen,
        estimated=False,
    )


def estimate_from_last_meter(
    started_at: datetime,
    samples: Sequence[Sample],
    tariff: TariffSnapshot,
    *,
    service_discount_rate: Decimal | None = None,
    occupancy_fen: int = 0,
    coupon_fen: int = 0,
) -> Bill:
    """Settle a session whose final record never came (case #25 2021-01-14, case #14).

    Bills from ``started_at`` (0 Wh) to the last reading we have, through the readings we
    kept (only the last one is enough: energy is then spread evenly from the start). Energy
    after the last reading is unknown and not billed; the bill is marked ``estimated`` so a
    late real record can re-settle it. With no readings at all the bill is zero.
    """
    start = _require_aware("started_at", started_at)
    points = list(samples)
    if not points or min(_require_aware("sample time", s.at) for s in points) > start:
        points.insert(0, Sample(start, 0))
    return _bill(
        split_energy(points, tariff),
        service_discount_rate=service_discount_rate,
        occupancy_fen=occupancy_fen,
        coupon_fen=coupon_fen,
        estimated=True,
    )


def kwh_str(energy_wh: int) -> str:
    """``1760`` → ``"1.760"``: energy in kWh for bills and screens, exact (case #18 2020)."""
    kwh, wh = divmod(abs(energy_wh), 1000)
    return f"{'-' if energy_wh < 0 else ''}{kwh}.{wh:03d}"


CouponKind = Literal["fixed", "threshold", "percent", "service_only"]

COUPON_KINDS: frozenset[str] = frozenset({"fixed", "threshold", "percent", "service_only"})


@dataclass(frozen=True, slots=True)
class CouponOption:
    """A coupon a driver holds, as the pricing rules see it.

    * ``fixed``: ``amount_fen`` off the charging amount.
    * ``threshold``: 满减, ``amount_fen`` off once the charging amount reaches
      ``threshold_fen``.
    * ``percent``: pay ``percent`` of the charging amount (a pay-rate: 八折 = 0.8), at most
      ``cap_fen`` off.
    * ``service_only``: off the (discounted) service fee only: ``amount_fen``, or pay
      ``percent`` of it when ``percent`` is set (免服务费 = percent 0).

    ``threshold_fen`` (minimum spend) and ``cap_fen`` apply to every kind; ``expires_at``
    is the exclusive end of validity (see :func:`validity_end`); ``station_ids`` None means
    every station.
    """

    id: int | str
    kind: CouponKind
    amount_fen: int = 0
    threshold_fen: int = 0
    percent: Decimal | None = None
    cap_fen: int | None = None
    expires_at: datetime | None = None
    station_ids: frozenset[int | str] | None = None

    def __post_init__(self) -> None:
        if self.kind not in COUPON_KINDS:
            raise ValueError(f"unknown coupon kind {self.kind!r}")
        _require_fen("amount_fen", self.amount_fen)
        _require_fen("threshold_fen", self.threshold_fen)
        if self.cap_fen is not None:
            _require_fen("cap_fen", self.cap_fen)
        if self.kind == "percent" and self.percent is None:
            raise ValueError("a percent coupon needs percent (pay-rate, 八折 = 0.8)")
        if self.percent is not None:
            apply_rate_fen(0, self.percent)  # 0 ≤ percent ≤ 1
        if self.expires_at is not None:
            _require_aware("expires_at", self.expires_at)


@dataclass(frozen=True, slots=True)
class CouponRefusal:
    """Why a coupon does not apply to a bill: a stable ``code`` and a Chinese ``message``."""

    code: str
    message: str


REFUSAL_NOT_FOR_STATION = CouponRefusal("COUPON_NOT_FOR_STATION", "该券不适用于本站点")
REFUSAL_EXPIRED = CouponRefusal("COUPON_EXPIRED", "该券已过期")
REFUSAL_MIN_SPEND = CouponRefusal("COUPON_MIN_SPEND_NOT_REACHED", "未达到使用门槛")
REFUSAL_NO_SERVICE_FEE = CouponRefusal("COUPON_NO_SERVICE_FEE", "该券仅抵服务费，本单无服务费")
REFUSAL_NOTHING_TO_DEDUCT = CouponRefusal("COUPON_NOTHING_TO_DEDUCT", "本单无可抵扣金额")


def _coupon_amount(option: CouponOption, bill: Bill) -> tuple[int, int]:
    """(deduction before checks, base it applies to) for a coupon on this bill."""
    service_only = option.kind == "service_only"
    base = bill.discounted_service_fen if service_only else bill.charging_fen
    rate = option.percent  # never None for "percent" (checked on construction)
    if rate is not None and (option.kind == "percent" or service_only):
        raw = base - apply_rate_fen(base, rate)
    else:
        raw = option.amount_fen
    if option.cap_fen is not None:
        raw = min(raw, option.cap_fen)
    return max(0, min(raw, base)), base


def coupon_refusal(
    option: CouponOption,
    bill_before_coupon: Bill,
    station_id: int | str,
    *,
    now: datetime | None = None,
) -> CouponRefusal | None:
    """Why this coupon takes nothing off this bill, or None when it applies.

    The one rule both the coupon choice list and :func:`coupon_deduction` use, so what the
    driver is shown and what the bill deducts cannot disagree. Checked in this order:
    another station, expired (``now`` ≥ ``expires_at``; ``now`` defaults to the current
    time), charging amount below ``threshold_fen``, a service-fee coupon on a bill with no
    service fee, nothing left to deduct.
    """
    if option.station_ids is not None and station_id not in option.station_ids:
        return REFUSAL_NOT_FOR_STATION
    if option.expires_at is not None:
        moment = datetime.now(UTC) if now is None else _require_aware("now", now)
        if moment >= option.expires_at:
            return REFUSAL_EXPIRED
    if bill_before_coupon.charging_fen < option.threshold_fen:
        return REFUSAL_MIN_SPEND
    deduction, base = _coupon_amount(option, bill_before_coupon)
    if deduction <= 0:
        if option.kind == "service_only" and base == 0:
            return REFUSAL_NO_SERVICE_FEE
        return REFUSAL_NOTHING_TO_DEDUCT
    return None


def coupon_deduction(
    option: CouponOption,
    bill_before_coupon: Bill,
    station_id: int | str,
    *,
    now: datetime | None = None,
) -> int:
    """Fen the coupon takes off this bill; 0 when :func:`coupon_refusal` refuses it.

    The deduction never exceeds what it applies to (charging amount, or the discounted
    service fee for ``service_only``), so a coupon never makes a bill negative.
    """
    if coupon_refusal(option, bill_before_coupon, station_id, now=now) is not None:
        return 0
    return _coupon_amount(option, bill_before_coupon)[0]


def choose_default_coupon(
    options: Iterable[CouponOption],
    bill: Bill,
    station_id: int | str,
    now: datetime,
) -> CouponOption | None:
    """The coupon used unless the driver picks another (cases #13 and #9).

    The largest deduction on this bill; among equal ones the soonest to expire (no expiry
    counts as last); then the lowest minimum spend; then the order given. None when no
    coupon deducts anything.
    """
    best: tuple[int, datetime, int, int] | None = None
    chosen: CouponOption | None = None
    for position, option in enumerate(options):
        deduction = coupon_deduction(option, bill, station_id, now=now)
        if deduction <= 0:
            continue
        key = (-deduction, option.expires_at or _NEVER, option.threshold_fen, position)
        if best is None or key < best:
            best, chosen = key, option
    return chosen


@dataclass(frozen=True, slots=True)
class OccupancyPolicy:
    """A station's occupancy (占桩) fee: free minutes, then a price per minute, optional cap."""

    grace_minutes: int
    price_per_minute: Decimal  # yuan per minute, up to 4 decimals
    cap_fen: int | None = None


def idle_minutes(idle_started_at: datetime, idle_ended_at: datetime) -> int:
    """Whole minutes elapsed (floor): 90 min 59 s is 90 minutes; never negative."""
    start = _require_aware("idle_started_at", idle_started_at)
    end = _require_aware("idle_ended_at", idle_ended_at)
    return max(0, (end - start) // _ONE_MINUTE)


def occupancy_fee_fen(
    idle_minutes_total: int,
    grace_minutes: int,
    price_per_minute: Decimal,
    cap_fen: int | None = None,
) -> int:
    """Occupancy fee: whole idle minutes beyond the grace period × price, half-up, capped.

    Case #5 2019-10-14: 772 idle minutes, 90 free, 0.10 yuan/min → 682 × 0.10 = 68.20 yuan.
    Partial minutes never count (pass whole minutes, see :func:`idle_minutes`).
    """
    minutes = _require_fen("idle_minutes_total", idle_minutes_total)
    grace = _require_fen("grace_minutes", grace_minutes)
    price = parse_unit_price(price_per_minute)
    fee = round_half_up_fen(Decimal(max(0, minutes - grace)) * price)
    if cap_fen is not None:
        fee = min(fee, _require_fen("cap_fen", cap_fen))
    return fee


def occupancy_fee_for_policy(policy: OccupancyPolicy | None, idle_minutes_total: int) -> int:
    """The fee under a station's policy; a station without one charges nothing (case #19)."""
    if policy is None:
        return 0
    return occupancy_fee_fen(
        idle_minutes_total, policy.grace_minutes, policy.price_per_minute, policy.cap_fen
    )


def occupancy_fee_applies(policy: OccupancyPolicy | None) -> bool:
    """Whether drivers may be told about or charged an occupancy fee here (case #19)."""
    return policy is not None and policy.price_per_minute > 0


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's end.

    Jan 31 + 1 month → Feb 28 (Feb 29 in a leap year).
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def validity_end(
    granted_at_utc: datetime,
    *,
    days: int | None = None,
    months: int | None = None,
    tz: ZoneInfo | str = DEFAULT_TIMEZONE,
) -> datetime:
    """Exclusive end (UTC) of a validity period counted in local calendar days or months.

    The grant day is the first valid day; validity ends at local 00:00 after the last one.
    Case #10: granted 2019-10-14 (Asia/Shanghai), one month → last valid day 2019-11-13,
    end 2019-11-14 00:00 +08:00 (= 2019-11-13 16:00 UTC). ``days=1`` is the grant day only.
    Month arithmetic clamps: granted Jan 31, one month → ends Feb 28 (29) 00:00.
    """
    zone = _zone(tz)
    granted = _require_aware("granted_at_utc", granted_at_utc)
    if (days is None) == (months is None):
        raise ValueError("give exactly one of days or months")
    length = days if days is not None else months
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"validity length must be a positive int, got {length!r}")
    first_day = granted.astimezone(zone).date()
    end_day = (
        first_day + timedelta(days=length) if days is not None else add_months(first_day, length)
    )
    return local_midnight(end_day, zone)


def display_valid_until(end_exclusive: datetime, tz: ZoneInfo | str = DEFAULT_TIMEZONE) -> str:
    """The last valid second in local time, for drivers: ``"2019-11-13 23:59:59"`` (case #10)."""
    last = _require_aware("end_exclusive", end_exclusive) - timedelta(seconds=1)
    return last.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M:%S")
