"""运维 → 故障记录 and 离线统计 in a real Chromium: an emergency stop appears with the order
that was running (case #24), the weekly chart and list show the disconnections (case #17
2019); another sub-operator sees none of them. Screenshots go to tmp/artifacts/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import login, open_menu
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "tmp" / "artifacts"


@pytest.fixture(scope="module")
def faults(live_server: str, live_env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.seed_faults"], env=live_env, cwd=ROOT,
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(ARTIFACTS) / f"{name}.png"), full_page=True)


def test_an_emergency_stop_appears_with_its_order(page: Page, faults: dict[str, str]) -> None:
    login(page, "yc_admin", "yc123456")
    page.get_by_test_id("menu-operations-menu").click()
    open_menu(page, "menu-faults", "operations/faults")
    table = page.get_by_test_id("faults-table")
    row = table.locator("tbody tr", has_text=faults["pile_code"])
    expect(row).to_contain_text("急停")
    expect(row.get_by_test_id("fault-order")).to_have_text(faults["order_no"])
    shot(page, "faults")
    row.get_by_test_id("fault-order").click()
    expect(page.get_by_test_id("order-no")).to_have_text(faults["order_no"])


def test_the_weekly_chart_shows_the_disconnections(page: Page, faults: dict[str, str]) -> None:
    login(page, "yc_admin", "yc123456")
    page.get_by_test_id("menu-operations-menu").click()
    open_menu(page, "menu-disconnections", "operations/disconnections")
    expect(page.get_by_test_id("disconnections-chart").locator("canvas")).to_have_count(1)
    rows = page.get_by_test_id("disconnections-table").locator(
        "tbody tr", has_text=faults["pile_code"]
    )
    expect(rows.first).to_be_visible()
    counts = [int(t) for t in rows.locator("td:nth-child(4)").all_inner_texts()]
    assert sum(counts) == 2
    shot(page, "disconnections")


def test_another_sub_operator_sees_none_of_them(page: Page, faults: dict[str, str]) -> None:
    login(page, "kc_admin", "kc123456")
    page.get_by_test_id("menu-operations-menu").click()
    open_menu(page, "menu-faults", "operations/faults")
    expect(page.get_by_test_id("faults-table")).not_to_contain_text(faults["pile_code"])
    page.goto("/admin/operations/disconnections")
    expect(page.get_by_test_id("disconnections-table")).not_to_contain_text(faults["pile_code"])


def _downloaded(page: Page, testid: str, tmp_path: Path) -> tuple[str, list[tuple]]:
    """Click an 导出 button, wait for the browser's download, read it back with openpyxl."""
    with page.expect_download() as info:
        page.get_by_test_id(testid).click()
    download = info.value
    saved = tmp_path / f"{testid}.xlsx"
    download.save_as(saved)
    return download.suggested_filename, list(
        openpyxl.load_workbook(saved).active.iter_rows(values_only=True)
    )


def test_the_faults_and_disconnections_export_from_the_console(
    page: Page, faults: dict[str, str], tmp_path: Path
) -> None:
    login(page, "yc_admin", "yc123456")
    page.get_by_test_id("menu-operations-menu").click()
    open_menu(page, "menu-faults", "operations/faults")
    expect(page.get_by_test_id("faults-table")).to_contain_text(faults["pile_code"])
    name, rows = _downloaded(page, "faults-export", tmp_path)
    assert name.startswith("故障记录-") and name.endswith(".xlsx")
    col = rows[1].index
    [stop] = [r for r in rows[2:] if r[col("充电桩")] == faults["pile_code"]]
    assert stop[col("故障名称")] == "急停" and stop[col("当时的订单")] == faults["order_no"]

    page.goto("/admin/operations/disconnections")
    expect(page.get_by_test_id("disconnections-table")).to_contain_text(faults["pile_code"])
    name, rows = _downloaded(page, "disconnections-export", tmp_path)
    assert name.startswith("离线统计-")
    col = rows[1].index
    mine = [r for r in rows[2:] if r[col("充电桩")] == faults["pile_code"]]
    assert sum(r[col("掉线次数")] for r in mine) == 2
    name, rows = _downloaded(page, "disconnections-export-detail", tmp_path)
    assert name.startswith("掉线明细-")
    col = rows[1].index
    mine = [r for r in rows[2:] if r[col("充电桩")] == faults["pile_code"]]
    assert [r[col("离线秒数")] for r in mine] == [1800, 1800]
    assert {r[col("离线原因")] for r in mine} == {"心跳超时"}


def test_the_topups_page_exports_its_list(page: Page, tmp_path: Path) -> None:
    login(page, "yc_admin", "yc123456")
    page.get_by_test_id("menu-finance-menu").click()
    open_menu(page, "menu-topups", "finance/topups")
    expect(page.get_by_test_id("topups-table")).to_be_visible()
    page.get_by_test_id("topups-phone").fill("13000000000")
    page.get_by_test_id("topups-phone").press("Enter")
    name, rows = _downloaded(page, "topups-export", tmp_path)
    assert name.startswith("充值记录-") and name.endswith(".xlsx")
    assert rows[1][:4] == ("充值单号", "微信支付单号", "会员手机号", "子运营商")
    assert "phone=13000000000" in str(rows[0][0])  # the page's filter went into the file
    assert all(r[2] == "13000000000" for r in rows[2:])
