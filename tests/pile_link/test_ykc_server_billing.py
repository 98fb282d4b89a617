"""The YKC adapter's pure rules: billing models from tariffs, gun states, id tags, serials."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.charging.port import ConnectorState
from pile_link.ykc import CardStartRequest, password_md5_16
from pile_link.ykc.billing import (
    DEFAULT_TARIFF,
    BillingModelError,
    build_billing_model,
    model_number,
)
from pile_link.ykc.session import (
    card_text,
    connector_state,
    hardware_fault_codes,
    is_serial,
    new_serial,
    password_form,
    start_id_tag,
)


def seg(start: int, end: int, e: str, s: str, tier: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "start_minute": start,
        "end_minute": end,
        "electricity_price": e,
        "service_price": s,
    }
    if tier is not None:
        out["tier"] = tier
    return out


def test_tiers_choose_the_rate_numbers() -> None:
    model = build_billing_model(
        {
            "model_id": 3,
            "segments": [
                seg(0, 480, "0.3000", "0.5000", "valley"),
                seg(480, 600, "1.5000", "0.8000", "sharp"),
                seg(600, 1080, "1.0000", "0.8000", "peak"),
                seg(1080, 1320, "0.7000", "0.6000", "flat"),
                seg(1320, 1440, "0.3000", "0.5000", "valley"),
            ],
        }
    )
    sharp, peak, flat, valley = model.rates
    assert (sharp.energy_price, sharp.service_price) == (150000, 80000)
    assert (valley.energy_price, valley.service_price) == (30000, 50000)
    assert peak.energy_price_yuan == Decimal("1.00000")
    assert flat.service_price == 60000
    # §6.8 items 12-59: one rate number per half hour from 00:00
    assert model.periods == (3,) * 16 + (0,) * 4 + (1,) * 16 + (2,) * 8 + (3,) * 4
    assert model.model_no == "0003" and model.exact
    reply = model.reply("32010200000001")
    assert reply.rate_at(17) == sharp and reply.rate_at(47) == valley


def test_without_consistent_tiers_pairs_are_numbered_dearest_first() -> None:
    model = build_billing_model(
        {
            "model_id": 1,
            "segments": [
                seg(0, 480, "0.5000", "0.5000"),
                seg(480, 1440, "1.0000", "0.5000", "peak"),
            ],
        }
    )
    assert model.periods == (1,) * 16 + (0,) * 32
    assert model.rates[0].energy_price == 100000
    assert model.rates[1].energy_price == 50000
    # unused numbers repeat the most used pair
    assert model.rates[2] == model.rates[3] == model.rates[0]


def test_flat_default_model() -> None:
    model = build_billing_model(DEFAULT_TARIFF)
    assert model.model_no == "9999"
    assert set(model.periods) == {2}
    assert all(rate.energy_price == rate.service_price == 0 for rate in model.rates)


def test_boundaries_off_the_half_hour_are_rounded_and_flagged() -> None:
    model = build_billing_model(
        {"model_id": 5, "segments": [seg(0, 495, "1", "0"), seg(495, 1440, "2", "0")]}
    )
    assert not model.exact
    assert model.periods[16] == 1  # 08:00-08:30 takes the price in force at 08:00


@pytest.mark.parametrize(
    "tariff",
    [
        {"model_id": 1, "segments": []},
        {"model_id": 1, "segments": [seg(0, 720, "1", "0")]},  # 12:00-24:00 not covered
        {"model_id": 1, "segments": [seg(0, 1440, "-1", "0")]},
        {"model_id": 1, "segments": [seg(0, 1440, "abc", "0")]},
        {"model_id": 1, "segments": [seg(720, 0, "1", "0")]},
        {"model_id": 0, "segments": [seg(0, 1440, "1", "0")]},
        {"model_id": "x", "segments": [seg(0, 1440, "1", "0")]},
        {"segments": [seg(0, 1440, "1", "0")]},
        {
            "model_id": 1,
            "segments": [seg(i * 288, (i + 1) * 288, str(i + 1), "0") for i in range(5)],
        },  # five prices: YKC has four
    ],
)
def test_tariffs_ykc_cannot_express_are_refused(tariff: dict[str, Any]) -> None:
    with pytest.raises(BillingModelError):
        build_billing_model(tariff)


@pytest.mark.parametrize(
    ("model_id", "number"),
    [(1, "0001"), (12, "0012"), ("42", "0042"), (9999, "9999"), (10000, "0001")],
)
def test_model_numbers_are_four_digits_never_0000(model_id: Any, number: str) -> None:
    assert model_number(model_id) == number


AV, CH, FI, NEW = ConnectorState.AVAILABLE, ConnectorState.CHARGING, ConnectorState.FINISHING, None


@pytest.mark.parametrize(
    ("status", "plugged", "previous", "state"),
    [
        (0x00, 0, NEW, ConnectorState.UNAVAILABLE),
        (0x01, 1, CH, ConnectorState.FAULTED),
        (0x02, 0, CH, AV),
        (0x02, 1, NEW, ConnectorState.PREPARING),
        (0x02, 1, AV, ConnectorState.PREPARING),
        (0x02, 1, CH, FI),
        (0x02, 1, FI, FI),
        (0x03, 1, NEW, CH),
        (0x07, 1, NEW, ConnectorState.UNKNOWN),
    ],
)
def test_gun_states(
    status: int, plugged: int, previous: ConnectorState | None, state: ConnectorState
) -> None:
    assert connector_state(status, plugged, previous) is state


def test_hardware_fault_bits() -> None:
    found = hardware_fault_codes(0b1_0000_0000_0001 | 1 << 15)
    assert found == {
        "EmergencyStop": "急停按钮动作故障",
        "DoorOpen": "门打开",
        "HardwareFaultBit16": "未定义故障位Bit16",
    }


def test_id_tags_of_pile_starts() -> None:
    assert card_text("00000000D14B0A54") == "D14B0A54"
    assert card_text("000000000A14B0A5") == "0A14B0A5"
    assert card_text("1122334455667788") == "1122334455667788"
    digest = password_md5_16("8888")
    assert password_form(digest) == f"pwd:{digest.decode()}"
    # a pile that sends the raw 16-byte digest gets the same text
    raw = hashlib.md5(b"8888", usedforsecurity=False).digest()
    assert password_form(raw) == f"pwd:{digest.decode()}"
    base: dict[str, Any] = {"pile_code": "1", "gun_no": 1, "card_no": "D14B0A54"}
    card = CardStartRequest(start_mode=1, needs_password=0, **base)
    assert start_id_tag(card) == "D14B0A54"
    vin = CardStartRequest(start_mode=3, needs_password=0, vin="LSVAU2180N2183294", **base)
    assert start_id_tag(vin) == "LSVAU2180N2183294"


def test_generated_serials_follow_the_rule() -> None:
    at = datetime(2024, 6, 12, 11, 59, 57, tzinfo=UTC)
    serial = new_serial("32010200000001", 2, at, counter=7)
    # §3.3: pile (14) + gun (2) + local yymmddHHMMSS (12) + sequence (4)
    assert serial == "32010200000001" + "02" + "240612195957" + "0007"
    assert is_serial(serial) and not is_serial(serial[:-1]) and not is_serial("A" * 32)
