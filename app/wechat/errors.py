"""Errors raised by the WeChat adapters; each carries a stable machine-readable code."""

from __future__ import annotations

from typing import Any

# errcodes for failures on our side of the wire (WeChat's own codes are >= -1)
NETWORK_ERROR = -900
HTTP_ERROR = -901
BAD_RESPONSE = -902

# mini-program / official-account errcodes that mean "try again later"
_RETRYABLE_ERRCODES = {-1, 45009, 45011, NETWORK_ERROR, HTTP_ERROR}


class WeChatError(Exception):
    """A mini-program / official-account API call failed: WeChat's ``errcode``/``errmsg``.

    Negative codes below -1 are ours: ``NETWORK_ERROR`` (no answer), ``HTTP_ERROR`` (not a
    2xx), ``BAD_RESPONSE`` (an answer that makes no sense). Messages never carry the URL,
    which may hold the AppSecret or an access token.
    """

    code = "WECHAT_API_ERROR"

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def retryable(self) -> bool:
        return self.errcode in _RETRYABLE_ERRCODES


class WeChatPayError(Exception):
    """A WeChat Pay API v3 call failed.

    ``code``/``message`` are WeChat's (``NOT_ENOUGH``, ``ORDER_NOT_EXIST``, ``SIGN_ERROR``...)
    or ours, prefixed ``WXPAY_`` (``WXPAY_UNREACHABLE``, ``WXPAY_RESPONSE_BAD_SIGNATURE``...).
    ``outcome_unknown`` is true when WeChat may have acted anyway (no answer, a 5xx, an answer
    we cannot trust): the caller keeps the operation pending and queries it later with the
    same out_trade_no / out_refund_no, never marks it failed (WeChat Pay refund doc: 「申请退款
    失败重试时请使用原商户退款单号」).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 0,
        outcome_unknown: bool = False,
        detail: Any = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.outcome_unknown = outcome_unknown
        self.detail = detail


class NotifyError(Exception):
    """A pay or refund notify was rejected; nothing in it may be trusted or applied.

    ``http_status`` is what to answer WeChat (any non-2xx makes WeChat retry later).
    """

    def __init__(self, code: str, message: str, *, http_status: int = 401) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
