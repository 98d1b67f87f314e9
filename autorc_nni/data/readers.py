"""Readers: one per file format, each turning a raw benchmark file into ``RelationExample``s.

Every reader is registered in ``READERS`` and called as ``read(path, **options) -> ReadResult``.
A reader never skips anything silently. A malformed record (bad JSON, a missing key, a value of
the wrong type, a span outside the sentence, missing entity marks) is a ``DataError`` naming the
file and line (or record id) and what is wrong. A well-formed record that cannot be a relation
statement (an entity that is empty or only whitespace, ``<e1> </e1>``; a DDI pair marked as
interacting but with no type; a second relation on one SpERT entity pair) is dropped and counted
in ``ReadResult.dropped`` under a human-readable reason, with its first few locations in
``ReadResult.dropped_where``; ``autorc data stats`` and every run's summary report them, and a
reader called with ``strict=True`` (``--strict``) refuses it instead, naming file and line.
Candidates left out by construction (a DEFT relation that crosses the window, an excluded
relation type) are counted the same way but never refused.

Formats (docs/datasets.md has the details and the choices made for each):

========== ==================================================================================
opennre    JSON lines ``{"token": [...] | "text": str, "h": {"pos": [s, e]}, "t": ..., "relation"}``
semeval    SemEval-2010 task 8 / KBP37 4-line blocks: ``id<TAB>"... <e1>x</e1> ... <e2>y</e2>"``
tacred     TACRED JSON (a list) or JSON lines, inclusive ``subj_end``/``obj_end``
deft       DEFT 2020 ``.deft`` files (a folder or one file), relation candidates of subtask 3
ddi        DDI 2013 XML, read straight from the corpus zip (or a folder of XML files)
chemprot   SciBERT ChemProt JSON lines, head ``<< >>``, tail ``[[ ]]``
blue_tsv   BLUE benchmark TSV, entities masked as ``@CHEMICAL$``/``@GENE$``/``@DRUG$``
hf         rows of a Hugging Face ``datasets`` dataset, parsed by one of the row formats above
========== ==================================================================================

Text formats are split into words by ``word_spans``: runs of letters/digits/underscore and
single punctuation characters, with character offsets kept, and a word boundary forced at every
entity boundary so an entity always maps onto whole words.
"""

from __future__ import annotations

import bisect
import json
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError
from autorc_nni.registry import Registry

READERS: Registry[Callable[..., ReadResult]] = Registry("reader")


DROP_LOCATIONS = 5  # locations kept per drop reason


@dataclass
class ReadResult:
    """What a reader returns: the examples, and what it left out on purpose (reason -> count,
    and reason -> the first ``DROP_LOCATIONS`` places, ``"FILE:LINE"``)."""

    examples: list[RelationExample]
    dropped: Counter[str] = field(default_factory=Counter)
    dropped_where: dict[str, list[str]] = field(default_factory=dict)

    def drop(self, reason: str, where: str, strict: bool = False, detail: str = "") -> None:
        """Count a record left out at ``where``; with ``strict``, refuse it (a ``DataError``)."""
        if strict:
            raise DataError(
                f"{where}: {reason}{f' ({detail})' if detail else ''}: the record cannot be a "
                "relation statement; refused because of --strict (without it, it is dropped "
                "and counted)"
            )
        self.dropped[reason] += 1
        places = self.dropped_where.setdefault(reason, [])
        if len(places) < DROP_LOCATIONS:
            places.append(where)


class UnusableRecord(DataError):
    """A well-formed record that cannot be a relation statement (an empty entity): the line
    readers drop and count it (``ReadResult.drop``); raised as is where nothing catches it."""

    def __init__(self, where: str, reason: str, detail: str = "") -> None:
        self.where, self.reason, self.detail = where, reason, detail
        super().__init__(f"{where}: {reason}" + (f" ({detail})" if detail else ""))


def _locate(path: Path, where: str) -> str:
    """A record id ``"NAME:LINE"`` as ``"DIR/NAME:LINE"`` (other ids are kept as they are)."""
    return str(path.parent / where) if where.startswith(f"{path.name}:") else where


def _add(
    result: ReadResult,
    path: Path | None,
    strict: bool,
    make: Callable[..., RelationExample],
    *args: Any,
    **kwargs: Any,
) -> None:
    """Append ``make(*args, **kwargs)``, or drop (``strict``: refuse) the record when it cannot
    be a relation statement (``UnusableRecord``); other errors propagate."""
    try:
        result.examples.append(make(*args, **kwargs))
    except UnusableRecord as e:
        where = e.where if path is None else _locate(path, e.where)
        result.drop(e.reason, where, strict=strict, detail=e.detail)


