"""充电桩 → 远程指令 in a real Chromium against a simulated OCPP pile: the list shows the pile
online with its guns, an unlock reaches the pile and its answer is shown; the command is in
the audit log. Screenshots at 1440×900 go to tmp/artifacts/ (not committed)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pile_link.simulator import PileConfig, SimulatedOcppPile
from tests.e2e.test_admin_console import api, choose_option, login, open_menu
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "tmp" / "artifacts"
PILE = "DEMO-OCPP-01"  # 广东云创's demo OCPP pile


@pytest.fixture
def online_pile(live_env: dict[str, str], live_server: str) -> Iterator[None]:
    """The demo OCPP pile, simulated, connected for the test's length."""
    url = f"ws://127.0.0.1:{live_env['EVOP_OCPP_PORT']}/ocpp"
    connected, done = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    async def hold() -> None:
        async with SimulatedOcppPile(url, PILE, config=PileConfig(response_timeout=5.0)):
            connected.set()
            await asyncio.to_thread(done.wait)

    def run() -> None:
        try:
            asyncio.run(hold())
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
            connected.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert connected.wait(20), "the simulated pile did not connect"
    assert not failure, failure
    try:
        yield
    finally:
        done.set()
        thread.join(20)


def test_unlock_reaches_the_simulated_pile(page: Page, online_pile: None) -> None:
    login(page, "yc_admin", "yc123456")
    open_menu(page, "menu-piles", "piles")
    page.get_by_test_id("piles-search").fill(PILE)
    page.get_by_test_id("piles-search").press("Enter")
    row = page.get_by_test_id("piles-table").locator("tbody tr", has_text=PILE).first
    expect(row).to_contain_text("在线", timeout=45_000)  # the list polls every 10 s
    expect(row.get_by_test_id("pile-row-connector").first).not_to_contain_text("离线")

    row.get_by_test_id("pile-command").click()
    dialog = page.get_by_test_id("pile-command-dialog")
    choose_option(page, dialog.get_by_test_id("pile-command-name"), "解锁充电枪")
    dialog.get_by_test_id("pile-command-reason").fill("枪拔不出")
    dialog.get_by_test_id("pile-command-send").click()
    page.locator(".el-message-box").get_by_role("button", name="发送").click()
    expect(dialog.get_by_test_id("pile-command-answer")).to_contain_text("已接受", timeout=45_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(ARTIFACTS) / "pile-command.png"), full_page=True)

    logs = api(page, "GET", "/audit-logs?action=pile.command")
    [entry] = [
        e for e in logs["items"] if (e.get("after") or {}).get("command") == "unlock_connector"
    ]
    assert entry["after"]["outcome"] == "accepted" and entry["reason"] == "枪拔不出"


def test_another_sub_operator_cannot_command_the_pile(page: Page, live_server: str) -> None:
    login(page, "kc_admin", "kc123456")
    open_menu(page, "menu-piles", "piles")
    expect(page.get_by_test_id("piles-table")).not_to_contain_text(PILE)
