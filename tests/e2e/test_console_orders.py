"""订单 → 充电订单 in a real Chromium: find an order by its number, open its itemised bill,
timeline and meter curve; another sub-operator's admin sees none of it; 导出 downloads the
search's orders as xlsx (read back with openpyxl).

Screenshots at 1440×900 go to tmp/artifacts/ (not committed)."""

from __future__ import annotations

import json
import re
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
def orders(live_server: str, live_env: dict[str, str]) -> dict[str, str]:
    """One settled order of 云创 and one of 快充, made through the pile-event service."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.seed_orders"], env=live_env, cwd=ROOT,
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(ARTIFACTS) / f"{name}.png"), full_page=True)


def test_find_an_order_by_number_and_read_its_bill(page: Page, orders: dict[str, str]) -> None:
    login(page, "yc_admin", "yc123456")
    page.get_by_test_id("menu-order-menu").click()
    open_menu(page, "menu-orders", "orders/charge")
    table = page.get_by_test_id("orders-table")
    expect(table).to_contain_text(orders["yc"])
    expect(table).not_to_contain_text(orders["kc"])
    shot(page, "orders-list")

    page.get_by_test_id("orders-no").fill(orders["yc"])
    page.get_by_test_id("orders-no").press("Enter")
    expect(page).to_have_url(re.compile(rf"order_no={orders['yc']}"))  # the filter is in the URL
    expect(table.locator("tbody tr")).to_have_count(1)
    page.get_by_test_id("orders-phone").fill("13800138111")
    page.get_by_test_id("orders-search").click()
    expect(table.locator("tbody tr")).to_have_count(1)

    table.get_by_role("link", name=orders["yc"]).click()
    expect(page.get_by_test_id("order-no")).to_have_text(orders["yc"])
    bill = page.get_by_test_id("order-bill")
    expect(bill).to_contain_text("12.345")  # kWh
    expect(page.get_by_test_id("order-total")).to_have_text(re.compile(r"^\d+\.\d{2}$"))
    expect(page.get_by_test_id("order-curve").locator("canvas")).to_have_count(1)
    timeline = page.get_by_test_id("order-timeline")
    expect(timeline).to_contain_text("开始充电")
    expect(timeline).to_contain_text("充电桩消息")
    expect(page.get_by_test_id("order-pile-link")).to_have_text("E2E-YC-ORD-01")
    shot(page, "order-detail")

    # a reload of the detail keeps it (the order number is in the address)
    page.reload()
    expect(page.get_by_test_id("order-no")).to_have_text(orders["yc"])


def test_another_sub_operator_sees_none_of_the_orders(page: Page, orders: dict[str, str]) -> None:
    login(page, "kc_admin", "kc123456")
    page.goto(f"/admin/orders/charge?order_no={orders['yc']}")
    table = page.get_by_test_id("orders-table")
    expect(table).to_contain_text("没有符合条件的订单")
    page.goto("/admin/orders/charge")
    expect(table).to_contain_text(orders["kc"])
    expect(table).not_to_contain_text(orders["yc"])
    page.goto(f"/admin/orders/charge/{orders['yc']}")
    expect(page.get_by_test_id("order-detail")).to_contain_text("订单不存在")
    shot(page, "orders-cross-tenant")


def test_correct_an_estimated_order_with_a_preview(page: Page, orders: dict[str, str]) -> None:
    login(page, "yc_admin", "yc123456")
    page.goto("/admin/orders/abnormal?kind=estimated")
    table = page.get_by_test_id("abnormal-table")
    row = table.locator("tr", has_text=orders["yc_estimated"])
    expect(row).to_have_count(1)
    expect(table).not_to_contain_text(orders["yc"])  # a normal order is not in the queue
    shot(page, "abnormal-orders")
    row.get_by_test_id("abnormal-correct").click()
    dialog = page.get_by_test_id("correction-form")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("correction-save")).to_be_disabled()  # preview first
    page.get_by_test_id("correction-energy").locator("input").fill("0.5")
    page.get_by_test_id("correction-preview-btn").click()
    refund = page.get_by_test_id("correction-refund")
    expect(refund).to_have_text(re.compile(r"^[1-9]\d*\.\d{2}$|^0\.(0[1-9]|[1-9]\d)$"))
    shot(page, "abnormal-correction-preview")
    # without a reason nothing is sent: the form says what is missing
    page.get_by_test_id("correction-save").click()
    expect(dialog.locator(".el-form-item__error")).to_contain_text("请填写更正原因")
    page.get_by_test_id("correction-reason").fill("核对电表读数")
    page.get_by_test_id("correction-save").click()
    expect(page.locator(".el-message-box")).to_contain_text("退回司机钱包")  # confirm first
    page.locator(".el-message-box__btns .el-button--primary").click()
    expect(page.locator(".el-message--success")).to_contain_text("已更正")
    expect(dialog).to_be_hidden()
    # the order's detail shows the correction among its adjustments
    page.goto(f"/admin/orders/charge/{orders['yc_estimated']}")
    expect(page.get_by_test_id("order-adjustments")).to_contain_text("correction")
    expect(page.get_by_test_id("order-bill")).to_contain_text("0.500")


def test_another_sub_operator_sees_no_abnormal_order_of_others(
    page: Page, orders: dict[str, str]
) -> None:
    login(page, "kc_admin", "kc123456")
    page.goto("/admin/orders/abnormal")
    expect(page.get_by_test_id("abnormal-table")).to_contain_text("没有待处理的异常订单")


def test_overview_shows_the_operators_own_figures(page: Page, orders: dict[str, str]) -> None:
    login(page, "yc_admin", "yc123456")
    open_menu(page, "menu-dashboard", "dashboard")
    top = page.get_by_test_id("dashboard-top-stations")
    expect(top).to_contain_text("E2E-YC-ORD-01 站")
    expect(top).not_to_contain_text("E2E-KC-ORD-01 站")
    today = page.get_by_test_id("dashboard-today")
    expect(today).to_contain_text("订单数")
    expect(today).not_to_contain_text("订单数0")
    expect(page.get_by_test_id("dashboard-trend").locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("dashboard-tiers").locator("canvas")).to_have_count(1)
    shot(page, "dashboard")


def test_another_sub_operator_sees_only_its_overview(page: Page, orders: dict[str, str]) -> None:
    login(page, "kc_admin", "kc123456")
    open_menu(page, "menu-dashboard", "dashboard")
    top = page.get_by_test_id("dashboard-top-stations")
    expect(top).to_contain_text("E2E-KC-ORD-01 站")
    expect(top).not_to_contain_text("E2E-YC-ORD-01 站")


def _downloaded_rows(page: Page, testid: str, tmp_path: Path) -> tuple[str, list[tuple]]:
    """Click an 导出 button, wait for the browser's download, read it back with openpyxl."""
    with page.expect_download() as info:
        page.get_by_test_id(testid).click()
    download = info.value
    saved = tmp_path / "export.xlsx"
    download.save_as(saved)
    book = openpyxl.load_workbook(saved)
    return download.suggested_filename, list(book.active.iter_rows(values_only=True))


