"""A small world for the money tests: one operator, a station with a tariff, a pile with two
connectors, a driver with a card and a wallet; and helpers that drive sessions through the
real pile event handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.charging.commands import COMMAND_PORT
from app.state import state_of
from tests.support.money import (
    World,
    build_world,
)
from tests.support.ports import FakePort


@pytest.fixture
def world(app: Flask) -> World:
    return build_world(app)


@pytest.fixture
def make_world(app: Flask) -> Callable[..., World]:
    def _make(**kw: Any) -> World:
        return build_world(app, **kw)

    return _make


@pytest.fixture
def port(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FakePort:
    fake = FakePort()
    monkeypatch.setitem(state_of(app), COMMAND_PORT, fake)
    return fake
