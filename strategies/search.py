"""Run an AutoRC search end to end: data -> supernet -> N search epochs -> top-k architectures.

    from strategies.search import run_search, search_config_from_dict
    result = run_search(search_config_from_dict({
        "dataset": "semeval10", "encoder": "minilm", "method": "autorc", "epochs": 10,
        "out": "runs/search"}))

The same through the command line: ``autorc search --dataset semeval10 --encoder minilm
--space M --method autorc --epochs 10 --seed 1 --out runs/search``.

``out`` receives:

- ``tensorboard/``: every step, ``search/{reward,baseline,advantage,entropy,controller_loss,
  child_loss,lr,invalid_samples}`` and ``prob/<decision>/<option>`` (greedy-path probabilities,
  see :meth:`strategies.controller.Controller.probabilities`);
- ``checkpoint.pt``: every ``checkpoint_every`` steps and at the end (controller, every weight
  copy, both optimizers, the LR schedule, the baseline, RNG states, the step); with
  ``resume=True`` a killed search continues from it and ends as an uninterrupted one would;
- after the search: ``architectures/rank{1..top_k}.json`` (``Architecture`` JSON with
  ``_meta``: rank, score, probability, ...), ``ranking.json`` / ``ranking.md`` (all ``k`` sampled
  architectures with their validation score under the shared weights), ``importance.json`` /
  ``importance.png`` (how much each free decision explains those scores, fANOVA; also a section
  of ``ranking.md``), ``summary.json``.

An epoch is one pass over the training rows in groups of ``child_steps`` batches, so it has
``len(train) // (batch_size * child_steps)`` search steps; the search warm-up and the encoder's
LR warm-up are given in epochs and converted to steps (child batches for the LR).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import torch

from autorc_nni.architecture import DECISIONS, Architecture
from autorc_nni.config import ConfigError, from_dict, to_dict
from autorc_nni.errors import AutoRCError
from autorc_nni.files import atomic_torch_save, atomic_write_json, atomic_write_text
from autorc_nni.stage import CHECKPOINT, DataConfig, Stage, data_field, prepare_data
from autorc_nni.tasks import get_task
from autorc_nni.training import peak_rss_mb, to_device
from search_spaces.spaces import SearchSpace, SearchSpaceError, get_space, to_architecture
from strategies.autorc import AutoRCStrategy, make_evaluator
from strategies.controller import ControllerError
from strategies.loaders import ChildBatches, RewardBatches
from strategies.methods import METHODS, get_method
from strategies.module import AutoRCLightningModule, SupernetTrainingModule

log = logging.getLogger(__name__)

# Keys that may differ between a run and its resumption.
_RESUME_FREE = {
    "resume",
    "stop_after_steps",
    "progress",
    "num_threads",
    "k",
    "top_k",
    "strict",
    "checkpoint_every",
    "eval_batch_size",
    "device",
    "format_draws",
    "out",  # a search folder may be moved or copied: where it is does not change the search
}


@dataclass
class SearchConfig:
    """One search run. Read from a mapping with :func:`search_config_from_dict`."""

    # the task, the dataset and the encoder (autorc_nni.stage.DataConfig): task, dataset,
    # data_dir, format, negative_label, strict, splits, task_options, encoder (ner searches
    # span in {markers, standard})
    data: DataConfig = data_field()
    space: str = "M"  # search space (search_spaces.spaces: M, M1, M2, M3; paper Table 2)
    # the space narrowed to these options, {decision: [options]} (e.g. {span: [standard]})
    restrict: dict[str, Any] = field(default_factory=dict)
    method: str = "autorc"  # a row of strategies.methods (AutoRC or a Table 3 ablation)
    epochs: float = 10.0  # search epochs (may be fractional)
    batch_size: int = 32  # child-training batch size
    lr: float | None = None  # peak lr of the shared weights; None: the encoder's, else 5e-5
    weight_decay: float = 0.01  # AdamW decay of the shared weights (not biases / norms)
    grad_clip: float = 1.0  # max gradient norm of a child step; 0 disables clipping
    dropout: float = 0.1  # feature dropout before the classifier
    child_steps: int = 4  # train batches per child (paper: 4)
    reward_batch_mult: int = 4  # reward batch = this x batch_size validation rows (paper: 4)
    # no controller updates; None: the method's (1.5 or 0)
    search_warmup_epochs: float | None = None
    # shared-weight LR warm-up in epochs; None: the encoder's measured one, else 0.8
    encoder_warmup_epochs: float | None = None
    copies: int | None = None  # weight copies per encoder group; None: the method's (2 or 1)
    # controller Adam lr; None: the encoder's measured one, else the paper's 1e-4
    controller_lr: float | None = None
    controller_hidden: int = 64  # LSTM width
    temperature: float = 5.0  # logits / temperature before tanh
    tanh_constant: float = 2.5  # logits = tanh_constant * tanh(logits / temperature)
    entropy_weight: float = 1e-4  # beta of the entropy bonus
    baseline_decay: float = 0.95  # moving-average decay of the reward baseline
    k: int = 30  # architectures sampled from the trained controller
    # per input format the k draws lack: N more draws with that format (the others sampled by
    # the controller given it), scored like the k; the best of each format is written to
    # format_best.json (the race's shortlist); 0: none
    format_draws: int = 0
    top_k: int = 5  # of which the best are exported (paper: ke = 5)
    seed: int = 42  # seeds model init, dropout, the data order, copies and the controller
    out: str = "runs/search"  # output directory
    resume: bool = False  # continue from out/checkpoint.pt
    max_len: int = 256  # max wordpieces per example
    limit_train: int | None = None  # use a seeded, label-stratified sample of N training examples
    limit_dev: int | None = None  # seeded sample of N validation units (statements/sentences/docs)
    # the negatives the search trains and rewards on, for its training rows and its validation
    # rows (reward, ranking) alike: ner spans a sentence, coref pairs a positive (drawn as the
    # task draws them), rc statements of the negative label a positive statement (a seeded
    # sample); None: all the task's (as the trainings)
    negatives: float | None = None
    bucket: bool = True  # length-bucketed child batches (less padding)
    # with bucket: keep the statements that share a text (standard or levitated input) in one
    # child batch, encoded once for all; None: the task's default (span NER yes; rc, coref no)
    group_text: bool | None = None
    eval_batch_size: int = 64  # batch size when scoring the k architectures
    checkpoint_every: int = 100  # resumable checkpoint every N steps (0: only at the end)
    stop_after_steps: int | None = None  # stop abruptly after N steps, as if killed (for tests)
    progress: bool = True  # tqdm progress bar with the running reward
    num_threads: int | None = None  # torch.set_num_threads; None leaves torch's default
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: cuda when available
    tensorboard: bool = True  # write out/tensorboard
    pooler_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. {"dr": {...}}

    def __post_init__(self) -> None:
        get_method(self.method)  # a clear error for an unknown method
        try:
            get_space(self.space)
        except SearchSpaceError as e:
            raise ConfigError(f"space: {e}") from None
        from search_spaces.spaces import canonical_restrict

        try:  # a restrict that does not fit fails here, by key
            self.restrict = canonical_restrict(self.space, self.data.task, self.restrict)
        except SearchSpaceError as e:
            raise ConfigError(str(e)) from None
        if not self.search_space.decisions:
            raise ConfigError(
                f"restrict: {self.restrict} fixes every decision of space {self.space}: "
                "nothing is left to search"
            )
        # None: the settings measured for the encoder (autorc_nni.encoders), resolved here so
        # that summary.json and the checkpoint record the values used
        from autorc_nni.encoders import recommended_setting

        for name, key in (
            ("lr", "search_lr"),
            ("controller_lr", "controller_lr"),
            ("encoder_warmup_epochs", "encoder_warmup_epochs"),
        ):
            if getattr(self, name) is None:
                setattr(self, name, recommended_setting(self.data.encoder, key))
        for name in (
            "epochs",
            "batch_size",
            "lr",
            "child_steps",
            "reward_batch_mult",
            "k",
            "top_k",
            "max_len",
            "eval_batch_size",
            "controller_lr",
            "controller_hidden",
            "temperature",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in (
            "search_warmup_epochs",
            "encoder_warmup_epochs",
            "weight_decay",
            "grad_clip",
            "checkpoint_every",
            "entropy_weight",
            "tanh_constant",
        ):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.negatives is not None:
            self.search_data_config()  # a value the task cannot sample fails here
        if self.group_text is None:  # resolved, so checkpoints record what the batches did
            from autorc_nni.tasks import get_task

            self.group_text = get_task(self.data.task).groups_text
        if self.format_draws < 0:
            raise ConfigError(f"format_draws must be >= 0, got {self.format_draws!r}")
        for name in ("limit_train", "limit_dev", "stop_after_steps", "num_threads", "copies"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ConfigError(f"{name} must be > 0 when given, got {v!r}")
        if not 0 <= self.baseline_decay < 1:
            raise ConfigError(f"baseline_decay must be in [0, 1), got {self.baseline_decay!r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.top_k > self.k:
            raise ConfigError(f"top_k ({self.top_k}) exceeds k ({self.k})")

    @property
    def search_space(self):
        """The space as this task searches it (``search_spaces.spaces.task_space``), narrowed
        by ``restrict``."""
        from search_spaces.spaces import task_space

        return task_space(self.space, self.data.task, self.restrict)

    def search_data_config(self) -> DataConfig:
        """The data section the search loads: ``data`` with ``negatives`` (when given) as the
        task's negatives option (``Task.negatives_option``)."""
        if self.negatives is None:
            return self.data
        from dataclasses import replace

        from autorc_nni.tasks import get_task

        task = get_task(self.data.task)
        name = task.negatives_option
        if not name:  # rc: the statements of the negative label are thinned (search_data)
            if self.negatives < 0:
                raise ConfigError(f"negatives must be >= 0, got {self.negatives:g}")
            return self.data
        kind = type(getattr(self.data.task_options, name))
        if kind is int and not float(self.negatives).is_integer():
            raise ConfigError(
                f"negatives: {task.name} counts {name} in whole statements, got {self.negatives:g}"
            )
        try:
            options = replace(self.data.task_options, **{name: kind(self.negatives)})
        except ConfigError as e:
            raise ConfigError(f"negatives: {self.negatives:g} ({e})") from None
        return replace(self.data, task_options=options)

    @property
    def shared_lr(self) -> float:
        """``lr`` as resolved (``__post_init__`` fills in the encoder's)."""
        assert self.lr is not None
        return self.lr

    @property
    def lr_warmup_epochs(self) -> float:
        """``encoder_warmup_epochs`` as resolved."""
        assert self.encoder_warmup_epochs is not None
        return self.encoder_warmup_epochs

    @property
    def num_copies(self) -> int:
        """Weight copies: ``copies``, or the method's (2; 1 for naive-enas and autorc2)."""
        return self.copies if self.copies is not None else METHODS[self.method].copies

    @property
    def warmup_epochs(self) -> float:
        """Search warm-up: ``search_warmup_epochs``, or the method's (1.5; 0 for naive-enas,
        autorc3)."""
        if self.search_warmup_epochs is not None:
            return self.search_warmup_epochs
        return METHODS[self.method].warmup_epochs


