"""CoNLL-2012 coreference files: read them into ``CorefDocument``s, write them back.

The format (OntoNotes ``*_gold_conll``, LitBank ``*.conll``, the official scorer's test files)::

    #begin document (NAME); part P
    NAME  P  0  Sir     ...  (0
    NAME  P  1  Walter  ...  0)
    NAME  P  2  ,       ...  -
                                    <- a blank line ends a sentence
    #end document

One token a line; the columns are the document id, the part, the token's index in its sentence,
the word, any number of other columns, and LAST the coreference cell: ``-``, ``_`` or empty for
none, else brackets joined by ``|`` (or run together, ``(1(3``, as in the scorer's own test
files): ``(3`` opens a mention of cluster 3, ``3)`` closes the latest open one, ``(3)`` is a
one-token mention.

The reader follows the official scorer (``reference-coreference-scorers`` v8.01, ``CorScorer.pm``,
``GetCoreference``) so that a file it accepts is read the same way here, and is stricter where it
is silent about a broken file:

- Columns are tab-separated when the line holds a tab (as the scorer splits), else separated by
  runs of whitespace (the space-aligned OntoNotes release and the scorer's own test files
  TC-B..L, whose lines are ``doc-id coref``; the scorer finds the brackets in such a line because
  it takes the whole line as the last column). ``min_columns`` (default 4) is the fewest columns
  a token line may have; pass 2 for those test files. The word is the 4th column of a line with
  at least 5, else ``""``.
- The coreference cell is the last column. When that is empty (LitBank leaves it empty, ending the
  line in a tab) the scorer, whose Perl ``split`` drops trailing empty fields, reads the last
  non-empty column instead; so do we, when that column (5th or later) is a well-formed cell
  (``_`` in LitBank, ``-`` in the scorer's TC-A files, whose last line ends in a stray tab);
  otherwise an empty cell means no mention.
- Every line of a sentence has the same number of columns, empty trailing columns aside (that
  stray tab); a line that differs is an error, as is a cell that is not made of the brackets above
  (the scorer would silently skip what it cannot read). ``(12+3)`` ("double antecedent") is
  discarded, as the scorer does.
- Within a cell the scorer applies the one-token mentions, then the openings, then the closings,
  whatever their written order; a closing pairs with the latest opening of its cluster. Same here,
  so ``3)|(3`` (a mention of 3 ends where another starts) reads as the scorer reads it: a one-token
  mention, the earlier opening left unclosed, which is an error at ``#end document``.
- A mention written twice in the same cluster is kept once (the scorer keeps one in a response;
  in a key it would count it twice, which no annotation means, so on such a key the scorer's
  figures and ours differ); ``CorefDocument.duplicates`` counts them. Nested mentions and
  mentions sharing a start are legal and kept.
- The same span in two clusters (a cell ``(22)|(23)``: one mention of two entities; OntoNotes and
  GUM have them, LitBank not) is legal and kept in both, as the scorer keeps it in the key (it
  prints "Repeated mention in the key" and indexes the span under the LAST of its clusters).
  ``CorefDocument.repeated`` lists such spans with their places; ``entity_of`` gives each span
  the scorer's one cluster, which is what training and decoding use (``autorc_nni.tasks``).
- Clusters are ordered as the scorer meets their ids: by the token of their first bracket, then,
  within a cell, the one-token mentions and then the openings in written order. The order
  decides which cluster a repeated span is indexed under.
- A document key (``NAME; part P``) seen twice in a file is an error (the scorer would score the
  last one only).

Token offsets are DOCUMENT-level (the scorer counts token lines from ``#begin document``), a
mention is ``(start, end)`` with ``end`` exclusive.

``load_conll2012`` reads the train/dev/test splits of the two layouts users have (a folder per
split or one file per split; or a flat folder of documents plus ``{split}.ids`` files, as the
LitBank ten-fold splits). ``write_conll2012`` writes documents (with their own or predicted
clusters) in the form the scorer reads, atomically: five tab-separated columns (name, part,
index in sentence, word, coreference), clusters numbered in their given order (a document's own
ids when it is written with its own clusters), at each token the openings in cluster order (a
cluster's longer mentions first; a document read from a file is written back with its clusters
in the order it was read, which is the scorer's; clusters built in another order are read back
in the scorer's order of first appearance, one-token mentions before openings), then
the one-token mentions, then the closings of inner mentions first; ``-`` for none.
Two mentions of one cluster that cross (overlap without nesting) cannot be written in brackets
(a closing pairs with the latest opening), so they are refused. A header without a part is
written ``#begin document (NAME);``.
"""

