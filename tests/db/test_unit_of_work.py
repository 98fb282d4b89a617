"""Units of work (app/uow.py): only that module commits; a unit commits or rolls back as a
whole, a unit inside another joins it, and no pile command goes out inside one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.tenancy.models import Operator
from app.uow import between_units, discard, in_unit_of_work, transactional, unit_of_work

ROOT = Path(__file__).resolve().parents[2]
_TRANSACTION_END = re.compile(r"\.(commit|rollback)\(\)")


def test_only_the_unit_of_work_module_ends_a_transaction() -> None:
    found = []
    for top in ("app", "miniprogram_api", "admin_spa/api", "pile_link"):
        for path in (ROOT / top).rglob("*.py"):
            if path == ROOT / "app" / "uow.py" or "simulator" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _TRANSACTION_END.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], "declare a unit of work instead (app/uow.py):\n" + "\n".join(found)


def _operators() -> int:
    return int(db.session.scalar(select(func.count(Operator.id))) or 0)


def _add(name: str) -> None:
    db.session.add(Operator(name=name, kind="sub"))
    db.session.flush()


def test_a_unit_commits_on_success_and_rolls_everything_back_on_error(app: Flask) -> None:
    before = _operators()
    with unit_of_work():
        _add("单元一")
    discard()  # a new transaction: only what was committed is there
    assert _operators() == before + 1
    with pytest.raises(RuntimeError), unit_of_work():
        _add("单元二")
        raise RuntimeError("boom")
    assert _operators() == before + 1


def test_a_unit_inside_another_joins_it(app: Flask) -> None:
    before = _operators()

    @transactional
    def inner() -> None:
        _add("内层")
        assert in_unit_of_work()

    with pytest.raises(RuntimeError), unit_of_work():
        inner()  # does not commit on its own
        raise RuntimeError("the outer unit fails after the inner one returned")
    assert _operators() == before and not in_unit_of_work()


def test_no_pile_command_goes_out_inside_a_unit_or_with_unsaved_changes(app: Flask) -> None:
    with unit_of_work(), pytest.raises(RuntimeError, match="inside a unit of work"):
        between_units()
    db.session.add(Operator(name="未保存", kind="sub"))
    with pytest.raises(RuntimeError, match="unsaved changes"):
        between_units()
    discard()
    between_units()  # reads only: fine


def test_discard_is_refused_inside_a_unit(app: Flask, demo: Any) -> None:
    with unit_of_work(), pytest.raises(RuntimeError):
        discard()
