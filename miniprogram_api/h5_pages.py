"""Serves the built H5 driver pages (miniprogram_api/h5/dist) at /h5/, with history-mode
fallback (deep links such as /h5/orders/<no> reach index.html; the router picks the page)."""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, current_app, send_from_directory
from flask_smorest import Api

from app.errors import H5_NOT_BUILT

_DEFAULT_DIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "h5", "dist")

bp = Blueprint("h5_pages", __name__)


def _dist() -> str:
    return str(current_app.config.get("H5_DIST") or _DEFAULT_DIST)


@bp.get("/h5")
@bp.get("/h5/")
@bp.get("/h5/<path:path>")
def pages(path: str = "") -> Response:
    dist = _dist()
    index = os.path.join(dist, "index.html")
    if not os.path.isfile(index):
        raise H5_NOT_BUILT(details={"dist": dist})
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