from __future__ import annotations

import bisect
import codecs
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autorc_nni.errors import DataError

__all__ = [
    "COREF_SPLITS",
    "CorefDocument",
    "Mention",
    "conll2012_stats",
    "load_conll2012",
    "read_conll2012",
    "write_conll2012",
]

Mention = tuple[int, int]
COREF_SPLITS = ("train", "dev", "test")

_BEGIN = re.compile(r"#\s*begin document\b\s*(.*?)\s*$")
_END = re.compile(r"#\s*end document\b")
_NAME_PART = re.compile(r"\((.*)\);\s*part\s+(\S+)")
_NAME_ONLY = re.compile(r"\((.*)\);?")
# one bracket of a cell: "(3)", "(3", "3)"; "(12+3)" (a "double antecedent", the scorer's only
# form: one digit after "+") is skipped as the scorer skips it; "|" separates, but the scorer's
# own test files also run brackets together ("(1(3", "3)1)")
_BRACKET = re.compile(r"\(\d+\+\d\)|\((\d+)\)|\((\d+)|(\d+)\)|\|")
_NONE = frozenset({"", "-", "_"})
_WORD_COLUMN = 3  # doc id, part, token index, word


@dataclass
class CorefDocument:
    """One ``#begin document (NAME); part P`` ... ``#end document`` block."""

    name: str
    part: str
    sentences: list[list[str]]
    clusters: list[list[Mention]]  # document-level (start, end), end exclusive; each sorted;
    # in the order the scorer meets them in the file (first bracket first)
    source: str  # "path:line" of the #begin line
    cluster_ids: list[str] = field(default_factory=list)  # as written, parallel to clusters
    duplicates: int = 0  # mentions written twice in the same cluster, kept once
    repeated: dict[Mention, str] = field(default_factory=dict)  # a span in two or more
    # clusters -> "path:line" of its last token

    def spans(self) -> list[Mention]:
        """Every mention span once, sorted by (start, end)."""
        return sorted({m for cluster in self.clusters for m in cluster})

    def entity_of(self) -> dict[Mention, int]:
        """Span -> the index of its cluster; a span in several clusters (``repeated``) belongs
        to the LAST of them, as the official scorer's mention index has it."""
        return {m: k for k, cluster in enumerate(self.clusters) for m in cluster}

    @property
    def key(self) -> str:
        """The document's unique id, as the scorer pairs key and response documents."""
        return f"{self.name}; part {self.part}"

    @property
    def tokens(self) -> list[str]:
        return [word for sentence in self.sentences for word in sentence]

    @property
    def sentence_starts(self) -> list[int]:
        """Offset of each sentence's first token, then the number of tokens."""
        starts = [0]
        for sentence in self.sentences:
            starts.append(starts[-1] + len(sentence))
        return starts

    def sentence_of(self, token: int) -> int:
        """Index of the sentence holding document-level token ``token``."""
        starts = self.sentence_starts
        if not 0 <= token < starts[-1]:
            raise IndexError(f"{self.key}: token {token} out of range 0..{starts[-1] - 1}")
        return bisect.bisect_right(starts, token) - 1

    def mentions(self) -> list[Mention]:
        """Every mention, sorted by (start, end); a span in two clusters appears twice."""
        return sorted(m for cluster in self.clusters for m in cluster)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass
class _Line:
    number: int
    fields: list[str]


