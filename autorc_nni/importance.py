"""Decision importance: how much of the variation of a score each architecture decision explains.

After a search (or over the evaluated candidates of a run), the scored architectures are laid out
as an in-memory Optuna study — one completed trial per architecture, one categorical parameter
per decision that varies among them — and Optuna's importance evaluators answer the question:
fANOVA (``FanovaImportanceEvaluator``, the default) or the mean decrease of impurity of a random
forest (``MeanDecreaseImpurityImportanceEvaluator``). No statistic is computed here by hand;
besides the evaluator's importances this module only reports, per decision, the option with the
highest mean score among the rows (a reading aid: which way the decision goes).

    from autorc_nni.importance import decision_importance, importance_markdown, plot_importance
    result = decision_importance([(arch, score), ...], space_decisions("M2"))
    print(importance_markdown(result))
    plot_importance(result, "importance.png")

The result is plain JSON (options are written as strings, ``True`` -> ``"True"``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from autorc_nni.architecture import Architecture
from autorc_nni.errors import AutoRCError

EVALUATORS: tuple[str, ...] = ("fanova", "mdi")
EVALUATOR_NAMES = {
    "fanova": "fANOVA (optuna FanovaImportanceEvaluator)",
    "mdi": "mean decrease impurity (optuna MeanDecreaseImpurityImportanceEvaluator)",
}
# Below this many rows, or fewer than ``CAUTION_ROWS_PER_DECISION`` rows per varying decision,
# the result carries a caution.
CAUTION_MIN_ROWS = 10
CAUTION_ROWS_PER_DECISION = 2
CAUTION = "k is too small to say much"

__all__ = [
    "EVALUATORS",
    "ImportanceError",
    "decision_importance",
    "importance_markdown",
    "plot_importance",
]


class ImportanceError(AutoRCError, ValueError):
    """An unknown evaluator, or rows that are not (Architecture, score) pairs."""


def _evaluator(name: str, seed: int) -> Any:
    from optuna.importance import (
        FanovaImportanceEvaluator,
        MeanDecreaseImpurityImportanceEvaluator,
    )

    if name == "fanova":
        return FanovaImportanceEvaluator(seed=seed)
    if name == "mdi":
        return MeanDecreaseImpurityImportanceEvaluator(seed=seed)
    raise ImportanceError(f"unknown importance evaluator {name!r}; known: {list(EVALUATORS)}")


NOT_COMPUTED = "(not computed)"  # the value of pool_X when part X is never read


def _value(arch: Architecture, label: str) -> Any:
    """The decision's value as the model sees it: the pooler of a part that is neither used nor
    read by an interaction is ``NOT_COMPUTED`` (not the canonical placeholder), so that its
    credit is not split with the ``use_X`` decision that switches it off."""
    if label.startswith("pool_") and label[5:] not in arch.needed_parts():
        return NOT_COMPUTED
    return getattr(arch, label)


def _options(label: str, options: Sequence[Any]) -> tuple[Any, ...]:
    return (*options, NOT_COMPUTED) if label.startswith("pool_") else tuple(options)


def _best_option(
    rows: Sequence[tuple[Architecture, float]], label: str, options: Sequence[Any]
) -> dict[str, Any]:
    """Per option seen: mean score and count; and the option with the highest mean (ties: more
    rows, then the earlier option)."""
    by: dict[Any, list[float]] = {}
    for arch, score in rows:
        by.setdefault(_value(arch, label), []).append(score)
    seen = [o for o in _options(label, options) if o in by]
    stats = {o: (math.fsum(by[o]) / len(by[o]), len(by[o])) for o in seen}
    best = max(seen, key=lambda o: (stats[o][0], stats[o][1], -seen.index(o)))
    return {
        "best_option": str(best),
        "best_mean": stats[best][0],
        "best_n": stats[best][1],
        "by_option": {str(o): {"mean": m, "n": n} for o, (m, n) in stats.items()},
    }


def _coerce(
    rows: Iterable[tuple[Architecture, float]],
) -> tuple[list[tuple[Architecture, float]], int]:
    """Canonical architectures with float scores; rows whose score is not finite are dropped."""
    out, dropped = [], 0
    for i, row in enumerate(rows):
        try:
            arch, score = row
        except (TypeError, ValueError):
            raise ImportanceError(
                f"row {i}: expected an (Architecture, score) pair, got {row!r}"
            ) from None
        if isinstance(arch, Mapping):
            arch = Architecture.from_dict(dict(arch), where=f"row {i}")
        if not isinstance(arch, Architecture):
            raise ImportanceError(f"row {i}: {type(arch).__name__} is not an Architecture")
        if score is None or not math.isfinite(float(score)):
            dropped += 1
            continue
        out.append((arch.canonical(), float(score)))
    return out, dropped


def decision_importance(
    rows: Iterable[tuple[Architecture, float]],
    decisions: Mapping[str, Sequence[Any]],
    evaluator: str = "fanova",
    seed: int = 0,
) -> dict[str, Any]:
    """How much each decision explains the variation of the score among ``rows``.

    ``rows``: (``Architecture`` or its dict, score) pairs; architectures are canonicalized
    (``Architecture.canonical``) first and rows with a missing or non-finite score are dropped.
    ``decisions``: label -> options (e.g. ``space_decisions(space)``); only decisions with more
    than one option that also take more than one value among the rows are evaluated.
    ``evaluator``: ``"fanova"`` or ``"mdi"``; ``seed`` seeds its random forest.

    Returns a JSON-ready dict:

    - ``evaluator``, ``evaluator_name``, ``seed``, ``n`` (rows used), ``dropped`` (rows without a
      finite score), ``score_min`` / ``score_max`` (``None`` without rows);
    - ``decisions``: one entry per varying decision, most important first: ``decision``,
      ``importance`` (normalized, the entries sum to 1; all 0 when every score is equal),
      ``best_option`` (as a string) with its ``best_mean`` score and ``best_n`` rows, and
      ``by_option`` (option -> ``{"mean", "n"}``, options seen only);
    - ``constant``: the free decisions that take one value in every row (nothing to explain);
    - ``caution``: a sentence when the rows are too few to read much into the numbers (fewer than
      10, or fewer than two per varying decision), else ``None``;
    - ``note``: why there are no (or only zero) importances — fewer than 2 rows, no varying
      decision, all scores equal — else ``None``.
    """
    if evaluator not in EVALUATORS:
        raise ImportanceError(
            f"unknown importance evaluator {evaluator!r}; known: {list(EVALUATORS)}"
        )
    data, dropped = _coerce(rows)
    n = len(data)
    free = {label: tuple(opts) for label, opts in decisions.items() if len(opts) > 1}
    unknown = sorted(set(free) - {f for f in Architecture.__dataclass_fields__})
    if unknown:
        raise ImportanceError(f"unknown decision(s) {unknown}")
    varying = [lb for lb in free if len({_value(a, lb) for a, _ in data}) > 1]
    scores = [s for _, s in data]
    result: dict[str, Any] = {
        "evaluator": evaluator,
        "evaluator_name": EVALUATOR_NAMES[evaluator],
        "seed": seed,
        "n": n,
        "dropped": dropped,
        "score_min": min(scores) if scores else None,
        "score_max": max(scores) if scores else None,
        "decisions": [],
        "constant": [lb for lb in free if lb not in varying],
        "caution": None,
        "note": None,
    }
    if n < CAUTION_MIN_ROWS or n < CAUTION_ROWS_PER_DECISION * len(varying):
        result["caution"] = (
            f"{n} scored architecture{'s' if n != 1 else ''} for {len(varying)} varying "
            f"decision{'s' if len(varying) != 1 else ''}: {CAUTION}; read the ranking as a hint, "
            "not a finding"
        )
    if n < 2:
        result["note"] = (
            f"{n} scored architecture{'s' if n != 1 else ''}: at least 2 are "
            "needed to compare decisions"
        )
        return result
    if not varying:
        result["note"] = f"no decision varies among the {n} scored architectures"
        return result
    if max(scores) == min(scores):
        result["note"] = (
            f"all {n} scores are equal ({scores[0]:.4g}): no decision explains any variation"
        )
        importances = dict.fromkeys(varying, 0.0)
    else:
        importances = _optuna_importances(data, {lb: free[lb] for lb in varying}, evaluator, seed)
    order = sorted(varying, key=lambda lb: (-importances[lb], varying.index(lb)))
    result["decisions"] = [
        {"decision": lb, "importance": float(importances[lb]), **_best_option(data, lb, free[lb])}
        for lb in order
    ]
    return result


def _optuna_importances(
    data: list[tuple[Architecture, float]],
    decisions: dict[str, tuple[Any, ...]],
    evaluator: str,
    seed: int,
) -> dict[str, float]:
    import optuna
    from optuna.distributions import BaseDistribution, CategoricalDistribution

    distributions: dict[str, BaseDistribution] = {
        lb: CategoricalDistribution(list(_options(lb, opts))) for lb, opts in decisions.items()
    }
    trials = [
        optuna.trial.create_trial(
            params={lb: _value(arch, lb) for lb in decisions},
            distributions=distributions,
            value=score,
        )
        for arch, score in data
    ]
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "a new study created" line
    try:
        study = optuna.create_study(direction="maximize")
    finally:
        optuna.logging.set_verbosity(verbosity)
    study.add_trials(trials)
    # ``params`` in sorted order: optuna 5.0's mean-decrease-impurity evaluator sorts the
    # distributions by name but labels the importances in the order ``params`` is given, so any
    # other order gives one decision's importance to another.
    got = optuna.importance.get_param_importances(
        study, evaluator=_evaluator(evaluator, seed), params=sorted(decisions), normalize=True
    )
    return {lb: float(got.get(lb, 0.0)) for lb in decisions}


# -- presentation ------------------------------------------------------------------------------
def importance_markdown(result: Mapping[str, Any]) -> str:
    """The result as Markdown: a line saying what was evaluated, then the table
    ``decision | importance | best option (mean score, n)`` (most important first), then the
    constant decisions, the note and the caution when there are any."""
    n, ev = result["n"], result["evaluator_name"]
    lines = [
        f"{ev} over {n} scored architecture{'s' if n != 1 else ''}"
        + (
            f" ({result['dropped']} without a finite score left out)"
            if result.get("dropped")
            else ""
        )
        + "."
    ]
    if result["decisions"]:
        lines += ["", "| decision | importance | best option (mean score, n) |", "|---|---:|---|"]
        for d in result["decisions"]:
            lines.append(
                f"| {d['decision']} | {d['importance']:.3f} | {d['best_option']} "
                f"({d['best_mean']:.4f}, {d['best_n']}) |"
            )
    if result.get("constant"):
        lines += [
            "",
            "Same value in every architecture (not evaluated): "
            + ", ".join(f"`{c}`" for c in result["constant"])
            + ".",
        ]
    if result.get("note"):
        lines += ["", f"**No importance:** {result['note']}."]
    if result.get("caution"):
        lines += ["", f"**Caution:** {result['caution']}."]
    return "\n".join(lines) + "\n"


def plot_importance(result: Mapping[str, Any], path: str | Path, title: str | None = None) -> Path:
    """A horizontal bar chart of the importances (most important on top, each bar labelled with
    the decision and its best option) as a PNG at ``path``; with no importance to show, the
    figure says why. Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    rows = list(result["decisions"])
    fig, ax = plt.subplots(figsize=(7.5, max(2.2, 0.42 * len(rows) + 1.3)))
    try:
        title = title or f"decision importance — {result['evaluator']}, n = {result['n']}"
        ax.set_title(title, fontsize=11)
        if rows:
            labels = [f"{d['decision']}  (best: {d['best_option']})" for d in rows]
            values = [d["importance"] for d in rows]
            y = range(len(rows))
            bars = ax.barh(list(y), values, color="#4878a8")
            ax.set_yticks(list(y), labels, fontsize=9)
            ax.invert_yaxis()  # most important on top
            ax.set_xlim(0, max(1.0, max(values)) * 1.12)
            ax.bar_label(bars, [f"{v:.2f}" for v in values], padding=3, fontsize=8)
            ax.set_xlabel("importance (normalized)")
            footer = result.get("caution") or result.get("note")
            if footer:
                fig.text(
                    0.01,
                    0.01,
                    f"caution: {footer}" if result.get("caution") else footer,
                    fontsize=7,
                    color="#a04000",
                    wrap=True,
                )
        else:
            ax.axis("off")
            ax.text(
                0.5,
                0.5,
                result.get("note") or "no decision to show",
                ha="center",
                va="center",
                fontsize=10,
                wrap=True,
                transform=ax.transAxes,
            )
        fig.tight_layout(rect=(0, 0.05 if rows else 0, 1, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
