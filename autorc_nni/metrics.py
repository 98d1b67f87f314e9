"""Relation-classification metrics (docs/design.md §7).

- :func:`compute_metrics`: micro-F1 over every label except the negative one (``Other``,
  ``no_relation``, ...), macro-F1 over the non-negative labels, accuracy, per-label P/R/F1 and
  support, and ``score`` = the dataset's declared metric (``micro_f1`` or ``macro_f1``).
- :func:`semeval_official`: the official SemEval-2010 Task 8 score, exactly as
  ``semeval2010_task8_scorer-v1.2.pl`` computes its "(9+1)-way evaluation taking directionality
  into account" macro-averaged F1.
- :func:`write_scorer_file` / :func:`read_scorer_file`: the ``id<TAB>label`` files the Perl scorer
  reads.

Scores are fractions in [0, 1] (the Perl scorer prints percentages).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autorc_nni.errors import AutoRCError, DataError

METRICS: tuple[str, ...] = ("micro_f1", "macro_f1")


class MetricError(AutoRCError, ValueError):
    """Metric inputs are inconsistent (lengths, unknown labels or metric names)."""


def prf(correct: int, proposed: int, actual: int) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``correct`` hits among ``proposed`` predictions and
    ``actual`` gold items (0 where a denominator is 0)."""
    p = correct / proposed if proposed else 0.0
    r = correct / actual if actual else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def prf_dict(correct: int, proposed: int, actual: int) -> dict[str, float]:
    """:func:`prf` as ``{"p", "r", "f1"}``."""
    return dict(zip(("p", "r", "f1"), prf(correct, proposed, actual), strict=True))


def compute_metrics(
    gold: Sequence[int],
    pred: Sequence[int],
    labels: Sequence[str],
    negative_label: str | None,
    metric: str = "micro_f1",
) -> dict[str, Any]:
    """Score predicted label ids against gold label ids.

    ``labels[i]`` names label id ``i``; ``negative_label`` (or None when the set has none) is
    left out of the micro and macro averages: predicting or missing it is neither a true nor a
    false positive. Micro P/R/F1 count true positives = correct non-negative predictions over
    all non-negative predictions (P) and all non-negative gold labels (R). Macro-F1 averages the
    per-label F1 over the non-negative labels that occur in ``gold`` or ``pred`` (sklearn's
    ``f1_score(average="macro")`` with the negative label removed). Returns::

        {"score", "metric", "micro_p", "micro_r", "micro_f1", "macro_p", "macro_r", "macro_f1",
         "accuracy", "n", "per_label": {label: {"p", "r", "f1", "support", "predicted"}}}
    """
    if metric not in METRICS:
        raise MetricError(f"unknown metric {metric!r}; known: {list(METRICS)}")
    if len(gold) != len(pred):
        raise MetricError(f"{len(gold)} gold labels but {len(pred)} predictions")
    n_labels = len(labels)
    for name, ids in (("gold", gold), ("pred", pred)):
        bad = [i for i in ids if not 0 <= int(i) < n_labels]
        if bad:
            raise MetricError(f"{name} label id {bad[0]} is outside 0..{n_labels - 1}")
    if negative_label is not None and negative_label not in labels:
        raise MetricError(
            f"negative label {negative_label!r} is not among the labels {list(labels)}"
        )
    neg = labels.index(negative_label) if negative_label is not None else -1

    gold = [int(g) for g in gold]
    pred = [int(p) for p in pred]
    n = len(gold)
    correct = Counter(g for g, p in zip(gold, pred, strict=True) if g == p)
    support = Counter(gold)
    predicted = Counter(pred)

    per_label: dict[str, dict[str, float]] = {}
    for i, name in enumerate(labels):
        p, r, f = prf(correct[i], predicted[i], support[i])
        per_label[name] = {
            "p": p,
            "r": r,
            "f1": f,
            "support": support[i],
            "predicted": predicted[i],
        }

    positives = [i for i in range(n_labels) if i != neg]
    micro_p, micro_r, micro_f1 = prf(
        sum(correct[i] for i in positives),
        sum(predicted[i] for i in positives),
        sum(support[i] for i in positives),
    )
    present = [i for i in positives if support[i] or predicted[i]]
    if present:
        macro_p = sum(per_label[labels[i]]["p"] for i in present) / len(present)
        macro_r = sum(per_label[labels[i]]["r"] for i in present) / len(present)
        macro_f1 = sum(per_label[labels[i]]["f1"] for i in present) / len(present)
    else:
        macro_p = macro_r = macro_f1 = 0.0
    out: dict[str, Any] = {
        "micro_p": micro_p,
        "micro_r": micro_r,
        "micro_f1": micro_f1,
        "macro_p": macro_p,
        "macro_r": macro_r,
        "macro_f1": macro_f1,
        "accuracy": sum(correct.values()) / n if n else 0.0,
        "n": n,
        "per_label": per_label,
    }
    out["metric"] = metric
    out["score"] = out[metric]
    return out


