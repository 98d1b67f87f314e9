"""Packed levitated markers (``span=levitated``; Ye et al. 2022): the layout the featurizer
writes, the property that defines them (the text's states do not depend on the markers), and
packing that changes nothing but the number of encoder passes."""

from __future__ import annotations

import pytest
import torch

from autorc_nni.batching import collate, text_keys
from autorc_nni.data.record import RelationExample
from autorc_nni.encoders import load_encoder
from autorc_nni.featurize import Featurizer
from autorc_nni.posencs import POSENCS, encode_with_posenc

WORDS = ("the", "old", "king", "of", "norway", "met", "queen", "anna", "in", "oslo", ".")


@pytest.fixture(scope="module")
def tiny():
    tokenizer, encoder = load_encoder("tiny", seed=0)
    return tokenizer, encoder.eval()


def _rows(tokenizer, examples, fmt="levitated", max_len=64):
    feat = Featurizer(tokenizer, max_len=max_len, formats=(fmt,), cache=False)
    return feat.featurize(examples, {"r": 0}).rows.to_list()


def ex(head, tail, i=0):
    return RelationExample(WORDS, head, tail, "r", f"x{i}")


def test_the_markers_follow_the_text_with_the_positions_of_their_spans(tiny):
    tokenizer, _ = tiny
    [std] = _rows(tokenizer, [ex((1, 3), (6, 8))], "standard")
    [lev] = _rows(tokenizer, [ex((1, 3), (6, 8))])
    n = len(std["standard_input_ids"])
    ids, pos = lev["levitated_input_ids"], lev["levitated_positions"]
    assert ids[:n] == std["standard_input_ids"] and lev["levitated_text"] == n
    vocab = tokenizer.get_vocab()
    assert ids[n:] == [vocab[t] for t in ("[E1]", "[/E1]", "[E2]", "[/E2]")]
    e1, e2 = std["standard_spans"][:2]  # the entities' wordpieces in the text
    assert pos == [*range(n), e1[0], e1[1] - 1, e2[0], e2[1] - 1]
    # e1 and e2 are their marker pairs; the context parts are the text's, as in standard
    assert lev["levitated_spans"][:2] == [[n, n + 2], [n + 2, n + 4]]
    assert lev["levitated_spans"][2:] == std["standard_spans"][2:]
    # one span seen twice (span NER): one pair, e1 = e2
    [ner] = _rows(tokenizer, [ex((6, 8), (6, 8))])
    assert len(ner["levitated_input_ids"]) == n + 2
    assert ner["levitated_spans"][0] == ner["levitated_spans"][1] == [n, n + 2]


def test_the_window_keeps_room_for_the_markers(tiny):
    tokenizer, _ = tiny
    long = RelationExample(WORDS * 6, (30, 31), (33, 34), "r", "long")
    [row] = _rows(tokenizer, [long], max_len=32)
    assert len(row["levitated_input_ids"]) <= 32 and row["levitated_text"] <= 28


