"""Credentials and base URLs for the WeChat adapters, as plain values.

Each sub-operator has its own mini-program app, official account and merchant account;
the services load them from the database and pass them in. Secrets are kept out of
``repr`` so that a logged credential object shows no key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cryptography import x509

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_PAY_BASE = "https://api.mch.weixin.qq.com"


@dataclass(frozen=True)
class WeChatEndpoints:
    """Base URL per API family; the fake in tests, WeChat in production.

    ``api_base`` serves the mini-program and official-account APIs (``/sns/...``,
    ``/cgi-bin/...``, ``/wxa/...``); ``pay_base`` serves WeChat Pay API v3 (``/v3/...``).
    """

    api_base: str = DEFAULT_API_BASE
    pay_base: str = DEFAULT_PAY_BASE

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_base", self.api_base.rstrip("/"))
        object.__setattr__(self, "pay_base", self.pay_base.rstrip("/"))


DEFAULT_ENDPOINTS = WeChatEndpoints()


@dataclass(frozen=True)
class MiniProgramApp:
    """A mini-program's AppID and AppSecret (mp.weixin.qq.com → 开发管理 → 开发设置)."""

    app_id: str
    app_secret: str = field(repr=False)


@dataclass(frozen=True)
class OfficialAccountApp:
    """An official account's AppID and AppSecret (used for its menu)."""

    app_id: str
    app_secret: str = field(repr=False)


def certificate_serial(cert_pem: str) -> str:
    """The serial WeChat puts in ``Wechatpay-Serial`` for a certificate: upper-case hex."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return format(cert.serial_number, "X")


def normalise_serial(serial: str) -> str:
    return serial.strip().upper()


@dataclass(frozen=True, eq=False)
class MerchantCredentials:
    """One WeChat Pay merchant (直连商户) and how to check what WeChat Pay sends it.

    - ``cert_serial`` and ``private_key_pem``: the merchant API certificate's serial and key
      (``apiclient_key.pem``), which sign our requests.
    - ``apiv3_key``: the 32-character APIv3 key that decrypts notify resources.
    - WeChat's signatures are checked either with platform certificates
      (``platform_certs``: serial → PEM, the older mode) or with the WeChat Pay public key
      (``public_key_id`` ``PUB_KEY_ID_...`` and ``public_key_pem``, mandatory for merchants
      opened since 2024). Both may be configured while a merchant switches over, since
      WeChat then signs with either (WeChat Pay doc 「平台证书切换为微信支付公钥」).
      With neither (a merchant still fetching its first platform certificates), every
      signature is refused as ``UNKNOWN_SERIAL``; ``can_verify`` says so.
    """

    mch_id: str
    app_id: str
    cert_serial: str
    private_key_pem: str = field(repr=False)
    apiv3_key: str = field(repr=False)
    platform_certs: Mapping[str, str] = field(default_factory=dict, repr=False)
    public_key_id: str | None = None
    public_key_pem: str | None = field(default=None, repr=False)
    # further app ids bound to the merchant whose payments it takes (an official account)
    bound_app_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.apiv3_key.encode()) != 32:
            # AEAD_AES_256_GCM: the key is the APIv3 key's 32 bytes as they are
            raise ValueError("apiv3_key must be 32 bytes")
        if (self.public_key_id is None) != (self.public_key_pem is None):
            raise ValueError("public_key_id and public_key_pem go together")
        certs: dict[str, str] = {}
        for serial, pem in self.platform_certs.items():
            actual = certificate_serial(pem)
            if normalise_serial(serial) != actual:
                raise ValueError(f"platform certificate {serial} has serial {actual}")
            certs[actual] = pem
        object.__setattr__(self, "platform_certs", MappingProxyType(certs))
        object.__setattr__(self, "cert_serial", normalise_serial(self.cert_serial))

    @property
    def can_verify(self) -> bool:
        return bool(self.platform_certs) or self.public_key_id is not None
