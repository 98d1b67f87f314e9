"""Named datasets: which reader, which files, which negative label and metric (docs/design.md §7,
§8).

``load_dataset`` takes a registered name (``semeval10``), a folder (``--data DIR``, its format
given with ``--format F`` or detected from its content, ``autorc_nni.data.detect``), a single
DDI zip, or a hub name (``hf:org/name`` with ``fmt`` the row format), and returns a
``LoadedDataset``: the train/dev/test records, the label list (label ids index into it; the
negative label is always included) and what the readers dropped on purpose (reason -> count,
and the first few places); ``strict=True`` refuses a record the readers would drop instead.

docs/datasets.md documents each dataset, the choices made and the counts it gives.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import autorc_nni.data.spert  # noqa: F401  (registers the "spert" reader)
from autorc_nni.data.detect import SPLIT_NAMES, detect, find_split_file
from autorc_nni.data.readers import READERS, ReadResult
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError
from autorc_nni.registry import Registry

SPLITS = ("train", "dev", "test")
METRICS = ("micro_f1", "macro_f1")


@dataclass(frozen=True)
class DatasetSpec:
    """How to build one benchmark from the files under the data root."""

    name: str
    reader: str  # a READERS name
    files: dict[str, str]  # split -> path relative to the data root (or absolute)
    negative_label: str | None  # the "no relation" label, excluded from the F1 (docs/design.md §7);
    # AUTO_NEGATIVE: detected among NEGATIVE_NAMES in the label set; None: the set has none
    metric: str  # "micro_f1" | "macro_f1"
    labels_file: str | None = None  # an OpenNRE rel2id.json fixing the label set and ids
    options: dict[str, Any] = field(default_factory=dict)  # reader options for every split
    split_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # per split
    dev_from_train: float | None = None  # carve dev out of train (document-level, hashed)
    description: str = ""

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"dataset {self.name}: metric must be one of {METRICS}")
        missing = [
            s for s in SPLITS if s not in self.files and not (s == "dev" and self.dev_from_train)
        ]
        if missing:
            raise ValueError(f"dataset {self.name}: no file for split(s) {missing}")


@dataclass
class LoadedDataset:
    """A dataset ready for featurization."""

    spec: DatasetSpec
    splits: dict[str, list[RelationExample]]
    labels: list[str]  # label id = index; the negative label (if any) is included, first
    negative_label: str | None  # None: no negative label, micro-F1 over all labels
    metric: str
    dropped: dict[str, Counter[str]]  # split -> reason -> count (dropped on purpose by readers)
    files: dict[str, Path] = field(default_factory=dict)  # split -> the file it was read from
    dropped_where: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # split ->
    # reason -> the first few "FILE:LINE" of the records dropped
    format_detected: bool = False  # the reader (spec.reader) was detected from the files

    @property
    def format(self) -> str:
        return self.spec.reader

    @property
    def label2id(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec`` to ``DATASETS`` under its name."""
    return DATASETS.add(spec.name, spec)


