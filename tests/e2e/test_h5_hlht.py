"""Our driver on a partner platform's pile (互联互通, T/CEC 102) in the H5 pages, in a real
Chromium at 390×844: the demo driver logs in through the WeChat sandbox, types the demo
partner's ``hlht://`` code in the scan page, sees the partner's confirmation card, starts,
watches the energy rise on the partner live page (the partner sandbox pushes its status
every 10 s; the page polls our API), stops and sees the partner's settled bill; my orders
mark the order 互联 · 演示互联平台 and open it again; a partner station from the nearby list
opens its detail. Screenshots go to tmp/artifacts/h5/ (not committed)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Geolocation, Page, expect

from tests.e2e.test_h5_pages import (
    ARTIFACTS,
    H5_INDEX,
    _crash_watch,
    _login_as_demo_driver,
    _phone,
)
from tests.support.servers import live_platform, platform_env

pytestmark = pytest.mark.e2e

PARTNER_CODE = "hlht://DEMO9BA01-1.MA01DEMO9/demo"
PARTNER_NAME = "演示互联平台"
BAOAN = Geolocation(latitude=22.5540, longitude=113.8838)  # the sandbox's 宝安中心站
SYNC_WAIT_S = 30  # the server syncs the partner sandbox once it listens


@pytest.fixture(scope="module")
def hlht_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Its own platform process with the WeChat sandbox (the H5 login) and the partner
    sandbox at /sandbox/hlht/ (演示互联平台, MA01DEMO9), synced once it listens."""
    if not H5_INDEX.is_file():
        pytest.fail("the H5 pages are not built: run `make h5` (make test does it)")
    env = platform_env(
        tmp_path_factory.mktemp("e2e-h5-hlht") / "h5.sqlite3",
        EVOP_WECHAT_SANDBOX="1",
        EVOP_HLHT_SANDBOX="1",
    )
    with live_platform(env) as base:
        yield base


def _kwh(pg: Page) -> float:
    text = pg.get_by_test_id("hlht-energy").inner_text()
    found = re.fullmatch(r"(\d+\.\d{3}) kWh", text.strip())
    assert found, text
    return float(found.group(1))


