"""Featurization: ``RelationExample`` -> wordpiece ids and the five part ranges, per input format.

For every example and every requested format of docs/design.md §3 a row keeps

- ``f"{f}_input_ids"``: the ids, framed by the tokenizer's own special tokens ([CLS] … [SEP]);
- ``f"{f}_spans"``: five ``[start, end)`` wordpiece ranges in ``PARTS`` order (e1, e2, c0, c1, c2);

plus ``label`` (an int, −1 when unlabeled) and ``id``.

How it is built (fast): each example's words are tokenized ONCE, in one batch call of the fast
tokenizer (``is_split_into_words``); the three formats are then spliced from the per-word
wordpieces and the special-token ids, with all offsets computed arithmetically. A word that yields
no wordpiece (an empty or control-character token) becomes one ``[UNK]`` so that every word, and
hence every entity, owns at least one wordpiece.

Formats (word spans are end-exclusive; e1 = head, e2 = tail):

- ``standard``: the words unchanged; an entity's range is its words' wordpieces.
- ``markers``: ``[E1] … [/E1]`` and ``[E2] … [/E2]`` inserted around the spans; the entity range
  includes its two markers. Nested spans nest the markers: the outer entity (the one containing
  the other; e1 when the spans are equal) opens first and closes last, e.g.
  ``[E1] a [E2] b [/E2] c [/E1]``; **equal spans** (span NER: one span seen through two poolers)
  get one pair ``[E1] … [/E1]`` and e1 = e2 = that range. **Partial overlap** (words a b c with e1
  = a b, e2 = b c):
  markers cannot nest around both exact spans, so the entity that starts first becomes the
  outer one and is *widened to the union*:
  ``[E1] a [E2] b c [/E2] [/E1]``. The inner entity keeps its exact words; the outer one covers
  its words plus the inner entity's overhang. (``standard`` keeps both exact.)
- ``levitated`` (packed levitated markers, Ye et al. 2022, PL-Marker): the words unchanged, then
  after the frame one marker pair per entity, ``[E1] [/E1]`` (and ``[E2] [/E2]``; one pair when
  e1 = e2), each marker with the position id of its span's first / last wordpiece
  (``levitated_positions``; ``levitated_text`` = the length of the framed text). An entity's
  range is its two markers; c0, c1, c2 are the text's, as in ``standard``. The attention mask
  (``autorc_nni.batching``) lets the text see only the text and the markers see the text and
  the markers of their own statement, so the text's states do not depend on the markers and the
  statements of one text can share one encoder pass (``autorc_nni.posencs``). The window keeps
  room for the markers.
- ``tokens``: each mention is replaced by the single token ``[ENTITY-1]`` / ``[ENTITY-2]``; the
  entity range is that one token. **Nested or overlapping** mentions: the union of the two spans
  is replaced by both tokens, in the order of their starts (e1 first on a tie), e.g. words a b c
  with e1 = a b, e2 = b c becomes ``[ENTITY-1] [ENTITY-2]``.

Parts (docs/design.md §2): ``c0`` = the prefix ([CLS]) and everything before the leftmost entity,
``c1`` = strictly between the entities, ``c2`` = after the rightmost entity through the suffix
([SEP]). c0/c1/c2 are positional whichever entity comes first. When the entities are disjoint the
five parts cover the sequence exactly once. When they overlap, the entity ranges overlap (or, in
``tokens``, are adjacent) and c1 is the empty range ``[r, r)`` at ``r`` = the end of the rightmost
entity; c0 + (e1 ∪ e2) + c2 still cover the sequence exactly once.

Length: a sequence longer than ``max_len`` is cut to a window of wordpieces that keeps both
entities whole, centred on them as far as the sentence allows, then shrunk at either edge to a
word boundary (no orphan ``##`` piece), and re-framed with [CLS]/[SEP];
``truncated`` counts the examples windowed in any format. An example whose entities (from the
leftmost start to the rightmost end) do not fit in ``max_len`` in some format is dropped and
counted in ``dropped`` under the reason ``"entities do not fit in max_len=N"`` (its id goes to
``dropped_ids``); nothing is mangled silently.

Cache: results are stored with ``datasets`` (``save_to_disk``/``load_from_disk``) under
``$AUTORC_CACHE_DIR/featurized/<fingerprint>`` (default ``~/.cache/autorc``); the fingerprint
hashes the tokenizer (its full serialisation: vocabulary, added/special tokens, normaliser), the
frame ids, ``max_len``, the formats, the label map and every example's content, plus
``FEATURIZE_VERSION``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import pyarrow as pa
from transformers import PreTrainedTokenizerBase

from autorc_nni.architecture import FORMATS, PARTS
from autorc_nni.data.record import RelationExample
from autorc_nni.encoders import SPECIAL_TOKENS, has_special_tokens
from autorc_nni.errors import AutoRCError, DataError

# Bump when the row layout or the splicing rules change: old cache entries are then ignored.
FEATURIZE_VERSION = 3  # 2: one marker pair around e1 = e2 (span NER); 3: levitated markers

Span = tuple[int, int]
# one format's row: ids, the five part ranges, whether it was windowed, and for ``levitated``
# the markers' position ids and the length of the framed text
Built = tuple[list[int], list[list[int]], bool, tuple[list[int], int] | None]


class FeaturizeError(AutoRCError):
    """The featurizer was configured wrongly (unknown format, tokenizer without markers, …)."""


@dataclass
class FeaturizedSplit:
    """The featurized rows of one split and what happened on the way."""

    rows: datasets.Dataset
    truncated: int  # examples cut to a window around their entities
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    dropped_ids: list[str] = field(default_factory=list)  # ids of the dropped examples
    from_cache: bool = False  # True when the rows were loaded from the featurization cache


def cache_root() -> Path:
    """``$AUTORC_CACHE_DIR`` (default ``~/.cache/autorc``)."""
    return Path(os.environ.get("AUTORC_CACHE_DIR") or "~/.cache/autorc").expanduser()


def _frame(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a single sequence ([CLS] / [SEP])."""
    enc = tokenizer([["a"]], is_split_into_words=True, add_special_tokens=True)
    ids, words = enc["input_ids"][0], enc.word_ids(0)
    inner = [i for i, w in enumerate(words) if w is not None]
    return ids[: inner[0]], ids[inner[-1] + 1 :]


