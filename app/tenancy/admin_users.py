"""Admin users and roles. Nobody grants a permission they do not hold themselves."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from app.errors import (
    CANNOT_DISABLE_SELF,
    LAST_ADMINISTRATOR,
    PERMISSION_ESCALATION,
    PERMISSION_UNKNOWN,
    ROLE_IN_USE,
    ROLE_NAME_TAKEN,
    ROLE_OPERATOR_MISMATCH,
    USERNAME_TAKEN,
)
from app.extensions import db
from app.paging import Page, paginate
from app.tenancy import audit
from app.tenancy.admin_auth import hash_password
from app.tenancy.models import AdminUser, Role
from app.tenancy.operators import resolve_target_operator
from app.tenancy.permissions import unknown_codes
from app.tenancy.scope import Actor, get_scoped, scoped
from app.uow import transactional


def _check_grantable(actor: Actor, codes: list[str]) -> None:
    bad = unknown_codes(codes)
    if bad:
        raise PERMISSION_UNKNOWN(details={"codes": bad})
    beyond = sorted(set(codes) - actor.permissions)
    if beyond:
        raise PERMISSION_ESCALATION(details={"codes": beyond})


def list_roles(actor: Actor, *, page: int = 1, page_size: int = 20) -> Page:
    actor.require("role.read")
    stmt = scoped(select(Role), Role.operator_id, actor).order_by(Role.id)
    return paginate(stmt, page, page_size)


@transactional
def create_role(actor: Actor, data: dict[str, Any]) -> Role:
    actor.require("role.write")
    operator_id = resolve_target_operator(actor, data.get("operator_id"))
    codes = sorted(set(data.get("permissions") or []))
    _check_grantable(actor, codes)
    if db.session.scalar(
        select(Role).where(Role.operator_id == operator_id, Role.name == data["name"])
    ):
        raise ROLE_NAME_TAKEN()
    role = Role(operator_id=operator_id, name=data["name"], permissions=codes)
    db.session.add(role)
    db.session.flush()
    audit.record(
        actor, "role.create", "role", role.id, operator_id=operator_id,
        after={"name": role.name, "permissions": codes},
    )  # fmt: skip
    return role


# what an operator's administrator must keep: managing admins and their roles
ADMINISTRATION = frozenset({"admin_user.write", "role.write"})


def _administrators(operator_id: int) -> int:
    users = db.session.scalars(
        select(AdminUser).where(AdminUser.operator_id == operator_id, AdminUser.is_active)
    ).all()
    return sum(1 for u in users if u.permissions >= ADMINISTRATION)


@contextlib.contextmanager
def _keeping_an_administrator(operator_id: int) -> Iterator[None]:
    """Refuse a change that leaves an operator that had an administrator without one
    (issue 15, Low: the platform admin could strip the last administrator role of every
    permission and lock everyone out)."""
    before = _administrators(operator_id)
    yield
    db.session.flush()
    if before and not _administrators(operator_id):
        raise LAST_ADMINISTRATOR(details={"operator_id": operator_id})


@transactional
def update_role(actor: Actor, role_id: int, data: dict[str, Any]) -> Role:
    actor.require("role.write")
    role = get_scoped(Role, role_id, actor, what="角色")
    before = {"name": role.name, "permissions": list(role.permissions)}
    if data.get("name") and data["name"] != role.name:
        taken = db.session.scalar(
            select(Role.id).where(
                Role.operator_id == role.operator_id, Role.name == data["name"], Role.id != role.id
            )
        )
        if taken is not None:
            raise ROLE_NAME_TAKEN(details={"name": data["name"]})
        role.name = data["name"]
    if data.get("permissions") is not None:
        codes = sorted(set(data["permissions"]))
        _check_grantable(actor, codes)
        with _keeping_an_administrator(role.operator_id):
            role.permissions = codes
    audit.record(
        actor, "role.update", "role", role.id, operator_id=role.operator_id,
        before=before, after={"name": role.name, "permissions": list(role.permissions)},
    )  # fmt: skip
    return role


@transactional
def delete_role(actor: Actor, role_id: int) -> None:
    actor.require("role.write")
    role = get_scoped(Role, role_id, actor, what="角色")
    holders = db.session.scalars(select(AdminUser).where(AdminUser.roles.contains(role))).all()
    if holders:
        raise ROLE_IN_USE(details={"admin_user_ids": [u.id for u in holders]})
    audit.record(
        actor, "role.delete", "role", role.id, operator_id=role.operator_id,
        before={"name": role.name, "permissions": list(role.permissions)},
    )  # fmt: skip
    db.session.delete(role)


def _roles_for(actor: Actor, operator_id: int, role_ids: list[int]) -> list[Role]:
    roles = []
    for rid in role_ids:
        role = get_scoped(Role, rid, actor, what="角色")
        if role.operator_id != operator_id:
            raise ROLE_OPERATOR_MISMATCH(details={"role_id": rid})
        _check_grantable(actor, list(role.permissions))
        roles.append(role)
    return roles


def _user_view(user: AdminUser) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "operator_id": user.operator_id,
        "is_active": user.is_active,
        "role_ids": sorted(r.id for r in user.roles),
    }


def list_admin_users(
    actor: Actor, *, q: str | None = None, page: int = 1, page_size: int = 20
) -> Page:
    actor.require("admin_user.read")
    stmt = scoped(select(AdminUser), AdminUser.operator_id, actor)
    if q:
        stmt = stmt.where(AdminUser.username.contains(q) | AdminUser.display_name.contains(q))
    return paginate(stmt.order_by(AdminUser.id), page, page_size)


def get_admin_user(actor: Actor, user_id: int) -> AdminUser:
    actor.require("admin_user.read")
    return get_scoped(AdminUser, user_id, actor, what="管理员")


@transactional
def create_admin_user(actor: Actor, data: dict[str, Any]) -> AdminUser:
    actor.require("admin_user.write")
    operator_id = resolve_target_operator(actor, data.get("operator_id"))
    if db.session.scalar(select(AdminUser).where(AdminUser.username == data["username"])):
        raise USERNAME_TAKEN(details={"username": data["username"]})
    user = AdminUser(
        operator_id=operator_id,
        username=data["username"],
        display_name=data.get("display_name") or data["username"],
        password_hash=hash_password(data["password"]),
    )
    user.roles = _roles_for(actor, operator_id, data.get("role_ids") or [])
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor, "admin_user.create", "admin_user", user.id, operator_id=operator_id,
        after=_user_view(user),
    )  # fmt: skip
    return user


@transactional
def update_admin_user(actor: Actor, user_id: int, data: dict[str, Any]) -> AdminUser:
    actor.require("admin_user.write")
    user = get_scoped(AdminUser, user_id, actor, what="管理员")
    before = _user_view(user)
    if data.get("display_name") is not None:
        user.display_name = data["display_name"]
    with _keeping_an_administrator(user.operator_id):
        if data.get("role_ids") is not None:
            user.roles = _roles_for(actor, user.operator_id, data["role_ids"])
        if data.get("is_active") is not None and data["is_active"] != user.is_active:
            if user.id == actor.admin_id:
                raise CANNOT_DISABLE_SELF()
            user.is_active = data["is_active"]
            user.token_version += 1
    if data.get("password"):
        user.password_hash = hash_password(data["password"])
        user.token_version += 1
    audit.record(
        actor, "admin_user.update", "admin_user", user.id, operator_id=user.operator_id,
        before=before, after=_user_view(user) | {"password_changed": bool(data.get("password"))},
    )  # fmt: skip
    return user
