"""Poolers: aggregate the token states of one part of the sentence into one vector (paper §3.4).

A part (e1, e2, c0, c1, c2) is given as a boolean mask over the sequence; every pooler maps
``states (B, L, D)`` and ``mask (B, L)`` to ``(B, D)``. The poolers are registered in
``POOLERS`` under the names of the search space's table ``autorc_nni.architecture.POOLER_NAMES``
(checked at import):

========== ==========================================================================
name       what it computes over the part's tokens
========== ==========================================================================
avg        mean of the states
max        element-wise max of the states
self_attn  softmax(vᵀ tanh(W h_i)) weighted sum of the states (one attention head)
dr         dynamic routing (Gong et al. 2018) to one output capsule, with squash
start      tanh(linear(state of the part's first token)) (Baldini Soares et al. 2019)
========== ==========================================================================

``start`` and ``dr`` share one component, a linear layer followed by tanh (paper §4.3): in a
model the entity poolers share one such layer and the context poolers another
(``PoolerGroup``), each initialised from the encoder's pooler dense layer (``linear_from_dense``).

Contract (``tests/autorc_nni/test_poolers.py`` checks it for every registered pooler): an empty
part (an all-False mask row) gives exactly zeros and finite gradients; states outside the mask
never change the result, so padding never does either.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, cast

import torch
from torch import nn

from autorc_nni.architecture import POOLER_NAMES
from autorc_nni.registry import Registry

__all__ = [
    "POOLERS",
    "Pooler",
    "AvgPooler",
    "MaxPooler",
    "SelfAttnPooler",
    "DynamicRoutingPooler",
    "StartPooler",
    "PoolerGroup",
    "linear_from_dense",
    "masked_softmax",
]

POOLERS: Registry[type[Pooler]] = Registry("pooler")


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim restricted to ``mask``; all-False rows give all-zero weights.

    Masked scores are filled with the dtype's most negative finite value (not -inf), so an empty
    row softmaxes to finite uniform weights that the final multiply by the mask zeroes: neither
    the value nor the gradient can become NaN.
    """
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)  # (B, L)
    return torch.softmax(scores, dim=-1) * mask.to(scores.dtype)  # (B, L)


class Pooler(nn.Module, ABC):
    """Base of every pooler.

    Life cycle:

    1. ``__init__(dim, linear=None, **kw)`` is called once when the model (or supernet) is built.
       ``dim`` is the width of the states it will see (H, or H + 24 with ``posenc=concat``).
       Poolers with ``uses_linear = True`` (``start``, ``dr``) apply ``tanh(linear(·))`` and take
       the *shared* linear layer of their group as ``linear`` (it is registered as their
       ``linear`` submodule, so ``state_dict`` lists it under the pooler too: tied weights); with
       ``linear=None`` they make their own ``nn.Linear(dim, dim)``. Other poolers ignore it.
       Extra keyword arguments are pooler options (e.g. ``iterations`` of ``dr``).
    2. ``forward(states, mask)`` is called once per part per batch. It checks shapes, calls the
       subclass's ``_pool`` and replaces the rows of empty parts by exact zeros.
       ``_pool`` must return finite values on every row, empty rows included (use
       ``masked_softmax`` and finite fill values), and must not let a state outside ``mask``
       influence its row's result.
    """

    uses_linear: bool = False

    def __init__(self, dim: int, linear: nn.Linear | None = None, **kw: Any) -> None:
        super().__init__()
        if kw:
            raise TypeError(f"{type(self).__name__}: unknown option(s) {sorted(kw)}")
        self.dim = dim
        if self.uses_linear:
            if linear is None:
                linear = nn.Linear(dim, dim)
            if (linear.in_features, linear.out_features) != (dim, dim):
                raise ValueError(
                    f"{type(self).__name__}: shared linear is "
                    f"{linear.in_features}x{linear.out_features}, expected {dim}x{dim}"
                )
            self.linear = linear

    @classmethod
    def options_at(cls, width: int) -> dict[str, Any]:
        """The options of a pooler whose weights must serve every width up to ``width``.

        A supernet is ``width`` wide (H + 24 when ``posenc=concat`` is an option) and a child
        it exports may be narrower (H): the child's pooler takes the first rows and columns of
        the supernet's. A pooler with a layer whose size is not the states' width says here how
        wide that layer is built (``self_attn``: ``attn_dim=width``), so the H-wide child reads
        the same weights. Default: no option.
        """
        return {}

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pool ``states (B, L, D)`` over ``mask (B, L)`` (bool) -> ``(B, D)``."""
        if states.dim() != 3 or mask.shape != states.shape[:2] or states.shape[-1] != self.dim:
            raise ValueError(
                f"{type(self).__name__}: states {tuple(states.shape)} and mask "
                f"{tuple(mask.shape)} do not match (B, L, {self.dim}) and (B, L)"
            )
        mask = mask.bool()
        out = self._pool(states, mask)  # (B, D)
        nonempty = mask.any(dim=1, keepdim=True)  # (B, 1)
        return torch.where(nonempty, out, torch.zeros_like(out))  # (B, D)

    @abstractmethod
    def _pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(B, L, D), (B, L) bool -> (B, D)``; finite on every row, empty rows included."""

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        """The shared linear + tanh: ``(..., D) -> (..., D)``."""
        return torch.tanh(self.linear(x))


