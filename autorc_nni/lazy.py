"""Package attributes imported when first used (PEP 562), so importing a package stays cheap.

__getattr__, __dir__ = lazy_exports(__name__, {"Name": "module"}, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports_of(table: str) -> dict[str, str]:
    """``{public name: module}`` from a table of lines ``module: name name ...`` (a line without
    a ``module:`` goes on with the names of the line above)."""
    exports: dict[str, str] = {}
    module = ""
    for line in table.splitlines():
        head, colon, names = line.strip().rpartition(":")
        if colon:
            module = head.strip()
        if names.strip() and not module:
            raise ValueError(f"exports table: {line.strip()!r} has no module before it")
        exports |= dict.fromkeys(names.split(), module)
    return exports


def lazy_exports(
    package: str,
    exports: Mapping[str, str],
    namespace: dict[str, Any],
    renamed: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a public name of ``exports`` (name -> the
    submodule defining it; ``renamed`` maps a public name to the name it has there) is imported
    on first access and cached in ``namespace`` (the package's ``globals()``)."""
    renamed = dict(renamed or {})

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), renamed.get(name, name))
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return getattr_, dir_
