"""A local fake WeChat for tests and the demo: mini-program APIs and WeChat Pay API v3.

It signs, verifies and encrypts as WeChat does, with its own code on ``cryptography``
(not :mod:`app.wechat.crypto`, so a mistake there cannot hide behind the same mistake
here): merchant requests must carry a valid ``WECHATPAY2-SHA256-RSA2048`` Authorization
(else 401 ``SIGN_ERROR``), answers and notifies are signed with a platform key whose
self-signed certificate (or ``PUB_KEY_ID_...`` public key) it makes at start, and notify
resources are ``AEAD_AES_256_GCM`` under the merchant's APIv3 key. It records what it
receives (``subscribe_messages``, ``refund_requests``, ``menus``...) and can be scripted
to fail (``fail_next_refund``, ``refuse_subscribe``, ``expire_access_tokens``,
``corrupt_next_signature``).

    fake = FakeWeChat()
    merchant = make_test_merchant()
    fake.register_merchant(merchant)
    fake.register_app("wx-demo-app", "secret")
    with FakeWeChatServer(fake) as server:       # real HTTP on 127.0.0.1
        creds = merchant.credentials(fake)
        jsapi_prepay(creds, ..., endpoints=server.endpoints)
        headers, body = fake.make_pay_notify("T1")
        fake.deliver("http://127.0.0.1:5000/api/mp/v1/pay/notify", headers, body, times=2)

Mini-program conventions: ``wx.login`` codes ``code-<openid>`` log in as ``<openid>``;
``getPhoneNumber`` codes ``phone-<digits>`` give that number; anything else is 40029.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app.wechat.config import MerchantCredentials, WeChatEndpoints

log = logging.getLogger(__name__)

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
_ALNUM = string.ascii_letters + string.digits
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_OUT_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{6,64}$")


def _nonce(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, CST).isoformat(timespec="seconds")


def _pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _pem_public(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _sign(key_pem: str, message: bytes) -> str:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def _verify(public_pem: str, message: bytes, signature_b64: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature_b64), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def encrypt_resource(apiv3_key: str, plaintext: bytes, associated_data: str) -> dict[str, str]:
    """WeChat's ``AEAD_AES_256_GCM``: key = APIv3 key bytes, 12-character nonce, AAD."""
    nonce = _nonce(12)
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


@dataclass(frozen=True)
class PlatformKeys:
    """WeChat Pay's side: a platform certificate and, for public-key mode, a public key."""

    cert_private_key_pem: str = field(repr=False)
    cert_pem: str
    cert_serial: str
    public_key_id: str
    public_key_private_pem: str = field(repr=False)
    public_key_pem: str

    @classmethod
    def generate(cls) -> PlatformKeys:
        cert_key = _new_key()
        now = datetime.now(UTC)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com (fake)"),
                x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (fake)"),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(cert_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(cert_key, hashes.SHA256())
        )
        pub_key = _new_key()
        return cls(
            cert_private_key_pem=_pem_private(cert_key),
            cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            cert_serial=format(cert.serial_number, "X"),
            public_key_id="PUB_KEY_ID_" + "".join(secrets.choice(string.digits) for _ in range(28)),
            public_key_private_pem=_pem_private(pub_key),
            public_key_pem=_pem_public(pub_key.public_key()),
        )


@dataclass(frozen=True)
class DemoMerchant:
    """A merchant made up for tests and the demo: its key pair, cert serial, APIv3 key."""

    mch_id: str
    app_id: str
    cert_serial: str
    private_key_pem: str = field(repr=False)
    public_key_pem: str
    apiv3_key: str = field(repr=False)

    def credentials(self, fake: FakeWeChat, mode: str = "certificate") -> MerchantCredentials:
        """Its credentials as the platform stores them, trusting ``fake``'s platform keys.

        ``mode``: ``certificate`` (platform certificate), ``public_key`` or ``both``.
        """
        p = fake.platform
        certs = {p.cert_serial: p.cert_pem} if mode in ("certificate", "both") else {}
        with_pub = mode in ("public_key", "both")
        return MerchantCredentials(
            mch_id=self.mch_id,
            app_id=self.app_id,
            cert_serial=self.cert_serial,
            private_key_pem=self.private_key_pem,
            apiv3_key=self.apiv3_key,
            platform_certs=certs,
            public_key_id=p.public_key_id if with_pub else None,
            public_key_pem=p.public_key_pem if with_pub else None,
        )


