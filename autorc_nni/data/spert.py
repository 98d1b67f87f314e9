"""SpERT JSON: sentences with typed entity spans and the relations between them.

A file is one JSON array of sentences (as SpERT ships CoNLL04, SciERC, ADE), or JSON lines of the
same objects::

    {"tokens": [...], "entities": [{"type": "Peop", "start": 0, "end": 2}, ...],
     "relations": [{"type": "Kill", "head": 0, "tail": 1}, ...], "orig_id": 3255}

``end`` is exclusive; ``head``/``tail`` index into ``entities``. One reader feeds two tasks:

- ``read_spert_sentences`` gives ``SpanSentence`` records: the span NER task (``--task ner``)
  enumerates their candidate spans (``autorc_nni.tasks``).
- the ``spert`` entry of ``READERS`` gives the relation view (``--task rc``): every ordered pair of
  distinct entities of a sentence is one statement, labelled by its relation type or by
  ``NEGATIVE`` (``None``, SpERT's own name for "no relation"). A second relation on the same
  ordered pair cannot be a second label of one statement: it is dropped and counted. So is an
  entity with an empty span (``start == end``) or of blank words only: it is left out of every
  pair (counted once, as ``empty entity``). With ``strict=True`` both are refused instead.

A malformed record (a missing key, a span outside the sentence, a relation naming an entity
that does not exist, a wrong type) is a ``DataError`` naming the file and the line where the
record starts (or its number, when the array is written on one line). The NER view refuses an
empty entity too: it cannot be a gold span.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autorc_nni.data.readers import READERS, ReadResult, _json, _locate, _read_text, json_document
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError

__all__ = ["NEGATIVE", "SpanSentence", "read_spert_sentences", "read_spert"]

NEGATIVE = "None"  # the negative label of both views (SpERT's "no relation" / "no entity")


@dataclass(frozen=True)
class SpanSentence:
    """One sentence: words, typed entity spans (``(start, end, type)``, end exclusive) and
    relations (``(head entity index, tail entity index, type)``)."""

    tokens: tuple[str, ...]
    entities: tuple[tuple[int, int, str], ...]
    relations: tuple[tuple[int, int, str], ...]
    id: str  # "FILE:LINE" of the record, or "FILE:record N" when records share a line
    meta: dict = field(default_factory=dict, compare=False, hash=False)


def _record_lines(text: str) -> list[int]:
    """For a JSON array of objects: the line on which each top-level object starts."""
    lines, depth, line, in_str, esc = [], 0, 1, False, False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            if depth == 1 and ch == "{":
                lines.append(line)
            depth += 1
        elif ch in "]}":
            depth -= 1
    return lines


def _records(path: Path) -> list[tuple[str, Any]]:
    """``(where, object)`` per record of a JSON array or JSON-lines file."""
    text = _read_text(path)
    if text.lstrip().startswith("["):
        data = json_document(text, path)
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON array of sentences")
        starts = _record_lines(text)
        if len(starts) != len(data) or len(set(starts)) != len(starts):
            # records that are not objects, or several on one line (a one-line array, as
            # CoNLL04's files are): number them instead, so every record keeps its own id
            return [(f"{path.name}:record {i + 1}", obj) for i, obj in enumerate(data)]
        return [(f"{path.name}:{ln}", obj) for ln, obj in zip(starts, data, strict=True)]
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        out.append((f"{path.name}:{n}", _json(line, f"{path}:{n}", "malformed JSON line")))
    return out


def _int(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{where}: {what} must be an integer, got {value!r}")
    return value


def _sentence(obj: Any, where: str, path: Path, allow_empty: bool = False) -> SpanSentence:
    """One record; ``allow_empty`` keeps an empty entity (``start == end``) for the relation
    view to drop, else it is an error."""
    at = f"{path.parent / where}"
    if not isinstance(obj, dict):
        raise DataError(f"{at}: expected a JSON object, got {type(obj).__name__}")
    for key in ("tokens", "entities"):
        if key not in obj:
            raise DataError(f"{at}: missing key {key!r}")
    tokens = obj["tokens"]
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise DataError(f"{at}: 'tokens' must be a non-empty list of strings")
    n = len(tokens)
    entities = []
    if not isinstance(obj["entities"], list):
        raise DataError(f"{at}: 'entities' must be a list")
    for i, ent in enumerate(obj["entities"]):
        if not isinstance(ent, dict) or not {"type", "start", "end"} <= set(ent):
            raise DataError(f"{at}: entity {i} needs 'type', 'start' and 'end'")
        s, e = _int(ent["start"], f"entity {i} start", at), _int(ent["end"], f"entity {i} end", at)
        if not (0 <= s <= e <= n if allow_empty else 0 <= s < e <= n):
            raise DataError(
                f"{at}: entity {i} span [{s}, {e}) is outside the sentence of {n} "
                "tokens or empty (end is exclusive)"
            )
        if not isinstance(ent["type"], str) or not ent["type"]:
            raise DataError(f"{at}: entity {i} type must be a non-empty string")
        if ent["type"] == NEGATIVE:
            raise DataError(f"{at}: entity {i} has the type {NEGATIVE!r}, the negative label")
        entities.append((s, e, ent["type"]))
    relations = []
    rels = obj.get("relations", [])
    if not isinstance(rels, list):
        raise DataError(f"{at}: 'relations' must be a list")
    for j, rel in enumerate(rels):
        if not isinstance(rel, dict) or not {"type", "head", "tail"} <= set(rel):
            raise DataError(f"{at}: relation {j} needs 'type', 'head' and 'tail'")
        h, t = (
            _int(rel["head"], f"relation {j} head", at),
            _int(rel["tail"], f"relation {j} tail", at),
        )
        if not isinstance(rel["type"], str) or not rel["type"]:
            raise DataError(f"{at}: relation {j} type must be a non-empty string")
        if rel["type"] == NEGATIVE:
            raise DataError(f"{at}: relation {j} has the type {NEGATIVE!r}, the negative label")
        for name, k in (("head", h), ("tail", t)):
            if not 0 <= k < len(entities):
                raise DataError(
                    f"{at}: relation {j} {name} {k} names no entity "
                    f"(the sentence has {len(entities)})"
                )
        if h == t:
            raise DataError(f"{at}: relation {j} links entity {h} to itself")
        relations.append((h, t, rel["type"]))
    meta = {"orig_id": obj["orig_id"]} if "orig_id" in obj else {}
    return SpanSentence(tuple(tokens), tuple(entities), tuple(relations), where, meta)


def read_spert_sentences(path: str | Path, allow_empty: bool = False) -> list[SpanSentence]:
    """The sentences of a SpERT JSON file (array or JSON lines)."""
    path = Path(path)
    sentences = [_sentence(obj, where, path, allow_empty) for where, obj in _records(path)]
    if not sentences:
        raise DataError(f"{path}: no sentences")
    return sentences


@READERS.register("spert")
def read_spert(path: Path, strict: bool = False, **_: Any) -> ReadResult:
    """The relation view: every ordered pair of distinct entities of each sentence."""
    path = Path(path)
    res = ReadResult([])
    for sent in read_spert_sentences(path, allow_empty=True):
        where = _locate(path, sent.id)
        empty = set()
        for i, (s, e, _type) in enumerate(sent.entities):
            if not any(w.strip() for w in sent.tokens[s:e]):
                res.drop(
                    "empty entity",
                    where,
                    strict,
                    f"entity {i}, span [{s}, {e}), is left out of every pair",
                )
                empty.add(i)
        labels: dict[tuple[int, int], str] = {}
        for h, t, rel in sent.relations:
            if (h, t) in labels:
                res.drop(
                    "a second relation on the same ordered entity pair",
                    where,
                    strict,
                    f"entities {h} -> {t}: {labels[(h, t)]!r} kept, {rel!r} dropped",
                )
                continue
            labels[(h, t)] = rel
        for h, (hs, he, _htype) in enumerate(sent.entities):
            for t, (ts, te, _ttype) in enumerate(sent.entities):
                if h != t and h not in empty and t not in empty:
                    res.examples.append(
                        RelationExample(
                            sent.tokens,
                            (hs, he),
                            (ts, te),
                            labels.get((h, t), NEGATIVE),
                            f"{sent.id}#{h}-{t}",
                            {"doc": sent.id},
                        )
                    )
    return res
