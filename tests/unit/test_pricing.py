"""app.pricing: tariffs, session bills, coupons, occupancy fees, validity."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.money import apply_rate_fen, fee_fen, fen_to_yuan_str
from app.pricing import (
    Bill,
    CouponKind,
    CouponOption,
    OccupancyPolicy,
    Sample,
    Segment,
    TariffSnapshot,
    TariffValidationError,
    choose_default_coupon,
    coupon_deduction,
    coupon_refusal,
    display_valid_until,
    estimate_from_last_meter,
    idle_minutes,
    kwh_str,
    local_midnight,
    occupancy_fee_applies,
    occupancy_fee_fen,
    occupancy_fee_for_policy,
    price_session,
    segment_at,
    split_energy,
    validate_segments,
    validity_end,
    wall_to_utc,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
US = timedelta(microseconds=1)
D = Decimal


def seg(start: str, end: str, tier: str, elec: str, serv: str) -> Segment:
    def minute(hhmm: str) -> int:
        h, m = hhmm.split(":")
        return int(h) * 60 + int(m)

    return Segment(minute(start), minute(end), tier, D(elec), D(serv))


# A Guangdong-style time-of-use day (valley / flat / peak / sharp).
GD_SEGMENTS = (
    seg("00:00", "08:00", "valley", "0.3000", "0.5000"),
    seg("08:00", "10:00", "flat", "0.6420", "0.3523"),
    seg("10:00", "12:00", "peak", "1.0000", "0.8000"),
    seg("12:00", "14:00", "flat", "0.6420", "0.3523"),
    seg("14:00", "17:00", "peak", "1.0000", "0.8000"),
    seg("17:00", "19:00", "sharp", "1.2000", "0.8000"),
    seg("19:00", "22:00", "peak", "1.0000", "0.8000"),
    seg("22:00", "24:00", "valley", "0.3000", "0.5000"),
)
GD = TariffSnapshot(GD_SEGMENTS)


def local(text: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    """'2020-04-14 09:00' in ``zone`` → an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def linear_samples(start: datetime, minutes: int, wh_per_minute: int) -> list[Sample]:
    return [Sample(start + timedelta(minutes=i), i * wh_per_minute) for i in range(minutes + 1)]


# --------------------------------------------------------------------------- bills


def test_case18_2020_bill_1_76_kwh_is_1_75_yuan() -> None:
    # case #18 2020-04-14: 1.76 kWh → electricity 1.13 + service 0.62 = 1.75 yuan.
    start = local("2020-04-14 09:00")
    bill = price_session([Sample(start, 0), Sample(start + timedelta(minutes=30), 1760)], GD)
    (line,) = bill.lines
    assert (line.tier, line.energy_wh, line.electricity_fen, line.service_fen) == (
        "flat",
        1760,
        113,
        62,
    )
    assert (bill.energy_wh, bill.electricity_fen, bill.service_fen, bill.total_fen) == (
        1760,
        113,
        62,
        175,
    )
    assert kwh_str(bill.energy_wh) == "1.760"
    assert fen_to_yuan_str(bill.total_fen) == "1.75"
    assert (bill.started_at, bill.ended_at) == (start, start + timedelta(minutes=30))
    assert not bill.estimated


def test_case7_ride_hailing_service_fee_seventy_percent() -> None:
    # case #7: ride-hailing drivers pay 七折 (70%) of the service fee, electricity in full.
    start = local("2020-04-14 09:00")
    samples = [Sample(start, 0), Sample(start + timedelta(minutes=30), 1760)]
    bill = price_session(samples, GD, service_discount_rate=D("0.7"))
    assert bill.service_fen == 62
    assert bill.service_discount_fen == 62 - 43  # pays 43.4 → 43 fen
    assert bill.electricity_fen == 113
    assert bill.total_fen == 113 + 43
    assert bill.lines[0].payable_fen == 156
    assert bill.service_discount_rate == D("0.7")


def test_case7_discount_is_taken_per_line_and_summed() -> None:
    # Two lines of 35 fen service each: per line 35 → 24.5 → pays 25, discount 10 each.
    # (On the 70 fen total it would be 21: the rule is per line, documented in pricing.)
    tariff = TariffSnapshot(
        (
            seg("00:00", "12:00", "flat", "0.0000", "0.3500"),
            seg("12:00", "24:00", "peak", "0.0000", "0.3500"),
        )
    )
    samples = [Sample(local("2020-04-14 11:00"), 0), Sample(local("2020-04-14 13:00"), 2000)]
    bill = price_session(samples, tariff, service_discount_rate=D("0.7"))
    assert [line.service_discount_fen for line in bill.lines] == [10, 10]
    assert bill.service_discount_fen == 20
    assert bill.total_fen == 50


def test_case7_live_estimate_shows_the_discount_and_never_jumps_at_the_end() -> None:
    start = local("2020-04-14 09:00")
    samples = linear_samples(start, 180, 100)  # 09:00–12:00, 6 kW
    rate = D("0.7")
    live = price_session(samples[:61], GD, service_discount_rate=rate)  # at 10:00
    final = price_session(samples, GD, service_discount_rate=rate)
    assert live.service_discount_fen > 0
    # The first hour's line is settled as soon as the 10:00 reading is in.
    assert live.lines[0] == final.lines[0]
    # The same samples priced "live" and "final" are the same bill.
    assert price_session(samples, GD, service_discount_rate=rate) == final


