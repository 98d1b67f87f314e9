"""Batching: dynamic padding, distances, the bucket sampler, loaders."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autorc_nni.batching import BucketBatchSampler, collate, make_loader, row_lengths
from autorc_nni.data.record import RelationExample
from autorc_nni.encoders import load_encoder, load_tokenizer
from autorc_nni.errors import AutoRCError
from autorc_nni.featurize import Featurizer

TOK = load_tokenizer("tiny")
LABELS = {"r1": 0, "r2": 1}


def _rows(n: int = 13):
    exs = [
        RelationExample(
            tuple(["the", "cause"] * (1 + i % 5) + ["of", "effect"]),
            (0, 1),
            (2 + 2 * (i % 5), 3 + 2 * (i % 5)),
            None if i % 4 == 3 else "r1",
            f"x{i}",
        )
        for i in range(n)
    ]
    return Featurizer(TOK, cache=False).featurize(exs, LABELS).rows


def test_collate_shapes_padding_and_dist():
    rows = _rows(4).to_list()
    batch = collate(rows, ("markers", "standard"), max_len=256)
    assert batch["ids"] == ["x0", "x1", "x2", "x3"]
    assert batch["labels"].tolist() == [0, 0, 0, -1]
    assert set(batch) == {"labels", "ids", "markers", "standard"}
    for fmt in ("markers", "standard"):
        b = batch[fmt]
        lens = [len(r[f"{fmt}_input_ids"]) for r in rows]
        B, L = 4, max(lens)
        assert b["input_ids"].shape == (B, L) and b["attention_mask"].shape == (B, L)
        assert b["spans"].shape == (B, 5, 2) and b["dist"].shape == (B, 2, L)
        assert b["input_ids"].dtype == torch.long
        assert b["attention_mask"].sum(1).tolist() == lens
        for i, r in enumerate(rows):
            n = lens[i]
            assert b["input_ids"][i, :n].tolist() == r[f"{fmt}_input_ids"]
            assert (b["input_ids"][i, n:] == TOK.pad_token_id).all()
            assert b["spans"][i].tolist() == r[f"{fmt}_spans"]
            e1s, e2s = r[f"{fmt}_spans"][0][0], r[f"{fmt}_spans"][1][0]
            assert b["dist"][i, 0].tolist() == [j - e1s for j in range(L)]
            assert b["dist"][i, 1].tolist() == [j - e2s for j in range(L)]
            assert b["dist"][i, 0, e1s] == 0 and b["dist"][i, 1, e2s] == 0


def test_collate_clips_dist():
    rows = _rows(5).to_list()
    batch = collate(rows, ("standard",), max_len=3)
    dist = batch["standard"]["dist"]
    assert dist.max() == 3 and dist.min() == -3
    assert dist[4, 1, 0] == -3  # far left of e2 is clipped


def test_tiny_encoder_runs_on_a_collated_batch():
    tok, model = load_encoder("tiny")
    batch = collate(_rows(3).to_list(), ("markers", "tokens", "standard"))
    for fmt in ("markers", "tokens", "standard"):
        out = model(input_ids=batch[fmt]["input_ids"], attention_mask=batch[fmt]["attention_mask"])
        assert out.last_hidden_state.shape == (*batch[fmt]["input_ids"].shape, 32)  # (B, L, H)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(1, 300), min_size=0, max_size=200),
    st.integers(1, 17),
    st.integers(0, 5),
    st.booleans(),
)
def test_bucket_sampler_covers_every_example_once(lengths, batch_size, seed, shuffle):
    sampler = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    seen = [i for b in batches for i in b]
    assert sorted(seen) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert sum(len(b) < batch_size for b in batches) <= -(-len(lengths) // sampler.bucket)
    assert list(BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed)) == batches
    if not shuffle:
        flat = [lengths[i] for i in seen]
        assert flat == sorted(flat)


def test_bucket_sampler_groups_lengths_and_reshuffles_per_epoch():
    lengths = [(i * 37) % 200 + 1 for i in range(640)]
    sampler = BucketBatchSampler(lengths, 16, seed=0, bucket_batches=4)
    first = list(sampler)
    pad = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in first)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(640, generator=g).tolist()
    rand = [perm[i : i + 16] for i in range(0, 640, 16)]
    rand_pad = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in rand)
    assert pad * 5 < rand_pad  # far less padding than random batches
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert sorted(i for b in sampler for i in b) == list(range(640))
    assert list(BucketBatchSampler(lengths, 16, seed=1, bucket_batches=4)) != first
    with pytest.raises(AutoRCError, match="batch_size must be >= 1"):
        BucketBatchSampler(lengths, 0)


@pytest.mark.parametrize("bucket", [False, True])
def test_make_loader_yields_every_row_once(bucket):
    rows = _rows(13)
    loader = make_loader(rows, 4, formats=("tokens",), shuffle=True, bucket=bucket, seed=7)
    batches = list(loader)
    ids = [i for b in batches for i in b["ids"]]
    assert Counter(ids) == Counter(rows["id"])
    assert set(batches[0]) == {"labels", "ids", "tokens"}
    again = [
        i
        for b in make_loader(rows, 4, formats=("tokens",), bucket=bucket, seed=7)
        for i in b["ids"]
    ]
    assert again == ids  # deterministic for a seed
    ordered = [i for b in make_loader(rows, 4, ("tokens",), shuffle=False) for i in b["ids"]]
    assert ordered == rows["id"]
    for b in batches:  # padded to the longest row of the batch, not to max_len
        assert b["tokens"]["input_ids"].shape[1] == b["tokens"]["attention_mask"].sum(1).max()


def test_row_lengths_dataset_and_list_agree():
    rows = _rows(6)
    fmts = ("markers", "standard")
    assert row_lengths(rows, fmts) == row_lengths(rows.to_list(), fmts)
    assert row_lengths(rows, fmts) == [len(r["markers_input_ids"]) for r in rows]
