"""The search loop as Lightning modules: one ``training_step`` is one AutoRC search step.

Three layers, as NNI composes one-shot strategies::

    AutoRCLightningModule  (BaseOneShotLightningModule: the search loop, manual optimization)
      |_ SupernetTrainingModule  (nni LightningModule: loss, reward, weight optimizer + warm-up)
          |_ the supernet  (ModelSpace mutated by RandomOneShot's path-sampling hooks)

(The step itself, the warm-up and the checkpoint state: ``strategies.autorc``'s docstring.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from search_spaces.quiet import quiet_nni

quiet_nni()  # before NNI is imported (search_spaces.quiet)
import nni  # noqa: E402
from nni.nas.evaluator.pytorch import LightningModule  # noqa: E402
from nni.nas.nn.pytorch import ModelSpace  # noqa: E402
from nni.nas.oneshot.pytorch.base_lightning import BaseOneShotLightningModule  # noqa: E402

from autorc_nni.architecture import DECISIONS  # noqa: E402
from autorc_nni.metrics import compute_metrics  # noqa: E402
from autorc_nni.training import decay_groups, rng_state, set_rng_state  # noqa: E402
from search_spaces.spaces import SearchSpace, is_valid  # noqa: E402
from strategies.controller import Controller, Reinforce  # noqa: E402
from strategies.errors import SearchError  # noqa: E402

__all__ = ["AutoRCLightningModule", "SupernetTrainingModule", "StepCallback", "space_table"]


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
        opt = torch.optim.AdamW(decay_groups(self.model, self.weight_decay), lr=self.lr)
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
        space: SearchSpace,
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
        self.space = space
        self.copies, self.child_steps = copies, child_steps
        self.search_warmup_steps = search_warmup_steps
        self.controller_kwargs: dict[str, Any] = dict(
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
            space_table(model),
            valid=lambda sample: is_valid(sample, self.space),
            **self.controller_kwargs,
        )
        self.reinforce = Reinforce(self.controller, **self.rl_kwargs)
        return self.controller

    @property
    def policy(self) -> Controller:
        """The controller, once built (``set_model``); an error before."""
        if self.controller is None:
            raise SearchError("the controller is built when the supernet is set (set_model)")
        return self.controller

    @property
    def rl(self) -> Reinforce:
        """The controller's REINFORCE optimizer, once built."""
        if self.reinforce is None:
            raise SearchError("the controller is built when the supernet is set (set_model)")
        return self.reinforce

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
            sample, _, _ = self.policy.sample()
        self.set_sample(sample)
        return sample

    def export(self) -> dict[str, Any]:
        """The controller's greedy architecture (top-k comes from :func:`strategies.search`)."""
        return self.policy.greedy()

    def export_probs(self) -> dict[str, dict[Any, float]]:
        return self.policy.probabilities()

    # -- one search step ------------------------------------------------------------------------
    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        if isinstance(batch, tuple):  # Lightning 2 may hand (batch, idx, dataloader_idx)
            batch = batch[0]
        train_batches, reward_batch = batch["train"], batch["val"]
        update = self.step >= self.search_warmup_steps
        # 1. sample an architecture (log-prob kept for the update)
        with torch.set_grad_enabled(update):
            sample, log_prob, entropy = self.policy.sample()
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
            rl = self.rl.update(log_prob, entropy, reward)
        else:
            baseline = self.rl.observe(reward)
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
            "invalid": self.policy.invalid_count,
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
            "controller": self.policy.state_dict(),
            "controller_invalid": self.policy.invalid_count,
            "reinforce": self.rl.state_dict(),
            "weight_optimizer": self.weight_optimizer().state_dict(),
            "weight_scheduler": self.weight_scheduler().state_dict(),
            "rng": {"copy": self.copy_generator.get_state(), **rng_state()},
        }

    def load_search_state_dict(self, state: dict[str, Any]) -> None:
        """Load a checkpoint; optimizer states are applied when the fit starts."""
        self.step = int(state["step"])
        self.model.load_state_dict(state["supernet"])
        self.policy.load_state_dict(state["controller"])
        self.policy.invalid_count = int(state["controller_invalid"])
        self.rl.load_state_dict(state["reinforce"])
        self._pending_state = state

    def _apply_state(self, state: dict[str, Any]) -> None:
        self.weight_optimizer().load_state_dict(state["weight_optimizer"])
        self.weight_scheduler().load_state_dict(state["weight_scheduler"])
        self.copy_generator.set_state(state["rng"]["copy"])
        set_rng_state(state["rng"])