def test_bill_crossing_midnight_has_one_line_per_local_day() -> None:
    start = local("2020-04-14 23:00")
    bill = price_session(linear_samples(start, 120, 50), GD)  # 23:00 → 01:00, 3 kW
    assert [(line.tier, line.energy_wh) for line in bill.lines] == [
        ("valley", 3000),
        ("valley", 3000),
    ]
    first, second = bill.lines
    assert first.segment_end == second.segment_start == local("2020-04-15 00:00")
    assert first.segment_start == start
    assert second.segment_end == local("2020-04-15 01:00")
    assert bill.electricity_fen == 2 * fee_fen(3000, D("0.3000"))


def test_split_across_several_days_keeps_each_instance() -> None:
    start = local("2020-04-14 21:00")
    end = local("2020-04-16 09:00")  # 36 hours
    split = split_energy([Sample(start, 0), Sample(end, 36_000)], GD)
    assert sum(wh for _, wh in split) == 36_000
    assert [w.local_date for w, _ in split][:2] == [date(2020, 4, 14)] * 2
    assert [w.segment.tier for w, _ in split] == [
        *("peak", "valley"),  # the 14th from 21:00
        *("valley", "flat", "peak", "flat", "peak", "sharp", "peak", "valley"),  # the 15th
        *("valley", "flat"),  # the 16th until 09:00
    ]
    # 1 kWh per hour: each window gets its hours' worth.
    assert [wh for _, wh in split] == [
        1000,
        2000,
        8000,
        2000,
        2000,
        2000,
        3000,
        2000,
        3000,
        2000,
        8000,
        1000,
    ]
    assert split[0][0].start == start and split[-1][0].end == end
    for (a, _), (b, _) in itertools.pairwise(split):
        assert a.end == b.start


def test_interpolates_linearly_between_samples() -> None:
    samples = [Sample(local("2020-04-14 09:00"), 0), Sample(local("2020-04-14 11:00"), 4000)]
    split = split_energy(samples, GD)
    assert [(w.segment.tier, wh) for w, wh in split] == [("flat", 2000), ("peak", 2000)]


def test_largest_remainder_ties_go_to_the_earlier_window() -> None:
    tariff = TariffSnapshot(
        (
            seg("00:00", "10:00", "valley", "0.3000", "0.5000"),
            seg("10:00", "11:00", "flat", "0.6000", "0.5000"),
            seg("11:00", "12:00", "peak", "0.9000", "0.5000"),
            seg("12:00", "24:00", "valley", "0.3000", "0.5000"),
        )
    )
    samples = [Sample(local("2020-04-14 09:00"), 0), Sample(local("2020-04-14 12:00"), 1000)]
    assert [wh for _, wh in split_energy(samples, tariff)] == [334, 333, 333]


def test_first_sample_energy_counts_in_the_first_window() -> None:
    samples = [Sample(local("2020-04-14 09:30"), 500), Sample(local("2020-04-14 10:30"), 1500)]
    assert [wh for _, wh in split_energy(samples, GD)] == [500 + 500, 500]


def test_a_jump_at_a_boundary_belongs_to_the_window_starting_there() -> None:
    samples = [
        Sample(local("2020-04-14 09:00"), 0),
        Sample(local("2020-04-14 10:00"), 100),
        Sample(local("2020-04-14 10:00"), 600),  # two readings at the same instant
        Sample(local("2020-04-14 11:00"), 700),
    ]
    assert [(w.segment.tier, wh) for w, wh in split_energy(samples, GD)] == [
        ("flat", 100),
        ("peak", 600),
    ]


def test_zero_duration_and_zero_energy_sessions() -> None:
    at = local("2020-04-14 09:30")
    bill = price_session([Sample(at, 0)], GD)
    assert bill.total_fen == 0 and len(bill.lines) == 1
    assert bill.lines[0].segment_start == bill.lines[0].segment_end == at
    jump = price_session([Sample(at, 0), Sample(at, 1760)], GD)
    assert jump.total_fen == 175


def test_samples_are_sorted_and_checked() -> None:
    a, b, c = (local(f"2020-04-14 {h}") for h in ("09:00", "09:30", "10:00"))
    shuffled = [Sample(c, 200), Sample(a, 0), Sample(b, 100)]
    assert split_energy(shuffled, GD) == split_energy(sorted(shuffled, key=lambda s: s.at), GD)
    with pytest.raises(ValueError, match="went down"):
        split_energy([Sample(a, 100), Sample(b, 50)], GD)
    with pytest.raises(ValueError, match="timezone-aware"):
        split_energy([Sample(datetime(2020, 4, 14, 9), 0)], GD)
    with pytest.raises(ValueError, match="at least one"):
        split_energy([], GD)
    with pytest.raises(TypeError):
        split_energy([Sample(a, 1.5)], GD)  # type: ignore[arg-type]
    # Any aware time zone is accepted and reported in UTC.
    shanghai_time = a.astimezone(SHANGHAI)
    (window, _), *_ = split_energy([Sample(shanghai_time, 0), Sample(b, 10)], GD)
    assert window.start == a and window.start.tzinfo is UTC


