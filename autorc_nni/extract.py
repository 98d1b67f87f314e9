"""From raw text to relations: ``autorc extract`` and ``Extractor``.

Three trained models of this tool, each as ``autorc train`` or ``autorc export`` saved it:

1. text -> sentences and words, character offsets kept (``syntok``: rule-based, nothing fetched);
2. a NER model (``--task ner``) -> the entities of each sentence; overlapping entities are
   resolved by probability (the most probable kept), as a relation needs one reading of a span;
3. every ordered pair of entities of a sentence -> an RC model (``--task rc``) -> the relations
   other than its negative label;
4. optionally a coreference model (``--task coref``) over each document's entities -> which
   entities are mentions of one thing (``cluster``).

Output, one JSON object per document::

    {"id": "...", "text": "...",
     "sentences": [{"start": c, "end": c, "tokens": [...]}, ...],
     "entities": [{"id": "T1", "sentence": k, "start": w, "end": w, "char_start": c,
                   "char_end": c, "text": "...", "type": "Peop", "prob": p, "cluster": n}, ...],
     "relations": [{"head": "T1", "tail": "T2", "type": "Work_For", "prob": p}, ...],
     "clusters": [["T1", "T4"], ...]}

word offsets are within the sentence, character offsets within the document's text (absent for
pre-tokenized input); ``cluster`` and ``clusters`` only with a coreference model.

``score_extraction`` scores the output against gold sentences the way SpERT scores joint
extraction: entity F1 (span and type), relation F1 with both entities' spans and types and the
relation type correct (strict) and without the entity types (boundaries).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorc_nni.data.record import RelationExample
from autorc_nni.errors import AutoRCError, DataError
from autorc_nni.metrics import prf_dict

__all__ = [
    "Document",
    "Extractor",
    "extraction_html",
    "read_document",
    "score_extraction",
    "split_text",
]


def split_text(text: str) -> list[tuple[list[str], list[tuple[int, int]]]]:
    """The sentences of ``text``: each its words and their character spans (``syntok``)."""
    from syntok import segmenter

    out = []
    for paragraph in segmenter.analyze(text):
        for sentence in paragraph:
            words = [t.value for t in sentence if t.value]
            spans = [(t.offset, t.offset + len(t.value)) for t in sentence if t.value]
            if words:
                out.append((words, spans))
    return out


@dataclass
class Document:
    id: str
    text: str | None
    sentences: list[tuple[list[str], list[tuple[int, int]] | None]]


def read_document(item: str | Mapping[str, Any], where: str) -> Document:
    if isinstance(item, str):
        return Document(where, item, list(split_text(item)))
    if not isinstance(item, Mapping):
        raise DataError(f"{where}: expected a text or a JSON object, got {type(item).__name__}")
    doc_id = str(item.get("id", where))
    if "text" in item:
        if not isinstance(item["text"], str):
            raise DataError(f"{where}: 'text' must be a string")
        return Document(doc_id, item["text"], list(split_text(item["text"])))
    sentences = item.get("sentences")
    if (
        isinstance(sentences, list)
        and sentences
        and all(isinstance(s, list) and s and all(isinstance(w, str) for w in s) for s in sentences)
    ):
        return Document(doc_id, None, [(list(s), None) for s in sentences])
    raise DataError(f"{where}: needs 'text' (a string) or 'sentences' (lists of words)")


def _without_overlaps(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The most probable of overlapping entities, then the next that overlaps none kept..."""
    kept: list[dict[str, Any]] = []
    for e in sorted(entities, key=lambda e: (-e["prob"], e["start"], e["end"])):
        if all(e["end"] <= k["start"] or k["end"] <= e["start"] for k in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: (e["start"], e["end"]))


