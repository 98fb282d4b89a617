"""Conversions between YKC fixed-point wire values and the domain's integer units.

The wire carries decimals multiplied by a power of ten (YKC v1.6 §3.2); the domain keeps
energy in Wh, money in fen and power in W (DESIGN.md "Data rules"). Conversions to the
domain round half up; messages keep the raw wire integers so nothing is lost.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def div_half_up(value: int, divisor: int) -> int:
    """``value / divisor`` rounded half away from zero, in exact integer arithmetic."""
    if divisor <= 0:
        raise ValueError("divisor must be positive")
    quotient, remainder = divmod(abs(value), divisor)
    if remainder * 2 >= divisor:
        quotient += 1
    return quotient if value >= 0 else -quotient


# --- energy: 0.0001 kWh on the wire since v1.4 (§7.2 items 15-16, §8.7 items 7-25) ------


def kwh4_to_wh(raw: int) -> int:
    """0.0001 kWh units -> Wh, half up (1 Wh = 10 raw)."""
    return div_half_up(raw, 10)


def wh_to_kwh4(wh: int) -> int:
    """Wh -> 0.0001 kWh units (exact)."""
    return wh * 10


# --- money ------------------------------------------------------------------------------


def yuan4_to_fen(raw: int) -> int:
    """0.0001 yuan units (amounts in §7.2 and §8.7) -> fen, half up (1 fen = 100 raw)."""
    return div_half_up(raw, 100)


def fen_to_yuan4(fen: int) -> int:
    """fen -> 0.0001 yuan units (exact)."""
    return fen * 100


def price5_to_yuan(raw: int) -> Decimal:
    """0.00001 yuan/kWh units (tariff rates §6.8/§9.5, unit prices §8.7) -> yuan, exact."""
    return Decimal(raw).scaleb(-5)


def yuan_to_price5(yuan: Decimal | int | str) -> int:
    """Yuan per kWh -> 0.00001 yuan units, half up past the fifth decimal."""
    return int((Decimal(yuan) * 100000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# Balances (§8.2 item 5, §8.3 item 6, §8.9 item 4) keep two decimals: the raw value is
# already fen, so messages name those fields ``balance_fen`` and need no conversion.


# --- electrical ---------------------------------------------------------------------------


def deci_to_float(raw: int) -> float:
    """0.1 V / 0.1 A units (§7.2 items 7-8) -> volts / amperes."""
    return raw / 10


def power_w(voltage_deci: int, current_deci: int) -> int:
    """Output power in W from 0.1 V and 0.1 A readings, half up."""
    return div_half_up(voltage_deci * current_deci, 100)
