"""One contract over every registered pooler, plus the exact value of each."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autorc_nni.architecture import POOLER_NAMES
from autorc_nni.poolers import POOLERS, PoolerGroup, linear_from_dense, squash

D = 8


def make(name: str, dim: int = D, **kw) -> nn.Module:
    torch.manual_seed(0)
    return POOLERS.get(name)(dim, **kw)


def masks() -> torch.Tensor:
    """(4, 7): a middle range, a single token, the whole row, and an empty part."""
    m = torch.zeros(4, 7, dtype=torch.bool)
    m[0, 2:5] = True
    m[1, 6] = True
    m[2, :] = True
    return m


def test_registry_matches_search_space():
    assert sorted(POOLERS.names()) == sorted(POOLER_NAMES)


def test_a_registry_that_drifts_from_its_table_is_refused():
    with pytest.raises(
        KeyError, match=r"registered but not in the table \['avg'\].*not registered \['mean'\]"
    ):
        POOLERS.check_names([n for n in POOLER_NAMES if n != "avg"] + ["mean"], "the table")


def test_options_at_width_keep_the_scoring_layer_wide():
    assert POOLERS.get("self_attn").options_at(40) == {"attn_dim": 40}
    assert all(POOLERS.get(n).options_at(40) == {} for n in POOLERS if n != "self_attn")


@pytest.mark.parametrize("name", POOLERS.names())
class TestPoolerContract:
    def test_shape_and_finite(self, name):
        out = make(name)(torch.randn(4, 7, D), masks())
        assert out.shape == (4, D)
        assert torch.isfinite(out).all()

    def test_empty_part_gives_exact_zeros(self, name):
        out = make(name)(torch.randn(4, 7, D), masks())
        assert torch.equal(out[3], torch.zeros(D))
        assert out[:3].abs().sum(dim=1).gt(0).all()  # non-empty parts are not zero

    def test_states_outside_mask_do_not_matter(self, name):
        pooler, m = make(name), masks()
        states = torch.randn(4, 7, D)
        noisy = torch.where(m.unsqueeze(-1), states, 100 * torch.randn(4, 7, D))
        torch.testing.assert_close(pooler(states, m), pooler(noisy, m), rtol=0, atol=1e-6)

    def test_padding_invariance(self, name):
        pooler, m = make(name), masks()
        states = torch.randn(4, 7, D)
        padded = torch.cat([states, torch.randn(4, 5, D)], dim=1)  # (4, 12, D)
        pm = torch.cat([m, torch.zeros(4, 5, dtype=torch.bool)], dim=1)
        torch.testing.assert_close(pooler(states, m), pooler(padded, pm), rtol=0, atol=1e-6)

    def test_single_example_equals_batched(self, name):
        pooler, m = make(name), masks()
        states = torch.randn(4, 7, D)
        batched = pooler(states, m)
        for i in range(4):
            torch.testing.assert_close(
                pooler(states[i : i + 1], m[i : i + 1])[0], batched[i], rtol=0, atol=1e-6
            )

    def test_gradients_flow_and_stay_finite(self, name):
        pooler, m = make(name), masks()
        states = torch.randn(4, 7, D, requires_grad=True)
        pooler(states, m).pow(2).sum().backward()
        g = states.grad
        assert torch.isfinite(g).all()
        assert g[~m].abs().max() == 0  # nothing outside the parts, nothing for the empty part
        assert g[0, 2:5].abs().sum() > 0
        for pname, p in pooler.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), pname
            assert p.grad.abs().sum() > 0, pname

    def test_all_empty_batch(self, name):
        states = torch.randn(2, 3, D, requires_grad=True)
        out = make(name)(states, torch.zeros(2, 3, dtype=torch.bool))
        assert torch.equal(out, torch.zeros(2, D))
        out.sum().backward()
        assert torch.isfinite(states.grad).all()

    def test_rejects_wrong_shapes(self, name):
        with pytest.raises(ValueError, match="do not match"):
            make(name)(torch.randn(2, 3, D + 1), torch.ones(2, 3, dtype=torch.bool))
        with pytest.raises(ValueError, match="do not match"):
            make(name)(torch.randn(2, 3, D), torch.ones(2, 4, dtype=torch.bool))

    def test_rejects_unknown_option(self, name):
        with pytest.raises(TypeError, match="unknown option"):
            make(name, colour="blue")


# -- exact values ------------------------------------------------------------------------------
def test_avg_and_max_values():
    states, m = torch.randn(4, 7, D), masks()
    torch.testing.assert_close(make("avg")(states, m)[0], states[0, 2:5].mean(0))
    torch.testing.assert_close(make("max")(states, m)[0], states[0, 2:5].max(0).values)
    torch.testing.assert_close(make("max")(states, m)[1], states[1, 6])


def test_start_is_linear_tanh_of_first_token():
    pooler, states, m = make("start"), torch.randn(4, 7, D), masks()
    out = pooler(states, m)
    for row, first in ((0, 2), (1, 6), (2, 0)):
        torch.testing.assert_close(out[row], torch.tanh(pooler.linear(states[row, first])))


def test_self_attn_is_a_convex_combination():
    pooler, states, m = make("self_attn"), torch.randn(4, 7, D), masks()
    scores = pooler.score(torch.tanh(pooler.proj(states[0, 2:5]))).squeeze(-1)
    expect = torch.softmax(scores, 0) @ states[0, 2:5]
    torch.testing.assert_close(pooler(states, m)[0], expect)


def test_dynamic_routing_matches_reference_loop():
    pooler, states, m = make("dr", iterations=3), torch.randn(4, 7, D), masks()
    u = torch.tanh(pooler.linear(states[0, 2:5]))  # (3, D) messages
    b = torch.zeros(3)
    for _r in range(3):
        c = torch.softmax(b, 0)
        s = (c[:, None] * u).sum(0)
        v = (s.norm() ** 2 / (1 + s.norm() ** 2)) * s / s.norm()
        b = b + u @ v
    torch.testing.assert_close(pooler(states, m)[0], v)
    assert v.norm() < 1  # squashed


def test_dynamic_routing_iterations_change_the_result():
    states, m = torch.randn(4, 7, D), masks()
    one, three = make("dr", iterations=1), make("dr", iterations=3)
    three.load_state_dict(one.state_dict())
    u = torch.tanh(one.linear(states[0, 2:5]))
    torch.testing.assert_close(one(states, m)[0], squash(u.mean(0)))
    assert not torch.allclose(one(states, m)[0], three(states, m)[0])
    with pytest.raises(ValueError, match="iterations"):
        make("dr", iterations=0)


# -- sharing -----------------------------------------------------------------------------------
def test_group_shares_one_linear_between_start_and_dr():
    dense = nn.Linear(D, D)
    g = PoolerGroup(D, ["start", "dr", "avg", "start"], dense, {"dr": {"iterations": 2}})
    assert list(g.poolers) == ["start", "dr", "avg"]
    assert g.poolers["start"].linear is g.linear is g.poolers["dr"].linear
    assert g.poolers["dr"].iterations == 2
    torch.testing.assert_close(g.linear.weight, dense.weight)
    assert g.linear.weight.data_ptr() != dense.weight.data_ptr()  # a copy, not tied to BERT
    assert PoolerGroup(D, ["avg", "max"], dense).linear is None
    with pytest.raises(ValueError, match="unknown pooler"):
        PoolerGroup(D, ["avg"], dense, {"drr": {}})


def test_linear_from_dense_wider_block_structure():
    dense = nn.Linear(D, D)
    lin = linear_from_dense(dense, D + 24)
    w = lin.weight.detach()
    torch.testing.assert_close(w[:D, :D], dense.weight.detach())
    torch.testing.assert_close(w[D:, D:], torch.eye(24))
    assert w[:D, D:].abs().sum() == 0 and w[D:, :D].abs().sum() == 0
    torch.testing.assert_close(lin.bias.detach()[:D], dense.bias.detach())
    assert lin.bias.detach()[D:].abs().sum() == 0
    x = torch.randn(3, D + 24)  # the first H outputs equal BERT's pooler dense on the first H
    torch.testing.assert_close(lin(x)[:, :D], dense(x[:, :D]))
    with pytest.raises(ValueError, match="cannot initialise"):
        linear_from_dense(nn.Linear(D, D), D - 1)