# --------------------------------------------------------------------------------------------
# Shared helpers: files, word splitting, character -> word spans
# --------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+|[^\w\s]")


def word_spans(
    text: str, cuts: Iterable[int] = (), keep: Iterable[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """Split ``text`` into words; return their ``(start, end)`` character offsets.

    A word is a run of ``\\w`` characters or one punctuation character. ``cuts`` are character
    positions where a word boundary is forced (entity boundaries); each ``keep`` range becomes a
    single word whatever it contains (BLUE's ``@CHEMICAL$`` masks).

    >>> t = "Aspirin-induced (AIA) asthma."
    >>> [t[s:e] for s, e in word_spans(t)]
    ['Aspirin', '-', 'induced', '(', 'AIA', ')', 'asthma', '.']
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    kept = sorted(keep)
    for ks, ke in [*kept, (len(text), len(text))]:
        spans.extend(m.span() for m in _WORD.finditer(text, pos, max(pos, ks)))
        if ke > ks:
            spans.append((ks, ke))
        pos = max(pos, ke)
    cut_set = sorted(set(cuts))
    if not cut_set:
        return spans
    kept_set = set(kept)
    out: list[tuple[int, int]] = []
    for s, e in spans:
        inner = cut_set[bisect.bisect_right(cut_set, s) : bisect.bisect_left(cut_set, e)]
        if not inner or (s, e) in kept_set:
            out.append((s, e))
            continue
        out.extend(zip([s, *inner], [*inner, e], strict=True))  # words hold no whitespace
    return out


def char_to_word_span(
    spans: Sequence[tuple[int, int]], start: int, end: int
) -> tuple[int, int] | None:
    """The word span ``[i, j)`` of the words overlapping characters ``[start, end)``, or None."""
    ends = [e for _, e in spans]
    i = bisect.bisect_right(ends, start)  # first word ending after `start`
    j = i
    while j < len(spans) and spans[j][0] < end:
        j += 1
    return (i, j) if j > i else None


def _read_text(path: Path) -> str:
    """The text of ``path`` (UTF-8, BOM dropped); a missing or empty file is a ``DataError``."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte {data[e.start]:#04x}: {e.reason})"
        ) from None
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    return text


def _lines(text: str) -> list[str]:
    """Lines split at ``\n`` only (CRLF tolerated); ``str.splitlines`` would also split at
    U+2028, U+0085 and form feeds, which occur inside sentences."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a JSON-lines file."""
    for n, line in enumerate(_lines(_read_text(path)), 1):
        if not line.strip():
            continue
        obj = _json(line, f"{path}:{n}", "malformed JSON line")
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        yield n, obj


def _json(text: str, where: str, what: str = "malformed JSON") -> Any:
    """``json.loads``; any failure is a ``DataError`` naming ``where`` ("FILE:LINE")."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: {what} ({e.msg} at column {e.colno})") from None
    except (ValueError, RecursionError) as e:  # an over-long integer, absurd nesting
        raise DataError(f"{where}: {what} ({e})") from None


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _words(where: str, tokens: Any) -> list[str]:
    if not isinstance(tokens, list) or not all(isinstance(w, str) for w in tokens):
        raise DataError(
            f"{where}: the words must be a list of strings, got {type(tokens).__name__}"
        )
    return tokens


def _example(
    where: str,
    tokens: Sequence[str],
    head: Sequence[int],
    tail: Sequence[int],
    label: Any,
    **meta: Any,
) -> RelationExample:
    """Build a record, turning a bad span into a ``DataError`` that names ``where``.

    A span outside the sentence (or reversed) is malformed; an empty span, or one of blank
    words only, is an ``UnusableRecord`` (the readers drop and count it)."""
    n = len(tokens)
    for name, span in (("head", head), ("tail", tail)):
        if len(span) != 2 or not all(_int(v) for v in span):
            raise DataError(f"{where}: {name} span {span!r} is not two integers")
        s, e = span
        if not 0 <= s <= e <= n:
            raise DataError(
                f"{where}: {name} span [{s}, {e}) is outside the sentence of {n} words or reversed"
            )
        if not any(w.strip() for w in tokens[s:e]):
            raise UnusableRecord(
                where,
                f"empty {name} entity",
                f"span [{s}, {e}) holds no word" if s == e else f"words {list(tokens[s:e])!r}",
            )
    if label is not None and not isinstance(label, str):
        raise DataError(f"{where}: label {label!r} is not a string")
    return RelationExample(
        tokens=tuple(tokens),
        head=(head[0], head[1]),
        tail=(tail[0], tail[1]),
        label=label.strip() if label is not None else None,
        id=where,
        meta=meta,
    )


def _text_example(
    where: str,
    text: str,
    head_chars: tuple[int, int],
    tail_chars: tuple[int, int],
    label: Any,
    keep: Iterable[tuple[int, int]] = (),
    **meta: Any,
) -> RelationExample:
    """Tokenize ``text`` and map the two character spans onto word spans."""
    for name, (s, e) in (("head", head_chars), ("tail", tail_chars)):
        if not (_int(s) and _int(e) and 0 <= s <= e <= len(text)):
            raise DataError(
                f"{where}: {name} character span [{s}, {e}) is outside the text of "
                f"{len(text)} characters or reversed"
            )
        if not text[s:e].strip():
            raise UnusableRecord(
                where, f"empty {name} entity", f"characters [{s}, {e}) hold {text[s:e]!r}"
            )
    spans = word_spans(text, cuts=(*head_chars, *tail_chars), keep=keep)
    words = [text[s:e] for s, e in spans]
    head = char_to_word_span(spans, *head_chars)
    tail = char_to_word_span(spans, *tail_chars)
    for name, span, chars in (("head", head, head_chars), ("tail", tail, tail_chars)):
        if span is None:  # not reached: a non-blank span holds a word
            raise UnusableRecord(
                where, f"empty {name} entity", f"{text[slice(*chars)]!r} contains no word"
            )
    return _example(where, words, head, tail, label, **meta)  # type: ignore[arg-type]


def _remove_marks(text: str, marks: list[tuple[int, int]]) -> tuple[str, Callable[[int], int]]:
    """Delete the ``(position, length)`` marks from ``text``; return it and an offset map."""
    marks = sorted(marks)
    pieces, prev = [], 0
    for pos, length in marks:
        pieces.append(text[prev:pos])
        prev = pos + length
    pieces.append(text[prev:])
    starts = [p for p, _ in marks]
    removed = [0]
    for _, length in marks:
        removed.append(removed[-1] + length)

    def new_offset(old: int) -> int:
        return old - removed[bisect.bisect_right(starts, old - 1)]

    return "".join(pieces), new_offset


def _marked_example(
    where: str,
    text: str,
    head_marks: tuple[re.Pattern[str], re.Pattern[str]],
    tail_marks: tuple[re.Pattern[str], re.Pattern[str]],
    label: Any,
    **meta: Any,
) -> RelationExample:
    """A record from text with inline entity marks (``<e1>…</e1>``, ``<< … >>``, ``[[ … ]]``).

    Each entity is the first open mark and the first close mark after it; marks may nest.
    """
    found: list[tuple[int, int]] = []
    chars = []
    for name, (open_re, close_re) in (("head", head_marks), ("tail", tail_marks)):
        o = open_re.search(text)
        c = close_re.search(text, o.end()) if o else None
        if o is None or c is None:
            raise DataError(
                f"{where}: {name} entity marks {open_re.pattern!r} … {close_re.pattern!r} "
                "not found in the sentence"
            )
        found += [(o.start(), o.end() - o.start()), (c.start(), c.end() - c.start())]
        chars.append((o.end(), c.start()))
    clean, remap = _remove_marks(text, found)
    (hs, he), (ts, te) = chars
    return _text_example(
        where, clean, (remap(hs), remap(he)), (remap(ts), remap(te)), label, **meta
    )


# --------------------------------------------------------------------------------------------
# Row formats: one dict -> one record. Line-based readers and the `hf` reader share these.
# --------------------------------------------------------------------------------------------

ROW_FORMATS: Registry[Callable[[dict, str], RelationExample]] = Registry("row format")


def _need(row: dict, key: str, where: str) -> Any:
    if key not in row:
        raise DataError(f"{where}: missing key {key!r} (keys: {sorted(row)})")
    return row[key]


def _text(row: dict, key: str, where: str) -> str:
    value = _need(row, key, where)
    if not isinstance(value, str):
        raise DataError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
    return value


def _pos(ent: Any, name: str, where: str) -> list[int]:
    if not isinstance(ent, dict) or "pos" not in ent:
        raise DataError(f"{where}: {name!r} must be an object with a 'pos' [start, end]")
    pos = ent["pos"]
    if not (isinstance(pos, list | tuple) and len(pos) == 2 and all(_int(v) for v in pos)):
        raise DataError(f"{where}: {name}.pos {pos!r} is not [start, end]")
    return list(pos)


@ROW_FORMATS.register("opennre")
def opennre_row(row: dict, where: str) -> RelationExample:
    """OpenNRE: ``token`` (word list, pos = word span) or ``text`` (pos = character span)."""
    h = _pos(_need(row, "h", where), "h", where)
    t = _pos(_need(row, "t", where), "t", where)
    label = row.get("relation")
    if "token" in row:
        tokens = row["token"]
        if not isinstance(tokens, list) or not all(isinstance(w, str) for w in tokens):
            raise DataError(f"{where}: 'token' must be a list of strings")
        return _example(where, tokens, h, t, label)
    if "text" in row:
        if not isinstance(row["text"], str):
            raise DataError(f"{where}: 'text' must be a string, got {type(row['text']).__name__}")
        return _text_example(where, row["text"], tuple(h), tuple(t), label)  # type: ignore[arg-type]
    raise DataError(f"{where}: needs 'token' (a word list) or 'text' (a string)")


@ROW_FORMATS.register("tacred")
def tacred_row(row: dict, where: str) -> RelationExample:
    """TACRED: ``token``, inclusive ``subj_start/subj_end/obj_start/obj_end``, ``relation``."""
    if "id" in row:
        where = f"{where} (id {row['id']})"
    tokens = _words(f"{where}: 'token'", _need(row, "token", where))
    ends = [_need(row, k, where) for k in ("subj_start", "subj_end", "obj_start", "obj_end")]
    if not all(_int(v) for v in ends):
        raise DataError(f"{where}: subj/obj start/end must be integers, got {ends}")
    ss, se, os_, oe = ends
    meta = {k: row[k] for k in ("subj_type", "obj_type") if k in row}
    return _example(where, tokens, [ss, se + 1], [os_, oe + 1], row.get("relation"), **meta)


_E1 = (re.compile(r"<e1>"), re.compile(r"</e1>"))
_E2 = (re.compile(r"<e2>"), re.compile(r"</e2>"))


@ROW_FORMATS.register("semeval")
def semeval_row(row: dict, where: str) -> RelationExample:
    """A SemEval/KBP37 sentence with ``<e1>``/``<e2>`` tags: ``{"sentence", "relation"}``."""
    sentence = _text(row, "sentence", where).strip()
    if len(sentence) >= 2 and sentence[0] == sentence[-1] == '"':
        sentence = sentence[1:-1]
    return _marked_example(where, sentence, _E1, _E2, row.get("relation"))


# `<< x >>` / `[[ x ]]` with the spaces SciBERT writes; literal `>>` or `[[` inside chemical names
# ("PGE1>STA2>>17-phenyl", "6[[(3-iodophenyl)") lack them and are left alone.
_CHEMPROT_HEAD = (re.compile(r"<< "), re.compile(r" >>"))
_CHEMPROT_TAIL = (re.compile(r"\[\[ "), re.compile(r" \]\]"))


@ROW_FORMATS.register("chemprot")
def chemprot_row(row: dict, where: str) -> RelationExample:
    """SciBERT ChemProt: ``{"text": "... << e1 >> ... [[ e2 ]] ...", "label"}``; e1 = ``<< >>``."""
    return _marked_example(
        where, _text(row, "text", where), _CHEMPROT_HEAD, _CHEMPROT_TAIL, row.get("label")
    )


_MASK = re.compile(r"@[A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*\$")


@ROW_FORMATS.register("blue_tsv")
def blue_row(row: dict, where: str, head_mask: str | None = None) -> RelationExample:
    """BLUE: ``{"index", "sentence", "label"}`` with the two entities masked.

    Two masks: the head is ``head_mask`` when given and present (ChemProt: ``@CHEMICAL$``), else
    the first. One combined mask (``@CHEM-GENE$``, ``@DRUG-DRUG$``: the two entities are the same
    words) is both head and tail.
    """
    if row.get("index") is not None:
        where = f"{where} (id {row['index']})"
    sentence = _text(row, "sentence", where)
    masks = [m.span() for m in _MASK.finditer(sentence)]
    names = [sentence[s:e] for s, e in masks]
    if len(masks) == 2:
        first, second = masks
        if head_mask is not None and names[1] == head_mask and names[0] != head_mask:
            first, second = second, first
        head, tail = first, second
    elif len(masks) == 1 and "-" in names[0]:
        head = tail = masks[0]
    else:
        raise DataError(
            f"{where}: expected two entity masks (@X$ … @Y$) or one combined mask (@X-Y$), "
            f"found {names or 'none'}"
        )
    return _text_example(where, sentence, head, tail, row.get("label"), keep=masks)


# --------------------------------------------------------------------------------------------
# File readers
# --------------------------------------------------------------------------------------------


@READERS.register("opennre")
def read_opennre(path: Path, strict: bool = False, **_: Any) -> ReadResult:
    """OpenNRE JSON lines (semeval10, Wiki80, OpenNRE's TACRED/KBP exports)."""
    path = Path(path)
    return _rows(path, opennre_row, _json_lines(path), strict)


def _rows(
    path: Path,
    parse: Callable[[dict, str], RelationExample],
    rows: Iterable[tuple[int | str, dict]],
    strict: bool,
) -> ReadResult:
    """``parse`` each ``(line number | record id, row)``; unusable records dropped or refused."""
    out = ReadResult([])
    for n, obj in rows:
        where = f"{path.name}:{n}"
        _add(out, path, strict, parse, obj, where)
    return out


@READERS.register("chemprot")
def read_chemprot(path: Path, strict: bool = False, **_: Any) -> ReadResult:
    """SciBERT ChemProt JSON lines."""
    path = Path(path)
    return _rows(path, chemprot_row, _json_lines(path), strict)


@READERS.register("tacred")
def read_tacred(path: Path, strict: bool = False, **_: Any) -> ReadResult:
    """TACRED: a JSON list of records (the LDC release), or one record per line."""
    path = Path(path)
    text = _read_text(path)
    if text.lstrip().startswith("["):
        rows = json_document(text, path)
        if not isinstance(rows, list):
            raise DataError(f"{path}: expected a JSON list of records")
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise DataError(
                    f"{path}:record {i}: expected a JSON object, got {type(row).__name__}"
                )
        return _rows(path, tacred_row, ((f"record {i}", r) for i, r in enumerate(rows)), strict)
    return _rows(path, tacred_row, _json_lines(path), strict)


def json_document(text: str, path: Path) -> Any:
    """A whole-file JSON document; a syntax error names the file and line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(
            f"{path}:{e.lineno}: malformed JSON ({e.msg} at column {e.colno})"
        ) from None
    except (ValueError, RecursionError) as e:
        raise DataError(f"{path}: malformed JSON ({e})") from None


_SEMEVAL_SENTENCE = re.compile(r"^\s*(\d+)\t(.*)$")


@READERS.register("semeval")
def read_semeval(path: Path, labeled: bool = True, strict: bool = False, **_: Any) -> ReadResult:
    """SemEval-2010 task 8 / KBP37 blocks: ``id<TAB>"sentence"``, label, ``Comment:``, blank.

    CRLF endings and trailing spaces on labels (KBP37) are tolerated. With ``labeled=False``
    (``TEST_FILE.TXT``) the files hold sentence lines only.
    """
    path = Path(path)
    lines = _lines(_read_text(path))
    out = ReadResult([])
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("Comment:"):
            i += 1
            continue
        m = _SEMEVAL_SENTENCE.match(line)
        if m is None:
            raise DataError(
                f"{path}:{i + 1}: expected a sentence line 'ID<TAB>\"sentence\"', got {line[:60]!r}"
            )
        where, label = f"{path.name}:{i + 1}", None
        if labeled:
            j = i + 1
            if (
                j >= len(lines)
                or not lines[j].strip()
                or lines[j].startswith("Comment:")
                or _SEMEVAL_SENTENCE.match(lines[j])
            ):
                raise DataError(f"{path}:{j + 1}: missing the label line of sentence {m[1]}")
            label = lines[j].strip()
            i = j
        row = {"sentence": m[2], "relation": label}
        _add(out, path, strict, _semeval_block, row, where, m[1])
        i += 1
    return out


def _semeval_block(row: dict, where: str, sent_id: str) -> RelationExample:
    ex = semeval_row(row, where)
    ex.meta["sent_id"] = sent_id
    return ex


@READERS.register("blue_tsv")
def read_blue_tsv(
    path: Path, head_mask: str | None = None, strict: bool = False, **_: Any
) -> ReadResult:
    """BLUE TSV: ``id<TAB>sentence<TAB>label`` (an ``index`` header line is allowed)."""
    path = Path(path)
    out = ReadResult([])
    for n, line in enumerate(_lines(_read_text(path)), 1):
        if not line.strip() or (n == 1 and line.startswith("index\t")):
            continue
        cols = line.split("\t")
        if len(cols) != 3:
            raise DataError(f"{path}:{n}: expected 3 tab-separated columns, got {len(cols)}")
        row = {"index": cols[0], "sentence": cols[1], "label": cols[2]}
        _add(out, path, strict, blue_row, row, f"{path.name}:{n}", head_mask=head_mask)
    return out


# ---- DEFT 2020 ---------------------------------------------------------------------------

_DEFT_COLUMNS = 8  # TOKEN SOURCE START END TAG TAG_ID ROOT_ID RELATION


@dataclass
class _DeftSpan:
    tag_id: str
    tag: str
    start: int
    end: int
    relations: list[tuple[str, str]]  # (ROOT_ID, RELATION) of this span, in token order


def _deft_windows(path: Path, window: str) -> Iterator[tuple[int, list[list[str]]]]:
    """``(first line number, token rows)`` per sentence (single blank line) or chunk (double)."""
    rows: list[list[str]] = []
    first, blanks = 0, 0
    for n, line in enumerate(_lines(_read_text(path)), 1):
        if not line.strip():
            blanks += 1
            if rows and (window == "sentence" or blanks >= 2):
                yield first, rows
                rows = []
            continue
        blanks = 0
        cols = [c.strip() for c in line.split("\t")]
        if len(cols) != _DEFT_COLUMNS:
            raise DataError(
                f"{path}:{n}: expected {_DEFT_COLUMNS} tab-separated columns "
                f"(TOKEN SOURCE START END TAG TAG_ID ROOT_ID RELATION), got {len(cols)}"
            )
        if not rows:
            first = n
        rows.append(cols)
    if rows:
        yield first, rows


def _deft_spans(rows: list[list[str]]) -> dict[str, _DeftSpan]:
    """The tagged spans of a window, keyed by TAG_ID; a span covers all tokens of its TAG_ID."""
    spans: dict[str, _DeftSpan] = {}
    for i, (_, _, _, _, tag, tag_id, root, rel) in enumerate(rows):
        if tag == "O" or tag_id in ("-1", "0"):
            continue
        sp = spans.get(tag_id)
        if sp is None:
            sp = spans[tag_id] = _DeftSpan(tag_id, tag[2:], i, i + 1, [])
        sp.end = i + 1
        if rel not in ("0", "-1") and (root, rel) not in sp.relations:
            sp.relations.append((root, rel))
    return spans


@READERS.register("deft")
def read_deft(
    path: Path,
    window: str = "chunk",
    pairs: str = "unordered",
    negative_label: str = "no_relation",
    exclude_relations: Sequence[str] = ("fragment",),
    strict: bool = False,
    **_: Any,
) -> ReadResult:
    """DEFT 2020 subtask 3 relation candidates from ``.deft`` files (a folder or one file).

    A window is a chunk (the sentences between double blank lines, the unit DEFT annotates
    relations in; ``window="sentence"`` for single sentences). Within a window, every pair of
    distinct tagged spans (tokens sharing a TAG_ID) is a candidate:

    - ``pairs="unordered"`` (default): one candidate per unordered pair, e1 = the span that
      starts first in the text; its label is the relation annotated between the two spans in
      either direction (DEFT's direction follows from the span types, e.g. Definition -> Term,
      and ``meta["direction"]`` records it), else ``negative_label``;
    - ``pairs="ordered"``: both orders; (a, b) is labeled with a's RELATION whose ROOT_ID is b,
      so each relation gives one positive and its reverse one negative.

    Candidates whose relation is in ``exclude_relations`` are dropped and counted; so are
    relations whose root lies outside the window (they cannot be a candidate). Neither is
    refused by ``strict``: they are choices of the construction, not odd records; a candidate
    of blank tokens is (and is otherwise dropped).
    """
    path = Path(path)
    if window not in ("sentence", "chunk"):
        raise DataError(f"deft reader: window must be 'sentence' or 'chunk', got {window!r}")
    if pairs not in ("unordered", "ordered"):
        raise DataError(f"deft reader: pairs must be 'unordered' or 'ordered', got {pairs!r}")
    if path.is_dir():
        files = sorted(path.glob("*.deft"))
        if not files:
            raise DataError(f"{path}: no .deft files in this folder")
    else:
        files = [path]
    res = ReadResult([])
    dropped = res.dropped
    for f in files:
        file_ids: set[str] = set()
        pending: list[tuple[str, str]] = []
        for line, rows in _deft_windows(f, window):
            spans = _deft_spans(rows)
            file_ids.update(spans)
            tokens = [r[0] for r in rows]
            pending += [r for a in spans.values() for r in a.relations if r[0] not in spans]
            ordered = sorted(spans.values(), key=lambda sp: (sp.start, sp.end, sp.tag_id))
            for i, a in enumerate(ordered):
                for j, b in enumerate(ordered):
                    if i == j or (pairs == "unordered" and j < i):
                        continue
                    label, direction = _deft_label(a, b, pairs, dropped)
                    if label is None:
                        label = negative_label
                    if label in exclude_relations:
                        res.drop(f"{label} relation (excluded)", f"{f}:{line}")
                        continue
                    _add(
                        res,
                        f,
                        strict,
                        _example,
                        f"{f.name}:{line}:{a.tag_id}-{b.tag_id}",
                        tokens,
                        [a.start, a.end],
                        [b.start, b.end],
                        label,
                        head_tag=a.tag,
                        tail_tag=b.tag,
                        direction=direction,
                    )
        for root, rel in pending:
            if rel in exclude_relations:
                continue
            where = "crosses the window" if root in file_ids else "has a ROOT_ID not in the file"
            dropped[f"relation {where} ({window})"] += 1
    return res


def _deft_label(
    a: _DeftSpan, b: _DeftSpan, pairs: str, dropped: Counter[str]
) -> tuple[str | None, str | None]:
    """The relation between spans a (e1) and b (e2) and its direction, or ``(None, None)``."""
    forward = dict(a.relations).get(b.tag_id)
    backward = dict(b.relations).get(a.tag_id) if pairs == "unordered" else None
    if forward and backward:
        dropped["pair related in both directions (kept the e1->e2 relation)"] += 1
    if forward:
        return forward, "e1->e2"
    if backward:
        return backward, "e2->e1"
    return None, None


# ---- DDI 2013 ------------------------------------------------------------------------------

_DDI_PARTS = {
    "Train": "DDICorpus/Train/",
    "Test": "DDICorpus/Test/Test for DDI Extraction task/",
}


def _ddi_members(path: Path, subset: str) -> Iterator[tuple[str, bytes]]:
    """``(name, XML bytes)`` of the subset's documents, from the zip or a folder."""
    if subset not in _DDI_PARTS:
        raise DataError(f"ddi reader: subset must be one of {sorted(_DDI_PARTS)}, got {subset!r}")
    if path.is_dir():
        files = sorted(path.rglob("*.xml"))
        if not files:
            raise DataError(f"{path}: no .xml files in this folder")
        for f in files:
            yield str(f), f.read_bytes()
        return
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: not a zip file ({e})") from None
    with zf:
        names = sorted(
            n
            for n in zf.namelist()
            if n.startswith(_DDI_PARTS[subset]) and n.endswith(".xml") and "/." not in n
        )
        if not names:
            raise DataError(f"{path}: no XML documents under {_DDI_PARTS[subset]!r}")
        for n in names:
            try:
                data = zf.read(n)
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                EOFError,
                ValueError,
                NotImplementedError,
            ) as e:  # a damaged member: bad CRC, truncated, ...
                raise DataError(f"{path}:{n}: damaged zip member ({e})") from None
            yield f"{path.name}:{n}", data


def _ddi_offsets(value: str | None, text: str, where: str) -> list[tuple[int, int]]:
    """``"12-20;30-35"`` (inclusive ends) -> ``[(12, 21), (30, 36)]``, checked against ``text``."""
    try:
        parts = [tuple(int(v) for v in p.split("-")) for p in (value or "").split(";")]
    except ValueError:
        parts = []
    if not parts or any(len(p) != 2 or not 0 <= p[0] <= p[1] < len(text) for p in parts):
        raise DataError(
            f"{where}: bad charOffset {value!r} (expected 'start-end[;start-end…]', inclusive, "
            f"within the sentence of {len(text)} characters)"
        )
    return [(s, e + 1) for s, e in parts]


@READERS.register("ddi")
def read_ddi(path: Path, subset: str = "Train", strict: bool = False, **_: Any) -> ReadResult:
    """DDI 2013: one example per ``<pair>``, read from the corpus zip without unpacking.

    ``subset`` is ``Train`` or ``Test`` (the DDI-extraction test set). Label = the pair's
    ``type`` when ``ddi="true"``, else ``false``. A discontinuous entity (``12-20;30-35``) spans
    from its first to its last fragment. ``meta["doc"]`` is the document id (for the dev split).
    A pair with ``ddi="true"`` and no type is dropped and counted (``strict``: refused).
    """
    path = Path(path)
    res = ReadResult([])
    for name, data in _ddi_members(path, subset):
        try:
            root = ElementTree.fromstring(data)
        except ElementTree.ParseError as e:
            raise DataError(f"{name}: malformed XML ({e})") from None
        doc = root.get("id", name)
        for sent in root.iter("sentence"):
            text = sent.get("text", "")
            sid = sent.get("id", "?")
            ents: dict[str, list[tuple[int, int]]] = {}
            for ent in sent.iter("entity"):
                where = f"{name}: entity {ent.get('id')}"
                frags = _ddi_offsets(ent.get("charOffset"), text, where)
                # a contiguous entity must spell its text; fragments are only bounds-checked
                # (the corpus has one discontinuous entity off by one: d216.s16.e2 "(R)-warfarin")
                got = text[frags[0][0] : frags[0][1]]
                if len(frags) == 1 and got != ent.get("text"):
                    raise DataError(
                        f"{where}: charOffset {ent.get('charOffset')!r} gives {got!r}, "
                        f"but the entity text is {ent.get('text')!r}"
                    )
                ents[ent.get("id", "")] = frags
            for pair in sent.iter("pair"):
                pid = pair.get("id", "?")
                where = f"{name}: pair {pid}"
                pair_frags: list[list[tuple[int, int]]] = []
                for key in ("e1", "e2"):
                    if pair.get(key) not in ents:
                        raise DataError(
                            f"{where}: {key}={pair.get(key)!r} is not an entity of {sid}"
                        )
                    pair_frags.append(ents[pair.get(key)])  # type: ignore[index]
                ddi = pair.get("ddi", "false").lower()
                label = pair.get("type") if ddi == "true" else "false"
                if not label:
                    res.drop("pair with ddi=true but no type", where, strict)
                    continue
                # a discontinuous entity covers its first to its last fragment
                h, t = [(f[0][0], f[-1][1]) for f in pair_frags]
                spans = word_spans(text, cuts=[c for f in pair_frags for sp in f for c in sp])
                words = [text[s:e] for s, e in spans]
                hw, tw = char_to_word_span(spans, *h), char_to_word_span(spans, *t)
                if hw is None or tw is None:
                    res.drop(
                        "empty head entity" if hw is None else "empty tail entity",
                        where,
                        strict,
                        "it contains no word",
                    )
                    continue
                _add(res, None, strict, _example, pid, words, hw, tw, label, doc=doc)
    return res


# ---- Hugging Face datasets -----------------------------------------------------------------


def rows_to_examples(
    rows: Iterable[dict],
    fmt: str,
    source: str,
    label_names: Sequence[str] | None = None,
    result: ReadResult | None = None,
    strict: bool = False,
) -> list[RelationExample]:
    """Parse dict rows with the row format ``fmt``; integer labels are mapped by ``label_names``.

    This is how hub datasets become records: the same parser as for the local files. With
    ``result``, a row that cannot be a relation statement (an empty entity) is dropped and
    counted there (``strict``: refused); without it, it raises like any bad row.
    """
    parse = ROW_FORMATS.get(fmt) if fmt in ROW_FORMATS else None
    if parse is None:
        raise DataError(f"unknown row format {fmt!r}; known: {ROW_FORMATS.names()}")
    res = result if result is not None else ReadResult([])
    start = len(res.examples)
    for i, row in enumerate(rows):
        where = f"{source}:row {i}"
        if not isinstance(row, Mapping):
            raise DataError(f"{where}: expected a mapping of columns, got {type(row).__name__}")
        row = dict(row)
        for key in ("relation", "label"):
            if isinstance(row.get(key), int) and not isinstance(row.get(key), bool):
                if label_names is None or not 0 <= row[key] < len(label_names):
                    raise DataError(f"{where}: integer label {row[key]} has no name")
                row[key] = label_names[row[key]]
        if result is None:
            res.examples.append(parse(row, where))
        else:
            _add(res, None, strict, parse, row, where)
    return res.examples[start:]


def _class_label_names(dataset: Any) -> list[str] | None:
    features = getattr(dataset, "features", None) or {}
    for key in ("relation", "label"):
        names = getattr(features.get(key), "names", None)
        if names:
            return list(names)
    return None


@READERS.register("hf")
def read_hf(
    path: Path | str,
    format: str = "opennre",  # noqa: A002 - the user-facing option name
    split: str = "train",
    config: str | None = None,
    dataset: Any = None,
    strict: bool = False,
    **_: Any,
) -> ReadResult:
    """Rows of a Hugging Face hub dataset (``path`` = its hub name), parsed as ``format``.

    ``dataset`` may be an already loaded ``datasets.Dataset`` (tests build one in memory); else
    it is fetched with ``datasets.load_dataset(path, config, split=split)``, which needs network
    access or the local HF cache.
    """
    name = str(path)
    if dataset is None:
        import datasets as hf_datasets

        try:
            dataset = hf_datasets.load_dataset(name, config, split=split)
        except Exception as e:  # noqa: BLE001 - any hub failure becomes one clear message
            raise DataError(
                f"hf:{name} (split {split}): could not load from the hub: {e}"
            ) from None
    if len(dataset) == 0:
        raise DataError(f"hf:{name} (split {split}): the split is empty")
    res = ReadResult([])
    rows_to_examples(
        dataset,
        format,
        f"hf:{name}/{split}",
        _class_label_names(dataset),
        result=res,
        strict=strict,
    )
    return res