def test_export_the_orders_the_search_finds_from_the_console(
    page: Page, orders: dict[str, str], tmp_path: Path
) -> None:
    login(page, "yc_admin", "yc123456")
    page.goto("/admin/orders/charge")
    table = page.get_by_test_id("orders-table")
    expect(table).to_contain_text(orders["yc"])
    name, rows = _downloaded_rows(page, "orders-export", tmp_path)
    assert name.startswith("充电订单-") and name.endswith(".xlsx")  # the Chinese name kept
    head = rows[1]
    assert head[:5] == ("订单号", "站点", "充电桩", "枪", "会员手机号")
    numbers = [r[0] for r in rows[2:]]
    assert orders["yc"] in numbers and orders["yc_estimated"] in numbers
    assert orders["kc"] not in numbers  # another sub-operator's order never
    line = rows[2 + numbers.index(orders["yc"])]
    assert line[head.index("电量(kWh)")] == 12.345
    assert line[head.index("状态")] == "已结算"
    assert isinstance(line[head.index("实付(元)")], float | int)

    # the search's filter goes into the file: the one order by its number
    page.get_by_test_id("orders-no").fill(orders["yc"])
    page.get_by_test_id("orders-no").press("Enter")
    expect(table.locator("tbody tr")).to_have_count(1)
    _, rows = _downloaded_rows(page, "orders-export", tmp_path)
    assert [r[0] for r in rows[2:]] == [orders["yc"]]
    assert f"order_no={orders['yc']}" in str(rows[0][0])
