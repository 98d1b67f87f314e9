"""Evaluation-phase training: fine-tune one fixed architecture from the pretrained encoder.

    from autorc_nni.finetune import TrainConfig, train
    result = train(TrainConfig(arch="bert-entity", dataset="semeval10", encoder="minilm",
                               lr=2e-5, batch_size=32, warmup=0.8, epochs=3, seed=1,
                               out="runs/be"))

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

import contextlib
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from autorc_nni.architecture import Architecture, resolve_architecture
from autorc_nni.config import ConfigError, from_dict
from autorc_nni.errors import AutoRCError
from autorc_nni.files import (
    atomic_torch_save,
    atomic_write_dir,
    atomic_write_lines,
    atomic_write_text,
)
from autorc_nni.tasks import TaskData, TaskOptions, check_task, get_task
from autorc_nni.training import (
    build_optimizer,
    check_resumable,
    linear_warmup_decay,
    load_checkpoint,
    peak_rss_mb,
    preserved_rng,
    resolve_device,
    rng_state,
    seed_everything,
    set_rng_state,
    tell_progress,
    to_device,
)

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
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
    task: str = "rc"  # rc | ner (span NER) | coref (mention pairs); see autorc_nni.tasks
    dataset: str = "semeval10"  # registered dataset name, or a directory with train/dev/test
    data_dir: str | None = None  # data root for named datasets (default $AUTORC_DATA_DIR)
    format: str | None = None  # reader for a dataset directory (e.g. "opennre", "tacred")
    # None: the dataset's (found in a folder's labels); "none": no negative label
    negative_label: str | None = None
    # refuse records that cannot be relation statements (else dropped, counted)
    strict: bool = False
    # coref: a folder of {train,dev,test}.ids naming documents of the dataset folder
    splits: str | None = None
    task_options: TaskOptions = field(default_factory=TaskOptions)  # ner / coref options
    encoder: str = "minilm"  # encoder short name ("minilm", "tiny"), HF name or local path
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
        check_task(self.task)
        if self.pause_at is not None and not 0 < self.pause_at < 1:
            raise ConfigError(f"pause_at must be in (0, 1) when given, got {self.pause_at!r}")
        if self.lr is None:  # resolved here, so metrics.json records the value used
            from autorc_nni.encoders import recommended_setting

            self.lr = recommended_setting(self.encoder, "lr")
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


def train_config_from_dict(data: dict[str, Any], where: str = "train") -> TrainConfig:
    """A :class:`TrainConfig` from a mapping; unknown keys and bad values name the key."""
    return from_dict(TrainConfig, data, where)


# -- setup helpers ----------------------------------------------------------------------------


def _resolve_arch(spec: str | dict[str, Any]) -> Architecture:
    if isinstance(spec, dict):
        return Architecture.from_dict(spec, where="arch")
    return resolve_architecture(spec)


# -- data -------------------------------------------------------------------------------------


@dataclass
class PreparedData:
    """Everything the loop needs from the data side."""

    labels: list[str]
    negative_label: str | None
    metric: str
    rows: dict[str, Any]  # split -> featurized rows (train: epoch 0's)
    examples: dict[str, list]  # split -> the statements (train: epoch 0's)
    report: dict[str, Any]  # split -> counts (statements, truncated, dropped; task counts)
    task: TaskData | None = None
    featurizer: Any = None
    _train_epoch: int = 0

    def train_rows(self, epoch: int, seed: int):
        """The featurized training statements of ``epoch`` (rc: the same every epoch; ner and
        coref draw their negatives afresh)."""
        if self.task is None or not self.task.kind.resamples or epoch == self._train_epoch:
            return self.rows["train"]
        fs = self.featurizer.featurize(self.task.train_epoch(epoch, seed), _label2id(self.labels))
        self.rows["train"], self._train_epoch = fs.rows, epoch
        return fs.rows

    def score(self, split: str, scored: dict[str, tuple[int, torch.Tensor]]):
        """``(metrics, records, decoded)`` of ``split`` (see ``TaskData.score``)."""
        return self.task.score(split, scored)


def _label2id(labels: list[str]) -> dict[str, int]:
    return {lab: i for i, lab in enumerate(labels)}


def prepare_data(cfg: TrainConfig, tokenizer, arch: Architecture) -> PreparedData:
    """Load the task's statements (``autorc_nni.tasks``) and featurize them for ``arch.span``."""
    from autorc_nni.featurize import Featurizer
    from autorc_nni.tasks import get_task, load_task_data

    get_task(cfg.task).check_span(arch.span)
    # seeded subsets (benchmark files are often sorted by label); the data seed is fixed, not
    # cfg.seed, so runs over seeds see the same dev/test examples
    td = load_task_data(
        cfg.task,
        cfg.dataset,
        fmt=cfg.format,
        data_root=cfg.data_dir,
        negative_label=cfg.negative_label,
        splits=cfg.splits,
        limit_train=cfg.limit_train,
        limit_eval=cfg.limit_eval,
        eval_seed=0,
        options=cfg.task_options,
        max_len=cfg.max_len,
        strict=cfg.strict,
    )
    label2id = _label2id(td.labels)
    feat = Featurizer(tokenizer, max_len=cfg.max_len, formats=(arch.span,))
    statements = {
        "train": td.train_epoch(0, cfg.seed),
        "dev": td.statements["dev"],
        "test": td.statements["test"],
    }
    rows, report = {}, {}
    for split in ("train", "dev", "test"):
        fs = feat.featurize(statements[split], label2id)
        rows[split] = fs.rows
        report[split] = {
            "examples": len(statements[split]),
            "featurized": len(fs.rows),
            "truncated": int(fs.truncated),
            "dropped": dict(fs.dropped),
            **td.read_drops(split),
            **({"task": td.report[split]} if split in td.report else {}),
        }
        if len(fs.rows) == 0:
            raise AutoRCError(f"dataset {cfg.dataset!r}: no {split} example survived featurization")
    return PreparedData(
        labels=list(td.labels),
        negative_label=td.negative_label,
        metric=td.metric,
        rows=rows,
        examples=statements,
        report=report,
        task=td,
        featurizer=feat,
    )