def make_test_merchant(
    mch_id: str = "1900000109", app_id: str = "wxd678efh567hg6787"
) -> DemoMerchant:
    key = _new_key()
    return DemoMerchant(
        mch_id=mch_id,
        app_id=app_id,
        cert_serial=secrets.token_hex(20).upper(),
        private_key_pem=_pem_private(key),
        public_key_pem=_pem_public(key.public_key()),
        apiv3_key=_nonce(32),
    )


@dataclass
class FakeOrder:
    mch_id: str
    app_id: str
    out_trade_no: str
    total_fen: int
    openid: str
    description: str
    notify_url: str
    prepay_id: str
    attach: str = ""
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None

    def resource(self) -> dict[str, Any]:
        """The transaction as the query API and the pay notify show it."""
        data: dict[str, Any] = {
            "appid": self.app_id,
            "mchid": self.mch_id,
            "out_trade_no": self.out_trade_no,
            "trade_type": "JSAPI",
            "trade_state": self.trade_state,
            "trade_state_desc": _TRADE_STATE_DESC.get(self.trade_state, ""),
            "attach": self.attach,
            "payer": {"openid": self.openid},
            "amount": {"total": self.total_fen, "currency": "CNY", "payer_currency": "CNY"},
        }
        if self.transaction_id:
            data["transaction_id"] = self.transaction_id
            data["bank_type"] = "OTHERS"
            data["success_time"] = self.success_time
            data["amount"]["payer_total"] = self.total_fen
        return data


_TRADE_STATE_DESC = {
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "NOTPAY": "订单未支付",
    "CLOSED": "订单已关闭",
}


@dataclass
class FakeRefund:
    mch_id: str
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund_fen: int
    total_fen: int
    reason: str
    notify_url: str
    create_time: str
    status: str = "PROCESSING"
    success_time: str | None = None

    def resource(self) -> dict[str, Any]:
        """The refund as the refund API and its query answer show it."""
        data: dict[str, Any] = {
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": self.create_time,
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": self.total_fen,
                "refund": self.refund_fen,
                "payer_total": self.total_fen,
                "payer_refund": self.refund_fen,
                "settlement_total": self.total_fen,
                "settlement_refund": self.refund_fen,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if self.success_time:
            data["success_time"] = self.success_time
        return data

    def notify_resource(self) -> dict[str, Any]:
        """The refund as the refund notify shows it (``refund_status``, fewer amounts)."""
        data: dict[str, Any] = {
            "mchid": self.mch_id,
            "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": self.total_fen,
                "refund": self.refund_fen,
                "payer_total": self.total_fen,
                "payer_refund": self.refund_fen,
            },
        }
        if self.success_time:
            data["success_time"] = self.success_time
        return data


class _PayFailure(Exception):
    def __init__(self, status: int, code: str, message: str, *, signed: bool = True) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.signed = signed