@dataclass
class _Builder:
    """A document being read: its sentences, open brackets and finished mentions."""

    name: str
    part: str
    begin_line: int
    path: Path
    sentences: list[list[str]] = field(default_factory=list)
    sentence: list[_Line] = field(default_factory=list)
    tokens: int = 0
    open: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # id -> [(token, line)]
    clusters: dict[str, list[Mention]] = field(default_factory=dict)  # in order of appearance
    seen: set[tuple[str, Mention]] = field(default_factory=set)
    duplicates: int = 0
    first_seen: dict[str, int] = field(default_factory=dict)  # id -> rank of its first bracket
    span_ids: dict[Mention, set[str]] = field(default_factory=dict)
    span_lines: dict[Mention, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name}; part {self.part}"

    def add_token(self, line: _Line) -> None:
        self.sentence.append(line)
        self._apply_cell(_coref_cell(line.fields), line.number)
        self.tokens += 1

    def end_sentence(self) -> None:
        if not self.sentence:
            return
        _check_widths(self.sentence, self.path)
        self.sentences.append([_word(line.fields) for line in self.sentence])
        self.sentence = []

    def _apply_cell(self, cell: str, line: int) -> None:
        if cell in _NONE:  # most tokens: nothing to do
            return
        singles, opens, closes = _parse_cell(cell, self.path, line)
        token = self.tokens
        # the scorer's order, whatever the written one: one-token mentions, openings, closings;
        # a cluster's rank is where the scorer first meets its id (GetIndex)
        for cid in singles + opens:
            self.first_seen.setdefault(cid, len(self.first_seen))
        for cid in singles:
            self._add(cid, (token, token + 1), line)
        for cid in opens:
            self.open.setdefault(cid, []).append((token, line))
        for cid in closes:
            stack = self.open.get(cid)
            if not stack:
                raise DataError(
                    f"{self.path}:{line}: '{cid})' closes a mention of cluster {cid}, "
                    "which has no open mention"
                )
            start, _ = stack.pop()
            self._add(cid, (start, token + 1), line)

    def _add(self, cid: str, mention: Mention, line: int) -> None:
        if (cid, mention) in self.seen:
            self.duplicates += 1
            return
        self.seen.add((cid, mention))
        self.clusters.setdefault(cid, []).append(mention)
        self.span_ids.setdefault(mention, set()).add(cid)
        self.span_lines[mention] = line

    def finish(self, line: int) -> CorefDocument:
        self.end_sentence()
        unclosed = [(ln, cid, tok) for cid, stack in self.open.items() for tok, ln in stack]
        if unclosed:
            ln, cid, _ = min(unclosed)
            raise DataError(
                f"{self.path}:{line}: #end document of {self.key} with cluster {cid} still open: "
                f"its bracket '({cid}' at line {ln} is never closed"
            )
        order = sorted(self.clusters, key=self.first_seen.__getitem__)
        repeated = {
            m: f"{self.path}:{self.span_lines[m]}"
            for m, ids in sorted(self.span_ids.items())
            if len(ids) > 1
        }
        return CorefDocument(
            name=self.name,
            part=self.part,
            sentences=self.sentences,
            clusters=[sorted(self.clusters[cid]) for cid in order],
            source=f"{self.path}:{self.begin_line}",
            cluster_ids=order,
            duplicates=self.duplicates,
            repeated=repeated,
        )


def _parse_cell(cell: str, path: Path | None, line: int) -> tuple[list[str], list[str], list[str]]:
    """The cluster ids of a cell's one-token mentions, openings and closings."""
    singles: list[str] = []
    opens: list[str] = []
    closes: list[str] = []
    if cell in _NONE:
        return singles, opens, closes
    pos = 0
    while pos < len(cell):
        m = _BRACKET.match(cell, pos)
        if m is None:
            raise DataError(
                f"{path}:{line}: unparseable coreference cell {cell!r} (expected '-', '_' or "
                "brackets like '(3', '3)', '(3)', joined by '|')"
            )
        single, opened, closed = m.group(1, 2, 3)
        if single is not None:
            singles.append(single)
        elif opened is not None:
            opens.append(opened)
        elif closed is not None:
            closes.append(closed)
        pos = m.end()
    return singles, opens, closes


