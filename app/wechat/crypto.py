"""WeChat Pay API v3 signatures and AES-256-GCM, on ``cryptography``.

The rules (WeChat Pay API v3 「签名生成」「签名验证」「证书和回调报文解密」):

- a request is signed ``SHA256withRSA`` with the merchant key over
  ``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n`` and sent as
  ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="",nonce_str="",signature="",
  timestamp="",serial_no=""``;
- a response or callback is signed by WeChat over ``timestamp\\nnonce\\nbody\\n`` and sent in
  ``Wechatpay-Timestamp``/``-Nonce``/``-Signature``/``-Serial``; ``Wechatpay-Serial`` names
  the platform certificate (its serial in upper-case hex) or the WeChat Pay public key
  (``PUB_KEY_ID_...``); a timestamp more than 5 minutes off is refused;
- a callback's ``resource`` is ``AEAD_AES_256_GCM`` with the APIv3 key's 32 bytes as key,
  the 12-character ``nonce`` as IV and ``associated_data`` as AAD; the ciphertext is
  base64 of the encrypted bytes followed by the 16-byte tag.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.wechat.config import MerchantCredentials, normalise_serial

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW = 300  # seconds: 「时间戳与当前时间相差超过5分钟的应拒绝」
_NONCE_ALPHABET = string.ascii_letters + string.digits


def new_nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


@lru_cache(maxsize=128)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the merchant key must be RSA")
    return key


@lru_cache(maxsize=256)
def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the WeChat Pay public key must be RSA")
    return key


@lru_cache(maxsize=256)
def load_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def rsa_sign(private_key_pem: str, message: bytes) -> str:
    key = load_private_key(private_key_pem)
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def request_message(method: str, url: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """「签名生成」: what the merchant signs for one request (URL = path and query)."""
    return f"{method}\n{url}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """「签名验证」: what WeChat signs for a response or a callback, body as received."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def build_authorization(
    creds: MerchantCredentials,
    method: str,
    url: str,
    body: bytes,
    *,
    timestamp: int,
    nonce: str,
) -> str:
    signature = rsa_sign(
        creds.private_key_pem, request_message(method, url, str(timestamp), nonce, body)
    )
    return (
        f'{SIGNATURE_TYPE} mchid="{creds.mch_id}",nonce_str="{nonce}",'
        f'signature="{signature}",timestamp="{timestamp}",serial_no="{creds.cert_serial}"'
    )


def aes_gcm_decrypt(apiv3_key: str, nonce: str, ciphertext_b64: str, associated_data: str) -> bytes:
    """Raises ``cryptography.exceptions.InvalidTag`` or ``ValueError`` when it cannot."""
    data = base64.b64decode(ciphertext_b64, validate=True)
    return AESGCM(apiv3_key.encode()).decrypt(nonce.encode(), data, associated_data.encode())


def header(headers: Mapping[str, Any] | Any, name: str) -> str | None:
    """A header by name whatever the mapping's case rules (werkzeug Headers or a dict)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if str(key).lower() == lowered:
                value = candidate
                break
    return None if value is None else str(value)


class SignatureCheckFailed(Exception):
    """Why a WeChat signature was refused: ``BAD_HEADERS``, ``STALE``, ``UNKNOWN_SERIAL``,
    ``BAD_SIGNATURE``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class SignedHeaders:
    timestamp: str
    nonce: str
    signature: str
    serial: str


def read_signed_headers(headers: Mapping[str, Any] | Any) -> SignedHeaders:
    values = {
        name: header(headers, f"Wechatpay-{name}")
        for name in ("Timestamp", "Nonce", "Signature", "Serial")
    }
    missing = sorted(name for name, value in values.items() if not value)
    if missing:
        raise SignatureCheckFailed(
            "BAD_HEADERS", "missing " + ", ".join(f"Wechatpay-{m}" for m in missing)
        )
    signature_type = header(headers, "Wechatpay-Signature-Type")
    if signature_type is not None and signature_type != SIGNATURE_TYPE:
        raise SignatureCheckFailed("BAD_HEADERS", f"unsupported signature type {signature_type}")
    return SignedHeaders(
        timestamp=values["Timestamp"] or "",
        nonce=values["Nonce"] or "",
        signature=values["Signature"] or "",
        serial=values["Serial"] or "",
    )


def has_signed_headers(headers: Mapping[str, Any] | Any) -> bool:
    return header(headers, "Wechatpay-Signature") is not None


def verification_key(
    creds: MerchantCredentials, serial: str, now: datetime
) -> rsa.RSAPublicKey | None:
    """The key WeChat signed with, chosen by ``Wechatpay-Serial``; None if we know none.

    Only the certificates and public key configured for this merchant count: an unknown
    serial is refused, never fetched on demand (a forged request must not make us call
    out). A certificate outside its validity period counts as unknown.
    """
    if creds.public_key_id is not None and creds.public_key_pem and serial == creds.public_key_id:
        return load_public_key(creds.public_key_pem)
    pem = creds.platform_certs.get(normalise_serial(serial))
    if pem is None:
        return None
    cert = load_certificate(pem)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return None
    key = cert.public_key()
    return key if isinstance(key, rsa.RSAPublicKey) else None


def verify_wechatpay_signature(
    headers: Mapping[str, Any] | Any,
    body: bytes,
    creds: MerchantCredentials,
    now: datetime | None = None,
) -> SignedHeaders:
    """Check WeChat's signature on a response or callback; raise ``SignatureCheckFailed``.

    The body is verified as the exact bytes received, never re-serialised.
    """
    now = now or datetime.now(UTC)
    signed = read_signed_headers(headers)
    try:
        timestamp = int(signed.timestamp)
    except ValueError:
        raise SignatureCheckFailed("BAD_HEADERS", "Wechatpay-Timestamp is not a number") from None
    if abs(now.timestamp() - timestamp) > MAX_CLOCK_SKEW:
        raise SignatureCheckFailed("STALE", "timestamp more than 5 minutes off")
    key = verification_key(creds, signed.serial, now)
    if key is None:
        raise SignatureCheckFailed("UNKNOWN_SERIAL", "unknown Wechatpay-Serial")
    # WeChat's probes (「签名探测流量」) carry signatures starting WECHATPAY/SIGNTEST/: they
    # fail here like any forgery, which is the answer WeChat expects
    if not rsa_verify(
        key, response_message(signed.timestamp, signed.nonce, body), signed.signature
    ):
        raise SignatureCheckFailed("BAD_SIGNATURE", "signature does not verify")
    return signed
