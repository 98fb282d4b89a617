"""运营商 → 订阅消息模板 in a real Chromium (issue 14: template ids came only from the
environment, and with the defaults nothing was sent and nothing said so): each notice kind
has its input and its status tag; a saved id is read back as 已配置, the others stay
未配置（不发送）."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import api, login, open_menu, search_table

pytestmark = pytest.mark.e2e

KINDS = ("charge_started", "charge_finished", "occupancy_reminder", "coupon_expiring",
         "refund_result")  # fmt: skip


def test_operator_enters_a_template_id_and_its_kind_turns_configured(page: Page) -> None:
    login(page, "admin", "admin123")
    open_menu(page, "menu-operators", "operators")
    search_table(page, "operators-search", "广东云创")
    row = page.get_by_test_id("operators-table").locator("tr", has_text="广东云创")
    row.get_by_test_id("operator-edit").click()
    for kind in KINDS:
        expect(page.get_by_test_id(f"operator-template-status-{kind}")).to_have_text(
            "未配置（不发送）"
        )
    page.get_by_test_id("operator-template-input-charge_started").fill("tmpl-e2e-started")
    expect(page.get_by_test_id("operator-template-status-charge_started")).to_have_text("已配置")
    page.get_by_test_id("operator-form-save").click()
    expect(page.locator(".el-message--success", has_text="已保存")).to_be_visible()

    row.get_by_test_id("operator-edit").click()
    started = page.get_by_test_id("operator-template-input-charge_started")
    expect(started).to_have_value("tmpl-e2e-started")
    expect(page.get_by_test_id("operator-template-status-charge_started")).to_have_text("已配置")
    expect(page.get_by_test_id("operator-template-status-refund_result")).to_have_text(
        "未配置（不发送）"
    )
    ops = api(page, "GET", "/operators?q=广东云创")["items"]
    saved = {t["kind"]: t for t in ops[0]["subscribe_templates"]}
    assert saved["charge_started"]["template_id"] == "tmpl-e2e-started"
    assert saved["charge_started"]["status"] == "已配置"
    # cleared again, so the shared live server's other tests see the demo as it was
    started.fill("")
    page.get_by_test_id("operator-form-save").click()
    expect(page.locator(".el-message--success", has_text="已保存").first).to_be_visible()
