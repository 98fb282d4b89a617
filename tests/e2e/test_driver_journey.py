"""A driver's whole journey against a real platform process, over real HTTP and sockets
(issue 5, "Done means"): login through the fake WeChat, a ¥50 top-up whose signed notify
comes twice and is credited once, a scan of the demo OCPP pile's QR code, a simulated
pile that charges until the driver stops it, an itemised bill paid with the best coupon,
the refund of the remainder through the fake WeChat, and a ledger that balances."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.tenancy.models import Operator
from app.wechat.sandbox.server import FakeWeChatServer
from app.wechat.sandbox.state import DemoMerchant, FakeWeChat, make_test_merchant
from pile_link.simulator import PileConfig, SimulatedOcppPile
from tests.support.drivers import YC_APP
from tests.support.payments import configure_merchant
from tests.support.servers import wait_ready
from wsgi import compose

ROOT = Path(__file__).resolve().parents[2]
PILE = "DEMO-OCPP-01"
QR_BASE = "https://charge.e2e.test/q/"
MP = "/api/mp/v1"
DEADLINE = 60.0  # a wait for what must happen: generous, the suites run side by side
TARGET_WH = 15_000  # enough energy for a bill above the best coupon (¥10)
# a fast pile: a meter sample every 0.2 s, an hour of energy per real second (7 kWh/s)
FAST = PileConfig(
    meter_interval=0.2,
    time_scale=3600,
    response_timeout=5.0,
    reconnect_delay=0.05,
    reconnect_max_delay=0.5,
    record_retry_interval=0.3,
    remote_wait_seconds=30.0,
)
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Platform:
    base: str
    ocpp_url: str
    fake: FakeWeChat
    merchant: DemoMerchant
    log_path: Path


def _configure(db_url: str, fake: FakeWeChat, merchant: DemoMerchant) -> None:
    """广东云创's mini-program app, merchant and WeChat Pay platform key, stored as the
    platform stores them (the process has not started yet); its top-up offer is the demo's
    (top up 50, get 3 coupons worth 25: app/demo_history.py)."""
    app = compose({"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        yc = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
        assert yc is not None
        yc.wechat_app_id, yc.wechat_app_secret = YC_APP
        configure_merchant(yc, merchant, fake)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("journey")
    fake = FakeWeChat()
    fake.register_app(*YC_APP)
    merchant = make_test_merchant("1900000101", YC_APP[0])
    fake.register_merchant(merchant)
    http_port, ocpp_port, ykc_port = _free_port(), _free_port(), _free_port()
    base = f"http://127.0.0.1:{http_port}"
    db_url = f"sqlite:///{tmp / 'journey.sqlite3'}"
    log_path = tmp / "platform.log"
    with FakeWeChatServer(fake) as wechat:
        env = {
            **os.environ,
            "FLASK_APP": "wsgi:compose",
            "EVOP_DATABASE_URL": db_url,
            "EVOP_HTTP_PORT": str(http_port),
            "EVOP_OCPP_HOST": "127.0.0.1",
            "EVOP_OCPP_PORT": str(ocpp_port),
            "EVOP_YKC_HOST": "127.0.0.1",
            "EVOP_YKC_PORT": str(ykc_port),
            "EVOP_SCHEDULER_ENABLED": "0",
            "EVOP_DEMO_MODE": "1",
            # the simulated pile delivers an hour of energy per second (FAST): physics
            # would hold every order of it for review as implausible
            "EVOP_ENERGY_PLAUSIBILITY_MARGIN_PERCENT": "0",
            "EVOP_LOG_LEVEL": "WARNING",
            "EVOP_QR_BASE_URL": QR_BASE,
            "EVOP_WECHAT_API_BASE": wechat.base_url,
            "EVOP_WECHAT_PAY_BASE": wechat.base_url,
            "EVOP_PAY_NOTIFY_BASE_URL": base,
        }
        flask = [sys.executable, "-m", "flask"]
        for args in (["db", "upgrade"], ["seed-demo"]):
            subprocess.run([*flask, *args], env=env, cwd=ROOT, check=True, capture_output=True)
        _configure(db_url, fake, merchant)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "wsgi.py"], env=env, cwd=ROOT, stdout=log, stderr=log
            )
        try:
            wait_ready(f"{base}/readyz", proc, log=log_path)
            yield Platform(base, f"ws://127.0.0.1:{ocpp_port}/ocpp", fake, merchant, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Driver:
    """The mini-program's HTTP calls, run off the event loop the simulated pile uses."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    async def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> dict[str, Any]:
        def send() -> requests.Response:
            return self.session.request(method, self.base + path, timeout=10, **kw)

        resp = await asyncio.to_thread(send)
        assert resp.status_code == expect, (method, path, resp.status_code, resp.text)
        body: dict[str, Any] = resp.json()
        return body

    async def get(self, path: str, **kw: Any) -> dict[str, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, expect: int = 200, **kw: Any) -> dict[str, Any]:
        return await self.call("POST", path, expect, **kw)

    async def until(
        self, path: str, ok: Callable[[dict[str, Any]], bool], what: str, **kw: Any
    ) -> dict[str, Any]:
        """Poll ``path`` (POST when a JSON body is given) until ``ok`` holds."""
        method = "POST" if "json" in kw else "GET"
        deadline = time.monotonic() + DEADLINE
        while True:
            body = await self.call(method, path, **kw)
            if ok(body):
                return body
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {body}"
            await asyncio.sleep(0.05)


