"""The drivers' H5 pages in a real Chromium at 390×844 (issue 13 #2): /h5/ sends a driver
without a token to the login page, whose 微信授权登录 goes through the WeChat sandbox's
web-authorization page (pick the demo driver) and back with ?code=&state=; the driver then
sees the nearby stations (by the browser's position, or the default city without it) and a
station's tariff timeline; a scan of a simulated pile's gun starts a charge that the live
order page shows and stops. Screenshots go to tmp/artifacts/h5/ (not committed)."""

from __future__ import annotations

import os
import re
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

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
        expect(pg.get_by_test_id("order-state")).to_have_text("充电中", timeout=45_000)
        expect(pg.get_by_test_id("order-energy")).to_have_text(re.compile(r"^\d+\.\d{3} kWh$"))
        pg.screenshot(path=str(ARTIFACTS / "order-charging.png"), full_page=True)

        pg.get_by_test_id("stop").click()
        pg.locator(".van-dialog__confirm").click()
        expect(pg.get_by_test_id("order-state")).to_have_text(
            re.compile("结束中|已结束|已结算"), timeout=45_000
        )
        expect(pg.get_by_test_id("order-state")).to_have_text(
            re.compile("已结束|已结算"), timeout=60_000
        )
        expect(pg.get_by_test_id("order-total")).to_contain_text("¥")
        pg.screenshot(path=str(ARTIFACTS / "order-done.png"), full_page=True)
        expect(pg.get_by_test_id("order-elapsed")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}$"))

        # my orders, newest first, each opening its order page
        order_path = "/h5/orders/" + pg.url.rsplit("/", 1)[1]
        pg.goto("/h5/me")
        pg.get_by_test_id("go-orders").click()
        expect(pg).to_have_url(re.compile(r"/h5/orders$"))
        newest = pg.get_by_test_id("order-row").first
        expect(newest).to_contain_text(re.compile("已结束|已结算"))
        expect(newest).to_contain_text(re.compile(r"\d+\.\d{3} kWh"))
        pg.screenshot(path=str(ARTIFACTS / "orders.png"), full_page=True)
        newest.click()
        expect(pg).to_have_url(re.compile(re.escape(order_path) + "$"))
        expect(pg.get_by_test_id("order-total")).to_contain_text("¥")
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"


# --- issue 13: my coupons, driver certification, a station deep link (390×844) ---

# a 1×1 PNG: the certification service knows an image by its magic bytes
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea7d6a4"
    "5c0000000049454e44ae426082"
)


def _camera_sized_png(side: int = 1300) -> bytes:
    """A noisy PNG over the API's 5 MiB image limit, as a phone camera's photo can be."""
    raw = b"".join(b"\x00" + os.urandom(side * 4) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")
    )  # fmt: skip


def _driver_api(pg: Page, method: str, path: str) -> Any:
    """The drivers' API as the logged-in page calls it (its stored token)."""
    script = """async ([method, path]) => {
      const t = localStorage.getItem('evop.h5.token')
      const r = await fetch('/api/mp/v1' + path, {method, headers: {Authorization: 'Bearer ' + t}})
      return {status: r.status, body: await r.json()}
    }"""
    out = pg.evaluate(script, [method, path])
    assert out["status"] < 300, out
    return out["body"]


