"""Sub-operators: tenancy, branding (case #1) and WeChat settings whose secrets stay inside."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.errors import (
    OPERATOR_COLOR_INVALID,
    OPERATOR_NAME_TAKEN,
    OPERATOR_REQUIRED,
    PLATFORM_ONLY,
    PLATFORM_OPERATOR_MISSING,
    WECHAT_APP_ID_TAKEN,
    WECHAT_IDS_PLATFORM_ONLY,
    WECHAT_MCH_ID_TAKEN,
)
from app.extensions import db
from app.notices import templates
from app.paging import Page, paginate
from app.tenancy import audit
from app.tenancy.models import Operator
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import transactional

PUBLIC_FIELDS = (
    "name", "contact_name", "contact_phone", "brand_color", "logo_url",
    "wechat_app_id", "wechat_mch_id", "wechat_mch_cert_serial",
)  # fmt: skip

SECRET_FIELDS = ("wechat_app_secret", "wechat_mch_private_key", "wechat_apiv3_key")

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")


def _audit_view(op: Operator) -> dict[str, Any]:
    # secrets are audited as "changed", never as values
    view = audit.snapshot(op, PUBLIC_FIELDS)
    view["subscribe_templates"] = dict(op.subscribe_templates or {})
    view.update({f"{name}_set": bool(getattr(op, name)) for name in SECRET_FIELDS})
    return view


def platform_operator() -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.kind == "platform"))
    if op is None:
        raise PLATFORM_OPERATOR_MISSING()
    return op


def list_operators(
    actor: Actor, *, q: str | None = None, page: int = 1, page_size: int = 20
) -> Page:
    actor.require("operator.read")
    stmt = scoped(select(Operator), Operator.id, actor)
    if q:
        stmt = stmt.where(Operator.name.contains(q))
    return paginate(stmt.order_by(Operator.id), page, page_size)


def get_operator(actor: Actor, operator_id: int) -> Operator:
    actor.require("operator.read")
    op = get_scoped(Operator, operator_id, actor, what="运营商", owner_attr="id")
    return op


def _apply(op: Operator, data: dict[str, Any]) -> None:
    color = data.get("brand_color")
    if color is not None and not _COLOR.match(color):
        raise OPERATOR_COLOR_INVALID(details={"brand_color": ["格式应为 #RRGGBB"]})
    for name in PUBLIC_FIELDS + SECRET_FIELDS:
        if name in data and data[name] is not None:
            setattr(op, name, data[name])
    if data.get("subscribe_templates") is not None:
        # a new dict, so the audit's "before" keeps the old one
        op.subscribe_templates = templates.merged(
            op.subscribe_templates, data["subscribe_templates"]
        )


def _check_name_free(name: str, exclude_id: int | None = None) -> None:
    existing = db.session.scalar(select(Operator).where(Operator.name == name))
    if existing is not None and existing.id != exclude_id:
        raise OPERATOR_NAME_TAKEN(details={"name": name})


# the identifiers WeChat knows an operator by: whoever sets them receives its drivers'
# logins and its merchant's money, so only the platform changes them, each once in use
_WECHAT_IDS = (("wechat_app_id", WECHAT_APP_ID_TAKEN), ("wechat_mch_id", WECHAT_MCH_ID_TAKEN))


def _check_wechat_ids(actor: Actor, op: Operator | None, data: dict[str, Any]) -> None:
    for name, taken in _WECHAT_IDS:
        value = data.get(name)
        if value is None or (op is not None and value == getattr(op, name)):
            continue
        if not actor.is_platform:
            raise WECHAT_IDS_PLATFORM_ONLY(details={"field": name})
        if not value:
            continue  # clearing is always possible
        other = db.session.scalar(select(Operator.id).where(getattr(Operator, name) == value))
        if other is not None and (op is None or other != op.id):
            raise taken(details={name: ["已被使用"]})


@transactional
def create_operator(actor: Actor, data: dict[str, Any]) -> Operator:
    actor.require("operator.write")
    if not actor.is_platform:
        raise PLATFORM_ONLY()
    _check_name_free(data["name"])
    _check_wechat_ids(actor, None, data)
    op = Operator(kind="sub", parent_id=platform_operator().id, name=data["name"])
    _apply(op, data)
    db.session.add(op)
    db.session.flush()
    audit.record(
        actor, "operator.create", "operator", op.id, operator_id=op.id, after=_audit_view(op)
    )
    return op


@transactional
def update_operator(actor: Actor, operator_id: int, data: dict[str, Any]) -> Operator:
    actor.require("operator.write")
    op = get_scoped(Operator, operator_id, actor, what="运营商", owner_attr="id")
    if data.get("name"):
        _check_name_free(data["name"], exclude_id=op.id)
    _check_wechat_ids(actor, op, data)
    before = _audit_view(op)
    _apply(op, data)
    audit.record(
        actor, "operator.update", "operator", op.id, operator_id=op.id,
        before=before, after=_audit_view(op),
    )  # fmt: skip
    return op


def resolve_target_operator(actor: Actor, requested: int | None) -> int:
    """The operator a new row belongs to: a sub-operator admin always gets its own."""
    if requested is not None and requested != actor.operator_id:
        get_scoped(
            Operator, requested, actor, what="运营商", owner_attr="id"
        )  # 404 outside the scope
        return requested
    if actor.operator_id is None:
        raise OPERATOR_REQUIRED()
    return actor.operator_id
