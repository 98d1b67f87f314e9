"""A small name -> factory registry (in the manner of timm's ``create_model``).

Poolers, interactions, positional encodings, readers, datasets and encoders are all looked up by
name through one of these, so the search space can list names and a new component is one class
plus one decorator line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects (usually classes or factories).

    >>> POOLERS = Registry("pooler")
    >>> @POOLERS.register("avg")
    ... class AvgPooler: ...
    >>> POOLERS.get("avg") is AvgPooler
    True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return deco

    def add(self, name: str, obj: T) -> T:
        return self.register(name)(obj)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {sorted(self._items)}") from None

    def names(self) -> list[str]:
        return list(self._items)

    def check_names(self, names: Iterable[str], table: str) -> None:
        """Refuse a registry whose names are not exactly ``names``, the search space's table of
        this family (``table`` names it in the error). Each registry module calls this at its
        end, so a component registered without its row in the table (or a row without its
        component) fails at import, not in the middle of a search."""
        want, have = set(names), set(self._items)
        if want != have:
            raise KeyError(
                f"{self.kind} registry and {table} differ: registered but not in the table "
                f"{sorted(have - want)}, in the table but not registered {sorted(want - have)}; "
                f"a new {self.kind} is one registered class plus one row in {table}"
            )

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
