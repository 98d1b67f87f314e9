"""What every training stage shares: the data config, the data preparation and the run skeleton.

Fine-tuning (:mod:`autorc_nni.finetune`) and the architecture search (:mod:`strategies.search`)
are two stages of one shape: a run folder that is locked while it runs, a checkpoint that a
restarted run resumes from (refused when the config changed in a key that matters), seeding,
the encoder, the task's data featurized for the formats the stage trains, then the stage's own
set-up and loop. :class:`Stage` is that shape once; a stage fills in :meth:`Stage.setup` and
:meth:`Stage.loop` (and, where it has them, :meth:`Stage.finished` and :meth:`Stage.check`).

:class:`DataConfig` is the data section of every stage's config (``TrainConfig.data``,
``SearchConfig.data``, the pipeline's): a config file may write its keys at the top level, as
``dataset: semeval10``, or under ``data:``; configs are written back flat
(:func:`autorc_nni.config.to_dict`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import torch

from autorc_nni.config import FLAT, to_dict
from autorc_nni.errors import AutoRCError
from autorc_nni.tasks import TaskData, TaskOptions, check_task

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"  # a stage's resumable state, in its run folder


@dataclass
class DataConfig:
    """The task, its data and the encoder that reads it: what every stage of a run shares."""

    task: str = "rc"  # rc | ner (span NER) | coref (mention pairs); see autorc_nni.tasks
    dataset: str = "semeval10"  # registered dataset name, or a directory with train/dev/test
    data_dir: str | None = None  # data root for named datasets (default $AUTORC_DATA_DIR)
    format: str | None = None  # reader for a dataset directory (e.g. "opennre", "tacred")
    # None: the dataset's (found in a folder's labels); "none": no negative label (a label of
    # exactly that spelling, as CoNLL04's "None", is named by it)
    negative_label: str | None = None
    # refuse records that cannot be relation statements (else dropped, counted)
    strict: bool = False
    # coref: a folder of {train,dev,test}.ids naming documents of the dataset folder
    splits: str | None = None
    task_options: TaskOptions = field(default_factory=TaskOptions)  # ner / coref options
    encoder: str = "minilm"  # encoder short name ("minilm", "tiny"), HF name or local path

    def __post_init__(self) -> None:
        check_task(self.task)


def data_field() -> Any:
    """The ``data`` field of a stage config (its keys may be given at the config's top level)."""
    return field(default_factory=DataConfig, metadata=FLAT)


def lift_data_section(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` with its ``data:`` section's keys moved to the top level, where the command
    line's flags and ``--set`` overrides write them (a later value then replaces an earlier
    one); a key given both ways in one file is an error naming it."""
    from autorc_nni.config import ConfigError

    section = data.get("data")
    if section is None:
        return data
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: data: expected a mapping, got {type(section).__name__}")
    out = {k: v for k, v in data.items() if k != "data"}
    both = sorted(set(section) & set(out))
    if both:
        raise ConfigError(f"{where}: {both} given both at the top level and under data:")
    return {**out, **section}


def data_override_key(key: str) -> str:
    """``data.dataset`` -> ``dataset``: an override of the data section, as its top-level key."""
    head, _, rest = key.partition(".")
    return rest if head == "data" and rest.split(".")[0] in DATA_KEYS else key


DATA_KEYS = frozenset(f.name for f in fields(DataConfig))


# -- the one data preparation -------------------------------------------------------------------


@dataclass
class PreparedData:
    """A task's statements featurized for the formats a stage trains."""

    task: TaskData
    featurizer: Any  # autorc_nni.featurize.Featurizer
    rows: dict[str, Any]  # split -> featurized rows (train: epoch 0's)
    examples: dict[str, list]  # split -> the statements (train: epoch 0's)
    report: dict[str, Any]  # split -> counts (statements, truncated, dropped; task counts)

    @property
    def labels(self) -> list[str]:
        return list(self.task.labels)

    @property
    def label2id(self) -> dict[str, int]:
        return {lab: i for i, lab in enumerate(self.task.labels)}

    @property
    def negative_label(self) -> str | None:
        return self.task.negative_label

    def featurize_epoch(self, epoch: int, seed: int) -> Any:
        """The featurized training statements of ``epoch`` (``TaskData.train_epoch``)."""
        return self.featurizer.featurize(self.task.train_epoch(epoch, seed), self.label2id).rows


def prepare_data(
    data: DataConfig,
    tokenizer: Any,
    *,
    formats: tuple[str, ...],
    max_len: int,
    limit_train: int | None,
    limit_eval: int | None,
    eval_seed: int,
    splits: Callable[[TaskData], dict[str, list]],
) -> PreparedData:
    """Load ``data``'s statements (:func:`autorc_nni.tasks.load_task_data`) and featurize the
    splits that ``splits(task data)`` names (split -> statements) for ``formats``.

    ``limit_eval`` caps the evaluation units, sampled with ``eval_seed``; a split with no
    statement left after featurization is an error that names it."""
    from autorc_nni.featurize import Featurizer
    from autorc_nni.tasks import load_task_data

    td = load_task_data(
        data.task,
        data.dataset,
        fmt=data.format,
        data_root=data.data_dir,
        negative_label=data.negative_label,
        splits=data.splits,
        limit_train=limit_train,
        limit_eval=limit_eval,
        eval_seed=eval_seed,
        options=data.task_options,
        max_len=max_len,
        strict=data.strict,
    )
    label2id = {lab: i for i, lab in enumerate(td.labels)}
    feat = Featurizer(tokenizer, max_len=max_len, formats=formats)
    statements = splits(td)
    rows, report = {}, {}
    for split, exs in statements.items():
        if not exs:
            raise AutoRCError(f"dataset {data.dataset!r}: no {split} statement to featurize")
        fs = feat.featurize(exs, label2id)
        rows[split] = fs.rows
        report[split] = {
            "examples": len(exs),
            "featurized": len(fs.rows),
            "truncated": int(fs.truncated),
            "dropped": dict(fs.dropped),
            **td.read_drops(split),
            **({"task": td.report[split]} if split in td.report else {}),
        }
        if len(fs.rows) == 0:
            raise AutoRCError(
                f"dataset {data.dataset!r}: no {split} example survived featurization"
            )
    return PreparedData(task=td, featurizer=feat, rows=rows, examples=statements, report=report)


# -- the run skeleton ---------------------------------------------------------------------------


class StageConfig(Protocol):
    """What the skeleton reads of a stage's config."""

    data: DataConfig
    out: str
    resume: bool
    seed: int
    device: Any
    num_threads: int | None


C = TypeVar("C", bound=StageConfig)
R = TypeVar("R")


class Stage(ABC, Generic[C, R]):
    """One stage's run in its folder ``cfg.out``; :meth:`run` is the whole of it:

    lock the folder → :meth:`finished` (a finished run's result) → the checkpoint to resume
    from (refused when the config changed outside ``resume_free``) → threads, device,
    :meth:`check` → seeding → the encoder → :meth:`prepare` → :meth:`setup` → :meth:`loop`.
    """

    kind: ClassVar[str]  # what the folder holds ("training", "search"): messages name it
    resume_free: ClassVar[frozenset[str]]  # config keys a resumed run may change
    # config keys added since a checkpoint may have been saved: the value each had in effect
    # before it existed (a checkpoint without it resumes only at that value)
    added_keys: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, cfg: C) -> None:
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.ckpt_path = self.out / CHECKPOINT
        self.device = torch.device("cpu")

    def run(self) -> R:
        from autorc_nni.encoders import load_encoder, transformers_quiet
        from autorc_nni.files import run_dir_lock
        from autorc_nni.training import resolve_device, seed_everything

        cfg = self.cfg
        with transformers_quiet(notes=False), run_dir_lock(self.out, self.kind):
            done = self.finished()
            if done is not None:
                return done
            saved = self.resume_point()
            if cfg.num_threads:
                torch.set_num_threads(cfg.num_threads)
            self.device = resolve_device(cfg.device)
            self.check()
            seed_everything(cfg.seed)
            tokenizer, encoder = load_encoder(cfg.data.encoder, seed=cfg.seed)
            data = self.prepare(tokenizer)
            self.setup(data, encoder, saved)
            del encoder, saved
            return self.loop()

    def resume_point(self) -> dict[str, Any] | None:
        """The saved state to resume from, or None for a fresh start. A checkpoint left by an
        unfinished run is refused without ``resume`` (it would be overwritten)."""
        from autorc_nni.training import check_resumable, load_checkpoint

        if not self.ckpt_path.is_file():
            if self.cfg.resume:
                log.info("%s: no %s to resume from; starting afresh", self.out, CHECKPOINT)
            return None
        if not self.cfg.resume:
            raise AutoRCError(
                f"{self.out} holds a {self.kind} checkpoint ({CHECKPOINT}): pass --resume to "
                "continue from it, or choose another --out"
            )
        saved = load_checkpoint(self.ckpt_path)  # weights only: a foreign file never runs code
        check_resumable(
            saved["config"],
            to_dict(self.cfg),
            set(self.resume_free),
            self.ckpt_path,
            dict(self.added_keys),
        )
        log.info("%s: resuming from %s", self.out, self.ckpt_path)
        return saved

    def finished(self) -> R | None:
        """The result of a run that already finished in this folder (default: none)."""
        return None

    def check(self) -> None:
        """Refuse settings the resolved device cannot run (default: none)."""

    @abstractmethod
    def prepare(self, tokenizer: Any) -> Any:
        """The data the stage trains on (usually :func:`prepare_data`)."""

    @abstractmethod
    def setup(self, data: Any, encoder: torch.nn.Module, saved: dict[str, Any] | None) -> None:
        """Build the model and its training around ``encoder``; restore ``saved`` if given."""

    @abstractmethod
    def loop(self) -> R:
        """Train, then finish (write the results); return the stage's result."""
