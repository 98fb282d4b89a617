"""Money: integer fen, Decimal unit prices, and the platform's only rounding rules.

Amounts are ``int`` fen (分) everywhere; unit prices are ``Decimal`` yuan per kWh (or per
minute) with at most 4 decimals, ``Numeric(10, 4)`` in the database. Every rounding of money
in the platform goes through this module, half-up to the fen (DESIGN "Data rules").
Floats are refused on purpose: they cannot hold 0.6420 exactly.
"""

from __future__ import annotations

import re
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

WH_PER_KWH = 1000
FEN_PER_YUAN = 100
UNIT_PRICE_PLACES = 4
UNIT_PRICE_QUANTUM = Decimal("0.0001")
UNIT_PRICE_MAX = Decimal("999999.9999")  # the largest value Numeric(10, 4) holds

# Exact arithmetic: an operation that would have to round raises Inexact instead.
_EXACT = Context(
    prec=80,
    rounding=ROUND_HALF_UP,
    traps=[InvalidOperation, Inexact, Overflow, DivisionByZero],
)
# The one rounding context: half-up (ties away from zero) to an integral number of fen.
_HALF_UP = Context(prec=80, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])
_DECIMAL_TEXT = re.compile(r"[+-]?\d+(?:\.\d+)?")
_ZERO = Decimal(0)
_ONE = Decimal(1)


def _require_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def _require_decimal(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
    dec = Decimal(value)
    if not dec.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value}")
    return dec


def _fen_half_up(amount_fen: Decimal) -> int:
    return int(amount_fen.to_integral_value(rounding=ROUND_HALF_UP, context=_HALF_UP))


def _parse_decimal(name: str, value: str | Decimal | int) -> Decimal:
    """Read a decimal from text typed by a person, a ``Decimal`` or an ``int``; never a float."""
    if isinstance(value, str):
        text = value.strip()
        # Plain "123.45" only: no exponents, no "NaN", no thousands separators.
        if not _DECIMAL_TEXT.fullmatch(text):
            raise ValueError(f"{name} is not a decimal number: {value!r}")
        return Decimal(text)
    return _require_decimal(name, value)


def fee_fen(energy_wh: int, unit_price_yuan: Decimal) -> int:
    """The fee for ``energy_wh`` at ``unit_price_yuan`` per kWh, rounded half-up to the fen.

    This is the rounding rule of every tariff line (DESIGN "Data rules"). Case #18 2020-04-14:
    1760 Wh at 0.6420 → 1.12992 yuan → 113 fen; at 0.3523 → 0.620048 yuan → 62 fen.
    The product is computed exactly; only the final step rounds.
    """
    wh = _require_int("energy_wh", energy_wh)
    price = _require_decimal("unit_price_yuan", unit_price_yuan)
    if wh < 0:
        raise ValueError(f"energy_wh must not be negative, got {wh}")
    if price < 0:
        raise ValueError(f"unit_price_yuan must not be negative, got {price}")
    # Wh × yuan/kWh = yuan/1000 = fen/10.
    tenths_of_fen = _EXACT.multiply(Decimal(wh), price)
    return _fen_half_up(tenths_of_fen.scaleb(-1, _EXACT))


def round_half_up_fen(amount_yuan: Decimal) -> int:
    """A yuan amount rounded half-up to an integral number of fen.

    Ties go away from zero (``ROUND_HALF_UP``): 0.005 → 1 fen, -0.005 → -1 fen.
    """
    amount = _require_decimal("amount_yuan", amount_yuan)
    return _fen_half_up(amount.scaleb(2, _EXACT))


def apply_rate_fen(amount_fen: int, rate: Decimal) -> int:
    """What is paid of ``amount_fen`` at pay-rate ``rate``, rounded half-up to the fen.

    ``rate`` is the fraction that is *paid*, the Chinese 折 convention: 七折 = 0.7 (case #7,
    ride-hailing drivers pay 70% of the service fee). A rate outside 0..1 (say 70 for "70%")
    is refused rather than guessed at.
    """
    amount = _require_int("amount_fen", amount_fen)
    r = _require_decimal("rate", rate)
    if not _ZERO <= r <= _ONE:
        raise ValueError(f"rate must be between 0 and 1 (七折 = 0.7), got {r}")
    return _fen_half_up(_EXACT.multiply(Decimal(amount), r))


def apply_rate_unit_price(unit_price_yuan: Decimal, rate: Decimal) -> Decimal:
    """A unit price at pay-rate ``rate``, half-up to 4 decimals: for display only.

    Case #7: the station page shows the discounted service price. Bills never multiply
    unit prices by the rate; they apply :func:`apply_rate_fen` to each rounded line.
    """
    price = _require_decimal("unit_price_yuan", unit_price_yuan)
    r = _require_decimal("rate", rate)
    if not _ZERO <= r <= _ONE:
        raise ValueError(f"rate must be between 0 and 1 (七折 = 0.7), got {r}")
    return _EXACT.multiply(price, r).quantize(UNIT_PRICE_QUANTUM, context=_HALF_UP)


def fen_to_yuan_str(fen: int) -> str:
    """``175`` → ``"1.75"``, ``-5`` → ``"-0.05"``: always two decimals, never exponent form."""
    amount = _require_int("fen", fen)
    yuan, rest = divmod(abs(amount), FEN_PER_YUAN)
    sign = "-" if amount < 0 else ""
    return f"{sign}{yuan}.{rest:02d}"


def parse_yuan(value: str | Decimal | int, *, allow_negative: bool = False) -> int:
    """A yuan amount (``"1.75"``, ``Decimal("1.7500")``, ``2``) as an exact number of fen.

    Refuses anything that is not a whole number of fen (``"1.755"``), floats, exponent
    notation and, unless ``allow_negative``, negative amounts. Never rounds.
    """
    amount = _parse_decimal("amount", value)
    fen = amount.scaleb(2, _EXACT)
    if fen != fen.to_integral_value(context=_HALF_UP):
        raise ValueError(f"amount has more than 2 decimals: {value!r}")
    result = int(fen)
    if result < 0 and not allow_negative:
        raise ValueError(f"amount must not be negative: {value!r}")
    return result


def parse_unit_price(value: str | Decimal | int) -> Decimal:
    """A unit price (yuan per kWh or per minute) as a ``Decimal`` with exactly 4 decimals.

    Accepts 0 ≤ price ≤ 999999.9999 with at most 4 significant decimals (``"0.642"`` →
    ``Decimal("0.6420")``); refuses more decimals, negatives, floats and non-numbers with
    ``ValueError`` (``TypeError`` for floats). Never rounds.
    """
    price = _parse_decimal("unit price", value)
    if price < 0:
        raise ValueError(f"unit price must not be negative: {value!r}")
    if price > UNIT_PRICE_MAX:
        raise ValueError(f"unit price is too large: {value!r}")
    try:
        quantized = price.quantize(UNIT_PRICE_QUANTUM, context=_EXACT)
    except Inexact:
        raise ValueError(f"unit price has more than 4 decimals: {value!r}") from None
    return quantized.copy_abs()  # "-0" becomes "0.0000"
