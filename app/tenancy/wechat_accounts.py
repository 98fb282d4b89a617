"""Each operator's WeChat accounts: the endpoints, the mini-program app, the token store."""

from __future__ import annotations

from sqlalchemy import select

from app.config import setting
from app.errors import MINIPROGRAM_UNKNOWN, OFFICIAL_ACCOUNT_UNKNOWN
from app.extensions import db
from app.state import Slot, part
from app.tenancy.models import Operator
from app.wechat import miniprogram
from app.wechat.config import MiniProgramApp, OfficialAccountApp, WeChatEndpoints

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


def operator_for_official_account(app_id: str) -> Operator:
    """The sub-operator whose official account ``app_id`` is (its H5 pages' drivers)."""
    op = db.session.scalar(select(Operator).where(Operator.wechat_oa_app_id == app_id))
    if op is None or not app_id or not op.wechat_oa_app_secret:
        raise OFFICIAL_ACCOUNT_UNKNOWN(details={"app_id": app_id})
    return op


def official_account_of(op: Operator) -> OfficialAccountApp:
    return OfficialAccountApp(op.wechat_oa_app_id, op.wechat_oa_app_secret)


def default_official_account() -> str:
    """The official account H5 pages log in with when the link names none:
    ``WECHAT_OA_APP_ID``, else the first operator that has one."""
    configured = str(setting("WECHAT_OA_APP_ID") or "")
    if configured:
        return configured
    first = db.session.scalar(
        select(Operator.wechat_oa_app_id)
        .where(Operator.wechat_oa_app_id != "", Operator.wechat_oa_app_secret != "")
        .order_by(Operator.id)
    )
    return first or ""