def search_config_from_dict(data: dict[str, Any], where: str = "search") -> SearchConfig:
    """A :class:`SearchConfig` from a mapping (unknown keys and wrong types name the key)."""
    return from_dict(SearchConfig, data, where)


@dataclass
class RankedArchitecture:
    rank: int
    architecture: Architecture
    score: float  # dataset metric on the validation rows, mean over the weight copies
    probability: float  # probability of the sample under the trained controller
    scores: list[float]  # per weight copy
    path: str | None = None  # exported JSON (top_k only)

    def row(self) -> dict[str, Any]:
        """Its scores and architecture as plain data (ranking.json, format_best.json)."""
        return {
            "score": self.score,
            "scores": self.scores,
            "probability": self.probability,
            "architecture": self.architecture.to_dict(),
        }


@dataclass
class SearchResult:
    out: Path
    completed: bool  # False when stopped by stop_after_steps
    steps: int  # search steps done (children trained)
    steps_per_epoch: int
    search_seconds: float  # wall time of the search loop in this process
    ranking: list[RankedArchitecture] = field(default_factory=list)
    # the best-scored model of each input format of the space (format_draws > 0; rank 0 for a
    # model drawn for its format, else its rank in ``ranking``)
    format_best: list[RankedArchitecture] = field(default_factory=list)
    probabilities: dict[str, dict[str, float]] = field(default_factory=dict)
    controller_state: dict[str, torch.Tensor] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    @property
    def top(self) -> list[RankedArchitecture]:
        return [r for r in self.ranking if r.path is not None]


