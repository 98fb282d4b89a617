"""The drivers' H5 wallet in a real Chromium at 390×844 (issue 13 #2): a demo driver logs in
through the WeChat sandbox, tops up ¥50 through the sandbox's payment page (确认支付 sends the
signed, encrypted notify and comes back to /h5/wallet), sees the balance and the ledger line,
asks for a refund and sees it pending; the operator approves it in the console, WeChat (the
sandbox's merchant page) ends it, and the driver sees it refunded — or failed, with WeChat's
reason in Chinese and the money back in the wallet. Outside WeChat and without the sandbox
the page says payment needs WeChat. Screenshots go to tmp/artifacts/h5/ (not committed)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.test_admin_console import login as console_login
from tests.support.servers import DIST_INDEX, ROOT, TIMEOUT_MS, live_platform, platform_env

pytestmark = pytest.mark.e2e

H5_INDEX = ROOT / "miniprogram_api" / "h5" / "dist" / "index.html"
ARTIFACTS = ROOT / "tmp" / "artifacts" / "h5"
PHONE = {"width": 390, "height": 844}
DEMO_DRIVER_PHONE = "13800000000"  # demo-openid-0001, 云创's 演示车主 (app/demo.py)


@pytest.fixture(scope="module")
def wallet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A platform process with the WeChat sandbox (as `make run`), its own database: the
    driver's balance here is only what this module does to it. 云创's top-up offer (top up
    50, get 3 coupons worth 25) is the demo's own (app/demo_history.py)."""
    if not H5_INDEX.is_file():
        pytest.fail("the H5 pages are not built: run `make h5` (make test does it)")
    db_path = tmp_path_factory.mktemp("e2e-h5-wallet") / "wallet.sqlite3"
    env = platform_env(db_path, EVOP_WECHAT_SANDBOX="1")
    with live_platform(env) as base:
        yield base


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


def _login_to_wallet(pg: Page) -> None:
    pg.goto("/h5/wallet")
    expect(pg).to_have_url(re.compile(r"/h5/login\?redirect=(%2F|/)wallet$"))
    pg.get_by_test_id("oa-login").click()
    expect(pg).to_have_url(re.compile(r"/sandbox/wechat/connect/oauth2/authorize"))
    pg.locator('button[data-user="demo-openid-0001"]').click()
    expect(pg).to_have_url(re.compile(r"/h5/wallet$"))


def _yuan(text: str) -> int:
    """ "¥150.00" → 15000 fen."""
    m = re.search(r"(-?)¥(\d+)\.(\d{2})", text)
    assert m, text
    return (-1 if m[1] else 1) * (int(m[2]) * 100 + int(m[3]))