@POOLERS.register("avg")
class AvgPooler(Pooler):
    """Mean of the part's token states."""

    def _pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(states.dtype)  # (B, L, 1)
        total = (states * m).sum(dim=1)  # (B, L, D) -> (B, D)
        count = m.sum(dim=1).clamp(min=1.0)  # (B, 1)
        return total / count  # (B, D)


@POOLERS.register("max")
class MaxPooler(Pooler):
    """Element-wise maximum of the part's token states."""

    def _pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        fill = torch.finfo(states.dtype).min
        masked = states.masked_fill(~mask.unsqueeze(-1), fill)  # (B, L, D)
        return masked.max(dim=1).values  # (B, L, D) -> (B, D)


@POOLERS.register("self_attn")
class SelfAttnPooler(Pooler):
    """Additive self-attention pooling (one head): ``a = softmax(vᵀ tanh(W h_i))``, ``Σ a_i h_i``.

    ``attn_dim`` is the width of the scoring layer ``W`` (default: ``dim``).
    """

    def __init__(
        self, dim: int, linear: nn.Linear | None = None, attn_dim: int | None = None, **kw: Any
    ) -> None:
        super().__init__(dim, linear, **kw)
        self.proj = nn.Linear(dim, attn_dim or dim)
        self.score = nn.Linear(attn_dim or dim, 1, bias=False)

    @classmethod
    def options_at(cls, width: int) -> dict[str, Any]:
        return {"attn_dim": width}  # the scoring layer keeps the supernet's width

    def _pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(torch.tanh(self.proj(states))).squeeze(-1)  # (B, L, D) -> (B, L)
        weights = masked_softmax(scores, mask)  # (B, L)
        return torch.einsum("bl,bld->bd", weights, states)  # (B, D)


