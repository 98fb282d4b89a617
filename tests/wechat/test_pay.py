"""WeChat Pay API v3 client against the fake over HTTP: prepay, paySign, query, refunds."""

from __future__ import annotations

import base64
import dataclasses
import functools
import socket

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.wechat.config import MerchantCredentials, WeChatEndpoints
from app.wechat.errors import WeChatPayError
from app.wechat.pay import (
    close_order,
    create_refund,
    download_platform_certificates,
    is_retryable,
    jsapi_prepay,
    query_by_out_trade_no,
    query_refund,
    request_payment_params,
)
from app.wechat.sandbox.state import DemoMerchant, FakeWeChat, make_test_merchant

NOTIFY = "https://charge.example.cn/api/mp/v1/pay/notify/1900000109"
REFUND_NOTIFY = "https://charge.example.cn/api/mp/v1/refund/notify/1900000109"


def _prepay(creds: MerchantCredentials, endpoints: WeChatEndpoints, no: str, fen: int) -> str:
    return jsapi_prepay(creds, no, fen, "o-driver-1", "钱包充值", NOTIFY, endpoints=endpoints)


def _paid_order(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat, no: str, fen: int
) -> str:
    _prepay(creds, endpoints, no, fen)
    order = fake.pay(no)
    assert order.transaction_id
    return order.transaction_id