def _window(n: int, lo: int, hi: int, room: int) -> tuple[int, int] | None:
    """``[start, end)`` of a window of at most ``room`` items of ``n`` that contains ``[lo, hi)``,
    centred on it as far as the sequence allows; ``None`` if ``[lo, hi)`` is wider than ``room``."""
    if n <= room:
        return 0, n
    if hi - lo > room:
        return None
    start = max(0, lo - (room - (hi - lo)) // 2)
    end = min(n, start + room)
    return end - room, end


class Featurizer:
    """Turns ``RelationExample`` lists into rows with every requested input format.

    ``tokenizer`` must be a fast HF tokenizer; for ``markers``/``tokens`` it must know
    ``SPECIAL_TOKENS`` (use :func:`autorc_nni.encoders.load_tokenizer`).
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_len: int = 256,
        formats: Sequence[str] = FORMATS,
        cache: bool = True,
        cache_dir: str | Path | None = None,
    ) -> None:
        formats = tuple(formats)
        bad = [f for f in formats if f not in FORMATS]
        if bad or not formats:
            raise FeaturizeError(
                f"unknown input format(s) {bad or formats}; known: {list(FORMATS)}"
            )
        if not getattr(tokenizer, "is_fast", False):
            raise FeaturizeError(
                f"featurization needs a fast tokenizer (word_ids); got {type(tokenizer).__name__}"
            )
        if set(formats) - {"standard"} and not has_special_tokens(tokenizer):
            raise FeaturizeError(
                f"the tokenizer lacks the special tokens {SPECIAL_TOKENS} needed by the formats "
                f"{[f for f in formats if f != 'standard']}; load it with "
                "autorc_nni.encoders.load_tokenizer()"
            )
        self.tokenizer = tokenizer
        self.max_len = int(max_len)
        self.formats = formats
        self.cache = cache
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.prefix, self.suffix = _frame(tokenizer)
        self.room = self.max_len - len(self.prefix) - len(self.suffix)
        if self.room < 1:
            raise FeaturizeError(
                f"max_len={self.max_len} leaves no room for words between "
                f"{len(self.prefix)} prefix and {len(self.suffix)} suffix special tokens"
            )
        vocab = tokenizer.get_vocab()
        self.special = {t: vocab[t] for t in SPECIAL_TOKENS if t in vocab}
        self.unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else 0
        self._tok_hash = self._tokenizer_hash()

    # ---------------------------------------------------------------------------------------
    # public
    # ---------------------------------------------------------------------------------------
    def featurize(
        self, examples: Iterable[RelationExample], label2id: Mapping[str, int]
    ) -> FeaturizedSplit:
        """Featurize ``examples`` (labels mapped through ``label2id``), from the cache if
        present."""
        examples = list(examples)
        labels = [self._label(ex, label2id) for ex in examples]
        key = self.fingerprint(examples, label2id)
        path = self._cache_path(key)
        if path is not None and (path / "meta.json").is_file():
            try:
                return self._load(path)
            except (OSError, ValueError, KeyError):  # a damaged entry: rebuild it
                shutil.rmtree(path, ignore_errors=True)
        out = self._featurize(examples, labels)
        if path is not None:
            self._save(out, path)
        return out

    def fingerprint(self, examples: Sequence[RelationExample], label2id: Mapping[str, int]) -> str:
        """A hash of everything the rows depend on (the cache key)."""
        h = hashlib.sha256()
        head = [
            FEATURIZE_VERSION,
            self._tok_hash,
            self.prefix,
            self.suffix,
            self.max_len,
            list(self.formats),
            sorted(label2id.items()),
        ]
        h.update(json.dumps(head).encode())
        for ex in examples:
            h.update(json.dumps([ex.tokens, ex.head, ex.tail, ex.label, ex.id]).encode())
            h.update(b"\n")
        return h.hexdigest()[:32]

    # ---------------------------------------------------------------------------------------
    # building rows
    # ---------------------------------------------------------------------------------------
    def _featurize(self, examples: list[RelationExample], labels: list[int]) -> FeaturizedSplit:
        cols: dict[str, list] = {
            f"{f}_{c}": [] for f in self.formats for c in ("input_ids", "spans")
        }
        if "levitated" in self.formats:
            cols["levitated_positions"], cols["levitated_text"] = [], []
        cols["label"], cols["id"] = [], []
        truncated = 0
        dropped: Counter[str] = Counter()
        dropped_ids: list[str] = []
        for ex, label, (flat, off) in zip(
            examples, labels, self._word_pieces(examples), strict=True
        ):
            maybe_built = [self._build(fmt, ex, flat, off) for fmt in self.formats]
            built = [b for b in maybe_built if b is not None]
            if len(built) != len(maybe_built):  # some format has no room for the entities
                dropped[f"entities do not fit in max_len={self.max_len}"] += 1
                dropped_ids.append(ex.id)
                continue
            for fmt, (ids, spans, _cut, lev) in zip(self.formats, built, strict=True):
                cols[f"{fmt}_input_ids"].append(ids)
                cols[f"{fmt}_spans"].append(spans)
                if lev is not None:
                    cols[f"{fmt}_positions"].append(lev[0])
                    cols[f"{fmt}_text"].append(lev[1])
            truncated += any(cut for _, _, cut, _ in built)
            cols["label"].append(label)
            cols["id"].append(ex.id)
        # straight to Arrow (C speed), with the schema of ``_features()``
        table = pa.Table.from_pydict(cols, schema=self._features().arrow_schema)
        rows = datasets.Dataset(table)
        return FeaturizedSplit(rows, truncated, dropped, dropped_ids)

    def _word_pieces(
        self, examples: list[RelationExample]
    ) -> Iterator[tuple[list[int], list[int]]]:
        """Per example: the flat wordpiece ids of its words and word offsets into them
        (``off[w]`` = first piece of word w, ``off[n]`` = total). Each distinct word sequence
        is tokenized once (span NER's candidates of a sentence, a sentence's pairs share it):
        the lists are shared between its examples and read only."""
        if not examples:
            return
        index: dict[tuple[str, ...], int] = {}
        for ex in examples:
            index.setdefault(tuple(ex.tokens), len(index))
        texts = list(index)
        enc = self.tokenizer(
            [list(t) for t in texts], is_split_into_words=True, add_special_tokens=False
        )
        pieces = [
            self._offsets(enc["input_ids"][i], enc.encodings[i].word_ids, len(t))
            for i, t in enumerate(texts)
        ]
        for ex in examples:
            yield pieces[index[tuple(ex.tokens)]]

    def _offsets(self, ids: list[int], words: list[int], n: int) -> tuple[list[int], list[int]]:
        """The wordpiece ids of one text of ``n`` words (a word without wordpieces gets one
        [UNK]) and the word offsets into them; ``words``: each piece's word."""
        counts = [0] * n
        for w in words:
            counts[w] += 1
        if 0 in counts:  # a word without wordpieces -> one [UNK]
            pieces: list[list[int]] = [[] for _ in range(n)]
            for t, w in zip(ids, words, strict=True):
                pieces[w].append(t)
            pieces = [p or [self.unk] for p in pieces]
            ids = [t for p in pieces for t in p]
            counts = [len(p) for p in pieces]
        off = [0] * (n + 1)
        for w in range(n):
            off[w + 1] = off[w] + counts[w]
        return ids, off

    def _build(
        self, fmt: str, ex: RelationExample, flat: list[int], off: list[int]
    ) -> Built | None:
        """``(ids, spans, windowed, levitated)`` for one format, or ``None`` if the entities
        do not fit; ``levitated``: ``(positions, text length)`` of the levitated format."""
        levitated = fmt == "levitated"
        body_fn = getattr(self, "_body_standard" if levitated else f"_body_{fmt}")
        body, e1, e2 = body_fn(ex, flat, off)
        lo, hi = min(e1[0], e2[0]), max(e1[1], e2[1])
        n_markers = (2 if ex.head == ex.tail else 4) if levitated else 0
        win = _window(len(body), lo, hi, self.room - n_markers)
        if win is None:
            return None
        start, end = win
        if (start, end) != (0, len(body)):  # do not cut a word: shrink to word boundaries
            # the same splice over "may start here" flags: word starts and special tokens
            starts = [False] * len(flat)
            for w in off[:-1]:
                starts[w] = True
            flags = body_fn(ex, starts, off, dict.fromkeys(SPECIAL_TOKENS, True))[0]
            while start < lo and not flags[start]:
                start += 1
            while end > hi and end < len(body) and not flags[end]:
                end -= 1
        shift = len(self.prefix) - start
        ids = self.prefix + body[start:end] + self.suffix
        e1 = (e1[0] + shift, e1[1] + shift)
        e2 = (e2[0] + shift, e2[1] + shift)
        lo, hi = lo + shift, hi + shift
        (hs, he), (ts, te) = ex.head, ex.tail
        if he <= ts or te <= hs:  # disjoint words: c1 lies between the entities
            left, right = (e1, e2) if e1[0] <= e2[0] else (e2, e1)
            c1 = (left[1], right[0])
        else:  # nested or overlapping: c1 is empty, at the end of the rightmost entity
            c1 = (hi, hi)
        spans = [list(e1), list(e2), [0, lo], list(c1), [hi, len(ids)]]
        cut = (start, end) != (0, len(body))
        if not levitated:
            return ids, spans, cut, None
        # the levitated markers after the text: each pair takes the positions of its span's
        # first and last wordpiece; an entity's range is its pair of markers
        n = len(ids)
        sp = self.special
        pairs = [(e1, "1")] if ex.head == ex.tail else [(e1, "1"), (e2, "2")]
        markers = [t for _, k in pairs for t in (sp[f"[E{k}]"], sp[f"[/E{k}]"])]
        positions = list(range(n)) + [p for (a, b), _ in pairs for p in (a, b - 1)]
        m1 = [n, n + 2]
        m2 = [n + 2, n + 4] if len(pairs) == 2 else m1
        spans = [m1, m2, *spans[2:]]
        return ids + markers, spans, cut, (positions, n)

    # The three splices: ``(body, e1 range, e2 range)`` without the frame. ``flat`` is the
    # sentence's wordpieces (or any per-piece list), ``sp`` the ids to splice in (default: the
    # tokenizer's special-token ids).
    def _body_standard(
        self,
        ex: RelationExample,
        flat: list[int],
        off: list[int],
        sp: Mapping[str, int] | None = None,
    ) -> tuple[list[int], Span, Span]:
        (hs, he), (ts, te) = ex.head, ex.tail
        return flat, (off[hs], off[he]), (off[ts], off[te])

    def _body_markers(
        self,
        ex: RelationExample,
        flat: list[int],
        off: list[int],
        sp: Mapping[str, int] | None = None,
    ) -> tuple[list[int], Span, Span]:
        (hs, he), (ts, te) = ex.head, ex.tail
        sp = sp or self.special
        # marker events at word boundaries: (word position, order, depth, id, entity, is_open);
        # order at one boundary: closes before opens; inner closes first, outer opens first.
        if ex.head == ex.tail:  # one span: one pair of markers, e1 = e2
            spans = {1: (hs, he, 0)}
        elif he <= ts or te <= hs:  # disjoint (or adjacent)
            spans = {1: (hs, he, 0), 2: (ts, te, 0)}
        else:
            if (hs, -he) <= (ts, -te):  # e1 starts first, or same start and e1 is longer/equal
                outer, inner = 1, 2
            else:
                outer, inner = 2, 1
            (os_, oe), (is_, ie) = (ex.head, ex.tail) if outer == 1 else (ex.tail, ex.head)
            spans = {outer: (os_, max(oe, ie), 0), inner: (is_, ie, 1)}
        events = []
        for ent, (s, e, depth) in spans.items():
            events.append((s, 1, depth, sp[f"[E{ent}]"], ent, True))
            events.append((e, 0, -depth, sp[f"[/E{ent}]"], ent, False))
        events.sort()
        body: list[int] = []
        pos = {}
        w = 0
        for at, _, _, tid, ent, is_open in events:
            body += flat[off[w] : off[at]]
            w = at
            pos[(ent, is_open)] = len(body)
            body.append(tid)
        body += flat[off[w] :]
        e1 = (pos[(1, True)], pos[(1, False)] + 1)
        e2 = (pos[(2, True)], pos[(2, False)] + 1) if 2 in spans else e1
        return body, e1, e2

    def _body_tokens(
        self,
        ex: RelationExample,
        flat: list[int],
        off: list[int],
        sp: Mapping[str, int] | None = None,
    ) -> tuple[list[int], Span, Span]:
        (hs, he), (ts, te) = ex.head, ex.tail
        sp = sp or self.special
        t1, t2 = sp["[ENTITY-1]"], sp["[ENTITY-2]"]
        if he <= ts:  # e1 left of e2
            body = flat[: off[hs]] + [t1] + flat[off[he] : off[ts]] + [t2] + flat[off[te] :]
            p1 = off[hs]
            p2 = p1 + 1 + off[ts] - off[he]
        elif te <= hs:  # e2 left of e1
            body = flat[: off[ts]] + [t2] + flat[off[te] : off[hs]] + [t1] + flat[off[he] :]
            p2 = off[ts]
            p1 = p2 + 1 + off[hs] - off[te]
        else:  # overlap: the union becomes both tokens, in the order of their starts
            us, ue = min(hs, ts), max(he, te)
            pair = [t1, t2] if hs <= ts else [t2, t1]
            body = flat[: off[us]] + pair + flat[off[ue] :]
            p1, p2 = (off[us], off[us] + 1) if hs <= ts else (off[us] + 1, off[us])
        return body, (p1, p1 + 1), (p2, p2 + 1)

    # ---------------------------------------------------------------------------------------
    # labels, features, cache
    # ---------------------------------------------------------------------------------------
    @staticmethod
    def _label(ex: RelationExample, label2id: Mapping[str, int]) -> int:
        if ex.label is None:
            return -1
        try:
            return int(label2id[ex.label])
        except KeyError:
            raise DataError(
                f"{ex.id}: label {ex.label!r} is not in the label set "
                f"({len(label2id)} labels: {sorted(label2id)[:5]}…)"
            ) from None

    def _features(self) -> datasets.Features:
        feats = {}
        for f in self.formats:
            feats[f"{f}_input_ids"] = datasets.List(datasets.Value("int32"))
            feats[f"{f}_spans"] = datasets.List(
                datasets.List(datasets.Value("int32"), length=2), length=len(PARTS)
            )
            if f == "levitated":  # each token's position id; the text's length before markers
                feats[f"{f}_positions"] = datasets.List(datasets.Value("int32"))
                feats[f"{f}_text"] = datasets.Value("int32")
        feats["label"] = datasets.Value("int64")
        feats["id"] = datasets.Value("string")
        return datasets.Features(feats)

    def _tokenizer_hash(self) -> str:
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        text = (
            backend.to_str()
            if backend is not None
            else json.dumps(sorted(self.tokenizer.get_vocab().items()))
        )
        h = hashlib.sha256(type(self.tokenizer).__name__.encode())
        h.update(text.encode())
        h.update(json.dumps(self.special, sort_keys=True).encode())
        return h.hexdigest()

    def _cache_path(self, key: str) -> Path | None:
        if not self.cache:
            return None
        return (self.cache_dir or cache_root() / "featurized") / key

    @staticmethod
    def _load(path: Path) -> FeaturizedSplit:
        meta = json.loads((path / "meta.json").read_text())
        rows = datasets.load_from_disk(str(path / "rows"))
        return FeaturizedSplit(
            rows, meta["truncated"], Counter(meta["dropped"]), meta["dropped_ids"], from_cache=True
        )

    @staticmethod
    def _save(out: FeaturizedSplit, path: Path) -> None:
        """Write atomically: into a temporary sibling folder, then rename it into place."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        bars = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            out.rows.save_to_disk(str(tmp / "rows"))
            meta = {
                "truncated": out.truncated,
                "dropped": dict(out.dropped),
                "dropped_ids": out.dropped_ids,
                "version": FEATURIZE_VERSION,
            }
            (tmp / "meta.json").write_text(json.dumps(meta))
            try:
                tmp.rename(path)
            except OSError:  # another process wrote the same entry first: keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            if bars:
                datasets.enable_progress_bars()
        if (path / "rows").is_dir():  # serve the rows memory-mapped from the cache from now on
            out.rows = datasets.load_from_disk(str(path / "rows"))
