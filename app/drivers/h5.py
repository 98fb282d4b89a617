"""What the H5 pages (official-account menus) need besides the drivers' API: the account
they log in with, the web-authorization address, and the JS-SDK signature for scanning."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

from app.config import setting
from app.errors import OFFICIAL_ACCOUNT_UNKNOWN, WECHAT_UNAVAILABLE
from app.extensions import db
from app.tenancy.models import Driver, Operator
from app.tenancy.wechat_accounts import (
    default_official_account,
    endpoints,
    official_account_of,
    token_store,
)
from app.wechat import miniprogram
from app.wechat.errors import WeChatError


def authorize_url(app_id: str, redirect_uri: str, state: str) -> str:
    """「网页授权」: the page WeChat shows (silently for snsapi_base) before it redirects
    to ``redirect_uri`` with ``code`` and ``state``."""
    query = urlencode(
        {
            "appid": app_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    base = str(setting("WECHAT_OPEN_BASE")).rstrip("/")
    return f"{base}/connect/oauth2/authorize?{query}#wechat_redirect"


def config(app_id: str | None, redirect_uri: str | None, state: str) -> dict[str, Any]:
    oa = app_id or default_official_account()
    return {
        "oa_app_id": oa,
        "authorize_url": authorize_url(oa, redirect_uri, state) if oa and redirect_uri else None,
        "cashier_url": setting("WECHAT_SANDBOX_CASHIER_URL") or None,
    }


def jssdk_config(driver: Driver, url: str) -> dict[str, Any]:
    """``wx.config``'s arguments for the page at ``url`` (its address without ``#``)."""
    op = db.session.get(Operator, driver.operator_id)
    if op is None or not op.wechat_oa_app_id or not op.wechat_oa_app_secret:
        raise OFFICIAL_ACCOUNT_UNKNOWN()
    oa = official_account_of(op)
    try:
        ticket = miniprogram.jsapi_ticket(oa, endpoints=endpoints(), store=token_store())
    except WeChatError as exc:
        raise WECHAT_UNAVAILABLE(details={"errcode": exc.errcode}) from None
    nonce, timestamp = secrets.token_hex(8), int(time.time())
    return {
        "appId": oa.app_id,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": miniprogram.jssdk_signature(ticket, url, nonce, timestamp),
    }
