"""Settings from EVOP_* variables, check-settings, and the idempotent demo seed."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.catalogue.models import Pile, Station
from app.config import check_settings, engine_options, load_config
from app.extensions import db
from app.ledger.models import Wallet
from app.tenancy.models import AdminUser


def test_embedded_default_needs_no_settings(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("EVOP_DATABASE_URL", "EVOP_SECRET_KEY", "EVOP_REDIS_URL"):
        monkeypatch.delenv(key, raising=False)
    cfg = load_config(str(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/evop.sqlite3"
    assert cfg["HTTP_PORT"] == 5000


def test_env_overrides_with_one_prefix(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOP_DATABASE_URL", "postgres://u:p@db:5432/evop")
    monkeypatch.setenv("EVOP_HTTP_PORT", "8080")
    monkeypatch.setenv("EVOP_DEMO_MODE", "true")
    cfg = load_config(str(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db:5432/evop"
    assert cfg["HTTP_PORT"] == 8080 and cfg["DEMO_MODE"] is True


def test_check_settings_names_what_production_lacks(tmp_path: Any) -> None:
    problems = check_settings(load_config(str(tmp_path), {"DEMO_MODE": True}))
    text = "\n".join(problems)
    for key in (
        "EVOP_SECRET_KEY", "EVOP_DATABASE_URL", "EVOP_REDIS_URL", "EVOP_DEMO_MODE",
        "EVOP_PILE_CREDENTIALS_REQUIRED",
    ):  # fmt: skip
        assert key in text
    ready = load_config(
        str(tmp_path),
        {
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": "postgresql://db/evop",
            "REDIS_URL": "redis://r:6379/0",
            "QR_BASE_URL": "https://charge.operator.cn/q/",
            "ENV": "production",  # pile credentials: "auto" is on in production
        },
    )
    assert check_settings(ready) == []


def test_check_settings_command_exit_code(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["check-settings"])
    assert result.exit_code == 1 and "EVOP_REDIS_URL" in result.output


def test_seed_demo_is_idempotent(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin / admin123" in first.output
    counts = [
        db.session.scalar(select(func.count()).select_from(m))
        for m in (AdminUser, Station, Pile, Wallet)
    ]
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "已存在" in second.output
    assert counts == [
        db.session.scalar(select(func.count()).select_from(m))
        for m in (AdminUser, Station, Pile, Wallet)
    ]
    # the history's three piles at the stations seed_demo leaves bare, its seven drivers
    assert counts == [3, 4, 7, 8]
    ykc = db.session.scalar(select(Pile).where(Pile.code == "55031412782305"))
    assert ykc is not None and ykc.protocol == "ykc" and len(ykc.connectors) == 2


def test_seed_demo_registers_the_simulated_piles_at_a_station_that_sells(app: Flask) -> None:
    """make run's in-process piles (EVOP_DEMO_PILES) have their own codes at their own
    station with a tariff: the demo piles stay free for real or third-party piles."""
    from app.config import DEMO_PILE_CODES
    from app.demo import SIMULATED_PILES, SIMULATED_STATION, seed_demo

    seed_demo()
    seed_demo()  # idempotent
    codes = {sim.code for sim in SIMULATED_PILES}
    assert codes == {"SIM-OCPP-01", "55031499000001"} and not codes & DEMO_PILE_CODES
    station = db.session.scalar(select(Station).where(Station.name == SIMULATED_STATION))
    assert station is not None and station.tariff_id is not None
    assert station.operator.name == "广东云创"  # the sandbox's demo drivers' operator
    for sim in SIMULATED_PILES:
        pile = db.session.scalar(select(Pile).where(Pile.code == sim.code))
        assert pile is not None and pile.station_id == station.id
        assert (pile.protocol, len(pile.connectors)) == (sim.protocol, sim.connectors)
        assert [c.qr_payload for c in pile.connectors] == [
            f"{app.config['QR_BASE_URL']}{sim.code}-{n}" for n in range(1, sim.connectors + 1)
        ]


def test_pool_size_is_a_setting_and_the_ceiling_stays_one_number(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://db/x"
    monkeypatch.setenv("EVOP_DB_POOL_SIZE", "12")
    assert load_config(str(tmp_path), {"DATABASE_URL": url})["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_size": 12, "max_overflow": 0,
    }  # fmt: skip
    monkeypatch.delenv("EVOP_DB_POOL_SIZE")
    assert load_config(str(tmp_path), {"DATABASE_URL": url})["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_size": 30, "max_overflow": 0,
    }  # fmt: skip
    assert engine_options("sqlite:///x", 12) == {"connect_args": {"check_same_thread": False}}
    assert load_config(str(tmp_path), {"DATABASE_URL": url, "DB_POOL_SIZE": 8})[
        "SQLALCHEMY_ENGINE_OPTIONS"
    ] == {"pool_size": 8, "max_overflow": 0}
