"""Featurization invariants, property-tested over random sentences and entity spans."""

from __future__ import annotations

import functools
import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autorc_nni.architecture import FORMATS
from autorc_nni.data.record import RelationExample
from autorc_nni.encoders import SPECIAL_TOKENS, load_tokenizer
from autorc_nni.errors import AutoRCError, DataError
from autorc_nni.featurize import FeaturizeError, Featurizer

LABELS = {"r1": 0, "r2": 1, "Other": 2}

# In-vocabulary words, words that split into several pieces, punctuation, digits, unknown
# characters, and words that yield no wordpiece at all ("" and a control character -> [UNK]).
WORDS = [
    "the",
    "cause",
    "effect",
    "of",
    "unaffable",
    "crane",
    "x",
    "42",
    ",",
    ".",
    "café",
    "hello-world",
    "New",
    "ÆØ",
    "",
    "\x00",
    "gene",
    "proteins",
]


class Tok:
    """A tokenizer with the ids the checks need."""

    def __init__(self, name: str) -> None:
        self.tok = load_tokenizer(name)
        self.sp = {t: self.tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
        self.markers = {self.sp[t] for t in ("[E1]", "[/E1]", "[E2]", "[/E2]")}
        self.cls, self.sep = self.tok.cls_token_id, self.tok.sep_token_id
        self._cache: dict[str, list[int]] = {}

    def pieces(self, words) -> list[int]:
        """The wordpieces of ``words``, each tokenized on its own (no wordpiece -> [UNK])."""
        out = []
        for w in words:
            if w not in self._cache:
                ids = self.tok([[w]], is_split_into_words=True, add_special_tokens=False)
                self._cache[w] = ids["input_ids"][0] or [self.tok.unk_token_id]
            out += self._cache[w]
        return out

    def offsets(self, words) -> list[int]:
        """Word boundaries in ``pieces(words)``: 0, end of word 0, …, total."""
        out = [0]
        for w in words:
            out.append(out[-1] + len(self.pieces([w])))
        return out


@functools.cache
def get_tok(name: str) -> Tok:
    return Tok(name)


TINY = get_tok("tiny")
TOK, SP = TINY.tok, TINY.sp


@st.composite
def examples(draw, max_words: int = 24):
    n = draw(st.integers(1, max_words))
    words = tuple(draw(st.lists(st.sampled_from(WORDS), min_size=n, max_size=n)))

    def span():
        s = draw(st.integers(0, n - 1))
        return s, draw(st.integers(s + 1, n))

    head = span()
    kind = draw(st.sampled_from(["random", "adjacent", "nested", "same"]))
    if kind == "adjacent" and (head[1] < n or head[0] > 0):
        tail = (head[1], draw(st.integers(head[1] + 1, n))) if head[1] < n else (0, head[0])
    elif kind == "nested":
        s = draw(st.integers(head[0], head[1] - 1))
        tail = (s, draw(st.integers(s + 1, head[1])))
    elif kind == "same":
        tail = head
    else:
        tail = span()
    if draw(st.booleans()):
        head, tail = tail, head
    label = draw(st.sampled_from([None, *LABELS]))
    return RelationExample(words, head, tail, label, f"ex{draw(st.integers(0, 10**6))}")


def disjoint(ex: RelationExample) -> bool:
    return ex.head[1] <= ex.tail[0] or ex.tail[1] <= ex.head[0]


def full_lengths(t: Tok, ex: RelationExample) -> dict[str, tuple[int, int]]:
    """Independently computed, per format: (body length, entity extent) before windowing."""
    (hs, he), (ts, te) = ex.head, ex.tail
    lo, hi = min(hs, ts), max(he, te)
    n_all = len(t.pieces(ex.tokens))
    extent = len(t.pieces(ex.tokens[lo:hi]))
    ent = len(t.pieces(ex.tokens[hs:he])) + len(t.pieces(ex.tokens[ts:te]))
    if disjoint(ex):
        tok_body, tok_extent = n_all - ent + 2, extent - ent + 2
    else:
        tok_body, tok_extent = n_all - extent + 2, 2
    m = 2 if ex.head == ex.tail else 4  # equal spans (span NER): one pair of markers
    return {
        "standard": (n_all, extent),
        "markers": (n_all + m, extent + m),
        "tokens": (tok_body, tok_extent),
        "levitated": (n_all + m, extent + m),  # the window keeps room for the markers
    }


def check_levitated(t: Tok, row: dict, ex: RelationExample, max_len: int) -> None:
    """The framed text, then one marker pair per entity at its span's first / last piece."""
    ids, spans, pos = row["levitated_input_ids"], row["levitated_spans"], row["levitated_positions"]
    n = row["levitated_text"]
    assert len(ids) == len(pos) <= max_len and pos[:n] == list(range(n))
    assert ids[0] == t.cls and ids[n - 1] == t.sep and t.sep not in ids[n:]
    pairs = [ex.head] if ex.head == ex.tail else [ex.head, ex.tail]
    assert len(ids) == n + 2 * len(pairs)
    e1, e2, c0, c1, c2 = spans
    assert e1 == [n, n + 2] and e2 == ([n, n + 2] if len(pairs) == 1 else [n + 2, n + 4])
    ranges = []
    for k, (ws, we) in enumerate(pairs):
        first, last = pos[n + 2 * k], pos[n + 2 * k + 1]
        assert ids[n + 2 * k : n + 2 * k + 2] == [t.sp[f"[E{k + 1}]"], t.sp[f"[/E{k + 1}]"]]
        assert ids[first : last + 1] == t.pieces(ex.tokens[ws:we])  # the span's own pieces
        ranges.append((first, last + 1))
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    assert c0 == [0, lo] and c2 == [hi, n]
    if disjoint(ex):
        assert c1 == [min(r[1] for r in ranges), max(r[0] for r in ranges)]
    else:
        assert c1 == [hi, hi]


def check_row(t: Tok, row: dict, ex: RelationExample, fmt: str, max_len: int) -> None:
    if fmt == "levitated":
        check_levitated(t, row, ex, max_len)
        return
    ids, spans = row[f"{fmt}_input_ids"], row[f"{fmt}_spans"]
    (e1, e2, c0, c1, c2), n = spans, len(ids)
    assert n <= max_len
    assert (
        ids[0] == t.cls and ids[-1] == t.sep and t.cls not in ids[1:-1] and t.sep not in ids[1:-1]
    )
    assert all(0 <= s <= e <= n for s, e in spans)
    assert c0[0] == 0 and c2[1] == n  # c0 starts at [CLS], c2 ends at [SEP]
    assert e1[0] < e1[1] and e2[0] < e2[1]
    if disjoint(ex):  # the five parts tile the sequence exactly once
        covered = sorted(p for p in spans)
        pos = 0
        for s, e in covered:
            assert s == pos, (covered, n)
            pos = e
        assert pos == n
    else:  # nested / overlapping: c1 empty, c0 + (e1 ∪ e2) + c2 tile the sequence
        assert c1[0] == c1[1]
        assert c0[1] == min(e1[0], e2[0]) and c2[0] == max(e1[1], e2[1])
        if fmt == "tokens":
            assert abs(e1[0] - e2[0]) == 1
        else:
            union = set(range(*e1)) | set(range(*e2))
            assert union == set(range(c0[1], c2[0]))
    # each entity range holds the entity (whole, even when the sequence was windowed)
    for k, (ws, we), (s, e) in ((1, ex.head, e1), (2, ex.tail, e2)):
        got = ids[s:e]
        if fmt == "standard":
            assert got == t.pieces(ex.tokens[ws:we])
        elif fmt == "tokens":
            assert got == [t.sp[f"[ENTITY-{k}]"]]
        else:
            m = 1 if ex.head == ex.tail else k  # equal spans: one [E1] … [/E1] pair, e1 = e2
            assert got[0] == t.sp[f"[E{m}]"] and got[-1] == t.sp[f"[/E{m}]"]
            words = [x for x in got if x not in t.markers]
            other = ex.tail if k == 1 else ex.head
            partial_outer = not disjoint(ex) and ws < other[0] < we < other[1]
            if partial_outer:  # documented rule: the outer entity widens to the union
                assert words == t.pieces(ex.tokens[ws : other[1]])
            else:
                assert words == t.pieces(ex.tokens[ws:we])
    if fmt == "markers":  # markers nest properly: a stack of open markers closes in order
        stack = []
        for x in ids:
            if x in (t.sp["[E1]"], t.sp["[E2]"]):
                stack.append(x)
            elif x in (t.sp["[/E1]"], t.sp["[/E2]"]):
                assert stack and stack.pop() == (
                    t.sp["[E1]"] if x == t.sp["[/E1]"] else t.sp["[E2]"]
                )
        assert not stack


@pytest.mark.parametrize("name,n", [("tiny", 150), ("minilm", 40)])
def test_featurize_invariants(name, n):
    t = get_tok(name)

    @settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(examples(), min_size=1, max_size=6), st.integers(3, 40))
    def check(exs, max_len):
        featurize_and_check(t, exs, max_len)

    check()


