"""The operator console in a real Chromium: log in, build a tariff → station → pile, and check
that what an admin sees (rows, menu, buttons, pages) follows their operator and permissions.

Needs the SPA built into admin_spa/web/dist and Debian's Chromium; ``live_server`` (see
conftest.py) is a seeded platform process. Playwright never downloads a browser here.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e

API = "/api/admin/v1"

# Menu entry (data-testid) → the permission that shows it; mirrors src/router/routes.ts.
MENU_PERMISSIONS = {
    "menu-stations": "station.read",
    "menu-piles": "pile.read",
    "menu-operations-menu": "pile.read",
    "menu-tariffs": "tariff.read",
    "menu-dashboard": "order.read",
    "menu-order-menu": "order.read",
    "menu-finance-menu": "order.read",
    "menu-members": "member.read",
    "menu-refunds": "refund.read",
    "menu-certifications": "certification.read",
    "menu-operators": "operator.read",
    "menu-admin-users": "admin_user.read",
    "menu-roles": "role.read",
    "menu-audit-logs": "audit.read",
    "menu-hlht-partners": "hlht.read",
}

# Menu group (data-testid) → the permissions of its entries; shown if any entry is.
MENU_GROUPS = {
    "menu-member-menu": {"member.read", "certification.read", "refund.read"},
    "menu-settings-menu": {
        "settings.customer_service", "operator.read", "admin_user.read", "role.read",
        "audit.read", "hlht.read",
    },
}  # fmt: skip

# Demo data (flask seed-demo).
YC_STATIONS = ("云创·深圳南山科技园站", "云创·广州天河站")
KC_STATION = "快充·深圳福田会展中心站"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}"


def login(page: Page, username: str, password: str) -> None:
    page.goto("/admin/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("header-user")).to_be_visible()


def api(page: Page, method: str, path: str, body: Any = None) -> Any:
    """Call the admin API as the logged-in browser user (same token, same origin)."""
    result = page.evaluate(
        """async ([method, url, body]) => {
            const token = localStorage.getItem('ev_admin_token')
            const res = await fetch(url, {
                method,
                headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
                body: body === null ? undefined : JSON.stringify(body),
            })
            return { status: res.status, body: res.status === 204 ? null : await res.json() }
        }""",
        [method, f"{API}{path}", body],
    )
    assert result["status"] < 400, f"{method} {path} → {result}"
    return result["body"]


def open_menu(page: Page, testid: str, path: str) -> None:
    """Click a menu entry, first opening its group (会员, 设置, …) if that is collapsed."""
    entry = page.get_by_test_id(testid)
    group = entry.locator("xpath=ancestor::li[contains(@class,'el-sub-menu')][1]")
    if group.count() and "is-opened" not in (group.get_attribute("class") or ""):
        group.locator(".el-sub-menu__title").first.click()
    entry.click()
    expect(page).to_have_url(re.compile(rf"/admin/{path}(\?.*)?$"))


def choose_option(page: Page, select: Locator, text: str, type_to_search: bool = False) -> None:
    """Pick an Element Plus select option by its text (the dropdown lives in <body>)."""
    select.click()
    if type_to_search:
        select.locator("input").fill(text)
    page.locator(".el-select-dropdown__item:visible", has_text=text).first.click()


def search_table(page: Page, box: str, text: str) -> None:
    page.get_by_test_id(box).fill(text)
    page.get_by_test_id(box).press("Enter")


def fill_segment(page: Page, i: int, start: str, end: str, tier: str, e: str, s: str) -> None:
    page.get_by_test_id(f"seg-start-{i}").fill(start)
    page.get_by_test_id(f"seg-end-{i}").fill(end)
    page.get_by_test_id(f"seg-tier-{i}-{tier}").click()
    page.get_by_test_id(f"seg-eprice-{i}").fill(e)
    page.get_by_test_id(f"seg-sprice-{i}").fill(s)


def test_platform_admin_builds_tariff_station_and_pile(page: Page) -> None:
    tariff_name = unique("E2E分时电价")
    station_name = unique("E2E测试站")
    pile_code = unique("E2EPILE")

    login(page, "admin", "admin123")

    # --- tariff: the form points at the wrong rows before anything is sent -----------------
    open_menu(page, "menu-tariffs", "tariffs")
    page.get_by_test_id("tariffs-create").click()
    expect(page.get_by_test_id("tariff-form")).to_be_visible()
    page.get_by_test_id("tariff-form-name").fill(tariff_name)
    expect(page.get_by_test_id("seg-start-0")).to_have_value("00:00")
    fill_segment(page, 0, "00:00", "08:00", "valley", "0.3500", "0.6000")
    page.get_by_test_id("seg-add").click()
    expect(page.get_by_test_id("seg-start-1")).to_have_value("08:00")  # continues row 1
    # A gap (08:00-09:00) and a price with 5 decimals.
    fill_segment(page, 1, "09:00", "18:00", "peak", "1.0500", "0.80001")
    page.get_by_test_id("seg-add").click()
    fill_segment(page, 2, "18:00", "24:00", "flat", "0.6500", "0.8000")
    page.get_by_test_id("tariff-form-save").click()
    row1_errors = page.get_by_test_id("seg-error-1")
    expect(row1_errors.filter(has_text="空档")).to_have_count(1)
    expect(row1_errors.filter(has_text="服务费")).to_have_count(1)
    expect(page.get_by_test_id("tariff-form")).to_be_visible()  # nothing was saved

    page.get_by_test_id("seg-start-1").fill("08:00")
    page.get_by_test_id("seg-sprice-1").fill("0.8000")
    expect(page.get_by_test_id("seg-error-1")).to_have_count(0)
    page.get_by_test_id("tariff-form-save").click()
    expect(page.get_by_test_id("tariff-form")).to_be_hidden()

    search_table(page, "tariffs-search", tariff_name)
    expect(page.get_by_test_id("tariff-row-name").filter(has_text=tariff_name)).to_have_count(1)
    tariffs = api(page, "GET", f"/tariffs?q={tariff_name}")
    assert tariffs["total"] == 1
    segments = tariffs["items"][0]["current_version"]["segments"]
    assert [(x["start"], x["end"], x["tier"]) for x in segments] == [
        ("00:00", "08:00", "valley"),
        ("08:00", "18:00", "peak"),
        ("18:00", "24:00", "flat"),
    ]

    # --- station using that tariff -----------------------------------------------------------
    open_menu(page, "menu-stations", "stations")
    page.get_by_test_id("stations-create").click()
    expect(page.get_by_test_id("station-form")).to_be_visible()
    page.get_by_test_id("station-form-name").fill(station_name)
    page.get_by_test_id("station-form-city").fill("深圳")
    page.get_by_test_id("station-form-address").fill("深圳市南山区粤海街道 1 号")
    page.get_by_test_id("station-form-longitude").locator("input").fill("113.947830")
    page.get_by_test_id("station-form-latitude").locator("input").fill("22.531460")
    choose_option(page, page.get_by_test_id("station-form-tariff"), tariff_name)
    page.get_by_test_id("station-form-save").click()
    expect(page.get_by_test_id("station-form")).to_be_hidden()

    search_table(page, "stations-search", station_name)
    station_row = page.get_by_test_id("stations-table").locator("tr", has_text=station_name)
    expect(station_row).to_have_count(1)
    expect(station_row).to_contain_text(tariff_name)

    # Edit it (PATCH): the new address shows in the list.
    station_row.get_by_test_id("station-edit").click()
    expect(page.get_by_test_id("station-form-name")).to_have_value(station_name)
    page.get_by_test_id("station-form-address").fill("深圳市南山区粤海街道 2 号")
    page.get_by_test_id("station-form-save").click()
    expect(page.get_by_test_id("station-form")).to_be_hidden()
    expect(station_row).to_contain_text("粤海街道 2 号")

    # --- pile with two connectors at that station ---------------------------------------------
    open_menu(page, "menu-piles", "piles")
    page.get_by_test_id("piles-create").click()
    expect(page.get_by_test_id("pile-form")).to_be_visible()
    page.get_by_test_id("pile-form-code").fill(pile_code)
    choose_option(page, page.get_by_test_id("pile-form-station"), station_name, type_to_search=True)
    page.get_by_test_id("pile-form-protocol").get_by_text("OCPP 1.6J").click()
    page.get_by_test_id("pile-form-vendor").fill("星星充电")
    page.get_by_test_id("pile-form-model").fill("DC-120K")
    page.get_by_test_id("pile-form-current-type").get_by_text("直流 DC").click()
    page.get_by_test_id("pile-form-power").locator("input").fill("120")
    page.get_by_test_id("pile-form-connectors").locator("input").fill("2")
    page.get_by_test_id("pile-form-save").click()
    expect(page.get_by_test_id("pile-form")).to_be_hidden()

    search_table(page, "piles-search", pile_code)
    pile_row = page.get_by_test_id("piles-table").locator("tr.el-table__row", has_text=pile_code)
    expect(pile_row).to_have_count(1)
    expect(pile_row).to_contain_text(station_name)
    pile_row.locator(".el-table__expand-icon").click()
    connectors = page.get_by_test_id(f"pile-connectors-{pile_code}")
    expect(connectors.get_by_test_id("connector-qr")).to_have_count(2)

    # --- its OCPP password, shown once (issue 15 #1) -----------------------------------------
    pile_row.locator(".el-table__expand-icon").click()  # fold the connectors back
    pile_row = pile_row.first
    expect(pile_row).to_contain_text("无密码")
    pile_row.get_by_test_id("pile-credentials").click()
    dialog = page.get_by_test_id("pile-credentials-dialog")
    expect(dialog.get_by_test_id("pile-credentials-state")).to_contain_text("未设置密码")
    dialog.get_by_test_id("pile-credentials-set").click()
    shown = dialog.get_by_test_id("pile-credentials-password")
    expect(shown).to_have_text(re.compile(r"^[A-Za-z0-9]{24}$"))
    password = shown.inner_text()
    expect(dialog.get_by_test_id("pile-credentials-state")).to_contain_text("已设置密码")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(pile_row).to_contain_text("已设密码")
    created = api(page, "GET", f"/piles?q={pile_code}")["items"][0]
    assert created["has_password"] is True and password not in str(created)

    # The station list counts the new pile.
    open_menu(page, "menu-stations", "stations")
    search_table(page, "stations-search", station_name)
    station_row = page.get_by_test_id("stations-table").locator("tr", has_text=station_name)
    expect(station_row).to_have_count(1)
    station = api(page, "GET", f"/stations?q={station_name}")["items"][0]
    assert station["pile_count"] == 1
    assert station["tariff_name"] == tariff_name


def test_sub_operator_admin_sees_only_its_own_stations(page: Page) -> None:
    login(page, "yc_admin", "yc123456")
    expect(page.get_by_test_id("header-operator")).to_contain_text("广东云创")

    open_menu(page, "menu-stations", "stations")
    names = page.get_by_test_id("station-row-name")
    for own in YC_STATIONS:
        expect(names.filter(has_text=own)).to_have_count(1)
    expect(names.filter(has_text=KC_STATION)).to_have_count(0)

    # Not on another page either: the server filters, the search finds nothing.
    search_table(page, "stations-search", "快充")
    expect(page.get_by_test_id("stations-table")).to_contain_text("暂无数据")
    expect(names).to_have_count(0)

    # The menu is exactly what /me's permissions allow (entries of a closed group included).
    permissions = set(api(page, "GET", "/me")["permissions"])
    for testid, code in MENU_PERMISSIONS.items():
        expect(page.get_by_test_id(testid)).to_have_count(1 if code in permissions else 0)
    for group, codes in MENU_GROUPS.items():
        expect(page.get_by_test_id(group)).to_have_count(1 if codes & permissions else 0)

    # Creating sub-operators is the platform's business, whatever the sub-admin's role says.
    if "operator.read" in permissions:
        open_menu(page, "menu-operators", "operators")
        expect(page.get_by_test_id("operators-table")).to_be_visible()
        expect(page.get_by_test_id("operators-create")).to_have_count(0)


def test_menu_buttons_and_routes_follow_a_narrow_role(page: Page) -> None:
    """An admin whose only role is 'station.read' sees one menu entry and no write buttons."""
    login(page, "admin", "admin123")
    role = api(
        page, "POST", "/roles", {"name": unique("E2E只读站点"), "permissions": ["station.read"]}
    )
    username = unique("e2e_viewer_").lower()
    api(
        page,
        "POST",
        "/admin-users",
        {
            "username": username,
            "password": "viewer-pass-123",
            "display_name": "只读测试员",
            "role_ids": [role["id"]],
        },
    )
    page.get_by_test_id("header-user").click()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-username")).to_be_visible()

    login(page, username, "viewer-pass-123")
    expect(page).to_have_url(re.compile(r"/admin/stations(\?.*)?$"))
    for testid, code in MENU_PERMISSIONS.items():
        expect(page.get_by_test_id(testid)).to_have_count(1 if code == "station.read" else 0)
    for group in MENU_GROUPS:
        expect(page.get_by_test_id(group)).to_have_count(0)  # no entry of theirs is allowed
    expect(page.get_by_test_id("stations-table")).to_be_visible()
    expect(page.get_by_test_id("stations-create")).to_have_count(0)  # v-permission station.write
    expect(page.get_by_test_id("station-edit")).to_have_count(0)

    # Typing the address of a page the role does not allow lands on 无权访问.
    page.goto("/admin/operators")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("operators-table")).to_have_count(0)


def test_platform_admin_registers_an_interconnection_partner(page: Page) -> None:
    """互联互通 (issue 11): the platform registers a partner; its secrets never come back."""
    login(page, "admin", "admin123")
    open_menu(page, "menu-hlht-partners", "hlht")
    operator_id = unique("MA").ljust(9, "0")[:9]
    page.get_by_test_id("hlht-create").click()
    page.get_by_test_id("hlht-form-operator-id").fill(operator_id)
    page.get_by_test_id("hlht-form-name").fill("浏览器测试平台")
    page.get_by_test_id("hlht-form-base-url").fill("http://127.0.0.1:9/evcs/v1")
    secrets = {
        "operator_secret": "their-secret-e2e", "our_operator_secret": "our-secret-e2e",
        "in_data_secret": "a2b4c6d8e0f1a3b5", "in_data_iv": "f0e1d2c3b4a59687",
        "in_sig_secret": "sig-secret-e2e",
    }  # fmt: skip
    for name, value in secrets.items():
        page.get_by_test_id(f"hlht-form-{name}").fill(value)
    page.get_by_test_id("hlht-form-save").click()
    row = page.get_by_test_id("hlht-table").locator("tr.el-table__row", has_text=operator_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("齐全")
    listed = api(page, "GET", "/hlht/partners?page_size=100")["items"]
    mine = next(p for p in listed if p["operator_id"] == operator_id)
    for value in secrets.values():
        assert value not in str(mine)
