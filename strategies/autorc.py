"""The AutoRC one-shot strategy on NNI's one-shot machinery (docs/design.md §4-§5, paper §4).

Three layers, as NNI composes one-shot strategies::

    AutoRCLightningModule  (BaseOneShotLightningModule: the search loop, manual optimization)
      |_ SupernetTrainingModule  (nni LightningModule: loss, reward, weight optimizer + warm-up)
          |_ the supernet  (ModelSpace mutated by RandomOneShot's path-sampling hooks)

:class:`AutoRCStrategy` (a ``RandomOneShot``) mutates the model space (path sampling), wraps the
evaluator's module in :class:`AutoRCLightningModule` (``configure_oneshot_module``) and fuses the
child-training batches with the reward batches (``train_dataloader``: a ``CombinedLoader`` of
:class:`ChildBatches` and :class:`RewardBatches`, as NNI's DARTS does). Each Lightning
``training_step`` is one search step:

1. the LSTM controller samples an architecture (invalid ones are resampled and counted), which is
   set into every supernet module (``resample(memo=...)``);
2. one encoder copy and one classifier copy are drawn at random (``supernet.set_copies``) and the
   child trains ``child_steps`` train batches (``advance_optimization``: one AdamW over all
   copies, so only the drawn copy, which alone has gradients, and its optimizer state move; the
   LR schedule, a linear warm-up, advances once per child batch);
3. the reward is the dataset's metric of the child on one reward batch (``reward_batch_mult`` x
   the train batch size), in eval mode;
4. the baseline follows every reward; the controller is updated by REINFORCE only from step
   ``search_warmup_steps`` on (search warm-up).

The search epoch, step counter, copy-drawing generator and controller live in the module, so a
whole search runs as one Lightning epoch whose loader already starts at the resumed step; a
checkpoint (:meth:`AutoRCLightningModule.search_state_dict`) restores everything, including RNG
states, and a resumed search continues bit-for-bit where it stopped.

Methods (paper Table 3, docs/design.md §4) are the rows of ``strategies.methods.METHODS``.
"""

from __future__ import annotations

import contextlib
import random
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

# NNI 3.0 warns that some torch 2.13 classes are "not a nn.Module": harmless, silenced here only.
warnings.filterwarnings(
    "ignore", message=r".*is found to be not a nn\.Module", category=RuntimeWarning
)
import nni  # noqa: E402
from nni.nas.evaluator.pytorch import Lightning, LightningModule, Trainer  # noqa: E402
from nni.nas.nn.pytorch import ModelSpace  # noqa: E402
from nni.nas.oneshot.pytorch.base_lightning import BaseOneShotLightningModule  # noqa: E402
from nni.nas.space import ModelStatus, RawFormatModelSpace  # noqa: E402
from nni.nas.strategy import RandomOneShot  # noqa: E402
from pytorch_lightning.utilities import CombinedLoader  # noqa: E402

from autorc_nni.architecture import DECISIONS, Architecture, ArchitectureError  # noqa: E402
from autorc_nni.batching import BucketBatchSampler  # noqa: E402
from autorc_nni.finetune import numpy_rng_state, set_numpy_rng_state  # noqa: E402
from autorc_nni.metrics import compute_metrics  # noqa: E402
from strategies.controller import Controller, Reinforce  # noqa: E402
from strategies.errors import SearchError  # noqa: E402
from strategies.methods import get_method  # noqa: E402


# -- samples <-> architectures --------------------------------------------------------------------
def _as_option(label: str, value: Any) -> Any:
    """Map an NNI choice value to the option of ``DECISIONS[label]`` it stands for."""
    options = DECISIONS[label]
    for o in options:
        if o == value and type(o) is type(value):
            return o
    for o in options:
        if str(o) == str(value):
            return o
    raise ArchitectureError(f"decision {label!r}: {value!r} is not one of {list(options)}")


