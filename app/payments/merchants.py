"""Each operator's WeChat Pay merchant: credentials, platform keys, readiness (case #22).

WeChat's signatures are checked with keys this module keeps per operator: the platform
certificates, downloaded with ``GET /v3/certificates`` when the merchant's credentials are
saved and again well before they expire (the scheduler), or the WeChat Pay public key the
operator enters (``PUB_KEY_ID_...``). :func:`readiness` says exactly what is missing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from app.config import setting
from app.db import utcnow
from app.errors import (
    MERCHANT_NOT_CONFIGURED,
    MERCHANT_REFUNDS_IN_FLIGHT,
    WECHAT_KEY_KIND_INVALID,
    WECHAT_PUBLIC_KEY_INVALID,
)
from app.extensions import db
from app.payments.models import RefundPart, RefundPartState, TopUpPayment, WeChatPayKey
from app.tenancy import audit
from app.tenancy import operators as tenancy_operators
from app.tenancy.models import Operator
from app.tenancy.scope import Actor
from app.uow import between_units, unit_of_work
from app.wechat import pay
from app.wechat.config import MerchantCredentials, WeChatEndpoints
from app.wechat.crypto import load_certificate
from app.wechat.errors import NotifyError, WeChatPayError

log = logging.getLogger(__name__)

# certificates are renewed this long before they expire (WeChat rotates them yearly and
# serves the new one alongside the old for a while)
RENEW_BEFORE = timedelta(days=30)
MERCHANT_FIELDS = (
    "wechat_mch_id", "wechat_mch_cert_serial", "wechat_mch_private_key", "wechat_apiv3_key",
)  # fmt: skip

UNKNOWN_MERCHANT = "WXPAY_NOTIFY_UNKNOWN_MERCHANT"


def endpoints() -> WeChatEndpoints:
    return WeChatEndpoints(
        api_base=setting("WECHAT_API_BASE"),
        pay_base=setting("WECHAT_PAY_BASE"),
    )


def _keys(operator_id: int) -> list[WeChatPayKey]:
    return list(
        db.session.scalars(select(WeChatPayKey).where(WeChatPayKey.operator_id == operator_id))
    )


def merchant_ready(op: Operator) -> bool:
    """The merchant can be called and its answers checked (case #22)."""
    return op.wechat_pay_configured and bool(op.wechat_app_id) and bool(_keys(op.id))


def merchant_credentials(op: Operator) -> MerchantCredentials:
    """The operator's merchant credentials with the keys that check WeChat's answers, or
    409 MERCHANT_NOT_CONFIGURED."""
    creds = _signing_credentials(op) if op.wechat_app_id else None
    if creds is None or not (creds.platform_certs or creds.public_key_id):
        raise MERCHANT_NOT_CONFIGURED(details={"operator_id": op.id, "operator": op.name})
    return creds


def set_platform_key(op: Operator, kind: str, serial: str, pem: str) -> WeChatPayKey:
    """Trust a platform certificate or the WeChat Pay public key for ``op``; no commit."""
    if kind not in ("certificate", "public_key"):
        raise WECHAT_KEY_KIND_INVALID()
    key = db.session.scalar(
        select(WeChatPayKey).where(WeChatPayKey.operator_id == op.id, WeChatPayKey.serial == serial)
    )
    if key is None:
        key = WeChatPayKey(operator_id=op.id, kind=kind, serial=serial, pem=pem)
        db.session.add(key)
    key.kind, key.pem = kind, pem
    db.session.flush()
    return key


@dataclass(frozen=True, slots=True)
class ReadinessItem:
    key: str  # mini_program | merchant_key | apiv3_key | platform_key
    label: str
    ok: bool
    # "OK", or a stable code for what is missing, with ``detail`` saying it in Chinese
    code: str = "OK"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Readiness:
    """What the operator's WeChat Pay needs, item by item (what the console shows)."""

    items: tuple[ReadinessItem, ...]
    keys: tuple[WeChatPayKey, ...]

    @property
    def ready(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def missing(self) -> list[str]:
        return [item.label for item in self.items if not item.ok]


def _item(key: str, label: str, lacks: list[str], code: str, detail: str = "") -> ReadinessItem:
    """One readiness item: ok when nothing is lacking, else ``code`` and what lacks."""
    if not lacks:
        return ReadinessItem(key, label, True)
    return ReadinessItem(key, label, False, code, detail or "缺少" + "、".join(lacks))


def _platform_key_item(keys: tuple[WeChatPayKey, ...], moment: datetime) -> ReadinessItem:
    label = "微信支付平台证书或微信支付公钥"
    usable = [k for k in keys if k.expires_at is None or k.expires_at > moment]
    if usable:
        return ReadinessItem("platform_key", label, True)
    if keys:
        return _item(
            "platform_key", label, ["有效的平台证书"], "WECHAT_PLATFORM_KEY_EXPIRED",
            "平台证书已过期：请下载平台证书或填写微信支付公钥",
        )  # fmt: skip
    return _item(
        "platform_key", label, ["平台证书"], "WECHAT_PLATFORM_KEY_MISSING",
        "尚无平台证书：保存商户信息后自动下载（或点“下载平台证书”），或填写微信支付公钥",
    )  # fmt: skip


def readiness(op: Operator, *, now: datetime | None = None) -> Readiness:
    moment = now or utcnow()
    keys = tuple(_keys(op.id)) if op.id is not None else ()
    mp = [n for n, v in (("AppID", op.wechat_app_id), ("AppSecret", op.wechat_app_secret)) if not v]
    merchant = [
        name for name, value in (
            ("商户号", op.wechat_mch_id), ("商户证书序列号", op.wechat_mch_cert_serial),
            ("商户私钥", op.wechat_mch_private_key),
        ) if not value
    ]  # fmt: skip
    apiv3 = op.wechat_apiv3_key or ""
    return Readiness(
        (
            _item("mini_program", "小程序 AppID 与 AppSecret", mp, "WECHAT_MINI_PROGRAM_MISSING"),
            _item("merchant_key", "商户号、商户证书序列号与商户私钥", merchant,
                  "WECHAT_MERCHANT_KEY_MISSING"),
            _item("apiv3_key", "APIv3 密钥", [] if len(apiv3) == 32 else ["APIv3 密钥"],
                  "WECHAT_APIV3_KEY_MISSING" if not apiv3 else "WECHAT_APIV3_KEY_INVALID",
                  "" if not apiv3 else "APIv3 密钥应为 32 位"),
            _platform_key_item(keys, moment),
        ),
        keys,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class WeChatAnswer:
    """The outcome of a call we made to WeChat Pay for an operator (console)."""

    ok: bool
    code: str = ""
    message: str = ""
    serials: tuple[str, ...] = ()


def _signing_credentials(op: Operator) -> MerchantCredentials | None:
    """What signs our requests, with whatever keys we already trust (perhaps none yet: the
    first certificate download); None when the merchant's own credentials are incomplete."""
    if not (op.wechat_pay_configured and len(op.wechat_apiv3_key) == 32):
        return None
    keys = _keys(op.id)
    public = next((k for k in keys if k.kind == "public_key"), None)
    return MerchantCredentials(
        mch_id=op.wechat_mch_id,
        app_id=op.wechat_app_id,
        cert_serial=op.wechat_mch_cert_serial,
        private_key_pem=op.wechat_mch_private_key,
        apiv3_key=op.wechat_apiv3_key,
        platform_certs={k.serial: k.pem for k in keys if k.kind == "certificate"},
        public_key_id=public.serial if public else None,
        public_key_pem=public.pem if public else None,
        bound_app_ids=(op.wechat_oa_app_id,) if op.wechat_oa_app_id else (),
    )


_NOT_CONFIGURED = WeChatAnswer(
    False, MERCHANT_NOT_CONFIGURED.code, "商户号、证书序列号、私钥或 APIv3 密钥未填写完整"
)


_KEY_UNREADABLE = WeChatAnswer(False, "MERCHANT_KEY_UNREADABLE", "商户私钥无法读取：应为 PEM 格式")


def refresh_platform_certificates(operator_id: int) -> WeChatAnswer:
    """Download the platform certificates (``GET /v3/certificates``, decrypted with the
    APIv3 key and verified) and trust them; the call goes out between units of work."""
    op = db.session.get(Operator, operator_id)
    creds = _signing_credentials(op) if op is not None else None
    if creds is None:
        return _NOT_CONFIGURED
    between_units()
    try:
        certs = pay.download_platform_certificates(creds, endpoints=endpoints())
    except ValueError:  # the private key we sign with is no PEM key
        return _KEY_UNREADABLE
    except WeChatPayError as err:
        log.warning(
            "platform certificates not downloaded",
            extra={"operator_id": operator_id, "code": err.code, "error": err.message},
        )
        return WeChatAnswer(False, err.code, err.message)
    with unit_of_work():
        op = db.session.get(Operator, operator_id)
        assert op is not None
        for serial, pem in certs.items():
            key = set_platform_key(op, "certificate", serial, pem)
            key.expires_at = load_certificate(pem).not_valid_after_utc
    log.info(
        "platform certificates downloaded",
        extra={"operator_id": operator_id, "serials": sorted(certs)},
    )
    return WeChatAnswer(True, serials=tuple(sorted(certs)))


# A notify naming a serial we lack (WeChat rotated its certificate) fetches the new ones,
# at most this often per operator: a forged notify must not make us call WeChat at will
UNKNOWN_SERIAL_REFRESH_EVERY = 600.0  # seconds
_unknown_serial_refreshes: dict[int, float] = {}


def refresh_for_unknown_serial(operator_id: int) -> bool:
    """Fetch the platform certificates again because a notify named a serial we lack;
    False when it was done too recently (or failed): the notify is then refused and
    WeChat delivers it again later."""
    now = time.monotonic()
    last = _unknown_serial_refreshes.get(operator_id)
    if last is not None and now - last < UNKNOWN_SERIAL_REFRESH_EVERY:
        return False
    _unknown_serial_refreshes[operator_id] = now
    return refresh_platform_certificates(operator_id).ok


def renew_platform_certificates(now: datetime | None = None) -> list[int]:
    """The scheduler's job: every merchant in certificate mode whose certificates are
    missing or expire within :data:`RENEW_BEFORE` downloads them again. Returns the
    operators renewed."""
    moment = now or utcnow()
    renewed: list[int] = []
    for op in db.session.scalars(select(Operator).where(Operator.wechat_mch_id != "")).all():
        keys = _keys(op.id)
        if any(k.kind == "public_key" for k in keys):
            continue  # public-key mode: nothing expires
        certs = [k for k in keys if k.kind == "certificate"]
        latest = max((k.expires_at for k in certs if k.expires_at), default=None)
        if certs and (latest is None or latest > moment + RENEW_BEFORE):
            continue
        if refresh_platform_certificates(op.id).ok:
            renewed.append(op.id)
    return renewed


def test_merchant(operator_id: int) -> WeChatAnswer:
    """A signed request to WeChat Pay (query of an order that does not exist): WeChat's
    signed "ORDER_NOT_EXIST" proves our key, the merchant and the platform key all work."""
    op = db.session.get(Operator, operator_id)
    if op is None:
        return _NOT_CONFIGURED
    creds = merchant_credentials(op)
    between_units()
    try:
        pay.query_by_out_trade_no(creds, "EVOP-CONNECTIVITY-TEST", endpoints=endpoints())
    except ValueError:
        return _KEY_UNREADABLE
    except WeChatPayError as err:
        if err.code == "ORDER_NOT_EXIST":
            return WeChatAnswer(True, err.code, "签名请求成功，微信支付的应答已验签")
        return WeChatAnswer(False, err.code, err.message)
    return WeChatAnswer(True, "", "签名请求成功，微信支付的应答已验签")


def set_public_key(actor: Actor, op: Operator, key_id: str, pem: str) -> WeChatPayKey:
    """Trust the WeChat Pay public key the operator copied from the merchant platform."""
    key_id, pem = key_id.strip(), pem.strip()
    if not key_id.startswith("PUB_KEY_ID_"):
        raise WECHAT_PUBLIC_KEY_INVALID(
            details={"wechat_pay_public_key_id": ["应以 PUB_KEY_ID_ 开头"]}
        )
    try:
        serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise WECHAT_PUBLIC_KEY_INVALID(
            details={"wechat_pay_public_key": ["不是 PEM 格式的公钥"]}
        ) from None
    for old in _keys(op.id):
        if old.kind == "public_key" and old.serial != key_id:
            db.session.delete(old)  # one public key at a time
    key = set_platform_key(op, "public_key", key_id, pem)
    audit.record(
        actor, "operator.wechat_public_key", "operator", op.id, operator_id=op.id,
        after={"public_key_id": key_id},
    )  # fmt: skip
    return key


def save_operator(actor: Actor, operator_id: int | None, data: dict[str, Any]) -> Operator:
    """Create (``operator_id`` None) or update an operator with its WeChat settings; when
    the merchant's credentials changed, the platform certificates are downloaded at once
    (after the save is committed: a WeChat that does not answer never loses the save, and
    :func:`readiness` then shows the platform key as missing)."""
    data = dict(data)
    key_id = data.pop("wechat_pay_public_key_id", None)
    key_pem = data.pop("wechat_pay_public_key", None)
    with unit_of_work():
        if operator_id is not None:
            _refuse_merchant_change_during_refunds(operator_id, data)
        if operator_id is None:
            op = tenancy_operators.create_operator(actor, data)
        else:
            op = tenancy_operators.update_operator(actor, operator_id, data)
        if key_id or key_pem:
            set_public_key(actor, op, key_id or "", key_pem or "")
    if any(data.get(name) for name in MERCHANT_FIELDS) and op.wechat_pay_configured:
        refresh_platform_certificates(op.id)
    return op


def _refuse_merchant_change_during_refunds(operator_id: int, data: dict[str, Any]) -> None:
    """A refund in flight is queried and retried with the merchant it was sent through:
    new credentials under it made the reconcile job fail every two minutes (issue 15,
    Low). Changing them waits until WeChat has answered every refund in flight."""
    op = db.session.get(Operator, operator_id)
    if op is None:
        return  # the update itself says not found
    changing = [
        name for name in MERCHANT_FIELDS
        if data.get(name) is not None and data[name] != getattr(op, name)
    ]  # fmt: skip
    if not changing:
        return
    in_flight = db.session.scalar(
        select(func.count())
        .select_from(RefundPart)
        .join(TopUpPayment, TopUpPayment.id == RefundPart.payment_id)
        .where(
            TopUpPayment.operator_id == operator_id,
            RefundPart.state == RefundPartState.PROCESSING,
        )
    )
    if in_flight:
        raise MERCHANT_REFUNDS_IN_FLIGHT(
            details={"refunds_in_flight": in_flight, "fields": sorted(changing)}
        )


def notify_url(kind: str, mch_id: str) -> str:
    base = str(setting("PAY_NOTIFY_BASE_URL")).rstrip("/")
    return f"{base}/api/mp/v1/pay/{kind}/{mch_id}"


def _operator_by_mch(mch_id: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.wechat_mch_id == mch_id))
    if op is None or not mch_id:
        raise NotifyError(UNKNOWN_MERCHANT, "merchant not configured here", http_status=404)
    return op