def test_the_texts_states_are_the_same_with_and_without_the_markers(tiny):
    tokenizer, encoder = tiny
    examples = [ex((1, 3), (6, 8), 0), ex((4, 5), (9, 10), 1), ex((7, 8), (7, 8), 2)]
    batch = collate(_rows(tokenizer, examples), ["levitated"], max_len=64, pad_id=0)
    inputs = batch["levitated"]
    none = POSENCS.get("none")(encoder.config.hidden_size, max_len=64)
    with torch.no_grad():
        states = encode_with_posenc(encoder, none, inputs)  # (B, L, H)
        n = int(inputs["text_len"][0])
        alone = encoder(input_ids=inputs["input_ids"][:1, :n]).last_hidden_state  # (1, n, H)
    for i in range(len(examples)):  # every row's text: exactly the text encoded alone
        torch.testing.assert_close(states[i, :n], alone[0], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(states[0, n], states[1, n])  # the markers do differ


@pytest.mark.parametrize("posenc", ["none", "add"])
def test_packing_changes_nothing_but_the_number_of_passes(tiny, posenc):
    tokenizer, encoder = tiny
    other = RelationExample(("a", "b", "c", "d"), (0, 1), (2, 4), "r", "other")
    examples = [ex((1, 3), (6, 8), 0), other, ex((4, 5), (9, 10), 1), ex((7, 8), (7, 8), 2)]
    rows = _rows(tokenizer, examples)
    enc = POSENCS.get(posenc)(encoder.config.hidden_size, max_len=64)
    calls = []
    hook = encoder.register_forward_hook(lambda m, a, k: calls.append(1))
    try:
        with torch.no_grad():
            packed = encode_with_posenc(encoder, enc, collate(rows, ["levitated"], 64)["levitated"])
            passes = len(calls)
            single = [
                encode_with_posenc(encoder, enc, collate([r], ["levitated"], 64)["levitated"])
                for r in rows
            ]
    finally:
        hook.remove()
    assert passes == 1
    for i, s in enumerate(single):
        length = s.shape[1]
        torch.testing.assert_close(packed[i, :length], s[0], rtol=1e-4, atol=1e-5)


def test_text_keys_name_the_text_a_row_shares(tiny):
    tokenizer, _ = tiny
    other = RelationExample(("a", "b", "c", "d"), (0, 1), (2, 4), "r", "other")
    examples = [ex((1, 3), (6, 8), 0), ex((4, 5), (9, 10), 1), other]
    for fmt in ("levitated", "standard"):
        feat = Featurizer(tokenizer, max_len=64, formats=(fmt,), cache=False)
        dataset = feat.featurize(examples, {"r": 0}).rows
        keys = text_keys(dataset, [fmt])
        assert keys == text_keys(dataset.to_list(), [fmt])  # Arrow or plain rows alike
        assert keys is not None and keys[0] == keys[1] != keys[2]
        n = dataset[0][f"{fmt}_text"] if fmt == "levitated" else None
        assert list(keys[0]) == dataset[0][f"{fmt}_input_ids"][:n]  # the text, no markers
    assert text_keys(_rows(tokenizer, examples, "markers"), ["markers"]) is None


def _sentence_rows(tokenizer, n_sentences=12, pairs=4):
    """``pairs`` entity pairs in each of ``n_sentences`` sentences of one length (the words
    of WORDS in another order), the sentences' rows interleaved."""
    import random

    rng, examples = random.Random(0), []
    texts = []
    for _ in range(n_sentences):
        words = list(WORDS)
        rng.shuffle(words)
        texts.append(tuple(words))
    spans = [((0, 1), (2, 3)), ((3, 4), (5, 6)), ((6, 7), (8, 9)), ((1, 2), (9, 10))][:pairs]
    for k, (h, t) in enumerate(spans):
        for i, words in enumerate(texts):
            examples.append(RelationExample(words, h, t, "r", f"s{i}p{k}"))
    feat = Featurizer(tokenizer, max_len=64, formats=("levitated",), cache=False)
    return feat.featurize(examples, {"r": 0}).rows


def test_rc_batches_keep_a_sentences_pairs_together_when_asked(tiny):
    from autorc_nni.finetune import TrainConfig, epoch_loader, eval_loader
    from autorc_nni.stage import DataConfig

    tokenizer, _ = tiny
    rows = _sentence_rows(tokenizer)
    assert len(set(map(len, rows["levitated_input_ids"]))) == 1  # ties everywhere: any order

    def texts_per_batch(group_text, loader=epoch_loader):
        cfg = TrainConfig(data=DataConfig(task="rc"), batch_size=8, group_text=group_text)
        if loader is eval_loader:
            cfg.eval_batch_size = 8
            batches = list(eval_loader(rows, cfg, ("levitated",)))
        else:
            batches = list(epoch_loader(rows, cfg, ("levitated",), epoch=0)[0])
        return [len({i.split("p")[0] for i in b["ids"]}) for b in batches]

    # asked: a batch of 8 holds two sentences' four pairs each (two encoder passes)
    assert texts_per_batch(True) == [2] * 6
    assert texts_per_batch(True, eval_loader) == [2] * 6
    # relation classification's default: statements in random batches
    assert max(texts_per_batch(None)) > 2


def test_a_levitated_rc_model_predicts_a_sentences_pairs_as_each_alone(tiny):
    import dataclasses

    from autorc_nni.architecture import PRESETS
    from autorc_nni.model import RCModel

    tokenizer, encoder = tiny
    arch = dataclasses.replace(PRESETS["r-bert"], span="levitated")
    torch.manual_seed(0)
    model = RCModel(arch, encoder, num_labels=3, tokenizer=tokenizer, max_len=64).eval()
    examples = [ex((1, 3), (6, 8), 0), ex((6, 8), (1, 3), 1), ex((4, 5), (9, 10), 2)]
    together = model.statement_probs(examples)
    for e, probs in zip(examples, together, strict=True):
        [alone] = model.statement_probs([e])
        torch.testing.assert_close(probs, alone, rtol=1e-5, atol=1e-6)
    # two sentences of one length, their pairs interleaved: batches of two hold one sentence's
    # pairs each, so each pass encodes one text (interleaved batches would hold two)
    other = tuple(reversed(WORDS))
    mixed = []
    for k, (h, t) in enumerate([((1, 3), (6, 8)), ((4, 5), (9, 10))]):
        mixed += [ex(h, t, k), RelationExample(other, h, t, "r", f"o{k}")]
    rows = []
    hook = model.encoder.register_forward_hook(
        lambda m, a, out: rows.append(out.last_hidden_state.shape[0])  # texts in the pass
    )
    try:
        model.statement_probs(mixed, batch_size=2)
    finally:
        hook.remove()
    assert rows == [1, 1]


def test_models_with_levitated_markers_train_predict_and_draw(tmp_path, monkeypatch, capsys):
    """RC and span NER with ``span=levitated`` through the CLI: trained, predicted as the
    evaluation decoded, shown by ``autorc arch``."""
    import dataclasses
    import json

    from autorc_nni.architecture import PRESETS
    from autorc_nni.data.synthetic import write_synthetic
    from tests.strategies.planted import write_planted_ner
    from trial.cli import main

    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    common = ["--encoder", "tiny", "--epochs", "2", "--lr", "5e-3", "--no-progress"]
    # relation classification: BERT-entity's features over levitated markers
    arch = tmp_path / "be-lev.json"
    dataclasses.replace(PRESETS["bert-entity"], span="levitated").save(arch)
    rc = write_synthetic(tmp_path / "rc", n_train=64, n_dev=16, n_test=16)
    assert (
        main(
            ["train", "--data", str(rc), "--arch", str(arch), *common, "--out", str(tmp_path / "r")]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["config"]["arch"] == str(arch) and 0 <= metrics["test"]["score"] <= 1
    assert metrics["data"]["test"]["featurized"] == 16  # every statement, none dropped
    assert main(["arch", "show", str(arch)]) == 0
    assert "levitated markers" in capsys.readouterr().out
    assert main(["arch", "draw", str(arch), "-o", str(tmp_path / "a.png")]) == 0
    assert (tmp_path / "a.png").stat().st_size > 1000
    # span NER: every candidate span of a sentence as a marker pair after it
    ner_arch = tmp_path / "spert-lev.json"
    dataclasses.replace(PRESETS["spert-like"], span="levitated").save(ner_arch)
    data = write_planted_ner(tmp_path / "ner", n_train=32, n_dev=8)
    out = tmp_path / "n"
    argv = ["train", "--task", "ner", "--data", str(data), "--arch", str(ner_arch), *common]
    assert main([*argv, "--max-span-len", "2", "--neg-per-sentence", "4", "--out", str(out)]) == 0
    run_rows = [json.loads(x) for x in (out / "test_predictions.jsonl").read_text().splitlines()]
    from autorc_nni.model import RCModel

    model = RCModel.from_pretrained(out / "model")
    assert model.arch.span == "levitated"
    rows = model.predict([{"id": r["id"], "tokens": r["tokens"]} for r in run_rows])
    for row, run in zip(rows, run_rows, strict=True):
        assert [[e["start"], e["end"], e["type"]] for e in row["entities"]] == [
            p[:3] for p in run["pred"]
        ]
