"""How the fake signs, verifies and encrypts as WeChat does (keys, certificate, notify bodies),
with its own code on ``cryptography``: a mistake in :mod:`app.wechat.crypto` cannot hide here.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
_ALNUM = string.ascii_letters + string.digits


def new_nonce(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, CST).isoformat(timespec="seconds")


def pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def pem_public(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_sign(key_pem: str, message: bytes) -> str:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_pem: str, message: bytes, signature_b64: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature_b64), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def signature_headers(
    body: bytes, *, timestamp: str, nonce: str, serial: str, private_key_pem: str
) -> dict[str, str]:
    """The headers WeChat signs ``body`` with: SHA256withRSA over ts\\nnonce\\nbody\\n."""
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(private_key_pem, message),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        "Content-Type": "application/json",
    }


def encrypt_resource(apiv3_key: str, plaintext: bytes, associated_data: str) -> dict[str, str]:
    """WeChat's ``AEAD_AES_256_GCM``: key = APIv3 key bytes, 12-character nonce, AAD."""
    nonce = new_nonce(12)
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def notify_envelope(
    apiv3_key: str,
    event_type: str,
    summary: str,
    original_type: str,
    resource: Mapping[str, Any],
    *,
    associated_data: str,
    create_time: float,
) -> bytes:
    """A notify body: the envelope with ``resource`` encrypted under ``apiv3_key``."""
    plaintext = json.dumps(dict(resource), ensure_ascii=False).encode()
    envelope = {
        "id": str(uuid.uuid4()),
        "create_time": rfc3339(create_time),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            **encrypt_resource(apiv3_key, plaintext, associated_data),
        },
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


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
        cert_key = new_key()
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
        pub_key = new_key()
        return cls(
            cert_private_key_pem=pem_private(cert_key),
            cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            cert_serial=format(cert.serial_number, "X"),
            public_key_id="PUB_KEY_ID_" + "".join(secrets.choice(string.digits) for _ in range(28)),
            public_key_private_pem=pem_private(pub_key),
            public_key_pem=pem_public(pub_key.public_key()),
        )
