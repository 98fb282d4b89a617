"""Verify and decrypt WeChat Pay v3 pay and refund notifies (支付通知, 退款结果通知).

:func:`verify_pay_notify` and :func:`verify_refund_notify` take the headers and the raw
body exactly as received, check WeChat's signature (「回调通知验签」, see
:mod:`app.wechat.crypto`), the 5-minute timestamp window, the event type, decrypt the
``AEAD_AES_256_GCM`` resource with the merchant's APIv3 key, and check the merchant in it.
Each refusal is a :class:`~app.wechat.errors.NotifyError` with a stable code.

Replays are the caller's business: the same notify may come many times (WeChat retries
until it gets a 2xx, over about a day), so apply it by its ids (:func:`notify_ids`) at
most once, and answer :func:`success_reply` for one already applied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag

from app.wechat.config import MerchantCredentials
from app.wechat.crypto import SignatureCheckFailed, aes_gcm_decrypt, verify_wechatpay_signature
from app.wechat.errors import NotifyError
from app.wechat.resources import Refund, Transaction

BAD_HEADERS = "WXPAY_NOTIFY_BAD_HEADERS"
STALE = "WXPAY_NOTIFY_STALE"
UNKNOWN_SERIAL = "WXPAY_NOTIFY_UNKNOWN_SERIAL"
BAD_SIGNATURE = "WXPAY_NOTIFY_BAD_SIGNATURE"
BAD_JSON = "WXPAY_NOTIFY_BAD_JSON"
WRONG_EVENT = "WXPAY_NOTIFY_WRONG_EVENT"
DECRYPT_FAILED = "WXPAY_NOTIFY_DECRYPT_FAILED"
MERCHANT_MISMATCH = "WXPAY_NOTIFY_MERCHANT_MISMATCH"

_SIGNATURE_CODES = {
    "BAD_HEADERS": BAD_HEADERS,
    "STALE": STALE,
    "UNKNOWN_SERIAL": UNKNOWN_SERIAL,
    "BAD_SIGNATURE": BAD_SIGNATURE,
}

# event_type → (original_type, associated_data) of its resource
PAY_EVENTS = frozenset({"TRANSACTION.SUCCESS"})
REFUND_EVENTS = frozenset({"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})
_RESOURCE_KIND = {"transaction": PAY_EVENTS, "refund": REFUND_EVENTS}


@dataclass(frozen=True)
class Notification:
    """A verified notify: its envelope and the decrypted resource."""

    id: str
    event_type: str
    create_time: str
    summary: str
    resource: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class NotifyIds:
    """What identifies a notify's effect, for applying it at most once.

    A payment is keyed by ``transaction_id`` (and ``out_trade_no``); a refund by
    ``refund_id`` (and ``out_refund_no``). ``event_id`` is the notify's own id, which is the
    same on every retry of one notify.
    """

    event_id: str
    event_type: str
    mch_id: str
    out_trade_no: str | None
    transaction_id: str | None
    out_refund_no: str | None = None
    refund_id: str | None = None


def verify_pay_notify(
    headers: Mapping[str, Any] | Any,
    body: bytes,
    creds: MerchantCredentials,
    now: datetime | None = None,
) -> Notification:
    """A payment notify (event ``TRANSACTION.SUCCESS``); see :func:`payment_of`."""
    return verify_notify(headers, body, creds, now, kind="transaction")


def verify_refund_notify(
    headers: Mapping[str, Any] | Any,
    body: bytes,
    creds: MerchantCredentials,
    now: datetime | None = None,
) -> Notification:
    """A refund notify (``REFUND.SUCCESS``/``ABNORMAL``/``CLOSED``); see :func:`refund_of`."""
    return verify_notify(headers, body, creds, now, kind="refund")


def verify_notify(
    headers: Mapping[str, Any] | Any,
    body: bytes,
    creds: MerchantCredentials,
    now: datetime | None = None,
    *,
    kind: str,
) -> Notification:
    """Verify and decrypt one notify whose resource is ``kind`` (transaction or refund)."""
    events = _RESOURCE_KIND[kind]
    try:
        verify_wechatpay_signature(headers, body, creds, now)
    except SignatureCheckFailed as exc:
        code = _SIGNATURE_CODES[exc.reason]
        raise NotifyError(code, exc.message, http_status=401) from None

    try:
        envelope = json.loads(body)
    except ValueError:
        raise NotifyError(BAD_JSON, "body is not JSON", http_status=400) from None
    if not isinstance(envelope, dict):
        raise NotifyError(BAD_JSON, "body is not a JSON object", http_status=400)
    event_type = envelope.get("event_type")
    resource = envelope.get("resource")
    if not isinstance(event_type, str) or not isinstance(resource, dict):
        raise NotifyError(BAD_JSON, "no event_type or resource", http_status=400)
    if event_type not in events:
        raise NotifyError(WRONG_EVENT, f"event {event_type} is not a {kind} event", http_status=400)
    if resource.get("original_type") not in (None, kind):
        raise NotifyError(WRONG_EVENT, f"resource is not a {kind}", http_status=400)
    if envelope.get("resource_type", "encrypt-resource") != "encrypt-resource":
        raise NotifyError(BAD_JSON, "resource is not encrypted", http_status=400)
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise NotifyError(BAD_JSON, "unsupported resource algorithm", http_status=400)
    nonce = resource.get("nonce")
    ciphertext = resource.get("ciphertext")
    associated_data = resource.get("associated_data") or ""
    if not isinstance(nonce, str) or not isinstance(ciphertext, str):
        raise NotifyError(BAD_JSON, "resource lacks nonce or ciphertext", http_status=400)
    if not isinstance(associated_data, str):
        raise NotifyError(BAD_JSON, "associated_data is not a string", http_status=400)

    try:
        plaintext = aes_gcm_decrypt(creds.apiv3_key, nonce, ciphertext, associated_data)
    except (InvalidTag, ValueError):
        # wrong APIv3 key, tampered ciphertext/nonce/associated_data
        raise NotifyError(DECRYPT_FAILED, "resource does not decrypt", http_status=400) from None
    try:
        data = json.loads(plaintext)
    except ValueError:
        raise NotifyError(BAD_JSON, "decrypted resource is not JSON", http_status=400) from None
    if not isinstance(data, dict):
        raise NotifyError(BAD_JSON, "decrypted resource is not an object", http_status=400)
    if str(data.get("mchid", "")) != creds.mch_id:
        raise NotifyError(MERCHANT_MISMATCH, "resource is for another merchant", http_status=400)
    if kind == "transaction" and data.get("appid") not in (
        None,
        creds.app_id,
        *creds.bound_app_ids,
    ):
        raise NotifyError(MERCHANT_MISMATCH, "resource is for another app", http_status=400)
    return Notification(
        id=str(envelope.get("id", "")),
        event_type=event_type,
        create_time=str(envelope.get("create_time", "")),
        summary=str(envelope.get("summary", "")),
        resource=data,
    )


def payment_of(notification: Notification) -> Transaction:
    return Transaction.from_resource(notification.resource)


def refund_of(notification: Notification) -> Refund:
    return Refund.from_resource(notification.resource)


def notify_ids(notification: Notification) -> NotifyIds:
    r = notification.resource

    def opt(key: str) -> str | None:
        value = r.get(key)
        return value if isinstance(value, str) and value else None

    return NotifyIds(
        event_id=notification.id,
        event_type=notification.event_type,
        mch_id=str(r.get("mchid", "")),
        out_trade_no=opt("out_trade_no"),
        transaction_id=opt("transaction_id"),
        out_refund_no=opt("out_refund_no"),
        refund_id=opt("refund_id"),
    )


@dataclass(frozen=True)
class NotifyReply:
    """What to answer WeChat: any 2xx ends its retries, anything else asks for another.

    WeChat Pay v3 「通知应答」: success is HTTP 200 or 204; failure is a 4XX/5XX with
    ``{"code": "FAIL", "message": "..."}``. The success body ``{"code": "SUCCESS"}`` is
    what the older docs asked for and is harmless under the newer ones.
    """

    status: int
    body: Mapping[str, str]

    def json_bytes(self) -> bytes:
        return json.dumps(dict(self.body), ensure_ascii=False).encode()


def success_reply() -> NotifyReply:
    return NotifyReply(200, {"code": "SUCCESS", "message": "成功"})


def failure_reply(message: str = "失败", status: int = 500) -> NotifyReply:
    """Ask WeChat to send again later: our failure (500) or a refused notify (4xx)."""
    return NotifyReply(status, {"code": "FAIL", "message": message})


def reply_for(error: NotifyError) -> NotifyReply:
    return failure_reply(error.code, status=error.http_status)
