"""The search spaces M, M1, M2, M3 (docs/design.md §3, paper Table 2) as data.

A space is the sub-table of ``autorc_nni.architecture.DECISIONS`` it leaves free, plus the
values it fixes. The reduced spaces of the paper's ablation are M with decisions fixed:

===== ====================================================== =============================
space what is fixed                                          free decisions
===== ====================================================== =============================
M     nothing                                                all 16
M1    every ``inter_*`` = none                               span, posenc, pool_*, use_*
M2    M1 + every ``pool_*`` = start                          span, posenc, use_*
M3    M2 + every ``use_c*`` = False, and the entity features span
      as BERT-entity has them: posenc none, use_e1 = use_e2
      = True
===== ====================================================== =============================

M3 with ``span`` fixed to ``markers`` is BERT-entity (the paper's Table 2 reading): its only
free decision is the input format, so it has three points.

A *sample* is a dict ``label -> value`` over a space's free decisions (what the controller emits
and what ``AutoRCSupernet.simplify()`` lists); ``to_architecture(sample, space)`` completes it with
the fixed values into an ``Architecture``. A sample is *valid* when the architecture has at least
one classifier feature (some ``use_*`` true or some ``inter_*`` not none).
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autorc_nni.architecture import (
    CONTEXT_PARTS,
    DECISIONS,
    PAPER_FORMATS,
    PARTS,
    Architecture,
    ArchitectureError,
    readable,
)
from autorc_nni.errors import AutoRCError
from autorc_nni.tasks import get_task

__all__ = [
    "SPACES",
    "SearchSpace",
    "SearchSpaceError",
    "PAPER_SPACE_SIZE",
    "FEATURE_DECISIONS",
    "get_space",
    "space_decisions",
    "fixed_values",
    "space_size",
    "valid_space_size",
    "distinct_space_size",
    "describe_space",
    "to_architecture",
    "from_architecture",
    "is_valid",
    "task_space",
    "restrict_space",
    "canonical_restrict",
]

# The size the paper states for M (§4.1, "1.64e+8 combinations"), given without derivation.
PAPER_SPACE_SIZE = 1.64e8

# Decisions that decide whether the classifier sees any feature at all.
FEATURE_DECISIONS: tuple[str, ...] = (
    *(f"use_{p}" for p in PARTS),
    "inter_e1e2",
    *(f"inter_{c}" for c in CONTEXT_PARTS),
)


class SearchSpaceError(AutoRCError, ValueError):
    """An unknown space name, or a sample that does not fit its space."""


@dataclass(frozen=True)
class SearchSpace:
    """One search space: the free decisions (controller order) and the fixed values."""

    name: str
    description: str
    decisions: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        overlap = set(self.decisions) & set(self.fixed)
        missing = set(DECISIONS) - set(self.decisions) - set(self.fixed)
        if overlap or missing:
            raise SearchSpaceError(
                f"space {self.name}: decisions both free and fixed {sorted(overlap)}, "
                f"neither free nor fixed {sorted(missing)}"
            )
        for label, value in self.fixed.items():
            if value not in DECISIONS[label]:
                raise SearchSpaceError(
                    f"space {self.name}: fixed {label}={value!r} not in {list(DECISIONS[label])}"
                )


def _space(name: str, description: str, fixed: dict[str, Any]) -> SearchSpace:
    free = {label: opts for label, opts in DECISIONS.items() if label not in fixed}
    if "span" in free:
        free["span"] = PAPER_FORMATS  # the paper's three; a task may add its own (task_space)
    return SearchSpace(name, description, free, dict(fixed))


_NO_INTERACTION = {"inter_e1e2": "none", **{f"inter_{c}": "none" for c in CONTEXT_PARTS}}
_START_ONLY = {f"pool_{p}": "start" for p in PARTS}
_NO_CONTEXT = {f"use_{c}": False for c in CONTEXT_PARTS}
_BERT_ENTITY_FEATURES = {"posenc": "none", "use_e1": True, "use_e2": True}

SPACES: dict[str, SearchSpace] = {
    "M": _space("M", "the full AutoRC space (paper §3.6)", {}),
    "M1": _space("M1", "M without any feature interaction", _NO_INTERACTION),
    "M2": _space("M2", "M1 with start pooling as the only pooler", _NO_INTERACTION | _START_ONLY),
    "M3": _space(
        "M3",
        "M2 without context features, entity features as BERT-entity (only the input format free)",
        _NO_INTERACTION | _START_ONLY | _NO_CONTEXT | _BERT_ENTITY_FEATURES,
    ),
}


def task_space(
    space: str | SearchSpace,
    task: str = "rc",
    restrict: Mapping[str, Any] | None = None,
) -> SearchSpace:
    """``space`` as a task searches it (docs/design.md §10): with the span options the task adds
    to the paper's three (``Task.extra_spans``; ner and coref: ``levitated``, a text's candidates
    in one encoder pass), without those it cannot use (``Task.excluded_spans``; ner: ``tokens``,
    which would hide the span's words), and with the decisions that have no effect on it fixed
    (``Task.fixed_decisions``; ner: ``use_c1`` off, ``inter_c1`` none, as e1 = e2; ``pool_c1`` is
    then never read). rc: unchanged.

    ``restrict`` (the config's ``restrict``: ``{decision: [options]}``) then keeps only the named
    options of free decisions, in the space's order; a decision left with one option is fixed
    (:func:`restrict_space`)."""
    s = get_space(space)
    t = get_task(task)
    if not t.excluded_spans and not t.fixed_decisions and not t.extra_spans:
        return restrict_space(s, restrict)
    decisions, fixed = dict(s.decisions), dict(s.fixed)
    if "span" in decisions:
        spans = (*decisions["span"], *(o for o in t.extra_spans if o not in decisions["span"]))
        decisions["span"] = tuple(o for o in spans if o not in t.excluded_spans)
    elif fixed["span"] in t.excluded_spans:
        raise SearchSpaceError(
            f"space {s.name} fixes span={fixed['span']}, which {t.title or t.name} cannot use"
        )
    for label, value in t.fixed_decisions.items():
        decisions.pop(label, None)
        fixed[label] = value
    offered = ", ".join(decisions["span"]) if "span" in decisions else str(fixed["span"])
    held = ", ".join(f"{k}={v}" for k, v in t.fixed_decisions.items())
    return restrict_space(
        SearchSpace(
            s.name,
            f"{s.description}; {t.title or t.name}: span in {{{offered}}}"
            + (f", {held}" if held else ""),
            decisions,
            fixed,
        ),
        restrict,
    )


def canonical_restrict(
    space: str | SearchSpace, task: str = "rc", restrict: Mapping[str, Any] | None = None
) -> dict[str, list[Any]]:
    """``restrict`` written one way (``{decision: [options]}`` in the order of ``DECISIONS`` and
    of each decision's options), so that ``span: standard`` and ``span: [standard]`` are one
    config; checked as :func:`task_space` checks it."""
    task_space(space, task, restrict)  # refuses what does not fit, by key
    if not restrict:
        return {}
    out: dict[str, list[Any]] = {}
    for label in DECISIONS:
        if label in restrict:
            wanted = restrict[label]
            values = list(wanted) if isinstance(wanted, (list, tuple)) else [wanted]
            out[label] = [
                o for o in DECISIONS[label] if any(o == v and type(o) is type(v) for v in values)
            ]
    return out


def restrict_space(space: SearchSpace, restrict: Mapping[str, Any] | None) -> SearchSpace:
    """``space`` keeping only the options ``restrict`` names for each decision it names
    (``{"span": ["standard"]}``; a single value may stand for a one-item list), in the space's
    order; a decision left with one option is fixed to it. The space's name stays, its
    description says what was kept. A decision the space does not have, an option it does not
    offer (the message lists those it does), an empty list, or a fixed decision restricted to
    another value raise ``SearchSpaceError``; restricting every feature switch off leaves no
    valid model and is refused too."""
    if not restrict:
        return space
    if not isinstance(restrict, Mapping):
        raise SearchSpaceError(
            f"restrict: expected a mapping decision -> [options], got {restrict!r}"
        )
    decisions, fixed = dict(space.decisions), dict(space.fixed)
    kept: list[str] = []
    for label, wanted in restrict.items():
        if label not in DECISIONS:
            raise SearchSpaceError(
                f"restrict.{label}: not a decision of the space; decisions: {list(DECISIONS)}"
            )
        values = list(wanted) if isinstance(wanted, (list, tuple)) else [wanted]
        if not values:
            raise SearchSpaceError(f"restrict.{label}: an empty list leaves nothing to search")
        offered = decisions.get(label, (fixed.get(label),))
        bad = [v for v in values if not any(v == o and type(v) is type(o) for o in offered)]
        if bad:
            where = "offers" if label in decisions else "fixes"
            raise SearchSpaceError(
                f"restrict.{label}: {bad} not among the options space {space.name} {where} "
                f"for it: {list(offered)}"
            )
        if label not in decisions:
            continue  # already fixed to that value
        keep = tuple(o for o in decisions[label] if o in values)
        if len(keep) == 1:
            del decisions[label]
            fixed[label] = keep[0]
        else:
            decisions[label] = keep
        kept.append(f"{label} in {{{', '.join(map(str, keep))}}}")
    out = SearchSpace(
        space.name,
        space.description + (f"; restricted to {', '.join(kept)}" if kept else ""),
        decisions,
        fixed,
    )
    if not any(
        out.fixed.get(d) not in (None, False, "none")
        or any(o not in (False, "none") for o in out.decisions.get(d, ()))
        for d in FEATURE_DECISIONS
    ):
        raise SearchSpaceError(
            f"restrict: {dict(restrict)} turns every classifier feature off: no model is left"
        )
    return out


def get_space(space: str | SearchSpace) -> SearchSpace:
    """A space by name (``M``, ``M1``, ``M2``, ``M3``), or the space itself."""
    if isinstance(space, SearchSpace):
        return space
    try:
        return SPACES[space]
    except (KeyError, TypeError):
        raise SearchSpaceError(f"unknown search space {space!r}; known: {list(SPACES)}") from None


def space_decisions(name: str | SearchSpace) -> dict[str, tuple[Any, ...]]:
    """The free decisions of a space, ``label -> options``, in controller order."""
    return dict(get_space(name).decisions)


def fixed_values(name: str | SearchSpace) -> dict[str, Any]:
    """The decisions a space fixes, ``label -> value``."""
    return dict(get_space(name).fixed)


def space_size(name: str | SearchSpace) -> int:
    """Number of points of the space read literally: the product of the option counts."""
    return math.prod(len(opts) for opts in get_space(name).decisions.values())


def valid_space_size(name: str | SearchSpace) -> int:
    """Number of *valid* points: those whose architecture has at least one feature.

    A point is invalid exactly when every feature decision (``use_*``, ``inter_*``) is off.
    """
    s = get_space(name)
    if any(s.fixed[d] not in (False, "none") for d in FEATURE_DECISIONS if d in s.fixed):
        return space_size(s)  # a fixed feature is on: every point is valid
    others = math.prod(len(o) for d, o in s.decisions.items() if d not in FEATURE_DECISIONS)
    return space_size(s) - others  # exactly one all-off combination of the free features


def distinct_space_size(name: str | SearchSpace) -> int:
    """Number of valid points that are different models.

    Two points differ as models only through the poolers of parts that are actually computed
    (used, or inside an active interaction) and through the interaction op of active slots;
    the pooler of a part nobody reads, for instance, does not change the function.
    """
    s = get_space(name)
    feats = [d for d in FEATURE_DECISIONS if d in s.decisions]
    rest = math.prod(
        len(o)
        for d, o in s.decisions.items()
        if d not in FEATURE_DECISIONS and not d.startswith("pool_")
    )
    total = 0
    for combo in itertools.product(*(s.decisions[d] for d in feats)):
        values = dict(s.fixed) | dict(zip(feats, combo, strict=True))
        try:
            arch = Architecture(**{d: values.get(d, DECISIONS[d][0]) for d in DECISIONS})
        except ArchitectureError:
            continue  # no feature
        needed = arch.needed_parts()
        total += math.prod(len(s.decisions.get(f"pool_{p}", (None,))) for p in needed)
    return total * rest


def _check_sample(sample: Mapping[str, Any], s: SearchSpace) -> None:
    missing = [d for d in s.decisions if d not in sample]
    unknown = sorted(set(sample) - set(s.decisions))
    if missing or unknown:
        fixed = sorted(set(unknown) & set(s.fixed))
        raise SearchSpaceError(
            f"sample for space {s.name}: missing decision(s) {missing}, unknown {unknown}"
            + (f" ({fixed} are fixed in {s.name})" if fixed else "")
        )
    for label, value in sample.items():
        opts = s.decisions[label]
        if value not in opts or type(value) is not type(opts[0]):
            raise SearchSpaceError(
                f"sample for space {s.name}: {label}={value!r} is not one of {list(opts)}"
            )


def to_architecture(sample: Mapping[str, Any], space: str | SearchSpace = "M") -> Architecture:
    """Complete a sample of the space's free decisions with its fixed values.

    Raises ``SearchSpaceError`` for a missing, unknown or out-of-range decision and
    ``ArchitectureError`` for a sample without any feature.
    """
    s = get_space(space)
    _check_sample(sample, s)
    return Architecture(**(s.fixed | dict(sample)))


def from_architecture(arch: Architecture, space: str | SearchSpace = "M") -> dict[str, Any]:
    """The sample of ``space`` that gives ``arch``; an error if ``arch`` is not in the space.

    The pooler of a part the architecture never reads does not matter: BERT-entity (whose
    unused ``pool_c1`` is ``avg``) is in M3, where every pooler is fixed to ``start``.
    """
    s = get_space(space)
    values = arch.to_dict()
    unread = {f"pool_{p}" for p in PARTS if p not in arch.needed_parts()}
    clash = {d: values[d] for d, v in s.fixed.items() if values[d] != v and d not in unread}
    if clash:
        raise SearchSpaceError(
            f"architecture is not in space {s.name}: {clash} differ from the fixed values "
            f"{ {d: s.fixed[d] for d in clash} }"
        )
    return {d: values[d] for d in s.decisions}


def is_valid(sample: Mapping[str, Any], space: str | SearchSpace = "M") -> bool:
    """Whether ``sample`` is a point of ``space`` whose architecture has at least one feature."""
    try:
        to_architecture(sample, space)
    except (SearchSpaceError, ArchitectureError):
        return False
    return True


def _fmt(label: str, value: object) -> str:
    name, text = str(value), readable(label, value)
    return f"{name} ({text})" if text != name else name


def _factors(decisions: dict[str, tuple[object, ...]]) -> str:
    """Option counts as a product per decision family: ``3 (span) x 5^5 (pool_*) x ...``."""
    families: dict[str, list[int]] = {}
    for label, options in decisions.items():
        family = f"{label.split('_')[0]}_*" if "_" in label else label
        families.setdefault(family, []).append(len(options))
    terms = []
    for family, counts in families.items():
        base = (
            f"{counts[0]}^{len(counts)}"
            if len(set(counts)) == 1 and len(counts) > 1
            else (" x ".join(map(str, counts)))
        )
        terms.append(f"{base} ({family})")
    return " x ".join(terms) or "1"


def describe_space(name: str | SearchSpace) -> str:
    """The text ``autorc space`` prints for one space: its decisions with their readable
    labels, what it fixes, and its three sizes (literal, valid, distinct)."""
    space = get_space(name)
    lines = [f"search space {space.name}: {space.description}", "", "free decisions:"]
    decisions = space_decisions(name)
    fixed = fixed_values(name)
    width = max(len(d) for d in [*decisions, *fixed])
    for label, options in decisions.items():
        lines.append(
            f"  {label:<{width}}  {len(options)}: {', '.join(_fmt(label, o) for o in options)}"
        )
    if fixed:
        lines += ["", "fixed decisions:"]
        lines += [f"  {label:<{width}}  = {_fmt(label, v)}" for label, v in fixed.items()]
    literal, valid, distinct = space_size(name), valid_space_size(name), distinct_space_size(name)
    lines += [
        "",
        "number of architectures:",
        f"  literal (product of option counts: {_factors(decisions)}) : {literal:,}",
        f"  valid (at least one classifier feature) : {valid:,}",
        f"  distinct models (poolers of unread parts ignored) : {distinct:,}",
    ]
    if space == SPACES["M"]:  # the paper's M, as RC searches it
        note = (
            f"The paper (§4.1) states {PAPER_SPACE_SIZE:.2e} combinations for M, without a "
            f"derivation. Read literally, the decisions of §3.6 multiply to {literal:,} "
            f"({literal:.2e}); we print our own counts and adjust neither figure "
            "(docs/design.md §3). "
            f"For what it is worth, 1.64e8 is close to {literal:,} x 9/4 = {literal * 9 // 4:,}, "
            "the count if two of the binary decisions had three options; the paper does not "
            "say so."
        )
        lines += ["", *textwrap.wrap(note, width=92)]
    return "\n".join(lines)