class Extractor:
    """Raw text to entities and relations with a NER, an RC and (optionally) a coreference
    model (module docstring)::

        ex = Extractor.from_pretrained("runs/ner/model", "runs/rc/model")
        [doc] = ex.extract(["John Smith works for IBM in Paris."])
    """

    def __init__(
        self,
        ner: Any,
        rc: Any,
        coref: Any = None,
        batch_size: int = 32,
        overlaps: bool = False,
    ) -> None:
        for model, task, flag in (
            (ner, "ner", "--ner"),
            (rc, "rc", "--rc"),
            (coref, "coref", "--coref"),
        ):
            if model is not None and model.task != task:
                raise AutoRCError(
                    f"{flag}: a model trained for {model.task!r}, not {task!r} "
                    f"(train it with autorc train --task {task})"
                )
        self.ner, self.rc, self.coref = ner, rc, coref
        self.batch_size = batch_size
        self.overlaps = overlaps
        self.negative = _negative_label(rc)

    @classmethod
    def from_pretrained(
        cls,
        ner: str | Path,
        rc: str | Path,
        coref: str | Path | None = None,
        device: str = "cpu",
        **kwargs: Any,
    ) -> Extractor:
        from autorc_nni.model import RCModel

        return cls(
            RCModel.from_pretrained(ner, device=device),
            RCModel.from_pretrained(rc, device=device),
            RCModel.from_pretrained(coref, device=device) if coref is not None else None,
            **kwargs,
        )

    def extract(self, documents: Sequence[str | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The extraction of each document: a text, ``{"id", "text"}`` or ``{"id",
        "sentences": [[word, ...], ...]}`` (pre-tokenized: no character offsets)."""
        from autorc_nni.tasks import get_task
        from autorc_nni.tasks.ner import Sentence

        docs = [read_document(d, f"document {i}") for i, d in enumerate(documents)]
        sentences = [
            Sentence(f"{d}#{k}", tuple(words), chars)
            for d, doc in enumerate(docs)
            for k, (words, chars) in enumerate(doc.sentences)
        ]
        tagged = get_task("ner").predict(self.ner, sentences, batch_size=self.batch_size)
        by_sentence = {
            row["id"]: row["entities"] if self.overlaps else _without_overlaps(row["entities"])
            for row in tagged
        }
        out = []
        for d, doc in enumerate(docs):
            entities: list[dict[str, Any]] = []
            for k, (_, chars) in enumerate(doc.sentences):
                for e in by_sentence[f"{d}#{k}"]:
                    ent = {
                        "id": f"T{len(entities) + 1}",
                        "sentence": k,
                        "start": e["start"],
                        "end": e["end"],
                    }
                    if chars is not None:
                        ent["char_start"], ent["char_end"] = e["char_start"], e["char_end"]
                        ent["text"] = doc.text[ent["char_start"] : ent["char_end"]]  # type: ignore[index]
                    else:
                        ent["text"] = e["words"]
                    ent |= {"type": e["type"], "prob": e["prob"]}
                    entities.append(ent)
            out.append(
                {
                    "id": doc.id,
                    **({"text": doc.text} if doc.text is not None else {}),
                    "sentences": [
                        {"tokens": words}
                        | ({"start": chars[0][0], "end": chars[-1][1]} if chars else {})
                        for words, chars in doc.sentences
                    ],
                    "entities": entities,
                    "relations": [],
                }
            )
        self._relations(docs, out)
        if self.coref is not None:
            self._clusters(docs, out)
        return out

    def _relations(self, docs: list[Document], out: list[dict[str, Any]]) -> None:
        pairs: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        statements = []
        for doc, result in zip(docs, out, strict=True):
            by_sentence: dict[int, list[dict[str, Any]]] = {}
            for e in result["entities"]:
                by_sentence.setdefault(e["sentence"], []).append(e)
            for k, ents in by_sentence.items():
                words = tuple(doc.sentences[k][0])
                for h in ents:
                    for t in ents:
                        if h is t:
                            continue
                        statements.append(
                            RelationExample(
                                words,
                                (h["start"], h["end"]),
                                (t["start"], t["end"]),
                                None,
                                f"{result['id']}:{h['id']}-{t['id']}",
                            )
                        )
                        pairs.append((result, h, t))
        probs = self.rc.statement_probs(statements, self.batch_size) if statements else []
        for (result, h, t), p in zip(pairs, probs, strict=True):
            if p is None:
                continue  # the two entities do not fit in the model's length together
            k = int(p.argmax())
            label = self.rc.labels[k]
            if label != self.negative:
                result["relations"].append(
                    {"head": h["id"], "tail": t["id"], "type": label, "prob": round(float(p[k]), 6)}
                )

    def _clusters(self, docs: list[Document], out: list[dict[str, Any]]) -> None:
        from autorc_nni.data.conll2012 import CorefDocument
        from autorc_nni.tasks import get_task

        units, offsets = [], []
        for i, (doc, result) in enumerate(zip(docs, out, strict=True)):
            starts = [0]
            for words, _ in doc.sentences:
                starts.append(starts[-1] + len(words))
            offsets.append(starts)
            mentions = sorted(
                {
                    (starts[e["sentence"]] + e["start"], starts[e["sentence"]] + e["end"])
                    for e in result["entities"]
                }
            )
            units.append(
                CorefDocument(
                    name=str(i),  # by place: two documents may share an id
                    part="",
                    sentences=[w for w, _ in doc.sentences],
                    clusters=[[m] for m in mentions],
                    source=result["id"],
                )
            )
        rows = get_task("coref").predict(self.coref, units, batch_size=self.batch_size)
        for result, starts, row in zip(out, offsets, rows, strict=True):
            of_span = {}
            for n, cluster in enumerate(row["clusters"]):
                for a, b in cluster:
                    of_span[(a, b)] = n
            groups: dict[int, list[str]] = {}
            singles = len(row["clusters"])
            for e in result["entities"]:
                span = (starts[e["sentence"]] + e["start"], starts[e["sentence"]] + e["end"])
                if span not in of_span:  # a singleton the model does not keep as a cluster
                    of_span[span] = singles
                    singles += 1
                e["cluster"] = of_span[span]
                groups.setdefault(e["cluster"], []).append(e["id"])
            result["clusters"] = [ids for _, ids in sorted(groups.items()) if len(ids) > 1]


def _negative_label(rc: Any) -> str | None:
    """The RC model's "no relation" label: the one it was trained with, else found by name."""
    from autorc_nni.data.datasets import NEGATIVE_NAMES

    if "negative_label" in rc.task_options:  # saved by training (None: the set has none)
        saved = rc.task_options["negative_label"]
        return None if saved is None else str(saved)
    found = [n for n in NEGATIVE_NAMES if n in set(rc.labels)]
    return found[0] if found else None


# --------------------------------------------------------------------------------------------
# Scoring, as SpERT scores joint extraction
# --------------------------------------------------------------------------------------------
def _prf(correct: int, predicted: int, gold: int) -> dict[str, float]:
    counts = {"gold": gold, "predicted": predicted, "correct": correct}
    return {**prf_dict(correct, predicted, gold), **counts}


def score_extraction(predicted: Sequence[Mapping[str, Any]], gold: Sequence[Any]) -> dict[str, Any]:
    """Entity and relation P/R/F1 of ``predicted`` (``Extractor.extract`` of ``gold``'s
    sentences, one document per sentence, in order) against ``gold`` (sentences with
    ``entities`` ``(start, end, type)`` and ``relations`` ``(head index, tail index, type)``).

    ``entities``: span and type; ``relations``: both spans, both types and the relation type
    (SpERT's strict "with NEC"); ``relations_boundaries``: both spans and the relation type.
    Micro over all sentences."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold sentences")
    counts = {k: [0, 0, 0] for k in ("entities", "relations", "relations_boundaries")}
    for pred, sent in zip(predicted, gold, strict=True):
        if len(pred["sentences"]) != 1:
            raise ValueError(f"{pred['id']}: score one sentence per document")
        g_ent = {(s, e, t) for s, e, t in sent.entities}
        p_ent = {(e["start"], e["end"], e["type"]) for e in pred["entities"]}
        ents = {e["id"]: (e["start"], e["end"], e["type"]) for e in pred["entities"]}
        g_rel = set()
        for h, t, r in sent.relations:
            (hs, he, ht), (ts, te, tt) = sent.entities[h], sent.entities[t]
            g_rel.add(((hs, he, ht), (ts, te, tt), r))
        p_rel = {(ents[r["head"]], ents[r["tail"]], r["type"]) for r in pred["relations"]}
        strip = lambda rels: {((h[0], h[1]), (t[0], t[1]), r) for h, t, r in rels}  # noqa: E731
        for key, g, p in (
            ("entities", g_ent, p_ent),
            ("relations", g_rel, p_rel),
            ("relations_boundaries", strip(g_rel), strip(p_rel)),
        ):
            counts[key][0] += len(g & p)
            counts[key][1] += len(p)
            counts[key][2] += len(g)
    return {k: _prf(*v) for k, v in counts.items()}


# --------------------------------------------------------------------------------------------
# The HTML view
# --------------------------------------------------------------------------------------------
_PALETTE = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fbcfe8", "#c7d2fe", "#fed7aa")


def extraction_html(results: Sequence[Mapping[str, Any]], title: str = "autorc extract") -> str:
    """A self-contained HTML page of ``Extractor.extract``'s output: each document's text with
    its entities highlighted by type (a legend of the types), and its relations listed as
    ``head —type→ tail`` with their probabilities."""
    types = sorted({e["type"] for r in results for e in r["entities"]})
    color = {t: _PALETTE[i % len(_PALETTE)] for i, t in enumerate(types)}
    esc = html.escape
    css = "".join(f".t-{i}{{background:{color[t]}}}" for i, t in enumerate(types))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>body{{font-family:sans-serif;max-width:60em;"
        "margin:2em auto}mark{padding:0 .2em;border-radius:.2em}mark sub{font-size:.6em;"
        "margin-left:.2em}table{border-collapse:collapse}td{padding:.1em .6em}"
        f".doc{{border-top:1px solid #ccc;padding:.5em 0}}{css}</style></head><body>",
        f"<h1>{esc(title)}</h1><p class='legend'>"
        + " ".join(f"<mark class='t-{i}'>{esc(t)}</mark>" for i, t in enumerate(types))
        + "</p>",
    ]
    for r in results:
        index = {t: i for i, t in enumerate(types)}
        parts.append(f"<div class='doc' id='{esc(str(r['id']))}'><h2>{esc(str(r['id']))}</h2><p>")
        parts.append(_marked_text(r, index))
        parts.append("</p>")
        names = {e["id"]: e for e in r["entities"]}
        if r["relations"]:
            parts.append("<table class='relations'>")
            for rel in r["relations"]:
                h, t = names[rel["head"]], names[rel["tail"]]
                parts.append(
                    "<tr class='relation'>"
                    f"<td class='head'>{esc(h['text'])}</td>"
                    f"<td class='type'>—{esc(rel['type'])}→</td>"
                    f"<td class='tail'>{esc(t['text'])}</td>"
                    f"<td class='prob'>{rel['prob']:.2f}</td></tr>"
                )
            parts.append("</table>")
        else:
            parts.append("<p class='none'>no relation found</p>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _marked_text(r: Mapping[str, Any], index: Mapping[str, int]) -> str:
    esc = html.escape
    marks = []
    for e in r["entities"]:
        cls = f"t-{index[e['type']]}"
        label = f"<sub>{esc(e['type'])}</sub>"
        marks.append(
            (
                e,
                f"<mark class='ent {cls}' data-type='{esc(e['type'])}' data-id='{e['id']}'>",
                f"{label}</mark>",
            )
        )
    if "text" in r:  # character offsets into the text
        text, pos, pieces = r["text"], 0, []
        for e, open_tag, close_tag in sorted(marks, key=lambda m: m[0]["char_start"]):
            pieces += [
                esc(text[pos : e["char_start"]]),
                open_tag,
                esc(text[e["char_start"] : e["char_end"]]),
                close_tag,
            ]
            pos = e["char_end"]
        return "".join([*pieces, esc(text[pos:])])
    sentences = []
    for k, sent in enumerate(r["sentences"]):
        words = [esc(w) for w in sent["tokens"]]
        for e, open_tag, close_tag in marks:
            if e["sentence"] == k:
                words[e["start"]] = open_tag + words[e["start"]]
                words[e["end"] - 1] += close_tag
        sentences.append(" ".join(words))
    return "<br>".join(sentences)