def epoch_loader(
    rows, cfg: TrainConfig, formats: tuple[str, ...], epoch: int, skip: int = 0
) -> tuple[Iterator[dict], int]:
    """Training batches of ``epoch`` (order fixed by ``(seed, epoch)``), first ``skip`` left out.

    Returns ``(iterator, number of batches in the full epoch)``. Building it leaves the global
    RNGs untouched, so a resumed run draws the same dropout masks as an uninterrupted one.
    """
    from autorc_nni.batching import make_loader

    with preserved_rng():
        groups = None
        task = get_task(cfg.task)
        if task.groups_text and cfg.bucket:  # a sentence's spans together: one encoder pass
            groups = [task.group_of(i) for i in rows["id"]]
        loader = make_loader(
            rows,
            batch_size=cfg.batch_size,
            formats=formats,
            shuffle=True,
            bucket=cfg.bucket,
            seed=cfg.seed * 1000 + epoch,
            max_len=cfg.max_len,
            groups=groups,
        )
        batches = [list(b) for b in loader.batch_sampler]
        plan = torch.utils.data.DataLoader(
            loader.dataset,
            batch_sampler=batches[skip:],
            collate_fn=_padded(loader.collate_fn, cfg.pad_to, cfg.max_len),
            generator=torch.Generator().manual_seed(0),
        )
        it = iter(plan)
    return it, len(batches)


def _padded(collate_fn, pad_to: int | None, max_len: int):
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


