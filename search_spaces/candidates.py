"""The candidates of the AutoRC supernet's choices, and the modules that carry a choice.

The table first, as NNI's ``nasbench201.py`` lists its ops: for each decision family, the
module one option puts into its choice, built from what the supernet shares (its encoder
groups, positional encodings, pooler groups). ``use_*`` decisions are switches
(``FeatureSwitch``), not module choices.

=========== ======================================================================
family      candidate for option ``o``
=========== ======================================================================
``span``    ``FormatInput(o, encoder group of o)``: reads ``batch[o]``, encodes it
``posenc``  ``EncodeWithPosenc(POSENCS[o], W)``: the states, zero-padded to W
``pool_*``  the pooler ``o`` of the part's pooler group (entity or context)
``inter_*`` ``Interact(o)``: the op over the slot's pairs of parts, or none
=========== ======================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from autorc_nni.heads import INTERACTIONS
from autorc_nni.posencs import PositionalEncoding, encode_with_posenc
from search_spaces.copies import WeightCopies
from search_spaces.quiet import quiet_nni

if TYPE_CHECKING:
    from search_spaces.supernet import AutoRCSupernet

quiet_nni()  # before NNI is imported (search_spaces.quiet)
from nni.mutable import Categorical  # noqa: E402
from nni.nas.nn.pytorch import LayerChoice, MutableModule  # noqa: E402
from nni.nas.oneshot.pytorch.supermodule.base import BaseSuperNetModule  # noqa: E402
from nni.nas.oneshot.pytorch.supermodule.sampling import PathSamplingLayer  # noqa: E402

__all__ = [
    "CANDIDATES",
    "FormatInput",
    "EncodeWithPosenc",
    "Interact",
    "FeatureSwitch",
    "SampledFeatureSwitch",
    "FixedSwitch",
    "SampledChoice",
    "SlotClassifier",
    "guard_padding",
    "keep_supernet_module",
]

# decision family -> (supernet, decision label, option) -> the candidate module
CANDIDATES: dict[str, Callable[[AutoRCSupernet, str, Any], nn.Module]] = {
    "span": lambda net, label, fmt: FormatInput(fmt, net.encoder_group(fmt)),
    "posenc": lambda net, label, o: EncodeWithPosenc(net.posencs[o], net.width),
    "pool": lambda net, label, kind: net.pooler_group(label.removeprefix("pool_")).poolers[kind],
    "inter": lambda net, label, op: Interact(op),
}


def family(label: str) -> str:
    """The family of a decision label: ``pool_e1`` -> ``pool``, ``span`` -> ``span``."""
    return label.split("_")[0]


class FormatInput(nn.Module):
    """``span`` candidate: reads ``batch[format]`` and encodes it with its group's active copy."""

    def __init__(self, fmt: str, encoders: WeightCopies) -> None:
        super().__init__()
        self.fmt = fmt
        self.encoders = encoders

    def forward(
        self, batch: Mapping[str, Any], posenc: nn.Module
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """-> ``states (B, L, W)`` and ``batch[format]``; ``posenc`` is the ``posenc`` choice."""
        try:
            inputs = batch[self.fmt]
        except KeyError:
            present = [k for k, v in batch.items() if isinstance(v, Mapping)]
            raise KeyError(
                f"batch has no {self.fmt!r} input (formats present: {present}); featurize "
                f"with formats including {self.fmt!r}"
            ) from None
        return posenc(self.encoders.current, inputs), inputs

    def extra_repr(self) -> str:
        return f"fmt={self.fmt!r}, group={self.encoders.name!r}"


class EncodeWithPosenc(nn.Module):
    """``posenc`` candidate: runs an encoder with one positional encoding, pads states to W."""

    def __init__(self, posenc: PositionalEncoding, width: int) -> None:
        super().__init__()
        self.posenc = posenc
        self.width = width

    def forward(self, encoder: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        states = encode_with_posenc(encoder, self.posenc, inputs)  # (B, L, D)
        pad = self.width - states.shape[-1]
        return nn.functional.pad(states, (0, pad)) if pad else states  # (B, L, W)


class Interact(nn.Module):
    """``inter_*`` candidate: one interaction op over pairs of parts, or none (``op=None``)."""

    def __init__(self, op: str) -> None:
        super().__init__()
        self.op_name = op
        self.op = None if op == "none" else INTERACTIONS.get(op)()

    def forward(
        self, part: Callable[[str], torch.Tensor], pairs: list[tuple[str, str]]
    ) -> list[torch.Tensor] | None:
        """``part(name) -> (B, W)`` pools lazily; -> one ``(B, W)`` per pair, or ``None``."""
        if self.op is None:
            return None
        return [self.op(part(a), part(b)) for a, b in pairs]

    def extra_repr(self) -> str:
        return f"op={self.op_name!r}"


# -- feature switches: use_* as a binary mutable --------------------------------------------------
class FixedSwitch(nn.Module):
    """A frozen ``use_*`` decision: ``forward(get)`` is ``get()`` when on, ``None`` when off."""

    def __init__(self, value: bool) -> None:
        super().__init__()
        self.value = bool(value)

    def forward(self, get: Callable[[], torch.Tensor]) -> torch.Tensor | None:
        return get() if self.value else None

    def extra_repr(self) -> str:
        return f"value={self.value}"


class FeatureSwitch(MutableModule):
    """A ``use_*`` decision: ``nni.choice(label, [True, False])`` on a module.

    ``freeze(sample)`` gives a ``FixedSwitch``; under a one-shot strategy it becomes a
    ``SampledFeatureSwitch``. The raw switch has no value and refuses to run.
    """

    def __init__(self, label: str) -> None:
        super().__init__()
        self.choice = self.add_mutable(Categorical([True, False], label=label))

    @property
    def label(self) -> str:
        return self.choice.label

    @classmethod
    def create_fixed_module(cls, sample: dict, label: str) -> FixedSwitch:
        return FixedSwitch(Categorical([True, False], label=label).freeze(sample))

    def freeze(self, sample: Mapping[str, Any]) -> FixedSwitch:
        return FixedSwitch(self.choice.freeze(dict(sample)))

    def forward(self, get: Callable[[], torch.Tensor]) -> torch.Tensor | None:
        raise RuntimeError(
            f"decision {self.label!r} has no value: call set_sample(sample) or freeze(sample)"
        )

    def extra_repr(self) -> str:
        return f"label={self.label!r}"


class SampledFeatureSwitch(FeatureSwitch, BaseSuperNetModule):
    """One-shot version of ``FeatureSwitch``: ``resample(memo)`` sets its value."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self._sampled: bool | None = None

    def resample(self, memo: dict[str, Any]) -> dict[str, Any]:
        self._sampled = memo[self.label] if self.label in memo else self.choice.random()
        return {self.label: self._sampled}

    def export(self, memo: dict[str, Any]) -> dict[str, Any]:
        return {} if self.label in memo else {self.label: self.choice.random()}

    @classmethod
    def mutate(cls, module: nn.Module, name: str, memo: dict, mutate_kwargs: dict) -> Any:
        if type(module) is FeatureSwitch:
            return cls(module.label)
        return None

    def forward(self, get: Callable[[], torch.Tensor]) -> torch.Tensor | None:
        if self._sampled is None:
            raise RuntimeError(f"decision {self.label!r}: no sample; call set_sample(sample)")
        return get() if self._sampled else None


class SampledChoice(PathSamplingLayer):
    """NNI's ``PathSamplingLayer`` running exactly one path and returning its output as is.

    The candidates of this space return tuples, lists or ``None`` (an inactive interaction),
    which ``PathSamplingLayer``'s summing reduction cannot take.
    """

    @classmethod
    def mutate(cls, module: nn.Module, name: str, memo: dict, mutate_kwargs: dict) -> Any:
        if type(module) is LayerChoice:
            return cls(module.candidates, module.label)
        return None

    def _reduction(self, items: list[Any], sampled: list[Any]) -> Any:
        if len(items) != 1:
            raise RuntimeError(f"decision {self.label!r}: exactly one path, got {sampled}")
        return items[0]


def keep_supernet_module(module: nn.Module, name: str, memo: dict, mutate_kwargs: dict) -> Any:
    """Mutation hook: leave modules that are already one-shot modules (``set_sample`` ran)."""
    return isinstance(module, BaseSuperNetModule)


class SlotClassifier(nn.Module):
    """Slot-based shared classifier: ``logits = bias + Σ_s W_s · dropout(f_s)`` over given slots.

    ``blocks[s]`` is the ``(C, W)`` weight block of slot ``s``; with the features of an
    architecture's ``slots()`` concatenated, this is one linear layer whose weight is the
    blocks side by side (``as_linear``).
    """

    def __init__(self, width: int, num_labels: int, slots: list[str], dropout: float) -> None:
        super().__init__()
        self.width = width
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ParameterDict(
            {s: nn.Parameter(torch.empty(num_labels, width)) for s in slots}
        )
        self.bias = nn.Parameter(torch.empty(num_labels))
        bound = 1.0 / math.sqrt(width)  # nn.Linear's default for a W-wide input
        for w in self.blocks.values():
            nn.init.kaiming_uniform_(w, a=math.sqrt(5))
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, features: Mapping[str, torch.Tensor | None]) -> torch.Tensor:
        """``{slot: (B, W) or None}`` -> ``(B, C)``; ``None`` marks an inactive slot."""
        active = [(s, f) for s, f in features.items() if f is not None]
        if not active:
            raise RuntimeError("the child has no active feature slot; the sample is invalid")
        logits: torch.Tensor = self.bias
        for s, f in active:
            logits = logits + nn.functional.linear(self.dropout(f), self.blocks[s])  # (B, C)
        return logits

    def as_linear(self, slots: list[str], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight ``(C, len(slots)·dim)`` and bias of the equivalent linear layer over ``slots``
        (each block cut to its first ``dim`` columns)."""
        weight = torch.cat([self.blocks[s][:, :dim] for s in slots], dim=1)
        return weight.detach().clone(), self.bias.detach().clone()


class _ZeroBlock(nn.Module):
    """Parametrization ``w -> w * keep``: holds the entries that would read padding at zero."""

    keep: torch.Tensor  # a buffer (``nn.Module`` types registered attributes loosely)

    def __init__(self, keep: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("keep", keep)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.keep


def guard_padding(linear: nn.Linear, hidden: int) -> None:
    """Hold ``weight[H:, :H]`` and ``bias[H:]`` of a W×W shared linear layer at zero."""
    width = linear.out_features
    if width == hidden:
        return
    keep_w = torch.ones(width, width)
    keep_w[hidden:, :hidden] = 0.0
    keep_b = torch.ones(width)
    keep_b[hidden:] = 0.0
    with torch.no_grad():
        linear.weight.mul_(keep_w)
        linear.bias.mul_(keep_b)
    parametrize.register_parametrization(linear, "weight", _ZeroBlock(keep_w))
    parametrize.register_parametrization(linear, "bias", _ZeroBlock(keep_b))
