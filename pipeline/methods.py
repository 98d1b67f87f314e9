"""Every valid ``method:`` of a protocol run, one row each: where its candidates come from and
how the reports show it. The one list the CLI's choices, the config check and the reports read.

=================  ===========  ======================================================
``naive-enas``…    ``search``   a row of ``strategies.methods.METHODS`` (AutoRC and its
                                ablations): the search ranks the candidates
``random``         ``random``   the random-search baseline: ``random_n`` draws of the space
``bert-entity``…   ``preset``   a hand-made design (``autorc_nni.architecture.PRESETS``)
=================  ===========  ======================================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from autorc_nni.architecture import PRESETS, preset_title
from autorc_nni.config import ConfigError
from strategies.methods import METHODS

RANDOM = "random"  # the method name of the random-search baseline


@dataclass(frozen=True)
class ReportRow:
    """How a run appears in the reports; its ``result.json`` records it as ``row``, so the
    reports need no list of methods."""

    title: str  # the row's name ("AutoRC", "BERT-entity")
    kind: str  # "preset", "random", "search" or "learned": the block of the table, in that order
    order: int = 0  # position in its block
    learned: bool = False  # the best run of this row on a dataset gives the AR_<dataset> row


@dataclass(frozen=True)
class MethodRow:
    """One valid ``method:``: where its candidates come from, and its report row."""

    source: Literal["search", "random", "preset"]
    row: ReportRow


def fixed_row(name: str, label: str | None = None) -> ReportRow:
    """The report row of one fixed architecture: a preset (in preset order), or an
    architecture file (after the presets); ``label`` renames it."""
    if name in PRESETS:
        row = ReportRow(preset_title(name), "preset", list(PRESETS).index(name))
    else:
        row = ReportRow(name, "preset", len(PRESETS))
    return replace(row, title=label) if label else row


METHOD_TABLE: dict[str, MethodRow] = {
    **{
        name: MethodRow("search", ReportRow(m.title, "search", i, learned=m.learned_row))
        for i, (name, m) in enumerate(METHODS.items())
    },
    RANDOM: MethodRow("random", ReportRow("random search", "random")),
    **{name: MethodRow("preset", fixed_row(name)) for name in PRESETS},
}


def method_names() -> list[str]:
    """Every valid ``method:``, in report order: the search methods, random search, the
    presets."""
    return list(METHOD_TABLE)


def get_method_row(name: str) -> MethodRow:
    """The row of ``method: name``; a ``ConfigError`` naming the valid ones otherwise."""
    try:
        return METHOD_TABLE[name]
    except KeyError:
        raise ConfigError(f"method: {name!r} is not one of {method_names()}") from None
