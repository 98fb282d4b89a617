"""运营商 → 微信支付 in a real Chromium (issue 14, the blocker): an operator without WeChat
Pay enters the merchant's credentials in the console dialog, the platform certificate is
downloaded from WeChat (the live server's sandbox serves /v3/certificates like WeChat),
the status turns from 缺 N 项 to 可收款, each readiness item is 已就绪, and 测试连接 makes a
signed request whose signed answer verifies. Before, the console said 已配置 while every
top-up answered 409 MERCHANT_NOT_CONFIGURED."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import login, open_menu, search_table
from tests.support.servers import ROOT, live_platform, platform_env

pytestmark = pytest.mark.e2e

READINESS_ITEMS = ("mini_program", "merchant_key", "apiv3_key", "platform_key")


@pytest.fixture(scope="module")
def live_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A platform of its own with the WeChat sandbox on (the shared one has none: its
    refund review expects 深圳快充 without a merchant)."""
    db_path = tmp_path_factory.mktemp("e2e-wxpay") / "e2e.sqlite3"
    return platform_env(db_path, EVOP_WECHAT_SANDBOX="1")


@pytest.fixture(scope="module")
def live_server(live_env: dict[str, str]) -> Iterator[str]:
    with live_platform(live_env) as base:
        yield base


@pytest.fixture(scope="module")
def credentials(live_server: str, live_env: dict[str, str]) -> dict[str, str]:
    """深圳快充's sandbox merchant, taken out of the database (seed_merchant)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.seed_merchant"], env=live_env, cwd=ROOT,
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_operator_enters_wechat_pay_credentials_and_the_status_turns_green(
    page: Page, credentials: dict[str, str]
) -> None:
    login(page, "admin", "admin123")
    open_menu(page, "menu-operators", "operators")
    search_table(page, "operators-search", "深圳快充")
    row = page.get_by_test_id("operators-table").locator("tr", has_text="深圳快充")
    expect(row.get_by_test_id("operator-pay-readiness")).to_contain_text("缺")

    row.get_by_test_id("operator-edit").click()
    missing = page.get_by_test_id("operator-readiness-platform_key")
    expect(missing).to_contain_text("WECHAT_PLATFORM_KEY_MISSING")
    expect(page.get_by_test_id("operator-readiness-merchant_key")).to_contain_text("缺少商户号")
    page.get_by_test_id("operator-form-mchid").fill(credentials["wechat_mch_id"])
    page.get_by_test_id("operator-form-cert-serial").fill(credentials["wechat_mch_cert_serial"])
    page.get_by_test_id("operator-form-private-key").fill(credentials["wechat_mch_private_key"])
    page.get_by_test_id("operator-form-apiv3-key").fill(credentials["wechat_apiv3_key"])
    page.get_by_test_id("operator-form-save").click()

    expect(row.get_by_test_id("operator-pay-readiness")).to_have_text("可收款")
    row.get_by_test_id("operator-edit").click()
    for key in READINESS_ITEMS:
        expect(page.get_by_test_id(f"operator-readiness-{key}")).to_contain_text("已就绪")
    expect(page.get_by_test_id("operator-readiness")).to_contain_text("平台证书")
    # the secrets never come back: the dialog only says they are set
    expect(page.get_by_test_id("operator-form-private-key")).to_have_value("")
    page.get_by_test_id("operator-test-pay").click()
    expect(page.locator(".el-message--success", has_text="签名请求成功")).to_be_visible()
