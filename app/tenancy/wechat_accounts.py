"""Each operator's WeChat accounts: the endpoints, the mini-program app, the token store."""

from __future__ import annotations

from sqlalchemy import select

from app.config import setting
from app.errors import MINIPROGRAM_UNKNOWN
from app.extensions import db
from app.state import Slot, part
from app.tenancy.models import Operator
from app.wechat import miniprogram
from app.wechat.config import MiniProgramApp, WeChatEndpoints

TOKEN_STORE: Slot[miniprogram.TokenStore] = Slot("WeChat access-token store")


def endpoints() -> WeChatEndpoints:
    return WeChatEndpoints(api_base=setting("WECHAT_API_BASE"))


def token_store() -> miniprogram.TokenStore:
    """The application's access-token store (one per application)."""
    return part(TOKEN_STORE)


def operator_for_app(app_id: str) -> Operator:
    """The sub-operator whose mini-program ``app_id`` is (apps are configured per operator)."""
    op = db.session.scalar(select(Operator).where(Operator.wechat_app_id == app_id))
    if op is None or not app_id or not op.wechat_app_secret:
        raise MINIPROGRAM_UNKNOWN(details={"app_id": app_id})
    return op


def mini_program_of(op: Operator) -> MiniProgramApp:
    return MiniProgramApp(op.wechat_app_id, op.wechat_app_secret)
