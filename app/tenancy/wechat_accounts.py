"""Each operator's WeChat accounts: the endpoints, the mini-program app, the token store."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from app.tenancy.models import Operator
from app.wechat import miniprogram
from app.wechat.config import MiniProgramApp, WeChatEndpoints

_TOKEN_STORE_KEY = "evop_wechat_token_store"


def endpoints() -> WeChatEndpoints:
    return WeChatEndpoints(api_base=current_app.config["WECHAT_API_BASE"])


def token_store() -> miniprogram.TokenStore:
    """One access-token store per application (tests get a fresh one with each app)."""
    store: miniprogram.TokenStore | None = current_app.extensions.get(_TOKEN_STORE_KEY)
    if store is None:
        store = miniprogram.MemoryTokenStore()
        current_app.extensions[_TOKEN_STORE_KEY] = store
    return store


def operator_for_app(app_id: str) -> Operator:
    """The sub-operator whose mini-program ``app_id`` is (apps are configured per operator)."""
    op = db.session.scalar(select(Operator).where(Operator.wechat_app_id == app_id))
    if op is None or not app_id or not op.wechat_app_secret:
        raise NotFound("小程序未在平台配置", code="MINIPROGRAM_UNKNOWN", details={"app_id": app_id})
    return op


def mini_program_of(op: Operator) -> MiniProgramApp:
    return MiniProgramApp(op.wechat_app_id, op.wechat_app_secret)
