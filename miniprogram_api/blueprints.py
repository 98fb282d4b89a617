"""The drivers' API surface: ``/api/mp/v1``, a driver's bearer token on every route but the
ones marked ``@bp.public`` (login, the links a menu opens) and WeChat Pay's callbacks."""

from __future__ import annotations

from app.openapi import EvopBlueprint, Surface
from app.rate_limits import retry_after
from miniprogram_api.auth import authenticate

MP_API = Surface(
    name="mp",
    import_name="miniprogram_api",
    url_prefix="/api/mp/v1",
    authenticate=authenticate,
    after_request=(retry_after,),
)


def blueprint(area: str, description: str, *, public: bool = False) -> EvopBlueprint:
    """The blueprint ``mp_<area>`` of the drivers' API; ``public=True`` for one whose routes
    carry no driver token (WeChat Pay's notifies: WeChat's signature is their proof)."""
    return MP_API.blueprint(area, description, public=public)