def run(coro: Awaitable[T], timeout: float = 45.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


@pytest.mark.e2e
def test_driver_journey(platform: Platform) -> None:
    driver, admin = Driver(platform.base), Driver(platform.base)
    try:
        _journey(platform, driver, admin)
    finally:
        driver.session.close()
        admin.session.close()


def _journey(platform: Platform, driver: Driver, admin: Driver) -> None:
    fake, mch_id = platform.fake, platform.merchant.mch_id

    async def journey() -> dict[str, Any]:
        # 1. login through the fake WeChat (wx.login code → openid)
        login = await driver.post(
            f"{MP}/auth/login", json={"code": "code-e2e-alice", "app_id": YC_APP[0]}
        )
        driver.session.headers["Authorization"] = f"Bearer {login['access_token']}"
        assert (await driver.get(f"{MP}/wallet"))["balance_fen"] == 0

        # 2. top up ¥50 with the offer; WeChat's signed notify comes twice, credited once
        [offer] = (await driver.get(f"{MP}/topup-offers"))["items"]
        assert (offer["min_topup_fen"], offer["coupon_count"], offer["total_fen"]) == (
            5000, 3, 2500,
        )  # fmt: skip
        topup = await driver.post(
            f"{MP}/topups", 201, json={"amount_fen": 5000, "offer_id": offer["offer_id"]}
        )
        trade_no = topup["out_trade_no"]
        assert topup["payment"]["package"].startswith("prepay_id=")
        wx_order = fake.find_order(trade_no, mch_id)
        assert wx_order.notify_url == f"{platform.base}{MP}/pay/notify/{mch_id}"
        answers = await asyncio.to_thread(fake.deliver_pay_notify, trade_no, times=2)
        assert [a.status_code for a in answers] == [200, 200]
        assert (await driver.get(f"{MP}/topups/{trade_no}"))["state"] == "paid"
        assert (await driver.get(f"{MP}/wallet"))["balance_fen"] == 5000
        entries = await driver.get(f"{MP}/wallet/entries")
        assert entries["total"] == 1 and entries["items"][0]["amount_fen"] == 5000

        async with SimulatedOcppPile(platform.ocpp_url, PILE, config=FAST) as pile:
            stop_returned = asyncio.Event()
            scenario = asyncio.create_task(
                # the stop record waits until the driver's stop call has returned (the
                # simulator tests do the same: a fast pile's record can race the stop)
                pile.run_scenario("remote", connector=1, after_remote_stop=stop_returned.wait)
            )
            try:
                # 3. scan the pile's QR code: online, gun plugged, the driver may start
                scan = await driver.until(
                    f"{MP}/scan",
                    lambda s: (
                        s["connector"]["pile_online"] and s["connector"]["status"] == "preparing"
                    ),
                    "the pile online with its gun plugged",
                    json={"qr": f"{QR_BASE}{PILE}-1"},
                )
                assert scan["can_start"] is True and scan["reason"] is None, scan
                assert scan["station"]["name"] == "云创·深圳南山科技园站"
                assert scan["balance_fen"] == 5000
                started = await driver.post(
                    f"{MP}/orders", 201,
                    json={"connector_id": scan["connector"]["id"],
                          "client_request_id": "e2e-journey-0001"},
                )  # fmt: skip
                order_no = started["order"]["order_no"]

                # 4. the simulated pile charges
                live = await driver.until(
                    f"{MP}/orders/{order_no}/live",
                    lambda o: o["state"] == "charging" and o["energy_wh"] >= TARGET_WH,
                    "the pile charging past the target energy",
                )
                assert live["pile_online"] is True and live["can_stop"] is True
                # the offer's three coupons were granted once, and apply to this order
                choice = await driver.get(f"{MP}/orders/{order_no}/coupon")
                granted = sorted(c["amount_fen"] for c in choice["coupons"])
                assert granted == [500, 1000, 1000], choice
                tens = {c["id"] for c in choice["coupons"] if c["amount_fen"] == 1000}
                # by default the best one: a ¥10 coupon (the bill is already above ¥10)
                assert choice["choice"] == "default" and choice["selected_coupon_id"] in tens

                # 5. the driver stops
                stopped = await driver.post(f"{MP}/orders/{order_no}/stop")
                assert stopped["state"] == "stopping", stopped
                stop_returned.set()
                result = await scenario
            finally:
                stop_returned.set()
                if not scenario.done():
                    scenario.cancel()
                    await asyncio.gather(scenario, return_exceptions=True)
        assert result.ok, result.detail

        # 6. the bill, itemised and paid from the wallet with the best coupon
        detail = await driver.until(
            f"{MP}/orders/{order_no}",
            lambda o: o["state"] == "settled" and o["payment"] is not None,
            "the order settled",
        )
        return {"detail": detail, "result": result, "order_no": order_no, "tens": tens}

    out = run(journey())
    detail, result, order_no = out["detail"], out["result"], out["order_no"]
    bill, payment = detail["bill"], detail["payment"]
    assert bill["final"] is True and bill["estimated"] is False
    assert bill["energy_wh"] == result.energy_wh >= TARGET_WH
    lines = bill["lines"]
    assert lines and all(line["energy_wh"] > 0 for line in lines)
    assert sum(line["energy_wh"] for line in lines) == bill["energy_wh"]
    assert sum(line["electricity_fen"] for line in lines) == bill["electricity_fen"] > 0
    assert sum(line["service_fen"] for line in lines) == bill["service_fen"] > 0
    charged = bill["electricity_fen"] + bill["service_fen"] - bill["service_discount_fen"]
    assert charged > 1000  # both coupons would apply in full: the ¥10 one is the best
    assert bill["coupon_id"] in out["tens"] and bill["coupon_fen"] == 1000
    assert bill["total_fen"] == charged + bill["occupancy_fen"] - bill["coupon_fen"]
    assert payment["paid_fen"] == bill["total_fen"] and payment["arrears_fen"] == 0

    async def refund_and_ledger() -> dict[str, Any]:
        remainder = 5000 - bill["total_fen"]
        assert (await driver.get(f"{MP}/wallet"))["balance_fen"] == remainder
        coupons = await driver.get(f"{MP}/orders/{order_no}/coupon")
        assert coupons["choice"] == "final" and coupons["selected_coupon_id"] == bill["coupon_id"]

        # 7. the remainder refunded: asked by the driver, approved by 广东云创, WeChat pays
        assert await driver.get(f"{MP}/refunds/refundable") == {"refundable_fen": remainder}
        refund = await driver.post(f"{MP}/refunds", 201, json={"reason": "不再使用"})
        assert (refund["state"], refund["amount_fen"]) == ("pending_review", remainder)
        token = await admin.post(
            "/api/admin/v1/auth/login", json={"username": "yc_admin", "password": "yc123456"}
        )
        admin.session.headers["Authorization"] = f"Bearer {token['access_token']}"
        approved = await admin.post(f"/api/admin/v1/refunds/{refund['id']}/approve")
        assert approved["state"] == "processing", approved
        [part] = refund["parts"]
        [sent] = fake.refund_requests
        assert sent["out_refund_no"] == part["out_refund_no"]
        # the top-up's ¥10 coupon was spent on the charge: kept back (case #4 2019-10-15)
        assert part["coupon_deduction_fen"] == bill["coupon_fen"] == 1000
        back = remainder - bill["coupon_fen"]
        assert sent["amount"]["refund"] == part["refund_fen"] == back
        assert sent["notify_url"] == f"{platform.base}{MP}/pay/refund-notify/{mch_id}"
        answers = await asyncio.to_thread(
            fake.deliver_refund_notify, part["out_refund_no"], times=2
        )
        assert [a.status_code for a in answers] == [200, 200]
        done = await driver.get(f"{MP}/refunds/{refund['id']}")
        assert (done["state"], done["succeeded_fen"]) == ("succeeded", back)

        # 8. the ledger balances
        wallet = await driver.get(f"{MP}/wallet")
        entries = await driver.get(f"{MP}/wallet/entries", params={"page_size": 50})
        return {"wallet": wallet, "entries": entries, "remainder": remainder}

    end = run(refund_and_ledger())
    wallet, entries = end["wallet"], end["entries"]
    assert (wallet["balance_fen"], wallet["arrears_fen"]) == (0, 0)
    items = entries["items"]
    assert entries["total"] == len(items) == 3
    assert sum(e["amount_fen"] for e in items) == wallet["balance_fen"] == 0
    ledger = sorted(items, key=lambda e: e["id"])
    assert [(e["reason"], e["amount_fen"]) for e in ledger] == [
        ("topup", 5000),
        (ledger[1]["reason"], -bill["total_fen"]),
        ("refund", -end["remainder"]),
    ]
    assert ledger[1]["ref_id"] == order_no
    running = 0
    for entry in ledger:  # every entry's balance follows from the ones before it
        running += entry["amount_fen"]
        assert entry["balance_after_fen"] == running
