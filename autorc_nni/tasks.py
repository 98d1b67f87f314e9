"""Tasks: what a statement is, how training statements are drawn and how predictions are scored.

The search space, the supernet, the strategy and the protocol are the RC ones for every task
(docs/design.md §10); a task only decides

- the **statements** built from the data: ``RelationExample`` records (words, e1, e2, label)
  that the featurizer, the models and the search read unchanged;
- which statements one **training epoch** sees (NER and coreference sample negatives afresh
  each epoch);
- how the predictions of the dev/test statements are **decoded and scored**.

========  ==========================================================================================
``rc``    one statement per relation instance of the dataset; scored by micro/macro-F1 (``metrics``)
``ner``   span NER (SpERT JSON, ``--format spert``): every span of at most ``max_span_len`` words
          of a sentence is a statement with e1 = e2 = the span, labelled by its entity type or
          ``None``. Training: every gold span plus up to ``neg_per_sentence`` negatives per
          sentence, sampled afresh each epoch. Decoding: each candidate takes its argmax type;
          the entities are those not ``None`` (no overlap filter, as SpERT). Metric: entity-level
          micro-F1 (start, end and type match; gold entities longer than ``max_span_len`` count
          as missed), macro-F1 over the types beside it.
``coref`` mention pairs over gold mentions (CoNLL-2012, ``--format conll2012``): each mention b
          is paired with up to ``max_antecedents`` previous mentions a (e1 = a the antecedent,
          e2 = b the anaphor, label ``coref`` / ``not``) over the sentences from a's to b's,
          widened on both sides while the words fit ``max_len``; the featurizer drops (and
          counts) a pair whose mentions cannot fit. Training: every positive pair plus
          ``neg_ratio`` sampled negatives per positive, afresh each epoch. Decoding: mentions in
          document order, each linked to its most probable antecedent when p(coref) > 0.5
          (best-first), clusters = the transitive closure; singletons kept as clusters when the
          dataset annotates them (``singletons``). Metrics: MUC, B3, CEAF-e and the CoNLL F1,
          summed over documents as the official scorer does (``autorc_nni.coref_metrics``); the
          model-selection metric is MUC F1 (the paper's).
========  ==========================================================================================

During the search the reward and the ranking score statements with the pair metric
(``TaskData.pair_metric``): micro-F1 without the negative label, which is entity micro-F1 on
NER candidates and the F1 of the ``coref`` class on mention pairs. For NER and coreference the
search's validation statements are the dev gold spans/pairs plus negatives sampled as for
training (fixed), so that a reward batch holds positives at all; the evaluation phase then
decodes every candidate.

``--limit-train N`` caps the statements of each training epoch (seeded, label-stratified);
``--limit-eval N`` caps the rc statements, the NER sentences or the coreference documents of dev
and test, which are always decoded and scored whole.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from autorc_nni.config import ConfigError
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import AutoRCError, DataError

__all__ = [
    "COREF",
    "NOT_COREF",
    "TASKS",
    "TaskData",
    "TaskOptions",
    "check_task",
    "load_task_data",
    "span_candidates",
    "statement_group",
    "task_stats",
    "format_task_stats",
]

TASKS: tuple[str, ...] = ("rc", "ner", "coref")
# registered coreference datasets: name -> (documents folder, splits folder) under the data root
COREF_DATASETS: dict[str, tuple[str, str]] = {
    "litbank": ("litbank/conll", "litbank/splits/0"),  # fold 0 of the ten-fold splits: 80/10/10
}
NER_NEGATIVE = "None"
COREF, NOT_COREF = "coref", "not"
# what the coreference loader does with a span written in two clusters ("(22)|(23)"), printed with
# the counts and places of the other reader records
REPEATED_SPAN = (
    "span in two or more clusters: trained and decoded as a mention of the last (scored against "
    "the clusters as written, as scorer.pl)"
)


@dataclass
class TaskOptions:
    """The options of the ner and coref tasks (ignored by rc)."""

    max_span_len: int = 10  # ner: longest candidate span, in words (SpERT: 10)
    neg_per_sentence: int = 100  # ner: negative spans sampled per training sentence each epoch
    max_antecedents: int = 50  # coref: previous mentions each mention is paired with (K)
    neg_ratio: float = 3.0  # coref: negative pairs sampled per positive pair each epoch
    # coref: keep one-mention clusters; None: kept when the key has any
    singletons: bool | None = None

    def __post_init__(self) -> None:
        for name in ("max_span_len", "neg_per_sentence", "max_antecedents"):
            if getattr(self, name) < 1:
                raise ConfigError(f"task_options.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.neg_ratio < 0:
            raise ConfigError(f"task_options.neg_ratio must be >= 0, got {self.neg_ratio!r}")


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ConfigError(f"task: {task!r} is not one of {list(TASKS)}")
    return task


def statement_group(statement_id: str) -> str:
    """The sentence (NER) or document (coref) a statement id belongs to."""
    return statement_id.rsplit("#", 1)[0] if "#" in statement_id else statement_id.split("|", 1)[0]


def span_candidates(n: int, max_len: int) -> list[tuple[int, int]]:
    """Every span ``(start, end)`` (end exclusive) of at most ``max_len`` of ``n`` words, in
    order of start, then length."""
    return [(s, s + k) for s in range(n) for k in range(1, min(max_len, n - s) + 1)]


# --------------------------------------------------------------------------------------------
# The task data
# --------------------------------------------------------------------------------------------
@dataclass
class TaskData:
    """Statements, labels and the scoring of one task on one dataset."""

    task: str
    labels: list[str]  # label id = index; the negative label (if any) included
    negative_label: str | None
    metric: str  # the model-selection metric of the evaluation phase (a key of its metrics)
    statements: dict[str, list[RelationExample]]  # train: the pool; dev/test: every candidate
    units: dict[str, list[Any]] = field(default_factory=dict)  # sentences / documents per split
    report: dict[str, Any] = field(default_factory=dict)  # counts per split
    dropped: dict[str, Counter] = field(default_factory=dict)  # reader drops per split
    dropped_where: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # split ->
    # reason -> the first few "FILE:LINE" of the records the readers dropped
    format: str | None = None  # rc: the reader of the dataset's files
    format_detected: bool = False  # rc: told from the files' content (no format given)
    options: TaskOptions = field(default_factory=TaskOptions)
    limit_train: int | None = None
    pair_metric: str = "micro_f1"  # the statement-level metric (search reward and ranking)
    search_dev: list[RelationExample] | None = None  # the search's validation statements
    _groups: list[list[int]] = field(
        default_factory=list
    )  # train: [gold..., negatives...] per unit
    _n_gold: list[int] = field(default_factory=list)

    def read_drops(self, split: str) -> dict[str, Any]:
        """What the readers dropped from ``split``'s file, for a run's summary:
        ``{"read_dropped": {reason: count}, "read_dropped_where": {reason: ["FILE:LINE",
        ...]}}``."""
        return {
            "read_dropped": dict(self.dropped.get(split, {})),
            "read_dropped_where": {
                k: list(v) for k, v in self.dropped_where.get(split, {}).items()
            },
        }

    # -- training statements ----------------------------------------------------------------
    def train_epoch(self, epoch: int, seed: int, subsample_seed: int = 0) -> list[RelationExample]:
        """The statements of training epoch ``epoch`` (deterministic for ``(seed, epoch)``).

        rc: the same every epoch (``limit_train`` taken with ``subsample_seed``); ner / coref:
        the gold statements and negatives drawn afresh, then ``limit_train`` of those."""
        from autorc_nni.data.datasets import subsample

        pool = self.statements["train"]
        if self.task == "rc":
            return subsample(pool, self.limit_train, seed=subsample_seed)
        else:
            rng = random.Random(seed * 1_000_003 + epoch * 7919 + 11)
            idx: list[int] = []
            for group, n_gold in zip(self._groups, self._n_gold, strict=True):
                gold, neg = group[:n_gold], group[n_gold:]
                k = min(len(neg), self.n_negatives(n_gold))
                idx += gold + (rng.sample(neg, k) if k < len(neg) else neg)
            chosen = [pool[i] for i in sorted(idx)]
        return subsample(chosen, self.limit_train, seed=epoch)

    def n_negatives(self, n_gold: int) -> int:
        """Negatives drawn for a unit with ``n_gold`` gold statements: ``neg_per_sentence``
        (ner) or ``neg_ratio`` per positive (coref)."""
        if self.task == "ner":
            return self.options.neg_per_sentence
        return round(self.options.neg_ratio * n_gold)

    def _set_pool(self, split: str, per_unit: list[list[RelationExample]], eval_seed: int) -> None:
        """Store ``split``'s statements (a list per unit, in order); train keeps each unit's
        group (gold indices, then negative ones) for the epoch draws, dev draws the search's
        validation statements."""
        statements, groups, n_gold = [], [], []
        for exs in per_unit:
            idx = range(len(statements), len(statements) + len(exs))
            golds = [i for i, ex in zip(idx, exs, strict=True) if ex.label != self.negative_label]
            negs = [i for i, ex in zip(idx, exs, strict=True) if ex.label == self.negative_label]
            groups.append(golds + negs)
            n_gold.append(len(golds))
            statements += exs
        self.statements[split] = statements
        if split == "train":
            self._groups, self._n_gold = groups, n_gold
        elif split == "dev":
            self.search_dev = _sampled(statements, groups, n_gold, self.n_negatives, eval_seed)

    # -- scoring ----------------------------------------------------------------------------
    def score(
        self, split: str, scored: Mapping[str, tuple[int, torch.Tensor]]
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[Any] | None]:
        """``(metrics, records, decoded)`` of ``split`` from per-statement probabilities
        (``{statement id: (gold id, probabilities (C,))}``; a statement missing from it, dropped
        by the featurizer, is predicted negative). ``decoded``: NER entities per sentence,
        coreference clusters per document, ``None`` for rc."""
        if self.task == "ner":
            return _score_ner(self, split, scored)
        if self.task == "coref":
            return _score_coref(self, split, scored)
        return _score_rc(self, split, scored)


def _argmax(
    scored: Mapping[str, tuple[int, torch.Tensor]], ex_id: str, fallback: int
) -> tuple[int, float]:
    if ex_id not in scored:
        return fallback, 0.0
    probs = scored[ex_id][1]
    p = int(probs.argmax())
    return p, float(probs[p])


def _score_rc(data: TaskData, split: str, scored):
    from autorc_nni.metrics import SEMEVAL_LABELS, compute_metrics, semeval_official

    names = data.labels
    label2id = {lab: i for i, lab in enumerate(names)}
    fallback = label2id[data.negative_label] if data.negative_label is not None else 0
    gold, pred, records = [], [], []
    for ex in data.statements[split]:
        g = label2id[ex.label]
        p, prob = _argmax(scored, ex.id, fallback)
        record = {"id": ex.id, "gold": names[g], "pred": names[p], "prob": round(prob, 6)}
        if ex.id not in scored:
            record["dropped"] = True
        gold.append(g)
        pred.append(p)
        records.append(record)
    metrics = compute_metrics(gold, pred, names, data.negative_label, data.metric)
    if set(names) == set(SEMEVAL_LABELS):
        metrics["semeval_official"] = semeval_official(
            [names[g] for g in gold], [names[p] for p in pred]
        )
    return metrics, records, None


def _prf(correct: int, proposed: int, actual: int) -> dict[str, float]:
    p = correct / proposed if proposed else 0.0
    r = correct / actual if actual else 0.0
    return {
        "p": p,
        "r": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "support": actual,
        "predicted": proposed,
    }


def entity_scores(
    gold: Sequence[set[tuple[int, int, str]]],
    pred: Sequence[set[tuple[int, int, str]]],
    types: Sequence[str],
) -> dict[str, Any]:
    """Entity-level P/R/F1 as SpERT computes them: a predicted entity is correct when start, end
    and type all match; micro over all typed spans, macro over ``types`` (each type's F1)."""
    per = {}
    for t in types:
        g = sum(1 for s in gold for e in s if e[2] == t)
        p = sum(1 for s in pred for e in s if e[2] == t)
        c = sum(1 for gs, ps in zip(gold, pred, strict=True) for e in ps if e[2] == t and e in gs)
        per[t] = _prf(c, p, g)
    correct = sum(len(gs & ps) for gs, ps in zip(gold, pred, strict=True))
    micro = _prf(correct, sum(map(len, pred)), sum(map(len, gold)))
    macro = {
        k: sum(per[t][k] for t in types) / len(types) if types else 0.0 for k in ("p", "r", "f1")
    }
    return {
        "micro_p": micro["p"],
        "micro_r": micro["r"],
        "micro_f1": micro["f1"],
        "macro_p": macro["p"],
        "macro_r": macro["r"],
        "macro_f1": macro["f1"],
        "n_gold": micro["support"],
        "n_pred": micro["predicted"],
        "per_label": per,
    }


def _score_ner(data: TaskData, split: str, scored):
    names = data.labels
    neg = names.index(NER_NEGATIVE)
    by_sentence: dict[str, list[tuple[RelationExample, int, float]]] = defaultdict(list)
    for ex in data.statements[split]:
        p, prob = _argmax(scored, ex.id, neg)
        by_sentence[ex.meta["unit"]].append((ex, p, prob))
    gold_sets, pred_sets, records, decoded = [], [], [], []
    for sent in data.units[split]:
        gold = {(s, e, t) for s, e, t in sent.entities}
        pred = {}
        for ex, p, prob in by_sentence.get(sent.id, []):
            if p != neg:
                pred[(ex.head[0], ex.head[1], names[p])] = prob
        gold_sets.append(gold)
        pred_sets.append(set(pred))
        decoded.append(sorted(pred))
        records.append(
            {
                "id": sent.id,
                "tokens": list(sent.tokens),
                "gold": [list(e) for e in sorted(gold)],
                "pred": [[s, e, t, round(pr, 6)] for (s, e, t), pr in sorted(pred.items())],
            }
        )
    types = [t for t in names if t != NER_NEGATIVE]
    metrics = entity_scores(gold_sets, pred_sets, types)
    metrics["too_long"] = sum(
        1 for s in data.units[split] for a, b, _ in s.entities if b - a > data.options.max_span_len
    )
    metrics["sentences"] = len(data.units[split])
    metrics["candidates"] = len(data.statements[split])
    metrics["metric"] = data.metric
    metrics["score"] = metrics[data.metric]
    return metrics, records, decoded


def _score_coref(data: TaskData, split: str, scored):
    from autorc_nni.coref_metrics import coref_scores
    from autorc_nni.metrics import compute_metrics

    names = data.labels
    pos, neg = names.index(COREF), names.index(NOT_COREF)
    best: dict[tuple[str, tuple[int, int]], tuple[float, tuple[int, int]]] = {}
    gold_ids, pred_ids = [], []
    for ex in data.statements[split]:
        probs = scored.get(ex.id)
        p_coref = float(probs[1][pos]) if probs is not None else 0.0
        gold_ids.append(names.index(ex.label))
        pred_ids.append(pos if p_coref > 0.5 else neg)
        key = (ex.meta["unit"], ex.meta["b"])
        if p_coref > 0.5 and (key not in best or p_coref > best[key][0]):
            best[key] = (p_coref, ex.meta["a"])
    decoded, pairs, records = [], [], []
    for doc in data.units[split]:
        spans = doc.spans()  # a span of two key clusters is one candidate, in one cluster
        links = {m: best[(doc.key, m)][1] for m in spans if (doc.key, m) in best}
        clusters = closure(spans, links)
        keep_single = data.options.singletons
        if keep_single is None:
            keep_single = bool(data.report.get("singletons_in_key"))
        key_clusters = [list(c) for c in doc.clusters]  # as written: scored as scorer.pl
        if not keep_single:
            clusters = [c for c in clusters if len(c) > 1]
            key_clusters = [c for c in key_clusters if len(c) > 1]
        decoded.append(clusters)
        pairs.append((key_clusters, clusters))
        records.append({"id": doc.key, "clusters": [[list(m) for m in c] for c in clusters]})
    scores = coref_scores(pairs)
    metrics: dict[str, Any] = {
        "muc_f1": scores["muc"]["f1"],
        "b3_f1": scores["b3"]["f1"],
        "ceafe_f1": scores["ceafe"]["f1"],
        "conll_f1": scores["conll_f1"],
        **{k: scores[k] for k in ("muc", "b3", "ceafe")},
        "pairs": compute_metrics(gold_ids, pred_ids, names, NOT_COREF, "micro_f1"),
        "documents": len(data.units[split]),
        "mention_pairs": len(data.statements[split]),
    }
    metrics["metric"] = data.metric
    metrics["score"] = metrics[data.metric]
    return metrics, records, decoded


def closure(
    mentions: Sequence[tuple[int, int]], links: Mapping[tuple[int, int], tuple[int, int]]
) -> list[list[tuple[int, int]]]:
    """Clusters of the transitive closure of ``links`` (anaphor -> antecedent) over
    ``mentions``: each a sorted list, ordered by first mention; unlinked mentions are singletons."""
    parent = {m: m for m in mentions}

    def find(m: tuple[int, int]) -> tuple[int, int]:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    for anaphor, antecedent in links.items():
        parent[find(anaphor)] = find(antecedent)
    groups: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for m in mentions:
        groups[find(m)].append(m)
    return sorted((sorted(g) for g in groups.values()), key=lambda c: c[0])


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------
def load_task_data(
    task: str,
    dataset: str,
    *,
    fmt: str | None = None,
    data_root: str | None = None,
    negative_label: str | None = None,
    splits: str | None = None,
    limit_train: int | None = None,
    limit_eval: int | None = None,
    eval_seed: int = 0,
    options: TaskOptions | None = None,
    max_len: int = 256,
    strict: bool = False,
) -> TaskData:
    """The statements of ``task`` on ``dataset`` (a registered name or a folder, its format
    ``fmt`` or, for rc, detected from its files).

    ``limit_eval`` caps dev and test (rc statements, NER sentences, coreference documents),
    sampled with ``eval_seed``; ``limit_train`` caps each training epoch's statements.
    ``strict`` (rc): refuse a record that cannot be a relation statement instead of dropping
    and counting it (``TaskData.dropped``)."""
    check_task(task)
    options = options or TaskOptions()
    if task == "rc":
        data = _load_rc(dataset, fmt, data_root, negative_label, limit_eval, eval_seed, strict)
    elif task == "ner":
        data = _load_ner(dataset, fmt, data_root, limit_eval, eval_seed, options)
    else:
        data = _load_coref(dataset, fmt, data_root, splits, limit_eval, eval_seed, options, max_len)
    data.options = options
    data.limit_train = limit_train
    for split in ("train", "dev", "test"):
        if not data.statements.get(split):
            raise AutoRCError(f"dataset {dataset!r} has no {split!r} statements (or it is empty)")
        ids = Counter(ex.id for ex in data.statements[split])
        twice = [i for i, n in ids.items() if n > 1]
        if twice:  # predictions are keyed by statement id: two statements may not share one
            raise DataError(
                f"dataset {dataset!r}, {split}: {len(twice)} statement ids occur more "
                f"than once (e.g. {twice[0]!r}); records need distinct ids"
            )
    return data


def _load_rc(
    dataset, fmt, data_root, negative_label, limit_eval, eval_seed, strict=False
) -> TaskData:
    from autorc_nni.data.datasets import load_dataset, subsample

    ds = load_dataset(
        dataset, fmt=fmt, data_root=data_root, negative_label=negative_label, strict=strict
    )
    st = {s: list(ds.splits.get(s) or []) for s in ("train", "dev", "test")}
    for s in ("dev", "test"):
        st[s] = subsample(st[s], limit_eval, seed=eval_seed)
    return TaskData(
        "rc",
        list(ds.labels),
        ds.negative_label,
        ds.metric,
        st,
        units={},
        dropped=dict(ds.dropped),
        dropped_where=dict(ds.dropped_where),
        format=ds.format,
        format_detected=ds.format_detected,
    )


def _split_files(
    dataset: str, fmt: str | None, data_root: str | None, reader: str
) -> dict[str, Path]:
    """The train/dev/test files of a registered dataset or of a folder read with ``reader``."""
    from autorc_nni.data.datasets import DATASETS, resolve_data_root
    from autorc_nni.data.detect import find_split_file

    if dataset in DATASETS and not Path(dataset).exists():
        spec = DATASETS.get(dataset)
        if spec.reader != reader:
            raise DataError(
                f"{dataset} is read with format {spec.reader!r}; this task needs {reader!r} data"
            )
        root = resolve_data_root(data_root)
        return {s: root / spec.files[s] for s in ("train", "dev", "test")}
    path = Path(dataset).expanduser()
    if not path.is_dir():
        raise DataError(f"{dataset}: not a known dataset nor an existing folder")
    if fmt not in (None, reader):
        raise DataError(f"{dataset}: this task reads {reader!r} files, not {fmt!r}")
    return {s: find_split_file(path, s) for s in ("train", "dev", "test")}


def _sample_units(units: list, n: int | None, seed: int) -> list:
    if n is None or n >= len(units):
        return list(units)
    keep = sorted(random.Random(seed).sample(range(len(units)), n))
    return [units[i] for i in keep]


def _load_ner(dataset, fmt, data_root, limit_eval, eval_seed, options: TaskOptions) -> TaskData:
    from autorc_nni.data.spert import read_spert_sentences

    files = _split_files(dataset, fmt, data_root, "spert")
    units = {s: read_spert_sentences(f) for s, f in files.items()}
    for s in ("dev", "test"):
        units[s] = _sample_units(units[s], limit_eval, eval_seed)
    types = sorted({t for s in units.values() for sent in s for _, _, t in sent.entities})
    data = TaskData("ner", [NER_NEGATIVE, *types], NER_NEGATIVE, "micro_f1", {}, units)
    data.options = options
    for split, sentences in units.items():
        per_unit = []
        for sent in sentences:
            gold = {(s, e): t for s, e, t in sent.entities}
            exs = [
                RelationExample(
                    sent.tokens,
                    (s, e),
                    (s, e),
                    gold.get((s, e), NER_NEGATIVE),
                    f"{sent.id}#{s}-{e}",
                    {"unit": sent.id},
                )
                for s, e in span_candidates(len(sent.tokens), options.max_span_len)
            ]
            per_unit.append(exs)
        data._set_pool(split, per_unit, eval_seed)
        statements = data.statements[split]
        data.report[split] = {
            "sentences": len(sentences),
            "entities": dict(Counter(t for sent in sentences for _, _, t in sent.entities)),
            "candidates": len(statements),
            "entities_longer_than_max_span_len": sum(
                1 for sent in sentences for a, b, _ in sent.entities if b - a > options.max_span_len
            ),
        }
    return data


def _sampled(statements, groups, n_gold, n_neg, seed: int) -> list[RelationExample]:
    rng = random.Random(seed + 99)
    idx = []
    for group, g in zip(groups, n_gold, strict=True):
        neg = group[g:]
        k = min(len(neg), n_neg(g))
        idx += group[:g] + rng.sample(neg, k)
    return [statements[i] for i in sorted(idx)]


def _load_coref(
    dataset, fmt, data_root, splits, limit_eval, eval_seed, options: TaskOptions, max_len: int
) -> TaskData:
    from autorc_nni.data.conll2012 import load_conll2012

    if fmt not in (None, "conll2012"):
        raise DataError(
            f"{dataset}: coreference reads CoNLL-2012 files (--format conll2012), not {fmt!r}"
        )
    root = Path(dataset).expanduser()
    if dataset in COREF_DATASETS and not root.exists():
        from autorc_nni.data.datasets import resolve_data_root

        docs, default_splits = COREF_DATASETS[dataset]
        base = resolve_data_root(data_root)
        root, splits = base / docs, splits or str(base / default_splits)
    elif not root.exists():
        raise DataError(
            f"{dataset}: not a known coreference dataset ({', '.join(COREF_DATASETS)})"
            " nor an existing folder (--data DIR with train/dev/test, or a folder of "
            "documents with --splits DIR)"
        )
    units = load_conll2012(root, splits)
    for s in ("dev", "test"):
        units[s] = _sample_units(units[s], limit_eval, eval_seed)
    data = TaskData("coref", [NOT_COREF, COREF], NOT_COREF, "muc_f1", {}, units)
    singletons = any(len(c) == 1 for docs in units.values() for d in docs for c in d.clusters)
    data.report["singletons_in_key"] = singletons
    data.options = options
    for split, docs in units.items():
        per_unit = [mention_pairs(doc, options.max_antecedents, max_len) for doc in docs]
        data._set_pool(split, per_unit, eval_seed)
        statements = data.statements[split]
        repeated = [where for doc in docs for where in doc.repeated.values()]
        if repeated:
            data.dropped[split] = Counter({REPEATED_SPAN: len(repeated)})
            data.dropped_where[split] = {REPEATED_SPAN: repeated[:5]}
        data.report[split] = {
            "documents": len(docs),
            "mentions": sum(len(d.spans()) for d in docs),
            "entities": sum(len(d.clusters) for d in docs),
            "mention_pairs": len(statements),
            "coreferent_pairs": sum(ex.label == COREF for ex in statements),
        }
    return data


def mention_pairs(doc, max_antecedents: int, max_words: int) -> list[RelationExample]:
    """The mention pairs of one document: each mention b with up to ``max_antecedents``
    previous mentions a (in document order, nearest first), over the sentences from a's to b's,
    widened alternately before and after while the words fit ``max_words``. Each span is one
    mention; a span of two clusters counts in the last (``CorefDocument.entity_of``)."""
    mentions = doc.spans()
    cluster_of = doc.entity_of()
    starts = doc.sentence_starts
    tokens = doc.tokens
    out = []
    for j, b in enumerate(mentions):
        for a in reversed(mentions[max(0, j - max_antecedents) : j]):
            if a == b:
                continue
            lo_s, hi_s = doc.sentence_of(a[0]), doc.sentence_of(b[1] - 1)
            lo, hi = starts[lo_s], starts[hi_s + 1]
            grow = True
            while grow:
                grow = False
                if lo_s > 0 and starts[hi_s + 1] - starts[lo_s - 1] <= max_words:
                    lo_s -= 1
                    grow = True
                if hi_s + 2 < len(starts) and starts[hi_s + 2] - starts[lo_s] <= max_words:
                    hi_s += 1
                    grow = True
            lo, hi = starts[lo_s], starts[hi_s + 1]
            label = COREF if cluster_of.get(a) == cluster_of.get(b) else NOT_COREF
            out.append(
                RelationExample(
                    tuple(tokens[lo:hi]),
                    (a[0] - lo, a[1] - lo),
                    (b[0] - lo, b[1] - lo),
                    label,
                    f"{doc.key}|{a[0]}-{a[1]}|{b[0]}-{b[1]}",
                    {"unit": doc.key, "a": a, "b": b},
                )
            )
    return out


# --------------------------------------------------------------------------------------------
# Statistics (``autorc data stats --task ner|coref``)
# --------------------------------------------------------------------------------------------
def task_stats(data: TaskData) -> dict[str, Any]:
    """Per split: NER sentences, entities by type and candidate spans; coreference documents,
    sentences, tokens, mentions, entities (and singletons) and mention pairs."""
    out: dict[str, Any] = {"task": data.task, "labels": data.labels, "splits": {}}
    for split in ("train", "dev", "test"):
        units = data.units[split]
        if data.task == "ner":
            types = Counter(t for s in units for _, _, t in s.entities)
            out["splits"][split] = {
                "sentences": len(units),
                "entities": sum(types.values()),
                "entities_by_type": dict(sorted(types.items())),
                "candidate_spans": len(data.statements[split]),
                "max_span_len": data.options.max_span_len,
                "entities_longer_than_max_span_len": data.report[split][
                    "entities_longer_than_max_span_len"
                ],
            }
        else:
            from autorc_nni.data.conll2012 import conll2012_stats

            out["splits"][split] = {
                **conll2012_stats(units),
                "mention_pairs": len(data.statements[split]),
                "coreferent_pairs": data.report[split]["coreferent_pairs"],
                "max_antecedents": data.options.max_antecedents,
            }
    out["read"] = {split: data.read_drops(split) for split in ("train", "dev", "test")}
    return out


def format_task_stats(stats: dict[str, Any]) -> str:
    """The table ``autorc data stats --task`` prints."""
    splits = stats["splits"]
    keys = [k for k in splits["train"] if not isinstance(splits["train"][k], dict)]
    lines = [
        f"task {stats['task']}; labels: {', '.join(stats['labels'])}",
        f"{'':<36}" + "".join(f"{s:>12}" for s in splits),
    ]
    for k in keys:
        lines.append(f"{k:<36}" + "".join(f"{splits[s][k]:>12}" for s in splits))
    if stats["task"] == "ner":
        types = sorted({t for s in splits.values() for t in s["entities_by_type"]})
        for t in types:
            lines.append(
                f"{'  entities ' + t:<36}"
                + "".join(f"{splits[s]['entities_by_type'].get(t, 0):>12}" for s in splits)
            )
    for split, read in stats.get("read", {}).items():
        for reason, n in read["read_dropped"].items():
            places = read["read_dropped_where"].get(reason, [])
            more = f" (and {n - len(places)} more)" if n > len(places) else ""
            lines.append(f"{split}: {n} {reason}")
            if places:
                lines.append(f"  at {', '.join(places)}{more}")
    return "\n".join(lines)
