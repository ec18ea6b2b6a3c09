"""The house rules, read from the code: no folder imports one above it, no cycles, no
import of coldbench's own hidden inside a function in a stage, no generic top-level name.

Floors: ``record`` (contracts) at the ground; ``infra`` and ``analysis`` on it;
``locustfiles`` on ``infra`` (the target, recycle, signing); ``coldbench/`` (CLI,
pipeline, sweep) on top of all, imported by nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = {  # repository folder -> installed package
    "record": "coldbench.record",
    "infra": "coldbench.infra",
    "analysis": "coldbench.analysis",
    "locustfiles": "coldbench.locustfiles",
    "coldbench": "coldbench",
}
MAY_IMPORT = {
    "record": {"record"},
    "infra": {"record", "infra"},
    "analysis": {"record", "analysis"},
    "locustfiles": {"record", "infra", "locustfiles"},
    "coldbench": set(FOLDERS),
}


def folder_of(module: str) -> str | None:
    """The repository folder an absolute ``coldbench…`` module name lives in."""
    for folder, package in FOLDERS.items():
        if folder != "coldbench" and (module == package or module.startswith(package + ".")):
            return folder
    return "coldbench" if module.split(".")[0] == "coldbench" else None


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module, inside a function) for every import of the file."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                if child.module == "coldbench":  # `from coldbench import locustfiles`
                    found.extend((f"coldbench.{a.name}", in_function) for a in child.names)
                else:
                    found.append((child.module, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def sources(folder: str) -> list[Path]:
    # The deployable functions are Lambda's code, zipped as-is: not part of the house.
    return [p for p in sorted((REPO / folder).rglob("*.py")) if "functions" not in p.parts[-3:-1]]


@pytest.mark.parametrize("folder", list(FOLDERS))
def test_no_folder_imports_one_above_it_and_no_hidden_imports(folder):
    wrong, hidden = [], []
    for path in sources(folder):
        for module, in_function in imports(path):
            target = folder_of(module)
            if module.split(".")[0] in {"record", "infra", "analysis", "locustfiles"}:
                wrong.append(f"{path.relative_to(REPO)} imports top-level {module}")
            elif target is not None and target not in MAY_IMPORT[folder]:
                wrong.append(f"{path.relative_to(REPO)} imports {module} ({target})")
            if target is not None and in_function and folder != "coldbench":
                hidden.append(f"{path.relative_to(REPO)} imports {module} inside a function")
    assert not wrong
    assert not hidden


def test_no_cycles_between_modules():
    graph: dict[str, set[str]] = {}
    for folder, package in FOLDERS.items():
        for path in sources(folder):
            rel = path.relative_to(REPO / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            graph[name] = {m for m, _ in imports(path) if folder_of(m)}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, ()):
            dep = dep if dep in graph else next((m for m in graph if dep.startswith(m + ".")), dep)
            if state.get(dep) == 1:
                raise AssertionError(" -> ".join([*trail, node, dep]))
            if dep in graph and not state.get(dep):
                visit(dep, [*trail, node])
        state[node] = 2

    for node in graph:
        if not state.get(node):
            visit(node, [])
