"""app.money: exact fen, half-up rounding, strict parsing (DESIGN "Data rules")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.money import (
    apply_rate_fen,
    apply_rate_unit_price,
    fee_fen,
    fen_to_yuan_str,
    parse_unit_price,
    parse_yuan,
    round_half_up_fen,
)

prices = st.integers(min_value=0, max_value=99_999_999).map(lambda n: Decimal(n).scaleb(-4))
energies = st.integers(min_value=0, max_value=10_000_000)


def test_case18_2020_fee_lines_round_half_up_to_the_fen() -> None:
    # case #18 2020-04-14: 1.76 kWh, electricity 1.13, service 0.62, total 1.75 yuan.
    assert fee_fen(1760, Decimal("0.6420")) == 113  # 1.12992 yuan
    assert fee_fen(1760, Decimal("0.3523")) == 62  # 0.620048 yuan


@pytest.mark.parametrize(
    ("energy_wh", "price", "fen"),
    [
        (5, Decimal("1.0000"), 1),  # 0.5 fen → 1 (tie rounds up)
        (4, Decimal("1.2499"), 0),  # 0.49996 fen → 0
        (15, Decimal("1.0000"), 2),  # 1.5 fen → 2
        (25, Decimal("1.0000"), 3),  # 2.5 fen → 3 (half-up, not banker's)
        (1000, Decimal("0.0050"), 1),  # 0.5 fen
        (1000, Decimal("0.0049"), 0),
        (0, Decimal("9.9999"), 0),
        (1, Decimal("0.0001"), 0),
    ],
)
def test_fee_fen_rounds_half_up(energy_wh: int, price: Decimal, fen: int) -> None:
    assert fee_fen(energy_wh, price) == fen


@settings(database=None)
@given(energy_wh=energies, price=prices)
def test_fee_fen_matches_exact_integer_half_up(energy_wh: int, price: Decimal) -> None:
    # fen = Wh × (price × 10^4) / 10^5, rounded half-up, computed in integers only.
    p4 = int(price.scaleb(4))
    assert fee_fen(energy_wh, price) == (2 * energy_wh * p4 + 100_000) // 200_000


def test_fee_fen_refuses_floats_and_negatives() -> None:
    with pytest.raises(TypeError):
        fee_fen(1000, 0.642)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fee_fen(1000.0, Decimal("0.642"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        fee_fen(-1, Decimal("0.642"))
    with pytest.raises(ValueError):
        fee_fen(1, Decimal("-0.642"))
    with pytest.raises(ValueError):
        fee_fen(1, Decimal("NaN"))


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [
        ("0.005", 1),
        ("0.0049999", 0),
        ("1.125", 113),
        ("1.135", 114),
        ("-0.005", -1),  # ties away from zero
        ("-0.0049", 0),
        ("68.2", 6820),
    ],
)
def test_round_half_up_fen(yuan: str, fen: int) -> None:
    assert round_half_up_fen(Decimal(yuan)) == fen


@pytest.mark.parametrize(
    ("fen", "text"),
    [(175, "1.75"), (5, "0.05"), (0, "0.00"), (100, "1.00"), (-5, "-0.05"), (6820, "68.20")],
)
def test_fen_to_yuan_str(fen: int, text: str) -> None:
    assert fen_to_yuan_str(fen) == text


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("1.75", 175),
        ("1.7", 170),
        ("1", 100),
        (" 68.20 ", 6820),
        ("1.750", 175),  # exact: a trailing zero is not a third decimal
        (Decimal("1.7500"), 175),
        (Decimal("0"), 0),
        (3, 300),
    ],
)
def test_parse_yuan_exact(value: str | Decimal | int, fen: int) -> None:
    assert parse_yuan(value) == fen


@pytest.mark.parametrize(
    "value", ["1.755", "0.001", "abc", "", "1e2", "NaN", "1,000", ".5", "-1", Decimal("Infinity")]
)
def test_parse_yuan_refuses(value: str | Decimal) -> None:
    with pytest.raises(ValueError):
        parse_yuan(value)


def test_parse_yuan_negative_only_when_allowed_and_never_floats() -> None:
    assert parse_yuan("-1.50", allow_negative=True) == -150
    with pytest.raises(TypeError):
        parse_yuan(1.5)  # type: ignore[arg-type]


@settings(database=None)
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_fen_text_round_trips(fen: int) -> None:
    assert parse_yuan(fen_to_yuan_str(fen), allow_negative=True) == fen


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.642", "0.6420"),
        ("0.6420", "0.6420"),
        ("1", "1.0000"),
        (Decimal("0.35230"), "0.3523"),
        ("0", "0.0000"),
        ("-0", "0.0000"),
        ("999999.9999", "999999.9999"),
    ],
)
def test_parse_unit_price_quantizes_to_four_places(value: str | Decimal, text: str) -> None:
    assert str(parse_unit_price(value)) == text


@pytest.mark.parametrize(
    "value", ["0.64201", "-0.1", "1000000", "NaN", "x", Decimal("sNaN"), Decimal("-Infinity")]
)
def test_parse_unit_price_refuses(value: str | Decimal) -> None:
    with pytest.raises(ValueError):
        parse_unit_price(value)


def test_parse_unit_price_refuses_floats() -> None:
    with pytest.raises(TypeError):
        parse_unit_price(0.642)  # type: ignore[arg-type]


def test_case7_apply_rate_is_the_paid_share_rounded_half_up() -> None:
    # case #7: 七折 = rate 0.7 = pay 70%.
    assert apply_rate_fen(62, Decimal("0.7")) == 43  # 43.4
    assert apply_rate_fen(35, Decimal("0.7")) == 25  # 24.5 → 25
    assert apply_rate_fen(100, Decimal("1")) == 100
    assert apply_rate_fen(100, Decimal("0")) == 0


@pytest.mark.parametrize("rate", [Decimal("70"), Decimal("1.01"), Decimal("-0.1"), Decimal("NaN")])
def test_apply_rate_refuses_rates_outside_zero_to_one(rate: Decimal) -> None:
    with pytest.raises(ValueError):
        apply_rate_fen(100, rate)


@settings(database=None)
@given(
    amount=st.integers(min_value=0, max_value=10**9),
    rate=st.integers(min_value=0, max_value=10_000).map(lambda n: Decimal(n).scaleb(-4)),
)
def test_apply_rate_half_up_and_within_amount(amount: int, rate: Decimal) -> None:
    paid = apply_rate_fen(amount, rate)
    r4 = int(rate.scaleb(4))
    assert paid == (2 * amount * r4 + 10_000) // 20_000
    assert 0 <= paid <= amount


def test_case7_display_unit_price_at_rate() -> None:
    assert apply_rate_unit_price(Decimal("0.3523"), Decimal("0.7")) == Decimal("0.2466")  # 0.24661
    assert apply_rate_unit_price(Decimal("0.8000"), Decimal("0.7")) == Decimal("0.5600")