class _ApiFailure(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg


class FakeWeChat:
    """The fake's state: keys, registered apps and merchants, orders, recordings, scripts.

    Every method is safe to call from the test thread while the server thread serves.
    """

    def __init__(
        self,
        platform: PlatformKeys | None = None,
        *,
        signing: str = "certificate",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.platform = platform or PlatformKeys.generate()
        if signing not in ("certificate", "public_key"):
            raise ValueError("signing is 'certificate' or 'public_key'")
        self.signing = signing  # which platform key signs answers and notifies
        self.clock = clock
        self.lock = threading.RLock()
        self._seq = 0
        # mini-program and official account
        self.apps: dict[str, str] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (app_id, expires_at)
        self.token_requests: list[str] = []
        self.single_use_codes = False
        self.used_codes: set[tuple[str, str]] = set()
        self.phone_codes: dict[str, str] = {}
        self.refused_subscribers: set[str] = set()
        self.subscribe_messages: list[dict[str, Any]] = []
        self.menus: dict[str, dict[str, Any]] = {}
        # WeChat Pay
        self.merchants: dict[str, DemoMerchant] = {}
        self.orders: dict[tuple[str, str], FakeOrder] = {}
        self.refunds: dict[tuple[str, str], FakeRefund] = {}
        self.pay_requests: list[dict[str, Any]] = []
        self.refund_requests: list[dict[str, Any]] = []
        self.refund_initial_status = "PROCESSING"
        self._refund_failures: list[tuple[int, str, str]] = []
        self._corrupt_signatures = 0

    # -- set-up and scripts -------------------------------------------------------------

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    def register_app(self, app_id: str, app_secret: str) -> None:
        with self.lock:
            self.apps[app_id] = app_secret

    def register_merchant(self, merchant: DemoMerchant) -> None:
        """WeChat now knows the merchant's certificate (public key) and APIv3 key."""
        with self.lock:
            self.merchants[merchant.mch_id] = merchant

    def expire_access_tokens(self) -> None:
        """Every issued token is now expired: the next call gets errcode 42001."""
        with self.lock:
            self.tokens = {t: (app_id, 0.0) for t, (app_id, _) in self.tokens.items()}

    def refuse_subscribe(self, openid: str) -> None:
        """Messages to ``openid`` fail with 43101 (the user has not subscribed)."""
        with self.lock:
            self.refused_subscribers.add(openid)

    def fail_next_refund(
        self,
        code: str = "NOT_ENOUGH",
        message: str = "基本账户余额不足，请充值后重新发起",
        status: int = 403,
    ) -> None:
        with self.lock:
            self._refund_failures.append((status, code, message))

    def corrupt_next_signature(self, count: int = 1) -> None:
        """The next ``count`` signed answers carry a signature that does not verify."""
        with self.lock:
            self._corrupt_signatures += count

    def add_order(
        self,
        merchant: DemoMerchant,
        out_trade_no: str,
        total_fen: int,
        openid: str,
        *,
        notify_url: str = "https://merchant.example/notify",
        description: str = "充值",
    ) -> FakeOrder:
        """An order as if the merchant had placed it (for notify tests without HTTP)."""
        order = FakeOrder(
            mch_id=merchant.mch_id,
            app_id=merchant.app_id,
            out_trade_no=out_trade_no,
            total_fen=total_fen,
            openid=openid,
            description=description,
            notify_url=notify_url,
            prepay_id=self._prepay_id(),
        )
        with self.lock:
            self.orders[(merchant.mch_id, out_trade_no)] = order
        return order

    def find_order(self, out_trade_no: str, mch_id: str | None = None) -> FakeOrder:
        with self.lock:
            found = [
                o
                for (m, no), o in self.orders.items()
                if no == out_trade_no and (mch_id is None or m == mch_id)
            ]
        if len(found) != 1:
            raise KeyError(f"no single order {out_trade_no}")
        return found[0]

    def find_refund(self, out_refund_no: str, mch_id: str | None = None) -> FakeRefund:
        with self.lock:
            found = [
                r
                for (m, no), r in self.refunds.items()
                if no == out_refund_no and (mch_id is None or m == mch_id)
            ]
        if len(found) != 1:
            raise KeyError(f"no single refund {out_refund_no}")
        return found[0]

    def pay(self, out_trade_no: str, mch_id: str | None = None) -> FakeOrder:
        """The driver pays: the order becomes SUCCESS with a transaction id."""
        order = self.find_order(out_trade_no, mch_id)
        with self.lock:
            if order.trade_state == "NOTPAY":
                now = self.clock()
                order.trade_state = "SUCCESS"
                order.transaction_id = (
                    "42000"
                    + datetime.fromtimestamp(now, CST).strftime("%Y%m%d")
                    + f"{self.next_seq():015d}"
                )
                order.success_time = _rfc3339(now)
        return order

    def complete_refund(
        self, out_refund_no: str, status: str = "SUCCESS", mch_id: str | None = None
    ) -> FakeRefund:
        """The refund reaches its end: SUCCESS, ABNORMAL (e.g. card closed) or CLOSED."""
        refund = self.find_refund(out_refund_no, mch_id)
        with self.lock:
            refund.status = status
            if status == "SUCCESS":
                refund.success_time = _rfc3339(self.clock())
                order = self.orders.get((refund.mch_id, refund.out_trade_no))
                if order is not None:
                    order.trade_state = "REFUND"
        return refund

    # -- signing and notifies -----------------------------------------------------------

    def signing_serial_and_key(self) -> tuple[str, str]:
        p = self.platform
        if self.signing == "public_key":
            return p.public_key_id, p.public_key_private_pem
        return p.cert_serial, p.cert_private_key_pem

    def sign(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        serial: str | None = None,
        private_key_pem: str | None = None,
    ) -> dict[str, str]:
        """WeChat's signature headers for ``body``: SHA256withRSA over ts\\nnonce\\nbody\\n.

        ``serial`` and ``private_key_pem`` override the platform's (for forgeries).
        """
        own_serial, own_key = self.signing_serial_and_key()
        ts = str(int(self.clock()) if timestamp is None else timestamp)
        nonce = nonce or _nonce(32)
        message = f"{ts}\n{nonce}\n".encode() + body + b"\n"
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": _sign(private_key_pem or own_key, message),
            "Wechatpay-Serial": serial or own_serial,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Content-Type": "application/json",
        }

    def notify_body(
        self,
        apiv3_key: str,
        event_type: str,
        summary: str,
        original_type: str,
        resource: Mapping[str, Any],
        *,
        associated_data: str | None = None,
        create_time: float | None = None,
    ) -> bytes:
        """A notify body: the envelope with ``resource`` encrypted under ``apiv3_key``."""
        plaintext = json.dumps(dict(resource), ensure_ascii=False).encode()
        envelope = {
            "id": str(uuid.uuid4()),
            "create_time": _rfc3339(self.clock() if create_time is None else create_time),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                **encrypt_resource(
                    apiv3_key,
                    plaintext,
                    original_type if associated_data is None else associated_data,
                ),
            },
        }
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()

    def make_pay_notify(
        self,
        out_trade_no: str,
        *,
        mch_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A signed, encrypted ``TRANSACTION.SUCCESS`` notify; pays the order if unpaid."""
        order = self.pay(out_trade_no, mch_id)
        merchant = self.merchants[order.mch_id]
        body = self.notify_body(
            merchant.apiv3_key, "TRANSACTION.SUCCESS", "支付成功", "transaction", order.resource()
        )
        return self.sign(body, timestamp=timestamp), body

    def make_refund_notify(
        self,
        out_refund_no: str,
        *,
        status: str = "SUCCESS",
        mch_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A signed, encrypted ``REFUND.<status>`` notify; completes the refund first."""
        refund = self.complete_refund(out_refund_no, status, mch_id)
        merchant = self.merchants[refund.mch_id]
        summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[status]
        body = self.notify_body(
            merchant.apiv3_key, f"REFUND.{status}", summary, "refund", refund.notify_resource()
        )
        return self.sign(body, timestamp=timestamp), body

    def deliver(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        times: int = 1,
        timeout: float = 5.0,
    ) -> list[requests.Response]:
        """POST a notify to ``url`` like WeChat, ``times`` times (the same bytes each time)."""
        answers = []
        with requests.Session() as session:
            for _ in range(times):
                resp = session.post(url, data=body, headers=dict(headers), timeout=timeout)
                resp.close()
                answers.append(resp)
        return answers

    def deliver_pay_notify(
        self, out_trade_no: str, *, times: int = 1, mch_id: str | None = None
    ) -> list[requests.Response]:
        """Pay the order and POST its notify to the notify_url the merchant gave."""
        headers, body = self.make_pay_notify(out_trade_no, mch_id=mch_id)
        url = self.find_order(out_trade_no, mch_id).notify_url
        return self.deliver(url, headers, body, times=times)

    def deliver_refund_notify(
        self,
        out_refund_no: str,
        *,
        status: str = "SUCCESS",
        times: int = 1,
        mch_id: str | None = None,
    ) -> list[requests.Response]:
        """End the refund and POST its notify to the refund's notify_url."""
        headers, body = self.make_refund_notify(out_refund_no, status=status, mch_id=mch_id)
        url = self.find_refund(out_refund_no, mch_id).notify_url
        if not url:
            raise ValueError(f"refund {out_refund_no} was made without a notify_url")
        return self.deliver(url, headers, body, times=times)

    # -- internals used by the routes ---------------------------------------------------

    def _prepay_id(self) -> str:
        stamp = datetime.fromtimestamp(self.clock(), CST).strftime("%d%H%M%S")
        return f"wx{stamp}{self.next_seq():010d}{_nonce(8)}"

    def _signed_response(self, status: int, payload: Mapping[str, Any] | None) -> Response:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = self.sign(body)
        with self.lock:
            if self._corrupt_signatures:
                self._corrupt_signatures -= 1
                sig = base64.b64decode(headers["Wechatpay-Signature"])
                headers["Wechatpay-Signature"] = base64.b64encode(
                    bytes([sig[0] ^ 1]) + sig[1:]
                ).decode()
        headers["Request-ID"] = f"fake-{uuid.uuid4()}"
        if payload is None:
            headers.pop("Content-Type")
        return Response(body, status=status, headers=headers)

    def _pay_failure_response(self, exc: _PayFailure) -> Response:
        payload = {"code": exc.code, "message": exc.message}
        if exc.signed:
            return self._signed_response(exc.status, payload)
        body = json.dumps(payload, ensure_ascii=False).encode()
        return Response(body, status=exc.status, content_type="application/json")

    def _authenticate(self) -> DemoMerchant:
        """Check the merchant's Authorization as WeChat Pay does (「签名生成」 in reverse)."""
        auth = request.headers.get("Authorization", "")
        scheme, _, rest = auth.partition(" ")
        if scheme != SIGNATURE_TYPE:
            raise _PayFailure(401, "SIGN_ERROR", "Authorization 格式不正确", signed=False)
        params = dict(_AUTH_PARAM.findall(rest))
        needed = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
        if any(not params.get(k) for k in needed):
            raise _PayFailure(401, "SIGN_ERROR", "Authorization 缺少参数", signed=False)
        with self.lock:
            merchant = self.merchants.get(params["mchid"])
        if merchant is None:
            raise _PayFailure(401, "SIGN_ERROR", "商户证书不存在或未配置", signed=False)
        if params["serial_no"].upper() != merchant.cert_serial:
            raise _PayFailure(401, "SIGN_ERROR", "商户证书序列号有误", signed=False)
        try:
            ts = int(params["timestamp"])
        except ValueError:
            raise _PayFailure(401, "SIGN_ERROR", "时间戳格式错误", signed=False) from None
        if abs(self.clock() - ts) > 300:
            raise _PayFailure(401, "SIGN_ERROR", "请求时间戳已过期", signed=False)
        message = (
            f"{request.method}\n{_signed_url()}\n{ts}\n{params['nonce_str']}\n".encode()
            + request.get_data()
            + b"\n"
        )
        if not _verify(merchant.public_key_pem, message, params["signature"]):
            raise _PayFailure(401, "SIGN_ERROR", "签名错误", signed=False)
        return merchant

    def _require_token(self) -> str:
        token = request.args.get("access_token", "")
        if not token:
            raise _ApiFailure(41001, "access_token missing")
        with self.lock:
            entry = self.tokens.get(token)
        if entry is None:
            raise _ApiFailure(40001, "invalid credential, access_token is invalid or not latest")
        app_id, expires = entry
        if self.clock() >= expires:
            raise _ApiFailure(42001, "access_token expired")
        return app_id

    def _check_app(self, app_id: str, secret: str) -> None:
        with self.lock:
            known = self.apps.get(app_id)
        if known is None:
            raise _ApiFailure(40013, "invalid appid")
        if not secrets.compare_digest(known, secret):
            raise _ApiFailure(40125, "invalid appsecret")


def _signed_url() -> str:
    """The request target as the merchant sent (and signed) it, without a mount prefix."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    root = request.script_root
    if raw:
        return raw[len(root) :] if root and raw.startswith(root) else raw
    query = request.environ.get("QUERY_STRING", "")
    return quote(request.path) + ("?" + query if query else "")


def _json_body() -> dict[str, Any]:
    try:
        data = json.loads(request.get_data() or b"null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _PayFailure(400, "PARAM_ERROR", "请求体不是合法的 JSON 对象")
    return data


def _api_body() -> Any:
    # WeChat reads the body as JSON whatever the Content-Type (wechatpy sends none)
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        return None


def _sub(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _api_json(payload: Mapping[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(body, status=200, content_type="application/json; charset=utf-8")


def create_fake_wechat(state: FakeWeChat | None = None) -> Flask:
    """The fake WeChat as a Flask app (both API families on one host)."""
    fake = state or FakeWeChat()
    app = Flask("fake_wechat")
    app.extensions["fake_wechat"] = fake

    @app.errorhandler(_ApiFailure)
    def _api_failure(exc: _ApiFailure) -> Response:
        # WeChat's mini-program APIs answer errors with HTTP 200 and an errcode
        return _api_json({"errcode": exc.errcode, "errmsg": exc.errmsg})

    @app.errorhandler(_PayFailure)
    def _pay_failure(exc: _PayFailure) -> Response:
        return fake._pay_failure_response(exc)

    # -- mini-program / official account -----------------------------------------------

    @app.get("/cgi-bin/token")
    def token() -> Response:
        args = request.args
        if args.get("grant_type") != "client_credential":
            raise _ApiFailure(40002, "invalid grant_type")
        app_id = args.get("appid", "")
        fake._check_app(app_id, args.get("secret", ""))
        access_token = f"fake-at-{fake.next_seq()}-{_nonce(24)}"
        with fake.lock:
            fake.tokens[access_token] = (app_id, fake.clock() + 7200)
            fake.token_requests.append(app_id)
        return _api_json({"access_token": access_token, "expires_in": 7200})

    @app.get("/sns/jscode2session")
    def jscode2session() -> Response:
        args = request.args
        app_id = args.get("appid", "")
        fake._check_app(app_id, args.get("secret", ""))
        if args.get("grant_type") != "authorization_code":
            raise _ApiFailure(40002, "invalid grant_type")
        code = args.get("js_code", "")
        openid = code[len("code-") :] if code.startswith("code-") else ""
        if not openid:
            raise _ApiFailure(40029, "invalid code")
        with fake.lock:
            if fake.single_use_codes and (app_id, code) in fake.used_codes:
                raise _ApiFailure(40163, "code been used")
            fake.used_codes.add((app_id, code))
        digest = hashlib.sha256(f"{app_id}:{openid}".encode()).digest()
        return _api_json(
            {
                "openid": openid,
                "unionid": "union-" + openid,
                "session_key": base64.b64encode(digest[:16]).decode(),
            }
        )

    @app.post("/wxa/business/getuserphonenumber")
    def getuserphonenumber() -> Response:
        app_id = fake._require_token()
        data = _api_body()
        if not isinstance(data, dict):
            raise _ApiFailure(47001, "data format error")
        code = str(data.get("code", ""))
        with fake.lock:
            phone = fake.phone_codes.get(code)
        if phone is None and code.startswith("phone-") and code[6:].isdigit():
            phone = code[6:]
        if not phone:
            raise _ApiFailure(40029, "invalid code")
        return _api_json(
            {
                "errcode": 0,
                "errmsg": "ok",
                "phone_info": {
                    "phoneNumber": phone,
                    "purePhoneNumber": phone,
                    "countryCode": "86",
                    "watermark": {"timestamp": int(fake.clock()), "appid": app_id},
                },
            }
        )

    @app.post("/cgi-bin/message/subscribe/send")
    def subscribe_send() -> Response:
        app_id = fake._require_token()
        data = _api_body()
        if not isinstance(data, dict):
            raise _ApiFailure(47001, "data format error")
        touser, template_id = data.get("touser"), data.get("template_id")
        if not touser or not template_id:
            raise _ApiFailure(47003, "argument invalid! touser or template_id")
        fields = data.get("data")
        if not isinstance(fields, dict) or not fields:
            raise _ApiFailure(47003, "argument invalid! data")
        for key, value in fields.items():
            if not isinstance(value, dict) or not isinstance(value.get("value"), str):
                raise _ApiFailure(47003, f"argument invalid! data.{key}.value invalid")
        with fake.lock:
            if touser in fake.refused_subscribers:
                raise _ApiFailure(43101, "user refuse to accept the msg")
            msgid = fake.next_seq()
            fake.subscribe_messages.append(
                {
                    "app_id": app_id,
                    "touser": touser,
                    "template_id": template_id,
                    "page": data.get("page"),
                    "data": fields,
                    "msgid": msgid,
                }
            )
        return _api_json({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    @app.post("/cgi-bin/menu/create")
    def menu_create() -> Response:
        app_id = fake._require_token()
        data = _api_body()
        if not isinstance(data, dict) or not isinstance(data.get("button"), list):
            raise _ApiFailure(47001, "data format error")
        buttons = data["button"]
        if not 1 <= len(buttons) <= 3:
            raise _ApiFailure(40016, "invalid button size")
        for button in buttons:
            subs = button.get("sub_button") if isinstance(button, dict) else None
            if isinstance(subs, list) and "type" not in button:
                if not 1 <= len(subs) <= 5:
                    raise _ApiFailure(40023, "invalid sub button size")
                for sub in subs:
                    _check_menu_button(sub)
                if not button.get("name"):
                    raise _ApiFailure(40018, "invalid button name size")
            else:
                _check_menu_button(button)
        with fake.lock:
            fake.menus[app_id] = data
        return _api_json({"errcode": 0, "errmsg": "ok"})

    # -- WeChat Pay API v3 --------------------------------------------------------------

    @app.post("/v3/pay/transactions/jsapi")
    def jsapi() -> Response:
        merchant = fake._authenticate()
        data = _json_body()
        amount = _sub(data, "amount")
        payer = _sub(data, "payer")
        out_trade_no = str(data.get("out_trade_no", ""))
        notify_url = str(data.get("notify_url", ""))
        for name in ("appid", "mchid", "description", "out_trade_no", "notify_url"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise _PayFailure(400, "PARAM_ERROR", f"缺少参数 {name}")
        if data["mchid"] != merchant.mch_id:
            raise _PayFailure(400, "PARAM_ERROR", "mchid与请求方商户号不一致")
        if data["appid"] != merchant.app_id:
            raise _PayFailure(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not _OUT_NO.match(out_trade_no) or len(out_trade_no) > 32:
            raise _PayFailure(400, "PARAM_ERROR", "out_trade_no 格式错误")
        if not notify_url.startswith(("https://", "http://")):
            raise _PayFailure(400, "PARAM_ERROR", "notify_url 格式错误")
        if not _positive_int(amount.get("total")) or amount.get("currency", "CNY") != "CNY":
            raise _PayFailure(400, "PARAM_ERROR", "amount.total 必须为正整数")
        openid = payer.get("openid")
        if not isinstance(openid, str) or not openid:
            raise _PayFailure(400, "PARAM_ERROR", "缺少参数 payer.openid")
        with fake.lock:
            fake.pay_requests.append(data)
            existing = fake.orders.get((merchant.mch_id, out_trade_no))
            if existing is not None:
                if existing.trade_state in ("SUCCESS", "REFUND"):
                    raise _PayFailure(400, "ORDERPAID", "该订单已支付")
                if existing.trade_state == "CLOSED":
                    raise _PayFailure(400, "ORDER_CLOSED", "订单已关闭")
                same = (existing.total_fen, existing.openid, existing.description) == (
                    amount["total"],
                    openid,
                    data["description"],
                )
                if not same:
                    raise _PayFailure(400, "OUT_TRADE_NO_USED", "商户订单号重复")
                return fake._signed_response(200, {"prepay_id": existing.prepay_id})
            order = FakeOrder(
                mch_id=merchant.mch_id,
                app_id=merchant.app_id,
                out_trade_no=out_trade_no,
                total_fen=amount["total"],
                openid=openid,
                description=data["description"],
                notify_url=notify_url,
                prepay_id=fake._prepay_id(),
                attach=str(data.get("attach", "")),
            )
            fake.orders[(merchant.mch_id, out_trade_no)] = order
        return fake._signed_response(200, {"prepay_id": order.prepay_id})

    @app.get("/v3/pay/transactions/out-trade-no/<out_trade_no>")
    def query_order(out_trade_no: str) -> Response:
        merchant = fake._authenticate()
        if request.args.get("mchid") != merchant.mch_id:
            raise _PayFailure(400, "PARAM_ERROR", "mchid与请求方商户号不一致")
        with fake.lock:
            order = fake.orders.get((merchant.mch_id, out_trade_no))
            if order is None:
                raise _PayFailure(404, "ORDER_NOT_EXIST", "订单不存在")
            return fake._signed_response(200, order.resource())

    @app.post("/v3/pay/transactions/out-trade-no/<out_trade_no>/close")
    def close_order(out_trade_no: str) -> Response:
        merchant = fake._authenticate()
        data = _json_body()
        if data.get("mchid") != merchant.mch_id:
            raise _PayFailure(400, "PARAM_ERROR", "mchid与请求方商户号不一致")
        with fake.lock:
            order = fake.orders.get((merchant.mch_id, out_trade_no))
            if order is None:
                raise _PayFailure(404, "ORDER_NOT_EXIST", "订单不存在")
            if order.trade_state in ("SUCCESS", "REFUND"):
                raise _PayFailure(400, "ORDERPAID", "该订单已支付")
            order.trade_state = "CLOSED"
        return fake._signed_response(204, None)

    @app.post("/v3/refund/domestic/refunds")
    def create_refund() -> Response:
        merchant = fake._authenticate()
        data = _json_body()
        amount = _sub(data, "amount")
        out_refund_no = str(data.get("out_refund_no", ""))
        if not _OUT_NO.match(out_refund_no):
            raise _PayFailure(400, "PARAM_ERROR", "out_refund_no 格式错误")
        if not _positive_int(amount.get("refund")) or not _positive_int(amount.get("total")):
            raise _PayFailure(400, "PARAM_ERROR", "amount.refund/total 必须为正整数")
        with fake.lock:
            fake.refund_requests.append({"mch_id": merchant.mch_id, **data})
            order = _order_for_refund(fake, merchant.mch_id, data)
            if order is None or order.transaction_id is None:
                raise _PayFailure(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            if fake._refund_failures:
                status, code, message = fake._refund_failures.pop(0)
                raise _PayFailure(status, code, message)
            existing = fake.refunds.get((merchant.mch_id, out_refund_no))
            if existing is not None:
                if existing.refund_fen != amount["refund"]:
                    raise _PayFailure(400, "PARAM_ERROR", "同一退款单号的退款金额不一致")
                return fake._signed_response(200, existing.resource())
            if amount["total"] != order.total_fen:
                raise _PayFailure(400, "PARAM_ERROR", "订单金额或退款金额与之前请求不一致")
            previous = [
                r
                for r in fake.refunds.values()
                if r.mch_id == merchant.mch_id
                and r.out_trade_no == order.out_trade_no
                and r.status != "CLOSED"
            ]
            if len(previous) >= 50:
                raise _PayFailure(403, "INVALID_REQUEST", "部分退款次数超过50次")
            if sum(r.refund_fen for r in previous) + amount["refund"] > order.total_fen:
                raise _PayFailure(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            now = fake.clock()
            refund = FakeRefund(
                mch_id=merchant.mch_id,
                out_refund_no=out_refund_no,
                refund_id=f"50300{fake.next_seq():024d}",
                out_trade_no=order.out_trade_no,
                transaction_id=order.transaction_id,
                refund_fen=amount["refund"],
                total_fen=amount["total"],
                reason=str(data.get("reason", "")),
                notify_url=str(data.get("notify_url", "")),
                create_time=_rfc3339(now),
                status=fake.refund_initial_status,
                success_time=_rfc3339(now) if fake.refund_initial_status == "SUCCESS" else None,
            )
            fake.refunds[(merchant.mch_id, out_refund_no)] = refund
            return fake._signed_response(200, refund.resource())

    @app.get("/v3/refund/domestic/refunds/<out_refund_no>")
    def query_refund(out_refund_no: str) -> Response:
        merchant = fake._authenticate()
        with fake.lock:
            refund = fake.refunds.get((merchant.mch_id, out_refund_no))
            if refund is None:
                raise _PayFailure(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return fake._signed_response(200, refund.resource())

    @app.get("/v3/certificates")
    def certificates() -> Response:
        merchant = fake._authenticate()
        p = fake.platform
        cert = x509.load_pem_x509_certificate(p.cert_pem.encode())
        item = {
            "serial_no": p.cert_serial,
            "effective_time": cert.not_valid_before_utc.astimezone(CST).isoformat(),
            "expire_time": cert.not_valid_after_utc.astimezone(CST).isoformat(),
            "encrypt_certificate": encrypt_resource(
                merchant.apiv3_key, p.cert_pem.encode(), "certificate"
            ),
        }
        return fake._signed_response(200, {"data": [item]})

    return app


def _order_for_refund(fake: FakeWeChat, mch_id: str, data: Mapping[str, Any]) -> FakeOrder | None:
    if data.get("transaction_id"):
        for order in fake.orders.values():
            if order.mch_id == mch_id and order.transaction_id == data["transaction_id"]:
                return order
        return None
    return fake.orders.get((mch_id, str(data.get("out_trade_no", ""))))


def _check_menu_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("name"):
        raise _ApiFailure(40018, "invalid button name size")
    kind = button.get("type")
    required = {
        "click": ("key",),
        "view": ("url",),
        "miniprogram": ("appid", "pagepath", "url"),
        "scancode_push": ("key",),
        "scancode_waitmsg": ("key",),
        "media_id": ("media_id",),
        "article_id": ("article_id",),
    }.get(str(kind))
    if required is None:
        raise _ApiFailure(40017, "invalid button type")
    missing = [name for name in required if not button.get(name)]
    if missing:
        raise _ApiFailure(47001, f"data format error: {kind} button needs {', '.join(missing)}")


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("fake wechat: " + message, *args)


class FakeWeChatServer:
    """The fake served over real HTTP on 127.0.0.1 in a thread; a context manager."""

    def __init__(self, state: FakeWeChat | None = None, host: str = "127.0.0.1", port: int = 0):
        self.state = state or FakeWeChat()
        self._server: BaseWSGIServer = make_server(
            host,
            port,
            create_fake_wechat(self.state),
            threaded=True,
            request_handler=_QuietHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="fake-wechat",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    @property
    def endpoints(self) -> WeChatEndpoints:
        return WeChatEndpoints(api_base=self.base_url, pay_base=self.base_url)

    def start(self) -> FakeWeChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeWeChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
