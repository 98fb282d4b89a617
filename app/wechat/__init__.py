"""WeChat adapters: mini-program and official-account APIs, WeChat Pay API v3, pay notifies.

Every call goes to a configurable base URL (:class:`~app.wechat.config.WeChatEndpoints`),
so tests and the demo point the real client and verification code at the local fake in
:mod:`app.wechat.sandbox`. Nothing here reads Flask config or touches the database: callers
pass credentials and get values or errors back.
"""

from app.wechat.config import (
    DEFAULT_ENDPOINTS,
    MerchantCredentials,
    MiniProgramApp,
    OfficialAccountApp,
    WeChatEndpoints,
)
from app.wechat.errors import NotifyError, WeChatError, WeChatPayError

__all__ = [
    "DEFAULT_ENDPOINTS",
    "MerchantCredentials",
    "MiniProgramApp",
    "NotifyError",
    "OfficialAccountApp",
    "WeChatEndpoints",
    "WeChatError",
    "WeChatPayError",
]