def featurize_and_check(t: Tok, exs: list[RelationExample], max_len: int) -> None:
    out = Featurizer(t.tok, max_len=max_len, cache=False).featurize(exs, LABELS)
    room = max_len - 2
    expect_kept, expect_truncated = [], 0
    for ex in exs:
        lens = full_lengths(t, ex)
        if any(extent > room for _, extent in lens.values()):
            continue
        expect_kept.append(ex)
        expect_truncated += any(body > room for body, _ in lens.values())
    assert out.rows["id"] == [ex.id for ex in expect_kept]
    assert out.truncated == expect_truncated
    assert sum(out.dropped.values()) == len(exs) - len(expect_kept) == len(out.dropped_ids)
    if out.dropped:
        assert list(out.dropped) == [f"entities do not fit in max_len={max_len}"]
    for row, ex in zip(out.rows, expect_kept, strict=True):
        assert row["label"] == (-1 if ex.label is None else LABELS[ex.label])
        for fmt in FORMATS:
            check_row(t, row, ex, fmt, max_len)
        # markers and standard hold the words of one window: a contiguous slice of the
        # sentence's wordpieces that starts and ends on word boundaries (the whole sentence when
        # nothing was cut)
        flat, bounds = t.pieces(ex.tokens), set(t.offsets(ex.tokens))
        windowed = any(body > room for body, _ in full_lengths(t, ex).values())
        for fmt in ("markers", "standard"):
            plain = [x for x in row[f"{fmt}_input_ids"][1:-1] if x not in t.markers]
            if not windowed:
                assert plain == flat
            assert any(
                flat[s : s + len(plain)] == plain and s + len(plain) in bounds for s in bounds
            )