def _is_cell(text: str) -> bool:
    if text in _NONE:
        return True
    try:
        _parse_cell(text, None, 0)
    except DataError:
        return False
    return True


def _coref_cell(fields: list[str]) -> str:
    """The last column; when it is empty, the last non-empty one if that is a cell (the scorer's
    Perl ``split`` drops trailing empty fields, so that is the column it reads)."""
    last = fields[-1].strip()
    if last:
        return last
    for text in reversed(fields[_WORD_COLUMN + 1 :]):
        if text := text.strip():
            return text if _is_cell(text) else ""
    return ""


def _word(fields: list[str]) -> str:
    return fields[_WORD_COLUMN].strip() if len(fields) > _WORD_COLUMN + 1 else ""


def _split(text: str) -> list[str]:
    # fields are stripped where they are read (word, cell): stripping all is a third of the time
    return text.split("\t") if "\t" in text else text.split()


def _trimmed(fields: list[str]) -> int:
    n = len(fields)
    while n > 1 and not fields[n - 1].strip():
        n -= 1
    return n


def _check_widths(sentence: list[_Line], path: Path) -> None:
    """One column count fits every line of the sentence, empty trailing columns aside.

    A line of ``w`` columns, ``t`` of them before its empty trailing ones, fits a count ``n``
    with ``t <= n <= w``: LitBank's empty last column, the scorer's stray trailing tab. The count
    is the one most lines fit (ties: the first line's), so the line reported is the odd one."""
    ranges = [(_trimmed(line.fields), len(line.fields)) for line in sentence]
    first = ranges[0]
    width = max(
        {n for pair in ranges for n in pair},
        key=lambda n: (sum(t <= n <= w for t, w in ranges), first[0] <= n <= first[1], n),
    )
    reference = next(
        ln.number for ln, (t, w) in zip(sentence, ranges, strict=True) if t <= width <= w
    )
    for line, (t, w) in zip(sentence, ranges, strict=True):
        if not t <= width <= w:
            raise DataError(
                f"{path}:{line.number}: token line has {w} columns, the other lines of its "
                f"sentence have {width} (e.g. line {reference})"
            )


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 text ({e.reason})") from None
    # split at "\n" only, as the scorer does (str.splitlines also splits at U+2028, U+0085 ...)
    return [line.removesuffix("\r") for line in text.split("\n")]


def _name_part(rest: str) -> tuple[str, str]:
    if m := _NAME_PART.fullmatch(rest):
        return m.group(1), m.group(2)
    if m := _NAME_ONLY.fullmatch(rest):  # the scorer's TC files: "(LuoTestCase); "
        return m.group(1), ""
    return rest, ""


def read_conll2012(path: str | Path, *, min_columns: int = 4) -> list[CorefDocument]:
    """Every document of a CoNLL-2012 file, in file order. A malformed file is a ``DataError``
    whose message starts with ``"{path}:{line}: "``."""
    path = Path(path)
    lines = _read_lines(path)
    docs: list[CorefDocument] = []
    first_line: dict[str, int] = {}
    doc: _Builder | None = None
    for number, text in enumerate(lines, 1):
        if not text.strip():
            if doc is not None:
                doc.end_sentence()
            continue
        if text[0] == "#" and (begin := _BEGIN.match(text)):
            if doc is not None:
                raise DataError(
                    f"{path}:{number}: '#begin document' while {doc.key} (line "
                    f"{doc.begin_line}) is still open: that document is never ended"
                )
            if not begin.group(1):
                raise DataError(f"{path}:{number}: '#begin document' without a document name")
            doc = _Builder(*_name_part(begin.group(1)), begin_line=number, path=path)
            if doc.key in first_line:
                raise DataError(
                    f"{path}:{number}: document {doc.key} already began at line "
                    f"{first_line[doc.key]}; each document and part must appear once"
                )
            first_line[doc.key] = number
        elif text[0] == "#" and _END.match(text):
            if doc is None:
                raise DataError(f"{path}:{number}: '#end document' without '#begin document'")
            docs.append(doc.finish(number))
            doc = None
        elif doc is None:
            if not text.startswith(
                "#"
            ):  # comments outside documents are skipped, as the scorer does
                raise DataError(
                    f"{path}:{number}: token line outside a document (no '#begin document' "
                    "before it, or after '#end document')"
                )
        else:
            fields = _split(text)
            if len(fields) < min_columns:
                raise DataError(
                    f"{path}:{number}: token line has {len(fields)} columns, at least "
                    f"{min_columns} needed (doc id, part, token index, word, ..., coreference)"
                )
            doc.add_token(_Line(number, fields))
    if doc is not None:
        raise DataError(
            f"{path}:{doc.begin_line}: document {doc.key} is never ended (no '#end document' "
            f"before the end of the file, line {len(lines)})"
        )
    if not docs:
        raise DataError(f"{path}:1: empty file: no '#begin document' ... '#end document' block")
    return docs


