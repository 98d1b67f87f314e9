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

from collections.abc import Callable, Mapping
from typing import Any, cast

import torch
from torch import nn

from autorc_nni.architecture import (
    CONTEXT_PARTS,
    DECISIONS,
    ENTITY_PARTS,
    FORMATS,
    PARTS,
    SLOTS,
    Architecture,
)
from autorc_nni.heads import part_masks
from autorc_nni.model import RCModel
from autorc_nni.poolers import POOLERS, PoolerGroup
from autorc_nni.posencs import POSENCS, PositionalEncoding
from search_spaces.candidates import (
    CANDIDATES,
    FeatureSwitch,
    FixedSwitch,
    SampledChoice,
    SampledFeatureSwitch,
    SlotClassifier,
    family,
    guard_padding,
    keep_supernet_module,
)
from search_spaces.child import to_rcmodel
from search_spaces.copies import WeightCopies
from search_spaces.quiet import quiet_nni
from search_spaces.spaces import SearchSpace, SearchSpaceError, get_space, to_architecture

quiet_nni()  # before NNI is imported (search_spaces.quiet)
from nni.mutable import frozen_context  # noqa: E402
from nni.nas.nn.pytorch import LayerChoice, ModelSpace  # noqa: E402
from nni.nas.oneshot.pytorch.supermodule.base import BaseSuperNetModule  # noqa: E402

__all__ = ["AutoRCSupernet", "SHARINGS", "HETEROGENEOUS_GROUPS", "NAIVE_GROUP"]

SHARINGS: tuple[str, ...] = ("heterogeneous", "naive")

# Encoder group of each input format (docs/design.md §4): entity tokens alter the sentence most.
HETEROGENEOUS_GROUPS: dict[str, str] = {
    "markers": "markers+standard",
    "standard": "markers+standard",
    "tokens": "tokens",
    "levitated": "markers+standard",  # the text as standard, then marker pairs as markers
}
NAIVE_GROUP = "all"


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

        # an HF BertModel-like module, read by duck typing (``config``, ``pooler.dense``):
        # ``nn.Module`` types such attributes as ``Tensor | Module``
        encoder: Any = (
            encoder_factory if isinstance(encoder_factory, nn.Module) else encoder_factory()
        )
        hidden: int = encoder.config.hidden_size
        init_std = getattr(encoder.config, "initializer_range", 0.02)
        dense = getattr(getattr(encoder, "pooler", None), "dense", None)
        self.hidden = hidden

        opts = self._options
        # shared parts the candidates read (CANDIDATES), built in this order (it fixes the
        # draws of every initialisation): positional tables, encoder copies, pooler groups
        # (plain dicts: the modules are registered once, inside the choices that hold them)
        self.posencs: dict[str, PositionalEncoding] = {
            o: POSENCS.get(o)(hidden, max_len=max_len, init_std=init_std) for o in opts("posenc")
        }
        width = max(p.out_dim(hidden) for p in self.posencs.values())
        self.width: int = width
        self._encoders: dict[str, WeightCopies] = {}  # group -> copies (registered via span)
        for fmt in opts("span"):
            g = self.group_of(fmt)
            self._encoders.setdefault(g, WeightCopies(g, encoder, copies))
        del encoder

        def pooler_group(parts: tuple[str, ...]) -> PoolerGroup:
            kinds = list(dict.fromkeys(k for p in parts for k in opts(f"pool_{p}")))
            # start and dr share one linear layer only under heterogeneous sharing (§4.3)
            group = PoolerGroup(
                width, kinds, dense, self.pooler_options(), share_linear=sharing == "heterogeneous"
            )
            for linear in group.linears():
                guard_padding(linear, hidden)
            return group

        if sharing == "heterogeneous":
            self.entity = pooler_group(ENTITY_PARTS)
            self.context = pooler_group(CONTEXT_PARTS)
        else:
            self.entity = self.context = pooler_group(PARTS)

        # The decisions, in DECISIONS (controller) order: a mutable if free, a module if fixed.
        for label in DECISIONS:
            fixed = self.space.fixed.get(label)
            if label.startswith("use_"):
                setattr(self, label, FeatureSwitch(label) if fixed is None else FixedSwitch(fixed))
                continue
            build = CANDIDATES[family(label)]
            candidates = {o: build(self, label, o) for o in opts(label)}
            setattr(
                self,
                label,
                candidates[fixed] if fixed is not None else LayerChoice(candidates, label=label),
            )

        slots = [s for s in SLOTS if self._slot_possible(s)]
        self.classifier = WeightCopies(
            "classifier", SlotClassifier(width, num_labels, slots, dropout), copies
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

    def child_options(self) -> dict[str, Any]:
        """The ``RCModel`` settings of this supernet's children (labels, dropout, length,
        poolers)."""
        return {
            "num_labels": self.num_labels,
            "dropout": self.dropout_p,
            "max_len": self.max_len,
            "pooler_kwargs": self.pooler_options(),
        }

    def group_of(self, fmt: str) -> str:
        """The encoder group of an input format under this supernet's sharing."""
        if fmt not in FORMATS:
            raise SearchSpaceError(f"unknown input format {fmt!r}; known: {list(FORMATS)}")
        return NAIVE_GROUP if self.sharing == "naive" else HETEROGENEOUS_GROUPS[fmt]

    # -- NNI integration ------------------------------------------------------------------
    def extra_oneshot_hooks(self, strategy: Any) -> list[Callable[..., Any]]:
        """Mutation hooks NNI's one-shot strategies call before their defaults."""
        return [keep_supernet_module, SampledChoice.mutate, SampledFeatureSwitch.mutate]

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
        return list(self._encoders)

    def encoder_group(self, fmt: str) -> WeightCopies:
        """The encoder copies that read input format ``fmt``."""
        return self._encoders[self.group_of(fmt)]

    def pooler_group(self, part: str) -> PoolerGroup:
        """The pooler group of a part: ``entity`` for e1/e2, ``context`` for c0/c1/c2."""
        return self.entity if part in ENTITY_PARTS else self.context

    def set_copies(self, encoder: int, classifier: int) -> None:
        """Select weight copy ``encoder`` of every encoder group and copy ``classifier`` of the
        classifier (only the group of the current ``span`` is used by the forward)."""
        for group in self._encoders.values():
            group.select(encoder)
        self.classifier.select(classifier)

    def current_copies(self) -> tuple[int, int]:
        return next(iter(self._encoders.values())).active, self.classifier.active

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
        encoder = self.encoder_group(arch.span).copy(enc)
        chosen = [p for n, p in encoder.named_parameters() if not n.startswith("pooler.")]
        chosen += list(self.posencs[arch.posenc].parameters())
        for p in arch.needed_parts():  # the pooler, with the group's shared linear if any
            chosen += list(self.pooler_group(p).poolers[arch.pooler(p)].parameters())
        # the classifier's copies are SlotClassifiers (``WeightCopies`` types them as modules)
        classifier = cast(SlotClassifier, self.classifier.copy(cls))
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
        copied (``search_spaces.child.to_rcmodel``)."""
        if not isinstance(arch, Architecture):
            arch = to_architecture(arch, self.space)
        return to_rcmodel(self, arch, encoder_copy, classifier_copy)
