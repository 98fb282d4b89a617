"""Bearer tokens of drivers (the surface's hook: see blueprints.py).

The token is checked (signature, age, and that its session is still open: one cached or one
database read of the driver's token version, see app/drivers/sessions.py) before every
route; the driver's row is read only when a route asks for the driver."""

from __future__ import annotations

from flask import g, request

from app.drivers.driver_auth import TokenClaims, check_session, claims_for_token, driver_of
from app.errors import AUTH_REQUIRED
from app.tenancy.models import Driver


def authenticate() -> None:
    """Puts the bearer token's claims in ``g`` (401 without a valid token)."""
    # g outlives a request when an app context was pushed before it (tests, CLI): never
    # let one request's driver serve the next
    g.pop("driver_claims", None)
    g.pop("driver", None)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 1024:
        raise AUTH_REQUIRED()
    claims = claims_for_token(token.strip())
    check_session(claims)
    g.driver_claims = claims


def _claims() -> TokenClaims:
    claims: TokenClaims | None = g.get("driver_claims")
    if claims is None:  # pragma: no cover - a route outside the authenticated blueprints
        raise AUTH_REQUIRED()
    return claims


def current_driver_id() -> int:
    """The driver the token names, without reading the driver's row."""
    return _claims().driver_id


def current_driver() -> Driver:
    """The driver's row, read once per request (401 if the driver no longer exists)."""
    driver: Driver | None = g.get("driver")
    if driver is None:
        driver = driver_of(_claims())
        g.driver = driver
    return driver
