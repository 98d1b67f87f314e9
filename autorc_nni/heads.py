"""Between the pooled parts and the logits: masks, interactions, features, the classifier.

(The entity positional encodings are in ``autorc_nni.posencs``, the poolers in
``autorc_nni.poolers``.)

- ``part_masks``: the five parts (e1, e2, c0, c1, c2) as boolean masks from their spans.
- ``INTERACTIONS``: feature interactions (paper §3.5) — ``dot`` (element-wise product) and
  ``minus`` (absolute difference). ``none`` is the absence of an interaction, not a module.
- ``assemble_features``: the classifier input over an architecture's ``slots()``.
- ``Classifier``: dropout + linear over the concatenated features.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from autorc_nni.architecture import INTERACTION_NAMES, PARTS, Architecture
from autorc_nni.registry import Registry

__all__ = [
    "INTERACTIONS",
    "Interaction",
    "DotInteraction",
    "MinusInteraction",
    "part_masks",
    "assemble_features",
    "Classifier",
]

INTERACTIONS: Registry[type[Interaction]] = Registry("interaction")


# -- interactions ------------------------------------------------------------------------------
class Interaction(nn.Module, ABC):
    """Base of the parameter-free feature interactions: ``(B, D), (B, D) -> (B, D)``.

    Life cycle: built once (no arguments); ``forward(a, b)`` is called per active interaction
    slot per batch with two pooled part vectors of the same width.
    """

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.shape != b.shape:
            raise ValueError(f"{type(self).__name__}: shapes {tuple(a.shape)} != {tuple(b.shape)}")
        return self._combine(a, b)

    @abstractmethod
    def _combine(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``(B, D), (B, D) -> (B, D)``."""


@INTERACTIONS.register("dot")
class DotInteraction(Interaction):
    """Element-wise product ``a ⊙ b``."""

    def _combine(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b  # (B, D)


@INTERACTIONS.register("minus")
class MinusInteraction(Interaction):
    """Absolute difference ``|a − b|``."""

    def _combine(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a - b).abs()  # (B, D)


def part_masks(spans: torch.Tensor, length: int) -> torch.Tensor:
    """``spans (B, 5, 2)`` [start, end) in PARTS order -> ``(B, 5, length)`` bool masks.

    An empty span (``start >= end``) gives an all-False row.
    """
    if spans.dim() != 3 or spans.shape[1:] != (len(PARTS), 2):
        raise ValueError(f"spans must be (B, {len(PARTS)}, 2), got {tuple(spans.shape)}")
    pos = torch.arange(length, device=spans.device).view(1, 1, -1)  # (1, 1, L)
    return (pos >= spans[..., :1]) & (pos < spans[..., 1:])  # (B, 5, L)


def assemble_features(
    arch: Architecture,
    pooled: dict[str, torch.Tensor],
    interactions: nn.ModuleDict | dict[str, nn.Module],
) -> torch.Tensor:
    """Concatenate the architecture's active slots, in ``arch.slots()`` order.

    ``pooled`` maps each part of ``arch.needed_parts()`` to its ``(B, D)`` vector;
    ``interactions`` maps an interaction name (``dot``, ``minus``) to its module. A part slot
    (``e1`` …) is the pooled part itself; ``e1e2`` is ``inter_e1e2(e1, e2)``; ``cie1`` /
    ``cie2`` is ``inter_ci(ci, e1)`` / ``inter_ci(ci, e2)``. Returns ``(B, len(slots) · D)``.
    """
    feats = []
    for slot in arch.slots():
        if slot in PARTS:
            feats.append(pooled[slot])  # (B, D)
        else:
            a, b = slot[:2], slot[2:]
            feats.append(interactions[arch.interaction(slot)](pooled[a], pooled[b]))  # (B, D)
    return torch.cat(feats, dim=-1)  # (B, S·D)


class Classifier(nn.Module):
    """Dropout + linear over the concatenated active features: ``(B, F) -> (B, C)``."""

    def __init__(self, in_dim: int, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_dim, num_labels)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(features))  # (B, F) -> (B, C)


INTERACTIONS.check_names(
    set(INTERACTION_NAMES) - {"none"}, "autorc_nni.architecture.INTERACTION_NAMES"
)
