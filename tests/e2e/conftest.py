"""A real platform process for the browser tests: migrated, seeded, serving the built SPA."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DIST_INDEX,
    TIMEOUT_MS,
    live_platform,
    platform_env,
)

# expect() waits 5 s by default, apart from the pages' own timeout: one wait for both
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def live_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The live server's environment (its database), for tests that add data to it."""
    return platform_env(tmp_path_factory.mktemp("e2e") / "e2e.sqlite3")


@pytest.fixture(scope="session")
def live_server(live_env: dict[str, str]) -> Iterator[str]:
    if not DIST_INDEX.is_file():
        pytest.fail("the admin SPA is not built: run `make spa` (make test does it)")
    with live_platform(live_env) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install chromium (never let playwright download one)"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A console tab at 1440×900 in zh-CN and Shanghai time; an uncaught page error fails."""
    context = browser.new_context(
        base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai",
        viewport={"width": 1440, "height": 900},
    )  # fmt: skip
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    crashes: list[str] = []
    pg.on("pageerror", lambda err: crashes.append(str(err)))
    try:
        yield pg
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"
