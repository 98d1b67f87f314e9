"""The evaluation protocol (docs/design.md §6, paper §5.3-§5.4): Optuna HPO, repeated seeds,
baselines.

Every architecture that is evaluated (a searched one, a baseline preset, a random one, a
transferred one) goes through the same two steps:

1. :func:`run_hpo`: Optuna random search (``RandomSampler``, seeded) over the paper's grid
   ``lr ∈ {1e-4, 5e-5, 2e-5, 1e-5}``, ``batch ∈ {128, 64, 32}``, ``warm-up ∈ {0.8, 1.0}``
   epochs. Each trial is one full fine-tuning (:func:`autorc_nni.finetune.train`) scored on dev.
2. :func:`run_seeds`: the chosen setting over N seeds; mean ± std of the dev and test scores.

:func:`evaluate_architecture` chains them into one directory; :func:`random_architectures`
draws the random-search baseline's architectures with Optuna's ``RandomSampler``.

Storage and resuming
--------------------
A study lives in an Optuna storage: by default the SQLite file ``optuna.db`` in the study
directory; any Optuna storage URL is accepted instead (``postgresql://…``, ``mysql://…``,
``sqlite:///…``, or ``journal:PATH`` for a journal file on a shared file system), so workers on
several machines can share one study. Studies are opened with ``load_if_exists``:

- only COMPLETE trials (and PRUNED ones, when pruning is on) count toward the budget, so a study
  interrupted after n finished trials runs exactly ``trials - n`` more: no finished trial is lost
  or repeated;
- a trial left RUNNING by a killed process is marked FAIL and its budget slot is re-run. With
  the default (private) storage every RUNNING trial found at start-up is such a leftover. With a
  shared storage another worker may really be running it, so it is left alone unless
  ``fail_running`` is true; RDB storages instead get an Optuna heartbeat (a trial whose worker
  stopped beating for ``grace_period`` seconds is failed by whichever worker looks next);
- every trial holds a budget *slot* (user attribute ``slot``: the lowest one no COMPLETE,
  PRUNED or RUNNING trial holds) and its setting is the slot's draw of ``RandomSampler(seed=
  sampler_seed)`` (:func:`slot_sampler`): slot s gets exactly what the s-th trial of an
  uninterrupted study gets, so a killed trial's replacement trains the same setting into the
  same directory ``trials/SSS``, resuming its checkpoint, and a resumed study ends with the same
  trials as one never interrupted;
- a sampled setting that equals a COMPLETE trial's is not trained again: the trial takes that
  trial's value (user attribute ``same_as``). The paper samples its 10 settings with
  replacement from 24 points, so such draws count toward the budget as they would there.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from autorc_nni.architecture import Architecture, ArchitectureError
from autorc_nni.config import ConfigError
from autorc_nni.errors import AutoRCError
from autorc_nni.files import atomic_write_json
from autorc_nni.files import read_json as _read_json
from pipeline.events import EpochScored, RungScored, SeedDone, TrainingEvent, TrialDone
from search_spaces.spaces import SearchSpace, get_space, to_architecture

log = logging.getLogger(__name__)

# A training function takes the keyword arguments of ``TrainConfig`` and returns train()'s dict.
# ``report(epoch, dev_score)`` (or None) is called after each dev evaluation, for pruning.
TrainFn = Callable[[dict[str, Any], "Callable[[int, float], None] | None"], dict[str, Any]]

# Keys of the training config that the protocol sets itself (and a base config must not).
HP_KEYS: tuple[str, ...] = ("lr", "batch_size", "warmup")
PROTOCOL_KEYS: tuple[str, ...] = (*HP_KEYS, "seed", "out", "arch", "resume", "pause_at")

# on_progress(event): the events of one training (pipeline.events: EpochScored, TrialDone,
# SeedDone; RungScored in the race), for consoles and NNI's intermediate results
ProgressFn = Callable[[TrainingEvent | RungScored], None]

METRICS_FILE = "metrics.json"
RESULT_FILE = "result.json"


class HPOError(AutoRCError, ValueError):
    """The HPO / seeds protocol cannot run as asked (bad budget, broken study, no result)."""


# --------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------
@dataclass
class HPOSpace:
    """The grid Optuna samples from (paper §5.3). Every entry is a categorical choice."""

    lr: list[float] = field(default_factory=lambda: [1e-4, 5e-5, 2e-5, 1e-5])  # peak learning rate
    batch_size: list[int] = field(default_factory=lambda: [128, 64, 32])  # training batch size
    warmup: list[float] = field(default_factory=lambda: [0.8, 1.0])  # LR warm-up, in epochs

    def __post_init__(self) -> None:
        for name in HP_KEYS:
            values = getattr(self, name)
            if not values:
                raise ConfigError(f"{name}: needs at least one value")
            if len(set(values)) != len(values):
                raise ConfigError(f"{name}: repeated values {values}")
            if any(v <= 0 for v in values) and name != "warmup":
                raise ConfigError(f"{name}: values must be > 0, got {values}")
            if any(v < 0 for v in values):
                raise ConfigError(f"{name}: values must be >= 0, got {values}")

    def size(self) -> int:
        return math.prod(len(getattr(self, k)) for k in HP_KEYS)


@dataclass
class HPOConfig:
    """Optuna hyper-parameter search for one architecture."""

    trials: int = 10  # finished trials per architecture (paper: 10)
    sampler_seed: int = 0  # seed of Optuna's RandomSampler
    storage: str | None = None  # Optuna storage URL or journal:PATH; None: <study dir>/optuna.db
    study: str | None = None  # study name; None: derived from the study directory
    pruning: bool = False  # median pruning on the dev curve (off: the paper trains every trial)
    fail_running: bool | None = None  # fail RUNNING leftovers at start; None: only own storage
    train_seed: int = 1000  # training seed of every HPO trial (never one of the evaluation seeds)
    heartbeat: int = 60  # RDB storages: heartbeat interval in seconds (stale after 3x)
    space: HPOSpace = field(default_factory=HPOSpace)

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ConfigError(f"trials: must be >= 1, got {self.trials}")
        if self.heartbeat < 1:
            raise ConfigError(f"heartbeat: must be >= 1 second, got {self.heartbeat}")


@dataclass
class SeedsConfig:
    """The chosen setting trained over several seeds (paper: 10)."""

    n: int = 10  # number of seeds
    first: int = 0  # seeds are first, first+1, ..., first+n-1

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"n: must be >= 1, got {self.n}")

    def seeds(self) -> list[int]:
        return list(range(self.first, self.first + self.n))


# --------------------------------------------------------------------------------------------
# Training adapter
# --------------------------------------------------------------------------------------------
def default_train_fn(
    kwargs: dict[str, Any], report: Callable[[int, float], None] | None = None
) -> dict[str, Any]:
    """Run :func:`autorc_nni.finetune.train` on ``TrainConfig(**kwargs)`` (read via from_dict).

    ``report`` (epoch, dev score) is passed on as ``train(cfg, on_dev=report)``: the dev curve
    Optuna's pruner reads.
    """
    from autorc_nni.finetune import train, train_config_from_dict

    cfg = train_config_from_dict(kwargs, "train")
    return train(cfg, on_dev=report)


def check_train_base(base: dict[str, Any], where: str = "train") -> None:
    """Refuse a base training config that sets what the protocol sets itself."""
    clash = sorted(set(base) & set(PROTOCOL_KEYS))
    if clash:
        raise ConfigError(
            f"{where}: {clash} are set by the HPO/seeds protocol and must not be given here"
        )


def scores_of(result: dict[str, Any], where: str = "train result") -> tuple[float, float | None]:
    """(dev score, test score or None) from a train() result / metrics.json."""
    try:
        dev = float(result["dev"]["score"])
    except (KeyError, TypeError, ValueError):
        raise HPOError(f"{where}: no dev score (expected result['dev']['score'])") from None
    test = result.get("test")
    test_score = float(test["score"]) if isinstance(test, dict) and "score" in test else None
    return dev, test_score


def read_json(path: Path) -> dict[str, Any]:
    """A JSON result file; a corrupt one names the file and line."""
    return _read_json(path, HPOError)


def _train_once(
    train_fn: TrainFn,
    kwargs: dict[str, Any],
    out: Path,
    report: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train into ``out`` unless ``out/metrics.json`` is there; return the metrics."""
    done = out / METRICS_FILE
    if done.is_file():
        return read_json(done)
    out.mkdir(parents=True, exist_ok=True)
    # resume: a run killed midway (checkpoint.pt, no metrics.json) continues where it stopped
    result = train_fn({**kwargs, "out": str(out), "resume": True}, report)
    if not done.is_file():  # train() writes it; a custom train_fn may not
        atomic_write_json(done, result)
    return result


