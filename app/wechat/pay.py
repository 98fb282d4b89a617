"""WeChat Pay API v3 client for JSAPI (mini-program) payments and refunds.

Written on ``requests`` and ``cryptography`` rather than ``wechatpayv3``: that library
hard-codes the gateway URL, takes platform certificates only from a folder and downloads
them over the network inside its constructor, fetches certificates again whenever a
response names an unknown serial, does not check the response timestamp, and reports
every failure as ``None`` or a bare ``Exception``. Here every request is signed over the
exact bytes sent, every 2xx answer is verified against the merchant's configured
certificates or public key (and any signed error answer too), and failures are
:class:`WeChatPayError` with WeChat's code and whether the outcome is known.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests

from app.wechat import bills
from app.wechat.config import DEFAULT_ENDPOINTS, MerchantCredentials, WeChatEndpoints
from app.wechat.crypto import (
    SignatureCheckFailed,
    aes_gcm_decrypt,
    build_authorization,
    has_signed_headers,
    header,
    load_certificate,
    new_nonce,
    rsa_sign,
    verify_wechatpay_signature,
)
from app.wechat.errors import WeChatPayError
from app.wechat.resources import Refund, Transaction

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # seconds, connect and read
USER_AGENT = "evop-wechatpay/1"
_RETRY_CODES = frozenset({"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BIZERR_NEED_RETRY"})


def _json_bytes(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@contextmanager
def _session(http: requests.Session | None) -> Iterator[requests.Session]:
    if http is not None:
        yield http
        return
    with requests.Session() as own:
        yield own


def pay_request(
    creds: MerchantCredentials,
    method: str,
    path: str,
    body: Mapping[str, Any] | None = None,
    *,
    query: Mapping[str, str] | None = None,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """One signed API v3 call; returns the verified JSON answer (``{}`` for 204).

    ``path`` is the API path (``/v3/...``), already percent-encoded; the signature covers
    path and query exactly as sent (「签名生成」: URL 为请求的绝对路径加查询参数).
    """
    endpoints = endpoints or DEFAULT_ENDPOINTS
    url_path = path + ("?" + urlencode(query) if query else "")
    payload = _json_bytes(body) if body is not None else b""
    authorization = build_authorization(
        creds, method, url_path, payload, timestamp=int(time.time()), nonce=new_nonce()
    )
    headers = {
        "Authorization": authorization,
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    if body is not None:
        headers["Content-Type"] = "application/json"
    if creds.public_key_id:
        # public-key mode: name the key WeChat should use for anything it encrypts for us
        headers["Wechatpay-Serial"] = creds.public_key_id
    try:
        with _session(http) as session:
            resp = session.request(
                method,
                endpoints.pay_base + url_path,
                data=payload if body is not None else None,
                headers=headers,
                timeout=timeout,
            )
            content = resp.content
    except requests.RequestException as exc:
        # the message may carry the URL; the type is enough and leaks nothing
        log.warning("wxpay %s %s unreachable: %s", method, path, type(exc).__name__)
        raise WeChatPayError(
            "WXPAY_UNREACHABLE",
            f"WeChat Pay did not answer ({type(exc).__name__})",
            outcome_unknown=True,
        ) from None
    request_id = header(resp.headers, "Request-ID") or ""
    log.info("wxpay %s %s -> %s request_id=%s", method, path, resp.status_code, request_id)
    return _read_answer(creds, resp.status_code, resp.headers, content)


def _read_answer(
    creds: MerchantCredentials, status: int, headers: Any, content: bytes
) -> dict[str, Any]:
    ok = 200 <= status < 300
    if ok or has_signed_headers(headers):
        # a 2xx must be signed; a signed error is checked too, since we act on errors
        try:
            verify_wechatpay_signature(headers, content, creds)
        except SignatureCheckFailed as exc:
            raise WeChatPayError(
                f"WXPAY_RESPONSE_{exc.reason}",
                f"answer not trusted: {exc.message}",
                status=status,
                outcome_unknown=True,
            ) from None
    data: Any = {}
    if content:
        try:
            data = json.loads(content)
        except ValueError:
            data = None
    if ok:
        if not isinstance(data, dict):
            raise WeChatPayError(
                "WXPAY_RESPONSE_BAD_JSON",
                "answer is not a JSON object",
                status=status,
                outcome_unknown=True,
            )
        return data
    code = str(data.get("code")) if isinstance(data, dict) and data.get("code") else ""
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    raise WeChatPayError(
        code or f"WXPAY_HTTP_{status}",
        message or f"HTTP {status}",
        status=status,
        outcome_unknown=status >= 500,
        detail=data.get("detail") if isinstance(data, dict) else None,
    )


def is_retryable(error: WeChatPayError) -> bool:
    """Worth the same request again later (same out_trade_no / out_refund_no)."""
    return error.outcome_unknown or error.code in _RETRY_CODES


def jsapi_prepay(
    creds: MerchantCredentials,
    out_trade_no: str,
    amount_fen: int,
    openid: str,
    description: str,
    notify_url: str,
    *,
    attach: str | None = None,
    time_expire: datetime | None = None,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """JSAPI/mini-program order (``POST /v3/pay/transactions/jsapi``) → ``prepay_id``.

    WeChat answers the same prepay_id when the same order is placed again with the same
    parameters, so a retry after a timeout is safe.
    """
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ValueError("amount_fen must be a positive integer")
    body: dict[str, Any] = {
        "appid": creds.app_id,
        "mchid": creds.mch_id,
        "description": description,
        "out_trade_no": out_trade_no,
        "notify_url": notify_url,
        "amount": {"total": amount_fen, "currency": "CNY"},
        "payer": {"openid": openid},
    }
    if attach is not None:
        body["attach"] = attach
    if time_expire is not None:
        if time_expire.tzinfo is None:
            raise ValueError("time_expire must be timezone-aware (RFC 3339 with an offset)")
        body["time_expire"] = time_expire.isoformat(timespec="seconds")
    data = pay_request(
        creds,
        "POST",
        "/v3/pay/transactions/jsapi",
        body,
        endpoints=endpoints,
        http=http,
        timeout=timeout,
    )
    prepay_id = data.get("prepay_id")
    if not isinstance(prepay_id, str) or not prepay_id:
        raise WeChatPayError(
            "WXPAY_RESPONSE_BAD_JSON",
            "no prepay_id in the answer",
            status=200,
            outcome_unknown=True,
        )
    return prepay_id


def request_payment_params(
    creds: MerchantCredentials,
    prepay_id: str,
    *,
    now: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The arguments of ``wx.requestPayment`` for a prepay_id.

    「小程序调起支付」: paySign = base64(SHA256withRSA(merchant key,
    ``appId\\ntimeStamp\\nnonceStr\\npackage\\n``)), signType ``RSA``, package
    ``prepay_id=...``, timeStamp in seconds as a string.
    """
    timestamp = str(int((now or datetime.now(UTC)).timestamp()))
    nonce = nonce or new_nonce()
    package = f"prepay_id={prepay_id}"
    message = f"{creds.app_id}\n{timestamp}\n{nonce}\n{package}\n".encode()
    return {
        "appId": creds.app_id,
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": rsa_sign(creds.private_key_pem, message),
    }


