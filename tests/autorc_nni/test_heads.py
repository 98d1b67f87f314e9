"""Contracts over every registered interaction; masks, features, the classifier."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autorc_nni.architecture import INTERACTION_NAMES, Architecture
from autorc_nni.heads import INTERACTIONS, Classifier, assemble_features, part_masks

H, MAXLEN = 16, 10


def test_registries_match_search_space():
    assert sorted(INTERACTIONS.names()) == sorted(set(INTERACTION_NAMES) - {"none"})


# -- interactions ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", INTERACTIONS.names())
def test_interaction_contract(name):
    op = INTERACTIONS.get(name)()
    a = torch.randn(3, H, requires_grad=True)
    b = torch.randn(3, H, requires_grad=True)
    out = op(a, b)
    assert out.shape == (3, H) and torch.isfinite(out).all()
    for i in range(3):  # row-wise: a batch gives the same as one example at a time
        torch.testing.assert_close(op(a[i : i + 1], b[i : i + 1])[0], out[i])
    out.sum().backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0
    z = torch.zeros(2, H)  # empty parts (zeros) interact to finite values
    assert torch.isfinite(op(z, z)).all()
    assert list(op.parameters()) == []
    with pytest.raises(ValueError, match="shapes"):
        op(torch.randn(2, H), torch.randn(2, H + 1))


def test_interaction_values():
    a, b = torch.tensor([[1.0, -2.0, 3.0]]), torch.tensor([[4.0, 5.0, -6.0]])
    torch.testing.assert_close(INTERACTIONS.get("dot")()(a, b), torch.tensor([[4.0, -10.0, -18.0]]))
    torch.testing.assert_close(INTERACTIONS.get("minus")()(a, b), torch.tensor([[3.0, 7.0, 9.0]]))


# -- masks, features, classifier ---------------------------------------------------------------
def test_part_masks():
    spans = torch.tensor(
        [
            [[1, 3], [4, 6], [0, 1], [3, 4], [6, 8]],  # e1 e2 c0 c1 c2
            [[5, 6], [1, 3], [0, 1], [3, 3], [6, 7]],
        ]
    )  # reversed, empty c1
    m = part_masks(spans, 9)
    assert m.shape == (2, 5, 9) and m.dtype == torch.bool
    assert m[0, 0].tolist() == [False, True, True] + [False] * 6
    assert m[0].sum(0).tolist() == [1] * 8 + [0]  # the parts tile the sequence; padding is in none
    assert not m[1, 3].any()
    with pytest.raises(ValueError, match="spans must be"):
        part_masks(torch.zeros(2, 4, 2, dtype=torch.long), 9)


def test_assemble_features_follows_slots():
    arch = Architecture(use_e1=True, use_e2=False, use_c1=True, inter_e1e2="minus", inter_c0="dot")
    assert arch.slots() == ["e1", "c1", "e1e2", "c0e1", "c0e2"]
    pooled = {p: torch.randn(2, H) for p in arch.needed_parts()}
    ops = nn.ModuleDict({n: INTERACTIONS.get(n)() for n in ("dot", "minus")})
    f = assemble_features(arch, pooled, ops)
    assert f.shape == (2, 5 * H)
    blocks = f.split(H, dim=-1)
    torch.testing.assert_close(blocks[0], pooled["e1"])
    torch.testing.assert_close(blocks[1], pooled["c1"])
    torch.testing.assert_close(blocks[2], (pooled["e1"] - pooled["e2"]).abs())
    torch.testing.assert_close(blocks[3], pooled["c0"] * pooled["e1"])
    torch.testing.assert_close(blocks[4], pooled["c0"] * pooled["e2"])


def test_classifier_dropout_and_shape():
    torch.manual_seed(0)
    clf = Classifier(3 * H, 5, dropout=0.5)
    x = torch.randn(4, 3 * H)
    assert clf(x).shape == (4, 5)
    clf.eval()
    torch.testing.assert_close(clf(x), clf.linear(x))
    clf.train()
    assert not torch.allclose(clf(x), clf.linear(x))
