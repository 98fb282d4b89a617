"""Serves the built console (admin_spa/web/dist) at /admin/, with history-mode fallback."""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, current_app, redirect
from flask_smorest import Api

from app.errors import ADMIN_SPA_NOT_BUILT
from app.http_spa import serve_built

_DEFAULT_DIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web", "dist")

bp = Blueprint("admin_spa", __name__)


def _dist() -> str:
    return str(current_app.config.get("ADMIN_SPA_DIST") or _DEFAULT_DIST)


@bp.get("/")
def root() -> Response:
    return redirect("/admin/")  # type: ignore[return-value]


@bp.get("/admin")
@bp.get("/admin/")
@bp.get("/admin/<path:path>")
def console(path: str = "") -> Response:
    return serve_built(_dist(), path, ADMIN_SPA_NOT_BUILT)


def register(app: Flask, api: Api) -> None:
    app.register_blueprint(bp)
