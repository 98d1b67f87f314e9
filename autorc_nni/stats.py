"""Dataset statistics: what ``autorc data stats`` prints.

Per split: examples, labels, examples per label, mean sentence length in words and wordpieces,
mean entity length, and how many examples were truncated or dropped and why. Word figures come
from the records; wordpiece, truncation and featurization-drop figures come from the same
tokenizer and ``Featurizer`` that training uses (``_featurized_counts`` is the one place that
calls it), so the numbers printed are the ones a run will see.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from transformers import PreTrainedTokenizerBase

from autorc_nni.data.datasets import SPLITS, LoadedDataset
from autorc_nni.data.record import RelationExample
from autorc_nni.featurize import Featurizer


@dataclass
class SplitStats:
    """The figures of one split."""

    examples: int
    labels: int
    per_label: dict[str, int]  # label -> examples, most frequent first
    mean_words: float
    mean_entity_words: float  # over both entities of every example
    mean_e1_words: float
    mean_e2_words: float
    mean_wordpieces: float | None = None  # the sentence's wordpieces, without [CLS]/[SEP]
    max_wordpieces: int | None = None
    truncated: int | None = None  # windowed to max_len around the entities (any format)
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count (reader + featurizer)
    dropped_where: dict[str, list[str]] = field(default_factory=dict)  # reader reason -> the
    # first few "FILE:LINE" of the records dropped


@dataclass
class DatasetStats:
    """The figures of a dataset, split by split."""

    name: str
    labels: list[str]
    negative_label: str | None
    metric: str
    encoder: str | None
    max_len: int
    splits: dict[str, SplitStats]
    format: str = ""  # the reader the files were read with
    format_detected: bool = False  # told from the files' content (no --format given)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def word_stats(examples: Sequence[RelationExample]) -> SplitStats:
    """The figures that need no tokenizer."""
    per_label = Counter(ex.label if ex.label is not None else "(unlabeled)" for ex in examples)
    e1 = [ex.head[1] - ex.head[0] for ex in examples]
    e2 = [ex.tail[1] - ex.tail[0] for ex in examples]
    return SplitStats(
        examples=len(examples),
        labels=len(per_label),
        per_label=dict(sorted(per_label.items(), key=lambda kv: (-kv[1], kv[0]))),
        mean_words=_mean([len(ex.tokens) for ex in examples]),
        mean_entity_words=_mean(e1 + e2),
        mean_e1_words=_mean(e1),
        mean_e2_words=_mean(e2),
    )


def wordpiece_lengths(
    examples: Sequence[RelationExample], tokenizer: PreTrainedTokenizerBase
) -> list[int]:
    """Wordpieces per sentence (no special tokens; a word without pieces counts as one [UNK])."""
    if not examples:
        return []
    enc = tokenizer(
        [list(ex.tokens) for ex in examples], is_split_into_words=True, add_special_tokens=False
    )
    out = []
    for i, ex in enumerate(examples):
        words = set(w for w in enc.encodings[i].word_ids if w is not None)
        out.append(len(enc["input_ids"][i]) + (len(ex.tokens) - len(words)))
    return out


def _featurized_counts(
    examples: Sequence[RelationExample],
    tokenizer: PreTrainedTokenizerBase,
    max_len: int,
    label2id: Mapping[str, int],
    cache: bool,
) -> tuple[int, Counter[str]]:
    """``(truncated, dropped)`` from the training featurizer, all three input formats."""
    out = Featurizer(tokenizer, max_len=max_len, cache=cache).featurize(examples, label2id)
    return int(out.truncated), Counter(out.dropped)


def compute_stats(
    ds: LoadedDataset,
    encoder: str | None = "minilm",
    max_len: int = 256,
    tokenizer: PreTrainedTokenizerBase | None = None,
    cache: bool = True,
) -> DatasetStats:
    """Statistics of every split of ``ds``; ``encoder=None`` skips the wordpiece figures.

    ``tokenizer`` overrides loading one by ``encoder`` name (tests pass the tiny one).
    """
    if tokenizer is None and encoder is not None:
        from autorc_nni.encoders import load_tokenizer

        tokenizer = load_tokenizer(encoder)
    splits = {}
    for split in SPLITS:
        examples = ds.splits[split]
        st = word_stats(examples)
        dropped: Counter[str] = Counter(ds.dropped.get(split, {}))
        if tokenizer is not None:
            lengths = wordpiece_lengths(examples, tokenizer)
            st.mean_wordpieces = _mean(lengths)
            st.max_wordpieces = max(lengths, default=0)
            st.truncated, feat_dropped = _featurized_counts(
                examples, tokenizer, max_len, ds.label2id, cache
            )
            dropped.update({f"featurize: {k}": v for k, v in feat_dropped.items()})
        st.dropped = dict(sorted(dropped.items()))
        st.dropped_where = {k: list(v) for k, v in sorted(ds.dropped_where.get(split, {}).items())}
        splits[split] = st
    return DatasetStats(
        name=ds.spec.name,
        labels=list(ds.labels),
        negative_label=ds.negative_label,
        metric=ds.metric,
        encoder=encoder if tokenizer is not None else None,
        max_len=max_len,
        splits=splits,
        format=ds.format,
        format_detected=ds.format_detected,
    )


def format_stats(stats: DatasetStats) -> str:
    """A plain-text report, one block per split."""
    lines = [
        f"dataset {stats.name}: {len(stats.labels)} labels ("
        + (
            f"negative {stats.negative_label!r}"
            if stats.negative_label is not None
            else "no negative label: micro-F1 over all labels"
        )
        + "), "
        f"metric {stats.metric}"
        + (f", wordpieces by {stats.encoder}, max_len {stats.max_len}" if stats.encoder else ""),
    ]
    if stats.format:
        lines.append(f"format: {stats.format}" + (" (detected)" if stats.format_detected else ""))
    for split, st in stats.splits.items():
        lines.append("")
        lines.append(f"[{split}] {st.examples} examples, {st.labels} labels")
        lines.append(
            f"  mean sentence length: {st.mean_words:.2f} words"
            + (
                f", {st.mean_wordpieces:.2f} wordpieces (max {st.max_wordpieces})"
                if st.mean_wordpieces is not None
                else ""
            )
        )
        lines.append(
            f"  mean entity length: {st.mean_entity_words:.2f} words "
            f"(e1 {st.mean_e1_words:.2f}, e2 {st.mean_e2_words:.2f})"
        )
        if st.truncated is not None:
            lines.append(
                f"  truncated to max_len={stats.max_len} around the entities: {st.truncated}"
            )
        total = sum(st.dropped.values())
        lines.append(f"  dropped: {total}")
        for reason, n in st.dropped.items():
            lines.append(f"    {n:6d}  {reason}")
            places = st.dropped_where.get(reason, [])
            if places:
                more = f" (and {n - len(places)} more)" if n > len(places) else ""
                lines.append(f"            at {', '.join(places)}{more}")
        lines.append("  examples per label:")
        width = max((len(lb) for lb in st.per_label), default=0)
        lines += [f"    {lb:<{width}}  {n:6d}" for lb, n in st.per_label.items()]
    return "\n".join(lines)