# Keys of a training config that do not change what it trains (where it writes, how it shows)
_NOT_TRAINING = ("out", "resume", "progress", "heartbeat", "log_every", "checkpoint_every",
                 "keep_checkpoint")  # fmt: skip
# TrainConfig keys added after trainings were recorded, whose default None trains as before
_ADDED_NEUTRAL = ("group_text",)


class ReusedTrainings:
    """A :data:`TrainFn` that trains each distinct training once in a shared folder ``index``.

    The runs of one experiment (the NNI trials of ``config.yml``: AutoRC, BERT-entity, R-BERT)
    train some models with exactly the same config: when the race picks a hand-made design, the
    AutoRC run's seeds train what that design's own run trained. A finished training is
    recorded in ``index`` under a hash of its config (the architecture by content, the output
    folder left out); a later training with the same hash gets a copy of that folder (its paths
    rewritten) instead of being trained again. A paused training (a race rung) is never
    recorded, and a record whose folder is gone is ignored. On CPU a training is deterministic
    for its config (``benchmarks/faults.py``), so the copy is what the training would give.
    The hash also covers ``$AUTORC_DATA_DIR`` and the package version, not the code itself:
    a folder shared across code changes within one version should be emptied.
    """

    def __init__(self, index: str | Path, train_fn: TrainFn | None = None) -> None:
        self.index = Path(index)
        self.train_fn = train_fn or default_train_fn
        self.reused: list[str] = []  # output folders filled by a copy (for reports and tests)

    @staticmethod
    def key(kwargs: dict[str, Any]) -> str:
        """The hash of what a training config trains: the whole config as ``TrainConfig``
        reads it (defaults filled in), less where it writes and how it shows."""
        import hashlib
        import os
        from importlib.metadata import version

        from autorc_nni.config import to_dict
        from autorc_nni.finetune import train_config_from_dict

        try:
            what = to_dict(train_config_from_dict(dict(kwargs)))
        except (ConfigError, TypeError, ValueError):  # a custom train_fn's own keys: as given
            what = dict(kwargs)
        what = {k: v for k, v in what.items() if k not in _NOT_TRAINING}
        # keys added since records were made, left out at their default (which changes nothing)
        # so that the trainings finished before still match
        what = {k: v for k, v in what.items() if not (k in _ADDED_NEUTRAL and v is None)}
        arch = what.get("arch")
        if isinstance(arch, str) and Path(arch).is_file():  # a file: by content
            what["arch"] = Architecture.load(arch).canonical().to_dict()
        # what the config does not say: the data root a named dataset is read from, the code
        what["$AUTORC_DATA_DIR"] = os.environ.get("AUTORC_DATA_DIR")
        what["$version"] = version("autorc-nni")
        text = json.dumps(what, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def __call__(
        self, kwargs: dict[str, Any], report: Callable[[int, float], None] | None = None
    ) -> dict[str, Any]:
        out = Path(kwargs["out"])
        key = self.key(kwargs)
        source = self._finished(key, out)
        if source is not None:
            result = _copy_training(source, out, kwargs.get("arch"))
            self.reused.append(str(out))
            log.info("%s: the same training as %s; copied, not trained again", out, source)
            if report is not None:  # its dev curve, for the pruner and the listeners
                for h in result.get("history", []):
                    report(int(h["epoch"]), float(h["dev_score"]))
            return result
        result = self.train_fn(kwargs, report)
        if "dev" in result and not result.get("paused") and not result.get("stopped"):
            if not (out / METRICS_FILE).is_file():  # train() writes it; a custom train_fn may not
                out.mkdir(parents=True, exist_ok=True)
                atomic_write_json(out / METRICS_FILE, {"config": kwargs, **result})
            self.index.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.index / f"{key}.json", {"dir": str(out.resolve()), "key": key})
        return result

    def _finished(self, key: str, out: Path) -> Path | None:
        """The folder of a finished training with hash ``key``, checked: it is still there and
        its ``metrics.json`` records a config with that hash (a folder trained again since
        with another config is not it)."""
        record = self.index / f"{key}.json"
        if not record.is_file():
            return None
        source = Path(read_json(record)["dir"])
        if source == out.resolve() or not (source / METRICS_FILE).is_file():
            return None
        config = read_json(source / METRICS_FILE).get("config")
        if not isinstance(config, dict) or self.key(config) != key:
            return None
        return source