# -- pieces -------------------------------------------------------------------------------------
def _formats(space: SearchSpace) -> tuple[str, ...]:
    from search_spaces.spaces import fixed_values, space_decisions

    free = space_decisions(space)
    return tuple(free["span"]) if "span" in free else (fixed_values(space)["span"],)


@dataclass
class _Data:
    labels: list[str]
    negative_label: str | None
    metric: str
    train: list[dict]  # epoch 0's rows
    dev: list[dict]
    train_lengths: list[int]
    train_groups: list | None  # per training row, its text group (group_text), or None
    dev_lengths: list[int]
    collate: Any
    report: dict[str, Any]
    # ner / coref: epoch e's rows, lengths and groups
    epoch_rows: Callable[[int], tuple[list[dict], list[int], list | None]] | None = None
    format: str | None = None  # the reader of the dataset's files (rc)
    format_detected: bool = False  # told from the files' content


def _thinned(td: Any, statements: list[Any], cfg: SearchConfig) -> list[Any]:
    """``statements`` with at most ``cfg.negatives`` statements of the negative label per other
    statement (a seeded sample, in their order), for a task that samples no negatives of its
    own (rc); unchanged otherwise or without ``negatives``."""
    if cfg.negatives is None or td.kind.negatives_option:
        return statements
    if td.negative_label is None:
        raise ConfigError(
            f"negatives: {cfg.data.dataset} has no negative label to thin (see --negative-label)"
        )
    neg = [i for i, ex in enumerate(statements) if ex.label == td.negative_label]
    keep = round(cfg.negatives * (len(statements) - len(neg)))
    if keep >= len(neg):
        return statements
    chosen = set(random.Random(cfg.seed + 7).sample(neg, keep))
    return [ex for i, ex in enumerate(statements) if ex.label != td.negative_label or i in chosen]


