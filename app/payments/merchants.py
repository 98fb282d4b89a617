"""Each operator's WeChat Pay merchant: credentials, platform keys, readiness (case #22)."""

from __future__ import annotations

from sqlalchemy import select

from app.config import setting
from app.errors import MERCHANT_NOT_CONFIGURED, WECHAT_KEY_KIND_INVALID
from app.extensions import db
from app.payments.models import WeChatPayKey
from app.tenancy.models import Operator
from app.wechat.config import MerchantCredentials, WeChatEndpoints
from app.wechat.errors import NotifyError

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
    """The operator's merchant credentials, or 409 MERCHANT_NOT_CONFIGURED."""
    keys = _keys(op.id) if op.wechat_pay_configured and op.wechat_app_id else []
    if not keys:
        raise MERCHANT_NOT_CONFIGURED(details={"operator_id": op.id, "operator": op.name})
    certs = {k.serial: k.pem for k in keys if k.kind == "certificate"}
    public = next((k for k in keys if k.kind == "public_key"), None)
    return MerchantCredentials(
        mch_id=op.wechat_mch_id,
        app_id=op.wechat_app_id,
        cert_serial=op.wechat_mch_cert_serial,
        private_key_pem=op.wechat_mch_private_key,
        apiv3_key=op.wechat_apiv3_key,
        platform_certs=certs,
        public_key_id=public.serial if public else None,
        public_key_pem=public.pem if public else None,
    )


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


def notify_url(kind: str, mch_id: str) -> str:
    base = str(setting("PAY_NOTIFY_BASE_URL")).rstrip("/")
    return f"{base}/api/mp/v1/pay/{kind}/{mch_id}"


def _operator_by_mch(mch_id: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.wechat_mch_id == mch_id))
    if op is None or not mch_id:
        raise NotifyError(UNKNOWN_MERCHANT, "merchant not configured here", http_status=404)
    return op
