"""Bounded, deterministic schemathesis runs shared by the drivers' and the admin API's
fuzz tests: a few examples per operation, ``derandomize``, no example database; each
operation runs on its own, so one finding does not hide another."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode

MAX_EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}


def _settings(mode: GenerationMode, examples: int | None = None) -> settings:
    return settings(
        max_examples=examples or MAX_EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        # no shrinking: the first failing request is reported as generated
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )


def _describe(case: Case, exc: BaseException) -> str:
    body = case.body if not isinstance(case.body, bytes) else f"<{len(case.body)} bytes>"
    body = None if type(body).__name__ == "NotSet" else body
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    first = [line for line in lines if "Reproduce" not in line and "curl" not in line][:8]
    return (
        f"{case.method} {case.formatted_path} query={case.query!r} body={body!r}\n    "
        + "\n    ".join(first)
    )


def run_operation(
    operation: Any,
    mode: GenerationMode,
    call: Callable[[Case], None],
    found: list[str],
    path_parameters: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    examples: int | None = None,
) -> None:
    seen: list[Case] = []
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=path_parameters, query=query
    )

    @_settings(mode, examples)
    @given(case=strategy)
    def run(case: Case) -> None:
        seen.append(case)
        call(case)

    try:
        run()
    # a check failed (schemathesis raises a BaseExceptionGroup) or the app raised: record it
    except (Exception, BaseExceptionGroup) as exc:
        fixed = f" with {path_parameters or query}" if path_parameters or query else ""
        label = f"[{mode.value}{fixed}] {operation.label}"
        found.append(label + ("\n  " + _describe(seen[-1], exc) if seen else f": {exc}"))
