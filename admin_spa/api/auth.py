"""Bearer-token authentication for the admin API (the surface's hook: see blueprints.py)."""

from __future__ import annotations

from flask import g, request

from app.errors import AUTH_REQUIRED
from app.tenancy.admin_auth import actor_for_token
from app.tenancy.scope import Actor


def authenticate() -> None:
    """Puts the actor the bearer token names in ``g`` (401 without a valid token)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AUTH_REQUIRED()
    g.actor, g.admin_user = actor_for_token(token.strip())


def current_actor() -> Actor:
    actor: Actor = g.actor
    return actor