# --------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------


def _is_conll(path: Path) -> bool:
    return path.is_file() and path.name.endswith("conll") and not path.name.startswith(".")


def _prefer_gold(files: list[Path]) -> list[Path]:
    """The OntoNotes release ships ``*_auto_conll`` (predicted parses) beside ``*_gold_conll``,
    the same documents twice: when gold files are there, the auto ones are left out."""
    if any(f.name.endswith("gold_conll") for f in files):
        return [f for f in files if not f.name.endswith("auto_conll")]
    return files


def _split_files(entry: Path) -> list[Path]:
    if entry.is_file():
        return [entry]
    return _prefer_gold(sorted(p for p in entry.rglob("*conll") if _is_conll(p)))


def _split_entry(data: Path, split: str) -> Path | None:
    """``data/train`` (a file or a folder), ``data/train.conll``,
    ``data/train.english.v4_gold_conll`` ...: the name continues with a non-alphanumeric
    character (``training`` is not ``train``); files of other kinds beside them
    (``train.english.jsonlines``, ``train.ids``) are not candidates."""
    hits = [
        p
        for p in sorted(data.iterdir())
        if not p.name.startswith(".")
        and re.fullmatch(rf"{split}([^A-Za-z0-9].*)?", p.name)
        and (p.is_dir() or p.name == split or p.name.endswith("conll"))
    ]
    if len(hits) > 1:
        hits = _prefer_gold(hits)
    if len(hits) > 1:
        names = ", ".join(p.name for p in hits)
        raise DataError(f"{data}: several candidates for the {split} split ({names}); keep one")
    return hits[0] if hits else None


def _read_split(files: Iterable[Path], what: str) -> list[CorefDocument]:
    docs: list[CorefDocument] = []
    seen: dict[str, str] = {}
    for file in files:
        for doc in read_conll2012(file):
            if doc.key in seen:
                raise DataError(
                    f"{doc.source}: document {doc.key} is also in {seen[doc.key]} ({what})"
                )
            seen[doc.key] = doc.source
            docs.append(doc)
    if not docs:
        raise DataError(f"{what}: the split holds no document")
    return docs


def _load_folders(data: Path) -> dict[str, list[CorefDocument]]:
    entries = {split: _split_entry(data, split) for split in COREF_SPLITS}
    missing = [split for split, entry in entries.items() if entry is None]
    if missing:
        found = ", ".join(sorted(p.name for p in data.iterdir())) or "nothing"
        raise DataError(
            f"{data}: no {' / '.join(missing)} split; found: {found}. Expected train, dev and "
            "test, each a file (train.conll, dev.english.v4_gold_conll, test ...) or a folder "
            "of *conll files; or pass the folder of .ids files as splits"
        )
    out: dict[str, list[CorefDocument]] = {}
    for split, entry in entries.items():
        assert entry is not None
        files = _split_files(entry)
        if not files:
            raise DataError(f"{entry}: no file ending in 'conll' in the {split} folder")
        out[split] = _read_split(files, str(entry))
    return out


