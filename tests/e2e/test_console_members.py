"""会员 detail in a real Chromium: a manual top-up with its reason lands in the ledger and the
balance; a coupon is granted and revoked with a reason; another sub-operator cannot open the
member. Screenshots at 1440×900 go to tmp/artifacts/ (not committed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import api, choose_option, login, open_menu, unique
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "tmp" / "artifacts"


def _yuan(text: str) -> int:
    whole, _, cents = text.strip().partition(".")
    return int(whole) * 100 + int(cents or 0)


def test_manual_top_up_and_a_coupon_granted_then_revoked(page: Page, live_server: str) -> None:
    login(page, "yc_admin", "yc123456")
    open_menu(page, "menu-members", "members")
    page.get_by_test_id("member-link").first.click()
    expect(page).to_have_url(re.compile(r"/admin/members/\d+$"))
    member_id = int(page.url.rsplit("/", 1)[1])
    balance = page.get_by_test_id("member-balance")
    expect(balance).to_have_text(re.compile(r"^-?\d+\.\d{2}$"))
    before = _yuan(balance.inner_text())

    page.get_by_test_id("member-adjust").click()
    dialog = page.get_by_test_id("adjust-dialog")
    dialog.get_by_test_id("adjust-amount").fill("12.34")
    reason = unique("客服补偿")
    dialog.get_by_test_id("adjust-reason").fill(reason)
    dialog.get_by_test_id("adjust-submit").click()
    page.locator(".el-message-box").get_by_role("button", name="确定").click()
    expect(balance).to_have_text(f"{(before + 1234) // 100}.{(before + 1234) % 100:02d}")
    expect(page.get_by_test_id("member-entries").locator("tbody tr").first).to_contain_text("12.34")
    logs = api(page, "GET", "/audit-logs?page_size=50")
    assert any(e.get("reason") == reason for e in logs["items"]), "the top-up is audited"

    name = unique("补偿券")
    api(page, "POST", "/coupon-templates",
        {"name": name, "kind": "fixed", "amount_fen": 500, "validity_days": 30})  # fmt: skip
    page.get_by_role("tab", name="优惠券").click()
    page.get_by_test_id("member-grant").click()
    grant = page.get_by_test_id("grant-dialog")
    choose_option(page, grant.get_by_test_id("grant-template"), name)
    grant.get_by_test_id("grant-reason").fill("充电中断补偿")
    grant.get_by_test_id("grant-submit").click()
    row = page.get_by_test_id("member-coupons").locator("tbody tr", has_text=name)
    expect(row).to_contain_text("可用")
    shot_dir = Path(ARTIFACTS)
    shot_dir.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot_dir / "member-detail.png"), full_page=True)
    row.get_by_test_id("coupon-revoke").click()
    page.locator(".el-dialog:visible textarea, .el-dialog:visible input").last.fill("误发")
    page.locator(".el-dialog:visible").get_by_role("button", name="撤回").click()
    expect(row).to_contain_text("已撤回")

    # another sub-operator cannot open this member
    page.evaluate("localStorage.clear()")
    login(page, "kc_admin", "kc123456")
    page.goto(f"/admin/members/{member_id}")
    expect(page.get_by_test_id("member-balance")).to_have_count(0)
