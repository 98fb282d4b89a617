"""营销 → 优惠券 in a real Chromium: a template's validity is shown to its last local second
(case #10: a window ending at Shanghai midnight reads 2019-11-13 23:59:59), and an operator
stops and restarts a template (audited); another sub-operator does not see it."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import api, login, open_menu
from tests.e2e.test_console_operations import shot

pytestmark = pytest.mark.e2e


def test_a_coupon_template_reads_to_its_last_local_second_and_can_be_stopped(page: Page) -> None:
    login(page, "yc_admin", "yc123456")
    name = f"双十一券-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "kind": "threshold", "amount_fen": 500, "threshold_fen": 3000,
            "valid_until": "2019-11-13T16:00:00+00:00"}  # fmt: skip
    template = api(page, "POST", "/coupon-templates", body)
    page.get_by_test_id("menu-marketing-menu").click()
    open_menu(page, "menu-coupon-templates", "marketing/coupons")
    row = page.get_by_test_id("coupon-templates-table").locator("tbody tr", has_text=name)
    expect(row).to_contain_text("满减")
    expect(row.get_by_test_id("coupon-template-validity")).to_have_text("至 2019-11-13 23:59:59")
    expect(row).to_contain_text("启用")
    shot(page, "coupon-templates")
    row.get_by_test_id("coupon-template-toggle").click()
    expect(row).to_contain_text("停用")
    expect(row.get_by_test_id("coupon-template-toggle")).to_have_text("启用")
    audit = api(
        page, "GET", f"/audit-logs?action=coupon_template.set_active&target_id={template['id']}"
    )
    assert audit["total"] == 1
    row.get_by_test_id("coupon-template-toggle").click()
    expect(row.get_by_test_id("coupon-template-toggle")).to_have_text("停用")


def test_another_sub_operator_does_not_see_the_template(page: Page) -> None:
    login(page, "yc_admin", "yc123456")
    name = f"云创专享-{uuid.uuid4().hex[:6]}"
    api(page, "POST", "/coupon-templates",
        {"name": name, "kind": "fixed", "amount_fen": 100, "validity_days": 7})  # fmt: skip
    page.evaluate("localStorage.clear()")
    login(page, "kc_admin", "kc123456")
    page.goto("/admin/marketing/coupons")
    expect(page.get_by_test_id("coupon-templates-table")).to_be_visible()
    expect(page.get_by_test_id("coupon-templates-table")).not_to_contain_text(name)