@settings(max_examples=60, deadline=None)
@given(examples(max_words=60), st.integers(6, 20))
def test_window_keeps_entities_and_centres_them(ex, max_len):
    t = TINY
    out = Featurizer(TOK, max_len=max_len, formats=["standard"], cache=False).featurize(
        [ex], LABELS
    )
    if not out.rows.num_rows:
        return
    row = out.rows[0]
    ids, spans = row["standard_input_ids"], row["standard_spans"]
    flat, body, offs = t.pieces(ex.tokens), ids[1:-1], t.offsets(ex.tokens)
    widest = max(b - a for a, b in zip(offs, offs[1:], strict=False))  # pieces of the longest word
    room = max_len - 2
    if len(flat) <= room:
        assert body == flat and out.truncated == 0
        return
    assert out.truncated == 1
    # the window: the contiguous slice of the sentence that holds both entities whole, from a
    # word start to a word end, shrunk from ``room`` by less than one word at either edge
    lo_word, hi_word = min(ex.head[0], ex.tail[0]), max(ex.head[1], ex.tail[1])
    full_lo, full_hi = offs[lo_word], offs[hi_word]
    lo, hi = min(spans[0][0], spans[1][0]), max(spans[0][1], spans[1][1])
    start = full_lo - (lo - 1)
    end = start + len(body)
    assert body == flat[start:end]
    assert hi - lo == full_hi - full_lo
    assert start in offs and end in offs
    assert room - 2 * (widest - 1) <= len(body) <= room
    # centred: as much context either side (up to a word), unless one side ran out
    left, right = lo - 1, len(ids) - 1 - hi
    if left < right - widest:
        assert start == 0
    if right < left - widest:
        assert end == len(flat)


