"""Weight copies (paper §4.4): ``copies`` independent deep copies of one module, one active.

The supernet keeps one ``WeightCopies`` per encoder group and one of the classifier; a search
step draws which copy trains (``select``), and only that copy gets gradients.
"""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

__all__ = ["WeightCopies"]


class WeightCopies(nn.Module):
    """``copies`` independent deep copies of ``module``; ``active`` selects the one that runs.

    ``name`` names the copies in errors and in the supernet's groups (``markers+standard``,
    ``tokens``, ``all`` for encoders; ``classifier``). Calling it calls the active copy.
    """

    def __init__(self, name: str, module: nn.Module, copies: int) -> None:
        super().__init__()
        self.name = name
        self.copies = nn.ModuleList(copy.deepcopy(module) for _ in range(copies))
        self.active = 0

    def select(self, k: int) -> None:
        self.copy(k)  # refuses a copy that is not there
        self.active = k

    def copy(self, k: int) -> nn.Module:
        """Copy ``k`` (an ``IndexError`` naming the copies when there is none)."""
        if not 0 <= k < len(self.copies):
            raise IndexError(f"{self.name}: copy {k} of {len(self.copies)}")
        return self.copies[k]

    @property
    def current(self) -> nn.Module:
        return self.copies[self.active]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.current(*args, **kwargs)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, active={self.active}"