def _copy_training(source: Path, out: Path, arch: Any = None) -> dict[str, Any]:
    """``source``'s finished training copied into ``out`` (its checkpoint left out), the paths
    its JSON files name (as its config wrote them, and absolute) rewritten to ``out``'s, and
    its config's ``arch`` set to ``arch`` (this run's file, the same content) when given."""
    import shutil

    from autorc_nni.files import atomic_write_dir

    was = str(read_json(source / METRICS_FILE).get("config", {}).get("out", source))
    pairs = [(was, str(out)), (str(source.resolve()), str(out.resolve()))]

    def moved(value: Any) -> Any:
        if isinstance(value, str):
            for a, b in pairs:  # a whole path, or the start of one: never a longer name
                if value == a or value.startswith(a + "/"):
                    return b + value[len(a) :]
            return value
        if isinstance(value, list):
            return [moved(v) for v in value]
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        return value

    def fill(tmp: Path) -> None:
        shutil.copytree(
            source, tmp, ignore=shutil.ignore_patterns(".autorc.lock", "checkpoint.pt*")
        )
        for f in tmp.rglob("*.json"):
            data = json.loads(f.read_text())
            new = moved(data)
            if f == tmp / METRICS_FILE and arch is not None and isinstance(new.get("config"), dict):
                new["config"]["arch"] = arch
            if new != data:
                f.write_text(json.dumps(new, indent=2) + "\n")

    atomic_write_dir(out, fill)
    return read_json(out / METRICS_FILE)


