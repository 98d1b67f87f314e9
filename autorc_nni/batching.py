"""Batching: featurized rows -> padded tensors, with optional length-bucketed sampling.

``collate`` pads dynamically, to the longest row of the batch in each format (never to
``max_len``), and adds per format the attention mask, the part ranges and each token's distance
to the start of e1 and of e2 (docs/design.md §3: wordpiece index − entity start, clipped to
±``max_len``)::

    batch = {
      "labels": LongTensor (B,),
      "ids": list[str],
      "<format>": {
        "input_ids":      LongTensor (B, L),
        "attention_mask": LongTensor (B, L),
        "spans":          LongTensor (B, 5, 2),   # [start, end) per part, PARTS order
        "dist":           LongTensor (B, 2, L),   # token index − start of e1 / e2, clipped
        # levitated format only (its markers sit after the text):
        "position_ids":   LongTensor (B, L),      # text 0..n-1, a marker its span's word's
        "text_len":       LongTensor (B,),        # n: the framed text before the markers
      },
    }

In the levitated format ``dist`` counts in position ids (a marker is as far from an entity as
its span's words are).

``BucketBatchSampler`` groups examples of similar length so that little padding is needed;
``make_loader`` builds the ``DataLoader``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import pyarrow.compute as pc
import torch
from torch.utils.data import DataLoader, Sampler

from autorc_nni.architecture import FORMATS
from autorc_nni.errors import AutoRCError


def collate(
    rows: Sequence[Mapping], formats: Sequence[str] = FORMATS, max_len: int = 256, pad_id: int = 0
) -> dict:
    """Pad a list of featurized rows into the batch dict above (padding id ``pad_id``)."""
    if not rows:
        raise AutoRCError("collate: empty batch")
    batch: dict = {
        "labels": torch.tensor([int(r["label"]) for r in rows], dtype=torch.long),
        "ids": [r["id"] for r in rows],
    }
    for f in formats:
        seqs = [r[f"{f}_input_ids"] for r in rows]
        B, L = len(seqs), max(len(s) for s in seqs)
        input_ids = torch.full((B, L), pad_id, dtype=torch.long)
        mask = torch.zeros((B, L), dtype=torch.long)
        for i, s in enumerate(seqs):
            input_ids[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        spans = torch.as_tensor([r[f"{f}_spans"] for r in rows], dtype=torch.long)  # (B, 5, 2)
        starts = spans[:, :2, 0]  # (B, 2): start of e1, e2
        inputs = {"input_ids": input_ids, "attention_mask": mask, "spans": spans}
        if f"{f}_positions" in rows[0]:  # levitated markers: position ids of their own
            positions = torch.zeros((B, L), dtype=torch.long)
            for i, r in enumerate(rows):
                p = r[f"{f}_positions"]
                positions[i, : len(p)] = torch.as_tensor(p, dtype=torch.long)
            inputs["position_ids"] = positions  # (B, L)
            inputs["text_len"] = torch.tensor([int(r[f"{f}_text"]) for r in rows])  # (B,)
            # distances in positions: a marker is as far from its entity as its span's words
            start_pos = positions.gather(1, starts)  # (B, 2)
            dist = positions.unsqueeze(1) - start_pos.unsqueeze(-1)  # (B, 2, L)
        else:
            pos = torch.arange(L, dtype=torch.long)  # (L,)
            dist = pos.view(1, 1, L) - starts.unsqueeze(-1)  # (B, 2, L)
        inputs["dist"] = dist.clamp(-max_len, max_len)
        batch[f] = inputs
    return batch


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of examples of similar length; every example exactly once per epoch.

    Indices are sorted by length (ties broken at random), cut into buckets of
    ``batch_size * bucket_batches`` neighbours, shuffled within each bucket, cut into batches, and
    the batch order is shuffled. Deterministic for ``(seed, epoch)``; call ``set_epoch`` between
    epochs for a new order. With ``shuffle=False`` the batches go from shortest to longest.

    ``groups`` (one key per row, e.g. the sentence of a candidate span) keeps the rows of a
    group side by side among equal lengths, so that a batch holds few groups: the encoder then
    runs once per distinct input (``autorc_nni.heads.encode_with_posenc``), as SpERT encodes a
    sentence once for all its spans.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        bucket_batches: int = 8,
        drop_last: bool = False,
        groups: Sequence[object] | None = None,
    ) -> None:
        if batch_size < 1:
            raise AutoRCError(f"batch_size must be >= 1, got {batch_size}")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.bucket = batch_size * max(1, bucket_batches)
        self.drop_last = drop_last
        self.epoch = 0
        if groups is not None and len(groups) != len(self.lengths):
            raise AutoRCError(f"{len(groups)} groups for {len(self.lengths)} rows")
        self.groups = None
        if groups is not None:
            ids: dict[object, int] = {}
            self.groups = [ids.setdefault(g, len(ids)) for g in groups]
            self.n_groups = len(ids)

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` on the next iteration."""
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        idx = list(range(len(self.lengths)))
        groups, rank = self.groups, list(range(self.n_groups if self.groups is not None else 0))
        if groups is not None and self.shuffle:  # equal lengths: whole groups in a random order
            rng.shuffle(rank)

        def key(i: int) -> tuple[int, int]:
            return (self.lengths[i], rank[groups[i]] if groups is not None else 0)

        if self.shuffle:
            rng.shuffle(idx)  # random tie-break among equal lengths (sort is stable)
        idx.sort(key=key)
        batches: list[list[int]] = []
        for b in range(0, len(idx), self.bucket):
            bucket = idx[b : b + self.bucket]
            if self.shuffle:
                rng.shuffle(bucket)
                bucket.sort(key=key)  # similar lengths side by side
            batches += [
                bucket[i : i + self.batch_size] for i in range(0, len(bucket), self.batch_size)
            ]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def row_lengths(rows: Any, formats: Sequence[str]) -> list[int]:
    """Per row, its longest sequence over ``formats`` (the padded length it needs)."""
    if hasattr(rows, "with_format"):  # a datasets.Dataset: read the lengths from Arrow
        table = rows.with_format("arrow")
        cols = [pc.list_value_length(table[f"{f}_input_ids"]).to_pylist() for f in formats]
    else:
        cols = [[len(r[f"{f}_input_ids"]) for r in rows] for f in formats]
    return [max(ls) for ls in zip(*cols, strict=True)]


