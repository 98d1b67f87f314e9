"""The task contract: ``Task`` (one registered class per task), ``TaskData`` (one task on one
dataset: statements, units, counts) and ``load_task_data``.

A task decides, and nothing else in the package asks its name to decide it:

- how a dataset is **read** into statements (``RelationExample``: words, e1, e2, label, which
  the featurizer, the models and the search read unchanged) and units (sentences, documents);
- which statements one **training epoch** sees (``resamples``: negatives drawn afresh);
- how the predictions of the dev/test statements are **decoded and scored**, the metric keys
  they give and the line ``autorc train`` prints;
- which choices of the search space it cannot use or that have no effect on it
  (``excluded_spans``, ``fixed_decisions``; ``search_spaces.task_space`` applies them);
- the files a run writes beside its predictions (``write_test_files``) and its counts in
  ``autorc data stats`` (``split_stats``).

The space, the supernet, the strategy and the protocol are the RC ones for every task
(docs/design.md §10). docs/internals.md "How to add a task" lists the steps.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from autorc_nni.config import ConfigError
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import AutoRCError, DataError
from autorc_nni.registry import Registry

if TYPE_CHECKING:
    import torch

__all__ = [
    "TASKS",
    "LoadSettings",
    "Task",
    "TaskData",
    "TaskOptions",
    "check_task",
    "format_task_stats",
    "get_task",
    "load_task_data",
    "register_task",
    "task_stats",
]

Scored = Mapping[str, "tuple[int, torch.Tensor]"]  # statement id -> (gold id, probabilities (C,))
Scores = tuple[dict[str, Any], list[dict[str, Any]], "list[Any] | None"]


@dataclass
class TaskOptions:
    """The options of the tasks, one config section (``task_options:``); each task reads its own
    (``Task.options``) and ignores the others."""

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


@dataclass(frozen=True)
class LoadSettings:
    """What ``Task.load`` needs beside the dataset (see ``load_task_data``)."""

    fmt: str | None = None
    data_root: str | None = None
    negative_label: str | None = None
    splits: str | None = None
    limit_eval: int | None = None
    eval_seed: int = 0
    options: TaskOptions = field(default_factory=TaskOptions)
    max_len: int = 256
    strict: bool = False


class Task:
    """One task. Subclass it in its own module, set the class attributes, implement ``load``
    and ``score``, and register an instance with ``@register_task``."""

    name: ClassVar[str]
    title: ClassVar[str] = ""  # the task in a report's column head ("" for relation classification)
    table: ClassVar[str] = "table4"  # the report table of its rows: "table1" (RC) or "table4"
    unit: ClassVar[str] = "statement"  # what a dev/test unit is (what --limit-eval caps)
    negatives: ClassVar[str] = ""  # what its negative statements are, in words ("negative spans")
    resamples: ClassVar[bool] = False  # each epoch draws its negatives afresh (``n_negatives``)
    # the TaskOptions field that sets how many (ner: neg_per_sentence, coref: neg_ratio; "": none)
    negatives_option: ClassVar[str] = ""
    groups_text: ClassVar[bool] = False  # a unit's statements share one text: ``--bucket`` batches
    # them together (one encoder pass)
    options: ClassVar[tuple[str, ...]] = ()  # the ``TaskOptions`` fields it reads
    report_metrics: ClassVar[tuple[str, ...]] = ("micro_f1", "macro_f1")  # test metrics kept
    # per seed (``test_metrics`` of a result) and tabled beside the selection metric
    excluded_spans: ClassVar[tuple[str, ...]] = ()  # span options its statements cannot use,
    excluded_why: ClassVar[str] = ""  # and why, in words
    fixed_decisions: ClassVar[Mapping[str, Any]] = {}  # search decisions without effect on it
    extra_spans: ClassVar[tuple[str, ...]] = ()  # span options its search adds to the paper's
    # the hand-made designs (presets) a race runs beside the searched ones by default
    presets: ClassVar[tuple[str, ...]] = ("bert-entity", "r-bert")

    def load(self, dataset: str, settings: LoadSettings) -> TaskData:
        """The statements of ``dataset`` (a registered name or a folder)."""
        raise NotImplementedError

    def score(self, data: TaskData, split: str, scored: Scored) -> Scores:
        """``(metrics, records, decoded)`` of ``split``: ``metrics`` holds ``metric`` and
        ``score`` (the value of ``data.metric``), ``records`` one JSON object per unit or
        statement (``test_predictions.jsonl``), ``decoded`` the task's output per unit (None
        when a record is the output)."""
        raise NotImplementedError

    def n_negatives(self, options: TaskOptions, n_gold: int) -> int:
        """Negatives drawn each epoch for a unit with ``n_gold`` gold statements."""
        return 0

    def group_of(self, statement_id: str) -> str:
        """The unit (sentence, document) a statement id belongs to."""
        return statement_id

    def split_stats(self, data: TaskData, split: str) -> dict[str, Any]:
        """The counts ``autorc data stats --task`` prints for ``split`` (numbers, or a dict of
        numbers printed one row each)."""
        return {"statements": len(data.statements[split])}

    def score_line(self, metrics: Mapping[str, Any]) -> str:
        """The metrics of one split in a line, percent (``autorc train``)."""
        return f"micro-F1 {100 * metrics['micro_f1']:.2f}  macro-F1 {100 * metrics['macro_f1']:.2f}"

    def write_test_files(
        self, data: TaskData, records: list[dict[str, Any]], decoded: list[Any] | None, out: Path
    ) -> dict[str, str]:
        """Files for the official scorer beside ``test_predictions.jsonl``: ``{key: path}``."""
        return {}

    # -- prediction (``RCModel.predict``, ``autorc predict``) ---------------------------------
    def read_input(self, obj: Mapping[str, Any], where: str) -> Any:
        """One unit to predict from a JSON object (a line of ``autorc predict``'s input, a dict
        given to ``RCModel.predict``); a ``DataError`` that names ``where`` when it is not one."""
        raise DataError(f"{where}: task {self.name} does not predict from JSON input")

    def predict(self, model: Any, units: Sequence[Any], batch_size: int = 32) -> list[dict]:
        """The JSON-ready prediction of each unit (as ``read_input`` gives them) by ``model``
        (an ``RCModel`` trained for this task)."""
        raise NotImplementedError

    def saved_options(self, data: TaskData) -> dict[str, Any]:
        """The options a trained model keeps for prediction (``RCModel.task_options``)."""
        return {name: getattr(data.options, name) for name in self.options}

    def check_span(self, span: str) -> None:
        """Refuse an architecture whose span identification the task cannot use."""
        if span in self.excluded_spans:
            why = f" ({self.excluded_why})" if self.excluded_why else ""
            raise ConfigError(f"{self.title or self.name} cannot use span={span}{why}")


TASKS: Registry[Task] = Registry("task")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: add an instance of ``cls`` to ``TASKS`` under ``cls.name``."""
    TASKS.add(cls.name, cls())
    return cls


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ConfigError(f"task: {task!r} is not one of {TASKS.names()}")
    return task


