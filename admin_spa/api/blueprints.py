"""The console's API surface: ``/api/admin/v1``, an admin's bearer token on every route but
the ones marked ``@bp.public`` (login)."""

from __future__ import annotations

from admin_spa.api.auth import authenticate
from app.openapi import EvopBlueprint, Surface
from app.rate_limits import retry_after

ADMIN_API = Surface(
    name="admin",
    import_name="admin_spa.api",
    url_prefix="/api/admin/v1",
    authenticate=authenticate,
    after_request=(retry_after,),  # a locked login says how long to wait
)


def blueprint(area: str, description: str) -> EvopBlueprint:
    """The blueprint ``admin_<area>`` of the console's API."""
    return ADMIN_API.blueprint(area, description)
