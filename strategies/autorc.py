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

The pieces: the methods (paper Table 3, docs/design.md §4) are the rows of
``strategies.methods.METHODS``; the loaders are in ``strategies.loaders``, the Lightning modules
in ``strategies.module``, the strategy here.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from search_spaces.quiet import quiet_nni

quiet_nni()  # before NNI is imported (search_spaces.quiet)
from nni.nas.evaluator.pytorch import Lightning, LightningModule, Trainer  # noqa: E402
from nni.nas.execution import SequentialExecutionEngine  # noqa: E402
from nni.nas.nn.pytorch import ModelSpace  # noqa: E402
from nni.nas.space import RawFormatModelSpace  # noqa: E402
from nni.nas.strategy import RandomOneShot  # noqa: E402
from pytorch_lightning.utilities import CombinedLoader  # noqa: E402

from search_spaces.spaces import SearchSpace, get_space  # noqa: E402
from strategies.errors import SearchError  # noqa: E402
from strategies.loaders import ChildBatches, RewardBatches  # noqa: E402
from strategies.methods import get_method  # noqa: E402
from strategies.module import AutoRCLightningModule, SupernetTrainingModule  # noqa: E402

__all__ = ["AutoRCStrategy", "make_evaluator", "quiet_third_party"]


# -- the strategy ---------------------------------------------------------------------------------
class AutoRCStrategy(RandomOneShot):
    """AutoRC: an ENAS-style controller over a path-sampling supernet, with AutoRC's switches.

    ``method`` names a row of :data:`strategies.methods.METHODS`, whose ``copies`` is the
    default of the module's ``copies``; ``space`` is the searched space (its fixed values
    complete a sample, its validity rule filters the controller's draws);
    ``search_warmup_steps`` is the warm-up in steps (``strategies.search`` converts the method's
    ``warmup_epochs``). The supernet must have the method's sharing and copies
    (:meth:`check_supernet`).

    It follows NNI's strategy life cycle: ``initialize`` (our ``_initialize``: NNI's one-shot
    mutation, then the controller), ``run`` (NNI's ``_run``: the mutated model submitted to
    the engine), ``state_dict`` / ``load_state_dict`` (the whole search state).
    :meth:`prepare` and :meth:`fit` are ``initialize`` on an in-process engine and ``run``.
    """

    def __init__(
        self,
        *,
        method: str = "autorc",
        space: SearchSpace | str = "M",
        search_warmup_steps: int = 0,
        **module_kwargs: Any,
    ) -> None:
        super().__init__()
        self.method = method
        self.switches = get_method(method)
        self.space = get_space(space)
        self.search_warmup_steps = search_warmup_steps
        self.module_kwargs = module_kwargs
        self.module_kwargs.setdefault("copies", self.switches.copies)

    def configure_oneshot_module(self, training_module: LightningModule) -> AutoRCLightningModule:
        if not isinstance(training_module, SupernetTrainingModule):
            raise SearchError("the evaluator's module must be a SupernetTrainingModule")
        return AutoRCLightningModule(
            training_module,
            space=self.space,
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

    # -- NNI's strategy life cycle -----------------------------------------------------------
    def _initialize(
        self, model_space: RawFormatModelSpace, engine: SequentialExecutionEngine
    ) -> RawFormatModelSpace:
        """NNI's one-shot initialisation (``mutate_model`` + ``mutate_evaluator``), after the
        supernet is checked against the method; the one-shot module then builds its
        controller over the mutated space's decisions."""
        self.check_supernet(model_space.model_space)
        mutated = super()._initialize(model_space, engine)
        self.oneshot_module.set_model(mutated.model_space)
        return mutated

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed search needs (``AutoRCLightningModule.search_state_dict``);
        empty before ``initialize``."""
        if self._mutated_model_space is None:
            return {}
        return self.oneshot_module.search_state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a search from ``state_dict`` (after ``initialize``, before ``run``)."""
        self.oneshot_module.load_search_state_dict(state_dict)

    def prepare(self, model: ModelSpace, evaluator: Lightning) -> AutoRCLightningModule:
        """``initialize`` on an in-process engine (NNI's ``SequentialExecutionEngine``: the
        search runs here, without an NNI experiment or its ``~/nni-experiments`` folder);
        returns the one-shot module."""
        self.initialize(RawFormatModelSpace(model, evaluator), SequentialExecutionEngine())
        return self.oneshot_module

    def fit(self) -> None:
        """Run the prepared search: NNI's ``run``, whose ``_run`` submits the one mutated model
        to the engine, which trains it (``Lightning.evaluate`` = ``trainer.fit`` on the
        one-shot module)."""
        with quiet_third_party():
            self.run()


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