def text_keys(rows: Any, formats: Sequence[str]) -> list[tuple[int, ...]] | None:
    """Per row, the wordpieces of the text its encoder input shares with other rows: the
    ``standard`` ids, or the ``levitated`` ids before the markers; ``None`` when no format of
    ``formats`` shares a text between rows (``markers``, ``tokens``: one input per statement).
    Rows with one key are encoded once when batched together (``autorc_nni.posencs``)."""
    fmt = next((f for f in ("levitated", "standard") if f in formats), None)
    if fmt is None:
        return None
    if hasattr(rows, "with_format"):  # a datasets.Dataset: read the columns from Arrow
        table = rows.with_format("arrow")
        ids = table[f"{fmt}_input_ids"].to_pylist()
        ends = table[f"{fmt}_text"].to_pylist() if fmt == "levitated" else None
    else:
        ids = [r[f"{fmt}_input_ids"] for r in rows]
        ends = [r[f"{fmt}_text"] for r in rows] if fmt == "levitated" else None
    if ends is None:
        return [tuple(x) for x in ids]
    return [tuple(x[: int(n)]) for x, n in zip(ids, ends, strict=True)]


def make_loader(
    rows: Any,
    batch_size: int,
    formats: Sequence[str] = FORMATS,
    shuffle: bool = True,
    bucket: bool = False,
    seed: int = 0,
    max_len: int = 256,
    pad_id: int = 0,
    groups: Sequence[object] | None = None,
) -> DataLoader:
    """A ``DataLoader`` over featurized ``rows`` (a ``datasets.Dataset`` or a list of row dicts)
    yielding :func:`collate` batches; ``bucket`` groups rows of similar length (see
    :class:`BucketBatchSampler`); shuffling is deterministic for ``seed``."""
    collate_fn = partial(collate, formats=tuple(formats), max_len=max_len, pad_id=pad_id)
    if bucket:
        sampler = BucketBatchSampler(
            row_lengths(rows, formats), batch_size, shuffle, seed, groups=groups
        )
        return DataLoader(rows, batch_sampler=sampler, collate_fn=collate_fn)
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(
        rows, batch_size=batch_size, shuffle=shuffle, generator=gen, collate_fn=collate_fn
    )
