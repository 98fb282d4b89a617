"""Bearer-token authentication for the admin API: every route but login needs it."""

from __future__ import annotations

from flask import g, request

from app.errors import Unauthorized
from app.tenancy.admin_auth import actor_for_token
from app.tenancy.scope import Actor

PUBLIC_ENDPOINTS = {"admin_auth.login"}


def authenticate() -> None:
    """``before_request`` of every admin blueprint: puts the actor in ``g``."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("请先登录", code="AUTH_REQUIRED")
    g.actor, g.admin_user = actor_for_token(token.strip())


def current_actor() -> Actor:
    actor: Actor = g.actor
    return actor
