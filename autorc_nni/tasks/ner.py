"""``ner``: span NER (SpERT JSON, ``--format spert``). Every span of at most ``max_span_len``
words of a sentence is a statement with e1 = e2 = the span, labelled by its entity type or
``None``. Training: every gold span plus up to ``neg_per_sentence`` negatives per sentence,
sampled afresh each epoch. Decoding: each candidate takes its argmax type; the entities are those
not ``None`` (no overlap filter, as SpERT). Metric: entity-level micro-F1 (start, end and type
match; gold entities longer than ``max_span_len`` count as missed), macro-F1 over the types
beside it. In the search space ``span=tokens`` is excluded (it would hide the span's words) and
the c1 decisions are fixed (nothing lies between e1 and e2)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError
from autorc_nni.metrics import prf_dict
from autorc_nni.tasks.base import (
    LoadSettings,
    Scored,
    Scores,
    Task,
    TaskData,
    TaskOptions,
    register_task,
    sample_units,
    split_files,
)
from autorc_nni.tasks.rc import argmax

__all__ = ["NER_NEGATIVE", "Sentence", "SpanNER", "entity_scores", "span_candidates"]

NER_NEGATIVE = "None"


@dataclass(frozen=True)
class Sentence:
    """A sentence to tag: its id, words and, for text input, each word's character span."""

    id: str
    tokens: tuple[str, ...]
    chars: list[tuple[int, int]] | None = None


def span_candidates(n: int, max_len: int) -> list[tuple[int, int]]:
    """Every span ``(start, end)`` (end exclusive) of at most ``max_len`` of ``n`` words, in
    order of start, then length."""
    return [(s, s + k) for s in range(n) for k in range(1, min(max_len, n - s) + 1)]


def _prf(correct: int, proposed: int, actual: int) -> dict[str, float]:
    return {**prf_dict(correct, proposed, actual), "support": actual, "predicted": proposed}


def entity_scores(
    gold: Sequence[set[tuple[int, int, str]]],
    pred: Sequence[set[tuple[int, int, str]]],
    types: Sequence[str],
) -> dict[str, Any]:
    """Entity-level P/R/F1 as SpERT computes them: a predicted entity is correct when start, end
    and type all match; micro over all typed spans, macro over ``types`` (each type's F1)."""
    per = {}
    for t in types:
        g = sum(1 for s in gold for e in s if e[2] == t)
        p = sum(1 for s in pred for e in s if e[2] == t)
        c = sum(1 for gs, ps in zip(gold, pred, strict=True) for e in ps if e[2] == t and e in gs)
        per[t] = _prf(c, p, g)
    correct = sum(len(gs & ps) for gs, ps in zip(gold, pred, strict=True))
    micro = _prf(correct, sum(map(len, pred)), sum(map(len, gold)))
    macro = {
        k: sum(per[t][k] for t in types) / len(types) if types else 0.0 for k in ("p", "r", "f1")
    }
    return {
        "micro_p": micro["p"],
        "micro_r": micro["r"],
        "micro_f1": micro["f1"],
        "macro_p": macro["p"],
        "macro_r": macro["r"],
        "macro_f1": macro["f1"],
        "n_gold": micro["support"],
        "n_pred": micro["predicted"],
        "per_label": per,
    }