def search_data(cfg: SearchConfig, tokenizer: Any, formats: tuple[str, ...]) -> _Data:
    """The task's statements featurized in every searched format
    (:func:`autorc_nni.stage.prepare_data`): train (ner / coref: drawn afresh each search
    epoch) and the validation rows of reward and ranking (ner / coref: the dev gold statements
    with negatives sampled as for training); both at ``cfg.negatives`` when given."""
    from autorc_nni.batching import collate, row_lengths

    data = prepare_data(
        cfg.search_data_config(),
        tokenizer,
        formats=formats,
        max_len=cfg.max_len,
        limit_train=cfg.limit_train,
        limit_eval=cfg.limit_dev,
        eval_seed=cfg.seed,
        splits=lambda td: {
            "train": _thinned(td, td.train_epoch(0, cfg.seed, subsample_seed=cfg.seed), cfg),
            "dev": _thinned(
                td, td.statements["dev"] if td.search_dev is None else td.search_dev, cfg
            ),
        },
    )
    td, rows = data.task, data.rows

    def groups(rows: Any) -> list | None:  # the child batches' text groups (group_text)
        from autorc_nni.finetune import text_groups

        return text_groups(rows, cfg, formats) if cfg.bucket else None

    def epoch_rows(epoch: int) -> tuple[list[dict], list[int], list | None]:
        epoch_rows = data.featurize_epoch(epoch, cfg.seed)
        return epoch_rows.to_list(), row_lengths(epoch_rows, formats), groups(epoch_rows)

    pad_id = tokenizer.pad_token_id or 0
    return _Data(
        labels=data.labels,
        negative_label=td.negative_label,
        metric=td.pair_metric,
        train=rows["train"].to_list(),
        dev=rows["dev"].to_list(),
        train_lengths=row_lengths(rows["train"], formats),
        train_groups=groups(rows["train"]),
        dev_lengths=row_lengths(rows["dev"], formats),
        collate=partial(collate, formats=formats, max_len=cfg.max_len, pad_id=pad_id),
        report=data.report,
        epoch_rows=epoch_rows if td.kind.resamples else None,
        format=td.format,
        format_detected=td.format_detected,
    )


def policy_layout(space: str) -> dict[str, dict[str, list[Any]]]:
    """TensorBoard custom-scalars layout: one chart per decision of ``space`` with a line per
    option (the ``prob/<decision>/<option>`` scalars), so the controller's policy reads as one
    card per decision in the CUSTOM SCALARS tab instead of one card per option."""
    from search_spaces.spaces import space_decisions

    charts = {
        label: ["Multiline", [f"prob/{label}/{o}" for o in options]]
        for label, options in space_decisions(space).items()
    }
    search = {
        key: ["Multiline", [f"search/{key}"]]
        for key in ("reward", "baseline", "entropy", "controller_loss")
    }
    return {"controller policy (probability per option)": charts, "search": search}


class _StepLogger:
    """``on_step`` hook: TensorBoard scalars, the progress bar, periodic checkpoints."""

    def __init__(
        self,
        cfg: SearchConfig,
        out: Path,
        start: int,
        total: int,
        on_step: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> None:
        self.cfg, self.out, self.on_step = cfg, out, on_step
        self.writer = None
        if cfg.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=start + 1)
            self.writer.add_custom_scalars(policy_layout(cfg.search_space))
        self.rewards: deque[float] = deque(maxlen=50)
        self.bar = None
        if cfg.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=start, desc=f"search {cfg.method}", unit="child")

    def __call__(self, module: AutoRCLightningModule, stats: dict[str, Any]) -> None:
        step = stats["step"]
        self.rewards.append(stats["reward"])
        if self.writer is not None:
            w = self.writer
            for key in ("reward", "baseline", "advantage", "entropy", "child_loss", "lr"):
                w.add_scalar(f"search/{key}", stats[key], step)
            if stats["updated"]:
                w.add_scalar("search/controller_loss", stats["loss"], step)
            w.add_scalar("search/invalid_samples", stats["invalid"], step)
            for label, dist in module.policy.probabilities().items():
                for option, p in dist.items():
                    w.add_scalar(f"prob/{label}/{option}", p, step)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(
                reward=f"{sum(self.rewards) / len(self.rewards):.3f}",
                loss=f"{stats['child_loss']:.3f}",
                refresh=False,
            )
        every = self.cfg.checkpoint_every
        if every and step % every == 0:
            save_checkpoint(module, self.cfg, self.out)
        if self.on_step is not None:
            self.on_step(step, stats)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.bar is not None:
            self.bar.close()


def save_checkpoint(module: AutoRCLightningModule, cfg: SearchConfig, out: Path) -> Path:
    path = out / CHECKPOINT
    atomic_torch_save({"config": to_dict(cfg), "state": module.search_state_dict()}, path)
    return path


