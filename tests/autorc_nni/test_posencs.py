"""Contracts over every registered entity positional encoding, and their exact values."""

from __future__ import annotations

import pytest
import torch

from autorc_nni.architecture import POSENC_NAMES
from autorc_nni.posencs import CONCAT_SIZE, POSENCS

H, MAXLEN = 16, 10


def test_registry_matches_search_space():
    assert sorted(POSENCS.names()) == sorted(POSENC_NAMES)


def dists(length: int, starts=((2, 5), (0, 7))) -> torch.Tensor:
    """(B, 2, L): token index minus the start of e1 / e2, as the collate function makes it."""
    pos = torch.arange(length)
    return torch.stack([torch.stack([pos - s1, pos - s2]) for s1, s2 in starts])


@pytest.mark.parametrize("name", POSENCS.names())
def test_posenc_contract(name):
    torch.manual_seed(0)
    pe = POSENCS.get(name)(H, max_len=MAXLEN)
    x, d = torch.randn(2, 9, H, requires_grad=True), dists(9)
    emb = pe.embed(x, d) if pe.modifies_input else x
    out = pe.extend(emb, d)
    assert emb.shape == (2, 9, H)
    assert out.shape == (2, 9, pe.out_dim(H))
    assert torch.isfinite(out).all()
    # padding invariance: the first 9 positions do not depend on the padded length
    xp, dp = torch.cat([x, torch.randn(2, 4, H)], dim=1), dists(13)
    outp = pe.extend(pe.embed(xp, dp) if pe.modifies_input else xp, dp)
    torch.testing.assert_close(outp[:, :9], out)
    out.pow(2).sum().backward()
    assert x.grad.abs().sum() > 0
    for pname, p in pe.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname


def test_posenc_widths_and_tables():
    assert POSENCS.get("none")(H).out_dim(H) == H and not list(POSENCS.get("none")(H).parameters())
    add = POSENCS.get("add")(H, max_len=MAXLEN)
    assert add.out_dim(H) == H and add.modifies_input
    assert [tuple(t.weight.shape) for t in add.tables] == [(2 * MAXLEN + 1, H)] * 2
    cat = POSENCS.get("concat")(H, max_len=MAXLEN)
    assert cat.out_dim(H) == H + 2 * CONCAT_SIZE == H + 24 and not cat.modifies_input
    assert [tuple(t.weight.shape) for t in cat.tables] == [(2 * MAXLEN + 1, 12)] * 2


def test_posenc_values_use_clipped_distance_of_each_entity():
    add = POSENCS.get("add")(H, max_len=MAXLEN)
    x = torch.zeros(1, 30, H)
    d = dists(30, starts=((3, 20),))  # e1 at 3, e2 at 20; distances reach -20 and +26
    out = add.embed(x, d)
    t1, t2 = add.tables[0].weight, add.tables[1].weight
    torch.testing.assert_close(out[0, 3], t1[MAXLEN] + t2[MAXLEN - 10])  # d1 = 0, d2 = -17 -> -10
    torch.testing.assert_close(out[0, 29], t1[2 * MAXLEN] + t2[MAXLEN + 9])  # d1 = 26 -> +10
    cat = POSENCS.get("concat")(H, max_len=MAXLEN)
    s = torch.randn(1, 30, H)
    out = cat.extend(s, d)
    torch.testing.assert_close(out[0, 5, :H], s[0, 5])
    torch.testing.assert_close(out[0, 5, H : H + 12], cat.tables[0].weight[MAXLEN + 2])
    torch.testing.assert_close(out[0, 5, H + 12 :], cat.tables[1].weight[MAXLEN - 10])
