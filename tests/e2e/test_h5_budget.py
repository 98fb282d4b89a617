"""The H5 pages' budget (issue 13, done means): a driver on a phone in a car park opens the
page from an official-account menu over a slow link, so the entry (what index.html loads
before the first page shows: its module script, module preloads and stylesheets) stays
under 200 KiB gzipped, and the first page is interactive in under 2 s on loopback with
Chromium's CPU slowed 4× (the class of phone drivers carry)."""

from __future__ import annotations

import gzip
import re
import time

import pytest
from playwright.sync_api import Browser, expect

from tests.support.servers import ROOT, TIMEOUT_MS

pytestmark = pytest.mark.e2e

DIST = ROOT / "miniprogram_api" / "h5" / "dist"
ENTRY_BUDGET_KIB = 200
INTERACTIVE_BUDGET_S = 2.0
CPU_SLOWDOWN = 4
_ASSET = re.compile(r'<(?:script[^>]*\bsrc|link[^>]*\bhref)="/h5/([^"]+\.(?:js|css))"')


def entry_assets(index_html: str) -> list[str]:
    """The files (relative to dist/) index.html loads before any page's own chunk."""
    return _ASSET.findall(index_html)


def test_entry_assets_are_read_from_script_preload_and_stylesheet_tags() -> None:
    html = (
        '<script type="module" crossorigin src="/h5/assets/index-a.js"></script>'
        '<link rel="modulepreload" crossorigin href="/h5/assets/vant-b.js">'
        '<link rel="stylesheet" crossorigin href="/h5/assets/index-c.css">'
        '<link rel="icon" href="/h5/favicon.ico">'
    )
    assert entry_assets(html) == ["assets/index-a.js", "assets/vant-b.js", "assets/index-c.css"]


def test_h5_entry_bundle_is_under_200_kib_gzipped() -> None:
    index = DIST / "index.html"
    if not index.is_file():
        pytest.fail("the H5 pages are not built: run `make h5` (make test does it)")
    assets = entry_assets(index.read_text(encoding="utf-8"))
    assert any(a.endswith(".js") for a in assets), assets
    sizes = {a: len(gzip.compress((DIST / a).read_bytes(), compresslevel=6)) for a in assets}
    total_kib = sum(sizes.values()) / 1024
    print(f"H5 entry gzipped: {total_kib:.1f} KiB (budget {ENTRY_BUDGET_KIB} KiB) {sizes}")
    assert total_kib < ENTRY_BUDGET_KIB, sizes


def test_h5_first_page_is_interactive_within_2_s_at_4x_cpu_slowdown(
    browser: Browser, live_server: str
) -> None:
    """A driver without a token lands on the login page: measured from the navigation to
    the 微信授权登录 button being visible and enabled, each load in a fresh context (no
    cache); the best of three (the machine runs other tests beside this one)."""
    timings: list[float] = []
    for _ in range(3):
        context = browser.new_context(
            base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844},
            is_mobile=True, has_touch=True,
        )  # fmt: skip
        context.set_default_timeout(TIMEOUT_MS)
        try:
            pg = context.new_page()
            cdp = context.new_cdp_session(pg)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
            began = time.perf_counter()
            pg.goto("/h5/", wait_until="commit")
            button = pg.get_by_test_id("oa-login")
            expect(button).to_be_enabled()
            timings.append(time.perf_counter() - began)
        finally:
            context.close()
    best = min(timings)
    print(f"H5 first page interactive at {CPU_SLOWDOWN}x CPU: best {best:.2f} s "
          f"(budget {INTERACTIVE_BUDGET_S} s), runs {[round(t, 2) for t in timings]}")  # fmt: skip
    assert best < INTERACTIVE_BUDGET_S, timings