# -- after the search: sample k, score with the shared weights, export the top ------------------
@torch.no_grad()
def score_architecture(
    module: AutoRCLightningModule,
    sample: dict[str, Any],
    batches: list[dict],
    gold: list[int],
    copies: int,
) -> list[float]:
    """The dataset metric of ``sample`` on ``batches`` (gold labels ``gold``) with each weight
    copy pair ``(i, i)``, under the shared weights."""
    net, tm = module.model, module.training_module
    module.set_sample(sample)
    net.eval()
    scores = []
    for i in range(copies):
        net.set_copies(i, i)
        pred = [y for b in batches for y in net(b).argmax(-1).tolist()]  # (B, C) -> (B,)
        scores.append(tm.score(gold, pred))
    return scores


def sample_distinct(
    controller: Any,
    k: int,
    space: SearchSpace,
    generator: torch.Generator,
    max_draws_per_model: int = 200,
) -> tuple[dict[Architecture, dict[str, Any]], dict[str, int]]:
    """Up to ``k`` functionally distinct samples of ``controller``: canonical form -> the first
    sample drawn of that model, and ``{"requested", "distinct", "draws"}``. Stops after ``k``
    distinct models or ``max_draws_per_model · k`` draws (a narrow controller support)."""
    samples: dict[Architecture, dict[str, Any]] = {}
    draws = 0
    with torch.no_grad():
        while len(samples) < k and draws < k * max_draws_per_model:
            s, _, _ = controller.sample(generator=generator)
            draws += 1
            samples.setdefault(to_architecture(s, space).canonical(), s)
    return samples, {"requested": k, "distinct": len(samples), "draws": draws}


def rank_architectures(
    module: AutoRCLightningModule,
    cfg: SearchConfig,
    data: _Data,
    space: SearchSpace,
    device: torch.device,
) -> tuple[list[RankedArchitecture], dict[str, int]]:
    """Sample ``k`` functionally distinct architectures from the controller; rank by score.

    Samples are de-duplicated on their canonical form (``Architecture.canonical``): two samples
    that differ only in the pooler of a part the model never reads are one model, scored and
    counted once. Sampling stops after ``k`` distinct models or ``200·k`` draws; when the
    controller's support is narrower than ``k`` models, fewer are ranked and the ranking says so.
    """
    controller = module.controller
    g = torch.Generator().manual_seed(cfg.seed + 17)
    samples, sampling = sample_distinct(controller, cfg.k, space, g)
    score = _scorer(module, cfg, data, device)
    ranked = [score(canon, s) for canon, s in samples.items()]
    ranked.sort(key=lambda r: (-r.score, -r.probability))
    for i, r in enumerate(ranked, 1):
        r.rank = i
    return ranked, sampling


def _scorer(
    module: AutoRCLightningModule, cfg: SearchConfig, data: _Data, device: torch.device
) -> Callable[[Architecture, dict[str, Any]], RankedArchitecture]:
    """``score(canonical architecture, sample)``: its shared-weight validation score (mean over
    the weight copies) and controller probability, unranked."""
    by_length = sorted(range(len(data.dev)), key=data.dev_lengths.__getitem__)  # less padding
    dev = [data.dev[i] for i in by_length]
    bs = cfg.eval_batch_size
    batches = [to_device(data.collate(dev[s : s + bs]), device) for s in range(0, len(dev), bs)]
    gold = [int(r["label"]) for r in dev]

    def score(canon: Architecture, sample: dict[str, Any]) -> RankedArchitecture:
        scores = score_architecture(module, sample, batches, gold, cfg.num_copies)
        with torch.no_grad():
            prob = float(module.policy.log_prob(sample).exp())
        return RankedArchitecture(0, canon, sum(scores) / len(scores), prob, scores)

    return score


def format_bests(
    module: AutoRCLightningModule,
    cfg: SearchConfig,
    data: _Data,
    space: SearchSpace,
    device: torch.device,
    ranked: list[RankedArchitecture],
) -> list[RankedArchitecture]:
    """The best shared-weight model of each input format of ``space`` (the race's shortlist).

    A format among the ranked draws has its best there (its rank kept). For a format the
    controller no longer draws, ``cfg.format_draws`` distinct models are drawn with that format
    given (the other decisions sampled by the controller conditioned on it) and scored the same
    way; the best one is returned with rank 0. So the race sees every family the search has not
    ruled out on evidence, not only the one the controller collapsed onto.
    """
    if cfg.format_draws <= 0 or "span" not in space.decisions:
        return []
    score = _scorer(module, cfg, data, device)
    g = torch.Generator().manual_seed(cfg.seed + 29)
    out = []
    for fmt in space.decisions["span"]:
        of_fmt = [r for r in ranked if r.architecture.span == fmt]
        if of_fmt:
            out.append(of_fmt[0])
            continue
        drawn: dict[Architecture, dict[str, Any]] = {}
        invalid = module.policy.invalid_count  # a look-up, not the search: leave it alone
        try:
            with torch.no_grad():
                for _ in range(cfg.format_draws * 50):
                    if len(drawn) == cfg.format_draws:
                        break
                    s, _, _ = module.policy.sample(generator=g, given={"span": fmt})
                    drawn.setdefault(to_architecture(s, space).canonical(), s)
        except ControllerError as e:  # no valid model with this format: the others stand
            log.warning("format_draws: no valid architecture with span=%s (%s)", fmt, e)
        finally:
            module.policy.invalid_count = invalid
        if drawn:
            best = max(
                (score(canon, s) for canon, s in drawn.items()),
                key=lambda r: (r.score, r.probability),
            )
            out.append(best)
    return out


