"""运维 → 故障记录 and 离线统计 in a real Chromium: an emergency stop appears with the order
that was running (case #24), the weekly chart and list show the disconnections (case #17
2019); another sub-operator sees none of them. Screenshots go to tmp/artifacts/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
