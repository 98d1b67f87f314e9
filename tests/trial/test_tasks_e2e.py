"""Span NER and coreference end to end through the CLI (``autorc run``, ``train``, ``report``,
``data stats``) with the tiny encoder on small synthetic data."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from autorc_nni.data.conll2012 import CorefDocument, read_conll2012, write_conll2012
from tests.strategies.planted import write_planted_ner
from trial.cli import main

SCORER = Path(__file__).resolve().parents[3] / "shared" / "data" / "coref-scorer" / "scorer.pl"
NAMES = ["anna", "boris", "clara", "dmitri", "elena"]
FILLER = ["the", "of", "a", "in", "is", "was", "and", "then"]


def synthetic_docs(n: int, seed: int) -> list[CorefDocument]:
    """Documents where a name and its pronoun-like tag ``<name>-self`` corefer."""
    rng = random.Random(seed)
    docs = []
    for d in range(n):
        sentences, clusters = [], {}
        pos = 0
        for _ in range(4):
            name = rng.choice(NAMES)
            words = [rng.choice(FILLER), name, rng.choice(FILLER), f"{name}self", "."]
            clusters.setdefault(name, []).extend([(pos + 1, pos + 2), (pos + 3, pos + 4)])
            sentences.append(words)
            pos += len(words)
        docs.append(
            CorefDocument(
                name=f"doc{seed}_{d}",
                part="0",
                sentences=sentences,
                clusters=[sorted(c) for c in clusters.values()],
                source="synthetic",
            )
        )
    return docs


@pytest.fixture
def coref_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A flat folder of documents plus {train,dev,test}.ids (LitBank's layout)."""
    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    docs_dir, ids = tmp_path / "docs", tmp_path / "splits"
    docs_dir.mkdir()
    ids.mkdir()
    for split, n, seed in (("train", 6, 1), ("dev", 2, 2), ("test", 2, 3)):
        names = []
        for doc in synthetic_docs(n, seed):
            write_conll2012([doc], None, docs_dir / f"{doc.name}.conll")
            names.append(f"{doc.name}.tsv")
        (ids / f"{split}.ids").write_text("\n".join(names) + "\n")
    return tmp_path


def write(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def tiny(task: str, dataset: str, method: str, **over) -> dict:
    cfg = {
        "task": task,
        "method": method,
        "dataset": dataset,
        "encoder": "tiny",
        "seed": 0,
        "top": 1,
        "search": {
            "epochs": 1.0,
            "batch_size": 8,
            "child_steps": 2,
            "k": 2,
            "search_warmup_epochs": 0.5,
            "max_len": 48,
            "num_threads": 1,
            "eval_batch_size": 64,
        },
        "train": {"epochs": 1, "max_len": 48, "num_threads": 1, "eval_batch_size": 64},
        "hpo": {"trials": 1, "space": {"lr": [1e-3], "batch_size": [16], "warmup": [0.5]}},
        "seeds": {"n": 2},
    }
    cfg.update(over)
    return cfg


def test_ner_pipeline_baseline_and_autorc_give_table4(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    data = write_planted_ner(tmp_path / "ner", n_train=48, n_dev=16)
    opts = {"max_span_len": 2, "neg_per_sentence": 3}
    for method in ("spert-like", "autorc"):
        cfg = write(tmp_path / f"{method}.yml", tiny("ner", str(data), method, task_options=opts))
        assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "runs" / method)]) == 0
    result = json.loads((tmp_path / "runs" / "autorc" / "result.json").read_text())
    assert result["task"] == "ner" and len(result["best"]["test"]) == 2
    seed = next((tmp_path / "runs" / "autorc" / "eval").rglob("metrics.json"))
    metrics = json.loads(seed.read_text())
    assert metrics["task"] == "ner" and metrics["metric"] == "micro_f1"
    assert metrics["test"]["sentences"] == 32 and "macro_f1" in metrics["test"]
    lines = (seed.parent / "test_predictions.jsonl").read_text().splitlines()
    assert len(lines) == 32 and {"gold", "pred", "tokens"} <= set(json.loads(lines[0]))
    records = [json.loads(line) for line in lines]
    assert len({r["id"] for r in records}) == 32  # one record per sentence
    for r in records:  # every predicted entity is a span of its own sentence
        assert all(0 <= s < e <= len(r["tokens"]) for s, e, *_ in r["pred"])
    capsys.readouterr()
    assert main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "Table 4" in out and "Table 1" not in out
    table = (tmp_path / "rep" / "table4.md").read_text()
    assert "SpERT-like" in table and "AutoRC" in table and "span NER" in table
    assert not (tmp_path / "rep" / "table1.md").exists()


