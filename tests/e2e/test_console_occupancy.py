"""站点 → 占位费 in a real Chromium (case #19): a station charges no occupancy fee until the
operator sets a rule; the rule is saved with its reason, shown as drivers read it, kept after a
reload, and removed again; a wrong price is refused in Chinese before anything is sent."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_console import api, login, open_menu, search_table
from tests.e2e.test_console_operations import shot

pytestmark = pytest.mark.e2e


def _station(page: Page) -> tuple[int, str]:
    name = f"占位测试站-{uuid.uuid4().hex[:6]}"
    tariff = api(page, "GET", "/tariffs?page_size=1")["items"][0]
    body = {
        "name": name, "city": "深圳", "address": "深圳市南山区 1 号",
        "longitude": 113.9, "latitude": 22.5, "tariff_id": tariff["id"],
    }  # fmt: skip
    return int(api(page, "POST", "/stations", body)["id"]), name


def _dialog(page: Page, name: str):  # type: ignore[no-untyped-def]
    open_menu(page, "menu-stations", "stations")
    search_table(page, "stations-search", name)
    row = page.get_by_test_id("stations-table").locator("tr", has_text=name)
    row.get_by_test_id("station-occupancy").click()
    dialog = page.get_by_test_id("occupancy-dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_an_operator_sets_and_removes_a_station_occupancy_fee(page: Page) -> None:
    login(page, "yc_admin", "yc123456")
    station_id, name = _station(page)
    dialog = _dialog(page, name)
    expect(dialog.get_by_test_id("occupancy-current")).to_have_text("不收占位费")

    dialog.get_by_test_id("occupancy-grace").fill("15")
    dialog.get_by_test_id("occupancy-price").fill("0.5")
    dialog.get_by_test_id("occupancy-cap").fill("30")
    expect(dialog.get_by_test_id("occupancy-preview")).to_have_text(
        "充电结束后免费 15 分钟，之后每分钟 ¥0.5，单笔封顶 ¥30.00"
    )
    dialog.get_by_test_id("occupancy-save").click()
    expect(dialog).to_contain_text("请填写修改原因")  # the reason is audited, so it is asked for
    dialog.get_by_test_id("occupancy-reason").fill("夜间占位严重")
    dialog.get_by_test_id("occupancy-save").click()
    expect(dialog.get_by_test_id("occupancy-current")).to_contain_text("每分钟 ¥0.5")
    shot(page, "station-occupancy")

    saved = api(page, "GET", f"/stations/{station_id}/occupancy-policy")
    assert (saved["is_active"], saved["grace_minutes"], saved["cap_fen"]) == (True, 15, 3000)
    audit = api(page, "GET", f"/audit-logs?action=occupancy_policy.set&target_id={station_id}")
    assert audit["total"] >= 1 and audit["items"][0]["reason"] == "夜间占位严重"

    page.reload()
    dialog = _dialog(page, name)
    expect(dialog.get_by_test_id("occupancy-current")).to_contain_text("单笔封顶 ¥30.00")
    expect(dialog.get_by_test_id("occupancy-price")).to_have_value("0.5000")
    dialog.get_by_test_id("occupancy-reason").fill("取消试行")
    dialog.get_by_test_id("occupancy-remove").click()
    expect(dialog.get_by_test_id("occupancy-current")).to_have_text("不收占位费")
    assert api(page, "GET", f"/stations/{station_id}/occupancy-policy")["is_active"] is False


def test_a_wrong_price_is_refused_before_it_is_sent(page: Page) -> None:
    login(page, "yc_admin", "yc123456")
    station_id, name = _station(page)
    dialog = _dialog(page, name)
    dialog.get_by_test_id("occupancy-grace").fill("10")
    dialog.get_by_test_id("occupancy-price").fill("0.12345")
    dialog.get_by_test_id("occupancy-reason").fill("试")
    dialog.get_by_test_id("occupancy-save").click()
    expect(dialog).to_contain_text("最多 4 位小数")
    assert api(page, "GET", f"/stations/{station_id}/occupancy-policy")["is_active"] is False
