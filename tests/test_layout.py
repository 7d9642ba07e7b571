"""The shape of the package, as docs/architecture.md draws it: layers that only look down,
a CLI that only sees the API, no module doing two jobs (a module past 450 lines has)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "vsr_cli"

# Lowest first: a module may import its own layer or lower ones, never a higher one.
LAYERS = [
    ["errors", "startup"],
    ["events", "context"],
    ["models", "weights", "registry", "sources", "model_store"],
    ["config"],
    ["infer"],
    ["video"],
    ["run", "quality"],
    ["bench", "doctor"],
    ["api"],
    ["cli", "__init__", "__main__"],
]
CLI_MAY_IMPORT = {"api", "config", "errors", "events", "cli"}


def _modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p
        for p in PACKAGE.rglob("*.py")
    }


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "vsr_cli"}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def test_every_module_imports_only_its_own_layer_or_lower():
    upward = [
        f"{module} -> {imported}"
        for module, path in _modules().items()
        for imported in _imports(path)
        if imported != "vsr_cli" and _layer(imported) > _layer(module)
    ]
    assert upward == []


def test_the_cli_sees_only_the_api_the_settings_the_errors_and_the_reporters():
    seen = {
        imported.split(".")[1]
        for module, path in _modules().items()
        if module.startswith("vsr_cli.cli")
        for imported in _imports(path)
        if imported != "vsr_cli"
    }
    assert seen <= CLI_MAY_IMPORT, seen - CLI_MAY_IMPORT


def test_sizes_are_counted_on_formatted_code():
    """Lines are counted as ``ruff format`` lays them out: a call collapsed by hand (or a
    ``# fmt: skip``) would hide a long module or function."""
    skips = [
        m
        for m, p in _modules().items()
        if "fmt: skip" in p.read_text() or "fmt: off" in p.read_text()
    ]
    assert skips == []
    check = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", str(PACKAGE)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_no_module_is_over_450_lines():
    long = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > 450}
    assert long == {}


def test_no_function_is_over_80_lines():
    long = {
        f"{module}.{node.name}": node.end_lineno - node.lineno + 1
        for module, path in _modules().items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 80
    }
    assert long == {}


def test_no_import_cycle():
    graph = {m: {i for i in _imports(p) if i in _modules()} for m, p in _modules().items()}
    visiting, done = set(), set()

    def visit(module: str, path: list[str]) -> None:
        assert module not in visiting, " -> ".join([*path, module])
        if module in done:
            return
        visiting.add(module)
        for imported in graph[module]:
            visit(imported, [*path, module])
        visiting.discard(module)
        done.add(module)

    for module in graph:
        visit(module, [])