def write_format_best(best: list[RankedArchitecture], out: Path) -> None:
    """``format_best.json``: the best model of each input format, with how it was found."""
    # rank None: drawn for its format, not among the k draws
    rows = [{"span": r.architecture.span, "rank": r.rank or None, **r.row()} for r in best]
    atomic_write_json(out / "format_best.json", rows)


def _validation_words(cfg: SearchConfig) -> str:
    """What the ranking scored, in words (``ranking.md``)."""
    task = get_task(cfg.data.task)
    if not task.resamples:
        return (
            f"a stratified sample of {cfg.limit_dev}" if cfg.limit_dev else "all"
        ) + " validation examples"
    which = f"a seeded sample of {cfg.limit_dev}" if cfg.limit_dev else "all"
    return (
        f"the gold statements of {which} dev {task.unit}s with {task.negatives} sampled as "
        "for training (the pair metric)"
    )


def write_ranking(
    ranked: list[RankedArchitecture],
    cfg: SearchConfig,
    out: Path,
    step: int,
    sampling: dict[str, int] | None = None,
) -> None:
    arch_dir = out / "architectures"
    arch_dir.mkdir(parents=True, exist_ok=True)
    for old in arch_dir.glob("rank*.json"):
        old.unlink()
    for r in ranked[: cfg.top_k]:
        path = arch_dir / f"rank{r.rank}.json"
        r.architecture.save(
            path,
            meta={
                "rank": r.rank,
                "score": r.score,
                "probability": r.probability,
                "scores": r.scores,
                "metric": "validation score with the shared weights",
                "method": cfg.method,
                "space": cfg.space,
                "dataset": cfg.data.dataset,
                "encoder": cfg.data.encoder,
                "seed": cfg.seed,
                "search_steps": step,
            },
        )
        r.path = str(path)
    rows = [{"rank": r.rank, **r.row(), "exported": r.path} for r in ranked]
    atomic_write_json(out / "ranking.json", rows)
    sampling = sampling or {"requested": cfg.k, "distinct": len(ranked), "draws": len(ranked)}
    support = (
        f"{sampling['distinct']} functionally distinct architectures (de-duplicated on their "
        f"canonical form) from {sampling['draws']} draws of the trained controller"
        + (
            ""
            if sampling["distinct"] >= sampling["requested"]
            else f": fewer than the k = {sampling['requested']} asked, the controller's support "
            "allowed no more"
        )
    )
    lines = [
        f"# AutoRC search ranking — {cfg.method}, space {cfg.space}, {cfg.data.dataset}, "
        f"seed {cfg.seed}",
        "",
        f"{support}, after {step} search steps, "
        f"scored on {_validation_words(cfg)} with the shared weights (mean over weight "
        "copies); the top "
        f"{cfg.top_k} are exported to `architectures/`.",
        "",
        "| rank | score | probability | architecture |",
        "|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.rank} | {r.score:.4f} | {r.probability:.2e} | {r.architecture.short()} |"
        for r in ranked
    ]
    # the ranking is on disk before the importance is tried: its failure cannot lose the ranking
    atomic_write_text(out / "ranking.md", "\n".join(lines) + "\n")
    lines += ["", "## Decision importance", "", *write_importance(ranked, cfg, out)]
    atomic_write_text(out / "ranking.md", "\n".join(lines) + "\n")


IMPORTANCE_JSON = "importance.json"
IMPORTANCE_PNG = "importance.png"