def _admin(pg: Page, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """广东云创's console API (the demo driver is 广东云创's)."""
    login = pg.request.post(
        "/api/admin/v1/auth/login", data={"username": "yc_admin", "password": "yc123456"}
    )
    assert login.ok, login.text()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    resp = pg.request.fetch(f"/api/admin/v1{path}", method=method, headers=headers, data=body)
    assert resp.ok, resp.text()
    return resp.json()


def test_coupon_list_shows_each_coupons_local_end_second_and_what_it_applies_to(
    browser: Browser, sandbox_server: str
) -> None:
    context = _phone(browser, sandbox_server, located=True)
    pg = context.new_page()
    crashes = _crash_watch(pg)
    try:
        _login_as_demo_driver(pg)
        me = _driver_api(pg, "GET", "/me")
        driver_id = me["driver"]["id"]
        tag = time.time_ns() % 1_000_000
        name, service_name = f"H5满减券-{tag}", f"H5服务费券-{tag}"
        # ends at local midnight (exclusive): the driver reads the last second (case #10)
        template = _admin(pg, "POST", "/coupon-templates", {
            "name": name, "kind": "threshold", "amount_fen": 1000, "threshold_fen": 10000,
            "valid_until": "2030-11-13T16:00:00+00:00",
        })  # fmt: skip
        service = _admin(pg, "POST", "/coupon-templates", {
            "name": service_name, "kind": "service_only", "amount_fen": 300, "validity_days": 7,
        })  # fmt: skip
        for t in (template, service):
            _admin(pg, "POST", f"/members/{driver_id}/coupons",
                   {"template_id": t["id"], "reason": "H5 e2e"})  # fmt: skip

        pg.get_by_test_id("go-me").click()
        pg.get_by_test_id("go-coupons").click()
        expect(pg).to_have_url(re.compile(r"/h5/coupons"))
        available = pg.get_by_test_id("coupons-available")
        first = available.get_by_test_id("coupon").filter(has_text=name)
        expect(first).to_be_visible()
        expect(first).to_contain_text("满减")
        expect(first.get_by_test_id("coupon-expiry")).to_have_text("有效期至 2030-11-13 23:59:59")
        expect(first.get_by_test_id("coupon-applies")).to_have_text("适用：电费和服务费")
        expect(first.get_by_test_id("coupon-amount")).to_have_text("¥10.00")
        expect(first).to_contain_text("满100元可用")
        only_service = available.get_by_test_id("coupon").filter(has_text=service_name)
        expect(only_service.get_by_test_id("coupon-applies")).to_have_text("适用：服务费")
        expect(only_service.get_by_test_id("coupon-expiry")).to_have_text(
            re.compile(r"^有效期至 \d{4}-\d{2}-\d{2} 23:59:59$")
        )
        pg.screenshot(path=str(ARTIFACTS / "coupons.png"), full_page=True)

        pg.get_by_role("tab", name="已过期").click()
        expect(pg).to_have_url(re.compile(r"state=expired"))
        expired = pg.get_by_test_id("coupons-expired")
        expect(expired.get_by_test_id("coupons-empty")).to_be_visible()  # loaded, none expired
        expect(expired.get_by_test_id("coupon").filter(has_text=name)).to_have_count(0)
        pg.get_by_role("tab", name="已使用").click()
        used = pg.get_by_test_id("coupons-used")
        expect(used.locator(".van-list__finished-text")).to_be_visible()
        expect(used.get_by_test_id("coupon").filter(has_text=name)).to_have_count(0)
        expect(used.get_by_test_id("coupon").filter(has_text=service_name)).to_have_count(0)
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"


def _upload_certification(pg: Page, vehicle_photo: bytes = PNG_1PX) -> None:
    form = pg.get_by_test_id("cert-form")
    expect(form).to_be_visible()
    pg.get_by_text("出租车", exact=True).click()
    for role in ("id_card", "driving_licence", "vehicle_photo"):
        image = vehicle_photo if role == "vehicle_photo" else PNG_1PX
        pg.get_by_test_id(f"cert-{role}").locator("input[type=file]").set_input_files(
            {"name": f"{role}.png", "mimeType": "image/png", "buffer": image}
        )
        expect(pg.get_by_test_id(f"cert-{role}").locator(".van-uploader__preview")).to_have_count(1)
    pg.get_by_test_id("cert-submit").click()


def test_certification_upload_then_its_rejection_reason_then_approval(
    browser: Browser, sandbox_server: str
) -> None:
    context = _phone(browser, sandbox_server, located=True)
    pg = context.new_page()
    crashes = _crash_watch(pg)
    try:
        _login_as_demo_driver(pg)
        pg.get_by_test_id("go-me").click()
        pg.get_by_test_id("go-certification").click()
        expect(pg).to_have_url(re.compile(r"/h5/certification$"))

        # nothing chosen: said in Chinese, nothing sent
        expect(pg.get_by_test_id("cert-form")).to_be_visible()
        pg.get_by_test_id("cert-submit").click()
        expect(pg.locator(".van-toast")).to_contain_text("请上传身份证、驾驶证、车辆照片")

        _upload_certification(pg)
        expect(pg.get_by_test_id("cert-state")).to_have_text("审核中")
        expect(pg.get_by_test_id("cert-status")).to_contain_text("出租车司机")
        expect(pg.get_by_test_id("cert-form")).to_have_count(0)  # one pending application at a time
        pg.screenshot(path=str(ARTIFACTS / "certification-pending.png"), full_page=True)
        application = _driver_api(pg, "GET", "/certifications/current")["application"]
        assert application["kind"] == "taxi" and len(application["files"]) == 3

        _admin(pg, "POST", f"/certifications/{application['id']}/reject",
               {"reason": "驾驶证照片不清晰"})  # fmt: skip
        pg.reload()
        expect(pg.get_by_test_id("cert-state")).to_have_text("已驳回")
        expect(pg.get_by_test_id("cert-reject-reason")).to_contain_text("驾驶证照片不清晰")
        pg.screenshot(path=str(ARTIFACTS / "certification-rejected.png"), full_page=True)

        # a rejected driver submits again, the vehicle from the camera: over the API's limit
        # as it is, shrunk to a JPEG in the page before upload
        big = _camera_sized_png()
        assert len(big) > 5 * 1024 * 1024
        _upload_certification(pg, vehicle_photo=big)
        expect(pg.get_by_test_id("cert-state")).to_have_text("审核中", timeout=45_000)
        again = _driver_api(pg, "GET", "/certifications/current")["application"]
        assert again["id"] != application["id"]
        vehicle = next(f for f in again["files"] if f["role"] == "vehicle_photo")
        assert vehicle["content_type"] == "image/jpeg" and vehicle["size_bytes"] < len(big)
        _admin(pg, "POST", f"/certifications/{again['id']}/approve")
        pg.reload()
        expect(pg.get_by_test_id("cert-state")).to_have_text("已通过")
        expect(pg.get_by_test_id("cert-reject-reason")).to_have_count(0)
        pg.screenshot(path=str(ARTIFACTS / "certification-approved.png"), full_page=True)
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"


def test_a_station_deep_link_opens_the_station_page_after_login(
    browser: Browser, sandbox_server: str
) -> None:
    first = _phone(browser, sandbox_server, located=True)
    pg = first.new_page()
    try:
        _login_as_demo_driver(pg)
        pg.get_by_test_id("station").filter(has_text="南山科技园站").first.click()
        expect(pg).to_have_url(re.compile(r"/h5/stations/\d+$"))
        link = "/h5/stations/" + pg.url.rsplit("/", 1)[1]
    finally:
        first.close()

    context = _phone(browser, sandbox_server, located=True)  # as from the menu: no token yet
    pg = context.new_page()
    crashes = _crash_watch(pg)
    try:
        pg.goto(link)
        expect(pg).to_have_url(re.compile(r"/h5/login\?redirect="))
        pg.get_by_test_id("oa-login").click()
        pg.locator('button[data-user="demo-openid-0001"]').click()
        expect(pg).to_have_url(re.compile(re.escape(link) + "$"))
        expect(pg.get_by_test_id("station-name")).to_contain_text("南山科技园")
        pg.goto(link)  # and straight there once logged in
        expect(pg.get_by_test_id("station-name")).to_contain_text("南山科技园")
        pg.screenshot(path=str(ARTIFACTS / "station-deep-link.png"), full_page=True)
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"