def query_by_out_trade_no(
    creds: MerchantCredentials,
    out_trade_no: str,
    *,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Transaction:
    """``GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`` (查询订单).

    For payments whose notify never came; an unknown order raises ``ORDER_NOT_EXIST``.
    """
    data = pay_request(
        creds,
        "GET",
        f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}",
        query={"mchid": creds.mch_id},
        endpoints=endpoints,
        http=http,
        timeout=timeout,
    )
    return Transaction.from_resource(data)


def close_order(
    creds: MerchantCredentials,
    out_trade_no: str,
    *,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """``POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`` (关闭订单): 204."""
    pay_request(
        creds,
        "POST",
        f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}/close",
        {"mchid": creds.mch_id},
        endpoints=endpoints,
        http=http,
        timeout=timeout,
    )


def create_refund(
    creds: MerchantCredentials,
    *,
    out_refund_no: str,
    refund_fen: int,
    total_fen: int,
    out_trade_no: str | None = None,
    transaction_id: str | None = None,
    reason: str | None = None,
    notify_url: str | None = None,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Refund:
    """``POST /v3/refund/domestic/refunds`` (申请退款) for one payment, by either id.

    The answer only says the refund was accepted (usually ``PROCESSING``); the result
    comes by refund notify or :func:`query_refund`. Retry with the same out_refund_no:
    WeChat then answers the existing refund instead of refunding twice. WeChat refuses
    refunds more than 365 days after payment and more than 50 partial refunds per payment.
    """
    if (out_trade_no is None) == (transaction_id is None):
        raise ValueError("give exactly one of out_trade_no and transaction_id")
    for name, value in (("refund_fen", refund_fen), ("total_fen", total_fen)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive integer")
    body: dict[str, Any] = (
        {"transaction_id": transaction_id}
        if transaction_id is not None
        else {"out_trade_no": out_trade_no}
    )
    body["out_refund_no"] = out_refund_no
    if reason:
        body["reason"] = reason
    if notify_url:
        body["notify_url"] = notify_url
    body["amount"] = {"refund": refund_fen, "total": total_fen, "currency": "CNY"}
    data = pay_request(
        creds,
        "POST",
        "/v3/refund/domestic/refunds",
        body,
        endpoints=endpoints,
        http=http,
        timeout=timeout,
    )
    return Refund.from_resource(data)


def query_refund(
    creds: MerchantCredentials,
    out_refund_no: str,
    *,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Refund:
    """``GET /v3/refund/domestic/refunds/{out_refund_no}`` (查询单笔退款)."""
    data = pay_request(
        creds,
        "GET",
        f"/v3/refund/domestic/refunds/{quote(out_refund_no, safe='')}",
        endpoints=endpoints,
        http=http,
        timeout=timeout,
    )
    return Refund.from_resource(data)


def download_platform_certificates(
    creds: MerchantCredentials,
    *,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, str]:
    """``GET /v3/certificates`` (下载平台证书) → serial → PEM, for merchants in that mode.

    Each certificate is decrypted with the APIv3 key (associated_data ``certificate``),
    and the answer must verify with a configured key or with one of the certificates it
    brings (the first download has nothing else: 「使用下载的证书验证应答签名」) — which
    the APIv3 key decryption makes trustworthy.
    """
    endpoints = endpoints or DEFAULT_ENDPOINTS
    url_path = "/v3/certificates"
    authorization = build_authorization(
        creds, "GET", url_path, b"", timestamp=int(time.time()), nonce=new_nonce()
    )
    headers = {
        "Authorization": authorization,
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    try:
        with _session(http) as session:
            resp = session.get(endpoints.pay_base + url_path, headers=headers, timeout=timeout)
            content = resp.content
    except requests.RequestException as exc:
        raise WeChatPayError(
            "WXPAY_UNREACHABLE",
            f"WeChat Pay did not answer ({type(exc).__name__})",
            outcome_unknown=True,
        ) from None
    if not 200 <= resp.status_code < 300:
        _read_answer(creds, resp.status_code, resp.headers, content)
    try:
        items = json.loads(content)["data"]
        certs: dict[str, str] = {}
        for item in items:
            enc = item["encrypt_certificate"]
            pem = aes_gcm_decrypt(
                creds.apiv3_key, enc["nonce"], enc["ciphertext"], enc["associated_data"]
            ).decode()
            serial = format(load_certificate(pem).serial_number, "X")
            certs[serial] = pem
    except Exception:  # any malformed or undecryptable answer is one failure to us
        raise WeChatPayError(
            "WXPAY_RESPONSE_BAD_JSON", "certificates answer unreadable", status=resp.status_code
        ) from None
    trusted = replace(creds, platform_certs={**creds.platform_certs, **certs})
    _read_answer(trusted, resp.status_code, resp.headers, content)
    return certs


def apply_bill(
    creds: MerchantCredentials,
    kind: str,
    bill_date: str,
    *,
    tar_type: str | None = None,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """``GET /v3/bill/tradebill`` (kind ``trade``) or ``/v3/bill/fundflowbill`` (``fundflow``,
    the basic account). ``tar_type`` ``GZIP`` asks for the file gzipped (then download it
    with the same ``tar_type``).

    Answers ``{hash_type, hash_value, download_url}``; a day not ready yet is WeChat's
    400 ``NO_STATEMENT_EXIST`` (raised as :class:`WeChatPayError`, for the caller to keep
    as a state).
    """
    if kind == "trade":
        path, query = "/v3/bill/tradebill", {"bill_date": bill_date, "bill_type": "ALL"}
    else:
        path, query = "/v3/bill/fundflowbill", {"bill_date": bill_date, "account_type": "BASIC"}
    if tar_type:
        query["tar_type"] = tar_type
    return pay_request(
        creds, "GET", path, query=query, endpoints=endpoints, http=http, timeout=timeout
    )


def download_bill(
    creds: MerchantCredentials,
    download_url: str,
    hash_value: str,
    *,
    tar_type: str | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """Download a bill file (signed GET on ``download_url``), check its SHA1, un-gzip it.

    WeChat does not sign the file itself: the hash from :func:`apply_bill` is the proof.
    """
    parts = urlsplit(download_url)
    url_path = parts.path + ("?" + parts.query if parts.query else "")
    authorization = build_authorization(
        creds, "GET", url_path, b"", timestamp=int(time.time()), nonce=new_nonce()
    )
    headers = {"Authorization": authorization, "User-Agent": USER_AGENT}
    try:
        with _session(http) as session:
            resp = session.get(download_url, headers=headers, timeout=timeout)
            content = resp.content
    except requests.RequestException as exc:
        raise WeChatPayError(
            "WXPAY_UNREACHABLE",
            f"WeChat Pay did not answer ({type(exc).__name__})",
            outcome_unknown=True,
        ) from None
    if not 200 <= resp.status_code < 300:
        _read_answer(creds, resp.status_code, resp.headers, content)
    data = bills.decompress(content, tar_type)
    bills.verify_sha1(data, hash_value)
    return data
