"""The AutoRC supernet: its mutables, its children, its sharing and its weight copies."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from autorc_nni.architecture import (
    CONTEXT_PARTS,
    ENTITY_PARTS,
    FORMATS,
    PARTS,
    PRESETS,
    Architecture,
    ArchitectureError,
)
from autorc_nni.encoders import load_encoder
from autorc_nni.model import RCModel
from search_spaces.candidates import SlotClassifier
from search_spaces.spaces import SPACES, SearchSpaceError, is_valid, space_decisions
from search_spaces.supernet import AutoRCSupernet

NUM_LABELS = 5


@pytest.fixture(scope="module")
def tiny():
    tokenizer, encoder = load_encoder("tiny", seed=0)
    return len(tokenizer), encoder


def make_batch(vocab: int, batch: int = 4, length: int = 14, seed: int = 0) -> dict:
    """A collate()-shaped batch for every format: five parts per row, padding, an empty c1."""
    g = torch.Generator().manual_seed(seed)
    out: dict = {"labels": torch.randint(0, NUM_LABELS, (batch,), generator=g), "ids": []}
    for fmt in FORMATS:
        ids = torch.randint(5, vocab, (batch, length), generator=g)
        mask = torch.ones(batch, length, dtype=torch.long)
        spans = torch.zeros(batch, 5, 2, dtype=torch.long)
        dist = torch.zeros(batch, 2, length, dtype=torch.long)
        for b in range(batch):
            n = length - 3 * (b % 2)  # odd rows padded
            mask[b, n:] = 0
            ids[b, n:] = 0
            s1 = 1 + b % 3
            e1 = s1 + 2
            s2 = e1 + (b % 2) * 2  # even rows: c1 empty (adjacent entities)
            e2 = s2 + 2
            spans[b] = torch.tensor([[s1, e1], [s2, e2], [0, s1], [e1, s2], [e2, n]])
            dist[b, 0] = torch.arange(length) - s1
            dist[b, 1] = torch.arange(length) - s2
        out[fmt] = {"input_ids": ids, "attention_mask": mask, "spans": spans, "dist": dist}
    return out


def random_samples(space: str, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    decisions = space_decisions(space)
    out = []
    while len(out) < n:
        s = {k: rng.choice(v) for k, v in decisions.items()}
        if is_valid(s, space):
            out.append(s)
    return out


def perturb(module: nn.Module, seed: int, scale: float = 0.05) -> None:
    """Move every parameter away from its initial value (as training would)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)


# -- the mutables -------------------------------------------------------------------------------
@pytest.mark.parametrize("space", list(SPACES))
def test_simplify_lists_the_space_decision_table(tiny, space):
    _, encoder = tiny
    net = AutoRCSupernet(encoder, NUM_LABELS, space=space, copies=1)
    simplified = net.simplify()
    expected = space_decisions(space)
    assert list(simplified) == list(expected)  # labels, in controller order
    for label, mutable in simplified.items():
        assert mutable.label == label
        assert tuple(mutable.values) == expected[label]
        assert [type(v) for v in mutable.values] == [type(v) for v in expected[label]]


def test_simplify_is_unchanged_after_a_sample_and_nni_mutation(tiny):
    from nni.nas.strategy import RandomOneShot

    _, encoder = tiny
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M1", copies=1)
    before = {k: tuple(v.values) for k, v in net.simplify().items()}
    net.set_sample(random_samples("M1", 1, 0)[0])
    RandomOneShot().mutate_model(net)  # leaves our one-shot modules as they are
    assert {k: tuple(v.values) for k, v in net.simplify().items()} == before


def _pools_start_and_dr_in_one_group(arch) -> bool:
    for parts in (ENTITY_PARTS, CONTEXT_PARTS):
        kinds = {arch.pooler(p) for p in arch.needed_parts() if p in parts}
        if {"start", "dr"} <= kinds:
            return True
    return False