# -- SemEval-2010 Task 8 --------------------------------------------------------------------

SEMEVAL_RELATIONS: tuple[str, ...] = (
    "Cause-Effect",
    "Component-Whole",
    "Content-Container",
    "Entity-Destination",
    "Entity-Origin",
    "Instrument-Agency",
    "Member-Collection",
    "Message-Topic",
    "Product-Producer",
)
SEMEVAL_OTHER = "Other"
SEMEVAL_LABELS: tuple[str, ...] = (SEMEVAL_OTHER,) + tuple(
    f"{r}({d})" for r in SEMEVAL_RELATIONS for d in ("e1,e2", "e2,e1")
)
_DIRECTION = re.compile(r"\(e[12],e[12]\)$")


def _undirected(label: str) -> str:
    return _DIRECTION.sub("", label)


def semeval_official(gold_labels: Sequence[str], pred_labels: Sequence[str | None]) -> float:
    """The official SemEval-2010 Task 8 score, as a fraction (the scorer prints it ×100).

    Macro-averaged F1 over the 9 undirected relations present in the gold labels (``Other``
    excluded), counting a prediction correct only with the right relation and direction. As in
    ``semeval2010_task8_scorer-v1.2.pl`` (evaluation (iii)):

    - a prediction of relation R with the wrong direction counts against R's precision (it is in
      R's "proposed" count) and is not correct;
    - precision of R = correct / all predictions whose undirected label is R; recall of R =
      correct / all gold examples of R;
    - an entry of ``pred_labels`` that is None is "skipped" (the scorer's file omits the id):
      it lowers recall only, like a prediction of ``Other``;
    - the average divides by the number of distinct non-Other relations in the gold labels.

    Labels must be the 19 SemEval labels (``Other`` and ``Relation(e1,e2)``/``(e2,e1)``): the
    scorer rejects anything else, and so does this function.
    """
    if len(gold_labels) != len(pred_labels):
        raise MetricError(f"{len(gold_labels)} gold labels but {len(pred_labels)} predictions")
    valid = set(SEMEVAL_LABELS)
    for name, seq in (("gold", gold_labels), ("pred", pred_labels)):
        for i, lab in enumerate(seq):
            if lab is not None and lab not in valid:
                raise MetricError(
                    f"{name} label {lab!r} (item {i}) is not a SemEval-2010 Task 8 label"
                )
    correct: Counter[str] = Counter()
    proposed: Counter[str] = Counter()  # predictions of R, wrong-direction ones included
    actual: Counter[str] = Counter(_undirected(g) for g in gold_labels)
    for g, p in zip(gold_labels, pred_labels, strict=True):
        if p is None:
            continue
        proposed[_undirected(p)] += 1
        if p == g:
            correct[_undirected(g)] += 1
    relations = [r for r in actual if r != SEMEVAL_OTHER]
    if not relations:
        raise MetricError("the gold labels contain no relation other than Other")
    return sum(prf(correct[r], proposed[r], actual[r])[2] for r in relations) / len(relations)


# alias under the name used in docs/internals.md
semeval_official_f1 = semeval_official


def write_scorer_file(
    path: str | Path, labels: Sequence[str], ids: Sequence[int | str] | None = None
) -> Path:
    """Write ``id<TAB>label`` lines as the SemEval scorer reads them; ids default to 1..N.

    Ids must be integers (the scorer's format); non-numeric ids raise MetricError.
    """
    ids = list(range(1, len(labels) + 1)) if ids is None else list(ids)
    if len(ids) != len(labels):
        raise MetricError(f"{len(ids)} ids but {len(labels)} labels")
    if len(set(map(str, ids))) != len(ids):
        raise MetricError("scorer file ids must be unique")
    lines = []
    for i, lab in zip(ids, labels, strict=True):
        if not str(i).isdigit():
            raise MetricError(f"scorer file ids must be non-negative integers, got {i!r}")
        lines.append(f"{i}\t{lab}\n")
    path = Path(path)
    path.write_text("".join(lines))
    return path


def read_scorer_file(path: str | Path) -> dict[str, str]:
    """Read an ``id<TAB>label`` file (CRLF tolerated) into {id: label}."""
    path = Path(path)
    out: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].isdigit() or not parts[1]:
            raise DataError(f"{path}:{lineno}: expected 'ID<TAB>LABEL', got {line!r}")
        if parts[0] in out:
            raise DataError(f"{path}:{lineno}: id {parts[0]} is repeated")
        out[parts[0]] = parts[1]
    return out
