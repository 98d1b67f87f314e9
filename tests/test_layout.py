"""The import rule of docs/design.md §1: a folder imports only the folders above it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["autorc_nni", "search_spaces", "strategies", "trial"]


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
