"""退款审核, 司机认证 and 设置 → 客服电话 in a real Chromium: approve and reject a refund
(the coupons kept back shown, case #4 2019-10-15; no approval without the merchant, case
#22), approve and revoke a certification with its images (case #4 2019-10-09), set the
night phone 21:00-09:00 (case #16); another sub-operator's admin sees none of it.

Screenshots at 1440×900 go to tmp/artifacts/ (not committed)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import choose_option, login, open_menu
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "tmp" / "artifacts"


@pytest.fixture(scope="module")
def seeded(live_server: str, live_env: dict[str, str]) -> dict[str, int]:
    """Refund requests and certification applications of 云创 and 快充 (seed_reviews)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.seed_reviews"], env=live_env, cwd=ROOT,
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # a drawer still sliding in would be caught half off the screen
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_out(page: Page) -> None:
    page.evaluate("localStorage.removeItem('ev_admin_token')")


def confirm(page: Page, says: str) -> None:
    box = page.locator(".el-message-box")
    expect(box).to_contain_text(says)
    box.locator(".el-message-box__btns .el-button--primary").click()


def test_a_topups_phone_opens_its_member(page: Page, seeded: dict[str, int]) -> None:
    """财务 → 充值记录: the member's phone links to 会员详情, as the other lists' do."""
    login(page, "yc_admin", "yc123456")
    page.get_by_test_id("menu-finance-menu").click()
    open_menu(page, "menu-topups", "finance/topups")
    page.get_by_test_id("topups-phone").fill("13800138301")
    page.get_by_test_id("topups-phone").press("Enter")
    row = page.get_by_test_id("topups-table").locator("tbody tr", has_text="13800138301")
    expect(row).to_have_count(1)
    row.get_by_test_id("topup-member-link").click()
    expect(page).to_have_url(re.compile(r"/admin/members/\d+$"))
    expect(page.locator(".page")).to_contain_text("13800138301")


def test_reject_and_approve_refunds(page: Page, seeded: dict[str, int]) -> None:
    login(page, "yc_admin", "yc123456")
    open_menu(page, "menu-refunds", "refunds")
    table = page.get_by_test_id("refunds-table")
    expect(table).to_contain_text("13800138301")
    expect(table).to_contain_text("13800138302")
    expect(table).not_to_contain_text("13800138303")  # 深圳快充's driver
    shot(page, "refunds-list")

    # by the driver's phone: the filter goes to the address
    page.get_by_test_id("refunds-phone").fill("13800138302")
    page.get_by_test_id("refunds-phone").press("Enter")
    expect(page).to_have_url(re.compile(r"phone=13800138302"))
    expect(table.locator("tbody tr")).to_have_count(1)
    table.get_by_test_id("refund-open").click()
    drawer = page.get_by_test_id("refund-drawer")
    expect(page.get_by_test_id("refund-amount")).to_have_text("20.00")
    expect(page.get_by_test_id("refund-coupon-deduction")).to_have_text("-5.50")
    expect(page.get_by_test_id("refund-back")).to_have_text("14.50")
    parts = page.get_by_test_id("refund-parts")
    expect(parts).to_contain_text("50.00")  # the top-up it draws from
    expect(parts).to_contain_text("14.50")
    shot(page, "refund-detail")

    # a rejection needs its reason: nothing is sent without one
    page.get_by_test_id("refund-reject").click()
    dialog = page.get_by_test_id("reason-dialog")
    page.get_by_test_id("reason-submit").click()
    expect(dialog.locator(".el-form-item__error")).to_contain_text("请填写驳回原因")
    page.get_by_test_id("reason-input").fill("余额来自活动赠送，不予退款")
    page.get_by_test_id("reason-submit").click()
    expect(page.locator(".el-message--success")).to_contain_text("已驳回")
    expect(page.get_by_test_id("refund-drawer-state")).to_have_text("已驳回")
    expect(page.get_by_test_id("refund-reject-reason")).to_have_text("余额来自活动赠送，不予退款")
    expect(drawer.get_by_test_id("refund-approve")).to_have_count(0)
    drawer.locator(".el-drawer__close-btn").click()

    # ¥10 whose top-up coupon of ¥10 was spent: nothing goes back through WeChat
    page.get_by_test_id("refunds-phone").fill("13800138301")
    page.get_by_test_id("refunds-search").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    table.get_by_test_id("refund-open").click()
    expect(page.get_by_test_id("refund-amount")).to_have_text("10.00")
    expect(page.get_by_test_id("refund-back")).to_have_text("0.00")
    expect(page.get_by_test_id("refund-blockers")).to_have_count(0)
    page.get_by_test_id("refund-approve").click()
    confirm(page, "优惠券抵扣 10.00 元不退")
    expect(page.get_by_test_id("refund-drawer-state")).to_have_text("已退款")
    shot(page, "refund-approved")