def test_coupon_and_occupancy_in_the_bill() -> None:
    start = local("2020-04-14 09:00")
    samples = [Sample(start, 0), Sample(start + timedelta(minutes=30), 1760)]
    bill = price_session(samples, GD, occupancy_fen=300, coupon_fen=100)
    assert bill.total_fen == 175 + 300 - 100
    # A coupon larger than the charging amount is capped there; occupancy is still due.
    big = price_session(samples, GD, occupancy_fen=300, coupon_fen=10_000)
    assert (big.coupon_fen, big.total_fen) == (175, 300)
    with pytest.raises(ValueError):
        price_session(samples, GD, coupon_fen=-1)
    with pytest.raises(ValueError):
        price_session(samples, GD, service_discount_rate=D("70"))


def test_estimate_from_last_meter_spreads_from_the_start() -> None:
    # case #25 2021-01-14: the final record never came; settle from the last reading.
    start = local("2020-04-14 09:00")
    last = Sample(local("2020-04-14 11:00"), 4000)
    bill = estimate_from_last_meter(start, [last], GD, service_discount_rate=D("0.7"))
    assert bill.estimated
    assert [(line.tier, line.energy_wh) for line in bill.lines] == [("flat", 2000), ("peak", 2000)]
    assert bill.started_at == start and bill.ended_at == last.at
    full = linear_samples(start, 120, 10)
    estimated = estimate_from_last_meter(start, full, GD)
    assert estimated.lines == price_session(full, GD).lines
    nothing = estimate_from_last_meter(start, [], GD)
    assert (nothing.total_fen, nothing.energy_wh, nothing.estimated) == (0, 0, True)


# --------------------------------------------------------------------------- DST


NEW_YORK = ZoneInfo("America/New_York")
DST_SEGMENTS = (
    seg("00:00", "01:00", "valley", "0.3000", "0.1000"),
    seg("01:00", "01:30", "flat", "0.6000", "0.1000"),
    seg("01:30", "02:00", "peak", "0.9000", "0.1000"),
    seg("02:00", "03:00", "sharp", "1.2000", "0.1000"),
    seg("03:00", "24:00", "valley", "0.3000", "0.1000"),
)


def test_fall_back_bills_the_repeated_hour_by_the_wall_clock() -> None:
    tariff = TariffSnapshot(DST_SEGMENTS, timezone="America/New_York")
    # 2021-11-07: 02:00 EDT → 01:00 EST. 00:30 EDT = 04:30Z … 03:00 EST = 08:00Z.
    samples = [Sample(utc("2021-11-07 04:30"), 0), Sample(utc("2021-11-07 08:00"), 3500)]
    split = split_energy(samples, tariff)
    assert [(w.segment.tier, w.start, w.end, wh) for w, wh in split] == [
        ("valley", utc("2021-11-07 04:30"), utc("2021-11-07 05:00"), 500),
        ("flat", utc("2021-11-07 05:00"), utc("2021-11-07 05:30"), 500),  # 01:00 EDT
        ("peak", utc("2021-11-07 05:30"), utc("2021-11-07 06:00"), 500),
        ("flat", utc("2021-11-07 06:00"), utc("2021-11-07 06:30"), 500),  # 01:00 EST
        ("peak", utc("2021-11-07 06:30"), utc("2021-11-07 07:00"), 500),
        ("sharp", utc("2021-11-07 07:00"), utc("2021-11-07 08:00"), 1000),
    ]


def test_spring_forward_skips_the_missing_hour() -> None:
    tariff = TariffSnapshot(DST_SEGMENTS, timezone="America/New_York")
    # 2021-03-14: 02:00 EST → 03:00 EDT. 00:30 EST = 05:30Z … 04:00 EDT = 08:00Z.
    samples = [Sample(utc("2021-03-14 05:30"), 0), Sample(utc("2021-03-14 08:00"), 2500)]
    split = split_energy(samples, tariff)
    assert [(w.segment.tier, w.start, w.end, wh) for w, wh in split] == [
        ("valley", utc("2021-03-14 05:30"), utc("2021-03-14 06:00"), 500),
        ("flat", utc("2021-03-14 06:00"), utc("2021-03-14 06:30"), 500),
        ("peak", utc("2021-03-14 06:30"), utc("2021-03-14 07:00"), 500),
        ("valley", utc("2021-03-14 07:00"), utc("2021-03-14 08:00"), 1000),  # from 03:00 EDT
    ]


