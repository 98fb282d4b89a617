"""Bearer tokens of drivers: every drivers' route but login and the deep links needs one."""

from __future__ import annotations

from flask import g, request

from app.errors import Unauthorized
from app.models import Driver
from app.services.driver_auth import driver_for_token

PUBLIC_ENDPOINTS = {"mp_auth.login", "mp_links.links"}


def authenticate() -> None:
    """``before_request`` of every drivers' blueprint: puts the driver in ``g``."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 1024:
        raise Unauthorized("请先登录", code="AUTH_REQUIRED")
    g.driver = driver_for_token(token.strip())


def current_driver() -> Driver:
    driver: Driver = g.driver
    return driver
