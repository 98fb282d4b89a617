"""Property-based run of schemathesis over the admin API (issue 15, "Done means"): every
operation under ``/api/admin/v1`` documented in ``/api/openapi.json`` gets generated
requests, valid and invalid, as the platform admin (who sees every tenant's data); no
answer may be a server error. Bounded: a few examples per operation."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from tests.support.fuzz import run_operation

PREFIX = "/api/admin/v1"
# what would end the fuzzing admin's own session, or call WeChat (its own tests cover it)
EXCLUDED = r"/auth/logout|/account/password|/wechat-pay/|/refunds/.*/approve"
EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 4}


@pytest.fixture
def offline_wechat(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # anything that still reaches for WeChat gets a refused connection at once
    for key in ("WECHAT_API_BASE", "WECHAT_PAY_BASE"):
        monkeypatch.setitem(app.config, key, "http://127.0.0.1:9")


def test_admin_api_has_no_server_errors(
    app: Flask, as_admin: dict[str, str], offline_wechat: None
) -> None:
    schema = (
        schemathesis.openapi.from_wsgi("/api/openapi.json", app)
        .include(path_regex=f"^{PREFIX}/")
        .exclude(path_regex=EXCLUDED)
    )
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the admin OpenAPI has invalid operations"
    assert len(operations) >= 40, [op.label for op in operations]

    def call(case: Case) -> None:
        case.call_and_validate(headers=as_admin, checks=[not_a_server_error])

    found: list[str] = []
    for mode, examples in EXAMPLES.items():
        for operation in operations:
            run_operation(operation, mode, call, found, examples=examples)
    assert not found, f"{len(found)} operation(s) answered 5xx:\n" + "\n".join(found)


def test_the_fuzz_reports_a_server_error(app: Flask, as_admin: dict[str, str]) -> None:
    """The harness can fail: an operation that crashes is reported."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app).include(
        path_regex=f"^{PREFIX}/stations$", method="GET"
    )
    [result] = list(schema.get_all_operations())
    operation = result.ok()
    found: list[str] = []

    def crash(case: Case) -> Any:
        raise RuntimeError("boom")

    run_operation(operation, GenerationMode.POSITIVE, crash, found, examples=1)
    assert len(found) == 1 and "GET /api/admin/v1/stations" in found[0]
