"""The fake checks merchant requests the way WeChat Pay does (「签名生成」 in reverse)."""

from __future__ import annotations

import json
import time

import requests
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app.wechat.config import MerchantCredentials, WeChatEndpoints
from app.wechat.crypto import build_authorization, verify_wechatpay_signature
from app.wechat.miniprogram import code2session
from app.wechat.pay import jsapi_prepay
from app.wechat.sandbox.routes import create_fake_wechat
from app.wechat.sandbox.server import FakeWeChatServer
from app.wechat.sandbox.state import FakeWeChat
from tests.support.wechat import MP_APP, serve

PATH = "/v3/pay/transactions/jsapi"


def _order(creds: MerchantCredentials, no: str) -> bytes:
    return json.dumps(
        {
            "appid": creds.app_id,
            "mchid": creds.mch_id,
            "description": "充值",
            "out_trade_no": no,
            "notify_url": "https://charge.example.cn/notify",
            "amount": {"total": 100, "currency": "CNY"},
            "payer": {"openid": "o-1"},
        }
    ).encode()


def _post(server: FakeWeChatServer, authorization: str, body: bytes) -> requests.Response:
    with requests.Session() as session:
        return session.post(
            server.base_url + PATH,
            data=body,
            headers={"Authorization": authorization, "Content-Type": "application/json"},
            timeout=5,
        )


def test_signed_request_is_accepted_and_its_answer_is_signed(
    creds: MerchantCredentials, server: FakeWeChatServer
) -> None:
    body = _order(creds, "TOPUP20240601000001")
    auth = build_authorization(creds, "POST", PATH, body, timestamp=int(time.time()), nonce="n1")

    resp = _post(server, auth, body)

    assert resp.status_code == 200
    signed = verify_wechatpay_signature(resp.headers, resp.content, creds)
    assert signed.serial == server.state.platform.cert_serial
    assert resp.headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"


def test_body_changed_after_signing_is_refused(
    creds: MerchantCredentials, server: FakeWeChatServer, fake: FakeWeChat
) -> None:
    body = _order(creds, "TOPUP20240601000002")
    auth = build_authorization(creds, "POST", PATH, body, timestamp=int(time.time()), nonce="n2")

    resp = _post(server, auth, body.replace(b'"total": 100', b'"total": 1'))

    assert resp.status_code == 401
    assert resp.json()["code"] == "SIGN_ERROR"
    assert fake.orders == {}


def test_stale_request_is_refused(creds: MerchantCredentials, server: FakeWeChatServer) -> None:
    body = _order(creds, "TOPUP20240601000003")
    stale = int(time.time()) - 6 * 60
    auth = build_authorization(creds, "POST", PATH, body, timestamp=stale, nonce="n3")

    resp = _post(server, auth, body)

    assert (resp.status_code, resp.json()["code"]) == (401, "SIGN_ERROR")


def test_request_without_authorization_is_refused(
    creds: MerchantCredentials, server: FakeWeChatServer
) -> None:
    resp = _post(server, "", _order(creds, "TOPUP20240601000004"))

    assert (resp.status_code, resp.json()["code"]) == (401, "SIGN_ERROR")


def test_fake_mounted_under_a_prefix_still_checks_signatures(
    creds: MerchantCredentials, fake: FakeWeChat
) -> None:
    # the one-process demo may mount the fake beside the platform, e.g. at /_wechat
    host = Flask("host")
    host.wsgi_app = DispatcherMiddleware(host.wsgi_app, {"/_wechat": create_fake_wechat(fake)})  # type: ignore[method-assign]
    with serve(host) as base_url:
        endpoints = WeChatEndpoints(api_base=base_url + "/_wechat", pay_base=base_url + "/_wechat")
        prepay_id = jsapi_prepay(
            creds, "TOPUP20240601000005", 100, "o-1", "充值", "https://c.example.cn/n",
            endpoints=endpoints,
        )  # fmt: skip
        session = code2session(MP_APP, "code-dave", endpoints=endpoints)

    assert prepay_id == fake.find_order("TOPUP20240601000005").prepay_id
    assert session.openid == "dave"
