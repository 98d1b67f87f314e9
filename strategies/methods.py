"""The search methods: AutoRC and its ablations (paper Table 3, docs/design.md §4), one row each.

A method is three independent switches of the search plus how its runs appear in reports.
This table is the only list of search methods: the CLI's ``--method`` choices, config
validation, the search and the reports all read it (the library learns a run's row from the
``row`` its ``result.json`` records). A new method is one row here.
"""

from __future__ import annotations

from dataclasses import dataclass

from strategies.errors import SearchError

__all__ = ["METHODS", "Method", "get_method"]


@dataclass(frozen=True)
class Method:
    """One search method."""

    title: str  # its row in reports ("AutoRC")
    hetero_sharing: bool  # heterogeneous sharing (else naive ENAS: one encoder, one pooler set)
    copies: int  # weight copies per encoder group and of the classifier
    warmup_epochs: float  # search warm-up: epochs without controller updates (1.5, or 0)
    learned_row: bool = False  # its best run on a dataset is the AR_<dataset> row of Table 1

    @property
    def sharing(self) -> str:
        return "heterogeneous" if self.hetero_sharing else "naive"


# In report order (paper Table 1, then Table 3's ablations).
METHODS: dict[str, Method] = {
    "naive-enas": Method("naive ENAS", hetero_sharing=False, copies=1, warmup_epochs=0.0),
    "autorc": Method("AutoRC", hetero_sharing=True, copies=2, warmup_epochs=1.5, learned_row=True),
    "autorc1": Method("AutoRC1", hetero_sharing=False, copies=2, warmup_epochs=1.5),  # no hetero
    "autorc2": Method("AutoRC2", hetero_sharing=True, copies=1, warmup_epochs=1.5),  # one copy
    "autorc3": Method("AutoRC3", hetero_sharing=True, copies=2, warmup_epochs=0.0),  # no warm-up
}


def get_method(name: str) -> Method:
    """The row of ``name``; a ``SearchError`` naming the known methods otherwise."""
    if name not in METHODS:
        raise SearchError(f"unknown search method {name!r}; known: {list(METHODS)}")
    return METHODS[name]
