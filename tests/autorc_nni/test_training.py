"""The training toolkit fine-tuning and the search share: one decay rule, one RNG snapshot,
one resume check."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from autorc_nni.config import ConfigError
from autorc_nni.training import check_resumable, decay_groups, rng_state, set_rng_state


class _Scale(nn.Module):
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return 2 * w


def test_one_decay_rule_vectors_and_norm_weights_are_not_decayed():
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2, bias=False))
    parametrize.register_parametrization(model[0], "bias", _Scale())  # bias.original: a vector
    decay, plain = decay_groups(model, 0.01)
    assert decay["weight_decay"] == 0.01 and plain["weight_decay"] == 0.0
    ids = lambda group: {id(p) for p in group["params"]}  # noqa: E731
    assert ids(decay) == {id(model[0].weight), id(model[2].weight)}
    vectors = {id(model[0].parametrizations.bias.original), id(model[1].weight), id(model[1].bias)}
    assert ids(plain) == vectors
    assert len(decay_groups(nn.LayerNorm(3), 0.1)) == 1  # an empty group is left out


def test_the_search_and_fine_tuning_use_the_same_rule():
    from autorc_nni import training
    from strategies import module

    assert module.decay_groups is training.decay_groups


def test_rng_snapshot_restores_every_generator():
    state = rng_state()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


def test_resume_check_refuses_a_changed_key_and_allows_free_ones(tmp_path: Path):
    saved = {"lr": 1e-4, "device": "cpu", "epochs": 3}
    check_resumable(saved, {**saved, "device": "cuda"}, {"device"}, tmp_path)
    with pytest.raises(ConfigError, match=r"cannot resume with a different config \(lr: 0.0001"):
        check_resumable(saved, {**saved, "lr": 2e-5}, {"device"}, tmp_path)


def test_resume_check_reads_a_key_added_since_as_its_value_before(tmp_path: Path):
    """A run saved before a key existed (``added``: the value in effect before it) resumes at
    that value and is refused at another, the message naming both."""
    saved = {"lr": 1e-4}
    added = {"group_text": False, "restrict": {}}
    check_resumable(saved, {**saved, "group_text": False, "restrict": {}}, set(), tmp_path, added)
    with pytest.raises(ConfigError, match=r"group_text: False -> True"):
        check_resumable(
            saved, {**saved, "group_text": True, "restrict": {}}, set(), tmp_path, added
        )
    with pytest.raises(ConfigError, match=r"restrict: None -> \{\}"):  # not declared: refused
        check_resumable(saved, {**saved, "restrict": {}}, set(), tmp_path)