def test_a_clock_change_inside_a_segment_cuts_the_window() -> None:
    # Europe/London 2021-03-28: 01:00 GMT → 02:00 BST; the 01:30 boundary never happens,
    # but at 01:00Z the clock jumps past it into the second segment.
    tariff = TariffSnapshot(
        (
            seg("00:00", "01:30", "valley", "0.3000", "0.1000"),
            seg("01:30", "24:00", "peak", "0.9000", "0.1000"),
        ),
        timezone="Europe/London",
    )
    samples = [Sample(utc("2021-03-28 00:00"), 0), Sample(utc("2021-03-28 02:00"), 2000)]
    assert [(w.segment.tier, w.start, w.end, wh) for w, wh in split_energy(samples, tariff)] == [
        ("valley", utc("2021-03-28 00:00"), utc("2021-03-28 01:00"), 1000),
        ("peak", utc("2021-03-28 01:00"), utc("2021-03-28 02:00"), 1000),
    ]


def test_wall_to_utc_handles_gaps_and_folds() -> None:
    assert wall_to_utc(datetime(2021, 3, 14, 2, 30), NEW_YORK) == utc("2021-03-14 07:00")
    assert wall_to_utc(datetime(2021, 11, 7, 1, 30), NEW_YORK) == utc("2021-11-07 05:30")
    assert wall_to_utc(datetime(2021, 6, 1, 12, 0), "America/New_York") == utc("2021-06-01 16:00")
    # Asia/Shanghai kept DST until 1991: 1991-04-14 02:00 CST jumped to 03:00 CDT.
    assert local_midnight(date(2020, 4, 14), SHANGHAI) == utc("2020-04-13 16:00")


# --------------------------------------------------------------------------- tariffs


def codes_of(segments: tuple[Segment, ...]) -> tuple[str, dict[str, object]]:
    with pytest.raises(TariffValidationError) as info:
        validate_segments(segments)
    assert info.value.message  # a Chinese message for operators
    return info.value.code, info.value.details


def test_valid_segments_pass_in_any_order() -> None:
    validate_segments(GD_SEGMENTS)
    validate_segments(tuple(reversed(GD_SEGMENTS)))
    validate_segments((seg("00:00", "24:00", "flat", "0", "0"),))


def test_tariff_snapshot_sorts_its_segments() -> None:
    snapshot = TariffSnapshot(tuple(reversed(GD_SEGMENTS)))
    assert snapshot.segments == GD_SEGMENTS
    assert snapshot == GD


@pytest.mark.parametrize(
    ("segments", "code", "indexes"),
    [
        ((), "TARIFF_SEGMENTS_INCOMPLETE", None),
        (
            (seg("01:00", "24:00", "flat", "0.6", "0.3"),),
            "TARIFF_SEGMENTS_INCOMPLETE",
            [0, 0],
        ),
        (
            (seg("00:00", "23:00", "flat", "0.6", "0.3"),),
            "TARIFF_SEGMENTS_INCOMPLETE",
            [0, 0],
        ),
        (
            (
                seg("00:00", "08:00", "valley", "0.3", "0.3"),
                seg("09:00", "24:00", "flat", "0.6", "0.3"),
            ),
            "TARIFF_SEGMENTS_GAP",
            [0, 1],
        ),
        (
            (
                seg("08:00", "24:00", "flat", "0.6", "0.3"),
                seg("00:00", "09:00", "valley", "0.3", "0.3"),
            ),
            "TARIFF_SEGMENTS_OVERLAP",
            [1, 0],
        ),
        (
            (
                seg("00:00", "24:00", "flat", "0.6", "0.3"),
                seg("10:00", "11:00", "peak", "0.9", "0.3"),
            ),
            "TARIFF_SEGMENTS_OVERLAP",
            [0, 1],
        ),
        (
            (seg("00:00", "24:00", "normal", "0.6", "0.3"),),
            "TARIFF_TIER_INVALID",
            [0],
        ),
        (
            (seg("00:00", "24:00", "flat", "-0.6", "0.3"),),
            "TARIFF_PRICE_INVALID",
            [0],
        ),
        (
            (seg("00:00", "24:00", "flat", "0.6", "0.35231"),),
            "TARIFF_PRICE_INVALID",
            [0],
        ),
        (
            (
                seg("00:00", "22:00", "flat", "0.6", "0.3"),
                seg("22:00", "06:00", "valley", "0.3", "0.3"),  # crosses midnight
            ),
            "TARIFF_SEGMENT_RANGE_INVALID",
            [1],
        ),
        (
            (Segment(0, 1500, "flat", D("0.6"), D("0.3")),),
            "TARIFF_SEGMENT_RANGE_INVALID",
            [0],
        ),
    ],
)
def test_segment_validation(
    segments: tuple[Segment, ...], code: str, indexes: list[int] | None
) -> None:
    got_code, details = codes_of(segments)
    assert got_code == code
    if indexes is not None:
        assert details["segments"] == indexes


def test_gap_details_say_which_times_have_no_price() -> None:
    _, details = codes_of(
        (
            seg("00:00", "08:00", "valley", "0.3", "0.3"),
            seg("09:00", "24:00", "flat", "0.6", "0.3"),
        )
    )
    assert (details["from"], details["to"]) == ("08:00", "09:00")


def test_float_prices_are_invalid() -> None:
    bad = Segment(0, 1440, "flat", 0.6, D("0.3"))  # type: ignore[arg-type]
    assert codes_of((bad,))[0] == "TARIFF_PRICE_INVALID"