def eval_loader(rows, cfg: TrainConfig, formats: tuple[str, ...]):
    """Dev/test batches, sorted by length (the order does not matter: results are keyed by id)."""
    from autorc_nni.batching import make_loader

    loader = make_loader(
        rows,
        batch_size=cfg.eval_batch_size,
        formats=formats,
        shuffle=False,
        bucket=True,
        seed=0,
        max_len=cfg.max_len,
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
    model: nn.Module, loader, device: torch.device, bf16: bool = False
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


def score_predictions(
    scored: dict[str, tuple[int, torch.Tensor]], examples: list, data: PreparedData
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Metrics and per-example records of rc statements ``examples``.

    An example the featurizer dropped (its entities do not fit in ``max_len``) has no
    prediction: it is scored as a prediction of the negative label (the first label when the set
    has none), so it still counts in recall, and its record has ``"dropped": true``.
    """
    td = TaskData("rc", list(data.labels), data.negative_label, data.metric, {"x": list(examples)})
    metrics, records, _ = td.score("x", scored)
    return metrics, records


# -- checkpoints ------------------------------------------------------------------------------


def _save_model_dir(model, path: Path) -> None:
    atomic_write_dir(path, model.save_pretrained)


# -- the loop ---------------------------------------------------------------------------------


def train(cfg: TrainConfig, on_dev: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Fine-tune ``cfg.arch`` on ``cfg.dataset``; write ``cfg.out``; return the final metrics.

    ``on_dev(epoch, dev score)`` is called after each epoch's evaluation, once the epoch's
    checkpoint is written (Optuna pruning raises from it; the run then stops, resumable).

    The returned dict is what ``metrics.json`` holds: ``dev`` and ``test`` (metrics of the best
    model), ``best_epoch``, ``history`` (per epoch: dev score, mean train loss), ``throughput``,
    ``data`` (counts per split) and ``paths``. A run stopped by ``stop_after_steps`` returns
    ``{"stopped": True, "global_step": n}`` without writing metrics.
    """
    from autorc_nni.files import run_dir_lock

    with _hf_progress_off(), run_dir_lock(cfg.out, "training"):
        return _train(cfg, on_dev)


@contextlib.contextmanager
def _hf_progress_off() -> Iterator[None]:
    """Silence transformers' own progress bars (model save/load) under ours."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def _train(cfg: TrainConfig, on_dev: Callable[[int, float], None] | None) -> dict[str, Any]:
    from autorc_nni.encoders import load_encoder
    from autorc_nni.model import RCModel

    out = Path(cfg.out)
    ckpt_path = out / CHECKPOINT
    metrics_path = out / "metrics.json"
    if cfg.resume and not ckpt_path.exists() and metrics_path.exists():
        log.info("%s: run already finished; returning its metrics", out)
        return json.loads(metrics_path.read_text())
    if not cfg.resume and ckpt_path.exists():
        raise AutoRCError(
            f"{out} holds an unfinished run ({CHECKPOINT}); pass --resume to continue it "
            "or choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    device = resolve_device(cfg.device)
    if cfg.bf16 and device.type != "cuda":
        raise ConfigError("bf16 autocast needs a CUDA device (use --device cuda or drop --bf16)")
    arch = _resolve_arch(cfg.arch)
    formats = (arch.span,)

    seed_everything(cfg.seed)
    tokenizer, encoder = load_encoder(cfg.encoder, seed=cfg.seed)
    data = prepare_data(cfg, tokenizer, arch)
    model = RCModel(
        arch,
        encoder,
        num_labels=len(data.labels),
        dropout=cfg.dropout,
        labels=data.labels,
        tokenizer=tokenizer,
        max_len=cfg.max_len,
        task=cfg.task,
        task_options=data.task.kind.saved_options(data.task) if data.task is not None else {},
    ).to(device)
    optimizer = build_optimizer(model, cfg.lr, cfg.weight_decay)

    _, steps_per_epoch = epoch_loader(data.rows["train"], cfg, formats, epoch=0)
    total_steps = steps_per_epoch * cfg.epochs
    warmup_steps = max(1, round(cfg.warmup * steps_per_epoch)) if cfg.warmup > 0 else 0
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, linear_warmup_decay(warmup_steps, total_steps)
    )
    state = {
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
    }
    if cfg.resume and ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path)
        check_resumable(ckpt["config"], dataclasses.asdict(cfg), _RESUME_FREE, ckpt_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        state.update(ckpt["state"])
        set_rng_state(ckpt["rng"])
        log.info(
            "resumed from %s at epoch %d step %d", ckpt_path, state["epoch"], state["step_in_epoch"]
        )

    def save_checkpoint() -> None:
        atomic_torch_save(
            {
                "config": dataclasses.asdict(cfg),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "state": dict(state),
                "rng": rng_state(),
            },
            ckpt_path,
        )

    # at least one step (a small budget's first rung may round to none)
    pause_step = max(1, round(cfg.pause_at * total_steps)) if cfg.pause_at is not None else None
    if pause_step is not None and state["global_step"] >= pause_step:
        # paused here (or beyond) before: the rung's dev score is in the checkpoint
        return _paused(cfg, state, pause_step, data.metric)

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(out / "tensorboard"), purge_step=state["global_step"] or None)
    dev_loader = eval_loader(data.rows["dev"], cfg, formats)
    loss_fn = nn.CrossEntropyLoss()
    bar = _progress(cfg, total_steps, state["global_step"])
    use_bf16 = cfg.bf16 and device.type == "cuda"
    best_dev = None  # (dev predictions, seconds) of the best epoch, when it ran in this process
    beat = time.monotonic()  # the last heartbeat

    def heartbeat(phase: str, epoch: int, loss: float | None, t0: float) -> None:
        """Tell the progress listeners where the run is (phase: train, dev)."""
        nonlocal beat
        beat = time.monotonic()
        spent = state["train_seconds"] + time.perf_counter() - t0
        tell_progress(
            {
                "out": str(out),
                "phase": phase,
                "epoch": epoch + 1,
                "epochs": cfg.epochs,
                "step": state["global_step"],
                "steps": total_steps,
                "loss": loss,
                "sentences_per_s": state["train_sentences"] / spent if spent > 0 else None,
            }
        )

    try:
        model.train()
        while state["epoch"] < cfg.epochs:
            epoch = state["epoch"]
            batches, _ = epoch_loader(
                data.train_rows(epoch, cfg.seed), cfg, formats, epoch, skip=state["step_in_epoch"]
            )
            t0 = time.perf_counter()
            for batch in batches:
                batch = to_device(batch, device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                    logits = model(batch)  # (B, C)
                loss = loss_fn(logits.float(), batch["labels"])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                lr = optimizer.param_groups[0]["lr"]  # the rate this step used
                optimizer.step()
                scheduler.step()
                state["step_in_epoch"] += 1
                state["global_step"] += 1
                state["train_sentences"] += len(batch["ids"])
                loss_value = loss.item()
                state["epoch_loss_sum"] += loss_value
                step = state["global_step"]
                if step % cfg.log_every == 0:
                    writer.add_scalar("train/loss", loss_value, step)
                    writer.add_scalar("train/lr", lr, step)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=epoch + 1, loss=f"{loss_value:.4f}")
                if time.monotonic() - beat >= cfg.heartbeat:
                    heartbeat("train", epoch, loss_value, t0)
                if cfg.stop_after_steps is not None and step >= cfg.stop_after_steps:
                    state["train_seconds"] += time.perf_counter() - t0
                    writer.flush()
                    return {"stopped": True, "global_step": step}
                if step == pause_step and state["step_in_epoch"] < steps_per_epoch:
                    # a rung inside an epoch: score dev, keep the checkpoint, pause (dev is
                    # scored without touching the RNGs, the best model or the history, so the
                    # run resumes into exactly the training an unpaused run does)
                    state["train_seconds"] += time.perf_counter() - t0
                    heartbeat("dev", epoch, loss_value, time.perf_counter())
                    dev_metrics, _, _ = data.score(
                        "dev", predict_rows(model, dev_loader, device, use_bf16)
                    )
                    state["pauses"][str(step)] = dev_metrics["score"]
                    save_checkpoint()
                    return _paused(cfg, state, pause_step, data.metric)
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    state["train_seconds"] += time.perf_counter() - t0
                    save_checkpoint()
                    t0 = time.perf_counter()
            state["train_seconds"] += time.perf_counter() - t0

            # end of epoch: dev evaluation, best model, checkpoint
            heartbeat("dev", epoch, None, time.perf_counter())
            t_dev = time.perf_counter()
            dev_scored = predict_rows(model, dev_loader, device, use_bf16)
            dev_seconds = time.perf_counter() - t_dev
            dev_metrics, _, _ = data.score("dev", dev_scored)
            mean_loss = state["epoch_loss_sum"] / max(1, state["step_in_epoch"])
            for key in (
                "score",
                "micro_f1",
                "macro_f1",
                "accuracy",
                "semeval_official",
                "muc_f1",
                "b3_f1",
                "ceafe_f1",
                "conll_f1",
            ):
                if key in dev_metrics:
                    writer.add_scalar(f"dev/{key}", dev_metrics[key], epoch + 1)
            writer.add_scalar("train/epoch_loss", mean_loss, epoch + 1)
            state["history"].append(
                {
                    "epoch": epoch + 1,
                    "dev_score": dev_metrics["score"],
                    "train_loss": mean_loss,
                    "global_step": state["global_step"],
                }
            )
            if dev_metrics["score"] > state["best_score"]:
                state["best_score"] = dev_metrics["score"]
                state["best_epoch"] = epoch + 1
                _save_model_dir(model, out / "model")
                best_dev = (dev_scored, dev_seconds)  # the saved model's dev predictions
            if bar is not None:
                bar.write(
                    f"epoch {epoch + 1}: dev {data.metric} = {dev_metrics['score']:.4f} "
                    f"(best {state['best_score']:.4f} @ epoch {state['best_epoch']})"
                )
            state["epoch"] += 1
            state["step_in_epoch"] = 0
            state["epoch_loss_sum"] = 0.0
            if state["global_step"] == pause_step:  # a rung at an epoch's end
                state["pauses"][str(pause_step)] = dev_metrics["score"]
            save_checkpoint()
            if on_dev is not None:
                on_dev(epoch + 1, dev_metrics["score"])
            if state["global_step"] == pause_step:
                return _paused(cfg, state, pause_step, data.metric)
    finally:
        if bar is not None:
            bar.close()
        writer.flush()

    result = _finish(cfg, data, device, use_bf16, state, out, formats, best_dev)
    writer.close()
    if not cfg.keep_checkpoint:
        ckpt_path.unlink(missing_ok=True)
    return result


def _paused(cfg: TrainConfig, state: dict[str, Any], step: int, metric: str) -> dict[str, Any]:
    """What a run paused at ``step`` (``cfg.pause_at``) returns: its dev score there."""
    score = state["pauses"].get(str(step))
    if score is None:
        raise AutoRCError(
            f"{cfg.out}: the run is past step {step} of pause_at={cfg.pause_at} but never paused "
            "there; resume it with a later pause_at, or without one"
        )
    return {
        "paused": True,
        "pause_at": cfg.pause_at,
        "global_step": step,
        "metric": metric,
        "dev": {"score": score},
        "throughput": {
            "train_seconds": state["train_seconds"],
            "train_sentences": state["train_sentences"],
        },
    }


def _progress(cfg: TrainConfig, total: int, initial: int):
    if not cfg.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="train", unit="step", dynamic_ncols=True)


def _finish(
    cfg, data, device, use_bf16, state, out: Path, formats, best_dev=None
) -> dict[str, Any]:
    """Score the best model on dev and test; write predictions and metrics.json. ``best_dev``:
    the best epoch's dev predictions when this process made them (the saved model's, so dev is
    not decoded twice: NER and coreference decode every candidate); otherwise dev is re-run."""
    from autorc_nni.model import RCModel

    tell_progress(
        {
            "out": str(out),
            "phase": "test",
            "epoch": state["epoch"],
            "epochs": cfg.epochs,
            "step": state["global_step"],
            "steps": state["global_step"],
            "loss": None,
            "sentences_per_s": None,
        }
    )
    best = RCModel.from_pretrained(out / "model").to(device)
    results: dict[str, Any] = {}
    records: dict[str, list] = {}
    decoded: dict[str, Any] = {}
    for split in ("dev", "test"):
        if split == "dev" and best_dev is not None:
            scored, seconds = best_dev
        else:
            t0 = time.perf_counter()
            scored = predict_rows(
                best, eval_loader(data.rows[split], cfg, formats), device, use_bf16
            )
            seconds = time.perf_counter() - t0
        results[split], records[split], decoded[split] = data.score(split, scored)
        results[split]["eval_sentences_per_s"] = len(scored) / seconds if seconds > 0 else None
    atomic_write_lines(out / "test_predictions.jsonl", (json.dumps(r) for r in records["test"]))
    paths = {
        "model": str(out / "model"),
        "predictions": str(out / "test_predictions.jsonl"),
        "tensorboard": str(out / "tensorboard"),
    }
    if data.task is not None:  # the files the task's official scorer reads
        paths |= data.task.kind.write_test_files(data.task, records["test"], decoded["test"], out)
    seconds = state["train_seconds"]
    result = {
        "dev": results["dev"],
        "test": results["test"],
        "metric": data.metric,
        "best_epoch": state["best_epoch"],
        "history": state["history"],
        "throughput": {
            "train_seconds": seconds,
            "train_sentences": state["train_sentences"],
            "train_sentences_per_s": state["train_sentences"] / seconds if seconds > 0 else None,
            "peak_rss_mb": peak_rss_mb(),
        },
        "data": data.report,
        "labels": data.labels,
        "negative_label": data.negative_label,  # the one used (None: micro-F1 over all labels)
        "format": data.task.format if data.task is not None else None,
        "format_detected": bool(data.task is not None and data.task.format_detected),
        "task": cfg.task,
        "config": dataclasses.asdict(cfg),
        "paths": paths,
    }
    atomic_write_text(out / "metrics.json", json.dumps(result, indent=2) + "\n")
    return result
