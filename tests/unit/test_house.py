"""The house plan (DESIGN.md, Layout) held by the code: one package per bounded context,
floors not webs (no import cycle among the modules of app/), no Flask inside a context,
no function-local import of the domain (the usual way a cycle hides), nothing in app/
importing a face or the pile link."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
CONTEXTS = (
    "tenancy", "catalogue", "ledger", "notices", "promotions", "charging", "billing",
    "payments", "drivers",
)  # fmt: skip
FACES = ("miniprogram_api", "admin_spa", "pile_link", "wsgi")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in APP.rglob("*.py") if "sandbox" not in p.parts}


def _imports(path: Path) -> list[tuple[ast.AST, str, bool]]:
    """(node, imported module, inside a function) for every import of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[ast.AST, str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((child, alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.append((child, child.module, in_function))
                found.extend(
                    (child, f"{child.module}.{alias.name}", in_function) for alias in child.names
                )
            visit(child, nested)

    visit(tree, False)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for _, target, _ in _imports(path):
            if target in MODULES and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_every_context_is_a_package_with_its_models() -> None:
    for context in CONTEXTS:
        assert (APP / context / "__init__.py").exists(), context
        assert (APP / context / "models.py").exists(), context
    assert not (APP / "services").exists() and not (APP / "models").exists()


def test_the_import_graph_of_app_has_no_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_graph_check_finds_a_cycle_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_context_imports_flask() -> None:
    found = []
    for module, path in MODULES.items():
        if module.split(".")[1:2] and module.split(".")[1] in CONTEXTS:
            for node, target, _ in _imports(path):
                if target.split(".")[0] == "flask" or target.startswith("flask_"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {target}")  # type: ignore[attr-defined]
    assert found == []


def test_app_imports_no_face_and_no_function_local_domain_import() -> None:
    faces, local = [], []
    for path in MODULES.values():
        for node, target, in_function in _imports(path):
            where = f"{path.relative_to(ROOT)}:{node.lineno} {target}"  # type: ignore[attr-defined]
            if target.split(".")[0] in FACES:
                faces.append(where)
            if in_function and target.split(".")[0] == "app":
                local.append(where)
    assert faces == [] and local == []


TESTS = ROOT / "tests"


def _helpers_in_conftest(source: str) -> list[str]:
    """Top-level names a conftest defines that are neither fixtures nor pytest hooks
    (a fixture taken from another conftest, ``name = other.fixture``, counts as one)."""
    helpers: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
            if not fixture and not node.name.startswith("pytest_"):
                helpers.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            value = ast.unparse(node.value) if node.value else ""
            if "_fixtures." not in value:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                helpers.extend(ast.unparse(t) for t in targets)
    return helpers


def test_conftests_hold_fixtures_only_and_no_test_imports_one() -> None:
    offenders = {
        str(p.relative_to(ROOT)): names
        for p in TESTS.rglob("conftest.py")
        if (names := _helpers_in_conftest(p.read_text(encoding="utf-8")))
    }
    assert not offenders, f"helpers belong in tests/support/: {offenders}"
    importers = [
        str(p.relative_to(ROOT))
        for p in TESTS.rglob("*.py")
        for _, module, _ in _imports(p)
        if module.endswith("conftest") and p.name != "conftest.py"
    ]
    assert not importers, f"import helpers from tests/support/, not a conftest: {importers}"


def test_the_conftest_check_finds_a_helper() -> None:
    source = "import pytest\n\nX = 1\n\ndef helper(): ...\n\n@pytest.fixture\ndef f(): ...\n"
    assert _helpers_in_conftest(source) == ["X", "helper"]