register_dataset(
    DatasetSpec(
        name="semeval10",
        reader="opennre",
        files={s: f"semeval10/{s}.txt" for s in SPLITS},
        negative_label="Other",
        metric="micro_f1",
        labels_file="semeval10/rel2id.json",
        description="SemEval-2010 task 8, OpenNRE train/dev split (the paper's)",
    )
)
register_dataset(
    DatasetSpec(
        name="semeval10-original",
        reader="semeval",
        files={
            "train": "semeval10/SemEval2010_task8_all_data/SemEval2010_task8_training/"
            "TRAIN_FILE.TXT",
            "test": "semeval10/SemEval2010_task8_all_data/SemEval2010_task8_testing_keys/"
            "TEST_FILE_FULL.TXT",
        },
        negative_label="Other",
        metric="micro_f1",
        labels_file="semeval10/rel2id.json",
        dev_from_train=0.2,
        description="SemEval-2010 task 8 official release; dev = a hashed 20% of TRAIN_FILE",
    )
)
register_dataset(
    DatasetSpec(
        name="deft2020",
        reader="deft",
        files={
            "train": "deft2020/data/deft_files/train",
            "dev": "deft2020/data/deft_files/dev",
            "test": "deft2020/data/test_files/labeled/subtask_3",
        },
        negative_label="no_relation",
        metric="macro_f1",
        options={"window": "chunk", "pairs": "unordered", "negative_label": "no_relation"},
        description="DEFT 2020 (SemEval-2020 task 6) subtask 3: span pairs within a chunk",
    )
)
register_dataset(
    DatasetSpec(
        name="ddi",
        reader="ddi",
        files={"train": "ddi/DDICorpus-2013.zip", "test": "ddi/DDICorpus-2013.zip"},
        negative_label="false",
        metric="micro_f1",
        split_options={"train": {"subset": "Train"}, "test": {"subset": "Test"}},
        dev_from_train=0.2,
        description="DDI 2013 from the corpus zip; dev = a hashed 20% of the Train documents",
    )
)
register_dataset(
    DatasetSpec(
        name="chemprot",
        reader="chemprot",
        files={s: f"chemprot/scibert/{s}.txt" for s in SPLITS},
        negative_label="false",
        metric="micro_f1",
        description="ChemProt, SciBERT version (13 relation labels, positive pairs only)",
    )
)

register_dataset(
    DatasetSpec(
        name="conll04",
        reader="spert",
        files={s: f"conll04/{s}_triples.json" for s in SPLITS},
        negative_label="None",
        metric="micro_f1",
        description="CoNLL04, SpERT's split: the relation view (every ordered entity pair); "
        "--task ner reads its entity spans",
    )
)


# Formats a folder can be read in (``--data DIR --format F``) and the file names tried per split.
def resolve_data_root(data_root: str | Path | None = None) -> Path:
    """``data_root`` or ``$AUTORC_DATA_DIR``; an error when neither is given or it is missing."""
    root = data_root if data_root is not None else os.environ.get("AUTORC_DATA_DIR")
    if not root:
        raise DataError(
            "no data root: set AUTORC_DATA_DIR to the folder holding the benchmarks "
            "(e.g. ../shared/data) or pass --data-root"
        )
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataError(f"{path}: data root folder not found (AUTORC_DATA_DIR)")
    return path


def load_dataset(
    name_or_dir: str | Path,
    fmt: str | None = None,
    data_root: str | Path | None = None,
    negative_label: str | None = None,
    strict: bool = False,
) -> LoadedDataset:
    """Load a dataset by registered name, folder, DDI zip, or ``hf:`` hub name.

    A folder's format is ``fmt``, or detected from the content of its train file when ``fmt`` is
    None (``autorc_nni.data.detect``; none or several matching formats is an error listing what
    was tried).

    Every split's labels are checked against the label set (the spec's ``rel2id.json`` when it
    has one, else the labels of train): an unknown label names the file, line and label.

    ``negative_label``: None keeps the dataset's own (a registered dataset's, or for a folder /
    hub set the one found among ``NEGATIVE_NAMES`` in its labels, or none when none is there);
    a name forces that label (it must be in the set); ``"none"`` (any case) says the set has no
    negative label (micro-F1 over all labels, as the paper scores Wiki80), unless the files have
    a label of exactly that spelling (CoNLL04's ``None``), which it then names.

    A record that cannot be a relation statement (an empty entity, ``<e1> </e1>``) is dropped by
    its reader and counted in ``dropped`` / ``dropped_where``; ``strict=True`` makes it a
    ``DataError`` naming its file and line. Malformed records are errors either way.
    """
    return _load_dataset(name_or_dir, fmt, data_root, negative_label, strict)


