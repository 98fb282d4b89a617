"""WeChat Pay can be switched on through the console API (issue 14, the blocker): an
operator enters the merchant's credentials, the platform certificate is downloaded from
WeChat (the fake serves /v3/certificates like the real one), the readiness turns green,
and a driver's top-up and refund work. Before, the console said 已配置 while every top-up
answered 409 MERCHANT_NOT_CONFIGURED: the platform key row was written by no code path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.payments import merchants
from app.payments.models import WeChatPayKey
from app.wechat.sandbox.signing import PlatformKeys
from app.wechat.sandbox.state import DemoMerchant, FakeWeChat, make_test_merchant
from tests.support.drivers import YC_APP, Login, Ops
from tests.support.payments import post_notify, top_up

API = "/api/admin/v1/operators"


@pytest.fixture
def merchant(app: Flask, wechat: FakeWeChat, monkeypatch: pytest.MonkeyPatch) -> DemoMerchant:
    monkeypatch.setitem(app.config, "WECHAT_PAY_BASE", app.config["WECHAT_API_BASE"])
    monkeypatch.setitem(app.config, "PAY_NOTIFY_BASE_URL", "https://charge.test")
    m = make_test_merchant("1900000301", YC_APP[0])
    wechat.register_merchant(m)
    return m


def _credentials(m: DemoMerchant) -> dict[str, Any]:
    return {
        "wechat_mch_id": m.mch_id,
        "wechat_mch_cert_serial": m.cert_serial,
        "wechat_mch_private_key": m.private_key_pem,
        "wechat_apiv3_key": m.apiv3_key,
    }


def _readiness(client: FlaskClient, op_id: int, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"{API}/{op_id}", headers=headers).get_json()
    return body["wechat_pay_readiness"]


def test_saving_merchant_credentials_downloads_the_platform_key_and_payments_work(
    client: FlaskClient,
    ops: Ops,
    wechat: FakeWeChat,
    merchant: DemoMerchant,
    mp_login: Login,
    as_admin: dict[str, str],
    as_yc: dict[str, str],
) -> None:
    before = _readiness(client, ops.yc.id, as_admin)
    assert before["ready"] is False
    assert "微信支付平台证书或微信支付公钥" in before["missing"]
    saved = client.patch(f"{API}/{ops.yc.id}", json=_credentials(merchant), headers=as_admin)
    assert saved.status_code == 200, saved.get_json()
    ready = saved.get_json()["wechat_pay_readiness"]
    assert ready["ready"] is True and ready["missing"] == []
    [key] = ready["keys"]
    assert key["kind"] == "certificate" and key["serial"] == wechat.platform.cert_serial
    assert key["expires_at"] is not None
    assert merchant.private_key_pem not in saved.get_data(as_text=True)  # write-only

    # the "test" action: a signed request, WeChat's signed answer verified
    tested = client.post(f"{API}/{ops.yc.id}/wechat-pay/test", headers=as_yc).get_json()
    assert tested["ok"] is True and tested["code"] == "ORDER_NOT_EXIST"

    headers = mp_login("alice")
    no = top_up(client, headers, 5000)["out_trade_no"]
    notify_headers, body = wechat.make_pay_notify(no)
    assert post_notify(client, merchant.mch_id, notify_headers, body).status_code == 200
    refund = client.post("/api/mp/v1/refunds", json={"reason": "不用了"}, headers=headers)
    assert refund.status_code == 201, refund.get_json()
    approved = client.post(
        f"/api/admin/v1/refunds/{refund.get_json()['id']}/approve", headers=as_yc
    )
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["state"] == "processing"


def test_a_merchant_wechat_refuses_is_saved_and_reported_not_ready(
    client: FlaskClient, ops: Ops, merchant: DemoMerchant, as_admin: dict[str, str]
) -> None:
    wrong = {**_credentials(merchant), "wechat_apiv3_key": "x" * 32}  # not the merchant's
    saved = client.patch(f"{API}/{ops.yc.id}", json=wrong, headers=as_admin)
    assert saved.status_code == 200  # the save is kept; the readiness tells the truth
    assert "微信支付平台证书或微信支付公钥" in saved.get_json()["wechat_pay_readiness"]["missing"]
    answer = client.post(f"{API}/{ops.yc.id}/wechat-pay/platform-keys", headers=as_admin)
    assert answer.status_code == 200 and answer.get_json()["ok"] is False
    assert answer.get_json()["code"]


def test_the_public_key_mode_makes_the_merchant_ready_without_certificates(
    client: FlaskClient, ops: Ops, wechat: FakeWeChat, merchant: DemoMerchant,
    as_admin: dict[str, str],
) -> None:  # fmt: skip
    p = wechat.platform
    body = {
        **_credentials(merchant),
        "wechat_pay_public_key_id": p.public_key_id,
        "wechat_pay_public_key": p.public_key_pem,
    }
    saved = client.patch(f"{API}/{ops.yc.id}", json=body, headers=as_admin)
    assert saved.status_code == 200, saved.get_json()
    kinds = {k["kind"] for k in saved.get_json()["wechat_pay_readiness"]["keys"]}
    assert "public_key" in kinds and saved.get_json()["wechat_pay_readiness"]["ready"]
    bad = client.patch(
        f"{API}/{ops.yc.id}",
        json={"wechat_pay_public_key_id": "KEY-1", "wechat_pay_public_key": "nope"},
        headers=as_admin,
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "WECHAT_PUBLIC_KEY_INVALID"


def test_the_renewal_job_downloads_certificates_that_expire_soon(
    app: Flask, ops: Ops, wechat: FakeWeChat, merchant: DemoMerchant
) -> None:
    for name, value in _credentials(merchant).items():
        setattr(ops.yc, name, value)
    db.session.commit()
    assert merchants.renew_platform_certificates() == [ops.yc.id]  # none yet: fetched
    [key] = db.session.scalars(select(WeChatPayKey)).all()
    assert key.expires_at is not None
    assert merchants.renew_platform_certificates() == []  # valid for long: left alone
    soon = key.expires_at - merchants.RENEW_BEFORE + timedelta(days=1)
    assert merchants.renew_platform_certificates(now=soon) == [ops.yc.id]


def test_a_notify_signed_with_a_rotated_certificate_fetches_it_and_is_credited(
    client: FlaskClient,
    ops: Ops,
    wechat: FakeWeChat,
    merchant: DemoMerchant,
    mp_login: Login,
    as_admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert client.patch(f"{API}/{ops.yc.id}", json=_credentials(merchant), headers=as_admin)
    headers = mp_login("alice")
    no = top_up(client, headers, 5000)["out_trade_no"]
    no2 = top_up(client, headers, 3000)["out_trade_no"]
    # WeChat signs with a certificate we do not hold yet (as after its yearly rotation)
    db.session.execute(WeChatPayKey.__table__.delete())
    old = PlatformKeys.generate()  # the certificate before the rotation
    merchants.set_platform_key(ops.yc, "certificate", old.cert_serial, old.cert_pem)
    db.session.commit()
    monkeypatch.setattr(merchants, "_unknown_serial_refreshes", {})
    notify_headers, body = wechat.make_pay_notify(no)
    assert post_notify(client, merchant.mch_id, notify_headers, body).status_code == 200
    serials = set(db.session.scalars(select(WeChatPayKey.serial)))
    assert wechat.platform.cert_serial in serials
    # a second unknown serial within the window fetches nothing more: refused, retried later
    db.session.execute(WeChatPayKey.__table__.delete())
    merchants.set_platform_key(ops.yc, "certificate", old.cert_serial, old.cert_pem)
    db.session.commit()
    notify_headers, body = wechat.make_pay_notify(no2)
    assert post_notify(client, merchant.mch_id, notify_headers, body).status_code != 200


def test_the_readiness_names_each_missing_item_with_a_code_and_in_chinese(
    client: FlaskClient, ops: Ops, merchant: DemoMerchant, as_admin: dict[str, str]
) -> None:
    partial = {"wechat_mch_id": merchant.mch_id, "wechat_apiv3_key": merchant.apiv3_key}
    saved = client.patch(f"{API}/{ops.yc.id}", json=partial, headers=as_admin)
    assert saved.status_code == 200, saved.get_json()
    items = {i["key"]: i for i in saved.get_json()["wechat_pay_readiness"]["items"]}
    assert items["apiv3_key"] == {**items["apiv3_key"], "ok": True, "code": "OK", "detail": ""}
    merchant_key = items["merchant_key"]
    assert merchant_key["ok"] is False and merchant_key["code"] == "WECHAT_MERCHANT_KEY_MISSING"
    assert merchant_key["detail"] == "缺少商户证书序列号、商户私钥"
    assert items["platform_key"]["code"] == "WECHAT_PLATFORM_KEY_MISSING"