def test_snapshot_refuses_bad_segments_and_time_zones() -> None:
    with pytest.raises(TariffValidationError) as info:
        TariffSnapshot(GD_SEGMENTS[1:])
    assert info.value.code == "TARIFF_SEGMENTS_INCOMPLETE"
    with pytest.raises(TariffValidationError) as info:
        TariffSnapshot(GD_SEGMENTS, timezone="Mars/Olympus")
    assert info.value.code == "TARIFF_TIMEZONE_INVALID"


def test_segment_at_uses_station_local_time() -> None:
    assert segment_at(GD, local("2020-04-14 17:59")).tier == "sharp"
    assert segment_at(GD, local("2020-04-14 19:00")).tier == "peak"
    assert segment_at(GD, utc("2020-04-14 00:30")).tier == "flat"  # 08:30 in Shanghai


# --------------------------------------------------------------------------- coupons


def a_bill(electricity: int = 113, service: int = 62, discount: int = 0) -> Bill:
    at = utc("2020-04-14 01:00")
    return Bill(
        lines=(),
        energy_wh=1760,
        electricity_fen=electricity,
        service_fen=service,
        service_discount_fen=discount,
        occupancy_fen=0,
        coupon_fen=0,
        total_fen=electricity + service - discount,
        started_at=at,
        ended_at=at,
    )


NOW = local("2019-11-10 12:00")


def voucher(id: str, amount: int, expires: str, **kw: object) -> CouponOption:
    return CouponOption(id=id, kind="fixed", amount_fen=amount, expires_at=local(expires), **kw)  # type: ignore[arg-type]


def test_case13_largest_deduction_then_soonest_expiry() -> None:
    # case #13: vouchers expiring Nov 19 must go before those expiring Nov 30.
    bill = a_bill(electricity=1000, service=1000)
    nov30 = voucher("nov30", 500, "2019-12-01 00:00")
    nov19 = voucher("nov19", 500, "2019-11-20 00:00")
    small_soon = voucher("small", 300, "2019-11-11 00:00")
    unmet = CouponOption(
        id="unmet",
        kind="threshold",
        amount_fen=1000,
        threshold_fen=5000,
        expires_at=local("2019-11-15 00:00"),
    )
    assert choose_default_coupon([nov30, nov19, small_soon, unmet], bill, 1, NOW) is nov19
    # A larger deduction wins over a sooner expiry.
    bigger = voucher("bigger", 600, "2019-12-31 00:00")
    assert choose_default_coupon([nov19, bigger], bill, 1, NOW) is bigger


def test_case9_ties_go_to_the_lowest_threshold_then_the_order_given() -> None:
    bill = a_bill(electricity=1000, service=1000)
    a = voucher("a", 500, "2019-11-20 00:00", threshold_fen=1000)
    b = voucher("b", 500, "2019-11-20 00:00")
    c = voucher("c", 500, "2019-11-20 00:00")
    assert choose_default_coupon([a, b, c], bill, 1, NOW) is b
    never = CouponOption(id="n", kind="fixed", amount_fen=500)
    assert choose_default_coupon([never, a], bill, 1, NOW) is a  # no expiry counts as last


def test_coupon_scope_expiry_and_threshold() -> None:
    bill = a_bill()  # charging amount 175
    elsewhere = voucher("x", 100, "2019-12-01 00:00", station_ids=frozenset({2, 3}))
    assert coupon_deduction(elsewhere, bill, 1, now=NOW) == 0
    assert coupon_deduction(elsewhere, bill, 2, now=NOW) == 100
    expired = voucher("old", 100, "2019-11-10 12:00")
    assert coupon_deduction(expired, bill, 1, now=NOW) == 0  # the end is exclusive
    assert coupon_deduction(expired, bill, 1, now=NOW - timedelta(seconds=1)) == 100
    at_threshold = CouponOption(id="t", kind="threshold", amount_fen=50, threshold_fen=175)
    assert coupon_deduction(at_threshold, bill, 1, now=NOW) == 50
    assert coupon_deduction(at_threshold, a_bill(electricity=112), 1, now=NOW) == 0
    assert choose_default_coupon([elsewhere, expired], bill, 1, NOW) is None


