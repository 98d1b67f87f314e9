"""``AutoRCSupernet``: the AutoRC search space as an NNI 3.0 ``ModelSpace`` (docs/design.md §3, §4).

Mutables are exactly the free decisions of the space (``search_spaces.spaces``), labelled with
the keys of ``autorc_nni.architecture.DECISIONS`` and registered in that (controller) order:

- module choices (``span``, ``posenc``, ``pool_*``, ``inter_*``) are ``LayerChoice``s whose
  candidate names are the options (``"markers"``, ``"avg"``, ``"none"`` …);
- feature use (``use_*``) is a ``FeatureSwitch``: a small ``MutableModule`` holding
  ``nni.choice(label, [True, False])`` (a bare ``nni.choice`` attribute is not registered, and
  ``InputChoice(n_chosen=None)`` is rejected by path sampling), so sample values are real bools.

``model.simplify()`` therefore lists the space's decision table and ``model.freeze(sample)``
returns the child (NNI's ``recursive_freeze``: a deep copy of the supernet in which each choice
is replaced by its chosen candidate; the chosen candidates are the supernet's own modules, the
rest — the classifier copies, for instance — are deep copies). Use ``to_rcmodel`` for a
standalone model.

Parameter sharing (docs/design.md §4, paper §4.3)
--------------------------------------------
``sharing="heterogeneous"`` (AutoRC):
    encoder groups ``tokens`` and ``markers+standard``; an entity ``PoolerGroup`` (e1, e2: one
    pooler per type) and a context ``PoolerGroup`` (c0, c1, c2: one per type), never shared with
    each other; in each group ``start`` and ``dr`` share one linear layer initialised from the
    encoder's pooler dense.
``sharing="naive"`` (plain ENAS, ablation AutoRC1):
    one encoder group ``all`` for every input format, one ``PoolerGroup`` for every part, in
    which ``start`` and ``dr`` each have their own linear layer (both initialised from the
    pooler dense): sharing that layer is part of heterogeneous sharing.
Weight copies:
    every encoder group keeps ``copies`` independent deep copies of the pretrained encoder
    (default 2: four encoders under heterogeneous sharing) and the classifier ``copies`` copies;
    ``set_copies(encoder, classifier)`` selects copy ``encoder`` in every group (only the group
    of the sample's ``span`` runs) and copy ``classifier`` of the classifier. Poolers and the
    positional tables are neither copied nor split by group. ``copies=1`` is AutoRC2.
Classifier:
    slot-based: one ``(C, W)`` weight block per feature slot (``autorc_nni.architecture.SLOTS``)
    plus one bias; ``logits = bias + Σ_{active slots s} W_s · dropout(f_s)``. Each block is its
    own parameter, so an inactive slot gets no gradient and no optimizer step.
Widths:
    every part is carried W = H + 24 wide. With ``posenc != concat`` the token states are
    zero-padded from H to W. So that the padding stays zero through ``start``/``dr`` (and a
    child without concat is exactly the H-wide ``RCModel``), the shared linear layers hold the
    block ``weight[H:, :H]`` and ``bias[H:]`` at zero (a ``torch.nn.utils.parametrize`` mask; at
    initialisation ``linear_from_dense`` puts zeros there anyway): the padded outputs are then
    ``tanh(0) = 0``. The price, during the search only: in a concat child the 24 positional
    outputs of ``start``/``dr`` depend on the positional inputs alone, without bias. ``self_attn``
    scores with a W-wide layer; ``to_rcmodel`` builds the ``RCModel`` with
    ``pooler_kwargs={"self_attn": {"attn_dim": W}}`` to match it.

API
---
::

    net = AutoRCSupernet(encoder_factory, num_labels, space="M", sharing="heterogeneous",
                         copies=2, max_len=256, dropout=0.1, pooler_kwargs=None)
    net.simplify()                  # {label: nni Categorical}, the space's decision table
    net.set_sample(sample)          # apply a sample {label: value} in place (validated)
    net.set_copies(encoder=k, classifier=j)
    logits = net(batch)             # (B, C), under the current sample and copies
    child = net.freeze(sample)      # NNI child module (same function as to_rcmodel's model)
    rc = net.to_rcmodel(arch, encoder_copy=k, classifier_copy=j)   # autorc_nni.model.RCModel
    net.parameters_for(sample, encoder_copy=k, classifier_copy=j)  # {name: parameter} touched
    net.copy_groups()               # ["markers+standard", "tokens"] or ["all"]
    net.current_sample(); net.current_architecture(); net.current_copies()

How a sample is applied. ``set_sample`` turns (once, in place) every ``LayerChoice`` into a
``SampledChoice`` (NNI's ``PathSamplingLayer`` that runs exactly one path) and every
``FeatureSwitch`` into a ``SampledFeatureSwitch``, both ``BaseSuperNetModule``s, then calls
``resample(memo=sample)`` on each. This is what NNI's ``RandomOneShot.mutate_model`` does with
the hooks this class returns from ``extra_oneshot_hooks`` (they also leave an already converted
supernet as it is), so the two paths are interchangeable:

- inside a one-shot strategy (``RandomOneShot`` subclass): after ``mutate_model`` the supernet
  modules are ours; apply the controller's sample with ``net.set_sample(sample)`` (or NNI's
  ``for m in oneshot_module.supernet_modules(): m.resample(memo=sample)``), draw the copies with
  ``net.set_copies(k, j)``, then run the child steps with ``net(batch)``;
- outside NNI: ``set_sample`` then ``forward``. A supernet with no sample refuses to run.

One AdamW over ``net.parameters()`` is enough: parameters a child does not use get no gradient
(``grad is None`` after ``zero_grad(set_to_none=True)``, PyTorch's default), so AdamW skips
them, their state included; ``parameters_for`` lists exactly the parameters that do get one.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from autorc_nni.architecture import (
    CONTEXT_PARTS,
    ENTITY_PARTS,
    FORMATS,
    PARTS,
    SLOTS,
    Architecture,
)
from autorc_nni.heads import INTERACTIONS, part_masks
from autorc_nni.model import RCModel
from autorc_nni.poolers import POOLERS, PoolerGroup
from autorc_nni.posencs import POSENCS, PositionalEncoding, encode_with_posenc
from search_spaces.spaces import (
    SearchSpace,
    SearchSpaceError,
    from_architecture,
    get_space,
    to_architecture,
)

warnings.filterwarnings(
    "ignore", message=r".*is found to be not a nn\.Module", category=RuntimeWarning
)
from nni.mutable import Categorical, frozen_context  # noqa: E402
from nni.nas.nn.pytorch import LayerChoice, ModelSpace, MutableModule  # noqa: E402
from nni.nas.oneshot.pytorch.supermodule.base import BaseSuperNetModule  # noqa: E402
from nni.nas.oneshot.pytorch.supermodule.sampling import PathSamplingLayer  # noqa: E402

__all__ = [
    "AutoRCSupernet",
    "EncoderCopies",
    "SlotClassifier",
    "ClassifierCopies",
    "FeatureSwitch",
    "SampledFeatureSwitch",
    "FixedSwitch",
    "SampledChoice",
    "SHARINGS",
]

SHARINGS: tuple[str, ...] = ("heterogeneous", "naive")

# Encoder group of each input format (docs/design.md §4): entity tokens alter the sentence most.
HETEROGENEOUS_GROUPS: dict[str, str] = {
    "markers": "markers+standard",
    "standard": "markers+standard",
    "tokens": "tokens",
}
NAIVE_GROUP = "all"


# -- weight copies ------------------------------------------------------------------------------
class EncoderCopies(nn.Module):
    """``copies`` independent deep copies of one encoder group; ``active`` selects one."""

    def __init__(self, group: str, encoder: nn.Module, copies: int) -> None:
        super().__init__()
        self.group = group
        self.copies = nn.ModuleList(copy.deepcopy(encoder) for _ in range(copies))
        self.active = 0

    def select(self, k: int) -> None:
        if not 0 <= k < len(self.copies):
            raise IndexError(f"encoder group {self.group!r}: copy {k} of {len(self.copies)}")
        self.active = k

    @property
    def current(self) -> nn.Module:
        return self.copies[self.active]

    def extra_repr(self) -> str:
        return f"group={self.group!r}, active={self.active}"


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
        logits = self.bias
        for s, f in active:
            logits = logits + nn.functional.linear(self.dropout(f), self.blocks[s])  # (B, C)
        return logits

    def as_linear(self, slots: list[str], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight ``(C, len(slots)·dim)`` and bias of the equivalent linear layer over ``slots``
        (each block cut to its first ``dim`` columns)."""
        weight = torch.cat([self.blocks[s][:, :dim] for s in slots], dim=1)
        return weight.detach().clone(), self.bias.detach().clone()


