"""The ENAS LSTM controller and its REINFORCE update (docs/design.md §5, paper §4.1).

:class:`Controller` is a policy over a table of categorical decisions (``label -> options``,
emitted in the table's order). At step ``t`` an LSTM cell reads the embedding of the choice made
at step ``t - 1`` (a learned start embedding at ``t = 0``) and a per-decision linear head gives the
logits of decision ``t``, squashed ENAS-style::

    logits = tanh_constant * tanh(logits / temperature)

so no option's probability can run away early in the search.

:class:`Reinforce` is the update rule, REINFORCE with ``n = 1`` and a moving-average baseline::

    b    <- decay * b + (1 - decay) * R        (b starts at the first reward)
    loss  = -(R - b) * log pi(m) - beta * H(pi)

with Adam on the controller's parameters. The baseline follows the rewards also while the
controller is frozen (search warm-up), so the first update after the warm-up already has a
sensible baseline; :meth:`Reinforce.observe` does only that, :meth:`Reinforce.update` both.

Life cycle in a search::

    controller = Controller(decisions)
    rl = Reinforce(controller, lr=1e-4)
    sample, log_prob, entropy = controller.sample()   # once per child
    ... train the child, reward R on a validation batch ...
    stats = rl.update(log_prob, entropy, R) if warm_up_over else rl.observe(R)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from autorc_nni.errors import AutoRCError


class ControllerError(AutoRCError, RuntimeError):
    """The controller cannot produce a valid architecture (or was given a bad decision table)."""


class Controller(nn.Module):
    """ENAS LSTM policy over ``decisions`` (label -> options, in emission order).

    ``valid`` (optional) tells whether a sampled dict is a usable architecture; an invalid one
    (for AutoRC: no classifier feature at all) is resampled, at most ``max_resample`` times, and
    counted in :attr:`invalid_count`. The returned ``log_prob`` is that of the accepted sample
    under the unconditioned policy, as in ENAS.
    """

    def __init__(
        self,
        decisions: Mapping[str, Sequence[Any]],
        hidden: int = 64,
        temperature: float = 5.0,
        tanh_constant: float = 2.5,
        valid: Callable[[dict[str, Any]], bool] | None = None,
        max_resample: int = 1000,
    ) -> None:
        super().__init__()
        if not decisions:
            raise ControllerError("the controller needs at least one decision")
        for label, options in decisions.items():
            if len(options) < 1:
                raise ControllerError(f"decision {label!r} has no option")
        if temperature <= 0:
            raise ControllerError(f"temperature must be > 0, got {temperature}")
        self.labels: list[str] = list(decisions)
        self.options: dict[str, tuple[Any, ...]] = {k: tuple(v) for k, v in decisions.items()}
        self.hidden = hidden
        self.temperature = temperature
        self.tanh_constant = tanh_constant
        self.valid = valid
        self.max_resample = max_resample
        self.invalid_count = 0  # resampled invalid architectures, over the controller's life

        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.lstm = nn.LSTMCell(hidden, hidden)
        # one embedding table and one output head per decision (indexed by position: labels may
        # contain characters nn.ModuleDict rejects)
        self.embeddings = nn.ModuleList(
            nn.Embedding(len(self.options[k]), hidden) for k in self.labels
        )
        self.heads = nn.ModuleList(nn.Linear(hidden, len(self.options[k])) for k in self.labels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """ENAS initialisation: uniform(-0.1, 0.1) everywhere, so the start policy is near
        uniform."""
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    # -- one pass through the decisions ------------------------------------------------------
    def _logits(self, h: torch.Tensor, t: int) -> torch.Tensor:
        logits = self.heads[t](h)  # (1, H) -> (1, n_options)
        return self.tanh_constant * torch.tanh(logits / self.temperature)

    def _run(
        self, choose: Callable[[int, torch.Tensor], int]
    ) -> tuple[list[int], torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Walk the decisions; ``choose(t, probs)`` picks the option index at step t.

        Returns the chosen indices, the summed log-probability and entropy along the path, and
        each step's probability vector.
        """
        x = self.start  # (1, H)
        state: tuple[torch.Tensor, torch.Tensor] | None = None
        indices: list[int] = []
        log_prob = self.start.new_zeros(())
        entropy = self.start.new_zeros(())
        probs_path: list[torch.Tensor] = []
        for t in range(len(self.labels)):
            h, c = self.lstm(x, state)  # (1, H), (1, H)
            state = (h, c)
            logp = torch.log_softmax(self._logits(h, t), dim=-1)[0]  # (n_options,)
            p = logp.exp()
            i = choose(t, p.detach())
            indices.append(i)
            log_prob = log_prob + logp[i]
            entropy = entropy - (p * logp).sum()
            probs_path.append(p)
            table: Any = self.embeddings[t]
            x = table.weight[i : i + 1]  # (1, H): the embedding of this choice
        return indices, log_prob, entropy, probs_path

    def _to_sample(self, indices: Sequence[int]) -> dict[str, Any]:
        return {k: self.options[k][i] for k, i in zip(self.labels, indices, strict=True)}

    def _to_indices(self, sample: Mapping[str, Any]) -> list[int]:
        out = []
        for k in self.labels:
            if k not in sample:
                raise ControllerError(f"sample lacks decision {k!r}")
            try:
                out.append(self.options[k].index(sample[k]))
            except ValueError:
                raise ControllerError(
                    f"decision {k!r}: {sample[k]!r} is not one of {list(self.options[k])}"
                ) from None
        return out

    # -- public API ---------------------------------------------------------------------------
    def sample(
        self,
        generator: torch.Generator | None = None,
        given: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], torch.Tensor, torch.Tensor]:
        """Sample one valid architecture: ``(sample, log_prob, entropy)``.

        ``log_prob`` and ``entropy`` (sum over the decisions of each step's distribution entropy,
        along the sampled path) carry gradients. Invalid samples are resampled and counted.
        ``given`` (label -> option) forces those decisions and samples the others conditioned
        on them (the race's shortlist draws the best models of an input format this way).
        """
        forced: dict[int, int] = {}
        for label, value in (given or {}).items():
            if label not in self.options:
                raise ControllerError(f"given: unknown decision {label!r}; known: {self.labels}")
            if value not in self.options[label]:
                raise ControllerError(
                    f"given: {label}={value!r} is not one of {list(self.options[label])}"
                )
            forced[self.labels.index(label)] = self.options[label].index(value)

        def draw(t: int, p: torch.Tensor) -> int:
            if t in forced:
                return forced[t]
            if generator is not None and generator.device != p.device:
                p = p.to(generator.device)
            return int(torch.multinomial(p, 1, generator=generator).item())

        for _ in range(self.max_resample):
            indices, log_prob, entropy, _ = self._run(draw)
            sample = self._to_sample(indices)
            if self.valid is None or self.valid(sample):
                return sample, log_prob, entropy
            self.invalid_count += 1
        raise ControllerError(
            f"no valid architecture in {self.max_resample} samples; is the space all invalid?"
        )

    def log_prob(self, sample: Mapping[str, Any]) -> torch.Tensor:
        """Log-probability of a given sample (teacher-forced through the LSTM)."""
        indices = self._to_indices(sample)
        _, log_prob, _, _ = self._run(lambda t, _p: indices[t])
        return log_prob

    def greedy(self, fallback_samples: int = 200) -> dict[str, Any]:
        """The most likely option at every step, each conditioned on the previous greedy choices.

        When that path is invalid, the most probable of ``fallback_samples`` valid samples.
        """
        with torch.no_grad():
            indices, _, _, _ = self._run(lambda _t, p: int(p.argmax()))
            sample = self._to_sample(indices)
            if self.valid is None or self.valid(sample):
                return sample
            invalid = self.invalid_count  # a look-up, not the search: leave the count alone
            best, best_lp = sample, -math.inf
            for _ in range(fallback_samples):
                s, lp, _ = self.sample()
                if float(lp) > best_lp:
                    best, best_lp = s, float(lp)
            self.invalid_count = invalid
        return best

    def probabilities(self, sample: Mapping[str, Any] | None = None) -> dict[str, dict[Any, float]]:
        """Each decision's choice probabilities ``{label: {option: p}}``.

        Without ``sample``, along the greedy path: decision ``t``'s distribution given that every
        earlier decision took its most likely option (deterministic, what TensorBoard plots). With
        ``sample``, the conditional distributions along that sample's path.
        """
        with torch.no_grad():
            if sample is None:
                _, _, _, probs = self._run(lambda _t, p: int(p.argmax()))
            else:
                indices = self._to_indices(sample)
                _, _, _, probs = self._run(lambda t, _p: indices[t])
        return {
            k: {o: float(p[i]) for i, o in enumerate(self.options[k])}
            for k, p in zip(self.labels, probs, strict=True)
        }


def reinforce_loss(
    log_prob: torch.Tensor,
    entropy: torch.Tensor,
    reward: float,
    baseline: float,
    beta: float,
) -> torch.Tensor:
    """REINFORCE with a baseline and entropy bonus: ``-(R - b) * log pi(m) - beta * H(pi)``."""
    return -(reward - baseline) * log_prob - beta * entropy


class Reinforce:
    """REINFORCE (n = 1) with a moving-average baseline and Adam, for one :class:`Controller`."""

    def __init__(
        self,
        controller: Controller,
        lr: float = 1e-4,
        baseline_decay: float = 0.95,
        entropy_weight: float = 1e-4,
    ) -> None:
        if not 0.0 <= baseline_decay < 1.0:
            raise ControllerError(f"baseline_decay must be in [0, 1), got {baseline_decay}")
        self.controller = controller
        self.baseline_decay = baseline_decay
        self.entropy_weight = entropy_weight
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=lr)
        self.baseline: float | None = None
        self.updates = 0

    def observe(self, reward: float) -> float:
        """Move the baseline towards ``reward``; returns the new baseline."""
        if not math.isfinite(reward):
            raise ControllerError(f"reward must be finite, got {reward}")
        if self.baseline is None:
            self.baseline = float(reward)
        else:
            d = self.baseline_decay
            self.baseline = d * self.baseline + (1.0 - d) * float(reward)
        return self.baseline

    def update(
        self, log_prob: torch.Tensor, entropy: torch.Tensor, reward: float
    ) -> dict[str, float]:
        """One policy-gradient step on a sample's ``log_prob``/``entropy`` and its reward.

        Returns ``{reward, baseline, advantage, loss, entropy}``.
        """
        baseline = self.observe(reward)
        loss = reinforce_loss(log_prob, entropy, reward, baseline, self.entropy_weight)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        return {
            "reward": float(reward),
            "baseline": baseline,
            "advantage": float(reward) - baseline,
            "loss": float(loss.detach()),
            "entropy": float(entropy.detach()),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
            "updates": self.updates,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]
        self.updates = int(state["updates"])