def test_coupon_kinds() -> None:
    bill = a_bill(electricity=1000, service=500, discount=150)  # charging 1350, service 350
    eighty = CouponOption(id=1, kind="percent", percent=D("0.8"))
    assert coupon_deduction(eighty, bill, 1, now=NOW) == 270
    capped = CouponOption(id=2, kind="percent", percent=D("0.8"), cap_fen=200)
    assert coupon_deduction(capped, bill, 1, now=NOW) == 200
    service_off = CouponOption(id=3, kind="service_only", amount_fen=1000)
    assert coupon_deduction(service_off, bill, 1, now=NOW) == 350  # only the service fee
    free_service = CouponOption(id=4, kind="service_only", amount_fen=0, percent=D("0"))
    assert coupon_deduction(free_service, bill, 1, now=NOW) == 350
    too_big = CouponOption(id=5, kind="fixed", amount_fen=99_999)
    assert coupon_deduction(too_big, bill, 1, now=NOW) == 1350
    with pytest.raises(ValueError):
        CouponOption(id=6, kind="percent")
    with pytest.raises(ValueError):
        CouponOption(id=7, kind="percent", percent=D("20"))
    with pytest.raises(ValueError):
        CouponOption(id=8, kind="bogus", amount_fen=1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- occupancy


def test_case5_2019_occupancy_682_minutes_is_68_20() -> None:
    # case #5 2019-10-14: gun B stopped at 01:47, 90 free minutes, charged until 14:39.
    idle = idle_minutes(local("2019-10-14 01:47"), local("2019-10-14 14:39"))
    assert idle == 90 + 682
    fee = occupancy_fee_fen(idle, 90, D("0.10"), None)
    assert fee == 6820
    assert fen_to_yuan_str(fee) == "68.20"
    # The admin corrects the end to 01:53 (the driver moved to gun A): the fee is refunded.
    corrected = occupancy_fee_fen(
        idle_minutes(local("2019-10-14 01:47"), local("2019-10-14 01:53")), 90, D("0.10")
    )
    assert fee - corrected == 6820


def test_occupancy_counts_whole_minutes_after_grace_with_cap() -> None:
    start = local("2019-10-14 01:47")
    assert idle_minutes(start, start + timedelta(minutes=90, seconds=59)) == 90
    assert idle_minutes(start, start - timedelta(minutes=5)) == 0
    assert occupancy_fee_fen(90, 90, D("0.10")) == 0
    assert occupancy_fee_fen(91, 90, D("0.10")) == 10
    assert occupancy_fee_fen(1000, 90, D("0.10"), cap_fen=3000) == 3000
    assert occupancy_fee_fen(3, 0, D("0.0050")) == 2  # 1.5 fen → 2, half-up


def test_case19_station_without_occupancy_policy_charges_nothing() -> None:
    assert occupancy_fee_for_policy(None, 10_000) == 0
    assert not occupancy_fee_applies(None)
    assert not occupancy_fee_applies(OccupancyPolicy(90, D("0")))
    policy = OccupancyPolicy(90, D("0.10"), cap_fen=5000)
    assert occupancy_fee_applies(policy)
    assert occupancy_fee_for_policy(policy, 772) == 5000


# --------------------------------------------------------------------------- validity


def test_case10_one_month_voucher_valid_until_13th_235959() -> None:
    # case #10: granted 2019-10-14, one month: expired at 2019-11-14 00:00 Shanghai time.
    granted = local("2019-10-14 10:15")
    end = validity_end(granted, months=1, tz=SHANGHAI)
    assert end == local("2019-11-14 00:00") == utc("2019-11-13 16:00")
    assert display_valid_until(end, SHANGHAI) == "2019-11-13 23:59:59"
    # Just after local midnight the UTC date is still the 13th: the local day counts.
    early = local("2019-10-14 00:05")
    assert early.date() == date(2019, 10, 13)
    assert validity_end(early, months=1) == end


def test_validity_in_days_and_month_ends() -> None:
    granted = local("2019-10-14 23:59")
    assert display_valid_until(validity_end(granted, days=1)) == "2019-10-14 23:59:59"
    assert display_valid_until(validity_end(granted, days=7)) == "2019-10-20 23:59:59"
    assert validity_end(local("2020-01-31 12:00"), months=1) == local("2020-02-29 00:00")
    assert validity_end(local("2021-01-31 12:00"), months=1) == local("2021-02-28 00:00")
    assert validity_end(local("2019-12-15 12:00"), months=1) == local("2020-01-15 00:00")
    assert validity_end(local("2019-10-14 12:00"), months=12) == local("2020-10-14 00:00")
    with pytest.raises(ValueError):
        validity_end(granted)
    with pytest.raises(ValueError):
        validity_end(granted, days=1, months=1)
    with pytest.raises(ValueError):
        validity_end(granted, days=0)


# --------------------------------------------------------------------------- properties

ZONES = ["Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"]
TIER_NAMES = ["sharp", "peak", "flat", "valley"]
unit_prices = st.integers(min_value=0, max_value=30_000).map(lambda n: Decimal(n).scaleb(-4))


# Real UTC-offset changes (checked in a test below), to start sessions near.
TRANSITIONS = {
    "America/New_York": ["2021-03-14 07:00", "2021-11-07 06:00"],
    "Europe/London": ["2021-03-28 01:00", "2021-10-31 01:00"],
    "Australia/Lord_Howe": ["2021-04-03 15:00", "2021-10-02 15:30"],  # 30-minute DST
    "Asia/Shanghai": ["1991-04-13 18:00", "1991-09-14 17:00"],  # China's last DST year
}


@st.composite
def tariffs(draw: st.DrawFn, zone: str | None = None) -> TariffSnapshot:
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=1439), max_size=8)))
    # Boundaries at the DST changes' wall times are the interesting ones.
    cuts = sorted(set(cuts) | draw(st.sets(st.sampled_from([60, 90, 120, 150, 180]))))
    bounds = [0, *cuts, 1440]
    segments = tuple(
        Segment(a, b, draw(st.sampled_from(TIER_NAMES)), draw(unit_prices), draw(unit_prices))
        for a, b in itertools.pairwise(bounds)
    )
    return TariffSnapshot(segments, timezone=zone or draw(st.sampled_from(ZONES)))