@register_task
class SpanNER(Task):
    name = "ner"
    title = "span NER"
    unit = "sentence"
    negatives = "negative spans"
    resamples = True
    groups_text = True
    options = ("max_span_len", "neg_per_sentence")
    excluded_spans = ("tokens",)
    excluded_why = "it hides the span's words: use markers, standard or levitated"
    extra_spans = ("levitated",)  # a sentence's candidates in one encoder pass
    presets = ("spert-like",)  # the race's hand-made design
    fixed_decisions = {"use_c1": False, "inter_c1": "none"}  # e1 = e2: nothing lies between

    def load(self, dataset: str, settings: LoadSettings) -> TaskData:
        from autorc_nni.data.spert import read_spert_sentences

        options = settings.options
        files = split_files(dataset, settings.fmt, settings.data_root, "spert")
        units = {s: read_spert_sentences(f) for s, f in files.items()}
        for s in ("dev", "test"):
            units[s] = sample_units(units[s], settings.limit_eval, settings.eval_seed)
        types = sorted({t for s in units.values() for sent in s for _, _, t in sent.entities})
        data = TaskData(self.name, [NER_NEGATIVE, *types], NER_NEGATIVE, "micro_f1", {}, units)
        data.options = options
        for split, sentences in units.items():
            per_unit = [
                self.statements(sent.id, sent.tokens, options, sent.entities) for sent in sentences
            ]
            data.set_pool(split, per_unit, settings.eval_seed)
            data.report[split] = {
                "sentences": len(sentences),
                "entities": dict(Counter(t for sent in sentences for _, _, t in sent.entities)),
                "candidates": len(data.statements[split]),
                "entities_longer_than_max_span_len": sum(
                    1
                    for sent in sentences
                    for a, b, _ in sent.entities
                    if b - a > options.max_span_len
                ),
            }
        return data

    @staticmethod
    def statements(
        unit: str,
        tokens: Sequence[str],
        options: TaskOptions,
        entities: Sequence[tuple[int, int, str]] = (),
    ) -> list[RelationExample]:
        """The candidate spans of one sentence, labelled by ``entities`` (gold; none: all
        negative, as for prediction)."""
        gold = {(s, e): t for s, e, t in entities}
        return [
            RelationExample(
                tuple(tokens),
                (s, e),
                (s, e),
                gold.get((s, e), NER_NEGATIVE),
                f"{unit}#{s}-{e}",
                {"unit": unit},
            )
            for s, e in span_candidates(len(tokens), options.max_span_len)
        ]

    negatives_option = "neg_per_sentence"

    def n_negatives(self, options: TaskOptions, n_gold: int) -> int:
        return options.neg_per_sentence

    def group_of(self, statement_id: str) -> str:
        return statement_id.rsplit("#", 1)[0]

    def decode(
        self, data: TaskData, statements: Sequence[RelationExample], scored: Scored
    ) -> dict[str, dict[tuple[int, int, str], float]]:
        """Unit id -> its predicted entities ``{(start, end, type): probability}``."""
        names = data.labels
        neg = names.index(NER_NEGATIVE)
        out: dict[str, dict[tuple[int, int, str], float]] = defaultdict(dict)
        for ex in statements:
            p, prob = argmax(scored, ex.id, neg)
            if p != neg:
                out[ex.meta["unit"]][(ex.head[0], ex.head[1], names[p])] = prob
        return out

    def score(self, data: TaskData, split: str, scored: Scored) -> Scores:
        predicted = self.decode(data, data.statements[split], scored)
        gold_sets, pred_sets, records, decoded = [], [], [], []
        for sent in data.units[split]:
            gold = {(s, e, t) for s, e, t in sent.entities}
            pred = predicted.get(sent.id, {})
            gold_sets.append(gold)
            pred_sets.append(set(pred))
            decoded.append(sorted(pred))
            records.append(
                {
                    "id": sent.id,
                    "tokens": list(sent.tokens),
                    "gold": [list(e) for e in sorted(gold)],
                    "pred": [[s, e, t, round(pr, 6)] for (s, e, t), pr in sorted(pred.items())],
                }
            )
        types = [t for t in data.labels if t != NER_NEGATIVE]
        metrics = entity_scores(gold_sets, pred_sets, types)
        metrics["too_long"] = sum(
            1
            for s in data.units[split]
            for a, b, _ in s.entities
            if b - a > data.options.max_span_len
        )
        metrics["sentences"] = len(data.units[split])
        metrics["candidates"] = len(data.statements[split])
        metrics["metric"] = data.metric
        metrics["score"] = metrics[data.metric]
        return metrics, records, decoded

    def read_input(self, obj: Mapping[str, Any], where: str) -> Sentence:
        """A sentence: ``{"tokens": [word, ...]}`` or ``{"text": "..."}`` (split into words
        with their character offsets); ``id`` optional (default: where it was read)."""
        from autorc_nni.data.readers import word_spans

        unit = str(obj.get("id", where))
        if "tokens" in obj:
            tokens = obj["tokens"]
            if not isinstance(tokens, list) or not all(isinstance(w, str) for w in tokens):
                raise DataError(f"{where}: 'tokens' must be a list of strings")
            return Sentence(unit, tuple(tokens))
        if "text" in obj:
            text = obj["text"]
            if not isinstance(text, str):
                raise DataError(f"{where}: 'text' must be a string, got {type(text).__name__}")
            chars = list(word_spans(text))
            return Sentence(unit, tuple(text[a:b] for a, b in chars), chars)
        raise DataError(f"{where}: needs 'tokens' (a word list) or 'text' (a string)")

    def predict(
        self, model: Any, units: Sequence[Sentence], batch_size: int = 32
    ) -> list[dict[str, Any]]:
        """``{"id", "tokens", "entities"}`` per sentence: the candidate spans whose most
        probable type is not ``None``, each ``{"start", "end", "type", "prob", "words"}`` (and
        ``char_start``, ``char_end`` for text input), by start."""
        options = TaskOptions(**model.task_options)
        names = model.labels
        # keyed by the sentence's place in the input: two sentences may share an id
        statements = [
            ex for i, u in enumerate(units) for ex in self.statements(str(i), u.tokens, options)
        ]
        probs = model.statement_probs(statements, batch_size)
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for ex, p in zip(statements, probs, strict=True):
            if p is None or names[int(p.argmax())] == NER_NEGATIVE:
                continue
            k = int(p.argmax())
            (start, end), unit = ex.head, ex.meta["unit"]
            found[unit].append(
                {"start": start, "end": end, "type": names[k], "prob": round(float(p[k]), 6)}
            )
        out = []
        for i, u in enumerate(units):
            entities = sorted(found.get(str(i), []), key=lambda e: (e["start"], e["end"]))
            for e in entities:
                e["words"] = " ".join(u.tokens[e["start"] : e["end"]])
                if u.chars is not None:
                    e["char_start"], e["char_end"] = (
                        u.chars[e["start"]][0],
                        u.chars[e["end"] - 1][1],
                    )
            out.append({"id": u.id, "tokens": list(u.tokens), "entities": entities})
        return out

    def split_stats(self, data: TaskData, split: str) -> dict[str, Any]:
        units = data.units[split]
        types = Counter(t for s in units for _, _, t in s.entities)
        return {
            "sentences": len(units),
            "entities": sum(types.values()),
            "entities_by_type": dict(sorted(types.items())),
            "candidate_spans": len(data.statements[split]),
            "max_span_len": data.options.max_span_len,
            "entities_longer_than_max_span_len": data.report[split][
                "entities_longer_than_max_span_len"
            ],
        }
