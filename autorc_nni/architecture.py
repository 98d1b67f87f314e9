"""The ``Architecture`` record: one point of the AutoRC search space (docs/design.md §3).

``DECISIONS`` is the search space as one table, in the order the controller emits decisions.
Every other part of the project (the RC model, the NNI model spaces, the controller, the
reports) reads the decisions from here.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from autorc_nni.errors import AutoRCError

PARTS: tuple[str, ...] = ("e1", "e2", "c0", "c1", "c2")
ENTITY_PARTS: tuple[str, ...] = ("e1", "e2")
CONTEXT_PARTS: tuple[str, ...] = ("c0", "c1", "c2")

# The names of each family of options, with the label reports, diagrams and `autorc space` print
# beside a name. These tables are the search space: a registry (poolers, positional encodings,
# interactions in ``autorc_nni.poolers`` / ``autorc_nni.heads``) must register exactly these
# names, which it checks when it is imported (``Registry.check_names``). This module stays
# free of torch so the space can be read (configs, reports, the controller's labels) without it.
FORMAT_NAMES: dict[str, str] = {
    "markers": "entity markers",
    "tokens": "entity tokens",
    "standard": "standard input",
    "levitated": "levitated markers",  # PL-Marker's (Ye et al. 2022), packed; not the paper's
}
# the paper's three input formats: the span decision of the spaces M..M3 (a task may add more,
# ``Task.extra_spans``)
PAPER_FORMATS: tuple[str, ...] = ("markers", "tokens", "standard")
POSENC_NAMES: dict[str, str] = {
    "none": "none",
    "add": "add to embedding",
    "concat": "concat to output",
}
POOLER_NAMES: dict[str, str] = {
    "avg": "avg pool",
    "max": "max pool",
    "self_attn": "self-attn pool",
    "dr": "dynamic-routing pool",
    "start": "start pool",
}
INTERACTION_NAMES: dict[str, str] = {  # "none": no interaction (not a registered op)
    "none": "none",
    "dot": "dot",
    "minus": "minus",
}
FORMATS: tuple[str, ...] = tuple(FORMAT_NAMES)
BOOL: tuple[bool, ...] = (True, False)
# The value ``Architecture.canonical`` gives the pooler of a part the model never reads (it is
# the only pooler of the reduced spaces M2/M3, so a canonical form stays inside every space).
CANONICAL_POOLER = "start"

# The family of each decision: label -> {option: readable label} (None: a yes/no switch).
FAMILIES: dict[str, dict[str, str] | None] = {
    "span": FORMAT_NAMES,
    "posenc": POSENC_NAMES,
    **{f"pool_{p}": POOLER_NAMES for p in PARTS},
    **{f"use_{p}": None for p in PARTS},
    "inter_e1e2": INTERACTION_NAMES,
    **{f"inter_{c}": INTERACTION_NAMES for c in CONTEXT_PARTS},
}

# The search space, in the controller's order: label -> options.
DECISIONS: dict[str, tuple[Any, ...]] = {
    label: BOOL if names is None else tuple(names) for label, names in FAMILIES.items()
}

# Classifier feature slots, in the order features are concatenated in the fixed model.
SLOTS: tuple[str, ...] = (
    "e1",
    "e2",
    "c0",
    "c1",
    "c2",
    "e1e2",
    "c0e1",
    "c0e2",
    "c1e1",
    "c1e2",
    "c2e1",
    "c2e2",
)


def readable(label: str, value: Any) -> str:
    """The label a report prints for option ``value`` of decision ``label``
    (``readable("pool_e1", "dr")`` is ``"dynamic-routing pool"``; a switch prints as itself)."""
    names = FAMILIES[label]
    return str(value) if names is None else names.get(value, str(value))


class ArchitectureError(AutoRCError, ValueError):
    """An architecture record is malformed or describes an invalid model."""


@dataclass(frozen=True)
class Architecture:
    """One RC model design. Field names are the decision labels of ``DECISIONS``."""

    span: str = "markers"
    posenc: str = "none"
    pool_e1: str = "start"
    pool_e2: str = "start"
    pool_c0: str = "start"
    pool_c1: str = "avg"
    pool_c2: str = "avg"
    use_e1: bool = True
    use_e2: bool = True
    use_c0: bool = False
    use_c1: bool = False
    use_c2: bool = False
    inter_e1e2: str = "none"
    inter_c0: str = "none"
    inter_c1: str = "none"
    inter_c2: str = "none"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            options = DECISIONS[f.name]
            if value not in options or type(value) is not type(options[0]):
                raise ArchitectureError(
                    f"decision {f.name!r}: {value!r} is not one of {list(options)}"
                )
        if not self.slots():
            raise ArchitectureError(
                "architecture has no feature: every use_* is false and every inter_* is 'none'; "
                "the classifier would see nothing"
            )

    @classmethod
    def using(cls, span: str = "markers", posenc: str = "none", **pools: str) -> Architecture:
        """The design that uses exactly the parts named in ``pools``, each with its pooler
        (``Architecture.using("markers", e1="avg", e2="avg", c0="start")`` is R-BERT), and no
        interaction; an unused part keeps the default pooler."""
        decisions: dict[str, Any] = {f"pool_{p}": pooler for p, pooler in pools.items()}
        decisions |= {f"use_{p}": p in pools for p in PARTS}
        return cls(span=span, posenc=posenc, **decisions)

    # -- derived views -------------------------------------------------------------------
    def pooler(self, part: str) -> str:
        return getattr(self, f"pool_{part}")

    def uses(self, part: str) -> bool:
        return getattr(self, f"use_{part}")

    def slots(self) -> list[str]:
        """The classifier feature slots this architecture activates, in ``SLOTS`` order."""
        active = {p for p in PARTS if getattr(self, f"use_{p}")}
        if self.inter_e1e2 != "none":
            active.add("e1e2")
        for c in CONTEXT_PARTS:
            if getattr(self, f"inter_{c}") != "none":
                active.update({f"{c}e1", f"{c}e2"})
        return [s for s in SLOTS if s in active]

    def needed_parts(self) -> list[str]:
        """Parts whose pooled vector is computed (used directly or through an interaction)."""
        need: set[str] = set()
        for s in self.slots():
            need.update({s[:2], s[2:]} - {""})
        return [p for p in PARTS if p in need]

    def canonical(self) -> Architecture:
        """The same model with every decision that cannot change its function set to one value.

        The pooler of a part that is neither used nor read by an active interaction is never
        computed: it is set to ``CANONICAL_POOLER``. Two architectures are the same model exactly
        when their canonical forms are equal, so candidates are de-duplicated on this form (a
        ranking of k "distinct" samples that differ only in such a pooler would evaluate one
        model several times).
        """
        needed = set(self.needed_parts())
        unread: dict[str, Any] = {f"pool_{p}": CANONICAL_POOLER for p in PARTS if p not in needed}
        return replace(self, **unread) if unread else self

    def same_model(self, other: Architecture) -> bool:
        """Whether ``other`` computes the same function (equal canonical forms)."""
        return self.canonical() == other.canonical()

    def interaction(self, slot: str) -> str:
        """The interaction op of an interaction slot ('e1e2', 'c0e1', ...)."""
        return self.inter_e1e2 if slot == "e1e2" else getattr(self, f"inter_{slot[:2]}")

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "architecture") -> Architecture:
        if not isinstance(data, dict):
            raise ArchitectureError(f"{where}: expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        data.pop("_meta", None)  # free-form provenance (score, rank, source run)
        unknown = sorted(set(data) - set(DECISIONS))
        if unknown:
            raise ArchitectureError(
                f"{where}: unknown decision(s) {unknown}; known: {list(DECISIONS)}"
            )
        try:
            return cls(**data)
        except ArchitectureError as e:
            raise ArchitectureError(f"{where}: {e}") from None

    def to_json(self, meta: dict[str, Any] | None = None) -> str:
        d = self.to_dict()
        if meta:
            d["_meta"] = meta
        return json.dumps(d, indent=2) + "\n"

    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> None:
        from autorc_nni.files import atomic_write_text

        atomic_write_text(Path(path), self.to_json(meta))  # never half-written

    @classmethod
    def load(cls, path: str | Path) -> Architecture:
        from autorc_nni.files import read_json

        data = read_json(Path(path), ArchitectureError, "no such architecture file")
        return cls.from_dict(data, where=str(path))

    def short(self) -> str:
        """One line for ranking tables: format, posenc, every computed part with its pooler
        (``c2:dr`` for a used part, ``(c2:dr)`` for one read only through an interaction), then
        the active interactions. Two different models never print alike."""
        out = [readable("span", self.span), f"posenc {self.posenc}"]
        for p in self.needed_parts():
            item = f"{p}:{self.pooler(p)}"
            out.append(item if self.uses(p) else f"({item})")
        if self.inter_e1e2 != "none":
            out.append(f"e1e2×{self.inter_e1e2}")
        for c in CONTEXT_PARTS:
            op = getattr(self, f"inter_{c}")
            if op != "none":
                out.append(f"{c}×{op}")
        return ", ".join(out)

    def describe(self) -> str:
        """A short multi-line text description."""
        lines = [
            f"input format     : {readable('span', self.span)}",
            f"entity pos. enc. : {readable('posenc', self.posenc)}",
        ]
        needed = set(self.needed_parts())
        for p in PARTS:
            # a part read only through an interaction is computed too: its pooler matters
            used = "used" if self.uses(p) else ("via interaction" if p in needed else "-")
            pooler = readable(f"pool_{p}", self.pooler(p)) if p in needed else "(not computed)"
            lines.append(f"part {p:<3}         : {pooler:<22} {used}")
        lines.append(f"e1 x e2          : {readable('inter_e1e2', self.inter_e1e2)}")
        for c in CONTEXT_PARTS:
            lines.append(
                f"{c} x (e1, e2)    : {readable(f'inter_{c}', getattr(self, f'inter_{c}'))}"
            )
        lines.append(f"classifier slots : {', '.join(self.slots())}")
        return "\n".join(lines)


# Baldini Soares et al. 2019: start markers of both entities.
_BERT_ENTITY = Architecture.using("markers", e1="start", e2="start")
PRESETS: dict[str, Architecture] = {
    # Span NER baseline (Eberts & Ulges 2020, SpERT): the sentence unchanged, the max-pooled span
    # and the [CLS] context (c0 by start pooling: BERT's pooler over [CLS]).
    "spert-like": Architecture.using("standard", e1="max", c0="start"),
    # Coreference mention-pair baseline: markers, start-pooled antecedent and anaphor, no
    # context (the architecture of bert-entity, named for the coreference rows).
    "pair-baseline": _BERT_ENTITY,
    # Wu & He 2019: averaged entity spans plus [CLS].
    "r-bert": Architecture.using("markers", e1="avg", e2="avg", c0="start"),
    "bert-entity": _BERT_ENTITY,
}
# The hand-made presets' row names in reports and where each comes from (in report order).
PRESET_ORIGINS: dict[str, tuple[str, str]] = {
    "spert-like": ("SpERT-like", "hand-made: Eberts & Ulges 2020 (SpERT's span classifier)"),
    "pair-baseline": ("mention-pair baseline", "hand-made: a mention-pair coreference baseline"),
    "r-bert": ("R-BERT", "hand-made: Wu & He 2019"),
    "bert-entity": ("BERT-entity", "hand-made: Baldini Soares et al. 2019"),
}
if set(PRESET_ORIGINS) != set(PRESETS):
    raise ArchitectureError("every hand-made preset needs its row in PRESET_ORIGINS")


# Learned architectures shipped as presets (the paper's AR_<dataset> rows): one Architecture JSON
# per file in autorc_nni/presets/, named by its stem (``ar-semeval10``), its ``_meta`` naming the
# run it was learned in. A name here may not shadow a hand-made preset.
PRESETS_DIR = Path(__file__).resolve().parent / "presets"
PRESET_SOURCES: dict[str, dict[str, Any]] = {}


def _load_learned_presets(directory: Path = PRESETS_DIR) -> list[str]:
    """Add every ``directory/*.json`` to ``PRESETS``; returns the names added."""
    added = []
    for path in sorted(directory.glob("*.json")):
        if path.stem in PRESETS:
            raise ArchitectureError(f"{path}: preset {path.stem!r} already exists")
        PRESETS[path.stem] = Architecture.load(path)
        meta = json.loads(path.read_text()).get("_meta", {})
        PRESET_SOURCES[path.stem] = meta if isinstance(meta, dict) else {}
        added.append(path.stem)
    return added


_load_learned_presets()


def preset_source(name: str) -> str:
    """Where a preset comes from: the paper it reproduces, or the run it was learned in."""
    if name in PRESET_SOURCES:
        m = PRESET_SOURCES[name]
        bits = [f"learned by {m.get('method', 'autorc')} on {m.get('dataset', '?')}"]
        if m.get("source_run"):
            bits.append(f"run {m['source_run']}")
        if m.get("test_mean") is not None:
            bits.append(
                f"test {100 * m['test_mean']:.2f} ± {100 * (m.get('test_std') or 0):.2f}"
                f" over {m.get('n_seeds', '?')} seeds"
            )
        if m.get("command"):
            bits.append(f"command: {m['command']}")
        return "; ".join(bits)
    return PRESET_ORIGINS[name][1] if name in PRESET_ORIGINS else "hand-made"


def preset_title(name: str) -> str:
    """A preset's row name in reports (a learned preset is shown by its name)."""
    return PRESET_ORIGINS[name][0] if name in PRESET_ORIGINS else name


def resolve_architecture(spec: str | Path | Architecture) -> Architecture:
    """A preset name, a path to an architecture JSON file, or an ``Architecture``."""
    if isinstance(spec, Architecture):
        return spec
    s = str(spec)
    if s in PRESETS:
        return PRESETS[s]
    if Path(s).is_file() or s.endswith(".json"):
        return Architecture.load(s)
    raise ArchitectureError(f"{s!r} is neither a preset ({sorted(PRESETS)}) nor a JSON file")


def space_size(decisions: dict[str, tuple[Any, ...]] = DECISIONS) -> int:
    """Number of points of a space read literally (product of option counts)."""
    return math.prod(len(v) for v in decisions.values())