# --------------------------------------------------------------------------------------------
# Optuna HPO
# --------------------------------------------------------------------------------------------
def open_storage(url: str | None, study_dir: Path, hpo: HPOConfig) -> tuple[Any, bool]:
    """The Optuna storage for a study and whether it is private to this study directory."""
    import optuna
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    if url is None:
        study_dir.mkdir(parents=True, exist_ok=True)
        return RDBStorage(f"sqlite:///{(study_dir / 'optuna.db').resolve()}"), True
    if url.startswith("journal:"):
        path = Path(url[len("journal:") :]).expanduser()
        if not path.name:
            raise ConfigError(f"storage: {url!r} names no journal file (journal:PATH)")
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path))), False
    if "://" not in url:
        raise ConfigError(
            f"storage: {url!r} is not an Optuna storage URL (sqlite:///FILE, "
            "postgresql://…, mysql://…) nor journal:PATH"
        )
    try:
        return RDBStorage(
            url, heartbeat_interval=hpo.heartbeat, grace_period=3 * hpo.heartbeat
        ), False
    except (optuna.exceptions.StorageInternalError, ImportError, ValueError) as e:
        raise ConfigError(f"storage: cannot open {url!r}: {e}") from e


SLOT = "slot"  # user attribute: an HPO trial's budget slot (pipeline.slots)