def squash(s: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """Capsule squash ``|s|² / (1 + |s|²) · s / |s|`` over the last dim; ``squash(0) = 0``."""
    n2 = (s * s).sum(dim=-1, keepdim=True)  # (B, 1)
    return s * (n2 / (1.0 + n2)) / torch.sqrt(n2 + eps)  # (B, D)


@POOLERS.register("dr")
class DynamicRoutingPooler(Pooler):
    """Dynamic-routing pooling (Gong et al. 2018, "Information Aggregation via Dynamic Routing").

    Each token of the part is an input capsule whose message is ``m_i = tanh(linear(h_i))`` (the
    linear layer shared with ``start`` in the group). The part is aggregated into one output
    capsule by ``iterations`` rounds of routing by agreement::

        b_i = 0
        repeat iterations times:
            c = softmax_i(b)              # over the part's tokens
            v = squash(Σ_i c_i m_i)
            b_i = b_i + m_i · v           # (skipped after the last round)
        return v

    With a single output capsule the coupling coefficients are normalised over the input
    capsules (the tokens) — Gong et al.'s reversed routing; normalising over output capsules
    would make every coefficient 1 and the routing vacuous.
    """

    uses_linear = True

    def __init__(
        self, dim: int, linear: nn.Linear | None = None, iterations: int = 3, **kw: Any
    ) -> None:
        super().__init__(dim, linear, **kw)
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError(f"dr pooler: iterations must be an integer >= 1, got {iterations!r}")
        self.iterations = iterations

    def _pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        messages = self._transform(states)  # (B, L, D)
        logits = torch.zeros(mask.shape, dtype=states.dtype, device=states.device)  # (B, L)
        for r in range(self.iterations):
            coupling = masked_softmax(logits, mask)  # (B, L)
            v = squash(torch.einsum("bl,bld->bd", coupling, messages))  # (B, D)
            if r + 1 < self.iterations:
                logits = logits + torch.einsum("bld,bd->bl", messages, v)  # (B, L)
        return v

    def extra_repr(self) -> str:
        return f"dim={self.dim}, iterations={self.iterations}"


@POOLERS.register("start")
class StartPooler(Pooler):
    """``tanh(linear(h_first))``: the state of the part's first token (e.g. ``[E1]``, ``[CLS]``)."""

    uses_linear = True

    def _pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        first = mask.to(torch.int8).argmax(dim=1)  # (B,) index of the first True (0 if empty)
        idx = first.view(-1, 1, 1).expand(-1, 1, states.shape[-1])  # (B, 1, D)
        h = states.gather(1, idx).squeeze(1)  # (B, L, D) -> (B, D)
        return self._transform(h)  # (B, D)


def linear_from_dense(dense: nn.Module | None, dim: int) -> nn.Linear:
    """A new ``dim × dim`` linear layer initialised from the encoder's pooler dense layer.

    ``dense`` is ``encoder.pooler.dense`` (H × H). When ``dim == H`` it is copied. When
    ``dim > H`` (``posenc=concat``: ``dim = H + 24``) the pooler dense fills the top-left H × H
    block, the bottom-right block is the identity and the off-diagonal blocks and the extra bias
    entries are zero, so the positional columns pass through unchanged before the tanh and the
    first H outputs equal BERT's pooler exactly. With ``dense=None`` (an encoder without a pooler)
    the layer keeps PyTorch's default initialisation. The copy does not share storage with the
    encoder.
    """
    linear = nn.Linear(dim, dim)
    if dense is None:
        return linear
    weight, bias = dense.weight, dense.bias
    if not isinstance(weight, torch.Tensor) or not isinstance(bias, torch.Tensor):
        raise TypeError(
            f"pooler dense {type(dense).__name__} has no weight and bias tensors to copy"
        )
    w, b = weight.detach(), bias.detach()
    h = w.shape[0]
    if w.shape != (h, h) or h > dim:
        raise ValueError(f"pooler dense is {tuple(w.shape)}; cannot initialise a {dim}x{dim} layer")
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()
        linear.weight[:h, :h] = w
        linear.bias[:h] = b
        if dim > h:
            linear.weight[h:, h:] = torch.eye(dim - h, dtype=w.dtype)
    return linear


class PoolerGroup(nn.Module):
    """The poolers of one group of parts (entities or contexts), shared per pooler type.

    ``poolers[name]`` is the one pooler of that type used by every part of the group, and
    ``linear`` (present when the group holds ``start`` or ``dr``) is the linear layer both share.
    A fixed model builds a group with the types its architecture uses; a supernet builds it with
    every registered type, and the parameter names stay the same::

        linear.weight, linear.bias                    (dim, dim), (dim,)   if start or dr
        poolers.<type>.*                              the pooler's own parameters
        poolers.start.linear.*, poolers.dr.linear.*   tied to ``linear`` (same tensors)

    ``pooler_kwargs`` maps a type to its options, e.g. ``{"dr": {"iterations": 3}}``.
    """

    def __init__(
        self,
        dim: int,
        kinds: Iterable[str],
        dense: nn.Module | None = None,
        pooler_kwargs: dict[str, dict[str, Any]] | None = None,
        share_linear: bool = True,
    ) -> None:
        super().__init__()
        kinds = list(dict.fromkeys(kinds))  # unique, order kept
        pooler_kwargs = pooler_kwargs or {}
        unknown = sorted(set(pooler_kwargs) - set(POOLERS.names()))
        if unknown:
            raise ValueError(f"pooler options for unknown pooler(s) {unknown}")
        classes = {k: POOLERS.get(k) for k in kinds}
        uses = any(c.uses_linear for c in classes.values())
        # share_linear=False (naive ENAS): start and dr each get their own linear layer, both
        # initialised from the pooler dense; sharing it is part of heterogeneous sharing (§4.3)
        self.linear = linear_from_dense(dense, dim) if uses and share_linear else None
        self.poolers = nn.ModuleDict(
            {
                k: cls(
                    dim,
                    self.linear
                    if share_linear or not cls.uses_linear
                    else linear_from_dense(dense, dim),
                    **pooler_kwargs.get(k, {}),
                )
                for k, cls in classes.items()
            }
        )

    def linears(self) -> list[nn.Linear]:
        """The distinct linear layers of the group's linear-using poolers (one when shared)."""
        seen: dict[int, nn.Linear] = {}
        # a ModuleDict's values are typed as bare modules; this one holds only poolers
        for p in cast("Iterable[Pooler]", self.poolers.values()):
            if p.uses_linear:
                seen.setdefault(id(p.linear), p.linear)
        return list(seen.values())

    def forward(self, kind: str, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pool with the group's ``kind`` pooler: ``(B, L, D), (B, L) -> (B, D)``."""
        return self.poolers[kind](states, mask)


POOLERS.check_names(POOLER_NAMES, "autorc_nni.architecture.POOLER_NAMES")