def _read_ids(path: Path) -> list[tuple[int, str]]:
    if not path.is_file():
        raise DataError(f"{path}: split id file not found")
    ids = [(n, line.strip()) for n, line in enumerate(_read_lines(path), 1) if line.strip()]
    if not ids:
        raise DataError(f"{path}: no document id in the file")
    return ids


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def _load_ids(data: Path, splits: Path) -> dict[str, list[CorefDocument]]:
    if not splits.is_dir():
        raise DataError(
            f"{splits}: split folder not found (it should hold train.ids, dev.ids, test.ids)"
        )
    by_stem: dict[str, list[Path]] = {}
    for file in _prefer_gold(sorted(p for p in data.iterdir() if _is_conll(p))):
        by_stem.setdefault(_stem(file.name), []).append(file)
    out: dict[str, list[CorefDocument]] = {}
    for split in COREF_SPLITS:
        ids_path = splits / f"{split}.ids"
        files: list[Path] = []
        first: dict[Path, int] = {}
        for number, doc_id in _read_ids(ids_path):
            # LitBank's ids name .tsv files, the documents are .conll: match on the stem
            hits = by_stem.get(doc_id) or by_stem.get(_stem(doc_id), [])
            if not hits:
                raise DataError(
                    f"{ids_path}:{number}: no document for id {doc_id!r} in {data} (looked for a "
                    f"file named {_stem(doc_id)}.*conll)"
                )
            if len(hits) > 1:
                raise DataError(
                    f"{ids_path}:{number}: id {doc_id!r} matches several files: "
                    f"{', '.join(p.name for p in hits)}"
                )
            if hits[0] in first:
                raise DataError(
                    f"{ids_path}:{number}: id {doc_id!r} is listed twice (also line "
                    f"{first[hits[0]]})"
                )
            first[hits[0]] = number
            files.append(hits[0])
        out[split] = _read_split(files, str(ids_path))
    return out


def load_conll2012(
    data: str | Path, splits: str | Path | None = None
) -> dict[str, list[CorefDocument]]:
    """The ``train``, ``dev`` and ``test`` documents (all three are required).

    ``splits`` None: ``data`` holds, for each split, a file whose name starts with the split's
    and ends in ``conll`` or is the split's (``train.conll``, ``dev.english.v4_gold_conll``,
    ``test``), or a folder (``train/``) searched recursively for files ending in ``conll``,
    sorted; ``*_gold_conll`` files are preferred over ``*_auto_conll`` ones.
    ``splits`` given: ``data`` is a flat folder of documents, ``splits/{split}.ids`` list one id
    a line, naming a document by its file stem (an id's own extension, LitBank's ``.tsv``, is
    ignored).
    """
    data = Path(data)
    if not data.is_dir():
        raise DataError(f"{data}: coreference data folder not found")
    if splits is None:
        return _load_folders(data)
    return _load_ids(data, Path(splits))


# --------------------------------------------------------------------------------------------
# Writing and stats
# --------------------------------------------------------------------------------------------


def _check_text(text: str, what: str, doc: CorefDocument) -> None:
    if any(c in text for c in "\t\n\r"):
        raise ValueError(f"{doc.key}: {what} {text!r} holds a tab or newline; it cannot be written")


def _check_clusters(doc: CorefDocument, clusters: Sequence[Sequence[Mention]]) -> None:
    n = sum(len(s) for s in doc.sentences)
    for k, cluster in enumerate(clusters):
        spans = sorted(set(map(tuple, cluster)), key=lambda m: (m[0], -m[1]))
        for start, end in spans:
            if not 0 <= start < end <= n:
                raise ValueError(
                    f"{doc.key}: cluster {k} mention ({start}, {end}) is not a span of the "
                    f"document's {n} tokens (end exclusive)"
                )
        # a closing pairs with the latest opening of its cluster, so crossing mentions of one
        # cluster would be read back as other spans: refuse them (nested ones are fine)
        enclosing: list[Mention] = []
        for start, end in spans:
            while enclosing and enclosing[-1][1] <= start:
                enclosing.pop()
            if enclosing and end > enclosing[-1][1]:
                raise ValueError(
                    f"{doc.key}: cluster {k} has crossing mentions {enclosing[-1]} and "
                    f"{(start, end)}; CoNLL brackets cannot hold overlapping, non-nested "
                    "mentions of one cluster"
                )
            enclosing.append((start, end))