def slot_sampler(hpo: HPOConfig) -> Any:
    """The sampler of ``hpo``'s studies (:class:`pipeline.slots.SlotRandomSampler`): each trial
    the draws of its budget slot under ``RandomSampler(hpo.sampler_seed)``."""
    from pipeline.slots import SlotRandomSampler

    return SlotRandomSampler(hpo.sampler_seed, {k: getattr(hpo.space, k) for k in HP_KEYS})


def _fail_leftovers(study: Any, storage: Any) -> int:
    """Mark ``study``'s RUNNING trials FAIL (left by a killed run) in its ``storage``, through
    the storage's public API; return how many."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    study_id = storage.get_study_id_from_name(study.study_name)
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        try:  # the mark first: a finished trial takes no attribute
            storage.set_trial_user_attr(trial_id, "failed_by", "resume")
            n += storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
        except UpdateFinishedTrialError:  # finished meanwhile (by its own process)
            pass
    return n


def counted_states(hpo: HPOConfig) -> tuple[Any, ...]:
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED) if hpo.pruning else (TrialState.COMPLETE,)


def run_hpo(
    arch: Architecture,
    train_base: dict[str, Any],
    hpo: HPOConfig,
    study_dir: str | Path,
    train_fn: TrainFn | None = None,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Optuna random search over ``hpo.space`` for ``arch``; returns and writes ``hpo.json``.

    ``train_base`` is the rest of the training config (dataset, encoder, epochs, …). Each trial
    trains into ``study_dir/trials/SSS`` (SSS = its budget slot) with the training seed
    ``hpo.train_seed``. The result::

        {"best_params": {lr, batch_size, warmup}, "best_dev": float,
         "best_trial": int, "best_dir": str, "study": name, "storage": url,
         "trials": [{"number", "slot", "state", "params", "dev", "test", "dir"}, …]}

    ``hpo.json`` is written when the budget is reached; if it is there, the study is not
    touched again (a stage that is done is skipped). A grid with a single point has nothing to
    choose: no trial is trained and ``hpo.json`` records that point (``"skipped"``), so a
    fixed-setting protocol does not train every model twice.
    """
    import optuna

    train_fn = train_fn or default_train_fn
    check_train_base(train_base)
    study_dir = Path(study_dir)
    done = study_dir / "hpo.json"
    if done.is_file():
        return read_json(done)
    study_dir.mkdir(parents=True, exist_ok=True)
    arch_path = study_dir / "architecture.json"
    if not arch_path.is_file():
        arch.save(arch_path)
    if hpo.space.size() == 1:
        return _single_point(hpo, done)

    study, name = _open_study(arch, hpo, study_dir)
    objective = _Objective(study, hpo, train_base, arch_path, study_dir, train_fn, on_progress)
    states = counted_states(hpo)

    def n_counted() -> int:
        return len(study.get_trials(deepcopy=False, states=states))

    if n_counted() < hpo.trials:
        study.optimize(
            objective,
            catch=(),
            callbacks=[optuna.study.MaxTrialsCallback(hpo.trials, states=states)],
        )
    if n_counted() < hpo.trials:  # stopped from outside (another worker's stop, Ctrl-C)
        raise HPOError(f"study {name!r}: only {n_counted()} of {hpo.trials} trials finished")

    result = summarize_study(study, hpo)
    result["storage"] = hpo.storage or f"sqlite:///{study_dir / 'optuna.db'}"
    atomic_write_json(done, result)
    return result


def _single_point(hpo: HPOConfig, done: Path) -> dict[str, Any]:
    """``hpo.json`` of a grid with one point: that point, no trial run."""
    result: dict[str, Any] = {
        "study": None,
        "best_trial": None,
        "best_params": {k: getattr(hpo.space, k)[0] for k in HP_KEYS},
        "best_dev": None,
        "best_dir": None,
        "n_complete": 0,
        "budget": hpo.trials,
        "trials": [],
        "skipped": "the HPO grid has a single point: nothing to choose, no trial run",
    }
    atomic_write_json(done, result)
    return result


