"""Evaluation-phase training: fine-tune one fixed architecture from the pretrained encoder.

    from autorc_nni.finetune import train, train_config_from_dict
    result = train(train_config_from_dict({
        "arch": "bert-entity", "dataset": "semeval10", "encoder": "minilm",
        "lr": 2e-5, "batch_size": 32, "warmup": 0.8, "epochs": 3, "seed": 1, "out": "runs/be"}))

(or ``TrainConfig(arch=..., data=DataConfig(dataset=..., encoder=...), ...)``: the data keys
are the config's ``data`` section, :class:`autorc_nni.stage.DataConfig`). The run is a
:class:`autorc_nni.stage.Stage`: the skeleton locks ``out``, resumes, seeds and prepares the
data; :class:`FineTuning` fills in the model, the loop and the end.

The loop (docs/design.md §6): AdamW (no weight decay on biases and LayerNorm weights), linear
warm-up
over ``warmup`` × steps-per-epoch then linear decay to 0, gradient clipping, dev evaluation after
every epoch, the best model (by the dataset's metric on dev) kept in ``out/model``, then test with
that model. ``out`` receives:

- ``metrics.json``: dev and test metrics of the best model (score, micro/macro F1, accuracy,
  per-label P/R/F1; the official SemEval score for SemEval), the per-epoch history, throughput;
- ``test_predictions.jsonl``: rc one line per statement (id, gold, pred, prob), ner one line
  per sentence (gold and predicted entities), coref one per document (predicted clusters); for
  SemEval also the scorer-format files ``test_predictions.scorer.txt`` / ``test_key.scorer.txt``,
  for coreference ``test_predictions.conll`` and ``test_key.conll`` (CoNLL-2012, for the official
  ``scorer.pl``);
- ``tensorboard/``: train loss and learning rate per step, dev metrics per epoch;
- ``model/``: loadable with ``RCModel.from_pretrained``;
- ``checkpoint.pt``: everything needed to resume (model, optimizer, scheduler, RNG states,
  epoch, step within the epoch, best so far), written atomically every ``checkpoint_every``
  steps and at each epoch end; removed at the end unless ``keep_checkpoint``.

Determinism and resume: every random draw comes from seeded generators; the order of the
training batches of epoch ``e`` depends only on ``(seed, e)``, so a resumed run rebuilds that
order and skips the steps already done. A run killed at any point and restarted with
``resume=True`` ends with the same weights and metrics as an uninterrupted one (on CPU).
"""

from __future__ import annotations

import json
import logging
import math
import time
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from autorc_nni.architecture import Architecture, resolve_architecture
from autorc_nni.config import ConfigError, from_dict, to_dict
from autorc_nni.errors import AutoRCError
from autorc_nni.files import (
    atomic_torch_save,
    atomic_write_dir,
    atomic_write_lines,
    atomic_write_text,
)
from autorc_nni.stage import DataConfig, PreparedData, Stage, data_field, prepare_data
from autorc_nni.tasks import get_task
from autorc_nni.training import (
    build_optimizer,
    linear_warmup_decay,
    peak_rss_mb,
    preserved_rng,
    rng_state,
    set_rng_state,
    tell_progress,
    to_device,
)

log = logging.getLogger(__name__)

# Config fields that may differ between a run and its resumption.
_RESUME_FREE = {
    "resume",
    "device",
    "progress",
    "stop_after_steps",
    "pause_at",
    "keep_checkpoint",
    "checkpoint_every",
    "log_every",
    "heartbeat",
    "num_threads",
    "eval_batch_size",
    "strict",  # only refuses data: what loads is the same either way
}