def _cells(
    doc: CorefDocument, clusters: Sequence[Sequence[Mention]], ids: Sequence[str]
) -> list[str]:
    n = sum(len(s) for s in doc.sentences)
    opens: list[list[tuple[int, int, str]]] = [[] for _ in range(n)]
    singles: list[list[str]] = [[] for _ in range(n)]
    closes: list[list[tuple[int, int, str]]] = [[] for _ in range(n)]
    for k, (cluster, cid) in enumerate(zip(clusters, ids, strict=True)):
        for start, end in sorted(set(map(tuple, cluster))):
            if end - start == 1:
                singles[start].append(cid)
            else:
                # in cluster order, so that a reader (the scorer's included) meets the ids in
                # that order; a cluster's longer spans first
                opens[start].append((k, -end, cid))
                closes[end - 1].append((-start, k, cid))  # inner spans close first
    cells = []
    for t in range(n):
        parts = [f"({cid}" for *_, cid in sorted(opens[t])]
        parts += [f"({cid})" for cid in singles[t]]
        parts += [f"{cid})" for *_, cid in sorted(closes[t])]
        cells.append("|".join(parts) or "-")
    return cells


def _document_lines(doc: CorefDocument, clusters: Sequence[Sequence[Mention]] | None) -> list[str]:
    for text, what in [(doc.name, "name"), (doc.part, "part")]:
        _check_text(text, what, doc)
    own = clusters is None
    chains = doc.clusters if clusters is None else clusters
    _check_clusters(doc, chains)
    ids = [str(k) for k in range(len(chains))]
    if (
        own
        and len(doc.cluster_ids) == len(chains)
        and len(set(doc.cluster_ids)) == len(chains)
        and all(cid.isdigit() for cid in doc.cluster_ids)
    ):
        ids = list(doc.cluster_ids)  # the file's own numbering: a diff with the source is small
    cells = iter(_cells(doc, chains, ids))
    header = f"({doc.name}); part {doc.part}" if doc.part else f"({doc.name});"
    lines = [f"#begin document {header}"]
    for sentence in doc.sentences:
        for index, word in enumerate(sentence):
            _check_text(word, "word", doc)
            lines.append(f"{doc.name}\t{doc.part}\t{index}\t{word}\t{next(cells)}")
        lines.append("")
    lines.append("#end document")
    return lines


def write_conll2012(
    docs: Sequence[CorefDocument],
    clusters: Sequence[Sequence[Sequence[Mention]]] | None,
    path: str | Path,
) -> None:
    """Write ``docs`` as one CoNLL-2012 file the official scorer reads; the coreference column
    comes from ``clusters`` (one list of clusters per document, e.g. predictions), or from the
    documents' own clusters when it is None. Written atomically (a ``.tmp`` sibling, then a
    rename). Columns: name, part, index in sentence, word, coreference."""
    if not docs:
        raise ValueError("write_conll2012: no document to write")
    if clusters is not None and len(clusters) != len(docs):
        raise ValueError(
            f"write_conll2012: {len(clusters)} cluster lists for {len(docs)} documents"
        )
    lines: list[str] = []
    for k, doc in enumerate(docs):
        lines += _document_lines(doc, None if clusters is None else clusters[k])
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def conll2012_stats(docs: Iterable[CorefDocument]) -> dict[str, int]:
    """Counts over ``docs``: documents, sentences, tokens, mentions, entities, singletons."""
    stats = dict.fromkeys(
        ["documents", "sentences", "tokens", "mentions", "entities", "singletons"], 0
    )
    for doc in docs:
        stats["documents"] += 1
        stats["sentences"] += len(doc.sentences)
        stats["tokens"] += sum(len(s) for s in doc.sentences)
        stats["mentions"] += sum(len(c) for c in doc.clusters)
        stats["entities"] += len(doc.clusters)
        stats["singletons"] += sum(len(c) == 1 for c in doc.clusters)
    return stats
