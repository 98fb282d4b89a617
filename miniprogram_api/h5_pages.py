"""Serves the built H5 driver pages (miniprogram_api/h5/dist) at /h5/, with history-mode
fallback (deep links such as /h5/orders/<no> reach index.html; the router picks the page)."""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, current_app
from flask_smorest import Api

from app.errors import H5_NOT_BUILT
from app.http_spa import serve_built

_DEFAULT_DIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "h5", "dist")

bp = Blueprint("h5_pages", __name__)


def _dist() -> str:
    return str(current_app.config.get("H5_DIST") or _DEFAULT_DIST)


@bp.get("/h5")
@bp.get("/h5/")
@bp.get("/h5/<path:path>")
def pages(path: str = "") -> Response:
    return serve_built(_dist(), path, H5_NOT_BUILT)


def register(app: Flask, api: Api) -> None:
    app.register_blueprint(bp)
