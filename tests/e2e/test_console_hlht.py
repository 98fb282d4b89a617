"""互联互通 → our drivers' partner orders and the partner's drivers' orders on our piles
in a real Chromium (issue 11): filters in the URL, estimated and disputed marked, the
partner's bill against our estimate; 导出对账单 downloads last month's statement of the
partner, both directions with their totals (read back with openpyxl)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import choose_option, login, open_menu
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def seeded(live_server: str, live_env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.seed_hlht"], env=live_env, cwd=ROOT,
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_our_drivers_partner_orders_are_marked_and_filtered_in_the_url(
    page: Page, seeded: dict[str, str]
) -> None:
    login(page, "admin", "admin123")
    open_menu(page, "menu-hlht-partners", "hlht")
    page.get_by_test_id("hlht-tabs").get_by_text("我方车主订单").click()
    expect(page).to_have_url(re.compile(r"/admin/hlht/customer-orders"))
    table = page.get_by_test_id("hlht-customer-table")
    estimated = table.locator("tr.el-table__row", has_text=seeded["estimated"])
    expect(estimated.get_by_test_id("hlht-mark-estimated")).to_be_visible()
    expect(estimated.get_by_test_id("hlht-mark-disputed")).to_be_visible()
    expect(estimated).to_contain_text("账单未到")
    reconciled = table.locator("tr.el-table__row", has_text=seeded["reconciled"])
    expect(reconciled.get_by_test_id("hlht-partner-bill")).to_have_text("2.01")
    expect(reconciled.get_by_test_id("hlht-estimate")).to_have_text("1.99")
    expect(reconciled).to_contain_text("+0.02")
    choose_option(page, page.get_by_test_id("hlht-orders-disputed"), "争议：是")
    expect(page).to_have_url(re.compile(r"disputed=true"))
    expect(table.locator("tr.el-table__row", has_text=seeded["billed"])).to_have_count(0)
    expect(table.locator("tr.el-table__row", has_text=seeded["estimated"])).to_have_count(1)
    # a shared link shows the same filter
    page.goto("/admin/hlht/customer-orders?estimated=false")
    expect(table.locator("tr.el-table__row", has_text=seeded["billed"])).to_have_count(1)
    expect(table.locator("tr.el-table__row", has_text=seeded["estimated"])).to_have_count(0)


def test_the_partners_drivers_orders_on_our_piles_are_listed(
    page: Page, seeded: dict[str, str]
) -> None:
    login(page, "admin", "admin123")
    page.goto("/admin/hlht/roaming-orders")
    row = page.get_by_test_id("hlht-roaming-table").locator(
        "tr.el-table__row", has_text=seeded["roaming"]
    )
    expect(row).to_contain_text("演示互联平台")
    expect(row.get_by_test_id("hlht-roaming-total")).to_have_text("14.82")
    expect(row).to_contain_text("一致")


def test_the_monthly_statement_is_downloaded_with_both_directions(
    page: Page, seeded: dict[str, str], tmp_path: Path
) -> None:
    login(page, "admin", "admin123")
    page.goto("/admin/hlht/customer-orders")
    choose_option(page, page.get_by_test_id("hlht-statement-partner"), "演示互联平台")
    month = page.locator("[data-testid=hlht-statement] input[placeholder='结算月份']")
    expect(month).to_have_value(seeded["month"])  # last month in China by default
    with page.expect_download() as info:
        page.get_by_test_id("hlht-statement-export").click()
    download = info.value
    assert download.suggested_filename.startswith(f"互联互通对账单-演示互联平台-{seeded['month']}")
    saved = tmp_path / "statement.xlsx"
    download.save_as(saved)
    rows = list(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    numbers = [r[1] for r in rows[2:]]
    for key in ("roaming", "billed", "estimated", "reconciled"):
        assert seeded[key] in numbers
    totals = [r for r in rows[2:] if str(r[0]).startswith("合计")]
    assert len(totals) == 2
    assert totals[0][10] >= 14.82 and totals[1][10] >= 1.75 + 4.80 + 2.01 - 1e-9