def to_architecture(sample: Mapping[str, Any], fixed: Mapping[str, Any]) -> Architecture:
    """The full ``Architecture`` of a sample of a (possibly reduced) space with ``fixed`` values."""
    values = {**fixed, **sample}
    missing = [k for k in DECISIONS if k not in values]
    if missing:
        raise ArchitectureError(f"sample and fixed values lack decision(s) {missing}")
    extra = sorted(set(values) - set(DECISIONS))
    if extra:
        raise ArchitectureError(f"unknown decision(s) {extra}; known: {list(DECISIONS)}")
    return Architecture(**{k: _as_option(k, values[k]) for k in DECISIONS})


def validity_check(fixed: Mapping[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """``sample -> bool``: False when the architecture has no classifier feature."""

    def valid(sample: dict[str, Any]) -> bool:
        try:
            to_architecture(sample, fixed)
        except ArchitectureError:
            return False
        return True

    return valid


def space_table(model: ModelSpace) -> dict[str, tuple[Any, ...]]:
    """The free decisions of a model space, ``label -> values``, in ``DECISIONS`` order.

    Labels outside ``DECISIONS`` (only in test spaces) follow in ``simplify()`` order.
    """
    simplified = model.simplify()
    table: dict[str, tuple[Any, ...]] = {}
    for label in [
        *(k for k in DECISIONS if k in simplified),
        *(k for k in simplified if k not in DECISIONS),
    ]:
        mutable = simplified[label]
        values = getattr(mutable, "values", None)
        if values is None:
            raise SearchError(
                f"mutable {label!r} ({type(mutable).__name__}) is not categorical; "
                "the AutoRC controller only samples categorical decisions"
            )
        table[label] = tuple(values)
    return table


# -- data: child-training groups and reward batches ----------------------------------------------
class ChildBatches:
    """Per search step, ``child_steps`` train batches (a list), one search epoch after another.

    Epoch ``e`` shuffles the rows with a generator seeded by ``(seed, e)``; an epoch has
    ``len(rows) // (batch_size * child_steps)`` steps (the remainder is dropped). With
    ``lengths`` (each row's padded length) the batches are those of the fine-tuning loader,
    ``autorc_nni.batching.BucketBatchSampler`` (similar lengths together, little padding; its
    epoch ``e``), in groups of ``child_steps``. Iteration starts at global step ``start_step`` and
    stops at ``total_steps``: a resumed search builds the loader at its checkpoint's step, without
    touching the skipped rows. ``epoch_rows(e) -> (rows, lengths)`` (optional) gives the rows of
    epoch ``e`` > 0 (span NER and coreference draw their negatives afresh each epoch); the step
    count per epoch stays that of ``rows``.
    """

    def __init__(
        self,
        rows: Sequence[Any],
        batch_size: int,
        child_steps: int,
        collate: Callable[[list[Any]], Any],
        seed: int,
        total_steps: int,
        start_step: int = 0,
        lengths: Sequence[int] | None = None,
        epoch_rows: Callable[[int], tuple[Sequence[Any], Sequence[int]]] | None = None,
    ) -> None:
        if lengths is not None and len(lengths) != len(rows):
            raise SearchError(f"{len(lengths)} lengths for {len(rows)} rows")
        self.sampler = None
        if lengths is not None:
            self.sampler = BucketBatchSampler(
                list(lengths), batch_size, shuffle=True, seed=seed, drop_last=True
            )
        self.rows, self.batch_size, self.child_steps = rows, batch_size, child_steps
        self.collate, self.seed = collate, seed
        self.steps_per_epoch = len(rows) // (batch_size * child_steps)
        if self.steps_per_epoch < 1:
            raise SearchError(
                f"{len(rows)} train rows are fewer than one search step "
                f"({child_steps} batches of {batch_size})"
            )
        self.total_steps, self.start_step = total_steps, start_step
        self.epoch_rows, self.first_rows, self.first_lengths = epoch_rows, rows, lengths

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)

    def _batches(self, epoch: int) -> list[list[int]]:
        """The epoch's batches (row indices), in order."""
        if self.epoch_rows is not None:  # this epoch's rows (and a sampler over their lengths)
            rows, lengths = (
                (self.first_rows, self.first_lengths) if epoch == 0 else self.epoch_rows(epoch)
            )
            self.rows = rows
            if self.sampler is not None:
                self.sampler = BucketBatchSampler(
                    list(lengths), self.batch_size, shuffle=True, seed=self.seed, drop_last=True
                )
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
            return list(self.sampler)
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order = torch.randperm(len(self.rows), generator=g).tolist()
        b = self.batch_size
        return [order[i : i + b] for i in range(0, len(order) // b * b, b)]

    def __iter__(self) -> Iterator[list[Any]]:
        n = self.child_steps
        epoch, batches = -1, []
        for step in range(self.start_step, self.total_steps):
            e, s = divmod(step, self.steps_per_epoch)
            if e != epoch:
                epoch, batches = e, self._batches(e)
            yield [
                self.collate([self.rows[i] for i in idx]) for idx in batches[s * n : (s + 1) * n]
            ]


class RewardBatches:
    """Per search step, one validation batch of ``batch_size`` rows, cycling through the rows.

    Pass ``p`` (``p = 0, 1, ...`` over the whole search) shuffles with a generator seeded by
    ``(seed, p)``; the position of step ``t`` is a pure function of ``t``, so resuming is exact.
    Each item is a list of collated pieces of the batch: with ``lengths`` the batch's rows are
    sorted by length and cut into pieces of ``piece_size`` rows, each padded only to its own
    longest row (the same rows and reward, much less padding than one 4x batch); without, one
    piece.
    """

    def __init__(
        self,
        rows: Sequence[Any],
        batch_size: int,
        collate: Callable[[list[Any]], Any],
        seed: int,
        total_steps: int,
        start_step: int = 0,
        lengths: Sequence[int] | None = None,
        piece_size: int | None = None,
    ) -> None:
        if len(rows) == 0:
            raise SearchError("no validation rows: the reward needs a validation split")
        if lengths is not None and len(lengths) != len(rows):
            raise SearchError(f"{len(lengths)} lengths for {len(rows)} rows")
        self.rows, self.batch_size, self.collate, self.seed = (
            rows,
            min(batch_size, len(rows)),
            collate,
            seed,
        )
        self.lengths = None if lengths is None else torch.as_tensor(list(lengths))
        self.piece_size = piece_size or self.batch_size
        self.per_pass = len(rows) // self.batch_size
        self.total_steps, self.start_step = total_steps, start_step

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)

    def __iter__(self) -> Iterator[list[Any]]:
        b = self.batch_size
        cur, order = -1, torch.empty(0, dtype=torch.long)
        for step in range(self.start_step, self.total_steps):
            p, s = divmod(step, self.per_pass)
            if p != cur:
                g = torch.Generator().manual_seed(self.seed * 100_019 + p + 7)
                cur, order = p, torch.randperm(len(self.rows), generator=g)
            idx = order[s * b : (s + 1) * b]
            if self.lengths is None:
                yield [self.collate([self.rows[int(i)] for i in idx])]
                continue
            idx = idx[torch.argsort(self.lengths[idx], stable=True)]
            yield [
                self.collate([self.rows[int(i)] for i in idx[j : j + self.piece_size]])
                for j in range(0, len(idx), self.piece_size)
            ]


# -- the evaluator's inner module ----------------------------------------------------------------
@nni.trace
class SupernetTrainingModule(LightningModule):
    """Trains the current child: cross-entropy loss, the reward metric, AdamW + linear warm-up.

    One AdamW holds every weight copy (parameters without a gradient are skipped, so inactive
    copies keep their weights and optimizer state). The LR rises linearly from 0 over
    ``warmup_steps`` child batches, then stays constant (the search is long; no decay).
    """

    def __init__(
        self,
        labels: Sequence[str],
        negative_label: str | None,
        metric: str = "micro_f1",
        lr: float = 5e-5,
        weight_decay: float = 0.01,
        warmup_steps: int = 0,
    ) -> None:
        super().__init__()
        self.labels, self.negative_label, self.metric = list(labels), negative_label, metric
        self.lr, self.weight_decay, self.warmup_steps = lr, weight_decay, warmup_steps

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        return self.model(batch)  # (B, C)

    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> torch.Tensor:
        logits = self.model(batch)  # (B, C)
        return F.cross_entropy(logits, batch["labels"])

    @torch.no_grad()
    def predict_labels(self, batch: Mapping[str, Any]) -> list[int]:
        was_training = self.model.training
        self.model.eval()
        try:
            return self.model(batch).argmax(-1).tolist()  # (B, C) -> (B,)
        finally:
            self.model.train(was_training)

    def score(self, gold: Sequence[int], pred: Sequence[int]) -> float:
        """The dataset's metric (``autorc_nni.metrics``) of predictions."""
        return float(
            compute_metrics(gold, pred, self.labels, self.negative_label, self.metric)["score"]
        )

    def reward(self, batch: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> float:
        """The metric of the current child on a batch, or on the union of a list of pieces."""
        pieces = [batch] if isinstance(batch, Mapping) else list(batch)
        gold = [y for b in pieces for y in b["labels"].tolist()]
        pred = [y for b in pieces for y in self.predict_labels(b)]
        return self.score(gold, pred)

    def configure_optimizers(self) -> Any:
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                (
                    no_decay
                    if p.ndim < 2 or "LayerNorm" in name or "norm" in name.lower()
                    else decay
                ).append(p)
        opt = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.lr,
        )
        w = max(1, self.warmup_steps)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: min(1.0, (step + 1) / w) if self.warmup_steps > 0 else 1.0
        )
        return [opt], [{"scheduler": sched, "interval": "step"}]


# -- the search loop ------------------------------------------------------------------------------
StepCallback = Callable[["AutoRCLightningModule", dict[str, Any]], None]


class AutoRCLightningModule(BaseOneShotLightningModule):
    """One ``training_step`` = one AutoRC search step (see the module docstring).

    Hooks for the driver (``strategies.search``): ``on_step(module, stats)`` after every step
    (TensorBoard, progress bar, checkpoints); ``stop_after`` ends the fit after that global step
    (a budget; the state stays resumable).
    """

    def __init__(
        self,
        training_module: SupernetTrainingModule,
        *,
        fixed: Mapping[str, Any],
        copies: int = 2,
        child_steps: int = 4,
        search_warmup_steps: int = 0,
        controller_lr: float = 1e-4,
        controller_hidden: int = 64,
        temperature: float = 5.0,
        tanh_constant: float = 2.5,
        entropy_weight: float = 1e-4,
        baseline_decay: float = 0.95,
        grad_clip: float | None = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__(training_module)
        self.fixed = dict(fixed)
        self.copies, self.child_steps = copies, child_steps
        self.search_warmup_steps = search_warmup_steps
        self.controller_kwargs = dict(
            hidden=controller_hidden, temperature=temperature, tanh_constant=tanh_constant
        )
        self.rl_kwargs = dict(
            lr=controller_lr, baseline_decay=baseline_decay, entropy_weight=entropy_weight
        )
        self.grad_clip = grad_clip
        self.copy_generator = torch.Generator().manual_seed(seed + 1)
        self.step = 0  # global search step (children trained so far)
        self.on_step: StepCallback | None = None
        self.stop_after: int | None = None
        self.last_stats: dict[str, Any] = {}
        self._pending_state: dict[str, Any] | None = None
        self.controller: Controller | None = None
        self.reinforce: Reinforce | None = None

    # -- set-up ---------------------------------------------------------------------------------
    def set_model(self, model: torch.nn.Module) -> None:
        if not isinstance(model, ModelSpace):
            raise SearchError(f"AutoRC searches an NNI ModelSpace, got {type(model).__name__}")
        if self.controller is None:
            self.build_controller(model)
        super().set_model(model)

    def build_controller(self, model: ModelSpace) -> Controller:
        """The controller over ``model``'s free decisions (and its REINFORCE optimizer)."""
        self.controller = Controller(
            space_table(model), valid=validity_check(self.fixed), **self.controller_kwargs
        )
        self.reinforce = Reinforce(self.controller, **self.rl_kwargs)
        return self.controller

    def configure_architecture_optimizers(self) -> torch.optim.Optimizer | None:
        return self.reinforce.optimizer if self.reinforce is not None else None

    def weight_optimizer(self) -> torch.optim.Optimizer:
        opts = [o for o in self.trainer.optimizers if not getattr(o, "is_arch_optimizer", False)]
        return opts[0]

    def weight_scheduler(self) -> Any:
        return self.trainer.lr_scheduler_configs[0].scheduler

    def on_train_start(self) -> None:
        if self._pending_state is not None:
            self._apply_state(self._pending_state)
            self._pending_state = None
        return super().on_train_start()

    # -- sampling -------------------------------------------------------------------------------
    def set_sample(self, sample: Mapping[str, Any]) -> None:
        """Set an architecture into every path-sampling module of the supernet."""
        memo = dict(sample)
        for module in self.supernet_modules():
            module.resample(memo=memo)

    def draw_copies(self) -> tuple[int, int]:
        """Random (encoder copy, classifier copy), from the module's own generator."""
        e, c = torch.randint(self.copies, (2,), generator=self.copy_generator).tolist()
        setter = getattr(self.model, "set_copies", None)
        if callable(setter):
            setter(e, c)
        elif self.copies > 1:
            raise SearchError(
                f"{type(self.model).__name__} has no set_copies(); cannot use {self.copies} copies"
            )
        return e, c

    def resample(self) -> dict[str, Any]:
        """Sample from the controller (no gradient) and set the sample into the supernet."""
        with torch.no_grad():
            sample, _, _ = self.controller.sample()
        self.set_sample(sample)
        return sample

    def export(self) -> dict[str, Any]:
        """The controller's greedy architecture (top-k comes from :func:`strategies.search`)."""
        return self.controller.greedy()

    def export_probs(self) -> dict[str, dict[Any, float]]:
        return self.controller.probabilities()

    # -- one search step ------------------------------------------------------------------------
    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        if isinstance(batch, tuple):  # Lightning 2 may hand (batch, idx, dataloader_idx)
            batch = batch[0]
        train_batches, reward_batch = batch["train"], batch["val"]
        update = self.step >= self.search_warmup_steps
        # 1. sample an architecture (log-prob kept for the update)
        with torch.set_grad_enabled(update):
            sample, log_prob, entropy = self.controller.sample()
        self.set_sample(sample)
        # 2. draw the weight copies and train the child
        enc_copy, cls_copy = self.draw_copies()
        self.model.train()
        sched = self.weight_scheduler()
        losses = []
        for i, b in enumerate(train_batches):
            loss = self.training_module.training_step(b, batch_idx * self.child_steps + i)
            self.advance_optimization(
                loss, batch_idx, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm"
            )
            sched.step()
            losses.append(float(loss.detach()))
        # 3. reward on one validation batch
        reward = self.training_module.reward(reward_batch)
        # 4. REINFORCE after the search warm-up; the baseline follows the rewards throughout
        if update:
            rl = self.reinforce.update(log_prob, entropy, reward)
        else:
            baseline = self.reinforce.observe(reward)
            rl = {
                "reward": reward,
                "baseline": baseline,
                "advantage": reward - baseline,
                "loss": float("nan"),
                "entropy": float(entropy.detach()),
            }
        self.step += 1
        self.last_stats = {
            **rl,
            "step": self.step,
            "updated": update,
            "child_loss": sum(losses) / len(losses),
            "lr": sched.get_last_lr()[0],
            "sample": sample,
            "copies": (enc_copy, cls_copy),
            "invalid": self.controller.invalid_count,
        }
        if self.on_step is not None:
            self.on_step(self, self.last_stats)
        if self.stop_after is not None and self.step >= self.stop_after:
            self.trainer.should_stop = True
        return None

    # -- checkpoints ----------------------------------------------------------------------------
    def search_state_dict(self) -> dict[str, Any]:
        """Everything a resumed search needs (weights of every copy, optimizers, RNG, step)."""
        return {
            "step": self.step,
            "supernet": self.model.state_dict(),
            "controller": self.controller.state_dict(),
            "controller_invalid": self.controller.invalid_count,
            "reinforce": self.reinforce.state_dict(),
            "weight_optimizer": self.weight_optimizer().state_dict(),
            "weight_scheduler": self.weight_scheduler().state_dict(),
            "rng": {
                "copy": self.copy_generator.get_state(),
                "torch": torch.get_rng_state(),
                "python": random.getstate(),
                "numpy": numpy_rng_state(),
                **({"cuda": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {}),
            },
        }

    def load_search_state_dict(self, state: dict[str, Any]) -> None:
        """Load a checkpoint; optimizer states are applied when the fit starts."""
        self.step = int(state["step"])
        self.model.load_state_dict(state["supernet"])
        self.controller.load_state_dict(state["controller"])
        self.controller.invalid_count = int(state["controller_invalid"])
        self.reinforce.load_state_dict(state["reinforce"])
        self._pending_state = state

    def _apply_state(self, state: dict[str, Any]) -> None:
        self.weight_optimizer().load_state_dict(state["weight_optimizer"])
        self.weight_scheduler().load_state_dict(state["weight_scheduler"])
        rng = state["rng"]
        self.copy_generator.set_state(rng["copy"])
        torch.set_rng_state(rng["torch"])
        random.setstate(rng["python"])
        set_numpy_rng_state(rng["numpy"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])


# -- the strategy ---------------------------------------------------------------------------------
class AutoRCStrategy(RandomOneShot):
    """AutoRC: an ENAS-style controller over a path-sampling supernet, with AutoRC's switches.

    ``method`` names a row of :data:`strategies.methods.METHODS`, whose ``copies`` is the default
    of the module's
    ``copies``; ``search_warmup_steps`` is the warm-up in steps (``strategies.search`` converts
    the method's ``warmup_epochs``). The supernet must have the method's sharing and the copies
    (:meth:`check_supernet`). :meth:`prepare` does what NNI's ``OneShotStrategy._initialize``
    does (``mutate_model`` + ``mutate_evaluator``) and :meth:`fit` what its ``_run`` submits
    (``Lightning.evaluate``), without an NNI experiment (no ``~/nni-experiments`` folder).
    """

    def __init__(
        self,
        *,
        method: str = "autorc",
        fixed: Mapping[str, Any] | None = None,
        search_warmup_steps: int = 0,
        **module_kwargs: Any,
    ) -> None:
        super().__init__()
        self.method = method
        self.switches = get_method(method)
        self.fixed = dict(fixed or {})
        self.search_warmup_steps = search_warmup_steps
        self.module_kwargs = module_kwargs
        self.module_kwargs.setdefault("copies", self.switches.copies)

    def configure_oneshot_module(self, training_module: LightningModule) -> AutoRCLightningModule:
        if not isinstance(training_module, SupernetTrainingModule):
            raise SearchError("the evaluator's module must be a SupernetTrainingModule")
        return AutoRCLightningModule(
            training_module,
            fixed=self.fixed,
            search_warmup_steps=self.search_warmup_steps,
            **self.module_kwargs,
        )

    def train_dataloader(
        self, train_dataloader_fn: Callable[[], Any], val_dataloader_fn: Callable[[], Any]
    ) -> Any:
        # each step gets its child-training batches and its reward batch together
        with quiet_third_party():  # a pytree deprecation inside Lightning
            return CombinedLoader(
                {"train": train_dataloader_fn(), "val": val_dataloader_fn()}, mode="min_size"
            )

    def val_dataloader(
        self, train_dataloader_fn: Callable[[], Any], val_dataloader_fn: Callable[[], Any]
    ) -> Any:
        return None

    def check_supernet(self, model: ModelSpace) -> None:
        """The supernet's sharing and copies must be those of the method."""
        sharing = getattr(model, "sharing", None)
        if sharing is not None and sharing != self.switches.sharing:
            raise SearchError(
                f"method {self.method!r} needs sharing={self.switches.sharing!r}, "
                f"supernet has {sharing!r}"
            )
        copies = getattr(model, "num_copies", getattr(model, "copies", None))
        if copies is not None and copies != self.module_kwargs["copies"]:
            raise SearchError(
                f"method {self.method!r} uses {self.module_kwargs['copies']} copies, "
                f"supernet has {copies}"
            )

    def prepare(self, model: ModelSpace, evaluator: Lightning) -> AutoRCLightningModule:
        """Mutate the model space and the evaluator (NNI's one-shot initialisation)."""
        self.check_supernet(model)
        mutated = self.mutate_model(model)
        evaluator = self.mutate_evaluator(evaluator)
        self._mutated_model_space = RawFormatModelSpace(mutated, evaluator)
        self._mutated_model_space.status = ModelStatus.Frozen
        module = self.oneshot_module
        module.set_model(mutated)
        return module

    def fit(self) -> None:
        """Run the prepared search (``Lightning.evaluate`` = ``trainer.fit`` on the one-shot
        module)."""
        evaluator = self._mutated_model_space.evaluator
        with quiet_third_party():
            evaluator.evaluate(self.supernet)


@contextlib.contextmanager
def quiet_third_party() -> Iterator[None]:
    """Silence the tips and warnings Lightning and NNI print at every search and that ask
    nothing of the user: Lightning's logger tip, its "modules in eval mode at the start of
    training" warning (the child is put in train mode at every step, before it trains), NNI's
    "Validation dataloaders are missing" (the rewards are drawn by the one-shot module itself)
    and a pytree deprecation inside Lightning. Our own progress and result lines are kept."""
    import logging

    names = (
        "pytorch_lightning.utilities.rank_zero",
        "lightning.pytorch.utilities.rank_zero",
        "lightning_fabric.utilities.rank_zero",
        "nni.nas.evaluator.pytorch.lightning",
    )
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode")
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def make_evaluator(
    training_module: SupernetTrainingModule,
    train_loader: ChildBatches,
    reward_loader: RewardBatches,
    accelerator: str = "cpu",
) -> Lightning:
    """The NNI Lightning evaluator of a search: one Lightning epoch runs every remaining step."""
    with quiet_third_party():  # its GPU/TPU lines and the logger tip
        trainer = _trainer(accelerator)
    return Lightning(
        training_module, trainer, train_dataloaders=train_loader, val_dataloaders=reward_loader
    )


def _trainer(accelerator: str) -> Trainer:
    return Trainer(
        max_epochs=1,
        accelerator=accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )


__all__ = [
    "AutoRCLightningModule",
    "AutoRCStrategy",
    "ChildBatches",
    "RewardBatches",
    "SearchError",
    "SupernetTrainingModule",
    "make_evaluator",
    "space_table",
    "to_architecture",
    "validity_check",
]