def _open_study(arch: Architecture, hpo: HPOConfig, study_dir: Path) -> tuple[Any, str]:
    """The study of ``arch`` (created or loaded; refused when made for another architecture),
    its leftover RUNNING trials failed where this process owns the storage; and its name."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage, private = open_storage(hpo.storage, study_dir, hpo)
    name = hpo.study or f"autorc-hpo-{study_dir.resolve().name}"
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=slot_sampler(hpo),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2)
        if hpo.pruning
        else optuna.pruners.NopPruner(),
    )
    if study.user_attrs.get("architecture") not in (None, arch.to_dict()):
        raise HPOError(
            f"study {name!r} in {hpo.storage or study_dir / 'optuna.db'} was made for another "
            "architecture; give another --study name or output directory"
        )
    study.set_user_attr("architecture", arch.to_dict())
    if hpo.fail_running if hpo.fail_running is not None else private:
        n = _fail_leftovers(study, storage)
        if n:
            log.warning("study %s: %d trial(s) left RUNNING by a killed run marked FAIL", name, n)
    return study, name


@dataclass
class _Objective:
    """One HPO trial: its setting drawn, then trained in its budget slot's folder (a setting
    already trained to the end is not trained again: its score is reused)."""

    study: Any
    hpo: HPOConfig
    train_base: dict[str, Any]
    arch_path: Path
    study_dir: Path
    train_fn: TrainFn
    on_progress: ProgressFn | None

    def __call__(self, trial: Any) -> float:
        from optuna.trial import TrialState

        from pipeline.slots import claim_slot

        claim_slot(self.study, trial)  # before any suggest: the slot decides the draws
        space = self.hpo.space
        params = {k: trial.suggest_categorical(k, list(getattr(space, k))) for k in HP_KEYS}
        trial.set_user_attr("host", socket.gethostname())
        for prev in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if prev.params == params and prev.value is not None:
                trial.set_user_attr("same_as", prev.number)
                for k in ("dir", "test"):
                    if k in prev.user_attrs:
                        trial.set_user_attr(k, prev.user_attrs[k])
                return float(prev.value)
        out = self.study_dir / "trials" / f"{trial.user_attrs[SLOT]:03d}"
        trial.set_user_attr("dir", str(out))
        kwargs = {**self.train_base, **params, "seed": self.hpo.train_seed}
        kwargs["arch"] = str(self.arch_path)
        watch = self.hpo.pruning or self.on_progress is not None
        report = partial(self._report, trial) if watch else None
        result = _train_once(self.train_fn, kwargs, out, report)
        dev, test = scores_of(result, str(out / METRICS_FILE))
        if test is not None:
            trial.set_user_attr("test", test)
        if self.on_progress is not None:
            self.on_progress(
                TrialDone(dev, test, number=trial.number, params=params, budget=self.hpo.trials)
            )
        return dev

    def _report(self, trial: Any, epoch: int, dev: float) -> None:
        """A dev score inside the trial's training: told, reported to Optuna, maybe pruned."""
        import optuna

        if self.on_progress is not None:
            self.on_progress(EpochScored("hpo_trial", epoch, dev, number=trial.number))
        trial.report(dev, epoch)
        if self.hpo.pruning and trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch} (dev {dev:.4f})")