def _fen(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def _top_up_50(pg: Page, *, shots: bool = False) -> None:
    """¥50 through the sandbox cashier (确认支付), back on /h5/wallet."""
    pg.get_by_test_id("topup-preset").filter(has_text="¥50.00").click()
    submit = pg.get_by_test_id("topup-submit")
    expect(submit).to_have_text("微信支付 ¥50.00")
    submit.click()
    expect(pg).to_have_url(re.compile(r"/sandbox/wechat/pay\?prepay_id="))
    expect(pg.locator(".amount")).to_have_text("¥50.00")
    if shots:
        _shot(pg, "sandbox-pay")
    pg.get_by_role("button", name="确认支付").click()
    # back on the wallet, the address forgets ?topup= once the notify credited it
    expect(pg).to_have_url(re.compile(r"/h5/wallet$"))


def _request_refund(pg: Page, yuan: str, reason: str) -> Locator:
    pg.get_by_test_id("go-refunds").click()
    expect(pg).to_have_url(re.compile(r"/h5/wallet/refunds$"))
    pg.get_by_test_id("refund-amount").locator("input").fill(yuan)
    pg.get_by_test_id("refund-reason").locator("textarea").fill(reason)
    pg.get_by_test_id("refund-submit").click()
    pg.locator(".van-dialog__confirm").click()
    refund = pg.get_by_test_id("refund").first
    expect(refund.get_by_test_id("refund-state")).to_have_text("待审核")
    expect(refund).to_contain_text(f"¥{yuan}.00")
    expect(refund).to_contain_text(reason)
    return refund


def _approve_in_console(context: BrowserContext, amount: str) -> None:
    """云创's admin approves the driver's pending refund of ``amount`` (same server)."""
    if not DIST_INDEX.is_file():
        pytest.fail("the admin SPA is not built: run `make spa` (make test does it)")
    console = context.new_page()
    console.set_viewport_size({"width": 1440, "height": 900})
    console_login(console, "yc_admin", "yc123456")
    console.goto("/admin/refunds")
    console.get_by_test_id("refunds-phone").fill(DEMO_DRIVER_PHONE)
    console.get_by_test_id("refunds-phone").press("Enter")
    table = console.get_by_test_id("refunds-table")
    expect(table.locator("tbody tr").first).to_be_visible()
    table.locator("tbody tr", has_text=amount).get_by_test_id("refund-open").click()
    expect(console.get_by_test_id("refund-amount")).to_have_text(amount)
    console.get_by_test_id("refund-approve").click()
    console.locator(".el-message-box .el-message-box__btns .el-button--primary").click()
    expect(console.get_by_test_id("refund-drawer-state")).to_have_text("退款中")
    console.close()


def _wechat_ends_refund(context: BrowserContext, amount: str, ending: str) -> None:
    """The sandbox's merchant platform ends the PROCESSING refund: the signed notify comes."""
    wechat = context.new_page()
    wechat.goto("/sandbox/wechat/merchant/refunds")
    card = wechat.locator("[data-refund]", has_text=amount).filter(
        has=wechat.locator('[data-refund-status="PROCESSING"]')
    )
    expect(card).to_have_count(1)
    card.get_by_role("button", name=ending).click()
    expect(wechat.locator("main")).to_contain_text("已通知商户")
    wechat.close()


def test_top_up_50_through_the_sandbox_then_refund_it(browser: Browser, wallet_server: str) -> None:
    context = _phone(browser, wallet_server)
    pg = context.new_page()
    crashes: list[str] = []
    pg.on("pageerror", lambda err: crashes.append(str(err)))
    try:
        _login_to_wallet(pg)
        balance = pg.get_by_test_id("wallet-balance")
        expect(balance).to_have_text(re.compile(r"¥\d+\.\d{2}"))
        before = _yuan(balance.inner_text())
        expect(pg.get_by_test_id("pay-sandbox")).to_be_visible()
        expect(pg.get_by_test_id("pay-needs-wechat")).to_have_count(0)
        _shot(pg, "wallet")

        # the offer says what it grants (case #5 2019-10-28), and ¥50 reaches it
        offer = pg.get_by_test_id("topup-offer")
        expect(offer).to_have_count(1)
        expect(offer).to_contain_text("充满 ¥50.00：赠 3 张优惠券，共 ¥25.00")
        expect(pg.get_by_test_id("topup-grant")).to_have_count(0)
        pg.get_by_test_id("topup-preset").filter(has_text="¥50.00").click()
        expect(pg.get_by_test_id("topup-grant")).to_contain_text("赠 3 张优惠券，共 ¥25.00")
        _top_up_50(pg, shots=True)
        expect(balance).to_have_text(_fen(before + 5000))
        line = pg.get_by_test_id("wallet-entry").first
        expect(line).to_contain_text("微信充值")
        expect(line.get_by_test_id("wallet-entry-amount")).to_have_text("+¥50.00")
        expect(line).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
        _shot(pg, "wallet-topped-up")

        # a refund of the WeChat top-up (the demo's initial ¥100 credit is not refundable)
        refund = _request_refund(pg, "50", "不再使用")
        expect(pg.get_by_test_id("refundable")).to_contain_text("¥0.00")
        _shot(pg, "refund-pending")

        _approve_in_console(context, "50.00")
        # the driver's list reads the new state by itself (it polls while one is on its way)
        expect(refund.get_by_test_id("refund-state")).to_have_text("退款中", timeout=45_000)
        _wechat_ends_refund(context, "¥50.00", "退款成功")
        expect(refund.get_by_test_id("refund-state")).to_have_text("已退款", timeout=60_000)
        expect(refund.get_by_test_id("refund-note")).to_have_text("已原路退回微信 ¥50.00")
        _shot(pg, "refund-done")
        pg.goto("/h5/wallet")
        expect(balance).to_have_text(_fen(before))
        expect(pg.get_by_test_id("wallet-entry").first).to_contain_text("余额退款")
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"


def test_a_refund_wechat_fails_says_why_in_chinese_and_gives_the_money_back(
    browser: Browser, wallet_server: str
) -> None:
    context = _phone(browser, wallet_server)
    pg = context.new_page()
    crashes: list[str] = []
    pg.on("pageerror", lambda err: crashes.append(str(err)))
    try:
        _login_to_wallet(pg)
        balance = pg.get_by_test_id("wallet-balance")
        expect(balance).to_have_text(re.compile(r"¥\d+\.\d{2}"))
        before = _yuan(balance.inner_text())
        _top_up_50(pg)
        expect(balance).to_have_text(_fen(before + 5000))

        refund = _request_refund(pg, "30", "换车了")
        expect(pg.get_by_test_id("refundable")).to_contain_text("¥20.00")
        _approve_in_console(context, "30.00")
        expect(refund.get_by_test_id("refund-state")).to_have_text("退款中", timeout=45_000)
        _wechat_ends_refund(context, "¥30.00", "退款异常")
        expect(refund.get_by_test_id("refund-state")).to_have_text("退款失败", timeout=60_000)
        expect(refund.get_by_test_id("refund-note")).to_have_text(
            "失败原因：退款异常（如用户银行卡已注销），请联系客服"
        )
        _shot(pg, "refund-failed")

        # the ¥30 is back in the wallet, in its own ledger line
        pg.goto("/h5/wallet")
        expect(balance).to_have_text(_fen(before + 5000))
        back = pg.get_by_test_id("wallet-entry").first
        expect(back).to_contain_text("退款失败退回")
        expect(back.get_by_test_id("wallet-entry-amount")).to_have_text("+¥30.00")
    finally:
        context.close()
    assert not crashes, f"uncaught errors in the page: {crashes}"


def test_outside_wechat_without_a_cashier_the_page_says_payment_needs_wechat(
    browser: Browser, wallet_server: str
) -> None:
    context = _phone(browser, wallet_server)
    pg = context.new_page()
    try:
        _login_to_wallet(pg)
        # what /h5/config answers outside demo mode: no sandbox cashier
        pg.route(
            re.compile(r"/api/mp/v1/h5/config"),
            lambda route: route.fulfill(
                json={"oa_app_id": "wx-oa", "authorize_url": None, "cashier_url": None}
            ),
        )
        pg.reload()
        expect(pg.get_by_test_id("pay-needs-wechat")).to_contain_text("需要微信支付")
        pg.get_by_test_id("topup-preset").first.click()
        expect(pg.get_by_test_id("topup-submit")).to_be_disabled()
        _shot(pg, "wallet-outside-wechat")
    finally:
        context.close()
