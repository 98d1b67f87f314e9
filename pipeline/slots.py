"""Optuna's random search by budget slot: what a killed and resumed HPO study draws again.

``RandomSampler(seed)`` run uninterrupted gives trial s the s-th draws of one random state: one
uniform per one-hot coordinate of every categorical with more than one choice (a single choice
is not sampled). A trial here first claims its budget slot (:func:`claim_slot`: the lowest one
no earlier COMPLETE, PRUNED or RUNNING trial holds, recorded as the user attribute ``slot``),
then :class:`SlotRandomSampler` gives it a fresh ``RandomSampler(seed)`` advanced past the draws
of the slots before it. So an uninterrupted study draws what the plain sampler draws, and after
a kill the replacement of a failed trial draws that trial's setting again, whatever the trial
numbers became. Only Optuna's public API is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from pipeline.evaluation import SLOT


def _lowest_free(taken: set[int]) -> int:
    return next(s for s in range(len(taken) + 1) if s not in taken)


def claim_slot(study: optuna.Study, trial: optuna.Trial) -> int:
    """Give ``trial`` the lowest slot no earlier COMPLETE, PRUNED or RUNNING trial holds and
    record it on the trial; call it first in the objective, before any ``suggest``.

    Only earlier trials count, in their order; one that holds no slot yet (its worker is
    claiming it now, or a study from before slots) takes the lowest free one, as its own worker
    does: two workers asking at once agree."""
    held = study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    )
    taken: set[int] = set()
    for t in sorted((t for t in held if t.number < trial.number), key=lambda t: t.number):
        taken.add(t.user_attrs[SLOT] if SLOT in t.user_attrs else _lowest_free(taken))
    slot = _lowest_free(taken)
    trial.set_user_attr(SLOT, slot)
    return slot


class SlotRandomSampler(optuna.samplers.BaseSampler):
    """Each trial's draws are those of its slot under ``RandomSampler(seed)``; ``space`` is the
    grid the objective suggests from, name -> choices, in suggestion order."""

    def __init__(self, seed: int, space: dict[str, Sequence[Any]]) -> None:
        self.seed = seed
        self.space = {k: list(v) for k, v in space.items()}
        self._per_trial: dict[int, optuna.samplers.RandomSampler] = {}

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        sampler = self._per_trial.get(trial.number)
        if sampler is None:
            if SLOT not in trial.user_attrs:
                raise RuntimeError(
                    f"trial {trial.number} holds no budget slot: call claim_slot(study, trial) "
                    "in the objective before suggesting"
                )
            sampler = self._advanced(study, trial, int(trial.user_attrs[SLOT]))
            self._per_trial[trial.number] = sampler
        return sampler.sample_independent(study, trial, param_name, param_distribution)

    def _advanced(
        self, study: optuna.Study, trial: FrozenTrial, slot: int
    ) -> optuna.samplers.RandomSampler:
        """``RandomSampler(seed)`` after the draws of slots 0..slot-1 (drawn and dropped)."""
        sampler = optuna.samplers.RandomSampler(seed=self.seed)
        for _ in range(slot):
            for name, choices in self.space.items():
                if len(choices) > 1:
                    sampler.sample_independent(study, trial, name, CategoricalDistribution(choices))
        return sampler

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._per_trial.pop(trial.number, None)