@pytest.mark.parametrize(
    "head,tail,markers,tokens",
    [
        ((0, 1), (1, 2), "[E1] a [/E1] [E2] b [/E2] c d", "[ENTITY-1] [ENTITY-2] c d"),
        ((2, 4), (0, 1), "[E2] a [/E2] b [E1] c d [/E1]", "[ENTITY-2] b [ENTITY-1]"),
        ((0, 4), (1, 2), "[E1] a [E2] b [/E2] c d [/E1]", "[ENTITY-1] [ENTITY-2]"),
        ((1, 2), (0, 4), "[E2] a [E1] b [/E1] c d [/E2]", "[ENTITY-2] [ENTITY-1]"),
        ((1, 3), (1, 3), "a [E1] b c [/E1] d", "a [ENTITY-1] [ENTITY-2] d"),
        ((0, 2), (1, 4), "[E1] a [E2] b c d [/E2] [/E1]", "[ENTITY-1] [ENTITY-2]"),
        ((1, 4), (0, 2), "[E2] a [E1] b c d [/E1] [/E2]", "[ENTITY-2] [ENTITY-1]"),
        ((3, 4), (0, 1), "[E2] a [/E2] b c [E1] d [/E1]", "[ENTITY-2] b c [ENTITY-1]"),
    ],
    ids=[
        "adjacent",
        "e2-first",
        "nested",
        "nested-e2-outer",
        "equal",
        "partial",
        "partial-e2",
        "edges",
    ],
)
def test_documented_layouts(head, tail, markers, tokens):
    ex = RelationExample(("a", "b", "c", "d"), head, tail, "r1", "x")
    row = Featurizer(TOK, cache=False).featurize([ex], LABELS).rows[0]
    assert " ".join(TOK.convert_ids_to_tokens(row["markers_input_ids"])[1:-1]) == markers
    assert " ".join(TOK.convert_ids_to_tokens(row["tokens_input_ids"])[1:-1]) == tokens


def test_spans_example():
    ex = RelationExample(("the", "cause", "of", "the", "effect"), (1, 2), (4, 5), "r1", "x")
    row = Featurizer(TOK, cache=False).featurize([ex], LABELS).rows[0]
    # [CLS] the [E1] cause [/E1] of the [E2] effect [/E2] [SEP]
    assert row["markers_spans"] == [[2, 5], [7, 10], [0, 2], [5, 7], [10, 11]]
    assert row["tokens_spans"] == [[2, 3], [5, 6], [0, 2], [3, 5], [6, 7]]
    assert row["standard_spans"] == [[2, 3], [5, 6], [0, 2], [3, 5], [6, 7]]


def test_dropped_is_counted_not_mangled():
    words = tuple(["the"] * 30)
    far = RelationExample(words, (0, 1), (29, 30), "r1", "far")
    near = RelationExample(words, (10, 11), (12, 13), "r2", "near")
    out = Featurizer(TOK, max_len=12, cache=False).featurize([far, near], LABELS)
    assert out.rows["id"] == ["near"]
    assert out.dropped == Counter({"entities do not fit in max_len=12": 1})
    assert out.dropped_ids == ["far"] and out.truncated == 1


