"""Who is acting: the actor every service takes, and the tenancy scope it implies.

Admins of a sub-operator see and change only that sub-operator's data; the rule lives
here, in the services, so no view can forget it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select

from app.errors import NOT_FOUND, PERMISSION_DENIED
from app.extensions import db
from app.tenancy.permissions import ALL_CODES

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Actor:
    admin_id: int | None
    name: str
    operator_id: int | None
    is_platform: bool
    permissions: frozenset[str]

    def require(self, code: str) -> None:
        if code not in self.permissions:
            raise PERMISSION_DENIED(details={"permission": code})

    def sees_operator(self, operator_id: int | None) -> bool:
        return self.is_platform or (operator_id is not None and operator_id == self.operator_id)


SYSTEM = Actor(
    admin_id=None, name="system", operator_id=None, is_platform=True, permissions=ALL_CODES
)


def scoped(stmt: Select[Any], operator_column: Any, actor: Actor) -> Select[Any]:
    """Restrict a query to the actor's operator unless the actor is a platform admin."""
    if actor.is_platform:
        return stmt
    return stmt.where(operator_column == actor.operator_id)


def get_scoped(
    model: type[T], ident: int, actor: Actor, *, what: str, owner_attr: str = "operator_id"
) -> T:
    """Load by id; another operator's row is reported as absent (404), not forbidden."""
    obj = db.session.get(model, ident)
    if obj is None or not actor.sees_operator(getattr(obj, owner_attr, None)):
        raise NOT_FOUND(f"{what}不存在", details={"id": ident})
    return obj
