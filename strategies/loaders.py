"""The search's two loaders: per step, the child-training batches and the reward batch.

A Lightning ``CombinedLoader`` of the two (``AutoRCStrategy.train_dataloader``) hands each
training step both; each starts at the resumed step, so a resumed search draws what an
uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from autorc_nni.batching import BucketBatchSampler
from strategies.errors import SearchError

__all__ = ["ChildBatches", "RewardBatches"]


class ChildBatches:
    """Per search step, ``child_steps`` train batches (a list), one search epoch after another.

    Epoch ``e`` shuffles the rows with a generator seeded by ``(seed, e)``; an epoch has
    ``len(rows) // (batch_size * child_steps)`` steps (the remainder is dropped). With
    ``lengths`` (each row's padded length) the batches are those of the fine-tuning loader,
    ``autorc_nni.batching.BucketBatchSampler`` (similar lengths together, little padding; its
    epoch ``e``), in groups of ``child_steps``. Iteration starts at global step ``start_step`` and
    stops at ``total_steps``: a resumed search builds the loader at its checkpoint's step, without
    touching the skipped rows. ``epoch_rows(e) -> (rows, lengths, groups)`` (optional) gives the
    rows of epoch ``e`` > 0 (span NER and coreference draw their negatives afresh each epoch); the
    step count per epoch stays that of ``rows``. ``groups`` (with ``lengths``: one key per row, a
    span's sentence) keeps a group's rows in one batch among equal lengths, as the fine-tuning
    loader does with ``group_text``: a text shared by a batch's rows is encoded once.
    """

    def __init__(
        self,
        rows: Sequence[Any],
        batch_size: int,
        child_steps: int,
        collate: Callable[[list[Any]], Any],
        seed: int,
        total_steps: int,
        start_step: int = 0,
        lengths: Sequence[int] | None = None,
        epoch_rows: Callable[[int], tuple[Sequence[Any], Sequence[int], Sequence[Any] | None]]
        | None = None,
        groups: Sequence[Any] | None = None,
    ) -> None:
        if lengths is not None and len(lengths) != len(rows):
            raise SearchError(f"{len(lengths)} lengths for {len(rows)} rows")
        self.sampler = None
        if lengths is not None:
            self.sampler = BucketBatchSampler(
                list(lengths), batch_size, shuffle=True, seed=seed, drop_last=True, groups=groups
            )
        self.rows, self.batch_size, self.child_steps = rows, batch_size, child_steps
        self.collate, self.seed = collate, seed
        self.steps_per_epoch = len(rows) // (batch_size * child_steps)
        if self.steps_per_epoch < 1:
            raise SearchError(
                f"{len(rows)} train rows are fewer than one search step "
                f"({child_steps} batches of {batch_size})"
            )
        self.total_steps, self.start_step = total_steps, start_step
        self.epoch_rows, self.first_rows, self.first_lengths = epoch_rows, rows, lengths
        self.first_groups = groups

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)

    def _batches(self, epoch: int) -> list[list[int]]:
        """The epoch's batches (row indices), in order."""
        if self.epoch_rows is not None:  # this epoch's rows (and a sampler over their lengths)
            rows, lengths, groups = (
                (self.first_rows, self.first_lengths, self.first_groups)
                if epoch == 0
                else self.epoch_rows(epoch)
            )
            self.rows = rows
            if self.sampler is not None:
                if lengths is None:  # not reached: a sampler is built only with the lengths
                    raise SearchError(f"search epoch {epoch}: bucketed batches without lengths")
                self.sampler = BucketBatchSampler(
                    list(lengths),
                    self.batch_size,
                    shuffle=True,
                    seed=self.seed,
                    drop_last=True,
                    groups=groups,
                )
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
            return list(self.sampler)
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order = torch.randperm(len(self.rows), generator=g).tolist()
        b = self.batch_size
        return [order[i : i + b] for i in range(0, len(order) // b * b, b)]

    def __iter__(self) -> Iterator[list[Any]]:
        n = self.child_steps
        epoch, batches = -1, []
        for step in range(self.start_step, self.total_steps):
            e, s = divmod(step, self.steps_per_epoch)
            if e != epoch:
                epoch, batches = e, self._batches(e)
            yield [
                self.collate([self.rows[i] for i in idx]) for idx in batches[s * n : (s + 1) * n]
            ]


class RewardBatches:
    """Per search step, one validation batch of ``batch_size`` rows, cycling through the rows.

    Pass ``p`` (``p = 0, 1, ...`` over the whole search) shuffles with a generator seeded by
    ``(seed, p)``; the position of step ``t`` is a pure function of ``t``, so resuming is exact.
    Each item is a list of collated pieces of the batch: with ``lengths`` the batch's rows are
    sorted by length and cut into pieces of ``piece_size`` rows, each padded only to its own
    longest row (the same rows and reward, much less padding than one 4x batch); without, one
    piece.
    """

    def __init__(
        self,
        rows: Sequence[Any],
        batch_size: int,
        collate: Callable[[list[Any]], Any],
        seed: int,
        total_steps: int,
        start_step: int = 0,
        lengths: Sequence[int] | None = None,
        piece_size: int | None = None,
    ) -> None:
        if len(rows) == 0:
            raise SearchError("no validation rows: the reward needs a validation split")
        if lengths is not None and len(lengths) != len(rows):
            raise SearchError(f"{len(lengths)} lengths for {len(rows)} rows")
        self.rows, self.batch_size, self.collate, self.seed = (
            rows,
            min(batch_size, len(rows)),
            collate,
            seed,
        )
        self.lengths = None if lengths is None else torch.as_tensor(list(lengths))
        self.piece_size = piece_size or self.batch_size
        self.per_pass = len(rows) // self.batch_size
        self.total_steps, self.start_step = total_steps, start_step

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)

    def __iter__(self) -> Iterator[list[Any]]:
        b = self.batch_size
        cur, order = -1, torch.empty(0, dtype=torch.long)
        for step in range(self.start_step, self.total_steps):
            p, s = divmod(step, self.per_pass)
            if p != cur:
                g = torch.Generator().manual_seed(self.seed * 100_019 + p + 7)
                cur, order = p, torch.randperm(len(self.rows), generator=g)
            idx = order[s * b : (s + 1) * b]
            if self.lengths is None:
                yield [self.collate([self.rows[int(i)] for i in idx])]
                continue
            idx = idx[torch.argsort(self.lengths[idx], stable=True)]
            yield [
                self.collate([self.rows[int(i)] for i in idx[j : j + self.piece_size]])
                for j in range(0, len(idx), self.piece_size)
            ]
