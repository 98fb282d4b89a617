"""The sandbox's pages for people (issue 13): the web-authorization screen, where one picks
or creates a demo driver, and the WeChat Pay cashier that sends the signed notify."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from app.wechat.sandbox.routes import create_fake_wechat
from app.wechat.sandbox.state import FakeRefund, FakeWeChat, make_test_merchant

OA = ("wxoa00000000000001", "oa-secret")
AUTH = {
    "appid": OA[0],
    "redirect_uri": "http://127.0.0.1:5000/h5/login",
    "response_type": "code",
    "scope": "snsapi_base",
    "state": "/h5/stations",
}


def _fake() -> FakeWeChat:
    fake = FakeWeChat()
    fake.register_app(*OA)
    fake.add_user("demo-openid-0001", "演示车主")
    return fake


def _code_from(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["/h5/stations"]
    return query["code"][0]


def test_authorize_page_lists_demo_drivers_and_redirects_with_a_code() -> None:
    fake = _fake()
    client = create_fake_wechat(fake).test_client()
    page = client.get("/connect/oauth2/authorize", query_string=AUTH)
    assert page.status_code == 200
    assert "演示车主" in page.text and "新建并登录" in page.text
    chosen = client.post("/connect/oauth2/authorize", data={**AUTH, "user": "demo-openid-0001"})
    assert chosen.status_code == 302
    assert chosen.location.startswith(AUTH["redirect_uri"] + "?code=")
    code = _code_from(chosen.location)
    args = {"appid": OA[0], "secret": OA[1], "code": code, "grant_type": "authorization_code"}
    answer = client.get("/sns/oauth2/access_token", query_string=args).get_json()
    assert answer["openid"] == fake.oa_openid(OA[0], "demo-openid-0001")
    assert answer["unionid"] == "union-demo-openid-0001"  # the mini-program's unionid too
    again = client.get("/sns/oauth2/access_token", query_string=args).get_json()
    assert again["errcode"] == 40029  # a code is used once


def test_authorize_page_creates_a_driver() -> None:
    fake = _fake()
    client = create_fake_wechat(fake).test_client()
    made = client.post("/connect/oauth2/authorize", data={**AUTH, "nickname": "新车主"})
    assert made.status_code == 302
    [key] = [k for k, name in fake.users.items() if name == "新车主"]
    code = _code_from(made.location)
    assert fake.redeem_oauth_code(OA[0], code) == key


def test_authorize_page_refuses_unknown_app_and_bad_scope() -> None:
    client = create_fake_wechat(_fake()).test_client()
    unknown = client.get("/connect/oauth2/authorize", query_string={**AUTH, "appid": "wxnope"})
    assert unknown.status_code == 400 and "appid" in unknown.text
    scope = client.get("/connect/oauth2/authorize", query_string={**AUTH, "scope": "x"})
    assert scope.status_code == 400
    wrong_secret = client.get(
        "/sns/oauth2/access_token",
        query_string={
            "appid": OA[0],
            "secret": "x",
            "code": "c",
            "grant_type": "authorization_code",
        },
    ).get_json()
    assert wrong_secret["errcode"] == 40125


def test_cashier_cancel_changes_nothing_and_never_leaves_the_host() -> None:
    fake = _fake()
    merchant = make_test_merchant()
    fake.register_merchant(merchant)
    order = fake.add_order(merchant, "T0001", 5000, "openid-1", description="钱包充值")
    client = create_fake_wechat(fake).test_client()
    page = client.get("/pay", query_string={"prepay_id": order.prepay_id, "redirect": "/h5/w"})
    assert page.status_code == 200
    assert "¥50.00" in page.text and "确认支付" in page.text and "取消" in page.text
    cancel = client.post(
        "/pay", data={"prepay_id": order.prepay_id, "redirect": "/h5/w", "action": "cancel"}
    )
    assert cancel.status_code == 303 and cancel.location == "/h5/w?pay=cancel"
    assert order.trade_state == "NOTPAY"
    elsewhere = client.post(
        "/pay", data={"prepay_id": order.prepay_id, "redirect": "//evil.example", "action": "x"}
    )
    assert elsewhere.status_code == 200 and "已取消支付" in elsewhere.text
    assert client.get("/pay", query_string={"prepay_id": "nope"}).status_code == 404


def test_cashier_confirm_delivers_the_signed_notify(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake()
    merchant = make_test_merchant()
    fake.register_merchant(merchant)
    order = fake.add_order(merchant, "T0002", 5000, "openid-1", notify_url="http://m/notify")
    sent: list[tuple[str, dict[str, str], bytes]] = []

    class _Answer:
        status_code = 200

    def deliver(url: str, headers: dict[str, str], body: bytes, **kw: object) -> list[_Answer]:
        sent.append((url, dict(headers), body))
        return [_Answer()]

    monkeypatch.setattr(fake, "deliver", deliver)
    client = create_fake_wechat(fake).test_client()
    paid = client.post(
        "/pay", data={"prepay_id": order.prepay_id, "redirect": "/h5/w?x=1", "action": "pay"}
    )
    assert paid.status_code == 303 and paid.location == "/h5/w?x=1&pay=ok"
    assert order.trade_state == "SUCCESS" and order.transaction_id
    [(url, headers, body)] = sent
    assert url == "http://m/notify"
    assert headers["Wechatpay-Serial"] == fake.platform.cert_serial
    assert re.search(rb'"algorithm":\s*"AEAD_AES_256_GCM"', body)


def test_merchant_takes_payments_in_a_bound_official_account() -> None:
    fake = _fake()
    merchant = make_test_merchant()
    fake.register_merchant(merchant)
    assert not fake.accepts_app(merchant, OA[0])
    fake.bind_app(merchant.mch_id, OA[0])
    assert fake.accepts_app(merchant, OA[0]) and fake.accepts_app(merchant, merchant.app_id)


def _processing_refund(fake: FakeWeChat, notify_url: str = "http://m/refund-notify") -> FakeRefund:
    merchant = make_test_merchant()
    fake.register_merchant(merchant)
    order = fake.add_order(merchant, "T0003", 5000, "openid-1")
    fake.pay(order.out_trade_no, merchant.mch_id)
    refund = FakeRefund(
        mch_id=merchant.mch_id, out_refund_no="RF0000000001", refund_id="50300000001",
        out_trade_no=order.out_trade_no, transaction_id=order.transaction_id or "",
        refund_fen=5000, total_fen=5000, reason="钱包余额退款", notify_url=notify_url,
        create_time="2026-12-04T19:30:00+08:00",
    )  # fmt: skip
    fake.refunds[(merchant.mch_id, refund.out_refund_no)] = refund
    return refund


def test_merchant_refunds_page_ends_a_refund_with_the_signed_notify(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _fake()
    refund = _processing_refund(fake)
    sent: list[tuple[str, bytes]] = []

    class _Answer:
        status_code = 200

    def deliver(url: str, headers: dict[str, str], body: bytes, **kw: object) -> list[_Answer]:
        assert headers["Wechatpay-Serial"] == fake.platform.cert_serial
        sent.append((url, body))
        return [_Answer()]

    monkeypatch.setattr(fake, "deliver", deliver)
    client = create_fake_wechat(fake).test_client()
    page = client.get("/merchant/refunds")
    assert page.status_code == 200
    assert "RF0000000001" in page.text and "¥50.00" in page.text
    assert "退款成功" in page.text and "退款异常" in page.text and "退款关闭" in page.text
    form = {"out_refund_no": refund.out_refund_no, "mch_id": refund.mch_id}
    ended = client.post("/merchant/refunds", data={**form, "status": "ABNORMAL"})
    assert ended.status_code == 303 and ended.location.startswith("./refunds?message=")
    assert refund.status == "ABNORMAL"
    [(url, body)] = sent
    assert url == "http://m/refund-notify"
    assert re.search(rb'"event_type":\s*"REFUND.ABNORMAL"', body)
    after = client.get("/merchant/refunds", query_string={"message": "已通知商户"})
    assert 'data-refund-status="ABNORMAL"' in after.text and "已通知商户" in after.text
    assert 'name="status"' not in after.text  # an ended refund has no buttons


def test_merchant_refunds_page_refuses_unknown_ended_and_bad_endings() -> None:
    fake = _fake()
    refund = _processing_refund(fake)
    client = create_fake_wechat(fake).test_client()
    form = {"out_refund_no": refund.out_refund_no, "mch_id": refund.mch_id}
    unknown = client.post("/merchant/refunds", data={**form, "out_refund_no": "RFnope"})
    assert unknown.status_code == 404
    assert client.post("/merchant/refunds", data={**form, "status": "x"}).status_code == 409
    assert refund.status == "PROCESSING"
    fake.complete_refund(refund.out_refund_no)
    again = client.post("/merchant/refunds", data={**form, "status": "CLOSED"})
    assert again.status_code == 409 and refund.status == "SUCCESS"
    assert client.get("/merchant/refunds").status_code == 200