@st.composite
def sessions(draw: st.DrawFn) -> tuple[list[Sample], TariffSnapshot]:
    tariff = draw(tariffs())
    near = TRANSITIONS.get(tariff.timezone)
    if near and draw(st.booleans()):
        # Start within 36 hours before a DST change of the tariff's zone.
        at = utc(draw(st.sampled_from(near))) - timedelta(seconds=draw(st.integers(0, 36 * 3600)))
    else:
        at = utc("2019-01-01 00:00") + timedelta(seconds=draw(st.integers(0, 4 * 365 * 86400)))
    energy = draw(st.integers(0, 3))
    samples = [Sample(at, energy)]
    for _ in range(draw(st.integers(0, 25))):
        at += timedelta(seconds=draw(st.integers(0, 8 * 3600)))
        energy += draw(st.integers(0, 20_000))
        samples.append(Sample(at, energy))
    return samples, tariff


def test_listed_transitions_are_real() -> None:
    for name, instants in TRANSITIONS.items():
        zone = ZoneInfo(name)
        for text in instants:
            at = utc(text)
            before = (at - timedelta(seconds=1)).astimezone(zone).utcoffset()
            assert before != at.astimezone(zone).utcoffset()


def exact_shares(samples: list[Sample], windows: list[tuple[datetime, datetime]]) -> list[Fraction]:
    """Independent reference: each window's exact (fractional) energy."""
    shares = [Fraction(0)] * len(windows)

    def window_of(at: datetime) -> int:
        for i, (start, end) in enumerate(windows):
            if start <= at < end:
                return i
        return len(windows) - 1

    shares[0] += samples[0].energy_wh
    for a, b in itertools.pairwise(samples):
        delta = b.energy_wh - a.energy_wh
        if a.at == b.at:
            shares[window_of(a.at)] += delta
            continue
        span = (b.at - a.at) // US
        for i, (start, end) in enumerate(windows):
            overlap = (min(b.at, end) - max(a.at, start)) // US
            if overlap > 0:
                shares[i] += Fraction(delta * overlap, span)
    return shares


@settings(database=None, max_examples=150, deadline=None)
@given(session=sessions())
def test_split_conserves_energy_and_follows_the_wall_clock(
    session: tuple[list[Sample], TariffSnapshot],
) -> None:
    samples, tariff = session
    split = split_energy(samples, tariff)
    assert sum(wh for _, wh in split) == samples[-1].energy_wh
    assert all(wh >= 0 for _, wh in split)
    assert split[0][0].start == samples[0].at and split[-1][0].end == samples[-1].at
    zone = tariff.zone
    for (a, _), (b, _) in itertools.pairwise(split):
        assert a.end == b.start and a.start < a.end
        assert (a.local_date, a.segment_index) != (b.local_date, b.segment_index)
    for window, _ in split:
        probes = [window.start, window.start + (window.end - window.start) / 2]
        if window.end > window.start:
            probes.append(window.end - timedelta(microseconds=1))
        for probe in probes:
            wall = probe.astimezone(zone)
            assert wall.date() == window.local_date
            minute = wall.hour * 60 + wall.minute
            assert window.segment.start_minute <= minute < window.segment.end_minute
    # Largest remainder: every window is within 1 Wh of its exact share.
    shares = exact_shares(samples, [(w.start, w.end) for w, _ in split])
    assert all(abs(wh - share) < 1 for (_, wh), share in zip(split, shares, strict=True))
    # ... and the ones rounded up had remainders at least as large as those rounded down.
    up = [share % 1 for (_, wh), share in zip(split, shares, strict=True) if wh > share]
    down = [share % 1 for (_, wh), share in zip(split, shares, strict=True) if wh < share]
    assert not up or not down or min(up) >= max(down)


@settings(database=None, max_examples=150, deadline=None)
@given(
    session=sessions(),
    rate=st.none() | st.integers(0, 100).map(lambda n: Decimal(n) / 100),
    occupancy=st.integers(0, 10_000),
    coupon=st.integers(0, 100_000),
)
def test_bill_lines_sum_to_totals_and_total_is_never_negative(
    session: tuple[list[Sample], TariffSnapshot],
    rate: Decimal | None,
    occupancy: int,
    coupon: int,
) -> None:
    samples, tariff = session
    bill = price_session(
        samples, tariff, service_discount_rate=rate, occupancy_fen=occupancy, coupon_fen=coupon
    )
    assert bill.energy_wh == sum(line.energy_wh for line in bill.lines) == samples[-1].energy_wh
    assert bill.electricity_fen == sum(line.electricity_fen for line in bill.lines)
    assert bill.service_fen == sum(line.service_fen for line in bill.lines)
    assert bill.service_discount_fen == sum(line.service_discount_fen for line in bill.lines)
    for line in bill.lines:
        assert line.electricity_fen == fee_fen(line.energy_wh, line.electricity_price)
        assert line.service_fen == fee_fen(line.energy_wh, line.service_price)
        assert 0 <= line.service_discount_fen <= line.service_fen
        if rate is not None:
            assert line.service_fen - line.service_discount_fen == apply_rate_fen(
                line.service_fen, rate
            )
    assert 0 <= bill.service_discount_fen <= bill.service_fen
    assert 0 <= bill.coupon_fen <= min(coupon, bill.charging_fen)
    assert bill.total_fen == (
        bill.electricity_fen
        + bill.service_fen
        - bill.service_discount_fen
        + bill.occupancy_fen
        - bill.coupon_fen
    )
    assert bill.total_fen >= occupancy >= 0


