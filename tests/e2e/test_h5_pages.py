"""The drivers' H5 pages in a real Chromium at 390×844 (issue 13 #2): /h5/ sends a driver
without a token to the login page, whose 微信授权登录 goes through the WeChat sandbox's
web-authorization page (pick the demo driver) and back with ?code=&state=; the driver then
sees the nearby stations (by the browser's position, or the default city without it) and a
station's tariff timeline; a scan of a simulated pile's gun starts a charge that the live
order page shows and stops. Screenshots go to tmp/artifacts/h5/ (not committed)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.servers import ROOT, TIMEOUT_MS, live_platform, platform_env

pytestmark = pytest.mark.e2e

H5_INDEX = ROOT / "miniprogram_api" / "h5" / "dist" / "index.html"
ARTIFACTS = ROOT / "tmp" / "artifacts" / "h5"
PHONE = {"width": 390, "height": 844}
NANSHAN = {"latitude": 22.531460, "longitude": 113.947830}  # the demo 南山科技园站


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Its own platform process: the shared live server runs without the WeChat sandbox,
    which the H5 login needs, and without the simulated piles the scan test charges at
    (make run starts it the same way)."""
    if not H5_INDEX.is_file():
        pytest.fail("the H5 pages are not built: run `make h5` (make test does it)")
    env = platform_env(
        tmp_path_factory.mktemp("e2e-h5") / "h5.sqlite3",
        EVOP_WECHAT_SANDBOX="1",
        EVOP_DEMO_PILES="1",
    )
    with live_platform(env) as base:
        yield base


def _phone(browser: Browser, base: str, *, located: bool) -> BrowserContext:
    context = browser.new_context(
        base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE,
        device_scale_factor=2, is_mobile=True, has_touch=True,
        permissions=["geolocation"] if located else [],
        geolocation=NANSHAN if located else None,
    )  # fmt: skip
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _crash_watch(pg: Page) -> list[str]:
    crashes: list[str] = []
    pg.on("pageerror", lambda err: crashes.append(str(err)))
    return crashes


def _login_as_demo_driver(pg: Page) -> None:
    pg.goto("/h5/")
    expect(pg).to_have_url(re.compile(r"/h5/login\?redirect="))
    os.makedirs(ARTIFACTS, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "login.png"))
    pg.get_by_test_id("oa-login").click()
    expect(pg).to_have_url(re.compile(r"/sandbox/wechat/connect/oauth2/authorize"))
    pg.screenshot(path=str(ARTIFACTS / "sandbox-authorize.png"))
    pg.locator('button[data-user="demo-openid-0001"]').click()
    expect(pg).to_have_url(re.compile(r"/h5/stations$"))


def test_demo_driver_logs_in_and_sees_nearby_stations_and_a_tariff(
    browser: Browser, sandbox_server: str
) -> None:
    context = _phone(browser, sandbox_server, located=True)
    pg = context.new_page()
    crashes = _crash_watch(pg)
    try:
        _login_as_demo_driver(pg)
        token = pg.evaluate("localStorage.getItem('evop.h5.token')")
        assert token, "the driver's token is stored"
        stations = pg.get_by_test_id("station")
        expect(stations.first).to_be_visible()
        first = stations.first.inner_text()
        assert "云创·深圳南山" in first and re.search(r"\d+ m", first), first
        assert re.search(r"\d+\.\d+ 元/度", first), first
        expect(pg.get_by_test_id("location-fallback")).to_have_count(0)
        pg.screenshot(path=str(ARTIFACTS / "stations.png"), full_page=True)

        stations.filter(has_text="南山科技园站").first.click()
        expect(pg).to_have_url(re.compile(r"/h5/stations/\d+$"))
        expect(pg.get_by_test_id("station-name")).to_contain_text("南山科技园")
        expect(pg.get_by_test_id("segment").first).to_be_visible()
        assert pg.get_by_test_id("segment").count() >= 2  # a time-of-use timeline
        pg.screenshot(path=str(ARTIFACTS / "station.png"), full_page=True)

        # a deep link survives a reload (history fallback) with the stored token
        pg.reload()
        expect(pg.get_by_test_id("station-name")).to_contain_text("南山科技园")
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"


def test_without_location_the_default_city_is_listed(browser: Browser, sandbox_server: str) -> None:
    context = _phone(browser, sandbox_server, located=False)
    pg = context.new_page()
    crashes = _crash_watch(pg)
    try:
        _login_as_demo_driver(pg)
        expect(pg.get_by_test_id("location-fallback")).to_be_visible()
        expect(pg.get_by_test_id("station").first).to_be_visible()
        pg.screenshot(path=str(ARTIFACTS / "stations-no-location.png"), full_page=True)
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"


def test_a_revoked_token_goes_back_to_login(browser: Browser, sandbox_server: str) -> None:
    context = _phone(browser, sandbox_server, located=True)
    pg = context.new_page()
    try:
        pg.goto("/h5/login")
        pg.evaluate("localStorage.setItem('evop.h5.token', 'not-a-token')")
        pg.goto("/h5/stations")
        expect(pg).to_have_url(re.compile(r"/h5/login\?redirect=(%2F|/)stations$"))
        assert pg.evaluate("localStorage.getItem('evop.h5.token')") is None
    finally:
        context.close()


def test_scan_start_watch_and_stop_a_charge(browser: Browser, sandbox_server: str) -> None:
    context = _phone(browser, sandbox_server, located=True)
    pg = context.new_page()
    crashes = _crash_watch(pg)
    try:
        _login_as_demo_driver(pg)
        pg.get_by_test_id("go-scan").click()
        expect(pg).to_have_url(re.compile(r"/h5/scan$"))
        pg.get_by_test_id("scan-pile").locator("input").fill("SIM-OCPP-01")
        pg.get_by_test_id("scan-gun").locator("input").fill("1")
        start = pg.get_by_test_id("start")
        deadline = time.monotonic() + 20  # the simulated piles connect after the server starts
        while True:
            pg.get_by_test_id("scan-submit").click()
            expect(pg.get_by_test_id("scan-result")).to_be_visible()
            if start.is_enabled() or time.monotonic() > deadline:
                break
            time.sleep(1)
        expect(pg.get_by_test_id("scan-result")).to_contain_text("¥")
        pg.screenshot(path=str(ARTIFACTS / "scan.png"), full_page=True)
        expect(start).to_be_enabled()
        start.click()
        expect(pg).to_have_url(re.compile(r"/h5/orders/[^/]+$"))
        expect(pg.get_by_test_id("order-state")).to_have_text("充电中", timeout=20_000)
        expect(pg.get_by_test_id("order-energy")).to_have_text(re.compile(r"^\d+\.\d{3} kWh$"))
        pg.screenshot(path=str(ARTIFACTS / "order-charging.png"), full_page=True)

        pg.get_by_test_id("stop").click()
        pg.locator(".van-dialog__confirm").click()
        expect(pg.get_by_test_id("order-state")).to_have_text(
            re.compile("结束中|已结束|已结算"), timeout=20_000
        )
        expect(pg.get_by_test_id("order-state")).to_have_text(
            re.compile("已结束|已结算"), timeout=30_000
        )
        expect(pg.get_by_test_id("order-total")).to_contain_text("¥")
        pg.screenshot(path=str(ARTIFACTS / "order-done.png"), full_page=True)
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"