def test_bad_inputs_are_clear_errors():
    ex = RelationExample(("a", "b"), (0, 1), (1, 2), "nope", "file.txt:7")
    with pytest.raises(DataError, match=r"file.txt:7: label 'nope' is not in the label set"):
        Featurizer(TOK, cache=False).featurize([ex], LABELS)
    with pytest.raises(FeaturizeError, match="unknown input format"):
        Featurizer(TOK, formats=["markers", "bogus"])
    with pytest.raises(FeaturizeError, match="no room"):
        Featurizer(TOK, max_len=2)
    plain = load_tokenizer("tiny").__class__(vocab={"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3})
    with pytest.raises(FeaturizeError, match="lacks the special tokens"):
        Featurizer(plain, formats=["markers"])
    assert (
        Featurizer(plain, formats=["standard"], cache=False)
        .featurize([RelationExample(("a",), (0, 1), (0, 1), None, "y")], {})
        .rows[0]["label"]
        == -1
    )
    assert issubclass(FeaturizeError, AutoRCError)


def test_cache_hit_and_key(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path))
    exs = [
        RelationExample(("the", "cause", "of", "it"), (1, 2), (3, 4), "r1", f"x{i}")
        for i in range(5)
    ]
    first = Featurizer(TOK).featurize(exs, LABELS)
    second = Featurizer(load_tokenizer("tiny")).featurize(exs, LABELS)
    assert not first.from_cache and second.from_cache
    assert second.rows.to_list() == first.rows.to_list()
    assert len(list((tmp_path / "featurized").iterdir())) == 1
    # anything the rows depend on changes the key
    assert not Featurizer(TOK, max_len=100).featurize(exs, LABELS).from_cache
    assert not Featurizer(TOK, formats=["tokens"]).featurize(exs, LABELS).from_cache
    assert not Featurizer(TOK).featurize(exs[:4], LABELS).from_cache
    assert not Featurizer(TOK).featurize(exs, {**LABELS, "r3": 3}).from_cache
    moved = [RelationExample(ex.tokens, ex.head, (2, 3), ex.label, ex.id) for ex in exs]
    assert not Featurizer(TOK).featurize(moved, LABELS).from_cache
    other_tok = load_tokenizer("tiny")
    other_tok.add_tokens(["[NEW]"], special_tokens=True)
    assert not Featurizer(other_tok).featurize(exs, LABELS).from_cache
    assert len(list((tmp_path / "featurized").iterdir())) == 7


def _read_semeval(root):
    """A private OpenNRE-jsonl reader (independent of autorc_nni.data) for this test."""
    labels = list(json.loads((root / "semeval10" / "rel2id.json").read_text()))
    splits = {}
    for split in ("train", "dev", "test"):
        path = root / "semeval10" / f"{split}.txt"
        splits[split] = [
            RelationExample(
                tuple(d["token"]),
                tuple(d["h"]["pos"]),
                tuple(d["t"]["pos"]),
                d["relation"],
                f"{path.name}:{i}",
            )
            for i, d in enumerate(map(json.loads, path.open()), start=1)
        ]
    return {lab: i for i, lab in enumerate(labels)}, splits


def test_semeval10_minilm_featurizes_and_caches(data_root, tmp_path):
    label2id, splits = _read_semeval(data_root)
    tok = load_tokenizer("minilm")
    cold = {
        s: Featurizer(tok, cache_dir=tmp_path).featurize(e, label2id) for s, e in splits.items()
    }
    assert {s: o.rows.num_rows for s, o in cold.items()} == {
        "train": 6507,
        "dev": 1493,
        "test": 2717,
    }
    assert all(not o.dropped and not o.from_cache for o in cold.values())
    warm = {
        s: Featurizer(tok, cache_dir=tmp_path).featurize(e, label2id) for s, e in splits.items()
    }
    assert all(o.from_cache for o in warm.values())
    assert warm["dev"].rows[:50] == cold["dev"].rows[:50]
    row = cold["train"].rows[0]  # "the original play was filled with very topical humor , …"
    toks = tok.convert_ids_to_tokens(row["markers_input_ids"])
    e1, e2 = row["markers_spans"][:2]
    assert toks[slice(*e1)] == ["[E1]", "play", "[/E1]"]
    assert toks[slice(*e2)] == ["[E2]", "humor", "[/E2]"]


def test_damaged_cache_entry_is_rebuilt(tmp_path):
    exs = [RelationExample(("the", "cause", "of", "it"), (1, 2), (3, 4), "r1", "x")]
    first = Featurizer(TOK, cache_dir=tmp_path).featurize(exs, LABELS)
    (entry,) = tmp_path.iterdir()
    (entry / "meta.json").write_text("{not json")
    again = Featurizer(TOK, cache_dir=tmp_path).featurize(exs, LABELS)
    assert not again.from_cache and again.rows.to_list() == first.rows.to_list()
    assert Featurizer(TOK, cache_dir=tmp_path).featurize(exs, LABELS).from_cache
