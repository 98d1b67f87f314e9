"""The LSTM controller and REINFORCE: sampling, log-probabilities, validity, bandit convergence."""

from __future__ import annotations

import math

import pytest
import torch

from autorc_nni.architecture import DECISIONS, Architecture, ArchitectureError
from strategies.controller import Controller, ControllerError, Reinforce, reinforce_loss


def test_sample_follows_table_order_and_log_prob_matches():
    torch.manual_seed(0)
    c = Controller(DECISIONS)
    sample, log_prob, entropy = c.sample()
    assert list(sample) == list(DECISIONS)
    assert all(sample[k] in DECISIONS[k] for k in DECISIONS)
    assert torch.allclose(c.log_prob(sample), log_prob)
    # start policy is near uniform: entropy close to the sum of log(n_options)
    max_entropy = sum(math.log(len(v)) for v in DECISIONS.values())
    assert 0.95 * max_entropy < float(entropy.detach()) <= max_entropy + 1e-5
    assert log_prob.requires_grad and entropy.requires_grad


def test_tanh_constant_bounds_logits():
    c = Controller({"a": (0, 1)}, temperature=1.0, tanh_constant=2.5)
    with torch.no_grad():
        c.heads[0].weight.fill_(100.0)
        c.heads[0].bias.copy_(torch.tensor([1000.0, -1000.0]))
    p = c.probabilities()["a"]
    # logits are clipped to +-2.5, so p(0) <= sigmoid(5)
    assert p[0] == pytest.approx(1 / (1 + math.exp(-5.0)), rel=1e-4)


def test_probabilities_are_distributions():
    c = Controller(DECISIONS)
    for sample in (None, Architecture().to_dict()):
        probs = c.probabilities(sample)
        assert list(probs) == list(DECISIONS)
        for k, d in probs.items():
            assert set(d) == set(DECISIONS[k])
            assert sum(d.values()) == pytest.approx(1.0, abs=1e-5)


def _valid(sample):
    try:
        Architecture(**sample)
    except ArchitectureError:
        return False
    return True


def test_invalid_architectures_are_resampled_and_counted():
    torch.manual_seed(0)
    c = Controller(DECISIONS, valid=_valid)
    # make "no feature" very likely: every use_* false, every inter_* none
    with torch.no_grad():
        for t, k in enumerate(c.labels):
            if k.startswith("use_") or k.startswith("inter_"):
                bias = torch.full((len(DECISIONS[k]),), -1e4)
                bias[DECISIONS[k].index(False if k.startswith("use_") else "none")] = 1e4
                c.heads[t].bias.copy_(bias)
    for _ in range(20):
        sample, _, _ = c.sample()
        assert Architecture(**sample).slots()
    assert c.invalid_count > 0


def test_all_invalid_space_raises():
    c = Controller({"a": (0, 1)}, valid=lambda s: False, max_resample=5)
    with pytest.raises(ControllerError, match="no valid architecture"):
        c.sample()
    assert c.invalid_count == 5


def test_unknown_option_in_sample_is_named():
    c = Controller({"a": (0, 1)})
    with pytest.raises(ControllerError, match="'a'"):
        c.log_prob({"a": 7})


def test_reinforce_loss_sign():
    lp = torch.tensor(-1.0, requires_grad=True)
    loss = reinforce_loss(lp, torch.tensor(0.0), reward=1.0, baseline=0.5, beta=0.0)
    loss.backward()
    assert lp.grad.item() == pytest.approx(-0.5)  # gradient descent raises log pi of a good sample


def test_baseline_is_moving_average():
    rl = Reinforce(Controller({"a": (0, 1)}), baseline_decay=0.9)
    assert rl.observe(1.0) == 1.0  # starts at the first reward
    assert rl.observe(0.0) == pytest.approx(0.9)


def test_bandit_converges_to_best_arm():
    """Fixed rewards per choice of two decisions: the policy concentrates on the best arms."""
    torch.manual_seed(0)
    rewards = {"arm": {0: 0.1, 1: 0.9, 2: 0.3, 3: 0.5}, "flag": {True: 0.0, False: 0.2}}
    c = Controller({"arm": (0, 1, 2, 3), "flag": (True, False)}, hidden=16)
    rl = Reinforce(c, lr=0.02, entropy_weight=1e-4)
    start = c.probabilities()
    for _ in range(300):
        s, lp, ent = c.sample()
        rl.update(lp, ent, rewards["arm"][s["arm"]] + rewards["flag"][s["flag"]])
    end = c.probabilities()
    assert start["arm"][1] < 0.3
    assert end["arm"][1] > 0.85
    assert end["flag"][False] > 0.75
    assert c.greedy() == {"arm": 1, "flag": False}


def test_greedy_falls_back_to_a_valid_architecture():
    torch.manual_seed(0)
    c = Controller({"a": (0, 1, 2), "b": (0, 1)}, valid=lambda s: s != {"a": 0, "b": 0})
    with torch.no_grad():
        c.heads[0].bias.copy_(torch.tensor([50.0, 10.0, 0.0]))
        c.heads[1].bias.copy_(torch.tensor([50.0, 0.0]))
    assert c.greedy() in ({"a": 1, "b": 0}, {"a": 0, "b": 1})  # the next most likely
    assert c.invalid_count == 0
    assert Controller({"a": (0, 1)}).greedy() in ({"a": 0}, {"a": 1})


def test_given_decisions_are_forced_and_the_rest_sampled_conditioned():
    torch.manual_seed(0)
    c = Controller(DECISIONS)
    g = torch.Generator().manual_seed(3)
    samples = [c.sample(generator=g, given={"span": "tokens"})[0] for _ in range(20)]
    assert all(s["span"] == "tokens" for s in samples)
    assert len({tuple(s.items()) for s in samples}) > 1  # the others are still drawn
    s, lp, _ = c.sample(generator=g, given={"span": "standard"})
    assert torch.allclose(lp, c.log_prob(s))  # the path's probability, the forced step included
    with pytest.raises(ControllerError, match="span"):
        c.sample(given={"span": "nope"})
    with pytest.raises(ControllerError, match="unknown decision"):
        c.sample(given={"colour": "red"})
