"""Metrics: micro/macro F1 against hand-computed cases and sklearn; the SemEval official score
against the official Perl scorer run on files this test writes."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from autorc_nni.metrics import (
    SEMEVAL_LABELS,
    MetricError,
    compute_metrics,
    read_scorer_file,
    semeval_official,
    write_scorer_file,
)

LABELS = ["Other", "A", "B", "C"]


# -- compute_metrics --------------------------------------------------------------------------


def test_micro_f1_hand_computed():
    gold = [0, 1, 1, 2, 2, 3, 0, 0]
    pred = [1, 1, 0, 2, 3, 3, 0, 2]
    m = compute_metrics(gold, pred, LABELS, "Other", "micro_f1")
    # non-negative predictions: idx 0(A),1(A),3(B),4(C),5(C),7(B) = 6; correct among them: 1,3,5 = 3
    # non-negative gold: idx 1,2,3,4,5 = 5
    assert m["micro_p"] == pytest.approx(3 / 6)
    assert m["micro_r"] == pytest.approx(3 / 5)
    assert m["micro_f1"] == pytest.approx(2 * 0.5 * 0.6 / 1.1)
    assert m["accuracy"] == pytest.approx(4 / 8)
    assert m["score"] == m["micro_f1"]
    assert m["per_label"]["A"] == {"p": 0.5, "r": 0.5, "f1": 0.5, "support": 2, "predicted": 2}
    assert m["per_label"]["C"]["p"] == pytest.approx(0.5)
    assert m["per_label"]["C"]["r"] == pytest.approx(1.0)
    # macro over A, B, C: F1 = 0.5, 2*(0.5*0.5)/1 = 0.5, 2*0.5*1/1.5
    assert m["macro_f1"] == pytest.approx((0.5 + 0.5 + 2 / 3) / 3)


def test_all_negative_predictions_score_zero():
    m = compute_metrics([1, 2, 0], [0, 0, 0], LABELS, "Other", "micro_f1")
    assert m["micro_f1"] == 0.0 and m["macro_f1"] == 0.0
    assert m["accuracy"] == pytest.approx(1 / 3)


def test_negative_label_never_counts_as_positive():
    # Only negatives, all correct: no positives anywhere -> 0, not 1.
    m = compute_metrics([0, 0], [0, 0], LABELS, "Other")
    assert m["micro_f1"] == 0.0 and m["accuracy"] == 1.0


def test_without_negative_label_micro_f1_is_accuracy():
    rng = random.Random(0)
    gold = [rng.randrange(4) for _ in range(200)]
    pred = [rng.randrange(4) for _ in range(200)]
    m = compute_metrics(gold, pred, LABELS, None)
    assert m["micro_f1"] == pytest.approx(m["accuracy"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_sklearn(seed):
    sk = pytest.importorskip("sklearn.metrics")
    rng = random.Random(seed)
    labels = ["no_relation"] + [f"r{i}" for i in range(7)]
    gold = [rng.choice([0, 0, 0, 1, 2, 3, 4, 5, 6]) for _ in range(300)]
    pred = [g if rng.random() < 0.5 else rng.randrange(8) for g in gold]
    for metric in ("micro_f1", "macro_f1"):
        m = compute_metrics(gold, pred, labels, "no_relation", metric)
        present = sorted((set(gold) | set(pred)) - {0})
        kw = {"labels": present, "zero_division": 0}
        assert m["micro_f1"] == pytest.approx(sk.f1_score(gold, pred, average="micro", **kw))
        assert m["micro_p"] == pytest.approx(sk.precision_score(gold, pred, average="micro", **kw))
        assert m["micro_r"] == pytest.approx(sk.recall_score(gold, pred, average="micro", **kw))
        assert m["macro_f1"] == pytest.approx(sk.f1_score(gold, pred, average="macro", **kw))
        assert m["accuracy"] == pytest.approx(sk.accuracy_score(gold, pred))
        assert m["score"] == m[metric]
        per = sk.f1_score(gold, pred, average=None, labels=list(range(8)), zero_division=0)
        for i, name in enumerate(labels):
            assert m["per_label"][name]["f1"] == pytest.approx(per[i])


def test_bad_inputs_are_named():
    with pytest.raises(MetricError, match="2 gold labels but 1"):
        compute_metrics([0, 1], [0], LABELS, "Other")
    with pytest.raises(MetricError, match="outside"):
        compute_metrics([0, 9], [0, 1], LABELS, "Other")
    with pytest.raises(MetricError, match="unknown metric"):
        compute_metrics([0], [0], LABELS, "Other", "f1")
    with pytest.raises(MetricError, match="negative label"):
        compute_metrics([0], [0], LABELS, "NA")


# -- SemEval official score vs the Perl scorer ----------------------------------------------------

SCORER_NAME = "semeval2010_task8_scorer-v1.2.pl"
OFFICIAL = re.compile(r"macro-averaged F1 = ([0-9.]+)%")


def _perl_official(tmp_path: Path, scorer: Path, gold, pred, name: str) -> float:
    key = write_scorer_file(tmp_path / f"{name}.key.txt", gold, ids=range(8001, 8001 + len(gold)))
    kept = [(i, p) for i, p in enumerate(pred, 8001) if p is not None]
    prop = write_scorer_file(
        tmp_path / f"{name}.pred.txt", [p for _, p in kept], ids=[i for i, _ in kept]
    )
    out = subprocess.run(
        ["perl", str(scorer), str(prop), str(key)], capture_output=True, text=True, check=True
    ).stdout
    found = OFFICIAL.findall(out)
    assert found, out[-2000:]
    return float(found[-1])


@pytest.fixture(scope="module")
def scorer(data_root: Path) -> Path:
    if shutil.which("perl") is None:
        pytest.skip("perl is not installed")
    path = data_root / "semeval10" / SCORER_NAME
    assert path.is_file(), f"{path} is missing"
    return path


@pytest.fixture(scope="module")
def official_key(data_root: Path) -> list[str]:
    """The directed test key built from TEST_FILE_FULL.TXT (the shipped KEY file has no
    directions and the scorer rejects it)."""
    path = (
        data_root
        / "semeval10"
        / "SemEval2010_task8_all_data"
        / "SemEval2010_task8_testing_keys"
        / "TEST_FILE_FULL.TXT"
    )
    lines = path.read_text().splitlines()
    key = []
    for i, line in enumerate(lines):
        if re.match(r"^\d+\t", line):
            key.append(lines[i + 1].strip())
    assert len(key) == 2717
    return key


def _swap(label: str) -> str:
    if label.endswith("(e1,e2)"):
        return label[:-7] + "(e2,e1)"
    if label.endswith("(e2,e1)"):
        return label[:-7] + "(e1,e2)"
    return label


def _noisy(gold, rng, p_keep, p_swap):
    """A 'trained model' shaped prediction: mostly right, some wrong direction, some confused."""
    out = []
    for g in gold:
        u = rng.random()
        if u < p_keep:
            out.append(g)
        elif u < p_keep + p_swap:
            out.append(_swap(g))
        else:
            out.append(rng.choice(SEMEVAL_LABELS))
    return out


def _cases(gold):
    yield "perfect", list(gold)
    for seed in range(3):
        rng = random.Random(seed)
        yield f"random{seed}", [rng.choice(SEMEVAL_LABELS) for _ in gold]
    yield "swapped", [_swap(g) for g in gold]
    yield "all_other", ["Other"] * len(gold)
    rng = random.Random(7)
    yield "model_like", _noisy(gold, rng, 0.8, 0.05)
    rng = random.Random(8)
    half = [_swap(g) if rng.random() < 0.5 else g for g in gold]
    yield "half_swapped", half
    rng = random.Random(9)
    yield "skipped", [None if rng.random() < 0.2 else p for p in _noisy(gold, rng, 0.7, 0.1)]


def test_official_matches_perl_on_the_test_key(tmp_path, scorer, official_key):
    for name, pred in _cases(official_key):
        ours = 100 * semeval_official(official_key, pred)
        perl = _perl_official(tmp_path, scorer, official_key, pred, name)
        assert ours == pytest.approx(perl, abs=0.0051), name
    assert 100 * semeval_official(official_key, official_key) == pytest.approx(100.0)
    assert semeval_official(official_key, ["Other"] * len(official_key)) == 0.0


def test_official_matches_perl_on_small_keys(tmp_path, scorer):
    """Small random keys where some relations are missing from the key (the scorer divides by
    the relations present) and predictions name relations absent from the key."""
    for seed in range(4):
        rng = random.Random(100 + seed)
        pool = rng.sample(SEMEVAL_LABELS[1:], 6) + ["Other"]
        gold = [rng.choice(pool) for _ in range(60)]
        pred = _noisy(gold, rng, 0.4, 0.2)
        ours = 100 * semeval_official(gold, pred)
        perl = _perl_official(tmp_path, scorer, gold, pred, f"small{seed}")
        assert ours == pytest.approx(perl, abs=0.0051), seed


def test_wrong_direction_is_wrong():
    gold = ["Cause-Effect(e1,e2)", "Cause-Effect(e1,e2)", "Other"]
    # one right, one wrong direction: P = 1/2, R = 1/2
    assert semeval_official(gold, ["Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)", "Other"]) == (
        pytest.approx(0.5)
    )
    # wrong direction is worse than skipping it (precision drops too)
    assert semeval_official(gold, ["Cause-Effect(e1,e2)", None, "Other"]) == pytest.approx(2 / 3)


def test_official_rejects_unknown_labels():
    with pytest.raises(MetricError, match="not a SemEval"):
        semeval_official(["Cause-Effect"], ["Other"])


@pytest.mark.slow
def test_official_matches_perl_on_trained_predictions(tmp_path, scorer):
    """Predictions of real trained models (``benchmarks/finetune.py`` leaves them under
    ``runs/finetune/``), and the scorer files ``autorc train`` writes for SemEval."""
    root = Path(__file__).resolve().parents[2] / "runs" / "finetune"
    files = sorted(root.glob("*/test_predictions.jsonl")) if root.is_dir() else []
    files = [f for f in files if (f.parent / "test_key.scorer.txt").is_file()]
    if not files:
        pytest.skip("no trained SemEval predictions (run benchmarks/finetune.py)")
    for f in files:
        rows = [json.loads(line) for line in f.read_text().splitlines()]
        gold = [r["gold"] for r in rows]
        pred = [r["pred"] for r in rows]
        ours = 100 * semeval_official(gold, pred)
        assert ours == pytest.approx(
            _perl_official(tmp_path, scorer, gold, pred, f.parent.name), abs=0.0051
        )
        # the files written by the run itself score the same
        out = subprocess.run(
            [
                "perl",
                str(scorer),
                str(f.parent / "test_predictions.scorer.txt"),
                str(f.parent / "test_key.scorer.txt"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert ours == pytest.approx(float(OFFICIAL.findall(out)[-1]), abs=0.0051)
        saved = json.loads((f.parent / "metrics.json").read_text())
        assert 100 * saved["test"]["semeval_official"] == pytest.approx(ours)


def test_scorer_file_round_trip(tmp_path):
    p = write_scorer_file(tmp_path / "a.txt", ["Other", "Cause-Effect(e1,e2)"], ids=[5, 9])
    assert read_scorer_file(p) == {"5": "Other", "9": "Cause-Effect(e1,e2)"}
    with pytest.raises(MetricError, match="integers"):
        write_scorer_file(tmp_path / "b.txt", ["Other"], ids=["x1"])
