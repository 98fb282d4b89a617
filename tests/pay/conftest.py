"""Fixtures for WeChat Pay: the fake WeChat (mini-program and Pay on one local server) with
a test merchant per demo sub-operator, stored as the platform stores them."""

from __future__ import annotations

import pytest
from flask import Flask

from app.extensions import db
from app.wechat.sandbox.state import DemoMerchant, FakeWeChat, make_test_merchant
from tests.mp import conftest as mp_fixtures
from tests.support.drivers import KC_APP, YC_APP, Ops
from tests.support.payments import (
    Pay,
    configure_merchant,
)

# the drivers' API fixtures (fake WeChat server, mini-program apps, driver login)
platform_keys = mp_fixtures.platform_keys


wechat = mp_fixtures.wechat


ops = mp_fixtures.ops


mp_login = mp_fixtures.mp_login


@pytest.fixture(scope="session")
def test_merchants() -> tuple[DemoMerchant, DemoMerchant]:
    return make_test_merchant("1900000101", YC_APP[0]), make_test_merchant("1900000102", KC_APP[0])


@pytest.fixture
def pay(
    app: Flask,
    wechat: FakeWeChat,
    ops: Ops,
    test_merchants: tuple[DemoMerchant, DemoMerchant],
    monkeypatch: pytest.MonkeyPatch,
) -> Pay:
    monkeypatch.setitem(app.config, "WECHAT_PAY_BASE", app.config["WECHAT_API_BASE"])
    monkeypatch.setitem(app.config, "PAY_NOTIFY_BASE_URL", "https://charge.test")
    yc, kc = test_merchants
    for op, merchant in ((ops.yc, yc), (ops.kc, kc)):
        wechat.register_merchant(merchant)
        configure_merchant(op, merchant, wechat)
    db.session.commit()
    return Pay(wechat, ops, yc, kc)
