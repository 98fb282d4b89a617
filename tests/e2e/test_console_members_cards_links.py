"""Issue 10 in a real Chromium: 营销 → 优惠券 grants a template to a pricing group and shows its
usage history with the order a coupon paid on (case #6); 会员 filters by sub-operator, phone
and pricing group (case #17 2020) and issues / disables a card and a pile password; 设置 →
推广链接 shows each sub-operator's links with QR images and the menu JSON (case #3). Another
sub-operator sees none of these rows. Screenshots go to tmp/artifacts/ (not committed)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import api, choose_option, login, open_menu
from tests.e2e.test_console_operations import shot
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e


def _seed(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.seed_members_links", *args], env=env, cwd=ROOT,
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def taxi_member(live_server: str, live_env: dict[str, str]) -> dict[str, Any]:
    code = f"E2E-YC-TAXI-{uuid.uuid4().hex[:4].upper()}"
    return {**_seed(live_env, "member", code), "code": code}


def test_a_template_granted_to_a_group_and_its_usage_history(
    page: Page, live_env: dict[str, str], taxi_member: dict[str, Any]
) -> None:
    login(page, "yc_admin", "yc123456")
    name = f"出租车关怀券-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "kind": "fixed", "amount_fen": 50, "validity_days": 30}
    template = api(page, "POST", "/coupon-templates", body)
    page.get_by_test_id("menu-marketing-menu").click()
    open_menu(page, "menu-coupon-templates", "marketing/coupons")
    row = page.get_by_test_id("coupon-templates-table").locator("tbody tr", has_text=name)
    row.get_by_test_id("coupon-group-grant").click()
    dialog = page.get_by_test_id("group-grant-dialog")
    dialog.get_by_test_id("group-grant-submit").click()
    expect(dialog).to_contain_text("请选择会员分组")
    choose_option(page, dialog.get_by_test_id("group-grant-group"), "出租车")
    dialog.get_by_test_id("group-grant-reason").fill("出租车司机节日关怀")
    dialog.get_by_test_id("group-grant-submit").click()
    page.locator(".el-message-box").get_by_role("button", name="发放").click()
    expect(page.locator(".el-message")).to_contain_text(re.compile(r"已发放：\d+ 位会员各 1 张"))
    expect(dialog).to_be_hidden()
    audit = api(page, "GET", f"/audit-logs?action=coupon.grant_group&target_id={template['id']}")
    assert audit["total"] == 1 and audit["items"][0]["reason"] == "出租车司机节日关怀"

    order_no = _seed(live_env, "charge", taxi_member["code"])["order_no"]
    row.get_by_test_id("coupon-usage").click()
    drawer = page.get_by_test_id("coupon-usage-drawer")
    used = drawer.get_by_test_id("coupon-usage-table").locator("tbody tr", has_text=order_no)
    expect(used).to_contain_text("已使用")
    expect(used).to_contain_text(taxi_member["phone"])
    expect(used).to_contain_text("0.50")
    expect(used.get_by_test_id("coupon-usage-order")).to_have_text(order_no)
    shot(page, "coupon-usage")
    choose_option(page, drawer.get_by_test_id("coupon-usage-status"), "可用")
    expect(drawer.get_by_test_id("coupon-usage-table")).not_to_contain_text(order_no)

    page.evaluate("localStorage.clear()")
    login(page, "kc_admin", "kc123456")
    page.goto("/admin/marketing/coupons")
    expect(page.get_by_test_id("coupon-templates-table")).to_be_visible()
    expect(page.get_by_test_id("coupon-templates-table")).not_to_contain_text(name)


def test_members_filtered_and_a_card_and_a_password_issued_then_disabled(
    page: Page, taxi_member: dict[str, Any]
) -> None:
    login(page, "admin", "admin123")
    open_menu(page, "menu-members", "members")
    phone = taxi_member["phone"]
    page.get_by_test_id("members-phone").fill(phone[-6:])
    page.get_by_test_id("members-phone").press("Enter")
    table = page.get_by_test_id("members-table")
    choose_option(page, page.get_by_test_id("members-operator"), "广东云创")
    choose_option(page, page.get_by_test_id("members-group"), "出租车")
    expect(table.locator("tbody tr", has_text=phone)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]operator_id=\d+"))  # the filters are in the URL
    expect(page).to_have_url(re.compile(r"[?&]pricing_group=taxi"))
    shot(page, "members-filtered")
    choose_option(page, page.get_by_test_id("members-operator"), "深圳快充")
    expect(table.locator("tbody tr", has_text=phone)).to_have_count(0)
    choose_option(page, page.get_by_test_id("members-operator"), "广东云创")
    table.locator("tbody tr", has_text=phone).get_by_test_id("member-link").click()
    expect(page).to_have_url(re.compile(rf"/admin/members/{taxi_member['driver_id']}$"))

    page.get_by_role("tab", name="充电卡 / 密码").click()
    cards = page.get_by_test_id("member-cards")
    expect(cards).to_contain_text(f"CARD-{taxi_member['code']}")  # the one it was made with
    number = f"E2E{uuid.uuid4().hex[:8].upper()}"
    page.get_by_test_id("card-issue").click()
    dialog = page.get_by_test_id("card-issue-dialog")
    dialog.get_by_test_id("card-number").fill("含中文")
    dialog.get_by_test_id("card-issue-submit").click()
    expect(dialog).to_contain_text("卡号只能由 4 到 32 位字母和数字组成")
    dialog.get_by_test_id("card-number").fill(number)
    dialog.get_by_test_id("card-issue-submit").click()
    card_row = cards.locator("tbody tr", has_text=number)
    expect(card_row.get_by_test_id("card-state")).to_have_text("有效")

    page.get_by_test_id("card-issue").click()
    dialog.get_by_test_id("card-kind-password").click()
    dialog.get_by_test_id("card-issue-submit").click()
    shown = page.get_by_test_id("card-password")
    expect(shown).to_have_text(re.compile(r"^\d{8}$"))
    password = shown.inner_text()
    page.get_by_test_id("card-password-close").click()
    expect(cards.locator("tbody tr", has_text="充电密码（已隐藏）")).to_have_count(1)
    expect(cards).not_to_contain_text(password)  # shown once, never listed
    shot(page, "member-cards")

    card_row.get_by_test_id("card-disable").click()
    reason = page.get_by_test_id("reason-dialog")
    reason.get_by_test_id("reason-input").fill("卡片遗失")
    reason.get_by_test_id("reason-submit").click()
    expect(card_row.get_by_test_id("card-state")).to_have_text("已停用")
    driver_id = taxi_member["driver_id"]
    logs = api(page, "GET", f"/audit-logs?action=driver_card.disable&target_id={driver_id}")
    assert logs["total"] == 1 and logs["items"][0]["reason"] == "卡片遗失"


def test_promotion_links_per_sub_operator_with_qr_and_missing_menu(page: Page) -> None:
    login(page, "yc_admin", "yc123456")
    page.get_by_test_id("menu-settings-menu").click()
    open_menu(page, "menu-promotion-links", "settings/promotion-links")
    groups = page.get_by_test_id("links-operator-card")
    expect(groups).to_have_count(1)
    group = groups.first
    expect(group).to_contain_text("广东云创")
    urls = group.get_by_test_id("link-url")
    expect(urls.first).to_have_text(re.compile(r"^https?://.+/stations$"))
    expect(group.get_by_test_id("links-table")).to_contain_text("电站详情：云创·深圳南山科技园站")
    qr = group.get_by_test_id("link-qr").first.locator("img")
    expect(qr).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    assert page.evaluate("(img) => img.naturalWidth > 50", qr.element_handle())
    group.get_by_test_id("link-copy").first.click()
    expect(page.locator(".el-message")).to_contain_text("已复制链接")
    shot(page, "promotion-links")

    page.evaluate("localStorage.clear()")
    login(page, "kc_admin", "kc123456")
    page.goto("/admin/settings/promotion-links")
    expect(page.get_by_test_id("links-operator-card")).to_have_count(1)
    expect(page.get_by_test_id("links-operator-card")).to_contain_text("深圳快充")
    expect(page.get_by_test_id("links-operator-card")).not_to_contain_text("云创")


def test_a_sub_operator_without_a_mini_program_is_told_so_instead_of_a_menu(
    page: Page, live_env: dict[str, str]
) -> None:
    # its own operator: the demo's 广东云创 gains an AppID when another test configures its
    # WeChat Pay (seed_reviews), so its state depends on the order the tests run in
    name = f"无小程序运营商-{uuid.uuid4().hex[:4]}"
    _seed(live_env, "operator-without-app", name)
    login(page, "admin", "admin123")
    page.goto("/admin/settings/promotion-links")
    expect(page.get_by_test_id("links-operator-card").first).to_be_visible()
    choose_option(page, page.get_by_test_id("links-operator"), name)
    group = page.get_by_test_id("links-operator-card")
    expect(group).to_have_count(1)
    expect(group.get_by_test_id("link-url").first).to_have_text(re.compile(r"/stations$"))
    expect(group.get_by_test_id("menu-missing")).to_contain_text("未配置小程序 AppID")
    expect(group.get_by_test_id("menu-json")).to_have_count(0)


def test_the_menu_json_opens_the_sub_operators_own_mini_program(
    page: Page, live_env: dict[str, str]
) -> None:
    name = f"推广测试运营商-{uuid.uuid4().hex[:4]}"
    made = _seed(live_env, "operator", name)
    login(page, "admin", "admin123")
    page.goto("/admin/settings/promotion-links")
    expect(page.get_by_test_id("links-operator-card").first).to_be_visible()
    choose_option(page, page.get_by_test_id("links-operator"), name)
    expect(page.get_by_test_id("links-operator-card")).to_have_count(1)
    group = page.get_by_test_id("links-operator-card")
    expect(group).to_contain_text(made["app_id"])
    menu = group.get_by_test_id("menu-json")
    expect(menu).to_contain_text('"type": "miniprogram"')
    expect(menu).to_contain_text(f'"appid": "{made["app_id"]}"')
    expect(menu).to_contain_text('"pagepath": "pages/scan/index"')
    parsed = json.loads(menu.inner_text())
    assert [b["name"] for b in parsed["button"]] == ["扫码充电", "附近电站"]
    group.get_by_test_id("menu-copy").click()
    expect(page.locator(".el-message").last).to_contain_text("已复制菜单 JSON")
    shot(page, "promotion-links-menu")