def summarize_study(study: Any, hpo: HPOConfig) -> dict[str, Any]:
    """The study's trials as plain data, and its best finished trial."""
    from optuna.trial import TrialState

    rows = [
        {
            "number": t.number,
            "slot": t.user_attrs.get(SLOT),
            "state": t.state.name,
            "params": t.params,
            "dev": t.value,
            "test": t.user_attrs.get("test"),
            "dir": t.user_attrs.get("dir"),
            "same_as": t.user_attrs.get("same_as"),
        }
        for t in study.get_trials(deepcopy=False)
    ]
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not complete:
        raise HPOError(f"study {study.study_name!r}: no trial finished")
    # Ties: the lowest slot wins (deterministic, the same after any resume).
    best = max(complete, key=lambda t: (t.value, -t.user_attrs.get(SLOT, t.number), -t.number))
    return {
        "study": study.study_name,
        "best_trial": best.number,
        "best_params": dict(best.params),
        "best_dev": best.value,
        "best_dir": best.user_attrs.get("dir"),
        "n_complete": len(complete),
        "budget": hpo.trials,
        "trials": rows,
    }


# --------------------------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------------------------
def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n-1; 0.0 for a single value)."""
    if not values:
        raise HPOError("no values to average")
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else 0.0)


def run_seeds(
    arch: Architecture,
    train_base: dict[str, Any],
    params: dict[str, Any],
    seeds: SeedsConfig,
    out_dir: str | Path,
    train_fn: TrainFn | None = None,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train ``arch`` with ``params`` once per seed into ``out_dir/seed_S``; mean ± std.

    A seed whose ``metrics.json`` exists is not trained again. Writes ``out_dir/seeds.json``::

        {"params", "metric", "seeds": [S…], "dev": [..], "test": [..], "dev_mean", "dev_std",
         "test_mean", "test_std", "dirs": [..], "test_metrics": {name: [..]}}

    ``test_metrics``: per seed, the test metrics the task reports beside the selection metric
    (``Task.report_metrics``: MUC, B3, CEAF-e and CoNLL F1 for coreference).
    """
    from autorc_nni.tasks import get_task

    report_keys = get_task(str(train_base.get("task") or "rc")).report_metrics
    train_fn = train_fn or default_train_fn
    check_train_base(train_base)
    unknown = sorted(set(params) - set(HP_KEYS))
    if unknown:
        raise ConfigError(f"params: unknown hyper-parameter(s) {unknown}; known: {list(HP_KEYS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arch_path = out_dir / "architecture.json"
    if not arch_path.is_file():
        arch.save(arch_path)
    devs, tests, dirs = [], [], []
    test_metrics: dict[str, list[float | None]] = {k: [] for k in report_keys}
    metric = None
    for s in seeds.seeds():
        out = out_dir / f"seed_{s}"
        kwargs = {**train_base, **params, "seed": s, "arch": str(arch_path)}

        def report(epoch: int, dev: float, s: int = s) -> None:
            if on_progress is not None:
                on_progress(EpochScored("seed", epoch, dev, seed=s))

        result = _train_once(train_fn, kwargs, out, report if on_progress is not None else None)
        dev, test = scores_of(result, str(out / METRICS_FILE))
        metric = metric or result.get("metric")
        if on_progress is not None:
            on_progress(SeedDone(dev, test, seed=s, of=seeds.n))
        devs.append(dev)
        tests.append(test)
        dirs.append(str(out))
        test_all: dict[str, Any] = result["test"] if isinstance(result.get("test"), dict) else {}
        for k in report_keys:
            value = test_all.get(k)
            test_metrics[k].append(float(value) if isinstance(value, int | float) else None)
    summary: dict[str, Any] = {
        "params": params,
        "metric": metric,
        "seeds": seeds.seeds(),
        "dev": devs,
        "test": tests,
        "dirs": dirs,
        "test_metrics": test_metrics,
    }
    summary["dev_mean"], summary["dev_std"] = mean_std(devs)
    if all(t is not None for t in tests):
        summary["test_mean"], summary["test_std"] = mean_std(tests)  # type: ignore[arg-type]
    else:
        summary["test_mean"] = summary["test_std"] = None
    atomic_write_json(out_dir / "seeds.json", summary)
    return summary


# --------------------------------------------------------------------------------------------
# One architecture through the whole protocol
# --------------------------------------------------------------------------------------------
def evaluate_architecture(
    arch: Architecture,
    train_base: dict[str, Any],
    hpo: HPOConfig,
    seeds: SeedsConfig,
    out_dir: str | Path,
    train_fn: TrainFn | None = None,
    meta: dict[str, Any] | None = None,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """HPO then seeds for one architecture, in ``out_dir`` (``hpo/``, ``seeds/``, result.json).

    ``meta`` (method, dataset, source run, rank …) is stored in ``result.json`` as is. A
    directory with ``result.json`` is done and returned as it is.
    """
    out_dir = Path(out_dir)
    done = out_dir / RESULT_FILE
    if done.is_file():
        return read_json(done)
    out_dir.mkdir(parents=True, exist_ok=True)
    arch.save(out_dir / "architecture.json", meta=meta)
    t0 = time.perf_counter()
    h = run_hpo(arch, train_base, hpo, out_dir / "hpo", train_fn, on_progress)
    t1 = time.perf_counter()
    s = run_seeds(
        arch, train_base, h["best_params"], seeds, out_dir / "seeds", train_fn, on_progress
    )
    t2 = time.perf_counter()
    result: dict[str, Any] = {
        "kind": "architecture",
        **(meta or {}),
        "architecture": arch.to_dict(),
        "params": h["best_params"],
        "hpo_best_dev": h["best_dev"],
        # the full training setting of the seed runs (what to pass to `autorc train`)
        "train_setting": {**train_base, **h["best_params"]},
        "hpo_setting": {
            "trials": hpo.trials,
            "train_seed": hpo.train_seed,
            "space": {k: list(getattr(hpo.space, k)) for k in HP_KEYS},
            "skipped": h.get("skipped"),
        },
        # wall time of this process's work on each stage (0 for a stage found finished)
        "seconds": {"hpo": round(t1 - t0, 1), "seeds": round(t2 - t1, 1)},
        **{
            k: s[k]
            for k in (
                "metric",
                "seeds",
                "dev",
                "test",
                "dev_mean",
                "dev_std",
                "test_mean",
                "test_std",
                "test_metrics",
            )
            if k in s
        },
    }
    atomic_write_json(done, result)
    return result


# --------------------------------------------------------------------------------------------
# Random architectures (the random-search baseline, paper §5.4)
# --------------------------------------------------------------------------------------------
def random_architectures(
    n: int, seed: int = 0, space: str | SearchSpace = "M", max_tries: int = 1000
) -> tuple[list[Architecture], int]:
    """``n`` functionally distinct valid architectures of ``space`` (a ``SearchSpace`` or a
    space's name; default M, the paper's) drawn by Optuna's seeded ``RandomSampler``.

    Each draw of the space's free decisions becomes an architecture as the search's do
    (``search_spaces.spaces.to_architecture``: the fixed values completed). An invalid draw
    (no feature) or a repeat of a model already drawn (equal canonical forms,
    ``Architecture.canonical``) is resampled; returns the canonical architectures and the
    number of resampled draws.
    """
    import optuna

    space = get_space(space)
    if n < 1:
        raise ConfigError(f"n: must be >= 1, got {n}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    archs: list[Architecture] = []
    rejected = 0
    for _ in range(max_tries):
        if len(archs) == n:
            break
        trial = study.ask()
        values = {k: trial.suggest_categorical(k, list(v)) for k, v in space.decisions.items()}
        try:
            arch = to_architecture(values, space)
        except ArchitectureError:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            rejected += 1
            continue
        arch = arch.canonical()  # one model, however its unread poolers were drawn
        if arch in archs:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            rejected += 1
            continue
        study.tell(trial, 0.0)
        archs.append(arch)
    if len(archs) < n:
        raise HPOError(
            f"could draw only {len(archs)} distinct valid architectures of {n} "
            f"in {max_tries} tries: the space is too small"
        )
    return archs, rejected


def best_result(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The best learned model of a set of evaluated architectures: highest mean dev score."""
    if not results:
        raise HPOError("no evaluated architecture")
    return max(enumerate(results), key=lambda ir: (ir[1]["dev_mean"], -ir[0]))[1]