def get_task(task: str) -> Task:
    return TASKS.get(check_task(task))


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

    @property
    def kind(self) -> Task:
        """The registered ``Task`` of ``task``."""
        return TASKS.get(self.task)

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

        A task that does not resample: the same every epoch (``limit_train`` taken with
        ``subsample_seed``); one that does: the gold statements and negatives drawn afresh,
        then ``limit_train`` of those."""
        from autorc_nni.data.datasets import subsample

        pool = self.statements["train"]
        if not self.kind.resamples:
            return subsample(pool, self.limit_train, seed=subsample_seed)
        rng = random.Random(seed * 1_000_003 + epoch * 7919 + 11)
        idx: list[int] = []
        for group, n_gold in zip(self._groups, self._n_gold, strict=True):
            gold, neg = group[:n_gold], group[n_gold:]
            k = min(len(neg), self.n_negatives(n_gold))
            idx += gold + (rng.sample(neg, k) if k < len(neg) else neg)
        chosen = [pool[i] for i in sorted(idx)]
        return subsample(chosen, self.limit_train, seed=epoch)

    def n_negatives(self, n_gold: int) -> int:
        """Negatives drawn for a unit with ``n_gold`` gold statements (``Task.n_negatives``)."""
        return self.kind.n_negatives(self.options, n_gold)

    def set_pool(self, split: str, per_unit: list[list[RelationExample]], eval_seed: int) -> None:
        """Store ``split``'s statements (a list per unit, in order); train keeps each unit's
        group (gold indices, then negative ones) for the epoch draws, dev draws the search's
        validation statements."""
        statements: list[RelationExample] = []
        groups: list[list[int]] = []
        n_gold: list[int] = []
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
    def score(self, split: str, scored: Scored) -> Scores:
        """``(metrics, records, decoded)`` of ``split`` from per-statement probabilities
        (``{statement id: (gold id, probabilities (C,))}``; a statement missing from it, dropped
        by the featurizer, is predicted negative). ``decoded``: NER entities per sentence,
        coreference clusters per document, ``None`` for rc (``Task.score``)."""
        return self.kind.score(self, split, scored)


def _sampled(
    statements: list[RelationExample],
    groups: list[list[int]],
    n_gold: list[int],
    n_neg: Callable[[int], int],
    seed: int,
) -> list[RelationExample]:
    """The gold statements of every unit and ``n_neg(gold)`` of its negatives (fixed)."""
    rng = random.Random(seed + 99)
    idx: list[int] = []
    for group, g in zip(groups, n_gold, strict=True):
        neg = group[g:]
        k = min(len(neg), n_neg(g))
        idx += group[:g] + rng.sample(neg, k)
    return [statements[i] for i in sorted(idx)]


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
    options = options or TaskOptions()
    settings = LoadSettings(
        fmt=fmt,
        data_root=data_root,
        negative_label=negative_label,
        splits=splits,
        limit_eval=limit_eval,
        eval_seed=eval_seed,
        options=options,
        max_len=max_len,
        strict=strict,
    )
    data = get_task(task).load(dataset, settings)
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


def split_files(
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


def sample_units(units: Sequence[Any], n: int | None, seed: int) -> list[Any]:
    """``n`` of ``units`` (all when ``n`` is None or not smaller), seeded, in their order."""
    if n is None or n >= len(units):
        return list(units)
    keep = sorted(random.Random(seed).sample(range(len(units)), n))
    return [units[i] for i in keep]


# --------------------------------------------------------------------------------------------
# Statistics (``autorc data stats --task ner|coref``)
# --------------------------------------------------------------------------------------------
def task_stats(data: TaskData) -> dict[str, Any]:
    """Per split, the task's counts (``Task.split_stats``), and what the readers dropped or
    changed, with places."""
    splits = ("train", "dev", "test")
    return {
        "task": data.task,
        "labels": data.labels,
        "splits": {split: data.kind.split_stats(data, split) for split in splits},
        "read": {split: data.read_drops(split) for split in splits},
    }


def format_task_stats(stats: dict[str, Any]) -> str:
    """The table ``autorc data stats --task`` prints."""
    splits = stats["splits"]
    lines = [
        f"task {stats['task']}; labels: {', '.join(stats['labels'])}",
        f"{'':<36}" + "".join(f"{s:>12}" for s in splits),
    ]
    for k, value in splits["train"].items():
        if not isinstance(value, dict):
            lines.append(f"{k:<36}" + "".join(f"{splits[s][k]:>12}" for s in splits))
            continue
        for name in sorted({n for s in splits.values() for n in s[k]}):
            lines.append(
                f"{'  ' + k.split('_by_')[0] + ' ' + name:<36}"
                + "".join(f"{splits[s][k].get(name, 0):>12}" for s in splits)
            )
    for split, read in stats.get("read", {}).items():
        for reason, n in read["read_dropped"].items():
            places = read["read_dropped_where"].get(reason, [])
            more = f" (and {n - len(places)} more)" if n > len(places) else ""
            lines.append(f"{split}: {n} {reason}")
            if places:
                lines.append(f"  at {', '.join(places)}{more}")
    return "\n".join(lines)
