"""A supernet child as a standalone ``RCModel`` with the supernet's weights (copied)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import nn

from autorc_nni.architecture import CONTEXT_PARTS, ENTITY_PARTS, Architecture
from autorc_nni.model import RCModel
from search_spaces.spaces import SearchSpaceError, from_architecture

if TYPE_CHECKING:
    from search_spaces.candidates import SlotClassifier
    from search_spaces.supernet import AutoRCSupernet

__all__ = ["to_rcmodel"]


def to_rcmodel(
    net: AutoRCSupernet, arch: Architecture, encoder_copy: int = 0, classifier_copy: int = 0
) -> RCModel:
    """An ``RCModel`` of ``arch`` with ``net``'s weights, copied: in eval mode it computes the
    same logits as ``net.freeze(sample)``.

    Widths: without ``concat`` the model is H wide; its poolers and classifier take the first H
    rows/columns of the supernet's W-wide ones (exact, since the supernet's padding stays zero).
    ``self_attn`` scores ``attn_dim = W`` wide in both (``Pooler.options_at``).
    """
    from_architecture(arch, net.space)  # raises if arch is not in this space
    encoder = copy.deepcopy(net.encoder_group(arch.span).copy(encoder_copy))
    with torch.random.fork_rng(devices=[]):  # RCModel's fresh init must not move the RNG
        model = RCModel(arch, encoder, **net.child_options())
    # the classifier's copies are SlotClassifiers (``WeightCopies`` types them as modules)
    model.to(cast("SlotClassifier", net.classifier.current).bias.device)
    source = {
        "posenc": net.posencs[arch.posenc],
        "entity": net.entity,
        "context": net.context,
    }
    # The RCModel's group linear ("entity.linear.*") is shared by its start and dr poolers;
    # under naive sharing the supernet has one per pooler: read the one the model uses.
    group_linear: dict[str, str] = {}
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
        classifier = cast("SlotClassifier", net.classifier.copy(classifier_copy))
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