# Names a "no relation" label goes by (OpenNRE's NYT10 NA, TACRED no_relation, SemEval Other,
# BLUE's false, ...): a folder's negative label is the one of these its label set holds.
NEGATIVE_NAMES: tuple[str, ...] = (
    "Other",
    "no_relation",
    "NA",
    "None",
    "false",
    "no-relation",
    "N/A",
    "none",
    "NONE",
    "0",
)
AUTO_NEGATIVE = "<auto>"


def detect_negative(labels: Sequence[str], where: str) -> str | None:
    """The one label of ``labels`` named as a negative label, None if none; several: refused."""
    found = [n for n in NEGATIVE_NAMES if n in set(labels)]
    if len(found) > 1:
        raise DataError(
            f"{where}: several labels could be the negative one ({found}); "
            "say which with --negative-label NAME (or none)"
        )
    return found[0] if found else None


def _load_dataset(
    name_or_dir: str | Path,
    fmt: str | None,
    data_root: str | Path | None,
    negative_label: str | None,
    strict: bool = False,
) -> LoadedDataset:
    name = str(name_or_dir)
    root = None
    detected = False
    if name.startswith("hf:"):
        spec = _hub_spec(name[3:], fmt)
    elif name in DATASETS and not Path(name).exists():
        spec = DATASETS.get(name)
        if fmt is not None and fmt != spec.reader:
            raise DataError(f"{name} is read with format {spec.reader!r}, not {fmt!r}")
        root = resolve_data_root(data_root)
    else:
        path = Path(name).expanduser()
        if not path.exists():
            raise DataError(
                f"{name}: not a known dataset ({', '.join(DATASETS.names())}) nor an existing path"
            )
        detected = fmt is None
        spec = _folder_spec(path, fmt if fmt is not None else folder_format(path))
    forced = negative_label is not None and negative_label.lower() != "none"
    if negative_label is not None:
        spec = dataclasses.replace(spec, negative_label=negative_label if forced else None)
    # "none" says there is none, unless the files have a label of exactly that name (CoNLL04's
    # "None"): then it names that label
    none = negative_label if negative_label is not None and not forced else None
    ds = _load(spec, root, forced_negative=forced, strict=strict, none_word=none)
    ds.format_detected = detected
    return ds


def folder_format(path: Path) -> str:
    """The reader of folder (or DDI zip) ``path``, detected from its content; CoNLL-2012
    coreference data is refused (it holds no relation statements: ``--task coref``)."""

    found = detect(path)
    if found.format == "conll2012":
        raise DataError(
            f"{path}: holds CoNLL-2012 coreference documents ({found.file.name} begins with "
            "'#begin document'), not relation statements: use --task coref"
        )
    return found.format


def _hub_spec(hub_name: str, fmt: str | None) -> DatasetSpec:
    if fmt is None:
        raise DataError(f"hf:{hub_name}: give the row format with --format (opennre, tacred, …)")
    return DatasetSpec(
        name=f"hf:{hub_name}",
        reader="hf",
        files={s: hub_name for s in SPLITS},
        negative_label=AUTO_NEGATIVE,
        metric="micro_f1",
        options={"format": fmt},
        split_options={
            "train": {"split": "train"},
            "dev": {"split": "validation"},
            "test": {"split": "test"},
        },
    )


def _folder_spec(path: Path, fmt: str) -> DatasetSpec:
    """A spec for ``--data PATH --format F``: the split files are found by their usual names."""
    if fmt == "conll2012":
        raise DataError(
            f"{path}: CoNLL-2012 files hold coreference documents, not relation "
            "statements: use --task coref"
        )
    if fmt not in READERS:
        raise DataError(f"unknown format {fmt!r}; known: {', '.join(READERS.names())}")
    if fmt == "ddi" and path.is_file():  # the corpus zip: Train/Test inside, dev carved out
        spec = DATASETS.get("ddi")
        return DatasetSpec(
            **{**spec.__dict__, "name": str(path), "files": {"train": str(path), "test": str(path)}}
        )
    if not path.is_dir():
        raise DataError(f"{path}: --data must be a folder with train/dev/test files")
    files = {split: str(find_split_file(path, split)) for split in SPLIT_NAMES}
    labels_file = path / "rel2id.json"
    return DatasetSpec(
        name=str(path),
        reader=fmt,
        files=files,
        negative_label=AUTO_NEGATIVE,  # found in the label set (load_dataset)
        metric="micro_f1",
        labels_file=str(labels_file) if labels_file.is_file() else None,
    )


def _record_where(file: Path, ex: RelationExample) -> str:
    """Where a record is: ``DIR/NAME:LINE`` for the line readers' ids, else ``FILE: record ID``."""
    return (
        str(file.parent / ex.id)  # line readers' ids are "FILE_NAME:LINE"
        if ex.id.startswith(f"{file.name}:")
        else f"{file}: record {ex.id}"
    )


def _load(
    spec: DatasetSpec,
    root: Path | None,
    forced_negative: bool = False,
    strict: bool = False,
    none_word: str | None = None,
) -> LoadedDataset:
    reader = READERS.get(spec.reader)
    results: dict[str, ReadResult] = {}
    files: dict[str, Path] = {}
    for split, rel in spec.files.items():
        file = Path(rel) if root is None else root / rel
        if spec.reader != "hf" and not file.exists():
            raise DataError(f"{spec.name}: {split} split file not found: {file}")
        files[split] = file
        results[split] = reader(
            file, **{**spec.options, **spec.split_options.get(split, {}), "strict": strict}
        )
        if not results[split].examples:
            why = (
                f" ({sum(results[split].dropped.values())} dropped: "
                f"{', '.join(results[split].dropped)})"
                if results[split].dropped
                else ""
            )
            raise DataError(f"{file}: no examples in the {split} split{why}")
        for ex in results[split].examples:
            if ex.label is None:
                raise DataError(
                    f"{_record_where(file, ex)}: the record has no label "
                    "(a dataset's records are all labeled)"
                )
    splits = {s: r.examples for s, r in results.items()}
    dropped = {s: r.dropped for s, r in results.items()}
    dropped_where = {s: r.dropped_where for s, r in results.items()}
    if spec.dev_from_train and "dev" not in splits:
        splits["train"], splits["dev"] = split_by_document(splits["train"], spec.dev_from_train)
        dropped["dev"] = Counter()
        files["dev"] = files["train"]
    in_use = {ex.label for split in SPLITS for ex in splits[split] if ex.label is not None}
    if none_word is not None and none_word in in_use:  # a label named "None": that label
        spec = dataclasses.replace(spec, negative_label=none_word)
    if forced_negative and spec.negative_label not in in_use:
        raise DataError(
            f"{spec.name}: --negative-label {spec.negative_label!r} is not a label "
            f"of its files ({', '.join(sorted(in_use)[:12])}"
            f"{', …' if len(in_use) > 12 else ''})"
        )
    labels, negative = _label_set(spec, root, splits["train"], files.get("train"), in_use)
    known = set(labels)
    for split in SPLITS:
        for ex in splits[split]:
            if ex.label is not None and ex.label not in known:
                source = spec.labels_file or f"the labels of train ({files['train']})"
                where = _record_where(files[split], ex)
                raise DataError(
                    f"{where}: label {ex.label!r} is not in the label set of {spec.name} "
                    f"(from {source}; {len(labels)} labels)"
                )
    return LoadedDataset(
        spec=spec,
        splits={s: splits[s] for s in SPLITS},
        labels=labels,
        negative_label=negative,
        metric=spec.metric,
        dropped={s: dropped.get(s, Counter()) for s in SPLITS},
        files=files,
        dropped_where={s: dropped_where.get(s, {}) for s in SPLITS},
    )


def _label_set(
    spec: DatasetSpec,
    root: Path | None,
    train: Sequence[RelationExample],
    train_file: Path | None,
    in_use: set[str] | None = None,
) -> tuple[list[str], str | None]:
    """Labels ordered by id (rel2id.json's ids, else the negative label then train's, sorted)
    and the negative label (``spec``'s, or the one found when it is ``AUTO_NEGATIVE``)."""
    if spec.labels_file:
        path = Path(spec.labels_file) if root is None else root / spec.labels_file
        try:
            rel2id = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: label file not found") from None
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{e.lineno}: malformed JSON ({e.msg})") from None
        if not isinstance(rel2id, dict) or sorted(rel2id.values()) != list(range(len(rel2id))):
            raise DataError(f"{path}: expected {{label: id}} with ids 0..n-1")
        labels = sorted(rel2id, key=rel2id.__getitem__)
        negative = spec.negative_label
        if negative == AUTO_NEGATIVE:
            negative = detect_negative(labels, str(path))
        elif negative is not None and negative not in labels:
            raise DataError(f"{path}: the negative label {negative!r} is missing")
        return labels, negative
    found = {ex.label for ex in train if ex.label is not None}
    if not found:
        raise DataError(f"{train_file}: the train split has no labels")
    negative = spec.negative_label
    if negative == AUTO_NEGATIVE:  # among the labels of every split (train may lack it)
        negative = detect_negative(sorted(in_use or found), str(train_file))
    if negative is None:
        return sorted(found), None
    return [negative, *sorted(found - {negative})], negative


def split_by_document(
    examples: Sequence[RelationExample], fraction: float
) -> tuple[list[RelationExample], list[RelationExample]]:
    """Deterministically move about ``fraction`` of the documents to dev.

    A document (``meta["doc"]``, else the example id) goes to dev when the SHA-1 of its id,
    read as a number in [0, 1), is below ``fraction``: stable across runs, machines and file
    order, and never splitting one document's pairs between train and dev.
    """
    train: list[RelationExample] = []
    dev: list[RelationExample] = []
    for ex in examples:
        doc = str(ex.meta.get("doc", ex.id))
        h = int.from_bytes(hashlib.sha1(doc.encode("utf-8")).digest()[:8], "big") / 2**64
        (dev if h < fraction else train).append(ex)
    return train, dev


def subsample(
    examples: list[RelationExample], n: int | None, seed: int = 0
) -> list[RelationExample]:
    """A deterministic, label-stratified sample of ``n`` examples, in their original order.

    Benchmark files are often grouped or sorted by label (the OpenNRE SemEval split is), so
    "the first N" would hold a handful of relations. Each label keeps its share of the split
    (largest remainders; every label present keeps at least one example while ``n`` allows),
    chosen at random for ``seed``. ``n`` of ``None`` or ``>= len(examples)`` keeps everything.
    """
    if n is None or n >= len(examples):
        return list(examples)
    if n <= 0:
        raise ValueError(f"subsample size must be positive, got {n}")
    rng = random.Random(seed)
    by_label: dict[object, list[int]] = {}
    for i, ex in enumerate(examples):
        by_label.setdefault(ex.label, []).append(i)
    total = len(examples)
    quota = {lab: n * len(idx) / total for lab, idx in by_label.items()}
    take = {lab: int(q) for lab, q in quota.items()}
    if n >= len(by_label):  # every label present keeps one example
        for lab in take:
            take[lab] = max(take[lab], 1)
    # distribute what is left by largest remainder (ties broken by a seeded shuffle)
    labels = list(by_label)
    rng.shuffle(labels)
    labels.sort(key=lambda lab: quota[lab] - int(quota[lab]), reverse=True)
    left = n - sum(take.values())
    for lab in labels:
        if left <= 0:
            break
        if take[lab] < len(by_label[lab]):
            take[lab] += 1
            left -= 1
    while sum(take.values()) > n:  # the at-least-one rule overshot: trim the largest
        lab = max(take, key=lambda k: take[k])
        take[lab] -= 1
    chosen: list[int] = []
    for lab, idx in by_label.items():
        chosen.extend(rng.sample(idx, take[lab]))
    return [examples[i] for i in sorted(chosen)]