@dataclass
class TrainConfig:
    """One fine-tuning run. Read from a mapping with :func:`train_config_from_dict`."""

    arch: str | dict[str, Any] = "bert-entity"  # preset name, architecture JSON path, or mapping
    # the task, the dataset and the encoder (autorc_nni.stage.DataConfig): task, dataset,
    # data_dir, format, negative_label, strict, splits, task_options, encoder
    data: DataConfig = data_field()
    lr: float | None = None  # peak lr; None: the encoder's measured one (minilm 2e-4), else 2e-5
    batch_size: int = 32  # training batch size
    warmup: float = 0.8  # linear warm-up length, in epochs (fraction of steps per epoch)
    epochs: int = 3  # training epochs
    seed: int = 42  # seeds model init, dropout and the data order
    out: str = "runs/train"  # output directory
    max_len: int = 256  # max wordpieces per example
    weight_decay: float = 0.01  # AdamW decay (not on biases and LayerNorm weights)
    grad_clip: float = 1.0  # max gradient norm; 0 disables clipping
    dropout: float = 0.1  # classifier dropout
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: cuda when available
    bf16: bool = False  # bfloat16 autocast (cuda only)
    eval_batch_size: int = 64  # batch size for dev/test
    bucket: bool = True  # length-bucketed training batches (less padding)
    # keep the statements that share a text (standard or levitated input) in one batch, so the
    # text is encoded once for all of them; None: the task's default (span NER yes; rc, coref no)
    group_text: bool | None = None
    pad_to: int | None = None  # pad every batch to this length (OpenNRE-style); None: dynamic
    resume: bool = False  # continue from out/checkpoint.pt
    # a seeded label-stratified sample of N training statements (per epoch)
    limit_train: int | None = None
    # seeded sample of N dev and N test units (statements/sentences/docs)
    limit_eval: int | None = None
    log_every: int = 1  # TensorBoard train loss/lr every N steps
    checkpoint_every: int = 200  # resumable checkpoint every N steps (0: only at epoch end)
    keep_checkpoint: bool = False  # keep checkpoint.pt after the run finishes
    progress: bool = True  # tqdm progress bar
    # seconds between two heartbeats to the progress listeners (autorc_nni.training)
    heartbeat: float = 15.0
    num_threads: int | None = None  # torch.set_num_threads; None leaves torch's default
    stop_after_steps: int | None = None  # stop abruptly after N steps, as if killed (for tests)
    # pause after this fraction of the full budget (epochs x steps): score dev there, keep the
    # checkpoint and return; a later run with a larger pause_at (or none) resumes from it and
    # ends as an unpaused run does (the race's rungs); None: train to the end
    pause_at: float | None = None

    def __post_init__(self) -> None:
        if self.pause_at is not None and not 0 < self.pause_at < 1:
            raise ConfigError(f"pause_at must be in (0, 1) when given, got {self.pause_at!r}")
        if self.lr is None:  # resolved here, so metrics.json records the value used
            from autorc_nni.encoders import recommended_setting

            self.lr = recommended_setting(self.data.encoder, "lr")
        positive = ("lr", "batch_size", "epochs", "max_len", "eval_batch_size", "log_every")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("warmup", "weight_decay", "grad_clip", "checkpoint_every", "heartbeat"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("limit_train", "limit_eval", "stop_after_steps", "pad_to", "num_threads"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ConfigError(f"{name} must be > 0 when given, got {v!r}")
        if self.pad_to is not None and self.pad_to > self.max_len:
            raise ConfigError(f"pad_to ({self.pad_to}) exceeds max_len ({self.max_len})")

    @property
    def peak_lr(self) -> float:
        """``lr`` as resolved (``__post_init__`` fills in the encoder's)."""
        assert self.lr is not None
        return self.lr


def train_config_from_dict(data: dict[str, Any], where: str = "train") -> TrainConfig:
    """A :class:`TrainConfig` from a mapping; unknown keys and bad values name the key."""
    return from_dict(TrainConfig, data, where)


# -- setup helpers ----------------------------------------------------------------------------


def _resolve_arch(spec: str | dict[str, Any]) -> Architecture:
    if isinstance(spec, dict):
        return Architecture.from_dict(spec, where="arch")
    return resolve_architecture(spec)


# -- data -------------------------------------------------------------------------------------


def training_data(cfg: TrainConfig, tokenizer: Any, arch: Architecture) -> PreparedData:
    """The task's statements featurized for ``arch.span`` (:func:`autorc_nni.stage.prepare_data`):
    training epoch 0's, dev and test."""
    get_task(cfg.data.task).check_span(arch.span)
    # seeded subsets (benchmark files are often sorted by label); the data seed is fixed, not
    # cfg.seed, so runs over seeds see the same dev/test examples
    return prepare_data(
        cfg.data,
        tokenizer,
        formats=(arch.span,),
        max_len=cfg.max_len,
        limit_train=cfg.limit_train,
        limit_eval=cfg.limit_eval,
        eval_seed=0,
        splits=lambda td: {
            "train": td.train_epoch(0, cfg.seed),
            "dev": td.statements["dev"],
            "test": td.statements["test"],
        },
    )


def epoch_loader(
    rows: Any, cfg: TrainConfig, formats: tuple[str, ...], epoch: int, skip: int = 0
) -> tuple[Iterator[dict], int]:
    """Training batches of ``epoch`` (order fixed by ``(seed, epoch)``), first ``skip`` left out.

    Returns ``(iterator, number of batches in the full epoch)``. Building it leaves the global
    RNGs untouched, so a resumed run draws the same dropout masks as an uninterrupted one.
    """
    from autorc_nni.batching import make_loader

    with preserved_rng():
        loader = make_loader(
            rows,
            batch_size=cfg.batch_size,
            formats=formats,
            shuffle=True,
            bucket=cfg.bucket,
            seed=cfg.seed * 1000 + epoch,
            max_len=cfg.max_len,
            groups=text_groups(rows, cfg, formats) if cfg.bucket else None,
        )
        batches = [list(b) for b in typing.cast(Iterable[list[int]], loader.batch_sampler)]
        plan = torch.utils.data.DataLoader(
            loader.dataset,
            batch_sampler=batches[skip:],
            collate_fn=_padded(loader.collate_fn, cfg.pad_to, cfg.max_len),
            generator=torch.Generator().manual_seed(0),
        )
        it = iter(plan)
    return it, len(batches)


def _padded(collate_fn: Callable, pad_to: int | None, max_len: int) -> Callable:
    """``collate_fn``, then every format padded on the right to ``pad_to`` tokens (as OpenNRE
    pads every batch to its max_length); the identity when ``pad_to`` is None."""
    if pad_to is None:
        return collate_fn

    def collate_padded(rows):
        return pad_batch(collate_fn(rows), pad_to, max_len)

    return collate_padded


def pad_batch(batch: dict[str, Any], pad_to: int, max_len: int, pad_id: int = 0) -> dict:
    """Pad each format of a collated batch to length ``pad_to`` (extra tokens masked out)."""
    for fmt, inputs in batch.items():
        if not isinstance(inputs, dict):
            continue
        ids = inputs["input_ids"]  # (B, L)
        extra = pad_to - ids.shape[1]
        if extra <= 0:
            continue
        B, L = ids.shape
        pos = torch.arange(pad_to)  # (P,)
        starts = inputs["spans"][:, :2, 0]  # (B, 2)
        batch[fmt] = {
            **inputs,
            "input_ids": torch.cat([ids, ids.new_full((B, extra), pad_id)], 1),  # (B, P)
            "attention_mask": torch.cat(
                [inputs["attention_mask"], ids.new_zeros((B, extra))], 1
            ),  # (B, P)
            "dist": (pos.view(1, 1, -1) - starts.unsqueeze(-1)).clamp(-max_len, max_len),
        }  # dist: (B, 2, P)
    return batch


class GroupsText(typing.Protocol):
    """What :func:`text_groups` reads of a config (a ``TrainConfig`` or the search's)."""

    data: DataConfig
    group_text: bool | None


def text_groups(rows: Any, cfg: GroupsText, formats: tuple[str, ...]) -> list | None:
    """Per row, the group its batch keeps together (``cfg.group_text`` of a training or a
    search; the search's child batches): the task's unit where
    its statements share one text (a sentence's candidate spans, a window's mention pairs),
    else the text itself (``autorc_nni.batching.text_keys``: the entity pairs of one sentence
    in relation classification); None when not grouping."""
    task = get_task(cfg.data.task)
    if not (task.groups_text if cfg.group_text is None else cfg.group_text):
        return None
    if task.groups_text:
        return [task.group_of(i) for i in rows["id"]]
    from autorc_nni.batching import text_keys

    return text_keys(rows, formats)


def eval_loader(rows: Any, cfg: TrainConfig, formats: tuple[str, ...]) -> Iterable[dict]:
    """Dev/test batches, sorted by length, a group's rows side by side (``text_groups``; the
    order does not matter: results are keyed by id)."""
    from autorc_nni.batching import make_loader

    loader = make_loader(
        rows,
        batch_size=cfg.eval_batch_size,
        formats=formats,
        shuffle=False,
        bucket=True,
        seed=0,
        max_len=cfg.max_len,
        groups=text_groups(rows, cfg, formats),
    )
    if cfg.pad_to is None:
        return loader
    return torch.utils.data.DataLoader(
        loader.dataset,
        batch_sampler=loader.batch_sampler,
        collate_fn=_padded(loader.collate_fn, cfg.pad_to, cfg.max_len),
    )


# -- evaluation -------------------------------------------------------------------------------


@torch.no_grad()
def predict_rows(
    model: nn.Module, loader: Iterable[dict], device: torch.device, bf16: bool = False
) -> dict[str, tuple[int, torch.Tensor]]:
    """Run the model over a loader: {example id: (gold label id, probabilities (C,))}."""
    was_training = model.training
    model.eval()
    out: dict[str, tuple[int, torch.Tensor]] = {}
    with preserved_rng():
        batches = list(loader)
    for batch in batches:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(to_device(batch, device))  # (B, C)
        probs = logits.float().softmax(-1).cpu()  # (B, C)
        for i, ex_id in enumerate(batch["ids"]):
            out[ex_id] = (int(batch["labels"][i]), probs[i])
    model.train(was_training)
    return out


def mean_log_loss(scored: dict[str, tuple[int, torch.Tensor]]) -> float | None:
    """The mean cross-entropy of the gold labels under ``scored``'s probabilities
    (``predict_rows``): a dev signal that still moves when every prediction is the negative
    label and the F1 is 0 (the race breaks ties of its rungs by it). None without statements."""
    if not scored:
        return None
    total = sum(-math.log(max(float(p[g]), 1e-12)) for g, p in scored.values())
    return total / len(scored)


# -- the loop ---------------------------------------------------------------------------------

# the dev metrics written to TensorBoard after each epoch (those the task reports)
_DEV_SCALARS = (
    "score",
    "micro_f1",
    "macro_f1",
    "accuracy",
    "semeval_official",
    "muc_f1",
    "b3_f1",
    "ceafe_f1",
    "conll_f1",
)


def train(cfg: TrainConfig, on_dev: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Fine-tune ``cfg.arch`` on ``cfg.data``; write ``cfg.out``; return the final metrics.

    ``on_dev(epoch, dev score)`` is called after each epoch's evaluation, once the epoch's
    checkpoint is written (Optuna pruning raises from it; the run then stops, resumable).

    The returned dict is what ``metrics.json`` holds: ``dev`` and ``test`` (metrics of the best
    model), ``best_epoch``, ``history`` (per epoch: dev score, mean train loss), ``throughput``,
    ``data`` (counts per split) and ``paths``. A run stopped by ``stop_after_steps`` returns
    ``{"stopped": True, "global_step": n}`` without writing metrics.
    """
    return FineTuning(cfg, on_dev).run()


class FineTuning(Stage[TrainConfig, dict[str, Any]]):
    """The fine-tuning stage (:class:`autorc_nni.stage.Stage`): one architecture trained from
    the pretrained encoder, dev after every epoch, the best model tested."""

    kind = "training"
    resume_free = frozenset(_RESUME_FREE)

    def __init__(self, cfg: TrainConfig, on_dev: Callable[[int, float], None] | None = None):
        super().__init__(cfg)
        self.on_dev = on_dev
        self.arch = _resolve_arch(cfg.arch)
        self.formats = (self.arch.span,)

    # -- the skeleton's parts
    def finished(self) -> dict[str, Any] | None:
        metrics_path = self.out / "metrics.json"
        if self.cfg.resume and not self.ckpt_path.exists() and metrics_path.exists():
            log.info("%s: run already finished; returning its metrics", self.out)
            return json.loads(metrics_path.read_text())
        return None

    def check(self) -> None:
        if self.cfg.bf16 and self.device.type != "cuda":
            raise ConfigError(
                "bf16 autocast needs a CUDA device (use --device cuda or drop --bf16)"
            )

    def prepare(self, tokenizer: Any) -> PreparedData:
        return training_data(self.cfg, tokenizer, self.arch)

    def setup(self, data: PreparedData, encoder: nn.Module, saved: dict[str, Any] | None) -> None:
        from autorc_nni.model import RCModel

        cfg = self.cfg
        self.data, self._rows_epoch = data, 0
        self.model = RCModel(
            self.arch,
            encoder,
            num_labels=len(data.labels),
            dropout=cfg.dropout,
            labels=data.labels,
            tokenizer=data.featurizer.tokenizer,
            max_len=cfg.max_len,
            task=cfg.data.task,
            task_options=data.task.kind.saved_options(data.task),
        ).to(self.device)
        self.optimizer = build_optimizer(self.model, cfg.peak_lr, cfg.weight_decay)
        _, self.steps_per_epoch = epoch_loader(data.rows["train"], cfg, self.formats, epoch=0)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        warmup = max(1, round(cfg.warmup * self.steps_per_epoch)) if cfg.warmup > 0 else 0
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, linear_warmup_decay(warmup, self.total_steps)
        )
        self.state: dict[str, Any] = {
            "epoch": 0,
            "step_in_epoch": 0,
            "global_step": 0,
            "best_score": -math.inf,
            "best_epoch": -1,
            "history": [],
            "train_seconds": 0.0,
            "train_sentences": 0,
            "epoch_loss_sum": 0.0,
            "pauses": {},  # global step -> dev score where a run paused there (pause_at)
            "pause_losses": {},  # global step -> dev mean log loss there
        }
        if saved is not None:
            self.model.load_state_dict(saved["model"])
            self.optimizer.load_state_dict(saved["optimizer"])
            self.scheduler.load_state_dict(saved["scheduler"])
            self.state.update(saved["state"])
            set_rng_state(saved["rng"])
        # at least one step (a small budget's first rung may round to none)
        self.pause_step = (
            max(1, round(cfg.pause_at * self.total_steps)) if cfg.pause_at is not None else None
        )
        self.use_bf16 = cfg.bf16 and self.device.type == "cuda"
        self.best_dev: tuple[dict, float] | None = None  # the best epoch's dev (predictions, s)

    def loop(self) -> dict[str, Any]:
        from torch.utils.tensorboard import SummaryWriter

        cfg, state = self.cfg, self.state
        if self.pause_step is not None and state["global_step"] >= self.pause_step:
            # paused here (or beyond) before: its dev score is saved. A checkpoint taken at
            # the rung's own step at an epoch's end (checkpoint_every divides it) and killed
            # before the epoch's end was scored goes on: the loop scores that epoch's end and
            # pauses there, as the unkilled run did
            at_epoch_end = state["step_in_epoch"] == self.steps_per_epoch
            unscored = str(self.pause_step) not in state["pauses"]
            if not (state["global_step"] == self.pause_step and at_epoch_end and unscored):
                return self._paused()
        self.writer = SummaryWriter(
            str(self.out / "tensorboard"), purge_step=state["global_step"] or None
        )
        self.dev_loader = eval_loader(self.data.rows["dev"], cfg, self.formats)
        self.bar = _progress(cfg, self.total_steps, state["global_step"])
        self.beat = time.monotonic()  # the last heartbeat
        try:
            self.model.train()
            while state["epoch"] < cfg.epochs:
                stopped = self._epoch() or self._end_epoch()
                if stopped is not None:  # killed (stop_after_steps) or paused (pause_at)
                    return stopped
        finally:
            if self.bar is not None:
                self.bar.close()
            self.writer.flush()
        result = self._finish()
        self.writer.close()
        if not cfg.keep_checkpoint:
            self.ckpt_path.unlink(missing_ok=True)
        return result

    # -- one epoch
    def _epoch(self) -> dict[str, Any] | None:
        """The training steps of the current epoch; a result when the run stops inside it."""
        cfg, state = self.cfg, self.state
        epoch = state["epoch"]
        rows = self._train_rows(epoch)
        batches, _ = epoch_loader(rows, cfg, self.formats, epoch, skip=state["step_in_epoch"])
        t0 = time.perf_counter()
        for batch in batches:
            loss = self._step(batch, epoch)
            step = state["global_step"]
            if time.monotonic() - self.beat >= cfg.heartbeat:
                self._heartbeat("train", epoch, loss, t0)
            if cfg.stop_after_steps is not None and step >= cfg.stop_after_steps:
                state["train_seconds"] += time.perf_counter() - t0
                self.writer.flush()
                return {"stopped": True, "global_step": step}
            if step == self.pause_step and state["step_in_epoch"] < self.steps_per_epoch:
                # a rung inside an epoch: score dev, keep the checkpoint, pause (dev is scored
                # without touching the RNGs, the best model or the history, so the run resumes
                # into exactly the training an unpaused run does)
                state["train_seconds"] += time.perf_counter() - t0
                self._heartbeat("dev", epoch, loss, time.perf_counter())
                scored = predict_rows(self.model, self.dev_loader, self.device, self.use_bf16)
                state["pauses"][str(step)] = self.data.task.score("dev", scored)[0]["score"]
                state.setdefault("pause_losses", {})[str(step)] = mean_log_loss(scored)
                self._save_checkpoint()
                return self._paused()
            if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                state["train_seconds"] += time.perf_counter() - t0
                self._save_checkpoint()
                t0 = time.perf_counter()
        state["train_seconds"] += time.perf_counter() - t0
        return None

    def _step(self, batch: dict[str, Any], epoch: int) -> float:
        """One optimizer step on ``batch``; returns its loss."""
        cfg, state = self.cfg, self.state
        batch = to_device(batch, self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16):
            logits = self.model(batch)  # (B, C)
        loss = nn.functional.cross_entropy(logits.float(), batch["labels"])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        lr = self.optimizer.param_groups[0]["lr"]  # the rate this step used
        self.optimizer.step()
        self.scheduler.step()
        state["step_in_epoch"] += 1
        state["global_step"] += 1
        state["train_sentences"] += len(batch["ids"])
        loss_value = loss.item()
        state["epoch_loss_sum"] += loss_value
        step = state["global_step"]
        if step % cfg.log_every == 0:
            self.writer.add_scalar("train/loss", loss_value, step)
            self.writer.add_scalar("train/lr", lr, step)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(epoch=epoch + 1, loss=f"{loss_value:.4f}")
        return loss_value

    def _end_epoch(self) -> dict[str, Any] | None:
        """Dev evaluation, the best model, the checkpoint; a result when the run pauses here."""
        state, writer = self.state, self.writer
        epoch = state["epoch"]
        self._heartbeat("dev", epoch, None, time.perf_counter())
        t_dev = time.perf_counter()
        dev_scored = predict_rows(self.model, self.dev_loader, self.device, self.use_bf16)
        dev_seconds = time.perf_counter() - t_dev
        dev, _, _ = self.data.task.score("dev", dev_scored)
        mean_loss = state["epoch_loss_sum"] / max(1, state["step_in_epoch"])
        for key in _DEV_SCALARS:
            if key in dev:
                writer.add_scalar(f"dev/{key}", dev[key], epoch + 1)
        writer.add_scalar("train/epoch_loss", mean_loss, epoch + 1)
        state["history"].append(
            {
                "epoch": epoch + 1,
                "dev_score": dev["score"],
                "train_loss": mean_loss,
                "global_step": state["global_step"],
            }
        )
        if dev["score"] > state["best_score"]:
            state["best_score"], state["best_epoch"] = dev["score"], epoch + 1
            _save_model_dir(self.model, self.out / "model")
            self.best_dev = (dev_scored, dev_seconds)  # the saved model's dev predictions
        if self.bar is not None:
            self.bar.write(
                f"epoch {epoch + 1}: dev {self.data.task.metric} = {dev['score']:.4f} "
                f"(best {state['best_score']:.4f} @ epoch {state['best_epoch']})"
            )
        state["epoch"] += 1
        state["step_in_epoch"] = 0
        state["epoch_loss_sum"] = 0.0
        paused = state["global_step"] == self.pause_step  # a rung at an epoch's end
        if paused:
            state["pauses"][str(self.pause_step)] = dev["score"]
            state.setdefault("pause_losses", {})[str(self.pause_step)] = mean_log_loss(dev_scored)
        self._save_checkpoint()
        if self.on_dev is not None:
            self.on_dev(epoch + 1, dev["score"])
        return self._paused() if paused else None

    def _train_rows(self, epoch: int) -> Any:
        """The featurized training statements of ``epoch`` (rc: the same every epoch; ner and
        coref draw their negatives afresh)."""
        data = self.data
        if not data.task.kind.resamples or epoch == self._rows_epoch:
            return data.rows["train"]
        data.rows["train"], self._rows_epoch = data.featurize_epoch(epoch, self.cfg.seed), epoch
        return data.rows["train"]

    def _heartbeat(self, phase: str, epoch: int, loss: float | None, t0: float) -> None:
        """Tell the progress listeners where the run is (phase: train, dev)."""
        state = self.state
        self.beat = time.monotonic()
        spent = state["train_seconds"] + time.perf_counter() - t0
        tell_progress(
            {
                "out": str(self.out),
                "phase": phase,
                "epoch": epoch + 1,
                "epochs": self.cfg.epochs,
                "step": state["global_step"],
                "steps": self.total_steps,
                "loss": loss,
                "sentences_per_s": state["train_sentences"] / spent if spent > 0 else None,
            }
        )

    def _save_checkpoint(self) -> None:
        atomic_torch_save(
            {
                "config": to_dict(self.cfg),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "state": dict(self.state),
                "rng": rng_state(),
            },
            self.ckpt_path,
        )

    # -- the end
    def _paused(self) -> dict[str, Any]:
        """What a run paused at ``pause_step`` (``cfg.pause_at``) returns: its dev score there."""
        cfg, state, step = self.cfg, self.state, self.pause_step
        score = state["pauses"].get(str(step))
        if score is None:
            raise AutoRCError(
                f"{cfg.out}: the run is past step {step} of pause_at={cfg.pause_at} but never "
                "paused there; resume it with a later pause_at, or without one"
            )
        return {
            "paused": True,
            "pause_at": cfg.pause_at,
            "global_step": step,
            "metric": self.data.task.metric,
            "dev": {"score": score, "loss": state.get("pause_losses", {}).get(str(step))},
            "throughput": {
                "train_seconds": state["train_seconds"],
                "train_sentences": state["train_sentences"],
            },
        }

    def _finish(self) -> dict[str, Any]:
        """Score the best model on dev and test; write predictions and metrics.json."""
        state = self.state
        tell_progress(
            {
                "out": str(self.out),
                "phase": "test",
                "epoch": state["epoch"],
                "epochs": self.cfg.epochs,
                "step": state["global_step"],
                "steps": state["global_step"],
                "loss": None,
                "sentences_per_s": None,
            }
        )
        results, paths = self._test()
        seconds = state["train_seconds"]
        data = self.data
        result = {
            "dev": results["dev"],
            "test": results["test"],
            "metric": data.task.metric,
            "best_epoch": state["best_epoch"],
            "history": state["history"],
            "throughput": {
                "train_seconds": seconds,
                "train_sentences": state["train_sentences"],
                "train_sentences_per_s": state["train_sentences"] / seconds if seconds else None,
                "peak_rss_mb": peak_rss_mb(),
            },
            "data": data.report,
            "labels": data.labels,
            "negative_label": data.negative_label,  # the one used (None: micro-F1 over all)
            "format": data.task.format,
            "format_detected": bool(data.task.format_detected),
            "task": self.cfg.data.task,
            "config": to_dict(self.cfg),
            "paths": paths,
        }
        atomic_write_text(self.out / "metrics.json", json.dumps(result, indent=2) + "\n")
        return result

    def _test(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The best model's dev and test metrics, and the paths of the files written. Dev is
        not decoded again when this process scored the saved model on it (NER and coreference
        decode every candidate)."""
        from autorc_nni.model import RCModel

        out, data = self.out, self.data
        best = RCModel.from_pretrained(out / "model").to(self.device)
        results: dict[str, Any] = {}
        records: dict[str, list] = {}
        decoded: dict[str, Any] = {}
        for split in ("dev", "test"):
            if split == "dev" and self.best_dev is not None:
                scored, seconds = self.best_dev
            else:
                t0 = time.perf_counter()
                loader = eval_loader(data.rows[split], self.cfg, self.formats)
                scored = predict_rows(best, loader, self.device, self.use_bf16)
                seconds = time.perf_counter() - t0
            results[split], records[split], decoded[split] = data.task.score(split, scored)
            results[split]["loss"] = mean_log_loss(scored)
            results[split]["eval_sentences_per_s"] = len(scored) / seconds if seconds > 0 else None
        predictions = out / "test_predictions.jsonl"
        atomic_write_lines(predictions, (json.dumps(r) for r in records["test"]))
        paths = {
            "model": str(out / "model"),
            "predictions": str(predictions),
            "tensorboard": str(out / "tensorboard"),
        }
        # the files the task's official scorer reads
        paths |= data.task.kind.write_test_files(data.task, records["test"], decoded["test"], out)
        return results, paths


def _save_model_dir(model: Any, path: Path) -> None:
    atomic_write_dir(path, model.save_pretrained)


def _progress(cfg: TrainConfig, total: int, initial: int) -> Any:
    if not cfg.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="train", unit="step", dynamic_ncols=True)
