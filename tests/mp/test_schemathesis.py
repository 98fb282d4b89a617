"""Property-based run of schemathesis over the drivers' API (issue 5, "Done means"): every
operation under ``/api/mp/v1`` documented in ``/api/openapi.json`` gets generated requests
(valid and invalid ones) as a logged-in demo driver; no answer may be a server error, and
the answers must match the documented response schemas.

Bounded and deterministic: a few examples per operation, ``derandomize``, no example
database. Each operation runs on its own, so one finding does not hide another; the test
fails at the end with every failing request listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from app.catalogue.models import Pile, Station
from app.extensions import db
from app.ledger import wallet
from app.tenancy import models as tenancy
from tests.support.drivers import Login
from tests.support.fuzz import run_operation as _run
from tests.support.ports import FakePort

PREFIX = "/api/mp/v1"
# WeChat Pay notifies need WeChat's signature: covered by their own tests, not fuzzed here
EXCLUDED = r"/(pay|refunds?)/.*notify|/notify"


@dataclass
class Driver:
    headers: dict[str, str]
    known: dict[str, Any]  # real path parameters: the demo station, the driver's own order
    near: dict[str, Any]  # a nearby query that finds the demo stations


@pytest.fixture
def fuzz_driver(client: FlaskClient, mp_login: Login, port: FakePort) -> Driver:
    """A funded driver with a charging order on the demo OCPP pile, so that the operations
    taking a station or an order also run past their 404."""
    headers = mp_login("fuzz-driver")
    driver = db.session.scalar(select(tenancy.Driver).where(tenancy.Driver.openid == "fuzz-driver"))
    assert driver is not None
    wallet.post_entry(driver.id, 50_00, "manual_credit", idempotency_key="test:fuzz-driver")
    db.session.commit()
    pile = db.session.scalar(select(Pile).where(Pile.code == "DEMO-OCPP-01"))
    assert pile is not None
    started = client.post(
        f"{PREFIX}/orders",
        json={"connector_id": pile.connectors[0].id, "client_request_id": "fuzz-start-0001"},
        headers=headers,
    )
    assert started.status_code == 201, started.get_json()
    known = {"station_id": pile.station_id, "order_no": started.get_json()["order"]["order_no"]}
    station = db.session.get(Station, pile.station_id)
    assert station is not None
    near = {"lat": float(station.latitude), "lng": float(station.longitude), "radius_m": 50_000}
    return Driver(headers, known, near)


def _fuzz(app: Flask, driver: Driver, checks: list[Any]) -> list[str]:
    schema = (
        schemathesis.openapi.from_wsgi("/api/openapi.json", app)
        .include(path_regex=f"^{PREFIX}/")
        .exclude(path_regex=EXCLUDED)
    )
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the drivers' OpenAPI has invalid operations"
    assert len(operations) >= 10, [op.label for op in operations]

    def call(case: Case) -> None:
        case.call_and_validate(headers=driver.headers, checks=checks)

    found: list[str] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in operations:
            _run(operation, mode, call, found)
    # again with the real station, order and position, so these get past "not found"
    for operation in operations:
        fixed = {k: v for k, v in driver.known.items() if "{" + k + "}" in operation.path}
        if fixed:
            _run(operation, GenerationMode.POSITIVE, call, found, path_parameters=fixed)
        if operation.label == f"GET {PREFIX}/stations":
            _run(operation, GenerationMode.POSITIVE, call, found, query=driver.near)
    return found


def test_drivers_api_has_no_server_errors(app: Flask, fuzz_driver: Driver) -> None:
    found = _fuzz(app, fuzz_driver, [not_a_server_error])
    assert not found, f"{len(found)} operation(s) answered 5xx:\n" + "\n".join(found)


def test_drivers_api_answers_match_the_documented_schemas(app: Flask, fuzz_driver: Driver) -> None:
    found = _fuzz(app, fuzz_driver, [response_schema_conformance])
    assert not found, f"{len(found)} operation(s) off their schema:\n" + "\n".join(found)
