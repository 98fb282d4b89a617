"""Cross-checks with wechatpayv3, an independent implementation of the same rules.

The fake must accept wechatpayv3's requests and be trusted by it, its notifies must
decrypt there, and our signatures must be byte-for-byte wechatpayv3's (PKCS#1 v1.5
signatures are deterministic), so the fake and our client cannot share one mistake.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app.wechat.config import MerchantCredentials
from app.wechat.crypto import build_authorization
from app.wechat.pay import request_payment_params
from app.wechat.sandbox.server import FakeWeChatServer
from app.wechat.sandbox.state import DemoMerchant, FakeWeChat

wechatpayv3 = pytest.importorskip("wechatpayv3")
wechatpayv3_utils = pytest.importorskip("wechatpayv3.utils")


def _client(merchant: DemoMerchant, fake: FakeWeChat, cert_dir: Path | None = None) -> Any:
    p = fake.platform
    extra = (
        {"cert_dir": str(cert_dir)}
        if cert_dir
        else {"public_key": p.public_key_pem, "public_key_id": p.public_key_id}
    )
    return wechatpayv3.WeChatPay(
        wechatpay_type=wechatpayv3.WeChatPayType.MINIPROG,
        mchid=merchant.mch_id,
        private_key=merchant.private_key_pem,
        cert_serial_no=merchant.cert_serial,
        appid=merchant.app_id,
        apiv3_key=merchant.apiv3_key,
        timeout=(5, 5),
        **extra,
    )


def test_wechatpayv3_pays_through_the_fake(
    merchant: DemoMerchant, fake: FakeWeChat, server: FakeWeChatServer
) -> None:
    fake.signing = "public_key"
    client = _client(merchant, fake)
    client._core._gate_way = server.base_url  # no public setting for the gateway

    status, text = client.pay(
        description="充值",
        out_trade_no="TOPUP20240501000001",
        amount={"total": 100},
        payer={"openid": "o-driver-3"},
        notify_url="https://charge.example.cn/notify",
    )

    assert status == 200, text
    assert json.loads(text)["prepay_id"] == fake.find_order("TOPUP20240501000001").prepay_id


def test_wechatpayv3_decrypts_the_fakes_notify(
    merchant: DemoMerchant, fake: FakeWeChat, tmp_path: Path
) -> None:
    (tmp_path / f"{fake.platform.cert_serial}.pem").write_text(fake.platform.cert_pem)
    client = _client(merchant, fake, cert_dir=tmp_path)
    fake.add_order(merchant, "TOPUP20240501000002", 5000, "o-driver-3")

    headers, body = fake.make_pay_notify("TOPUP20240501000002")
    result = client.callback(headers, body)

    assert result["event_type"] == "TRANSACTION.SUCCESS"
    assert result["resource"] == fake.find_order("TOPUP20240501000002").resource()


def test_pay_sign_matches_wechatpayv3(merchant: DemoMerchant, fake: FakeWeChat) -> None:
    creds = merchant.credentials(fake)
    client = _client(merchant, fake, cert_dir=None)

    ours = request_payment_params(creds, "wx26112233445566778899", nonce="5K8264ILTKCH16CQ2502SI")

    theirs = client.sign([ours["appId"], ours["timeStamp"], ours["nonceStr"], ours["package"]])
    assert ours["paySign"] == theirs


def test_authorization_matches_wechatpayv3(
    merchant: DemoMerchant, fake: FakeWeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds: MerchantCredentials = merchant.credentials(fake)
    monkeypatch.setattr(wechatpayv3_utils, "time", SimpleNamespace(time=lambda: 1700000000.25))
    body = {"mchid": creds.mch_id, "out_trade_no": "TOPUP20240501000003"}
    private_key = wechatpayv3_utils.load_private_key(merchant.private_key_pem)

    theirs = wechatpayv3_utils.build_authorization(
        "/v3/pay/transactions/jsapi", "POST", creds.mch_id, creds.cert_serial, private_key,
        data=body, nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",
    )  # fmt: skip
    ours = build_authorization(
        creds, "POST", "/v3/pay/transactions/jsapi", json.dumps(body).encode(),
        timestamp=1700000000, nonce="593BEC0C930BF1AFEB40B4A08C8FB242",
    )  # fmt: skip

    assert ours == theirs