@st.composite
def coupon_options(draw: st.DrawFn) -> CouponOption:
    kinds: list[CouponKind] = ["fixed", "threshold", "percent", "service_only"]
    kind = draw(st.sampled_from(kinds))
    rates = st.integers(0, 100).map(lambda n: Decimal(n) / 100)
    return CouponOption(
        id=draw(st.integers(0, 10**6)),
        kind=kind,
        amount_fen=draw(st.integers(0, 50_000)),
        threshold_fen=draw(st.integers(0, 20_000)),
        percent=draw(rates if kind == "percent" else st.none() | rates),
        cap_fen=draw(st.none() | st.integers(0, 20_000)),
        expires_at=draw(st.none() | st.integers(-5, 5).map(lambda d: NOW + timedelta(days=d))),
        station_ids=draw(st.none() | st.frozensets(st.integers(1, 4), max_size=3)),
    )


@settings(database=None, max_examples=200, deadline=None)
@given(
    options=st.lists(coupon_options(), max_size=6),
    electricity=st.integers(0, 20_000),
    service=st.integers(0, 20_000),
    discount_pct=st.integers(0, 100),
    station=st.integers(1, 4),
)
def test_coupon_never_exceeds_what_it_applies_to(
    options: list[CouponOption], electricity: int, service: int, discount_pct: int, station: int
) -> None:
    bill = a_bill(electricity, service, service * discount_pct // 100)
    deductions = [coupon_deduction(o, bill, station, now=NOW) for o in options]
    for option, deduction in zip(options, deductions, strict=True):
        limit = bill.discounted_service_fen if option.kind == "service_only" else bill.charging_fen
        assert 0 <= deduction <= limit
        if option.cap_fen is not None:
            assert deduction <= option.cap_fen
        assert bill.charging_fen - deduction >= 0
    chosen = choose_default_coupon(options, bill, station, NOW)
    if chosen is None:
        assert all(d == 0 for d in deductions)
    else:
        assert coupon_deduction(chosen, bill, station, now=NOW) == max(deductions)


def test_coupon_refusal_says_why_a_coupon_does_not_apply() -> None:
    bill = a_bill()  # charging amount 175, service 62
    elsewhere = voucher("x", 100, "2019-12-01 00:00", station_ids=frozenset({2}))
    assert coupon_refusal(elsewhere, bill, 1, now=NOW).code == "COUPON_NOT_FOR_STATION"  # type: ignore[union-attr]
    assert coupon_refusal(elsewhere, bill, 2, now=NOW) is None
    expired = voucher("old", 100, "2019-11-10 12:00")
    assert coupon_refusal(expired, bill, 1, now=NOW).code == "COUPON_EXPIRED"  # type: ignore[union-attr]
    unmet = CouponOption(id="t", kind="threshold", amount_fen=50, threshold_fen=176)
    refusal = coupon_refusal(unmet, bill, 1, now=NOW)
    assert refusal is not None and refusal.code == "COUPON_MIN_SPEND_NOT_REACHED"
    assert refusal.message == "未达到使用门槛"
    no_service = CouponOption(id="s", kind="service_only", amount_fen=100)
    assert coupon_refusal(no_service, a_bill(service=0), 1, now=NOW).code == "COUPON_NO_SERVICE_FEE"  # type: ignore[union-attr]
    assert coupon_refusal(no_service, a_bill(service=62, discount=62), 1, now=NOW).code == (  # type: ignore[union-attr]
        "COUPON_NO_SERVICE_FEE"
    )
    zero = CouponOption(id="z", kind="fixed", amount_fen=0)
    assert coupon_refusal(zero, bill, 1, now=NOW).code == "COUPON_NOTHING_TO_DEDUCT"  # type: ignore[union-attr]


@settings(database=None, max_examples=300, deadline=None)
@given(
    option=coupon_options(),
    electricity=st.integers(0, 20_000),
    service=st.integers(0, 20_000),
    discount_pct=st.integers(0, 100),
    station=st.integers(1, 4),
)
def test_coupon_refusal_and_deduction_never_disagree(
    option: CouponOption, electricity: int, service: int, discount_pct: int, station: int
) -> None:
    bill = a_bill(electricity, service, service * discount_pct // 100)
    refusal = coupon_refusal(option, bill, station, now=NOW)
    deduction = coupon_deduction(option, bill, station, now=NOW)
    assert (refusal is None) == (deduction > 0)