def write_importance(ranked: list[RankedArchitecture], cfg: SearchConfig, out: Path) -> list[str]:
    """``importance.json`` / ``importance.png`` in ``out``: how much each free decision of
    ``cfg.space`` explains the shared-weight scores of the ranked candidates (fANOVA,
    :func:`autorc_nni.importance.decision_importance`). Returns the Markdown lines of the
    ranking's importance section; a failure is said there (and logged), never raised."""
    from autorc_nni.importance import decision_importance, importance_markdown, plot_importance
    from search_spaces.spaces import space_decisions

    for stale in (out / IMPORTANCE_JSON, out / IMPORTANCE_PNG):
        stale.unlink(missing_ok=True)
    try:
        result = decision_importance(
            [(r.architecture, r.score) for r in ranked],
            space_decisions(cfg.search_space),
            evaluator="fanova",
            seed=cfg.seed,
        )
        result["score"] = "validation score with the shared weights"
        result["space"] = cfg.space
        atomic_write_json(out / IMPORTANCE_JSON, result)
    except Exception as e:  # the ranking must survive any failure here
        log.warning("%s: decision importance failed: %s: %s", out, type(e).__name__, e)
        return [f"Not computed: the importance evaluation failed ({type(e).__name__}: {e})."]
    lines = [
        "How much each free decision of the space explains the variation of the "
        "shared-weight score over the ranked candidates.",
        "",
        *importance_markdown(result).rstrip("\n").split("\n"),
    ]
    try:
        plot_importance(
            result,
            out / IMPORTANCE_PNG,
            title=f"decision importance — {cfg.method}, space {cfg.space}, "
            f"{cfg.data.dataset} (n = {result['n']})",
        )
    except Exception as e:
        log.warning("%s: importance plot failed: %s: %s", out, type(e).__name__, e)
        return [*lines, "", f"(no chart: plotting failed, {type(e).__name__}: {e})"]
    return [*lines, "", f"![decision importance]({IMPORTANCE_PNG})"]


# -- building blocks ----------------------------------------------------------------------------
def build_supernet(cfg: SearchConfig, encoder: torch.nn.Module, num_labels: int) -> Any:
    """The supernet of ``cfg``: its space, and the sharing and copies of its method."""
    from search_spaces.supernet import AutoRCSupernet

    return AutoRCSupernet(
        encoder,
        num_labels,
        space=cfg.search_space,
        sharing=get_method(cfg.method).sharing,
        copies=cfg.num_copies,
        max_len=cfg.max_len,
        dropout=cfg.dropout,
        pooler_kwargs=copy.deepcopy(cfg.pooler_kwargs) or None,
    )


def build_strategy(cfg: SearchConfig, steps_per_epoch: int) -> AutoRCStrategy:
    """The strategy of ``cfg``; warm-ups given in epochs become steps of ``steps_per_epoch``."""
    return AutoRCStrategy(
        method=cfg.method,
        space=cfg.search_space,
        search_warmup_steps=round(cfg.warmup_epochs * steps_per_epoch),
        copies=cfg.num_copies,
        child_steps=cfg.child_steps,
        controller_lr=cfg.controller_lr,
        controller_hidden=cfg.controller_hidden,
        temperature=cfg.temperature,
        tanh_constant=cfg.tanh_constant,
        entropy_weight=cfg.entropy_weight,
        baseline_decay=cfg.baseline_decay,
        grad_clip=cfg.grad_clip or None,
        seed=cfg.seed,
    )


# -- the run ------------------------------------------------------------------------------------
def run_search(
    cfg: SearchConfig, on_step: Callable[[int, dict[str, Any]], None] | None = None
) -> SearchResult:
    """Search, then rank and export (see the module docstring). Returns a :class:`SearchResult`.

    ``on_step(step, stats)`` (optional) is called after every search step with the step's
    ``reward``, ``baseline``, ``advantage``, ``entropy``, ``loss``, ``child_loss``, ``sample``...
    """
    return SearchStage(cfg, on_step).run()


