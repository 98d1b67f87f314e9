"""A small NNI model space with the supernet's interface, for testing the strategy alone.

Batches are ``{"x": (B, 4) float, "labels": (B,) long}``; the label is ``x[:, 0] > 0``. The
decision ``use_c1`` chooses between a path that sees ``x`` and one that sees nothing, so only
``use_c1=True`` can learn; ``pool_c1`` is a distractor with two equivalent paths.
"""

from __future__ import annotations

import torch
from nni.nas.nn.pytorch import LayerChoice, ModelSpace
from torch import nn

from autorc_nni.architecture import Architecture
from search_spaces.candidates import FeatureSwitch, SampledFeatureSwitch, keep_supernet_module
from search_spaces.spaces import SearchSpace


class ToySpace(ModelSpace):
    def __init__(self, copies: int = 2, sharing: str = "heterogeneous") -> None:
        super().__init__()
        self.num_copies, self.sharing = copies, sharing
        self.encoders = nn.ModuleList(nn.Linear(4, 8) for _ in range(copies))
        self.use = FeatureSwitch("use_c1")  # True: the path sees x; False: it sees nothing
        self.pool = LayerChoice({"avg": nn.Tanh(), "max": nn.Tanh()}, label="pool_c1")
        self.classifiers = nn.ModuleList(nn.Linear(8, 2) for _ in range(copies))
        self.active = (0, 0)

    def set_copies(self, encoder: int, classifier: int) -> None:
        self.active = (encoder, classifier)

    def extra_oneshot_hooks(self, strategy):
        return [keep_supernet_module, SampledFeatureSwitch.mutate]

    def forward(self, batch):
        e, c = self.active
        h = self.encoders[e](batch["x"])  # (B, 4) -> (B, 8)
        used = self.use(lambda: h)  # (B, 8), or None when off
        return self.classifiers[c](self.pool(torch.zeros_like(h) if used is None else used))


FIXED = {k: v for k, v in Architecture().to_dict().items() if k not in ("use_c1", "pool_c1")}
# The toy's space: its two decisions free, every other fixed to the default architecture's.
TOY_SPACE = SearchSpace(
    "toy", "pool_c1 and use_c1", {"pool_c1": ("avg", "max"), "use_c1": (True, False)}, FIXED
)


def toy_rows(n: int, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return [{"x": x[i], "label": int(x[i, 0] > 0)} for i in range(n)]


def toy_collate(rows: list[dict]) -> dict:
    return {
        "x": torch.stack([r["x"] for r in rows]),
        "labels": torch.tensor([r["label"] for r in rows]),
    }
