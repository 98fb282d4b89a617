"""The H5 pages' first-page budget (issue 13): a driver without a token opens /h5/ and the
微信授权登录 button is visible and enabled in under 2 s on loopback with Chromium's CPU slowed
4× (the class of phone drivers carry). Beside it, the same load at 1× CPU in the same run
(the peer: what the machine itself costs). Each load in a fresh context (no cache); best and
median of ``--runs``. Printed, never asserted; not part of ``make test`` (the entry's size
budget, which does not depend on the machine, is a test: tests/e2e/test_h5_budget.py).

Needs the built pages (``make h5 spa``) and Debian's Chromium. Run from the project root::

    .venv/bin/python bench/bench_h5.py --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from playwright.sync_api import Browser, expect, sync_playwright

from tests.support.servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    live_platform,
    platform_env,
)

INTERACTIVE_BUDGET_S = 2.0
CPU_SLOWDOWN = 4


def first_page_interactive_s(browser: Browser, base: str, slowdown: int) -> float:
    """Seconds from the navigation to the login button being enabled, in a fresh context."""
    context = browser.new_context(
        base_url=base, locale="zh-CN", viewport={"width": 390, "height": 844},
        is_mobile=True, has_touch=True,
    )  # fmt: skip
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        if slowdown > 1:
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
        began = time.perf_counter()
        page.goto("/h5/", wait_until="commit")
        expect(page.get_by_test_id("oa-login")).to_be_enabled()
        return time.perf_counter() - began
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="loads per CPU rate (default 5)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_platform(platform_env(Path(tmp) / "bench_h5.sqlite3")) as base,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            first_page_interactive_s(browser, base, 1)  # the server's first answers warm up
            rows = []
            for slowdown in (1, CPU_SLOWDOWN):
                timings = [
                    first_page_interactive_s(browser, base, slowdown) for _ in range(args.runs)
                ]
                rows.append((slowdown, min(timings), statistics.median(timings)))
        finally:
            browser.close()
    print(f"H5 first page interactive (login button enabled), {args.runs} loads each")
    print(f"{'CPU':>5} {'best':>8} {'median':>8}   budget")
    for slowdown, best, median in rows:
        budget = f"< {INTERACTIVE_BUDGET_S:.1f} s" if slowdown == CPU_SLOWDOWN else "(peer)"
        print(f"{slowdown:>4}× {best:>7.2f}s {median:>7.2f}s   {budget}")


if __name__ == "__main__":
    main()