# -- children compute the RCModel's function ------------------------------------------------------
@pytest.mark.parametrize("sharing", ["heterogeneous", "naive"])
def test_frozen_child_equals_rcmodel_from_to_rcmodel(tiny, sharing):
    vocab, encoder = tiny
    torch.manual_seed(0)
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M", sharing=sharing, copies=2)
    perturb(net, seed=1)  # the zero padding must hold after training, not only at init
    batch = make_batch(vocab)
    samples = random_samples("M", 6, seed=3 if sharing == "naive" else 2)
    # make sure each positional encoding and each pooler is covered at least once
    for i, posenc in enumerate(("none", "add", "concat")):
        samples[i]["posenc"] = posenc
    for i, pooler in enumerate(("avg", "max", "self_attn", "dr", "start")):
        samples[i % len(samples)][f"pool_{PARTS[i]}"] = pooler
        samples[i % len(samples)][f"use_{PARTS[i]}"] = True
    for i, sample in enumerate(samples):
        enc_copy, cls_copy = i % 2, (i // 2) % 2
        net.set_sample(sample)
        net.set_copies(enc_copy, cls_copy)
        net.eval()
        logits = net(batch)
        child = net.freeze(sample).eval()
        arch = net.current_architecture()
        with torch.no_grad():
            torch.testing.assert_close(child(batch), logits, atol=1e-5, rtol=0)
        if sharing == "naive" and _pools_start_and_dr_in_one_group(arch):
            # separate linears under naive sharing: no RCModel (one per group) computes it
            with pytest.raises(SearchSpaceError, match="separate linear layers"):
                net.to_rcmodel(arch, enc_copy, cls_copy)
            continue
        rc = net.to_rcmodel(arch, enc_copy, cls_copy).eval()
        assert isinstance(rc, RCModel) and rc.arch == arch
        with torch.no_grad():
            torch.testing.assert_close(rc(batch), logits, atol=1e-5, rtol=0)
        assert child.simplify() == {}


def test_to_rcmodel_copies_the_weights_of_the_drawn_copy(tiny):
    vocab, encoder = tiny
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M3", copies=2)
    perturb(net, seed=4)
    arch = PRESETS["bert-entity"]  # M3 with span=markers (its unused pool_c1='avg' is ignored)
    rc0, rc1 = net.to_rcmodel(arch, 0, 0), net.to_rcmodel(arch, 1, 1)
    group = net.span["markers"].encoders
    for rc, k in ((rc0, 0), (rc1, 1)):
        src = dict(group.copies[k].named_parameters())
        for name, p in rc.encoder.named_parameters():
            assert torch.equal(p, src[name]) and p.data_ptr() != src[name].data_ptr()
    assert not torch.equal(rc0.classifier.linear.weight, rc1.classifier.linear.weight)
    with pytest.raises(SearchSpaceError, match="not in space M3"):
        net.to_rcmodel(PRESETS["r-bert"])


def test_unsampled_supernet_refuses_to_run_and_bad_samples_are_rejected(tiny):
    vocab, encoder = tiny
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M3", copies=1)
    with pytest.raises(RuntimeError, match="set_sample"):
        net(make_batch(vocab))
    base = {"span": "markers"}
    with pytest.raises(SearchSpaceError, match="use_e1"):
        net.set_sample(base | {"use_e1": False, "use_e2": False})  # fixed in M3
    m2 = AutoRCSupernet(encoder, NUM_LABELS, space="M2", copies=1)
    off = {
        "span": "markers",
        "posenc": "none",
        **dict.fromkeys(("use_e1", "use_e2", "use_c0", "use_c1", "use_c2"), False),
    }
    with pytest.raises(ArchitectureError, match="no feature"):
        m2.set_sample(off)
    with pytest.raises(ArchitectureError, match="no feature"):
        m2.freeze(off)
    with pytest.raises(SearchSpaceError, match="unknown"):
        net.set_sample(base | {"pool_e1": "avg"})
    with pytest.raises(KeyError, match="no 'tokens' input"):
        net.set_sample(base | {"span": "tokens"})
        net({k: v for k, v in make_batch(vocab).items() if k != "tokens"})


def test_nni_path_sampling_runs_the_same_child_as_set_sample(tiny):
    from nni.nas.strategy import RandomOneShot

    vocab, encoder = tiny
    batch = make_batch(vocab)
    torch.manual_seed(0)
    a = AutoRCSupernet(encoder, NUM_LABELS, space="M", copies=1)
    torch.manual_seed(0)
    b = AutoRCSupernet(encoder, NUM_LABELS, space="M", copies=1)
    b.load_state_dict(a.state_dict())
    RandomOneShot().mutate_model(b)
    sample = random_samples("M", 1, seed=7)[0]
    a.set_sample(sample)
    for m in b.modules():  # what a one-shot Lightning module's resample() does
        if hasattr(m, "resample"):
            m.resample(memo=dict(sample))
    assert b.current_sample() == sample
    a.eval(), b.eval()
    with torch.no_grad():
        torch.testing.assert_close(a(batch), b(batch))


# -- heterogeneous sharing -----------------------------------------------------------------------
def _pooler_params(net, parts):
    ids = set()
    for p in parts:
        choice = getattr(net, f"pool_{p}")
        for cand in choice:
            ids |= {id(q) for q in cand.parameters()}
    return ids


def test_entity_and_context_poolers_never_share_but_share_within(tiny):
    _, encoder = tiny
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M", copies=1)
    assert not _pooler_params(net, ENTITY_PARTS) & _pooler_params(net, CONTEXT_PARTS)
    for kind in ("avg", "max", "self_attn", "dr", "start"):
        assert net.pool_e1[kind] is net.pool_e2[kind]
        assert net.pool_c0[kind] is net.pool_c1[kind] is net.pool_c2[kind]
        assert net.pool_e1[kind] is not net.pool_c0[kind]
    for group in (net.entity, net.context):  # start and dr share one linear layer per group
        assert group.poolers["start"].linear is group.poolers["dr"].linear is group.linear
    assert net.entity.linear is not net.context.linear
    assert net.copy_groups() == ["markers+standard", "tokens"]
    assert net.span["markers"].encoders is net.span["standard"].encoders
    assert net.span["markers"].encoders is not net.span["tokens"].encoders


def test_naive_sharing_shares_poolers_and_encoder(tiny):
    _, encoder = tiny
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M", sharing="naive", copies=1)
    for kind in ("avg", "max", "self_attn", "dr", "start"):
        assert net.pool_e1[kind] is net.pool_c0[kind] is net.pool_c2[kind]
    # start and dr do not share their linear layer: that is heterogeneous sharing (§4.3)
    start, dr = net.entity.poolers["start"].linear, net.entity.poolers["dr"].linear
    assert start is not dr and net.entity.linear is None
    assert start.weight.data_ptr() != dr.weight.data_ptr()
    h = net.hidden
    dense = encoder.pooler.dense
    for linear in (start, dr):  # both start from BERT's pooler dense, padding held at zero
        torch.testing.assert_close(linear.weight[:h, :h], dense.weight, rtol=0, atol=0)
        assert linear.weight[h:, :h].abs().sum() == 0 and linear.bias[h:].abs().sum() == 0
    assert _pooler_params(net, ENTITY_PARTS) == _pooler_params(net, CONTEXT_PARTS)
    assert net.copy_groups() == ["all"]
    assert net.span["markers"].encoders is net.span["tokens"].encoders


def test_linear_layers_start_from_the_encoder_pooler_dense(tiny):
    _, encoder = tiny
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M", copies=1)
    h, w = net.hidden, net.width
    assert w == h + 24
    dense = encoder.pooler.dense
    for linear in (net.entity.linear, net.context.linear):
        assert linear.weight.shape == (w, w)
        torch.testing.assert_close(linear.weight[:h, :h], dense.weight, rtol=0, atol=0)
        torch.testing.assert_close(linear.bias[:h], dense.bias, rtol=0, atol=0)
        assert linear.weight[h:, :h].abs().sum() == 0 and linear.bias[h:].abs().sum() == 0
        assert linear.weight.data_ptr() != dense.weight.data_ptr()


def test_encoder_copies_are_independent_deep_copies(tiny):
    _, encoder = tiny
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M", copies=2)
    groups = {id(m.encoders): m.encoders for m in net.span}.values()
    encoders = [c for g in groups for c in g.copies]
    assert len(encoders) == 4  # 2 groups x 2 copies, as the paper
    ref = dict(encoder.named_parameters())
    ptrs = set()
    for e in encoders:
        for name, p in e.named_parameters():
            assert torch.equal(p, ref[name])
            ptrs.add(p.data_ptr())
    assert len(ptrs) == 4 * len(ref)
    assert len(AutoRCSupernet(encoder, NUM_LABELS, copies=1).classifier.copies) == 1


# -- a child step touches only its own weights ---------------------------------------------------
def _snapshot(net, opt):
    params = {n: p.detach().clone() for n, p in net.named_parameters()}
    state = {
        n: {k: v.clone() if torch.is_tensor(v) else v for k, v in opt.state[p].items()}
        for n, p in net.named_parameters()
        if p in opt.state
    }
    return params, state


def _child_step(net, opt, batch, sample, enc_copy, cls_copy):
    net.train()
    net.set_sample(sample)
    net.set_copies(enc_copy, cls_copy)
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(net(batch), batch["labels"])
    loss.backward()
    with_grad = {n for n, p in net.named_parameters() if p.grad is not None}
    opt.step()
    return with_grad


def _changed(before, after):
    return {n for n, v in after.items() if n not in before or not torch.equal(before[n], v)}


def _state_changed(before, after):
    out = set()
    for n, st in after.items():
        old = before.get(n)
        if old is None or any(
            not torch.equal(old[k], v) if torch.is_tensor(v) else old[k] != v for k, v in st.items()
        ):
            out.add(n)
    return out


def _checked_child_step(net, opt, batch, sample, enc_copy, cls_copy) -> set[str]:
    """One child step; the parameters with a gradient, the weights it moves and the optimizer
    state it changes are all exactly ``net.parameters_for`` the child, which it returns."""
    params, state = _snapshot(net, opt)
    grads = _child_step(net, opt, batch, sample, enc_copy, cls_copy)
    params_after, state_after = _snapshot(net, opt)
    touched = set(net.parameters_for(sample, enc_copy, cls_copy))
    assert grads == touched
    assert _changed(params, params_after) == touched
    assert _state_changed(state, state_after) == touched
    return touched


def test_child_step_touches_only_its_group_and_its_copy(tiny):
    vocab, encoder = tiny
    torch.manual_seed(0)
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M", copies=2)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    batch = make_batch(vocab)
    base = {
        "posenc": "concat",
        "pool_e1": "start",
        "pool_e2": "dr",
        "pool_c0": "self_attn",
        "pool_c1": "avg",
        "pool_c2": "max",
        "use_e1": True,
        "use_e2": True,
        "use_c0": True,
        "use_c1": False,
        "use_c2": False,
        "inter_e1e2": "dot",
        "inter_c0": "none",
        "inter_c1": "minus",
        "inter_c2": "none",
    }
    tokens, markers = base | {"span": "tokens"}, base | {"span": "markers"}
    names = dict(net.named_parameters())

    def group_params(fmt, k=None):
        g = net.span[fmt].encoders
        copies = range(len(g.copies)) if k is None else [k]
        ids = {id(p) for c in copies for p in g.copies[c].parameters()}
        return {n for n, p in names.items() if id(p) in ids}

    # step 1: tokens, encoder copy 0, classifier copy 0
    touched = _checked_child_step(net, opt, batch, tokens, 0, 0)
    assert touched & group_params("tokens", 0)
    assert not touched & group_params("markers")  # markers/standard encoders untouched
    assert not touched & group_params("tokens", 1)  # the other copy untouched
    assert not any(".copies.1." in n for n in touched if n.startswith("classifier"))

    # step 2: markers, copy 1 / 1 — the tokens encoder and copy 0 (weights and state) stay
    touched = _checked_child_step(net, opt, batch, markers, 1, 1)
    assert touched & group_params("markers", 1) and touched & group_params("standard", 1)
    assert not touched & group_params("tokens")
    assert not touched & group_params("markers", 0)
    assert not any(".copies.0." in n for n in touched if n.startswith("classifier"))
    # only the active slots of the drawn classifier copy
    blocks = {n.rsplit(".", 1)[1] for n in touched if ".blocks." in n}
    assert blocks == set(Architecture(**markers).slots())


def test_naive_sharing_step_moves_the_one_encoder_every_format_uses(tiny):
    vocab, encoder = tiny
    net = AutoRCSupernet(encoder, NUM_LABELS, space="M3", sharing="naive", copies=1)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    before = {n: p.detach().clone() for n, p in net.span["markers"].encoders.named_parameters()}
    sample = {"span": "tokens"}
    _child_step(net, opt, make_batch(vocab), sample, 0, 0)
    after = dict(net.span["markers"].encoders.named_parameters())
    assert any(not torch.equal(before[n], after[n]) for n in before)


# -- the slot classifier ---------------------------------------------------------------------------
def test_slot_classifier_is_a_linear_over_concatenated_active_features():
    torch.manual_seed(0)
    slots = ["e1", "e2", "c0", "e1e2", "c1e2"]
    clf = SlotClassifier(width=7, num_labels=3, slots=slots, dropout=0.1).eval()
    active = ["e1", "c0", "c1e2"]
    feats = {s: (torch.randn(4, 7) if s in active else None) for s in slots}
    weight, bias = clf.as_linear(active, 7)
    expected = nn.functional.linear(torch.cat([feats[s] for s in active], dim=-1), weight, bias)
    torch.testing.assert_close(clf(feats), expected)
    # a narrower model (no concat) reads the first D columns of each block
    narrow, _ = clf.as_linear(active, 5)
    assert narrow.shape == (3, 15)
    torch.testing.assert_close(narrow[:, 5:10], clf.blocks["c0"][:, :5].detach())
    with pytest.raises(RuntimeError, match="no active feature"):
        clf(dict.fromkeys(slots))


def test_runs_on_featurized_batches_like_rcmodel(tiny):
    """The real pipeline: RelationExample -> Featurizer -> collate, every format, odd spans."""
    from autorc_nni.batching import collate
    from autorc_nni.data.record import RelationExample
    from autorc_nni.featurize import Featurizer

    _, encoder = tiny
    tokenizer, _ = load_encoder("tiny", seed=0)
    words = ("the", "cause", "of", "the", "flood", "was", "a", "storm", "in", "the", "city")
    examples = [
        RelationExample(words, (7, 8), (4, 5), "r1", "tail-first"),
        RelationExample(words, (1, 2), (2, 5), "r2", "adjacent"),
        RelationExample(words, (3, 5), (4, 5), "r1", "nested"),
        RelationExample(words[:4], (0, 1), (3, 4), "r2", "short"),
    ]
    rows = Featurizer(tokenizer, cache=False).featurize(examples, {"r1": 0, "r2": 1}).rows
    batch = collate(rows.to_list(), FORMATS)
    net = AutoRCSupernet(encoder, 2, space="M", copies=1)
    perturb(net, seed=5)
    net.eval()
    for i, sample in enumerate(random_samples("M", 3, seed=11)):
        sample["span"] = FORMATS[i]
        net.set_sample(sample)
        with torch.no_grad():
            logits = net(batch)
            assert logits.shape == (len(examples), 2) and torch.isfinite(logits).all()
            rc = net.to_rcmodel(sample).eval()
            torch.testing.assert_close(rc(batch), logits, atol=1e-5, rtol=0)
