"""Every entry of the console's menu opened by the platform admin against the demo data,
at 1440×900 (issue 10, done means): each page loads without an uncaught error or an error
message, shows its title, and is saved as a screenshot in tmp/artifacts/console/ (a build
artifact, not committed). The entries are read from the menu itself, so a page added to
the menu is in the tour without touching this test."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import login
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "tmp" / "artifacts" / "console"


def _entries(page: Page) -> list[tuple[str, str]]:
    """(test id, title) of every leaf entry of the menu, sub-menus opened."""
    menu = page.get_by_test_id("side-menu")
    for sub in menu.locator(".el-sub-menu").all():
        if "is-opened" not in (sub.get_attribute("class") or ""):
            sub.locator(".el-sub-menu__title").first.click()
    page.wait_for_timeout(300)  # the sub-menus' opening transition
    leaves = menu.locator("li.el-menu-item")
    return [
        (leaf.get_attribute("data-testid") or "", leaf.inner_text().strip())
        for leaf in leaves.all()
    ]


def _open(page: Page, test_id: str) -> None:
    """Open a menu entry and wait for its page: transition, requests, loading masks."""
    entry = page.get_by_test_id(test_id)
    if not entry.is_visible():  # a collapsed sub-menu after navigation
        parent = entry.locator("xpath=ancestor::li[contains(@class,'el-sub-menu')][1]")
        parent.locator(".el-sub-menu__title").first.click()
    entry.click()
    expect(entry).to_have_class(re.compile(r"\bis-active\b"))
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # the page's transition: its requests start after it
    page.wait_for_load_state("networkidle")
    expect(page.locator(".el-loading-mask:visible")).to_have_count(0)


def _error_shown(page: Page) -> str | None:
    errors = page.locator(".el-message--error")
    return errors.first.inner_text() if errors.count() else None


def test_every_menu_entry_opens_its_page_with_the_demo_data(page: Page) -> None:
    login(page, "admin", "admin123")
    entries = _entries(page)
    titles = [title for _, title in entries]
    expected = ("概览", "充电订单", "异常订单", "站点", "充电桩", "会员", "优惠券", "审计日志")
    assert set(expected) <= set(titles), titles
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for test_id, title in entries:
        if not test_id:
            failures.append(f"{title}: menu entry without a data-testid")
            continue
        _open(page, test_id)
        if error := _error_shown(page):
            failures.append(f"{title}: {error}")
        name = test_id.removeprefix("menu-")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    assert not failures, failures
    assert len(list(ARTIFACTS.glob("*.png"))) >= len(entries)


# what only the other sub-operator's pages may show: its name, its stations' names and, for
# 广东云创, its piles' codes (the demo's stations are named after their owner)
OTHERS = {
    "yc_admin": ("yc123456", ("深圳快充", "快充·")),
    "kc_admin": ("kc123456", ("广东云创", "云创·", "DEMO-OCPP-01", "55031412782305")),
}


@pytest.mark.parametrize("username", sorted(OTHERS))
def test_a_sub_operator_admin_sees_none_of_the_other_sub_operators_rows_on_any_page(
    page: Page, username: str
) -> None:
    """Every entry of a sub-operator admin's menu, against the demo data with its month of
    history at both sub-operators' stations (issue 10, quality: "for every screen, a
    sub-operator admin sees none of another sub-operator's rows")."""
    password, markers = OTHERS[username]
    login(page, username, password)
    entries = _entries(page)
    assert len(entries) >= 8, entries
    leaks: list[str] = []
    for test_id, title in entries:
        _open(page, test_id)
        if error := _error_shown(page):
            leaks.append(f"{title}: {error}")
        text = page.locator("main, .el-main").first.inner_text()
        leaks += [f"{title}: shows {m}" for m in markers if m in text]
    assert not leaks, leaks
