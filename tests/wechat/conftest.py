"""Fixtures for the WeChat adapters: a fresh fake WeChat per test, served over real HTTP.

Key pairs are made once per session (RSA-2048 generation is the slow part); the fake's
state, its server and the token store are new for every test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.wechat.config import (
    MerchantCredentials,
    WeChatEndpoints,
)
from app.wechat.miniprogram import MemoryTokenStore
from app.wechat.sandbox.server import FakeWeChatServer
from app.wechat.sandbox.signing import PlatformKeys
from app.wechat.sandbox.state import DemoMerchant, FakeWeChat, make_test_merchant
from tests.support.wechat import (
    MP_APP,
    OA_APP,
)


@pytest.fixture(scope="session")
def platform_keys() -> PlatformKeys:
    return PlatformKeys.generate()


@pytest.fixture(scope="session")
def merchant() -> DemoMerchant:
    return make_test_merchant("1900000109", MP_APP.app_id)


@pytest.fixture(scope="session")
def other_merchant() -> DemoMerchant:
    """A second sub-operator's merchant account, with keys of its own."""
    return make_test_merchant("1900000110", MP_APP.app_id)


@pytest.fixture
def fake(platform_keys: PlatformKeys, merchant: DemoMerchant) -> FakeWeChat:
    state = FakeWeChat(platform_keys)
    state.register_merchant(merchant)
    state.register_app(MP_APP.app_id, MP_APP.app_secret)
    state.register_app(OA_APP.app_id, OA_APP.app_secret)
    return state


@pytest.fixture
def server(fake: FakeWeChat) -> Iterator[FakeWeChatServer]:
    with FakeWeChatServer(fake) as running:
        yield running


@pytest.fixture
def endpoints(server: FakeWeChatServer) -> WeChatEndpoints:
    return server.endpoints


@pytest.fixture
def creds(merchant: DemoMerchant, fake: FakeWeChat) -> MerchantCredentials:
    return merchant.credentials(fake)


@pytest.fixture
def store() -> MemoryTokenStore:
    return MemoryTokenStore()
