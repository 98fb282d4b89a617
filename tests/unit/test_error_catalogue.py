"""The error catalogue (app/errors.py): every code the platform raises is listed once,
with its status, its Chinese message and a note, and nothing else defines a code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app import errors
from app.errors import CATALOGUE, DomainError

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    p
    for top in ("app", "miniprogram_api", "admin_spa")
    for p in sorted((ROOT / top).rglob("*.py"))
    if "sandbox" not in p.parts and "web" not in p.parts  # the WeChat sandbox imitates WeChat
]
CJK = re.compile(r"[\u4e00-\u9fff]")
KINDS = {
    name: value
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, DomainError)
}


def test_each_entry_is_named_by_its_code_and_says_status_message_and_note() -> None:
    assert len(CATALOGUE) > 100
    for code, entry in CATALOGUE.items():
        assert entry.code == code
        assert getattr(errors, code) is entry, f"errors.{code} is not the entry"
        assert 400 <= entry.status <= 599, code
        assert CJK.search(entry.message), f"{code}: the message is for people, in Chinese"
        assert entry.note, f"{code}: say when it happens"


def test_every_catalogue_name_in_errors_is_registered_once() -> None:
    named = {n: v for n, v in KINDS.items() if n.isupper() and not n.startswith("_")}
    assert set(named) == set(CATALOGUE)
    assert len(set(map(id, CATALOGUE.values()))) == len(CATALOGUE)  # no entry under two codes
    with pytest.raises(RuntimeError, match="twice"):
        errors._entry(errors.Conflict, "ORDER_NOT_STOPPABLE", "重复", "重复")


def test_an_entry_raises_as_its_kind_with_its_status_or_a_sharper_message() -> None:
    err = errors.ORDER_NOT_STOPPABLE(details={"state": "settled"})
    assert isinstance(err, errors.Conflict)
    assert (err.status, err.code, err.message) == (
        409,
        "ORDER_NOT_STOPPABLE",
        "订单当前状态不能停止",
    )
    assert err.details == {"state": "settled"}
    assert errors.REASON_REQUIRED("请填写驳回原因").message == "请填写驳回原因"
    assert errors.entry("PILE_OFFLINE") is errors.PILE_OFFLINE
    assert issubclass(errors.STATION_WITHOUT_TARIFF, errors.MissingBaseData)


def _raised_codes() -> list[tuple[str, str, int | None]]:
    """(where, code, status it is raised with, when the raise site says) of every code
    written as a literal at a raise site, a DomainError subclass, a start blocker, a tariff
    error or an error body."""
    found: list[tuple[str, str, int | None]] = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(ROOT)
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func).rsplit(".", 1)[-1]
                kw = {k.arg: k.value for k in node.keywords}
                code = kw.get("code")
                if name in KINDS and isinstance(code, ast.Constant):
                    status = kw.get("status")
                    found.append(
                        (
                            where,
                            code.value,
                            status.value
                            if isinstance(status, ast.Constant)
                            else KINDS[name].status,
                        )
                    )
                if name in CATALOGUE:  # the way a code is raised now: errors.PILE_OFFLINE(...)
                    found.append((where, name, None))
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    if name == "StartBlocker":  # raised as a 409 when a start is refused
                        found.append((where, first.value, 409))
                    elif name == "TariffValidationError":  # raised as a 422 (catalogue.tariffs)
                        found.append((where, first.value, 422))
                    elif name == "error_body":
                        found.append((where, first.value, None))
            elif isinstance(node, ast.ClassDef):
                attrs = {
                    t.id: s.value.value
                    for s in node.body
                    if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
                    for t in s.targets
                    if isinstance(t, ast.Name)
                }
                bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
                if "code" in attrs and any(b in KINDS for b in bases):
                    status = attrs.get("status", KINDS[next(b for b in bases if b in KINDS)].status)
                    found.append((where, attrs["code"], status))
    return found


def test_every_code_raised_anywhere_is_in_the_catalogue_with_its_status() -> None:
    found = _raised_codes()
    assert len(found) > 30  # the scan sees the raise sites, by entry or still by literal
    missing = [f"{where} {code}" for where, code, _ in found if code not in CATALOGUE]
    assert not missing, "codes not in app/errors.py: " + ", ".join(missing)
    wrong = [
        f"{where} {code} raised as {status}, catalogued as {CATALOGUE[code].status}"
        for where, code, status in found
        if status is not None and CATALOGUE[code].status != status
    ]
    assert not wrong, "; ".join(wrong)


def test_the_pricing_codes_are_catalogued_as_validation_errors() -> None:
    from app import pricing

    codes = set(
        re.findall(r'TariffValidationError\(\s*"([A-Z_]+)"', Path(pricing.__file__).read_text())
    )
    assert codes and all(issubclass(CATALOGUE[c], errors.ValidationFailed) for c in codes)


def test_errors_module_imports_nothing_from_flask() -> None:
    tree = ast.parse(Path(errors.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert not {m for m in imported if m.split(".")[0] in {"flask", "werkzeug", "flask_smorest"}}
