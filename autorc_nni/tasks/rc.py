"""``rc``: relation classification, the paper's task. One statement per relation instance of
the dataset (``autorc_nni.data``: SemEval, BLUE TSV, SpERT JSON's relation view, ...); scored
by micro/macro-F1 without the negative label (``autorc_nni.metrics``), and by the official
SemEval-2010 Task 8 scorer's figure on its label set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autorc_nni.data.record import RelationExample
from autorc_nni.tasks.base import LoadSettings, Scored, Scores, Task, TaskData, register_task

__all__ = ["RelationClassification"]


def argmax(scored: Scored, ex_id: str, fallback: int) -> tuple[int, float]:
    """The predicted label id of statement ``ex_id`` and its probability (``fallback``, 0 for a
    statement the featurizer dropped)."""
    if ex_id not in scored:
        return fallback, 0.0
    probs = scored[ex_id][1]
    p = int(probs.argmax())
    return p, float(probs[p])


@register_task
class RelationClassification(Task):
    name = "rc"
    table = "table1"
    unit = "statement"

    def load(self, dataset: str, settings: LoadSettings) -> TaskData:
        from autorc_nni.data.datasets import load_dataset, subsample

        ds = load_dataset(
            dataset,
            fmt=settings.fmt,
            data_root=settings.data_root,
            negative_label=settings.negative_label,
            strict=settings.strict,
        )
        st = {s: list(ds.splits.get(s) or []) for s in ("train", "dev", "test")}
        for s in ("dev", "test"):
            st[s] = subsample(st[s], settings.limit_eval, seed=settings.eval_seed)
        return TaskData(
            self.name,
            list(ds.labels),
            ds.negative_label,
            ds.metric,
            st,
            units={},
            dropped=dict(ds.dropped),
            dropped_where=dict(ds.dropped_where),
            format=ds.format,
            format_detected=ds.format_detected,
        )

    def score(self, data: TaskData, split: str, scored: Scored) -> Scores:
        from autorc_nni.metrics import SEMEVAL_LABELS, compute_metrics, semeval_official

        names = data.labels
        label2id = {lab: i for i, lab in enumerate(names)}
        fallback = label2id[data.negative_label] if data.negative_label is not None else 0
        gold, pred, records = [], [], []
        for ex in data.statements[split]:
            g = label2id[str(ex.label)]
            p, prob = argmax(scored, ex.id, fallback)
            record = {"id": ex.id, "gold": names[g], "pred": names[p], "prob": round(prob, 6)}
            if ex.id not in scored:
                record["dropped"] = True
            gold.append(g)
            pred.append(p)
            records.append(record)
        metrics = compute_metrics(gold, pred, names, data.negative_label, data.metric)
        if set(names) == set(SEMEVAL_LABELS):
            metrics["semeval_official"] = semeval_official(
                [names[g] for g in gold], [names[p] for p in pred]
            )
        return metrics, records, None

    def read_input(self, obj: Mapping[str, Any], where: str) -> RelationExample:
        """An OpenNRE-style statement: ``{"text", "h": {"pos": [s, e]}, "t": ...}`` (character
        offsets) or ``{"token": [...], "h": ..., "t": ...}`` (word offsets)."""
        from autorc_nni.data.readers import opennre_row

        return opennre_row(dict(obj), where)

    def predict(
        self, model: Any, units: Sequence[RelationExample], batch_size: int = 32
    ) -> list[dict[str, Any]]:
        """``{"id", "label", "prob"}`` per statement (label None: the statement's entities do
        not fit in the model's length together)."""
        out = []
        for ex, probs in zip(units, model.statement_probs(units, batch_size), strict=True):
            if probs is None:
                out.append({"id": ex.id, "label": None, "prob": 0.0})
                continue
            p = int(probs.argmax())
            out.append({"id": ex.id, "label": model.labels[p], "prob": float(probs[p])})
        return out

    def saved_options(self, data: TaskData) -> dict[str, Any]:
        # the "no relation" label, which an extractor leaves out of its relations
        return {"negative_label": data.negative_label}

    def split_stats(self, data: TaskData, split: str) -> dict[str, Any]:
        return {"statements": len(data.statements[split])}

    def score_line(self, metrics: Mapping[str, Any]) -> str:
        line = super().score_line(metrics)
        if "accuracy" in metrics:
            line += f"  accuracy {100 * metrics['accuracy']:.2f}"
        if "semeval_official" in metrics:
            line += f"  official {100 * metrics['semeval_official']:.2f}"
        return line

    def write_test_files(
        self, data: TaskData, records: list[dict[str, Any]], decoded: list[Any] | None, out: Path
    ) -> dict[str, str]:
        from autorc_nni.metrics import SEMEVAL_LABELS, write_scorer_file

        if set(data.labels) != set(SEMEVAL_LABELS):  # the official scorer knows these only
            return {}
        # ids 1..N in test order; run: perl semeval2010_task8_scorer-v1.2.pl PRED KEY
        write_scorer_file(out / "test_predictions.scorer.txt", [r["pred"] for r in records])
        write_scorer_file(out / "test_key.scorer.txt", [r["gold"] for r in records])
        return {
            "scorer_predictions": str(out / "test_predictions.scorer.txt"),
            "scorer_key": str(out / "test_key.scorer.txt"),
        }