def _wait_for_energy_above(pg: Page, floor: float, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        now = _kwh(pg)
        if now > floor:
            return now
        assert time.monotonic() < deadline, f"the energy stayed at {now} kWh (above {floor} wanted)"
        time.sleep(0.5)


def _scan_partner_code(pg: Page) -> None:
    """Types the partner's code until its connector is synced and a start can go ahead."""
    start = pg.get_by_test_id("start-partner")
    deadline = time.monotonic() + SYNC_WAIT_S
    pg.get_by_test_id("scan-pile").locator("input").fill(PARTNER_CODE)
    while True:
        pg.get_by_test_id("scan-submit").click()
        expect(pg.get_by_test_id("scan-partner")).to_be_visible()
        if start.is_enabled() or time.monotonic() > deadline:
            break
        time.sleep(1)


def test_a_partner_code_starts_a_charge_the_live_page_follows_to_the_partners_bill(
    browser: Browser, hlht_server: str
) -> None:
    context = _phone(browser, hlht_server, located=True)
    pg = context.new_page()
    crashes = _crash_watch(pg)
    try:
        _login_as_demo_driver(pg)
        os.makedirs(ARTIFACTS, exist_ok=True)
        pg.get_by_test_id("go-scan").click()
        expect(pg).to_have_url(re.compile(r"/h5/scan$"))
        _scan_partner_code(pg)

        card = pg.get_by_test_id("scan-partner")
        expect(card).not_to_contain_text("小程序")
        expect(pg.get_by_test_id("scan-partner-name")).to_contain_text(PARTNER_NAME)
        expect(pg.get_by_test_id("scan-partner-connector")).to_contain_text("DEMO9BA01-1")
        price = pg.get_by_test_id("scan-partner-price")
        expect(price).to_contain_text(re.compile(r"\d+\.\d+ 元/度"))
        expect(card).to_contain_text("演示互联·深圳宝安中心站")
        pg.screenshot(path=str(ARTIFACTS / "hlht-scan.png"), full_page=True)
        expect(pg.get_by_test_id("start-partner")).to_be_enabled()
        pg.get_by_test_id("start-partner").click()

        expect(pg).to_have_url(re.compile(r"/h5/hlht/orders/[^/]+$"))
        order_path = "/h5/hlht/orders/" + pg.url.rsplit("/", 1)[1]
        expect(pg.get_by_test_id("hlht-where")).to_contain_text(f"互联 · {PARTNER_NAME}")
        expect(pg.get_by_test_id("hlht-state")).to_have_text("充电中", timeout=45_000)
        expect(pg.get_by_test_id("hlht-amount-estimated")).to_have_text("预估")
        # the sandbox's status pushes every 10 s: the energy rises, twice
        first = _wait_for_energy_above(pg, 0.0, 30)
        expect(pg.get_by_test_id("hlht-amount")).to_contain_text(re.compile(r"¥\d+\.\d{2}"))
        assert pg.get_by_test_id("hlht-amount").inner_text().find("¥0.00") == -1
        second = _wait_for_energy_above(pg, first, 30)
        assert second > first
        expect(pg.get_by_test_id("hlht-elapsed")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}$"))
        pg.screenshot(path=str(ARTIFACTS / "hlht-charging.png"), full_page=True)

        pg.get_by_test_id("hlht-stop").click()
        pg.locator(".van-dialog__confirm").click()
        expect(pg.get_by_test_id("hlht-state")).to_have_text(
            re.compile("结束中|已结束|已结算"), timeout=45_000
        )
        expect(pg.get_by_test_id("hlht-state")).to_have_text("已结算", timeout=60_000)
        expect(pg.get_by_test_id("hlht-stop")).to_have_count(0)
        expect(pg.get_by_test_id("hlht-total")).to_contain_text(re.compile(r"¥\d+\.\d{2}"))
        # the partner's own bill came: nothing is an estimate any more
        expect(pg.get_by_test_id("hlht-bill-estimated")).to_have_count(0)
        expect(pg.get_by_test_id("hlht-amount-estimated")).to_have_count(0)
        assert _kwh(pg) >= second
        pg.screenshot(path=str(ARTIFACTS / "hlht-settled.png"), full_page=True)

        # my orders: the partner order marked, opening the partner page again
        pg.goto("/h5/me")
        pg.get_by_test_id("go-orders").click()
        expect(pg).to_have_url(re.compile(r"/h5/orders$"))
        newest = pg.get_by_test_id("order-row").first
        expect(newest.get_by_test_id("order-partner")).to_have_text(f"互联 · {PARTNER_NAME}")
        expect(newest).to_contain_text("已结算")
        expect(newest).to_contain_text(re.compile(r"¥\d+\.\d{2}"))
        pg.screenshot(path=str(ARTIFACTS / "hlht-orders.png"), full_page=True)
        newest.click()
        expect(pg).to_have_url(re.compile(re.escape(order_path) + "$"))
        expect(pg.get_by_test_id("hlht-total")).to_contain_text("¥")
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"


def test_a_partner_station_in_the_nearby_list_opens_its_detail(
    browser: Browser, hlht_server: str
) -> None:
    context = _phone(browser, hlht_server, located=True)
    context.set_geolocation(BAOAN)
    pg = context.new_page()
    crashes = _crash_watch(pg)
    try:
        _login_as_demo_driver(pg)
        station = pg.get_by_test_id("station").filter(has_text="演示互联·深圳宝安中心站")
        deadline = time.monotonic() + SYNC_WAIT_S  # synced once the server listens
        while station.count() == 0 and time.monotonic() < deadline:
            time.sleep(1)
            pg.reload()
            pg.get_by_test_id("station").first.wait_for()
        expect(station.first).to_be_visible()
        expect(station.first.get_by_test_id("partner-mark")).to_have_text(f"互联 · {PARTNER_NAME}")
        pg.screenshot(path=str(ARTIFACTS / "hlht-nearby.png"), full_page=True)
        station.first.click()
        expect(pg).to_have_url(re.compile(r"/h5/stations/\d+\?partner=1$"))
        expect(pg.get_by_test_id("station-name")).to_contain_text("演示互联·深圳宝安中心站")
        expect(pg.get_by_test_id("segment").first).to_be_visible()
        expect(pg.locator(".station")).to_contain_text("DEMO9BA01-1")
        pg.screenshot(path=str(ARTIFACTS / "hlht-station.png"), full_page=True)
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"
