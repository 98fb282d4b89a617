"""Wallet top-ups with WeChat Pay v3: the order, the signed notify (credited exactly once
however often it comes), every forged or mismatching notify refused without effect, and
the reconcile job for notifies that never came."""

from __future__ import annotations

import json
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.db import utcnow
from app.extensions import db
from app.ledger.wallet import balance_of
from app.payments import topups
from app.payments.models import TopUpPayment
from app.wechat.sandbox.state import make_test_merchant
from tests.support.drivers import Login, Ops
from tests.support.payments import (
    Pay,
    driver_of,
    ledger,
    make_offer,
    post_notify,
    top_up,
    topup_coupons,
)


def test_wallet_and_offers_say_what_a_topup_grants(
    client: FlaskClient, pay: Pay, mp_login: Login
) -> None:
    headers = mp_login("alice")
    make_offer(pay.ops.yc)
    wallet = client.get("/api/mp/v1/wallet", headers=headers).get_json()
    assert wallet == {"balance_fen": 0, "balance_yuan": "0.00", "arrears_fen": 0,
                      "arrears_yuan": "0.00"}  # fmt: skip
    [offer] = client.get("/api/mp/v1/topup-offers", headers=headers).get_json()["items"]
    assert (offer["coupon_count"], offer["total_fen"], offer["min_topup_fen"]) == (3, 2500, 5000)
    assert offer["text"] == "充值满 50.00 元，送 3 张优惠券，共 25.00 元"


def test_topup_50_notify_delivered_twice_credits_once(
    client: FlaskClient, pay: Pay, mp_login: Login
) -> None:
    headers = mp_login("alice")
    offer_id = make_offer(pay.ops.yc)
    started = top_up(client, headers, 5000, offer_id=offer_id)
    params = started["payment"]
    assert params["appId"] == pay.yc.app_id and params["signType"] == "RSA"
    assert params["package"].startswith("prepay_id=") and params["paySign"]
    order = pay.fake.find_order(started["out_trade_no"])
    assert order.notify_url == "https://charge.test/api/mp/v1/pay/notify/1900000101"
    assert order.total_fen == 5000 and order.openid == "alice"

    notify_headers, body = pay.fake.make_pay_notify(started["out_trade_no"])
    answers = [post_notify(client, pay.yc.mch_id, notify_headers, body) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].get_json()["code"] == "SUCCESS"

    driver = driver_of("alice")
    assert balance_of(driver.id) == 5000
    [entry] = ledger(driver)
    assert (entry.amount_fen, entry.reason) == (5000, "topup")
    assert entry.idempotency_key == f"wxpay:{order.transaction_id}"
    assert len(topup_coupons(started["out_trade_no"])) == 3
    state = client.get(f"/api/mp/v1/topups/{started['out_trade_no']}", headers=headers)
    assert state.get_json()["state"] == "paid"
    entries = client.get("/api/mp/v1/wallet/entries", headers=headers).get_json()
    assert entries["total"] == 1 and entries["items"][0]["amount_fen"] == 5000


def test_no_merchant_credentials_no_topup(client: FlaskClient, ops: Ops, mp_login: Login) -> None:
    headers = mp_login("alice")
    resp = client.post("/api/mp/v1/topups", json={"amount_fen": 5000}, headers=headers)
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert (error["code"], error["message"]) == (
        "MERCHANT_NOT_CONFIGURED",
        "该运营商未配置微信支付",
    )
    assert db.session.scalar(select(func.count()).select_from(TopUpPayment)) == 0


def test_topup_amount_and_offer_checked(client: FlaskClient, pay: Pay, mp_login: Login) -> None:
    headers = mp_login("alice")
    offer_id = make_offer(pay.ops.yc)
    small = client.post("/api/mp/v1/topups", json={"amount_fen": 10}, headers=headers)
    assert small.status_code == 422 and small.get_json()["error"]["code"] == "TOPUP_AMOUNT_INVALID"
    short = client.post(
        "/api/mp/v1/topups", json={"amount_fen": 1000, "offer_id": offer_id}, headers=headers
    )
    assert short.status_code == 422
    assert short.get_json()["error"]["code"] == "TOPUP_OFFER_NOT_REACHED"


