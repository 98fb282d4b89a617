"""Serves the built console (admin_spa/web/dist) at /admin/, with history-mode fallback."""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, current_app, redirect, send_from_directory
from flask_smorest import Api

from app.errors import ADMIN_SPA_NOT_BUILT

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
    dist = _dist()
    index = os.path.join(dist, "index.html")
    if not os.path.isfile(index):
        raise ADMIN_SPA_NOT_BUILT(details={"dist": dist})
    if path and os.path.isfile(os.path.join(dist, path)):
        resp = send_from_directory(dist, path)
        if path.startswith("assets/"):
            resp.cache_control.max_age = 31536000  # hashed file names
            resp.cache_control.immutable = True
        return resp
    if path.startswith("assets/"):
        return send_from_directory(dist, path)  # a 404 through the error contract
    resp = send_from_directory(dist, "index.html")
    resp.cache_control.no_cache = True
    return resp


def register(app: Flask, api: Api) -> None:
    app.register_blueprint(bp)
