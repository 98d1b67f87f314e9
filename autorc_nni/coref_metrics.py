"""Coreference scores: MUC, B3, CEAF-e and the CoNLL F1, as the official scorer v8.01 computes them.

The reference is ``reference-coreference-scorers`` v8.01 (``lib/CorScorer.pm``; Pradhan et al.,
2014), the scorer every CoNLL-2012 figure comes from. Its arithmetic is reproduced, quirks
included, so that the numbers agree with ``perl scorer.pl <metric> KEY RESPONSE`` to float
rounding (the tests check both on the scorer's own test cases and on LitBank):

- Mentions are compared by exact span. A response mention repeated (the same span twice, in one
  cluster or two) is kept once, at its first place in response order, but only when the span is
  also a key mention: the scorer looks repeats up among the matched mentions only, so a repeated
  twinless span stays twice. Clusters left empty are dropped. (The scorer refuses to score a run
  with more than 10 repeats, counted over all the documents of the file; these functions do not.)
- Twinless mentions (response mentions not in the key, and key mentions not in the response) are
  not removed or added (v8 dropped the Cai & Strube 2010 adjustments): they count in the
  denominators and contribute nothing to the numerators.
- MUC: the links of a cluster are its size - 1, so singletons weigh nothing; the correct links
  are, for each response cluster and each key cluster it meets, the mentions they share - 1.
  Recall and precision share that numerator; twinless response mentions are response links.
- B3: for each response mention, |R & K| / |R| (precision) and |R & K| / |K| (recall), K the key
  cluster of the mention, nothing for a twinless one; denominators are the numbers of key and
  response mentions.
- CEAF-e: phi4(K, R) = 2 |K & R| / (|K| + |R|), the optimal one-to-one assignment of key to
  response clusters (``scipy.optimize.linear_sum_assignment``, as exact as the scorer's Munkres);
  denominators are the numbers of key and response clusters.
- The same span in two key clusters (legal, rare) is looked up in the LAST key cluster holding
  it, as the scorer's index does; for that case and for repeated response spans the order of the
  clusters matters as the order of appearance in the file does for the scorer. A key mention
  given twice in one cluster counts twice, as in the scorer (``read_conll2012`` keeps one).

Each metric returns ``(recall_num, recall_den, precision_num, precision_den)`` for one document;
``coref_scores`` sums numerators and denominators over documents, then takes R = num / den,
P likewise (0 when the denominator is 0), F1 = 2PR / (P + R); the CoNLL F1 is the mean of the MUC,
B3 and CEAF-e F1. All values are fractions in [0, 1], not percentages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = [
    "Clusters",
    "Mention",
    "b_cubed",
    "ceaf_e",
    "coref_scores",
    "muc",
]

Mention = tuple[int, int]
Clusters = Sequence[Sequence[Mention]]
Counts = tuple[float, float, float, float]

_METRICS = ("muc", "b3", "ceafe")


def _prepare(key: Clusters, response: Clusters) -> tuple[list[list[Mention]], list[list[Mention]]]:
    """Key and response clusters as the scorer's ``IdentifMentions`` leaves them."""
    key_chains = [[(int(s), int(e)) for s, e in c] for c in key if len(c)]
    key_spans = {m for c in key_chains for m in c}
    matched: set[Mention] = set()
    response_chains: list[list[Mention]] = []
    for cluster in response:
        kept: list[Mention] = []
        for m in ((int(s), int(e)) for s, e in cluster):
            if m in matched:  # a repeat of a matched mention; twinless repeats are not seen
                continue
            if m in key_spans:
                matched.add(m)
            kept.append(m)
        if kept:
            response_chains.append(kept)
    return key_chains, response_chains


def _index(chains: list[list[Mention]]) -> dict[Mention, int]:
    """Mention -> the LAST chain holding it (the scorer's ``Indexa``)."""
    return {m: i for i, chain in enumerate(chains) for m in chain}


def muc(key: Clusters, response: Clusters) -> Counts:
    """MUC (Vilain et al., 1995) counts of one document."""
    keys, responses = _prepare(key, response)
    key_of = _index(keys)
    correct = 0
    for chain in responses:
        groups = Counter(key_of[m] for m in chain if m in key_of)
        correct += sum(n - 1 for n in groups.values())
    key_links = sum(len(c) - 1 for c in keys)
    response_links = sum(len(c) - 1 for c in responses)
    return correct, key_links, correct, response_links


def b_cubed(key: Clusters, response: Clusters) -> Counts:
    """B3 (Bagga and Baldwin, 1998) counts of one document."""
    keys, responses = _prepare(key, response)
    key_of = _index(keys)
    key_sets = [set(c) for c in keys]
    recall = precision = 0.0
    for chain in responses:
        common: dict[int, int] = {}  # key chain -> |chain & key chain|, counted over chain
        for m in chain:
            k = key_of.get(m)
            if k is None:
                continue  # twinless: adds 0 to both sums
            if k not in common:
                common[k] = sum(x in key_sets[k] for x in chain)
            # the scorer adds per mention, in this order: the same float sums
            precision += common[k] / len(chain)
            recall += common[k] / len(keys[k])
    return (recall, sum(len(c) for c in keys), precision, sum(len(c) for c in responses))


def ceaf_e(key: Clusters, response: Clusters) -> Counts:
    """Entity-based CEAF (Luo, 2005; phi4) counts of one document."""
    keys, responses = _prepare(key, response)
    total = 0.0
    if keys and responses:
        import numpy as np
        from scipy.optimize import linear_sum_assignment  # only here: scipy is slow to import

        where = {m: j for j, chain in enumerate(responses) for m in chain}
        sizes = np.array([len(c) for c in responses], dtype=float)
        sim = np.zeros((len(keys), len(responses)))
        for i, chain in enumerate(keys):
            for m in chain:  # |K & R| counted over K, as the scorer's SIMEntityBased does
                if (j := where.get(m)) is not None:
                    sim[i, j] += 1
            sim[i] = 2 * sim[i] / (len(chain) + sizes)
        rows, cols = linear_sum_assignment(sim, maximize=True)
        total = float(sim[rows, cols].sum())
    return total, len(keys), total, len(responses)


def _rpf(counts: Sequence[float]) -> dict[str, float]:
    recall_num, recall_den, precision_num, precision_den = counts
    recall = recall_num / recall_den if recall_den else 0.0
    precision = precision_num / precision_den if precision_den else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"recall": recall, "precision": precision, "f1": f1}


def coref_scores(documents: Iterable[tuple[Clusters, Clusters]]) -> dict:
    """``{"muc"|"b3"|"ceafe": {"recall", "precision", "f1"}, "conll_f1": float}`` over
    ``(key clusters, response clusters)`` pairs, one per document; numerators and denominators
    are summed over the documents before the ratios, as the scorer sums them."""
    totals = {name: [0.0, 0.0, 0.0, 0.0] for name in _METRICS}
    for key, response in documents:
        for name, metric in zip(_METRICS, (muc, b_cubed, ceaf_e), strict=True):
            for k, value in enumerate(metric(key, response)):
                totals[name][k] += value
    scores: dict = {name: _rpf(counts) for name, counts in totals.items()}
    scores["conll_f1"] = sum(scores[name]["f1"] for name in _METRICS) / len(_METRICS)
    return scores
