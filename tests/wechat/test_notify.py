"""Pay and refund notifies: the fake signs and encrypts like WeChat; each forgery is refused."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest

from app.wechat.config import MerchantCredentials
from app.wechat.errors import NotifyError
from app.wechat.notify import (
    BAD_HEADERS,
    BAD_JSON,
    BAD_SIGNATURE,
    DECRYPT_FAILED,
    MERCHANT_MISMATCH,
    STALE,
    UNKNOWN_SERIAL,
    WRONG_EVENT,
    failure_reply,
    notify_ids,
    payment_of,
    refund_of,
    reply_for,
    success_reply,
    verify_pay_notify,
    verify_refund_notify,
)
from app.wechat.sandbox.state import DemoMerchant, FakeRefund, FakeWeChat, make_test_merchant

OPENID = "o-driver-7"


@pytest.fixture
def paid(fake: FakeWeChat, merchant: DemoMerchant) -> tuple[dict[str, str], bytes]:
    fake.add_order(merchant, "TOPUP20240301000001", 5000, OPENID)
    return fake.make_pay_notify("TOPUP20240301000001")


def _expect(code: str, headers: dict[str, str], body: bytes, creds: MerchantCredentials) -> None:
    with pytest.raises(NotifyError) as err:
        verify_pay_notify(headers, body, creds)
    assert err.value.code == code


def _resign(fake: FakeWeChat, body: bytes) -> dict[str, str]:
    return fake.sign(body)


def test_pay_notify_verified_and_decrypted(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials, fake: FakeWeChat
) -> None:
    headers, body = paid

    notification = verify_pay_notify(headers, body, creds)

    assert notification.event_type == "TRANSACTION.SUCCESS"
    assert notification.summary == "支付成功"
    payment = payment_of(notification)
    order = fake.find_order("TOPUP20240301000001")
    assert payment.paid and payment.trade_state == "SUCCESS"
    assert payment.transaction_id == order.transaction_id
    assert (payment.out_trade_no, payment.total_fen, payment.payer_openid) == (
        "TOPUP20240301000001",
        5000,
        OPENID,
    )
    ids = notify_ids(notification)
    assert ids.event_id == notification.id
    assert (ids.out_trade_no, ids.transaction_id, ids.mch_id) == (
        "TOPUP20240301000001",
        order.transaction_id,
        creds.mch_id,
    )
    assert ids.refund_id is None


def test_headers_are_found_whatever_their_case(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials
) -> None:
    headers, body = paid

    lowered = {k.lower(): v for k, v in headers.items()}

    assert verify_pay_notify(lowered, body, creds).event_type == "TRANSACTION.SUCCESS"


def test_public_key_mode_notify(
    fake: FakeWeChat, merchant: DemoMerchant, paid: tuple[dict[str, str], bytes]
) -> None:
    fake.signing = "public_key"
    headers, body = fake.make_pay_notify("TOPUP20240301000001")

    assert headers["Wechatpay-Serial"].startswith("PUB_KEY_ID_")
    assert verify_pay_notify(headers, body, merchant.credentials(fake, mode="public_key"))
    # during the switch a merchant trusts both, and WeChat may sign with either
    both = merchant.credentials(fake, mode="both")
    assert verify_pay_notify(headers, body, both)
    assert verify_pay_notify(*paid, both)


def test_forged_signature_is_refused(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials, fake: FakeWeChat
) -> None:
    _, body = paid
    forger = make_test_merchant()  # any key that is not WeChat's

    forged = fake.sign(body, private_key_pem=forger.private_key_pem)

    _expect(BAD_SIGNATURE, forged, body, creds)


def test_wechat_signature_probe_is_refused(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials
) -> None:
    headers, body = paid
    probe = {
        **headers,
        "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"],
    }

    _expect(BAD_SIGNATURE, probe, body, creds)


def test_tampered_body_is_refused(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials
) -> None:
    headers, body = paid

    tampered = body.replace(b'"summary":"', b'"summary":"x')

    assert tampered != body
    _expect(BAD_SIGNATURE, headers, tampered, creds)


def test_stale_notify_is_refused(
    fake: FakeWeChat, merchant: DemoMerchant, creds: MerchantCredentials
) -> None:
    fake.add_order(merchant, "TOPUP20240301000002", 100, OPENID)
    six_minutes_ago = int(time.time()) - 6 * 60

    headers, body = fake.make_pay_notify("TOPUP20240301000002", timestamp=six_minutes_ago)

    _expect(STALE, headers, body, creds)


def test_notify_from_the_future_is_refused_and_four_minutes_is_fine(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials, fake: FakeWeChat
) -> None:
    _, body = paid
    now = int(time.time())

    _expect(STALE, fake.sign(body, timestamp=now + 6 * 60), body, creds)
    assert verify_pay_notify(fake.sign(body, timestamp=now - 4 * 60), body, creds)


def test_now_is_the_callers(paid: tuple[dict[str, str], bytes], creds: MerchantCredentials) -> None:
    headers, body = paid
    later = datetime.fromtimestamp(int(headers["Wechatpay-Timestamp"]) + 301, UTC)

    with pytest.raises(NotifyError) as err:
        verify_pay_notify(headers, body, creds, now=later)
    assert err.value.code == STALE


def test_unknown_serial_is_refused(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials, fake: FakeWeChat
) -> None:
    _, body = paid

    headers = fake.sign(body, serial="5157F09EFDC096DE15EBE81A47057A7232F1B8E1")

    _expect(UNKNOWN_SERIAL, headers, body, creds)


def test_missing_headers_are_refused(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials
) -> None:
    headers, body = paid

    for name in ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Serial"):
        partial = {k: v for k, v in headers.items() if k != name}
        _expect(BAD_HEADERS, partial, body, creds)
    _expect(BAD_HEADERS, {**headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2"}, body, creds)


def test_tampered_ciphertext_does_not_decrypt(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials, fake: FakeWeChat
) -> None:
    _, body = paid
    envelope = json.loads(body)
    sealed = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    sealed[3] ^= 0x01
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    tampered = json.dumps(envelope).encode()

    # signed by WeChat's own key, so only the AES-GCM tag can tell
    _expect(DECRYPT_FAILED, _resign(fake, tampered), tampered, creds)


def test_tampered_associated_data_does_not_decrypt(
    paid: tuple[dict[str, str], bytes], creds: MerchantCredentials, fake: FakeWeChat
) -> None:
    _, body = paid
    envelope = json.loads(body)
    envelope["resource"]["associated_data"] = "certificate"
    tampered = json.dumps(envelope).encode()

    _expect(DECRYPT_FAILED, _resign(fake, tampered), tampered, creds)


def test_notify_encrypted_for_another_merchant_does_not_decrypt(
    fake: FakeWeChat,
    other_merchant: DemoMerchant,
    creds: MerchantCredentials,
) -> None:
    fake.register_merchant(other_merchant)
    fake.add_order(other_merchant, "TOPUP20240301000003", 100, OPENID)

    headers, body = fake.make_pay_notify("TOPUP20240301000003")

    _expect(DECRYPT_FAILED, headers, body, creds)


def test_resource_naming_another_merchant_is_refused(
    fake: FakeWeChat, merchant: DemoMerchant, creds: MerchantCredentials
) -> None:
    order = fake.add_order(merchant, "TOPUP20240301000004", 100, OPENID)
    fake.pay(order.out_trade_no)
    resource = {**order.resource(), "mchid": "1900000999"}
    body = fake.notify_body(
        merchant.apiv3_key, "TRANSACTION.SUCCESS", "支付成功", "transaction", resource
    )

    _expect(MERCHANT_MISMATCH, fake.sign(body), body, creds)


def test_bad_json_is_refused(creds: MerchantCredentials, fake: FakeWeChat) -> None:
    for body in (b"{not json", b"[1, 2]", b'{"event_type": "TRANSACTION.SUCCESS"}'):
        _expect(BAD_JSON, fake.sign(body), body, creds)


def test_wrong_event_type_is_refused(
    fake: FakeWeChat,
    merchant: DemoMerchant,
    creds: MerchantCredentials,
    paid: tuple[dict[str, str], bytes],
) -> None:
    order = fake.find_order("TOPUP20240301000001")
    # a refund event sent where a payment is expected, and the other way round
    refund_body = fake.notify_body(
        merchant.apiv3_key, "REFUND.SUCCESS", "退款成功", "refund", {"mchid": merchant.mch_id}
    )
    _expect(WRONG_EVENT, fake.sign(refund_body), refund_body, creds)

    headers, body = paid
    with pytest.raises(NotifyError) as err:
        verify_refund_notify(headers, body, creds)
    assert err.value.code == WRONG_EVENT

    odd = fake.notify_body(
        merchant.apiv3_key, "TRANSACTION.SUCCESS", "支付成功", "refund", order.resource()
    )
    _expect(WRONG_EVENT, fake.sign(odd), odd, creds)


def test_refund_notify_verified_and_decrypted(
    fake: FakeWeChat, merchant: DemoMerchant, creds: MerchantCredentials
) -> None:
    order = fake.add_order(merchant, "TOPUP20240301000005", 5000, OPENID)
    fake.pay(order.out_trade_no)
    fake.refunds[(merchant.mch_id, "RF20240301000005")] = FakeRefund(
        mch_id=merchant.mch_id,
        out_refund_no="RF20240301000005",
        refund_id="50300000000000000000000000099",
        out_trade_no=order.out_trade_no,
        transaction_id=str(order.transaction_id),
        refund_fen=1500,
        total_fen=5000,
        reason="余额退款",
        notify_url="https://charge.example.cn/refund-notify",
        create_time="2024-03-01T10:00:00+08:00",
    )

    headers, body = fake.make_refund_notify("RF20240301000005", status="ABNORMAL")
    notification = verify_refund_notify(headers, body, creds)

    assert notification.event_type == "REFUND.ABNORMAL"
    refund = refund_of(notification)
    assert (refund.status, refund.refund_fen, refund.total_fen) == ("ABNORMAL", 1500, 5000)
    ids = notify_ids(notification)
    assert (ids.out_refund_no, ids.refund_id, ids.transaction_id) == (
        "RF20240301000005",
        "50300000000000000000000000099",
        order.transaction_id,
    )


def test_replies_wechat_expects() -> None:
    ok = success_reply()
    assert (ok.status, dict(ok.body)) == (200, {"code": "SUCCESS", "message": "成功"})
    failed = failure_reply("系统繁忙")
    assert failed.status == 500
    assert json.loads(failed.json_bytes()) == {"code": "FAIL", "message": "系统繁忙"}
    refused = reply_for(NotifyError(BAD_SIGNATURE, "signature does not verify"))
    assert refused.status == 401 and dict(refused.body)["code"] == "FAIL"
