"""``coref``: coreference over gold mentions (CoNLL-2012, ``--format conll2012``), as mention
pairs. Each mention b is paired with up to ``max_antecedents`` previous mentions a (e1 = a the
antecedent, e2 = b the anaphor, label ``coref`` / ``not``) over the sentences from a's to b's,
widened on both sides while the words fit ``max_len``; the featurizer drops (and counts) a pair
whose mentions cannot fit. Training: every positive pair plus ``neg_ratio`` sampled negatives per
positive, afresh each epoch. Decoding: mentions in document order, each linked to its most
probable antecedent when p(coref) > 0.5 (best-first), clusters = the transitive closure;
singletons kept as clusters when the dataset annotates them (``singletons``). Metrics: MUC, B3,
CEAF-e and the CoNLL F1, summed over documents as the official scorer does
(``autorc_nni.coref_metrics``); the model-selection metric is MUC F1 (the paper's). A span in two
clusters is one mention of the last of them (``CorefDocument.entity_of``), the key scored as
written."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autorc_nni.data.conll2012 import CorefDocument
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError
from autorc_nni.tasks.base import (
    LoadSettings,
    Scored,
    Scores,
    Task,
    TaskData,
    TaskOptions,
    register_task,
    sample_units,
)

__all__ = [
    "COREF",
    "COREF_DATASETS",
    "NOT_COREF",
    "REPEATED_SPAN",
    "Coreference",
    "closure",
    "mention_pairs",
]

COREF, NOT_COREF = "coref", "not"
# registered coreference datasets: name -> (documents folder, splits folder) under the data root
COREF_DATASETS: dict[str, tuple[str, str]] = {
    "litbank": ("litbank/conll", "litbank/splits/0"),  # fold 0 of the ten-fold splits: 80/10/10
}
# what the loader does with a span written in two clusters ("(22)|(23)"), printed with the counts
# and places of the other reader records
REPEATED_SPAN = (
    "span in two or more clusters: trained and decoded as a mention of the last (scored against "
    "the clusters as written, as scorer.pl)"
)

Mention = tuple[int, int]


def mention_pairs(
    doc: CorefDocument, max_antecedents: int, max_words: int
) -> list[RelationExample]:
    """The mention pairs of one document: each mention b with up to ``max_antecedents``
    previous mentions a (in document order, nearest first), over the sentences from a's to b's,
    widened alternately before and after while the words fit ``max_words``. Each span is one
    mention; a span of two clusters counts in the last (``CorefDocument.entity_of``)."""
    mentions = doc.spans()
    cluster_of = doc.entity_of()
    starts = doc.sentence_starts
    tokens = doc.tokens
    out = []
    for j, b in enumerate(mentions):
        for a in reversed(mentions[max(0, j - max_antecedents) : j]):
            if a == b:
                continue
            lo_s, hi_s = doc.sentence_of(a[0]), doc.sentence_of(b[1] - 1)
            grow = True
            while grow:
                grow = False
                if lo_s > 0 and starts[hi_s + 1] - starts[lo_s - 1] <= max_words:
                    lo_s -= 1
                    grow = True
                if hi_s + 2 < len(starts) and starts[hi_s + 2] - starts[lo_s] <= max_words:
                    hi_s += 1
                    grow = True
            lo, hi = starts[lo_s], starts[hi_s + 1]
            label = COREF if cluster_of.get(a) == cluster_of.get(b) else NOT_COREF
            out.append(
                RelationExample(
                    tuple(tokens[lo:hi]),
                    (a[0] - lo, a[1] - lo),
                    (b[0] - lo, b[1] - lo),
                    label,
                    f"{doc.key}|{a[0]}-{a[1]}|{b[0]}-{b[1]}",
                    {"unit": doc.key, "a": a, "b": b},
                )
            )
    return out


def closure(mentions: Sequence[Mention], links: Mapping[Mention, Mention]) -> list[list[Mention]]:
    """Clusters of the transitive closure of ``links`` (anaphor -> antecedent) over
    ``mentions``: each a sorted list, ordered by first mention; unlinked mentions are singletons."""
    parent = {m: m for m in mentions}

    def find(m: Mention) -> Mention:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    for anaphor, antecedent in links.items():
        parent[find(anaphor)] = find(antecedent)
    groups: dict[Mention, list[Mention]] = defaultdict(list)
    for m in mentions:
        groups[find(m)].append(m)
    return sorted((sorted(g) for g in groups.values()), key=lambda c: c[0])


@register_task
class Coreference(Task):
    name = "coref"
    title = "coreference, gold mentions"
    unit = "document"
    negatives = "negative pairs"
    resamples = True
    options = ("max_antecedents", "neg_ratio", "singletons")
    report_metrics = ("muc_f1", "b3_f1", "ceafe_f1", "conll_f1")
    extra_spans = ("levitated",)  # the pairs that share a window share one encoder pass
    presets = ("pair-baseline",)  # the race's hand-made design

    def load(self, dataset: str, settings: LoadSettings) -> TaskData:
        from autorc_nni.data.conll2012 import load_conll2012

        if settings.fmt not in (None, "conll2012"):
            raise DataError(
                f"{dataset}: coreference reads CoNLL-2012 files (--format conll2012), not "
                f"{settings.fmt!r}"
            )
        root, splits = Path(dataset).expanduser(), settings.splits
        if dataset in COREF_DATASETS and not root.exists():
            from autorc_nni.data.datasets import resolve_data_root

            folder, default_splits = COREF_DATASETS[dataset]
            base = resolve_data_root(settings.data_root)
            root, splits = base / folder, splits or str(base / default_splits)
        elif not root.exists():
            raise DataError(
                f"{dataset}: not a known coreference dataset ({', '.join(COREF_DATASETS)})"
                " nor an existing folder (--data DIR with train/dev/test, or a folder of "
                "documents with --splits DIR)"
            )
        units = load_conll2012(root, splits)
        for s in ("dev", "test"):
            units[s] = sample_units(units[s], settings.limit_eval, settings.eval_seed)
        data = TaskData(self.name, [NOT_COREF, COREF], NOT_COREF, "muc_f1", {}, units)
        singletons = any(len(c) == 1 for docs in units.values() for d in docs for c in d.clusters)
        data.report["singletons_in_key"] = singletons
        options = data.options = settings.options
        for split, docs in units.items():
            per_unit = [
                mention_pairs(doc, options.max_antecedents, settings.max_len) for doc in docs
            ]
            data.set_pool(split, per_unit, settings.eval_seed)
            statements = data.statements[split]
            repeated = [where for doc in docs for where in doc.repeated.values()]
            if repeated:
                data.dropped[split] = Counter({REPEATED_SPAN: len(repeated)})
                data.dropped_where[split] = {REPEATED_SPAN: repeated[:5]}
            data.report[split] = {
                "documents": len(docs),
                "mentions": sum(len(d.spans()) for d in docs),
                "entities": sum(len(d.clusters) for d in docs),
                "mention_pairs": len(statements),
                "coreferent_pairs": sum(ex.label == COREF for ex in statements),
            }
        return data

    negatives_option = "neg_ratio"

    def n_negatives(self, options: TaskOptions, n_gold: int) -> int:
        return round(options.neg_ratio * n_gold)

    def group_of(self, statement_id: str) -> str:
        return statement_id.split("|", 1)[0]

    def keeps_singletons(self, data: TaskData) -> bool:
        """Whether decoded clusters of one mention are kept (``singletons``, else as the key)."""
        keep = data.options.singletons
        return bool(data.report.get("singletons_in_key")) if keep is None else keep

    @staticmethod
    def link(
        docs: Sequence[CorefDocument],
        pairs: Sequence[RelationExample],
        p_coref: Sequence[float],
        keep_single: bool,
    ) -> list[list[list[Mention]]]:
        """The clusters of each document: each mention linked to its most probable antecedent
        when p(coref) > 0.5 (best-first), the transitive closure of the links; clusters of one
        mention dropped unless ``keep_single``."""
        best: dict[tuple[str, Mention], tuple[float, Mention]] = {}
        for ex, p in zip(pairs, p_coref, strict=True):
            key = (ex.meta["unit"], ex.meta["b"])
            if p > 0.5 and (key not in best or p > best[key][0]):
                best[key] = (p, ex.meta["a"])
        out = []
        for doc in docs:
            spans = doc.spans()  # a span of two key clusters is one candidate, in one cluster
            links = {m: best[(doc.key, m)][1] for m in spans if (doc.key, m) in best}
            clusters = closure(spans, links)
            out.append(clusters if keep_single else [c for c in clusters if len(c) > 1])
        return out

    def score(self, data: TaskData, split: str, scored: Scored) -> Scores:
        from autorc_nni.coref_metrics import coref_scores
        from autorc_nni.metrics import compute_metrics

        names = data.labels
        pos, neg = names.index(COREF), names.index(NOT_COREF)
        gold_ids, pred_ids, p_coref = [], [], []
        for ex in data.statements[split]:
            probs = scored.get(ex.id)
            p_coref.append(float(probs[1][pos]) if probs is not None else 0.0)
            gold_ids.append(names.index(str(ex.label)))
            pred_ids.append(pos if p_coref[-1] > 0.5 else neg)
        keep_single = self.keeps_singletons(data)
        docs = data.units[split]
        decoded = self.link(docs, data.statements[split], p_coref, keep_single)
        pairs, records = [], []
        for doc, clusters in zip(docs, decoded, strict=True):
            key_clusters = [list(c) for c in doc.clusters]  # as written: scored as scorer.pl
            if not keep_single:
                key_clusters = [c for c in key_clusters if len(c) > 1]
            pairs.append((key_clusters, clusters))
            records.append({"id": doc.key, "clusters": [[list(m) for m in c] for c in clusters]})
        scores = coref_scores(pairs)
        metrics: dict[str, Any] = {
            "muc_f1": scores["muc"]["f1"],
            "b3_f1": scores["b3"]["f1"],
            "ceafe_f1": scores["ceafe"]["f1"],
            "conll_f1": scores["conll_f1"],
            **{k: scores[k] for k in ("muc", "b3", "ceafe")},
            "pairs": compute_metrics(gold_ids, pred_ids, names, NOT_COREF, "micro_f1"),
            "documents": len(data.units[split]),
            "mention_pairs": len(data.statements[split]),
        }
        metrics["metric"] = data.metric
        metrics["score"] = metrics[data.metric]
        return metrics, records, decoded

    def saved_options(self, data: TaskData) -> dict[str, Any]:
        # the training data decides whether singletons are clusters: keep the decision
        return {**super().saved_options(data), "singletons": self.keeps_singletons(data)}

    def read_input(self, obj: Mapping[str, Any], where: str) -> CorefDocument:
        """A document with its mentions: ``{"sentences": [[word, ...], ...], "mentions":
        [[start, end], ...]}``, word offsets over the whole document, end exclusive; ``id``
        optional (default: where it was read)."""
        sentences = obj.get("sentences")
        if (
            not isinstance(sentences, list)
            or not sentences
            or not all(isinstance(s, list) and s for s in sentences)
            or not all(isinstance(w, str) for s in sentences for w in s)
        ):
            raise DataError(f"{where}: 'sentences' must be a list of non-empty word lists")
        n = sum(len(s) for s in sentences)
        mentions = obj.get("mentions")
        if not isinstance(mentions, list):
            raise DataError(f"{where}: 'mentions' must be a list of [start, end] word offsets")
        spans: set[Mention] = set()
        for k, m in enumerate(mentions):
            if not (
                isinstance(m, list | tuple)
                and len(m) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in m)
                and 0 <= m[0] < m[1] <= n
            ):
                raise DataError(
                    f"{where}: mention {k} {m!r} is not [start, end] with 0 <= start < end <= "
                    f"{n} (the document's words, end exclusive)"
                )
            spans.add((m[0], m[1]))
        return CorefDocument(
            name=str(obj.get("id", where)),
            part="",
            sentences=[list(s) for s in sentences],
            clusters=[[m] for m in sorted(spans)],
            source=where,
        )

    def predict(
        self, model: Any, units: Sequence[CorefDocument], batch_size: int = 32
    ) -> list[dict[str, Any]]:
        """``{"id", "clusters", "texts", "pairs", "pairs_dropped"}`` per document: clusters as
        lists of ``[start, end]`` (document word offsets), their words beside them; pairs that
        cannot fit the model's length (their mentions too far apart) are counted, not linked.
        A document's own clusters, if any, are not read: its mentions are."""
        options = TaskOptions(**model.task_options)
        pos = model.labels.index(COREF)
        # named by their place in the input: two documents may share an id
        docs = [
            dataclasses.replace(d, name=str(i), clusters=[[m] for m in d.spans()], repeated={})
            for i, d in enumerate(units)
        ]
        pairs = [
            ex for d in docs for ex in mention_pairs(d, options.max_antecedents, model.max_len)
        ]
        probs = model.statement_probs(pairs, batch_size)
        p_coref = [float(p[pos]) if p is not None else 0.0 for p in probs]
        keep = options.singletons is not False
        dropped = Counter(ex.meta["unit"] for ex, p in zip(pairs, probs, strict=True) if p is None)
        counts = Counter(ex.meta["unit"] for ex in pairs)
        out = []
        linked = self.link(docs, pairs, p_coref, keep)
        for unit, doc, clusters in zip(units, docs, linked, strict=True):
            words = doc.tokens
            out.append(
                {
                    "id": unit.key if unit.part else unit.name,
                    "clusters": [[list(m) for m in c] for c in clusters],
                    "texts": [[" ".join(words[a:b]) for a, b in c] for c in clusters],
                    "pairs": counts[doc.key],
                    "pairs_dropped": dropped[doc.key],
                }
            )
        return out

    def split_stats(self, data: TaskData, split: str) -> dict[str, Any]:
        from autorc_nni.data.conll2012 import conll2012_stats

        return {
            **conll2012_stats(data.units[split]),
            "mention_pairs": len(data.statements[split]),
            "coreferent_pairs": data.report[split]["coreferent_pairs"],
            "max_antecedents": data.options.max_antecedents,
        }

    def score_line(self, metrics: Mapping[str, Any]) -> str:
        return (
            f"MUC {100 * metrics['muc_f1']:.2f}  B3 {100 * metrics['b3_f1']:.2f}  "
            f"CEAF-e {100 * metrics['ceafe_f1']:.2f}  CoNLL F1 {100 * metrics['conll_f1']:.2f}"
        )

    def write_test_files(
        self, data: TaskData, records: list[dict[str, Any]], decoded: list[Any] | None, out: Path
    ) -> dict[str, str]:
        # perl scorer.pl all test_key.conll test_predictions.conll none
        from autorc_nni.data.conll2012 import write_conll2012

        docs = data.units["test"]
        write_conll2012(docs, decoded, out / "test_predictions.conll")
        write_conll2012(docs, None, out / "test_key.conll")
        return {
            "conll_predictions": str(out / "test_predictions.conll"),
            "conll_key": str(out / "test_key.conll"),
        }