class SearchStage(Stage[SearchConfig, SearchResult]):
    """The search stage (:class:`autorc_nni.stage.Stage`): the supernet and its controller
    trained by the strategy, then the k draws ranked and the top exported."""

    kind = "search"
    resume_free = frozenset(_RESUME_FREE)
    # keys added on 2026-12-08, at what searches did before: the whole space, the task's
    # negatives, ungrouped child batches
    added_keys = {"restrict": {}, "negatives": None, "group_text": False}

    def __init__(
        self, cfg: SearchConfig, on_step: Callable[[int, dict[str, Any]], None] | None = None
    ) -> None:
        super().__init__(cfg)
        self.on_step = on_step
        self.space = cfg.search_space
        self.formats = _formats(self.space)

    def prepare(self, tokenizer: Any) -> _Data:
        return search_data(self.cfg, tokenizer, self.formats)

    def setup(self, data: _Data, encoder: torch.nn.Module, saved: dict[str, Any] | None) -> None:
        cfg = self.cfg
        self.data = data
        supernet = build_supernet(cfg, encoder, len(data.labels))
        self.steps_per_epoch = len(data.train) // (cfg.batch_size * cfg.child_steps)
        if self.steps_per_epoch < 1:
            raise AutoRCError(
                f"{len(data.train)} training examples are fewer than one search step "
                f"({cfg.child_steps} batches of {cfg.batch_size})"
            )
        self.total_steps = max(1, round(cfg.epochs * self.steps_per_epoch))
        self.start_step = int(saved["state"]["step"]) if saved else 0
        train, reward = self._batches()
        training_module = SupernetTrainingModule(
            data.labels,
            data.negative_label,
            data.metric,
            lr=cfg.shared_lr,
            weight_decay=cfg.weight_decay,
            warmup_steps=round(cfg.lr_warmup_epochs * self.steps_per_epoch * cfg.child_steps),
        )
        self.strategy = build_strategy(cfg, self.steps_per_epoch)
        accelerator = "gpu" if self.device.type == "cuda" else "cpu"
        self.strategy.prepare(supernet, make_evaluator(training_module, train, reward, accelerator))
        if saved:
            self.strategy.load_state_dict(saved["state"])

    def _batches(self) -> tuple[ChildBatches, RewardBatches]:
        """The child-training batches and the reward batches, from ``start_step`` on."""
        cfg, data = self.cfg, self.data
        # both: the same collation, seed and steps (from the resumed one)
        steps: dict[str, Any] = {"collate": data.collate, "seed": cfg.seed}
        steps |= {"total_steps": self.total_steps, "start_step": self.start_step}
        train = ChildBatches(
            data.train,
            cfg.batch_size,
            cfg.child_steps,
            lengths=data.train_lengths if cfg.bucket else None,
            epoch_rows=data.epoch_rows,
            groups=data.train_groups,
            **steps,
        )
        reward = RewardBatches(
            data.dev,
            cfg.batch_size * cfg.reward_batch_mult,
            lengths=data.dev_lengths if cfg.bucket else None,
            piece_size=cfg.batch_size,
            **steps,
        )
        return train, reward

    def loop(self) -> SearchResult:
        cfg = self.cfg
        module = self.strategy.oneshot_module
        logger = _StepLogger(cfg, self.out, self.start_step, self.total_steps, self.on_step)
        module.on_step = logger
        module.stop_after = cfg.stop_after_steps
        t0 = time.perf_counter()
        try:
            if self.start_step < self.total_steps:
                self.strategy.fit()
        finally:
            logger.close()
        seconds = time.perf_counter() - t0
        module = self.strategy.oneshot_module
        completed = module.step >= self.total_steps
        result = SearchResult(
            out=self.out,
            completed=completed,
            steps=module.step,
            steps_per_epoch=self.steps_per_epoch,
            search_seconds=seconds,
            controller_state={
                k: v.detach().cpu().clone() for k, v in module.controller.state_dict().items()
            },
        )
        if not completed:  # stopped as if killed: only the periodic checkpoints exist
            result.peak_rss_mb = peak_rss_mb()
            return result
        if self.start_step < self.total_steps:
            save_checkpoint(module, cfg, self.out)
        return self._finish(module, result)

    def _finish(self, module: AutoRCLightningModule, result: SearchResult) -> SearchResult:
        """Rank the k draws with the shared weights, export the top, write summary.json."""
        cfg, data, space, out = self.cfg, self.data, self.space, self.out
        module.to(self.device)
        ranked, sampling = rank_architectures(module, cfg, data, space, self.device)
        write_ranking(ranked, cfg, out, module.step, sampling)
        result.ranking = ranked
        if cfg.format_draws:
            result.format_best = format_bests(module, cfg, data, space, self.device, ranked)
            write_format_best(result.format_best, out)
        result.probabilities = {
            k: {str(o): p for o, p in d.items()} for k, d in module.policy.probabilities().items()
        }
        result.peak_rss_mb = peak_rss_mb()
        summary = {
            "config": to_dict(cfg),
            "steps": module.step,
            "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps,
            "search_warmup_steps": module.search_warmup_steps,
            "copies": cfg.num_copies,
            "search_seconds_this_process": result.search_seconds,
            "invalid_samples": module.policy.invalid_count,
            "baseline": module.rl.baseline,
            "greedy_architecture": to_architecture(module.policy.greedy(), space).to_dict(),
            "probabilities": result.probabilities,
            "top": [{"rank": r.rank, "score": r.score, "path": r.path} for r in result.top],
            "sampling": sampling,
            "data": data.report,
            # what the reward and the ranking read: rows, and of them not the negative label
            "validation_rows": len(data.dev),
            "validation_positives": sum(
                data.negative_label not in data.labels
                or int(r["label"]) != data.labels.index(data.negative_label)
                for r in data.dev
            ),
            "labels": data.labels,
            "negative_label": data.negative_label,
            "format": data.format,
            "format_detected": data.format_detected,
            "peak_rss_mb": result.peak_rss_mb,
            "decisions": {k: [str(o) for o in v] for k, v in DECISIONS.items()},
            "task": cfg.data.task,
        }
        atomic_write_json(out / "summary.json", json.loads(json.dumps(summary, default=str)))
        if not math.isfinite(ranked[0].score):
            raise AutoRCError("the best architecture's score is not finite")
        return result
