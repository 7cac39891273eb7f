"""The layering the code promises, checked on its imports: a walk over every module with `ast`.

Dependencies run one way (cli / server → api → runs → strategies → feedback → context → models,
tasks, trace). A lower module importing a higher one would bring the cycles back, so each rule
of the issue is one assertion here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import redraft

ROOT = Path(redraft.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every redraft module `path` imports, at any depth of the file (TYPE_CHECKING included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "redraft" or name.startswith("redraft.")}


GRAPH = {module_name(p): imports_of(p) for p in ROOT.rglob("*.py")}


def package(module: str) -> str:
    """`redraft.runs.store` -> `runs`; top-level modules (`redraft.trace`) are their own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "redraft"


def imported_packages(prefix: str) -> set[str]:
    return {package(target) for module, targets in GRAPH.items() if module.startswith(prefix)
            for target in targets if target in GRAPH or target.rsplit(".", 1)[0] in GRAPH}


def test_lower_layers_import_neither_the_facade_nor_the_cli() -> None:
    for layer in ("runs", "tasks", "feedback", "models"):
        assert not {"api", "cli"} & imported_packages(f"redraft.{layer}"), layer


def test_tasks_import_neither_strategies_nor_feedback() -> None:
    assert not {"strategies", "feedback", "context"} & imported_packages("redraft.tasks")


def test_trace_errors_spec_and_roles_are_leaves() -> None:
    for leaf in ("redraft.trace", "redraft.errors"):
        assert GRAPH[leaf] == set(), leaf
    for module in ("redraft.spec", "redraft.roles"):  # the error base is all they need
        assert GRAPH[module] <= {"redraft.errors", "redraft.errors.RedraftError"}, module


def test_nothing_inside_the_package_imports_the_facade() -> None:
    importers = {m for m, targets in GRAPH.items() if any(t.startswith("redraft.api") for t in targets)}
    assert importers <= {"redraft", "redraft.cli.running"}  # the package's own re-export, and the CLI


def test_no_import_cycle_between_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        for target in targets:
            if target not in GRAPH and target.rsplit(".", 1)[0] not in GRAPH:
                continue
            source, dest = package(module), package(target)
            if source != dest and "redraft" not in (source, dest):
                edges[source].add(dest)
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in edges[node]:
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif len(path) < 12:
                visit(nxt, path + [nxt])

    for start in list(edges):
        visit(start, [start])
    assert cycles == []


def test_the_record_types_load_without_any_strategy() -> None:
    import subprocess
    import sys

    code = ("import sys, redraft.trace, redraft.runs.store; "
            "print(sorted(m for m in sys.modules if m.startswith('redraft.strategies')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_facade_evaluates_through_the_same_runner() -> None:
    from redraft.models.scripted import ScriptedModel

    model = ScriptedModel(lambda messages: "The answer is 4.")
    summary = redraft.evaluate("multiarith", "direct,self_consistency[k=2]", model=model, limit=2,
                               store=redraft.RunStore())
    assert [m.strategy for m in summary.strategies] == ["direct", "self_consistency[k=2]"]
    assert all(m.n == 2 for m in summary.strategies) and summary.complete
    assert len(model.history) == 2 + 4