def test_coref_train_writes_what_the_official_scorer_reads(coref_data, capsys):
    out = coref_data / "train"
    argv = [
        "train",
        "--task",
        "coref",
        "--data",
        str(coref_data / "docs"),
        "--splits",
        str(coref_data / "splits"),
        "--arch",
        "pair-baseline",
        "--encoder",
        "tiny",
        "--epochs",
        "1",
        "--max-len",
        "48",
        "--max-antecedents",
        "4",
        "--out",
        str(out),
        "--no-progress",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "MUC" in printed and "CoNLL F1" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    test = metrics["test"]
    assert metrics["metric"] == "muc_f1" and test["score"] == test["muc_f1"]
    assert test["conll_f1"] == pytest.approx(
        (test["muc_f1"] + test["b3_f1"] + test["ceafe_f1"]) / 3
    )
    assert test["documents"] == 2
    response = read_conll2012(out / "test_predictions.conll")
    key = read_conll2012(out / "test_key.conll")
    assert [d.key for d in response] == [d.key for d in key]
    if shutil.which("perl") is None or not SCORER.is_file():
        pytest.skip("no perl or no official scorer")
    run = subprocess.run(
        [
            "perl",
            str(SCORER),
            "muc",
            str(out / "test_key.conll"),
            str(out / "test_predictions.conll"),
            "none",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=SCORER.parent,
    )
    f1 = float(run.stdout.strip().splitlines()[-2].rsplit("F1:", 1)[1].strip().rstrip("%"))
    assert f1 == pytest.approx(100 * test["muc"]["f1"], abs=0.01)


def test_coref_pipeline_runs_search_and_baseline(coref_data, tmp_path):
    common = {"splits": str(coref_data / "splits"), "task_options": {"max_antecedents": 4}}
    for method in ("pair-baseline", "autorc"):
        cfg = write(
            tmp_path / f"{method}.yml", tiny("coref", str(coref_data / "docs"), method, **common)
        )
        assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "runs" / method)]) == 0
    result = json.loads((tmp_path / "runs" / "autorc" / "result.json").read_text())
    assert result["task"] == "coref" and result["metric"] == "muc_f1"
    summary = json.loads((tmp_path / "runs" / "autorc" / "search" / "summary.json").read_text())
    assert summary["labels"] == ["not", "coref"] and summary["task"] == "coref"


def test_data_stats_for_both_tasks(coref_data, tmp_path, capsys):
    assert (
        main(
            [
                "data",
                "stats",
                "--task",
                "coref",
                "--data",
                str(coref_data / "docs"),
                "--splits",
                str(coref_data / "splits"),
                "--json",
            ]
        )
        == 0
    )
    stats = json.loads(capsys.readouterr().out)
    assert stats["splits"]["train"]["documents"] == 6
    assert stats["splits"]["dev"]["mentions"] == 2 * 8
    ner = write_planted_ner(tmp_path / "ner", n_train=10, n_dev=5)
    assert main(["data", "stats", "--task", "ner", "--data", str(ner), "--max-span-len", "2"]) == 0
    text = capsys.readouterr().out
    assert "candidate_spans" in text and "entities Peop" in text


def test_nni_trial_runs_a_ner_config(tmp_path, monkeypatch):
    """The NNI trial takes a task config as any other (here outside NNI: no tuner, the YAML as
    is); its final result names the model and the task's dev score."""
    from trial import nni_trial

    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "nni-out"))
    data = write_planted_ner(tmp_path / "ner", n_train=48, n_dev=16)
    cfg = write(
        tmp_path / "ner.yml",
        tiny(
            "ner", str(data), "spert-like", task_options={"max_span_len": 2, "neg_per_sentence": 3}
        ),
    )
    assert nni_trial.main(["--config", str(cfg), "--runs-root", str(tmp_path / "runs")]) == 0
    result = json.loads((tmp_path / "runs" / "default" / "result.json").read_text())
    assert result["task"] == "ner" and result["method"] == "spert-like"