class ClassifierCopies(nn.Module):
    """``copies`` independent copies of the slot classifier; ``active`` selects one."""

    def __init__(self, classifier: SlotClassifier, copies: int) -> None:
        super().__init__()
        self.copies = nn.ModuleList(copy.deepcopy(classifier) for _ in range(copies))
        self.active = 0

    def select(self, k: int) -> None:
        if not 0 <= k < len(self.copies):
            raise IndexError(f"classifier: copy {k} of {len(self.copies)}")
        self.active = k

    @property
    def current(self) -> SlotClassifier:
        return self.copies[self.active]

    def forward(self, features: Mapping[str, torch.Tensor | None]) -> torch.Tensor:
        return self.current(features)  # (B, C)

    def extra_repr(self) -> str:
        return f"active={self.active}"


# -- choice candidates --------------------------------------------------------------------------
class FormatInput(nn.Module):
    """``span`` candidate: reads ``batch[format]`` and encodes it with its group's active copy."""

    def __init__(self, fmt: str, encoders: EncoderCopies) -> None:
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
        return f"fmt={self.fmt!r}, group={self.encoders.group!r}"


class EncodeWithPosenc(nn.Module):
    """``posenc`` candidate: runs an encoder with one positional encoding, pads states to W."""

    def __init__(self, posenc: PositionalEncoding, width: int) -> None:
        super().__init__()
        self.posenc = posenc
        self.width = width

    def forward(self, encoder: nn.Module, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
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
    def create_fixed_module(cls, sample: dict, label: str) -> FixedSwitch:  # type: ignore[override]
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


def _keep_supernet_module(module: nn.Module, name: str, memo: dict, mutate_kwargs: dict) -> Any:
    """Mutation hook: leave modules that are already one-shot modules (``set_sample`` ran)."""
    return isinstance(module, BaseSuperNetModule)


# -- the padding guard on the shared linear layers ----------------------------------------------
class _ZeroBlock(nn.Module):
    """Parametrization ``w -> w * keep``: holds the entries that would read padding at zero."""

    def __init__(self, keep: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("keep", keep)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.keep


def _guard_padding(linear: nn.Linear, hidden: int) -> None:
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


# -- the supernet -------------------------------------------------------------------------------
class AutoRCSupernet(ModelSpace):
    """The AutoRC model space with heterogeneous sharing and weight copies (module docstring).

    Args:
        encoder_factory: a callable returning the pretrained encoder (an HF ``BertModel``-like
            module with ``config.hidden_size`` and ``pooler.dense``), or the encoder itself. It
            is called once; every copy is an independent deep copy. Prefer a callable: NNI keeps
            the constructor arguments (for ``trace_copy``), so a module passed here stays alive
            beside its copies.
        num_labels: number of classes C.
        space: ``M``, ``M1``, ``M2``, ``M3`` or a ``SearchSpace``.
        sharing: ``heterogeneous`` (AutoRC) or ``naive`` (plain ENAS, AutoRC1).
        copies: weight copies per encoder group and of the classifier (1: AutoRC2).
        max_len: distance clipping range of the positional tables (2·max_len+1 rows).
        dropout: dropout on each feature before the classifier.
        pooler_kwargs: options per pooler type, e.g. ``{"dr": {"iterations": 3}}``.
    """

    def __init__(
        self,
        encoder_factory: nn.Module | Callable[[], nn.Module],
        num_labels: int,
        space: str | SearchSpace = "M",
        sharing: str = "heterogeneous",
        copies: int = 2,
        max_len: int = 256,
        dropout: float = 0.1,
        pooler_kwargs: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        if sharing not in SHARINGS:
            raise SearchSpaceError(f"sharing must be one of {list(SHARINGS)}, got {sharing!r}")
        if not isinstance(copies, int) or copies < 1:
            raise SearchSpaceError(f"copies must be an integer >= 1, got {copies!r}")
        if not isinstance(num_labels, int) or num_labels < 1:
            raise SearchSpaceError(f"num_labels must be an integer >= 1, got {num_labels!r}")
        self.space = get_space(space)
        self.sharing = sharing
        self.num_copies = copies
        self.num_labels = num_labels
        self.max_len = max_len
        self.dropout_p = dropout
        self.pooler_kwargs = {k: dict(v) for k, v in (pooler_kwargs or {}).items()}

        encoder = encoder_factory if isinstance(encoder_factory, nn.Module) else encoder_factory()
        hidden = encoder.config.hidden_size
        init_std = getattr(encoder.config, "initializer_range", 0.02)
        dense = getattr(getattr(encoder, "pooler", None), "dense", None)
        self.hidden = hidden

        opts = self._options
        posencs = {
            o: POSENCS.get(o)(hidden, max_len=max_len, init_std=init_std) for o in opts("posenc")
        }
        self.width = width = max(p.out_dim(hidden) for p in posencs.values())

        # Encoder groups: one EncoderCopies per group, referenced by the span candidates.
        formats = opts("span")
        groups: dict[str, EncoderCopies] = {}
        for fmt in formats:
            g = self.group_of(fmt)
            if g not in groups:
                groups[g] = EncoderCopies(g, encoder, copies)
        del encoder

        # Pooler groups: entity and context (the same group under naive sharing).
        def kinds(parts: tuple[str, ...]) -> list[str]:
            return list(dict.fromkeys(k for p in parts for k in opts(f"pool_{p}")))

        def pooler_group(parts: tuple[str, ...]) -> PoolerGroup:
            # start and dr share one linear layer only under heterogeneous sharing (§4.3)
            group = PoolerGroup(
                width,
                kinds(parts),
                dense,
                self.pooler_options(),
                share_linear=sharing == "heterogeneous",
            )
            for linear in group.linears():
                _guard_padding(linear, hidden)
            return group

        if sharing == "heterogeneous":
            self.entity = pooler_group(ENTITY_PARTS)
            self.context = pooler_group(CONTEXT_PARTS)
        else:
            self.entity = self.context = pooler_group(PARTS)

        # The decisions, in DECISIONS (controller) order: a mutable if free, a module if fixed.
        def decide(label: str, candidates: dict[str, nn.Module]) -> nn.Module:
            if label in self.space.fixed:
                return candidates[self.space.fixed[label]]
            return LayerChoice(candidates, label=label)

        self.span = decide("span", {f: FormatInput(f, groups[self.group_of(f)]) for f in formats})
        self.posenc = decide("posenc", {o: EncodeWithPosenc(p, width) for o, p in posencs.items()})
        for p in PARTS:
            group = self.entity if p in ENTITY_PARTS else self.context
            setattr(
                self,
                f"pool_{p}",
                decide(f"pool_{p}", {k: group.poolers[k] for k in opts(f"pool_{p}")}),
            )
        for p in PARTS:
            label = f"use_{p}"
            switch = (
                FixedSwitch(self.space.fixed[label])
                if label in self.space.fixed
                else FeatureSwitch(label)
            )
            setattr(self, label, switch)
        for label in ("inter_e1e2", *(f"inter_{c}" for c in CONTEXT_PARTS)):
            setattr(self, label, decide(label, {o: Interact(o) for o in opts(label)}))

        slots = [s for s in SLOTS if self._slot_possible(s)]
        self.classifier = ClassifierCopies(
            SlotClassifier(width, num_labels, slots, dropout), copies
        )

    # -- construction helpers -------------------------------------------------------------
    def _options(self, label: str) -> tuple[Any, ...]:
        """The options a decision can take in this space (one, if fixed)."""
        if label in self.space.fixed:
            return (self.space.fixed[label],)
        return self.space.decisions[label]

    def _slot_possible(self, slot: str) -> bool:
        if slot in PARTS:
            return True in self._options(f"use_{slot}")
        label = "inter_e1e2" if slot == "e1e2" else f"inter_{slot[:2]}"
        return any(o != "none" for o in self._options(label))

    def pooler_options(self) -> dict[str, dict[str, Any]]:
        """Options per pooler type: what each pooler needs to serve this supernet's width
        (``Pooler.options_at``), then the user's ``pooler_kwargs`` over them."""
        options = {
            k: {**POOLERS.get(k).options_at(self.width), **self.pooler_kwargs.get(k, {})}
            for k in POOLERS
        }
        return {k: v for k, v in options.items() if v}

    def group_of(self, fmt: str) -> str:
        """The encoder group of an input format under this supernet's sharing."""
        if fmt not in FORMATS:
            raise SearchSpaceError(f"unknown input format {fmt!r}; known: {list(FORMATS)}")
        return NAIVE_GROUP if self.sharing == "naive" else HETEROGENEOUS_GROUPS[fmt]

    # -- NNI integration ------------------------------------------------------------------
    def extra_oneshot_hooks(self, strategy: Any) -> list[Callable[..., Any]]:
        """Mutation hooks NNI's one-shot strategies call before their defaults."""
        return [_keep_supernet_module, SampledChoice.mutate, SampledFeatureSwitch.mutate]

    def _make_sampleable(self) -> None:
        """Turn the decisions into one-shot modules in place (idempotent)."""
        with frozen_context():
            for name, child in list(self.named_children()):
                for hook in (SampledChoice.mutate, SampledFeatureSwitch.mutate):
                    new = hook(child, name, {}, {})
                    if new is not None:
                        setattr(self, name, new)
                        break

    def freeze(self, sample: Mapping[str, Any]) -> nn.Module:
        """The child of ``sample`` (validated: it must be a point of the space with a feature)."""
        to_architecture(sample, self.space)
        return super().freeze(dict(sample))

    # -- samples and copies ----------------------------------------------------------------
    def set_sample(self, sample: Mapping[str, Any]) -> Architecture:
        """Apply ``sample`` (``label -> value`` over the free decisions); returns its
        ``Architecture``. Raises ``SearchSpaceError`` / ``ArchitectureError`` if it is not a
        valid point of the space."""
        arch = to_architecture(sample, self.space)
        self._make_sampleable()
        if not all(isinstance(getattr(self, d), BaseSuperNetModule) for d in self.space.decisions):
            raise RuntimeError("this is a frozen child: its decisions are fixed, nothing to set")
        memo = dict(sample)
        for m in self.modules():
            if isinstance(m, BaseSuperNetModule):
                m.resample(memo)
        return arch

    def current_sample(self) -> dict[str, Any]:
        """The sample the supernet runs now, read from its one-shot modules."""
        out: dict[str, Any] = {}
        for label in self.space.decisions:
            m = getattr(self, label)
            value = getattr(m, "_sampled", None)
            if not isinstance(m, BaseSuperNetModule) or value is None:
                raise RuntimeError(f"decision {label!r} has no value: call set_sample(sample)")
            out[label] = value
        return out

    def current_architecture(self) -> Architecture:
        return to_architecture(self.current_sample(), self.space)

    def copy_groups(self) -> list[str]:
        """Names of the encoder groups: ``markers+standard``, ``tokens`` or ``all``."""
        return list(self._encoder_groups())

    def _encoder_groups(self) -> dict[str, EncoderCopies]:
        groups: dict[str, EncoderCopies] = {}
        for m in self.modules():
            if isinstance(m, EncoderCopies):
                groups.setdefault(m.group, m)
        return groups

    def set_copies(self, encoder: int, classifier: int) -> None:
        """Select weight copy ``encoder`` of every encoder group and copy ``classifier`` of the
        classifier (only the group of the current ``span`` is used by the forward)."""
        for m in self.modules():
            if isinstance(m, EncoderCopies):
                m.select(encoder)
        self.classifier.select(classifier)

    def current_copies(self) -> tuple[int, int]:
        return next(iter(self._encoder_groups().values())).active, self.classifier.active

    # -- forward ---------------------------------------------------------------------------
    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """``batch`` from ``autorc_nni.batching.collate`` -> logits ``(B, C)``."""
        if any(type(m) in (LayerChoice, FeatureSwitch) for m in self.children()):
            raise RuntimeError(
                "AutoRCSupernet has no sample: call set_sample(sample) (or freeze(sample))"
            )
        states, inputs = self.span(batch, self.posenc)  # (B, L, W)
        masks = part_masks(inputs["spans"], states.shape[1])  # (B, 5, L)
        pooled: dict[str, torch.Tensor] = {}

        def part(p: str) -> torch.Tensor:  # pools a part once, on demand
            if p not in pooled:
                pooled[p] = getattr(self, f"pool_{p}")(states, masks[:, PARTS.index(p)])
            return pooled[p]  # (B, W)

        features: dict[str, torch.Tensor | None] = {
            p: getattr(self, f"use_{p}")(lambda p=p: part(p)) for p in PARTS
        }
        e1e2 = self.inter_e1e2(part, [("e1", "e2")])
        features["e1e2"] = None if e1e2 is None else e1e2[0]
        for c in CONTEXT_PARTS:
            out = getattr(self, f"inter_{c}")(part, [(c, "e1"), (c, "e2")])
            features[f"{c}e1"], features[f"{c}e2"] = out if out is not None else (None, None)
        return self.classifier(features)  # (B, C)

    # -- what a child touches, and the equivalent RCModel ----------------------------------
    def _encoder_copy(self, fmt: str, k: int) -> nn.Module:
        """Copy ``k`` of the encoder group that reads format ``fmt``."""
        group = self._encoder_groups()[self.group_of(fmt)]
        if not 0 <= k < len(group.copies):
            raise IndexError(f"encoder group {group.group!r}: copy {k} of {len(group.copies)}")
        return group.copies[k]

    def _candidate(self, label: str, value: Any) -> nn.Module:
        m = getattr(self, label)
        return m[value] if isinstance(m, LayerChoice) else m

    def parameters_for(
        self,
        sample: Mapping[str, Any] | None = None,
        encoder_copy: int | None = None,
        classifier_copy: int | None = None,
    ) -> dict[str, nn.Parameter]:
        """``{name: parameter}`` of every parameter a child step under ``sample`` and these copies
        gives a gradient to (defaults: the current sample and copies).

        That is the drawn encoder copy (without its pooler layer, which a child never reads),
        the chosen positional tables, the poolers of the needed parts with their shared linear
        layer, and the drawn classifier copy's bias and active slot blocks.
        """
        if sample is None:
            arch = self.current_architecture()
        else:
            arch = to_architecture(sample, self.space)
        enc, cls = self.current_copies()
        enc = enc if encoder_copy is None else encoder_copy
        cls = cls if classifier_copy is None else classifier_copy
        encoder = self._encoder_copy(arch.span, enc)
        chosen = [p for n, p in encoder.named_parameters() if not n.startswith("pooler.")]
        chosen += list(self._candidate("posenc", arch.posenc).parameters())
        for p in arch.needed_parts():  # the pooler, with the group's shared linear if any
            group = self.entity if p in ENTITY_PARTS else self.context
            chosen += list(group.poolers[arch.pooler(p)].parameters())
        classifier = self.classifier.copies[cls]
        chosen += [classifier.bias] + [classifier.blocks[s] for s in arch.slots()]
        names = {id(p): n for n, p in self.named_parameters()}
        return {names[id(p)]: p for p in chosen}

    def to_rcmodel(
        self,
        arch: Architecture | Mapping[str, Any],
        encoder_copy: int = 0,
        classifier_copy: int = 0,
    ) -> RCModel:
        """An ``RCModel`` of ``arch`` (or a sample of this space) with this supernet's weights,
        copied: in eval mode it computes the same logits as ``freeze(sample)``.

        Widths: without ``concat`` the model is H wide; its poolers and classifier take the
        first H rows/columns of the supernet's W-wide ones (exact, since the supernet's padding
        stays zero). ``self_attn`` scores ``attn_dim = W`` wide in both.
        """
        if not isinstance(arch, Architecture):
            arch = to_architecture(arch, self.space)
        from_architecture(arch, self.space)  # raises if arch is not in this space
        encoder = copy.deepcopy(self._encoder_copy(arch.span, encoder_copy))
        with torch.random.fork_rng(devices=[]):  # RCModel's fresh init must not move the RNG
            model = RCModel(
                arch,
                encoder,
                num_labels=self.num_labels,
                dropout=self.dropout_p,
                max_len=self.max_len,
                pooler_kwargs=self.pooler_options(),
            )
        model.to(self.classifier.current.bias.device)
        source = {
            "posenc": self._candidate("posenc", arch.posenc).posenc,
            "entity": self.entity,
            "context": self.context,
        }
        # The RCModel's group linear ("entity.linear.*") is shared by its start and dr poolers;
        # under naive sharing the supernet has one per pooler: read the one the model uses.
        group_linear = {}
        for head, parts in (("entity", ENTITY_PARTS), ("context", CONTEXT_PARTS)):
            group = source[head]
            if group.linear is not None:
                continue
            kinds = {arch.pooler(p) for p in arch.needed_parts() if p in parts}
            kinds = sorted(k for k in kinds if group.poolers[k].uses_linear)
            if len(kinds) > 1:
                raise SearchSpaceError(
                    f"{head} parts pool with both {kinds}, which have separate linear layers "
                    "under naive sharing: no RCModel (one shared linear per group) computes it"
                )
            if kinds:
                group_linear[head] = f"poolers.{kinds[0]}.linear"
        with torch.no_grad():
            for name, target in model.named_parameters():
                head, _, rest = name.partition(".")
                if head not in source:
                    continue  # the encoder (deep-copied) and the classifier (below)
                if head in group_linear and rest.startswith("linear."):
                    rest = group_linear[head] + rest[len("linear") :]
                value = _get_tensor(source[head], rest)
                target.copy_(value[tuple(slice(0, s) for s in target.shape)])
            classifier = self.classifier.copies[classifier_copy]
            weight, bias = classifier.as_linear(arch.slots(), model.dim)
            model.classifier.linear.weight.copy_(weight)
            model.classifier.linear.bias.copy_(bias)
        return model


def _get_tensor(module: nn.Module, path: str) -> torch.Tensor:
    """``module.<path>`` as a tensor (a parametrized weight reads its effective value)."""
    obj: Any = module
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj
