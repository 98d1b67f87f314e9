"""RCModel with the tiny encoder: presets and random architectures run forward and backward,
padding never changes a logit, the parameter structure is the supernet's, save/load, predict."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import replace

import pytest
import torch

from autorc_nni.architecture import (
    DECISIONS,
    FORMATS,
    PARTS,
    POOLER_NAMES,
    POSENC_NAMES,
    PRESETS,
    Architecture,
    ArchitectureError,
)
from autorc_nni.data.record import RelationExample
from autorc_nni.encoders import load_encoder
from autorc_nni.model import ModelLoadError, RCModel

C = 4
LABELS = ["Other", "A(e1,e2)", "A(e2,e1)", "B"]


def random_architectures(n: int, seed: int = 0) -> list[Architecture]:
    """``n`` distinct valid architectures drawn uniformly from DECISIONS (invalid ones redrawn)."""
    rng, out = random.Random(seed), []
    while len(out) < n:
        try:
            arch = Architecture(**{k: rng.choice(v) for k, v in DECISIONS.items()})
        except ArchitectureError:
            continue
        if arch not in out:
            out.append(arch)
    return out


def build(arch, seed: int = 0, **kw) -> RCModel:
    tokenizer, encoder = load_encoder("tiny", seed=seed)
    torch.manual_seed(seed)
    return RCModel(arch, encoder, C, labels=LABELS, tokenizer=tokenizer, **kw)


def make_batch(layouts, max_len: int = 256, vocab: int = 100, seed: int = 0) -> dict:
    """A collate-style batch from ``(n, e1, e2)`` layouts: sequence length n (with [CLS] at 0 and
    [SEP] at n-1) and the two entity wordpiece ranges. The same ids go to every format."""
    g = torch.Generator().manual_seed(seed)
    L = max(n for n, _, _ in layouts)
    ids = torch.zeros(len(layouts), L, dtype=torch.long)
    attn = torch.zeros(len(layouts), L, dtype=torch.long)
    spans = []
    for i, (n, e1, e2) in enumerate(layouts):
        ids[i, :n] = torch.randint(5, vocab, (n,), generator=g)
        ids[i, 0], ids[i, n - 1] = 2, 3
        attn[i, :n] = 1
        (a, b), (c, d) = sorted([e1, e2])
        spans.append([list(e1), list(e2), [0, a], [b, c], [d, n]])
    spans = torch.tensor(spans)
    starts = spans[:, :2, 0]
    dist = (torch.arange(L).view(1, 1, L) - starts.unsqueeze(-1)).clamp(-max_len, max_len)
    inputs = {"input_ids": ids, "attention_mask": attn, "spans": spans, "dist": dist}
    return {
        "labels": torch.arange(len(layouts)) % C,
        "ids": [str(i) for i in range(len(layouts))],
        **{f: inputs for f in FORMATS},
    }


LAYOUTS = [(12, (2, 4), (6, 9)), (9, (5, 7), (1, 3)), (7, (1, 3), (3, 6)), (15, (3, 5), (5, 6))]


def select(batch: dict, i: int) -> dict:
    """Example i alone, unpadded (cut to its own length)."""
    out = {"labels": batch["labels"][i : i + 1], "ids": [batch["ids"][i]]}
    for f in FORMATS:
        n = int(batch[f]["attention_mask"][i].sum())
        out[f] = {
            k: (v[i : i + 1, ..., :n] if k != "spans" else v[i : i + 1])
            for k, v in batch[f].items()
        }
    return out


def check_forward_backward(model: RCModel) -> None:
    model.train()
    batch = make_batch(LAYOUTS)
    logits = model(batch)
    assert logits.shape == (len(LAYOUTS), C)
    assert torch.isfinite(logits).all()
    torch.nn.functional.cross_entropy(logits, batch["labels"]).backward()
    for name, p in model.named_parameters():
        if name.startswith("encoder.pooler."):
            continue  # BERT's own pooler is not used (start/dr use a copy of it)
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), name
    assert model.classifier.linear.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_forward_backward(preset):
    check_forward_backward(build(preset))


@pytest.mark.parametrize(
    "arch", random_architectures(6, seed=1), ids=lambda a: f"{a.span}-{a.posenc}"
)
def test_random_architectures_forward_backward(arch):
    check_forward_backward(build(arch))


def all_parts(pooler: str, posenc: str) -> Architecture:
    kw = {f"pool_{p}": pooler for p in PARTS} | {f"use_{p}": True for p in PARTS}
    return Architecture(posenc=posenc, inter_e1e2="dot", inter_c1="minus", **kw)


@pytest.mark.parametrize("posenc", POSENC_NAMES)
@pytest.mark.parametrize("pooler", POOLER_NAMES)
def test_padding_invariance(pooler, posenc):
    model = build(all_parts(pooler, posenc)).eval()
    batch = make_batch(LAYOUTS)
    with torch.no_grad():
        batched = model(batch)
        for i in range(len(LAYOUTS)):
            alone = model(select(batch, i))
            torch.testing.assert_close(alone[0], batched[i], rtol=0, atol=1e-5)


def test_empty_c1_and_nested_entities_are_finite():
    # adjacent entities (c1 empty) and nested entity ranges, as the featurizer produces them
    model = build(all_parts("dr", "concat")).eval()
    batch = make_batch([(8, (1, 3), (3, 5)), (8, (1, 6), (2, 4))])
    batch["markers"]["spans"][1] = torch.tensor([[1, 6], [2, 4], [0, 1], [6, 6], [6, 8]])
    with torch.no_grad():
        assert torch.isfinite(model(batch)).all()


def test_missing_format_in_batch():
    model = build(Architecture(span="tokens"))
    batch = make_batch(LAYOUTS)
    del batch["tokens"]
    with pytest.raises(KeyError, match="no 'tokens' input"):
        model(batch)


# -- parameter structure -----------------------------------------------------------------------
def heads_keys(model: RCModel) -> set[str]:
    return {k for k in model.state_dict() if not k.startswith("encoder.")}


def test_bert_entity_structure():
    model = build("bert-entity")
    dense = model.encoder.pooler.dense
    assert list(model.entity.poolers) == ["start"] and list(model.context.poolers) == []
    torch.testing.assert_close(model.entity.linear.weight, dense.weight)
    torch.testing.assert_close(model.entity.linear.bias, dense.bias)
    assert model.entity.linear.weight.data_ptr() != dense.weight.data_ptr()
    assert model.classifier.linear.weight.shape == (C, 2 * 32)
    assert heads_keys(model) == {
        "entity.linear.weight",
        "entity.linear.bias",
        "entity.poolers.start.linear.weight",
        "entity.poolers.start.linear.bias",
        "classifier.linear.weight",
        "classifier.linear.bias",
    }


def test_r_bert_structure():
    model = build("r-bert")
    assert list(model.entity.poolers) == ["avg"] and model.entity.linear is None
    assert list(model.context.poolers) == ["start"]
    assert model.classifier.linear.weight.shape == (C, 3 * 32)


def test_sharing_per_group_and_type():
    arch = Architecture.using(e1="start", e2="dr", c0="start", c1="dr", c2="self_attn")
    model = build(arch)
    e, c = model.entity, model.context
    assert e.poolers["start"].linear is e.poolers["dr"].linear is e.linear
    assert c.poolers["start"].linear is c.poolers["dr"].linear is c.linear
    assert e.linear is not c.linear  # entity and context never share
    assert list(c.poolers) == ["start", "dr", "self_attn"]
    # one step on the shared layer moves both poolers of the group
    check_forward_backward(model)
    assert e.linear.weight.grad.abs().sum() > 0 and c.linear.weight.grad.abs().sum() > 0


def test_same_type_shared_between_parts():
    model = build(Architecture.using(**dict.fromkeys(("e1", "e2", "c0", "c2"), "self_attn")))
    assert list(model.entity.poolers) == ["self_attn"]
    assert list(model.context.poolers) == ["self_attn"]
    assert model.entity.poolers["self_attn"] is not model.context.poolers["self_attn"]


def test_unused_parts_get_no_module():
    # c1 only through an interaction: pooled; c2 neither used nor interacting: no pooler built
    model = build(Architecture(pool_c1="max", pool_c2="dr", inter_c1="dot"))
    assert list(model.context.poolers) == ["max"] and model.context.linear is None
    assert list(model.interactions) == ["dot"]
    assert model.classifier.linear.weight.shape == (C, 4 * 32)  # e1 e2 c1e1 c1e2


def test_concat_widths_and_linear_init():
    model = build(Architecture(posenc="concat", pool_e1="dr", pool_e2="avg"))
    H, D = 32, 56
    assert model.dim == D
    w = model.entity.linear.weight.detach()
    assert w.shape == (D, D)
    torch.testing.assert_close(w[:H, :H], model.encoder.pooler.dense.weight.detach())
    torch.testing.assert_close(w[H:, H:], torch.eye(24))
    assert model.classifier.linear.weight.shape == (C, 2 * D)
    assert model.posenc.tables[0].weight.shape == (2 * 256 + 1, 12)


def test_add_posenc_changes_the_encoder_input():
    arch = Architecture(posenc="add")
    model = build(arch).eval()
    batch = make_batch(LAYOUTS)
    with torch.no_grad():
        before = model(batch)
        model.posenc.tables[0].weight.add_(1.0)
        after = model(batch)
    assert model.posenc.tables[0].weight.shape == (2 * 256 + 1, 32)
    assert not torch.allclose(before, after)


def test_labels_must_match_num_labels():
    tokenizer, encoder = load_encoder("tiny")
    with pytest.raises(ValueError, match="labels"):
        RCModel("bert-entity", encoder, 3, labels=["a", "b"])
    assert RCModel("bert-entity", encoder, 3).labels == ["0", "1", "2"]


# -- persistence and prediction ----------------------------------------------------------------
@pytest.mark.parametrize(
    "arch",
    [PRESETS["r-bert"], all_parts("dr", "concat"), all_parts("self_attn", "add")],
    ids=["r-bert", "dr-concat", "attn-add"],
)
def test_save_and_load_gives_identical_logits(tmp_path, arch):
    model = build(arch, pooler_kwargs={"dr": {"iterations": 2}})
    check_forward_backward(model)  # move the weights away from their initialisation
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.eval()
    batch = make_batch(LAYOUTS)
    with torch.no_grad():
        expect = model(batch)
    model.save_pretrained(tmp_path / "m")
    loaded = RCModel.from_pretrained(tmp_path / "m")
    assert loaded.arch == model.arch and loaded.labels == LABELS
    assert loaded.pooler_kwargs == {"dr": {"iterations": 2}}
    assert not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch), expect, rtol=0, atol=1e-6)
    assert loaded.tokenizer is not None and len(loaded.tokenizer) == len(model.tokenizer)


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model directory"):
        RCModel.from_pretrained(tmp_path / "nope")
    build("r-bert").save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "architecture.json").write_text(PRESETS["bert-entity"].to_json())
    with pytest.raises(ModelLoadError, match="does not match architecture.json"):
        RCModel.from_pretrained(tmp_path / "m")
    (tmp_path / "m" / "heads.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="missing 'heads.safetensors'"):
        RCModel.from_pretrained(tmp_path / "m")


def test_heads_are_safetensors_and_an_old_heads_pt_still_loads(tmp_path):
    """Loading a model folder never unpickles code; earlier folders (heads.pt) still load."""
    import torch
    from safetensors.torch import load_file

    model = build("r-bert").eval()
    model.save_pretrained(tmp_path / "m")
    assert not (tmp_path / "m" / "heads.pt").exists()
    state = load_file(str(tmp_path / "m" / "heads.safetensors"))
    assert set(state) == set(model.heads_state_dict())
    old = tmp_path / "old"
    model.save_pretrained(old)
    torch.save(load_file(str(old / "heads.safetensors")), old / "heads.pt")
    (old / "heads.safetensors").unlink()
    again = RCModel.from_pretrained(old)
    for k, v in model.heads_state_dict().items():
        assert torch.equal(v, again.state_dict()[k])


def examples() -> list[RelationExample]:
    words = "the cause of the flood was heavy rain in the city".split()
    return [
        RelationExample(tuple(words), (4, 5), (6, 8), "A(e2,e1)", "x"),
        RelationExample(tuple(words[:6]), (1, 2), (4, 5), None, "x"),  # duplicate id on purpose
        RelationExample(("rain",), (0, 1), (0, 1), "unknown-label", "z"),
    ]


@pytest.mark.parametrize("span", FORMATS)
def test_predict_matches_forward(span):
    from autorc_nni.batching import collate
    from autorc_nni.featurize import Featurizer

    model = build(Architecture(span=span, use_c1=True, pool_c1="dr"))
    model.train()
    preds = model.predict(examples(), batch_size=2)
    assert model.training  # predict restores the mode
    assert len(preds) == 3
    model.eval()
    for ex, (label, prob) in zip(examples(), preds, strict=True):
        unlabeled = dataclasses.replace(ex, label=None)
        rows = (
            Featurizer(model.tokenizer, 256, formats=[span], cache=False)
            .featurize([unlabeled], {})
            .rows
        )
        with torch.no_grad():
            probs = torch.softmax(model(collate(rows.to_list(), [span])), -1)[0]
        assert label == LABELS[int(probs.argmax())]
        assert prob == pytest.approx(float(probs.max()), abs=1e-5)


SHARED_INPUT_ARCHS = {
    "none": Architecture(span="standard", use_c1=True, pool_c1="dr"),
    "concat": Architecture(span="standard", posenc="concat", use_c1=True, pool_c1="dr"),
    "interactions": replace(
        Architecture.using("standard", "concat", e1="self_attn", e2="max", c0="start"),
        inter_e1e2="dot",
        inter_c2="minus",
    ),
}


@pytest.mark.parametrize("name", sorted(SHARED_INPUT_ARCHS))
def test_predict_encodes_a_shared_input_once(name, monkeypatch):
    """With standard input many statements of one sentence (span NER's candidates, a
    sentence's pairs) share one encoder input: predict encodes each distinct input once per
    batch and runs the heads over the statements in chunks, with the forward pass's results."""
    from autorc_nni import model as model_module
    from autorc_nni.batching import collate
    from autorc_nni.featurize import Featurizer

    model = build(SHARED_INPUT_ARCHS[name])
    assert model.shares_input()
    words = tuple("the cause of the flood was heavy rain in the city".split())
    spans = [((i, i + 1), (j, j + 2)) for i in range(0, 10, 2) for j in range(1, 9, 3) if i != j]
    exs = [RelationExample(words, h, t, None, f"a{k}") for k, (h, t) in enumerate(spans)]
    exs += [RelationExample(words[:6], (1, 2), (4, 5), None, "b")]
    encoded: list[int] = []
    model.encoder.register_forward_hook(
        lambda m, args, kwargs, out: encoded.append(kwargs["input_ids"].shape[0]),
        with_kwargs=True,
    )
    monkeypatch.setattr(model_module, "HEAD_CHUNK", 4)  # the heads in several chunks
    preds = model.predict(exs, batch_size=2)
    assert encoded == [2]  # one batch of the two distinct sentences, each encoded once
    model.eval()
    rows = Featurizer(model.tokenizer, 256, formats=["standard"], cache=False).featurize(
        [dataclasses.replace(ex, label=None) for ex in exs], {}
    )
    with torch.no_grad():
        probs = torch.softmax(model(collate(rows.rows.to_list(), ["standard"])), -1)  # (B, C)
    for (label, prob), p in zip(preds, probs, strict=True):
        assert label == LABELS[int(p.argmax())]
        assert prob == pytest.approx(float(p.max()), abs=1e-5)


def test_predict_with_a_shared_input_keeps_a_dropped_statement_in_place():
    model = build("spert-like", max_len=8)
    words = tuple("a b c d e f g h i j k l".split())
    far = RelationExample(words, (0, 1), (11, 12), None, "far")  # no room for both: dropped
    near = [RelationExample(words, (i, i + 1), (i + 1, i + 2), None, str(i)) for i in range(3)]
    preds = model.predict([near[0], far, *near[1:]])
    assert preds[1] == (None, 0.0)
    assert all(label in LABELS for label, _ in [preds[0], *preds[2:]])


def test_only_standard_input_without_embedding_posenc_shares_the_input():
    assert not build(Architecture(span="markers")).shares_input()
    assert not build(Architecture(span="standard", posenc="add")).shares_input()
    assert build("spert-like").shares_input()


def test_predict_dropped_example_and_no_tokenizer():
    model = build("bert-entity", max_len=8)
    far = RelationExample(tuple("a b c d e f g h i j k l".split()), (0, 1), (11, 12), None, "far")
    near = RelationExample(("rain", "flood"), (0, 1), (1, 2), None, "near")
    preds = model.predict([far, near])
    assert preds[0] == (None, 0.0)
    assert preds[1][0] in LABELS
    assert model.predict([]) == []
    model.tokenizer = None
    with pytest.raises(Exception, match="no tokenizer"):
        model.predict(examples())


def test_predict_accepts_opennre_dicts():
    model = build("r-bert")
    text = "The kitchen is part of the house."
    as_dict = {"text": text, "h": {"pos": [4, 11]}, "t": {"pos": [27, 32]}}
    as_tokens = {
        "token": ["the", "kitchen", "is", "part", "of", "the", "house", "."],
        "h": {"pos": [1, 2]},
        "t": {"pos": [6, 7]},
    }
    record = RelationExample(
        ("the", "kitchen", "is", "part", "of", "the", "house", "."), (1, 2), (6, 7), None, "r"
    )
    got = model.predict([as_dict, as_tokens, record])
    assert got[1] == got[2]
    assert got[0][0] in LABELS
    with pytest.raises(Exception, match="example 0"):
        model.predict([{"text": text, "h": {"pos": [4, 99]}, "t": {"pos": [27, 32]}}])