def test_no_approval_without_the_merchant_and_no_other_rows(
    page: Page, seeded: dict[str, int]
) -> None:
    login(page, "kc_admin", "kc123456")
    page.goto("/admin/refunds")
    table = page.get_by_test_id("refunds-table")
    expect(table).to_contain_text("13800138303")
    expect(table).not_to_contain_text("13800138301")
    expect(table).not_to_contain_text("13800138302")
    table.get_by_test_id("refund-open").click()
    expect(page.get_by_test_id("refund-blockers")).to_contain_text("深圳快充")
    expect(page.get_by_test_id("refund-approve")).to_be_disabled()
    shot(page, "refund-blocked")


def test_approve_and_revoke_a_certification(page: Page, seeded: dict[str, int]) -> None:
    login(page, "yc_admin", "yc123456")
    open_menu(page, "menu-certifications", "certifications")
    table = page.get_by_test_id("certs-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).not_to_contain_text("13800138306")  # 深圳快充's driver
    choose_option(page, page.get_by_test_id("certs-kind"), "网约车")
    expect(page).to_have_url(re.compile(r"kind=ride_hailing"))
    expect(table.locator("tbody tr")).to_have_count(1)
    shot(page, "certifications-list")

    table.get_by_test_id("cert-open").click()
    images = page.get_by_test_id("cert-images").locator("img")
    expect(images).to_have_count(3)
    for i in range(3):  # fetched with the token, shown from data: URLs (the CSP), decoded
        expect(images.nth(i)).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
        decoded = "img => img.complete && img.naturalWidth > 0"
        page.wait_for_function(decoded, arg=images.nth(i).element_handle())
    expect(page.get_by_test_id("cert-images")).to_contain_text("驾驶证")
    shot(page, "certification-detail")
    images.first.click()  # the viewer: zoom and rotate
    expect(page.locator(".el-image-viewer__wrapper")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".el-image-viewer__wrapper")).to_have_count(0)

    page.get_by_test_id("cert-approve").click()
    confirm(page, "网约车")
    expect(page.get_by_test_id("cert-drawer-state")).to_have_text("已通过")
    page.get_by_test_id("cert-revoke").click()
    page.get_by_test_id("reason-submit").click()
    expect(page.get_by_test_id("reason-dialog").locator(".el-form-item__error")).to_contain_text(
        "请填写撤销原因"
    )
    page.get_by_test_id("reason-input").fill("已不再从事网约车")
    page.get_by_test_id("reason-submit").click()
    expect(page.get_by_test_id("cert-drawer-state")).to_have_text("已撤销")
    expect(page.get_by_test_id("cert-revoke-reason")).to_have_text("已不再从事网约车")


def test_another_sub_operator_sees_none_of_the_certifications(
    page: Page, seeded: dict[str, int]
) -> None:
    login(page, "kc_admin", "kc123456")
    page.goto("/admin/certifications?state=pending")
    table = page.get_by_test_id("certs-table")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("13800138306")


def test_set_the_night_phone(page: Page, live_server: str) -> None:
    login(page, "yc_admin", "yc123456")
    page.get_by_test_id("menu-settings-menu").click()
    open_menu(page, "menu-customer-service", "settings/customer-service")
    table = page.get_by_test_id("cs-table")
    page.get_by_test_id("cs-create").click()
    form = page.get_by_test_id("cs-form")
    page.get_by_test_id("cs-form-label").fill("夜间客服")
    page.get_by_test_id("cs-form-phone").fill("400-800-2100")
    choose_option(page, form.get_by_test_id("cs-form-start"), "21:00")
    expect(page.locator(".el-select-dropdown__item:visible")).to_have_count(0)  # closed
    choose_option(page, form.get_by_test_id("cs-form-end"), "09:00")
    expect(page.get_by_test_id("cs-form-window")).to_contain_text("21:00–次日 09:00")
    page.get_by_test_id("cs-form-save").click()
    expect(page.locator(".el-message--success")).to_contain_text("已保存")
    row = table.locator("tr", has_text="400-800-2100")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("21:00–次日 09:00")
    shot(page, "customer-service")

    row.get_by_test_id("cs-edit").click()
    page.get_by_test_id("cs-form-phone").fill("400-800-2199")
    page.get_by_test_id("cs-form-save").click()
    row = table.locator("tr", has_text="400-800-2199")
    expect(row).to_have_count(1)

    # 深圳快充 sees none of 云创's phones
    log_out(page)
    login(page, "kc_admin", "kc123456")
    page.goto("/admin/settings/customer-service")
    expect(page.get_by_test_id("cs-table")).not_to_contain_text("400-800-2199")

    log_out(page)
    login(page, "yc_admin", "yc123456")
    page.goto("/admin/settings/customer-service")
    row = page.get_by_test_id("cs-table").locator("tr", has_text="400-800-2199")
    row.get_by_test_id("cs-delete").click()
    confirm(page, "夜间客服")
    expect(page.get_by_test_id("cs-table")).not_to_contain_text("400-800-2199")