def test_jsapi_prepay_places_the_order_as_asked(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    prepay_id = _prepay(creds, endpoints, "TOPUP20240101000001", 5000)

    assert prepay_id.startswith("wx")
    assert fake.pay_requests == [
        {
            "appid": creds.app_id,
            "mchid": creds.mch_id,
            "description": "钱包充值",
            "out_trade_no": "TOPUP20240101000001",
            "notify_url": NOTIFY,
            "amount": {"total": 5000, "currency": "CNY"},
            "payer": {"openid": "o-driver-1"},
        }
    ]


def test_jsapi_prepay_again_with_the_same_order_gives_the_same_prepay_id(
    creds: MerchantCredentials, endpoints: WeChatEndpoints
) -> None:
    first = _prepay(creds, endpoints, "TOPUP20240101000002", 5000)

    assert _prepay(creds, endpoints, "TOPUP20240101000002", 5000) == first
    with pytest.raises(WeChatPayError) as err:
        _prepay(creds, endpoints, "TOPUP20240101000002", 6000)
    assert (err.value.status, err.value.code) == (400, "OUT_TRADE_NO_USED")
    assert not err.value.outcome_unknown


def test_request_payment_params_are_signed_with_the_merchant_key(
    creds: MerchantCredentials, merchant: DemoMerchant
) -> None:
    params = request_payment_params(creds, "wx201410272009395522657a690389285100")

    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == creds.app_id
    assert params["package"] == "prepay_id=wx201410272009395522657a690389285100"
    assert params["signType"] == "RSA"
    assert params["timeStamp"].isdigit()
    # what the WeChat client checks: appId\ntimeStamp\nnonceStr\npackage\n, SHA256withRSA
    message = "".join(
        params[k] + "\n" for k in ("appId", "timeStamp", "nonceStr", "package")
    ).encode()
    public_key = serialization.load_pem_public_key(merchant.public_key_pem.encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(
        base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256()
    )
    with pytest.raises(InvalidSignature):
        public_key.verify(
            base64.b64decode(params["paySign"]),
            message.replace(b"prepay_id=wx", b"prepay_id=wy"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )


def test_query_follows_the_order_from_notpay_to_success(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    _prepay(creds, endpoints, "TOPUP20240101000003", 5000)
    before = query_by_out_trade_no(creds, "TOPUP20240101000003", endpoints=endpoints)
    fake.pay("TOPUP20240101000003")
    after = query_by_out_trade_no(creds, "TOPUP20240101000003", endpoints=endpoints)

    assert (before.trade_state, before.paid, before.transaction_id) == ("NOTPAY", False, None)
    assert after.paid and after.trade_state == "SUCCESS"
    assert after.transaction_id and after.success_time
    assert (after.total_fen, after.payer_total_fen, after.payer_openid) == (
        5000,
        5000,
        "o-driver-1",
    )
    assert (after.mch_id, after.app_id) == (creds.mch_id, creds.app_id)


def test_query_unknown_order(creds: MerchantCredentials, endpoints: WeChatEndpoints) -> None:
    with pytest.raises(WeChatPayError) as err:
        query_by_out_trade_no(creds, "NO-SUCH-ORDER-1", endpoints=endpoints)

    assert (err.value.status, err.value.code) == (404, "ORDER_NOT_EXIST")
    assert err.value.message == "订单不存在"


def test_close_an_unpaid_order(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    _prepay(creds, endpoints, "TOPUP20240101000004", 5000)

    close_order(creds, "TOPUP20240101000004", endpoints=endpoints)

    assert fake.find_order("TOPUP20240101000004").trade_state == "CLOSED"


def test_public_key_mode(
    merchant: DemoMerchant, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    fake.signing = "public_key"
    creds = merchant.credentials(fake, mode="public_key")

    assert _prepay(creds, endpoints, "TOPUP20240101000005", 100)
    assert not creds.platform_certs


def test_merchant_unknown_to_wechat_gets_401_sign_error(
    fake: FakeWeChat, endpoints: WeChatEndpoints
) -> None:
    stranger = make_test_merchant("1900000999", "wx1234567890abcdef")

    with pytest.raises(WeChatPayError) as err:
        _prepay(stranger.credentials(fake), endpoints, "TOPUP20240101000006", 100)

    assert (err.value.status, err.value.code) == (401, "SIGN_ERROR")
    assert fake.pay_requests == []


def test_request_signed_with_the_wrong_key_gets_401_sign_error(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    impostor = dataclasses.replace(creds, private_key_pem=make_test_merchant().private_key_pem)

    with pytest.raises(WeChatPayError) as err:
        _prepay(impostor, endpoints, "TOPUP20240101000007", 100)

    assert (err.value.status, err.value.code) == (401, "SIGN_ERROR")
    assert fake.orders == {}


def test_answer_with_a_bad_signature_is_not_trusted(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    fake.corrupt_next_signature()

    with pytest.raises(WeChatPayError) as err:
        _prepay(creds, endpoints, "TOPUP20240101000008", 100)

    assert err.value.code == "WXPAY_RESPONSE_BAD_SIGNATURE"
    assert err.value.outcome_unknown and is_retryable(err.value)


def test_answer_signed_by_an_unknown_platform_key_is_not_trusted(
    merchant: DemoMerchant, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    fake.signing = "public_key"  # WeChat switched; this merchant still has certificates only
    creds = merchant.credentials(fake, mode="certificate")

    with pytest.raises(WeChatPayError) as err:
        _prepay(creds, endpoints, "TOPUP20240101000009", 100)

    assert err.value.code == "WXPAY_RESPONSE_UNKNOWN_SERIAL"
    assert err.value.outcome_unknown


def test_unreachable_pay_gateway_leaves_the_outcome_unknown(creds: MerchantCredentials) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = WeChatEndpoints(pay_base=f"http://127.0.0.1:{port}")

    with pytest.raises(WeChatPayError) as err:
        jsapi_prepay(creds, "TOPUP20240101000010", 100, "o", "充值", NOTIFY, endpoints=nowhere)

    assert err.value.code == "WXPAY_UNREACHABLE"
    assert err.value.outcome_unknown


def test_refund_accepted_then_succeeds(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    transaction_id = _paid_order(creds, endpoints, fake, "TOPUP20240101000011", 5000)

    refund = create_refund(
        creds,
        out_refund_no="RF20240101000011",
        refund_fen=1234,
        total_fen=5000,
        transaction_id=transaction_id,
        reason="余额退款",
        notify_url=REFUND_NOTIFY,
        endpoints=endpoints,
    )

    assert refund.status == "PROCESSING" and not refund.final
    assert refund.refund_id
    assert (refund.refund_fen, refund.total_fen) == (1234, 5000)
    assert (refund.out_trade_no, refund.transaction_id) == ("TOPUP20240101000011", transaction_id)
    assert fake.refund_requests == [
        {
            "mch_id": creds.mch_id,
            "transaction_id": transaction_id,
            "out_refund_no": "RF20240101000011",
            "reason": "余额退款",
            "notify_url": REFUND_NOTIFY,
            "amount": {"refund": 1234, "total": 5000, "currency": "CNY"},
        }
    ]

    fake.complete_refund("RF20240101000011")
    done = query_refund(creds, "RF20240101000011", endpoints=endpoints)
    assert done.status == "SUCCESS" and done.final and done.success_time
    assert done.refund_id == refund.refund_id


def test_refund_repeated_with_the_same_number_is_the_same_refund(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    _paid_order(creds, endpoints, fake, "TOPUP20240101000012", 5000)
    refund = functools.partial(
        create_refund,
        creds,
        out_refund_no="RF20240101000012",
        refund_fen=5000,
        total_fen=5000,
        out_trade_no="TOPUP20240101000012",
        endpoints=endpoints,
    )

    first, again = refund(), refund()

    assert first.refund_id == again.refund_id
    assert len(fake.refunds) == 1


def test_refund_fails_with_wechats_reason(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    _paid_order(creds, endpoints, fake, "TOPUP20240101000013", 5000)
    fake.fail_next_refund("NOT_ENOUGH", "基本账户余额不足，请充值后重新发起")

    with pytest.raises(WeChatPayError) as err:
        create_refund(
            creds,
            out_refund_no="RF20240101000013",
            refund_fen=5000,
            total_fen=5000,
            out_trade_no="TOPUP20240101000013",
            endpoints=endpoints,
        )

    assert (err.value.status, err.value.code) == (403, "NOT_ENOUGH")
    assert err.value.message == "基本账户余额不足，请充值后重新发起"
    assert not err.value.outcome_unknown  # WeChat refused: the refund can be marked failed
    assert fake.refunds == {}


def test_refund_more_than_is_left_is_refused(
    creds: MerchantCredentials, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    _paid_order(creds, endpoints, fake, "TOPUP20240101000014", 5000)
    create_refund(
        creds, out_refund_no="RF20240101000014A", refund_fen=3000, total_fen=5000,
        out_trade_no="TOPUP20240101000014", endpoints=endpoints,
    )  # fmt: skip

    with pytest.raises(WeChatPayError) as err:
        create_refund(
            creds, out_refund_no="RF20240101000014B", refund_fen=2001, total_fen=5000,
            out_trade_no="TOPUP20240101000014", endpoints=endpoints,
        )  # fmt: skip

    assert (err.value.status, err.value.code) == (400, "INVALID_REQUEST")


def test_refund_of_an_unpaid_order_is_refused(
    creds: MerchantCredentials, endpoints: WeChatEndpoints
) -> None:
    _prepay(creds, endpoints, "TOPUP20240101000015", 5000)

    with pytest.raises(WeChatPayError) as err:
        create_refund(
            creds, out_refund_no="RF20240101000015", refund_fen=100, total_fen=5000,
            out_trade_no="TOPUP20240101000015", endpoints=endpoints,
        )  # fmt: skip

    assert (err.value.status, err.value.code) == (404, "RESOURCE_NOT_EXISTS")


def test_refund_needs_exactly_one_payment_id(creds: MerchantCredentials) -> None:
    with pytest.raises(ValueError):
        create_refund(creds, out_refund_no="RF1234567", refund_fen=1, total_fen=1)
    with pytest.raises(ValueError):
        create_refund(
            creds, out_refund_no="RF1234567", refund_fen=1, total_fen=1,
            out_trade_no="A123456", transaction_id="4200000001",
        )  # fmt: skip


def test_query_unknown_refund(creds: MerchantCredentials, endpoints: WeChatEndpoints) -> None:
    with pytest.raises(WeChatPayError) as err:
        query_refund(creds, "RF-NOT-THERE-1", endpoints=endpoints)

    assert (err.value.status, err.value.code) == (404, "RESOURCE_NOT_EXISTS")


def test_each_sub_operator_refunds_with_its_own_merchant(
    creds: MerchantCredentials,
    other_merchant: DemoMerchant,
    endpoints: WeChatEndpoints,
    fake: FakeWeChat,
) -> None:
    fake.register_merchant(other_merchant)
    other = other_merchant.credentials(fake)
    _paid_order(creds, endpoints, fake, "TOPUP20240101000016", 5000)

    with pytest.raises(WeChatPayError) as err:  # the money is not in the other account
        create_refund(
            other, out_refund_no="RF20240101000016", refund_fen=100, total_fen=5000,
            out_trade_no="TOPUP20240101000016", endpoints=endpoints,
        )  # fmt: skip
    assert err.value.code == "RESOURCE_NOT_EXISTS"


def test_download_platform_certificates(
    merchant: DemoMerchant, endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    # a merchant that has no platform certificate yet (first download)
    bare = dataclasses.replace(merchant.credentials(fake), platform_certs={})
    assert not bare.can_verify

    certs = download_platform_certificates(bare, endpoints=endpoints)

    assert certs == {fake.platform.cert_serial: fake.platform.cert_pem}
