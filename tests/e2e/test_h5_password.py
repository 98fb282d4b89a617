"""我的 → 充电密码 in a real Chromium at 390×844 (issue 13): the demo driver, who has only a
card, gets a pile password from 我的; the page shows the 8 digits once with a copy button and
the shown-once warning; the digits are the ones a pile would be matched against (the
stored digest); coming back shows 已设置 and never the digits; a reset asks first and gives
other digits, the old ones disabled. Screenshots go to tmp/artifacts/h5/ (not committed)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from app.drivers import cards
from app.extensions import db
from app.tenancy.models import Driver, DriverCard
from tests.support.servers import ROOT, TIMEOUT_MS, live_platform, platform_env
from wsgi import compose

pytestmark = pytest.mark.e2e

H5_INDEX = ROOT / "miniprogram_api" / "h5" / "dist" / "index.html"
ARTIFACTS = ROOT / "tmp" / "artifacts" / "h5"
PHONE = {"width": 390, "height": 844}
DEMO_OPENID = "demo-openid-0001"


@pytest.fixture(scope="module")
def password_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A platform process with the WeChat sandbox (the H5 login needs it), its own database."""
    if not H5_INDEX.is_file():
        pytest.fail("the H5 pages are not built: run `make h5` (make test does it)")
    db_path = tmp_path_factory.mktemp("e2e-h5-password") / "password.sqlite3"
    env = platform_env(db_path, EVOP_WECHAT_SANDBOX="1")
    with live_platform(env) as base:
        yield base, db_path


def _active_password_tags(db_path: Path) -> list[str]:
    app = compose({"DATABASE_URL": f"sqlite:///{db_path}", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        try:
            driver = db.session.scalar(select(Driver).where(Driver.openid == DEMO_OPENID))
            assert driver is not None
            return list(
                db.session.scalars(
                    select(DriverCard.id_tag).where(
                        DriverCard.driver_id == driver.id,
                        DriverCard.kind == cards.KIND_PASSWORD,
                        DriverCard.is_active.is_(True),
                    )
                )
            )
        finally:
            db.session.remove()
            db.engine.dispose()


def _phone(browser: Browser, base: str) -> BrowserContext:
    context = browser.new_context(
        base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE,
        device_scale_factor=2, is_mobile=True, has_touch=True,
    )  # fmt: skip
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _shot(pg: Page, name: str) -> None:
    os.makedirs(ARTIFACTS, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_driver_gets_a_pile_password_shown_once_and_resets_it(
    browser: Browser, password_server: tuple[str, Path]
) -> None:
    base, db_path = password_server
    context = _phone(browser, base)
    pg = context.new_page()
    crashes: list[str] = []
    pg.on("pageerror", lambda err: crashes.append(str(err)))
    pg.goto("/h5/me")
    expect(pg).to_have_url(re.compile(r"/h5/login\?redirect="))
    pg.get_by_test_id("oa-login").click()
    expect(pg).to_have_url(re.compile(r"/sandbox/wechat/connect/oauth2/authorize"))
    pg.locator(f'button[data-user="{DEMO_OPENID}"]').click()
    expect(pg).to_have_url(re.compile(r"/h5/me$"))

    pg.get_by_test_id("go-password").click()
    expect(pg).to_have_url(re.compile(r"/h5/password$"))
    expect(pg.get_by_test_id("password-state")).to_contain_text("未设置")
    reset = pg.get_by_test_id("password-reset")
    expect(reset).to_have_text("获取充电密码")
    reset.click()
    digits = pg.get_by_test_id("password-digits")
    expect(digits).to_have_text(re.compile(r"^\d{8}$"))
    expect(pg.get_by_test_id("password-warning")).to_contain_text("无法再次查看")
    expect(pg.get_by_test_id("password-copy")).to_be_visible()
    expect(pg.get_by_test_id("password-state")).to_contain_text("已设置")
    _shot(pg, "password-shown")
    first = digits.inner_text()
    assert _active_password_tags(db_path) == [cards.password_tag(first)]  # what a pile matches

    pg.reload()  # shown once: coming back shows that it is set, not the digits
    expect(pg.get_by_test_id("password-state")).to_contain_text("已设置")
    expect(pg.get_by_test_id("password-issued")).to_be_visible()
    expect(pg.get_by_test_id("password-digits")).to_have_count(0)
    expect(pg.get_by_test_id("password-reset")).to_have_text("重置充电密码")

    pg.get_by_test_id("password-reset").click()
    pg.locator(".van-dialog__confirm").click()
    expect(digits).to_have_text(re.compile(r"^\d{8}$"))
    second = digits.inner_text()
    assert second != first
    assert _active_password_tags(db_path) == [cards.password_tag(second)]  # the old disabled
    assert not crashes, crashes
    context.close()
