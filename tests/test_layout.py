"""The import rule of docs/design.md §1: a folder imports only the folders above it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["autorc_nni", "search_spaces", "strategies", "pipeline", "trial"]


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found & set(ORDER)


def test_no_folder_imports_a_folder_below_it() -> None:
    wrong = []
    for rank, folder in enumerate(ORDER):
        for path in sorted((ROOT / folder).rglob("*.py")):
            below = {p for p in imported_packages(path) if ORDER.index(p) > rank}
            wrong += [f"{path.relative_to(ROOT)} imports {p}" for p in sorted(below)]
    assert wrong == []


def test_the_readme_table_names_every_module() -> None:
    """README's "What is inside" lists every module of the four packages (the file list reads
    as the architecture); a new or renamed file must be placed in it."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## What is inside") : readme.index("## Command line")]
    missing = [
        str(path.relative_to(ROOT))
        for folder in ORDER
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "__init__.py"
        and path.parent.name != "commands"
        and f"`{path.name}`" not in table
    ]
    assert missing == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_library_has_no_import_cycle_not_even_inside_functions() -> None:
    """A cycle hidden in a function-level import (data <-> featurize once) is still a cycle:
    modules of autorc_nni import each other in one direction only."""
    paths = {_module_name(p): p for p in (ROOT / "autorc_nni").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                deps |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        # importing a.b.c runs the package a.b first (its __init__), unless it is our own
        own = {name.rsplit(".", k)[0] for k in range(1, name.count(".") + 1)}
        deps |= {d.rsplit(".", k)[0] for d in deps for k in range(1, d.count(".") + 1)}
        graph[name] = {d for d in deps - own if d in paths and d != name}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt == path[0]:
                cycles.append(" -> ".join([*path, nxt]))
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its smallest module
                visit(nxt, [*path, nxt])

    for name in sorted(graph):
        visit(name, [name])
    assert cycles == []


def test_importing_the_search_prints_no_third_party_warning() -> None:
    """NNI 3.0's "is found to be not a nn.Module" warnings ask nothing of the user: the modules
    that import NNI silence them before the import (an import sorter must not undo that)."""
    import subprocess
    import sys

    code = "import search_spaces.supernet, strategies.search, trial.nni_trial"
    proc = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
