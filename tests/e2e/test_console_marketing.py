"""营销 → 优惠券 in a real Chromium: a template's validity is shown to its last local second
(case #10: a window ending at Shanghai midnight reads 2019-11-13 23:59:59), and an operator
stops and restarts a template (audited); another sub-operator does not see it."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import api, choose_option, login, open_menu
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


def test_an_operator_creates_a_coupon_through_the_dialog(page: Page) -> None:
    """新建优惠券: a 满减 template with a fixed end date reads to 23:59:59 of the chosen day
    (case #10); a missing field is said in Chinese and nothing is sent."""
    login(page, "yc_admin", "yc123456")
    name = f"对话框满减券-{uuid.uuid4().hex[:6]}"
    page.get_by_test_id("menu-marketing-menu").click()
    open_menu(page, "menu-coupon-templates", "marketing/coupons")
    page.get_by_test_id("coupon-create").click()
    dialog = page.get_by_test_id("coupon-dialog")
    dialog.get_by_test_id("coupon-kind-threshold").click()
    dialog.get_by_test_id("coupon-save").click()
    expect(dialog).to_contain_text("请填写名称")
    expect(dialog).to_contain_text("请填写大于 0 的门槛")
    dialog.get_by_test_id("coupon-name").fill(name)
    dialog.get_by_test_id("coupon-threshold").fill("30")
    dialog.get_by_test_id("coupon-amount").fill("5")
    dialog.get_by_test_id("coupon-validity-until").click()
    until = dialog.get_by_test_id("coupon-until-date").locator("input")
    until.fill("2030-11-13")
    until.press("Enter")
    dialog.get_by_test_id("coupon-limit").fill("2")
    dialog.get_by_test_id("coupon-save").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_test_id("coupon-templates-table").locator("tbody tr", has_text=name)
    expect(row).to_contain_text("满减")
    expect(row).to_contain_text("5.00")
    expect(row).to_contain_text("30.00")
    expect(row.get_by_test_id("coupon-template-validity")).to_have_text("至 2030-11-13 23:59:59")
    shot(page, "coupon-template-created")
    items = api(page, "GET", "/coupon-templates?page_size=100")["items"]
    created = next(t for t in items if t["name"] == name)
    assert created["per_driver_limit"] == 2
    assert created["amount_fen"] == 500 and created["threshold_fen"] == 3000


def test_a_topup_offer_states_what_the_driver_receives(page: Page) -> None:
    """营销 → 充值活动: created in the dialog (min top-up in yuan, template × quantity rows),
    the list states it as the top-up page does (case #5:
    充值满 100.00 元，送 10 张优惠券，共 50.00 元)."""
    login(page, "yc_admin", "yc123456")
    tag = uuid.uuid4().hex[:6]
    body = {"name": f"充值赠券-{tag}", "kind": "fixed", "amount_fen": 500, "validity_days": 30}
    api(page, "POST", "/coupon-templates", body)
    page.get_by_test_id("menu-marketing-menu").click()
    open_menu(page, "menu-topup-offers", "marketing/topup-offers")
    page.get_by_test_id("topup-offer-create").click()
    dialog = page.get_by_test_id("topup-offer-dialog")
    dialog.get_by_test_id("topup-offer-save").click()
    expect(dialog).to_contain_text("请填写大于 0 的充值门槛")
    dialog.get_by_test_id("topup-offer-name").fill(f"充100送券-{tag}")
    dialog.get_by_test_id("topup-offer-min").fill("100")
    choose_option(page, dialog.get_by_test_id("topup-offer-template"), f"充值赠券-{tag}", True)
    dialog.get_by_test_id("topup-offer-quantity").fill("10")
    dialog.get_by_test_id("topup-offer-save").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_test_id("topup-offers-table").locator("tbody tr", has_text=f"充100送券-{tag}")
    expect(row.get_by_test_id("topup-offer-text")).to_have_text(
        "充值满 100.00 元，送 10 张优惠券，共 50.00 元"
    )
    expect(row).to_contain_text(f"充值赠券-{tag} × 10")
    shot(page, "topup-offers")
    row.get_by_test_id("topup-offer-toggle").click()
    expect(row).to_contain_text("已停用")
    expect(row.get_by_test_id("topup-offer-toggle")).to_have_text("启用")


def test_a_service_fee_discount_is_set_for_a_station_and_removed_with_a_reason(page: Page) -> None:
    """营销 → 会员价: a group's service-fee pay-rate at one station (七折), then cancelled with a
    reason; both audited."""
    login(page, "yc_admin", "yc123456")
    tag = uuid.uuid4().hex[:6]
    page.get_by_test_id("menu-marketing-menu").click()
    open_menu(page, "menu-member-pricing", "marketing/member-pricing")
    page.get_by_test_id("pricing-group-code").fill(f"fleet_{tag}")
    page.get_by_test_id("pricing-group-name").fill(f"车队{tag}")
    page.get_by_test_id("pricing-group-create").click()
    expect(page.get_by_test_id("pricing-groups-table")).to_contain_text(f"车队{tag}")
    choose_option(page, page.get_by_test_id("service-discount-group"), f"车队{tag}")
    station = api(page, "GET", "/stations?page_size=1")["items"][0]
    choose_option(page, page.get_by_test_id("service-discount-station"), station["name"], True)
    page.get_by_test_id("service-discount-rate").fill("7")
    page.get_by_test_id("service-discount-reason").fill("车队试点")
    page.get_by_test_id("service-discount-save").click()
    row = page.get_by_test_id("service-discounts-table").locator("tbody tr", has_text=f"车队{tag}")
    expect(row).to_contain_text(station["name"])
    expect(row.get_by_test_id("service-discount-text")).to_have_text("7 折")
    shot(page, "member-pricing")
    row.get_by_test_id("service-discount-remove").click()
    page.locator(".el-message-box input").fill("试点结束")
    page.locator(".el-message-box").get_by_role("button", name="确定取消").click()
    expect(row).to_contain_text("已取消")
    items = api(page, "GET", "/service-discounts")["items"]
    discount = next(d for d in items if d["group_code"] == f"fleet_{tag}")
    assert discount["is_active"] is False and discount["station_id"] == station["id"]
    query = f"action=service_discount.remove&target_id={discount['id']}"
    audit = api(page, "GET", f"/audit-logs?{query}")
    assert audit["total"] == 1
