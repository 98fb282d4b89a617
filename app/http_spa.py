"""Serving a built single-page app (the console at /admin/, the drivers' H5 pages at /h5/):
hashed assets cached for a year, any other path answered with index.html (history-mode
routing picks the page), a missing asset a 404 through the error contract."""

from __future__ import annotations

import os

from flask import Response, send_from_directory

from app.errors import DomainError

ASSET_MAX_AGE = 31536000  # a year: asset file names carry their content hash


def serve_built(dist: str, path: str, not_built: type[DomainError]) -> Response:
    """``path`` of the app built into ``dist``; ``not_built`` when there is no index.html."""
    if not os.path.isfile(os.path.join(dist, "index.html")):
        raise not_built(details={"dist": dist})
    if path and os.path.isfile(os.path.join(dist, path)):
        resp = send_from_directory(dist, path)
        if path.startswith("assets/"):
            resp.cache_control.max_age = ASSET_MAX_AGE
            resp.cache_control.immutable = True
        return resp
    if path.startswith("assets/"):
        return send_from_directory(dist, path)  # a 404 through the error contract
    resp = send_from_directory(dist, "index.html")
    resp.cache_control.no_cache = True
    return resp
