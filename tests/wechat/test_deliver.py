"""WeChat delivers notifies over HTTP, and repeats them: a receiver applies each once.

The receiver here is the pattern the drivers' API follows: verify, then apply keyed by
the payment's transaction_id, and answer success again for a repeat.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, Response, request

from app.wechat.config import MerchantCredentials, WeChatEndpoints
from app.wechat.errors import NotifyError
from app.wechat.notify import notify_ids, payment_of, reply_for, success_reply, verify_pay_notify
from app.wechat.pay import jsapi_prepay
from app.wechat.sandbox.state import DemoMerchant, FakeWeChat, make_test_merchant
from tests.support.wechat import serve


class Wallet:
    def __init__(self) -> None:
        self.credits: dict[str, int] = {}  # transaction_id -> fen
        self.refusals: list[str] = []


@pytest.fixture
def wallet() -> Wallet:
    return Wallet()


@pytest.fixture
def receiver(creds: MerchantCredentials, wallet: Wallet) -> Iterator[str]:
    app = Flask("receiver")

    @app.post("/api/mp/v1/pay/notify")
    def pay_notify() -> Response:
        try:
            notification = verify_pay_notify(request.headers, request.get_data(), creds)
        except NotifyError as exc:
            wallet.refusals.append(exc.code)
            reply = reply_for(exc)
        else:
            ids = notify_ids(notification)
            assert ids.transaction_id
            wallet.credits.setdefault(ids.transaction_id, payment_of(notification).total_fen or 0)
            reply = success_reply()
        return Response(reply.json_bytes(), reply.status, content_type="application/json")

    with serve(app) as base_url:
        yield base_url + "/api/mp/v1/pay/notify"


def test_notify_delivered_twice_is_applied_once(
    fake: FakeWeChat, merchant: DemoMerchant, receiver: str, wallet: Wallet
) -> None:
    fake.add_order(merchant, "TOPUP20240401000001", 5000, "o-driver-9")
    headers, body = fake.make_pay_notify("TOPUP20240401000001")

    answers = fake.deliver(receiver, headers, body, times=2)

    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == {"code": "SUCCESS", "message": "成功"}
    transaction_id = fake.find_order("TOPUP20240401000001").transaction_id
    assert wallet.credits == {transaction_id: 5000}


def test_top_up_paid_and_notified_to_the_notify_url_it_gave(
    creds: MerchantCredentials,
    endpoints: WeChatEndpoints,
    fake: FakeWeChat,
    receiver: str,
    wallet: Wallet,
) -> None:
    jsapi_prepay(creds, "TOPUP20240401000003", 2000, "o-driver-9", "充值", receiver,
                 endpoints=endpoints)  # fmt: skip

    answers = fake.deliver_pay_notify("TOPUP20240401000003", times=3)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert list(wallet.credits.values()) == [2000]


def test_forged_notify_over_http_is_refused_and_changes_nothing(
    fake: FakeWeChat, merchant: DemoMerchant, receiver: str, wallet: Wallet
) -> None:
    fake.add_order(merchant, "TOPUP20240401000002", 5000, "o-driver-9")
    _, body = fake.make_pay_notify("TOPUP20240401000002")
    forged = fake.sign(body, private_key_pem=make_test_merchant().private_key_pem)

    (answer,) = fake.deliver(receiver, forged, body)

    assert answer.status_code == 401
    assert answer.json()["code"] == "FAIL"
    assert wallet.credits == {}
    assert wallet.refusals == ["WXPAY_NOTIFY_BAD_SIGNATURE"]