def test_bad_notifies_are_refused_and_change_nothing(
    client: FlaskClient, pay: Pay, mp_login: Login
) -> None:
    headers = mp_login("alice")
    no = top_up(client, headers, 5000)["out_trade_no"]
    fake, yc = pay.fake, pay.yc
    resource = fake.pay(no).resource()

    def body_of(res: dict[str, object], key: str = yc.apiv3_key) -> bytes:
        return fake.notify_body(key, "TRANSACTION.SUCCESS", "支付成功", "transaction", res)

    good = body_of(resource)
    tampered_body = good.replace("支付成功".encode(), "支付失败".encode())
    assert tampered_body != good
    forger = make_test_merchant()
    now = int(fake.clock())
    wrong_amount = {**resource, "amount": {**resource["amount"], "total": 1}}  # type: ignore[dict-item]
    other_mch = {**resource, "mchid": pay.kc.mch_id}
    envelope = json.loads(good)
    cipher = envelope["resource"]["ciphertext"]
    # another first character, whatever the random nonce made it ("A" was a no-op 1 in 64)
    envelope["resource"]["ciphertext"] = ("B" if cipher[0] == "A" else "A") + cipher[1:]
    assert envelope["resource"]["ciphertext"] != cipher
    tampered_cipher = json.dumps(envelope).encode()
    amount_body, other_body = body_of(wrong_amount), body_of(other_mch)
    cases = [
        ("forged", yc.mch_id, fake.sign(good, private_key_pem=forger.private_key_pem), good,
         401, "WXPAY_NOTIFY_BAD_SIGNATURE"),
        ("stale", yc.mch_id, fake.sign(good, timestamp=now - 360), good,
         401, "WXPAY_NOTIFY_STALE"),
        ("unknown serial", yc.mch_id, fake.sign(good, serial="0123456789ABCDEF"), good,
         401, "WXPAY_NOTIFY_UNKNOWN_SERIAL"),
        ("tampered body", yc.mch_id, fake.sign(good), tampered_body,
         401, "WXPAY_NOTIFY_BAD_SIGNATURE"),
        ("tampered ciphertext", yc.mch_id, fake.sign(tampered_cipher), tampered_cipher,
         400, "WXPAY_NOTIFY_DECRYPT_FAILED"),
        ("wrong amount", yc.mch_id, fake.sign(amount_body), amount_body,
         400, "WXPAY_NOTIFY_AMOUNT_MISMATCH"),
        ("other merchant in resource", yc.mch_id, fake.sign(other_body), other_body,
         400, "WXPAY_NOTIFY_MERCHANT_MISMATCH"),
        ("delivered to another merchant", pay.kc.mch_id, fake.sign(good), good,
         400, "WXPAY_NOTIFY_DECRYPT_FAILED"),
        ("unknown merchant", "1234567890", fake.sign(good), good,
         404, "WXPAY_NOTIFY_UNKNOWN_MERCHANT"),
    ]  # fmt: skip
    for name, mch_id, sig_headers, body, status, code in cases:
        resp = post_notify(client, mch_id, sig_headers, body)
        assert (resp.status_code, resp.get_json()) == (
            status, {"code": "FAIL", "message": code}
        ), name  # fmt: skip
    driver = driver_of("alice")
    assert balance_of(driver.id) == 0 and ledger(driver) == []
    payment = db.session.scalar(select(TopUpPayment).where(TopUpPayment.out_trade_no == no))
    assert payment is not None and payment.state == "created" and payment.transaction_id is None

    # the genuine notify still goes through afterwards, and its replay does nothing more
    genuine = fake.sign(good)
    assert post_notify(client, yc.mch_id, genuine, good).status_code == 200
    assert post_notify(client, yc.mch_id, genuine, good).status_code == 200
    assert balance_of(driver_of("alice").id) == 5000


def test_payment_of_another_operator_is_refused(
    client: FlaskClient, pay: Pay, mp_login: Login
) -> None:
    """A kc driver's payment notified on yc's URL (same platform key): not yc's payment."""
    kc_headers = mp_login("kate", pay.ops.kc.wechat_app_id)
    no = top_up(client, kc_headers, 3000)["out_trade_no"]
    resource = {**pay.fake.pay(no).resource(), "mchid": pay.yc.mch_id, "appid": pay.yc.app_id}
    body = pay.fake.notify_body(
        pay.yc.apiv3_key, "TRANSACTION.SUCCESS", "支付成功", "transaction", resource
    )
    resp = post_notify(client, pay.yc.mch_id, pay.fake.sign(body), body)
    assert resp.status_code == 400
    assert resp.get_json()["message"] == "WXPAY_NOTIFY_MERCHANT_MISMATCH"
    assert balance_of(driver_of("kate").id) == 0


def test_reconcile_job_credits_a_lost_notify_and_closes_unpaid(
    client: FlaskClient, pay: Pay, mp_login: Login
) -> None:
    headers = mp_login("alice")
    paid = top_up(client, headers, 2000)["out_trade_no"]
    unpaid = top_up(client, headers, 3000)["out_trade_no"]
    pay.fake.pay(paid)  # the driver paid; the notify never came
    assert topups.reconcile_pending() == 0  # too early to ask
    later = utcnow() + timedelta(minutes=10)
    assert topups.reconcile_pending(later) == 1
    assert topups.reconcile_pending(later) == 0
    assert balance_of(driver_of("alice").id) == 2000
    assert topups.reconcile_pending(utcnow() + timedelta(minutes=40)) == 1
    db.session.expire_all()
    rows = db.session.execute(select(TopUpPayment.out_trade_no, TopUpPayment.state))
    states = {no: state for no, state in rows}
    assert states == {paid: "paid", unpaid: "closed"}
    assert pay.fake.find_order(unpaid).trade_state == "CLOSED"
    # the notify arriving late changes nothing more
    late_headers, late_body = pay.fake.make_pay_notify(paid)
    assert post_notify(client, pay.yc.mch_id, late_headers, late_body).status_code == 200
    driver = driver_of("alice")
    assert sum(e.amount_fen for e in ledger(driver)) == 2000 == balance_of(driver.id)


def test_a_driver_sees_only_own_topups(client: FlaskClient, pay: Pay, mp_login: Login) -> None:
    alice, bob = mp_login("alice"), mp_login("bob")
    no = top_up(client, alice, 2000)["out_trade_no"]
    assert client.get(f"/api/mp/v1/topups/{no}", headers=bob).status_code == 404
    assert client.get("/api/mp/v1/wallet", headers=bob).get_json()["balance_fen"] == 0
    assert client.get("/api/mp/v1/wallet").status_code == 401
