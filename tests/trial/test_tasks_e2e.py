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
from tests.trial.conftest import tiny_pipeline
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


def coref_args(coref_data: Path) -> list[str]:
    """The ``--task coref --data ... --splits ...`` arguments that name ``coref_data``."""
    docs, splits = coref_data / "docs", coref_data / "splits"
    return ["--task", "coref", "--data", str(docs), "--splits", str(splits)]


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
    """``tiny_pipeline`` for a span task: its own reader, windows of 48 wordpieces."""
    cfg = tiny_pipeline(Path(dataset), task=task, method=method)
    del cfg["format"]  # the task's reader
    for stage in ("search", "train"):
        cfg[stage] = {**cfg[stage], "max_len": 48, "eval_batch_size": 64}
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


def test_a_ner_race_runs_the_tasks_own_baseline(tmp_path, monkeypatch):
    """``select: race`` on span NER: the hand-made design that races is the task's baseline
    (spert-like), not the RC presets. ``--restrict span=standard`` keeps the search, its
    format draws and so the race's searched entrants to one encoder pass a sentence."""
    from pipeline.race import RaceConfig

    assert RaceConfig().designs("rc") == ["bert-entity", "r-bert"]
    assert RaceConfig().designs("coref") == ["pair-baseline"]
    assert RaceConfig(include=["r-bert"]).designs("ner") == ["r-bert"]  # given: kept
    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    data = write_planted_ner(tmp_path / "ner", n_train=32, n_dev=8)
    opts = {"max_span_len": 2, "neg_per_sentence": 3}
    cfg = tiny("ner", str(data), "autorc", task_options=opts, select="race")
    cfg["race"] = {"top": 1, "format_draws": 2}
    path = write(tmp_path / "race.yml", cfg)
    argv = ["run", "--config", str(path), "--restrict", "span=standard"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    race = json.loads((tmp_path / "run" / "race" / "race.json").read_text())
    presets = [e["name"] for e in race["entrants"] if e["origin"] == "preset"]
    assert presets == ["spert-like"]
    searched = [e for e in race["entrants"] if e["origin"] != "preset"]
    assert searched and {e["architecture"]["span"] for e in searched} == {"standard"}
    ranking = json.loads((tmp_path / "run" / "search" / "ranking.json").read_text())
    assert {c["architecture"]["span"] for c in ranking} == {"standard"}
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["select"] == "race" and result["task"] == "ner"


def test_coref_train_writes_what_the_official_scorer_reads(coref_data, capsys):
    out = coref_data / "train"
    argv = [
        "train",
        *coref_args(coref_data),
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
    # every coreference figure comes from a generated file: MUC, B3, CEAF-e and CoNLL F1 per
    # row, mean ± std of what each seed's metrics.json holds
    best = result["best"]
    assert sorted(best["test_metrics"]) == ["b3_f1", "ceafe_f1", "conll_f1", "muc_f1"]
    seed_dirs = sorted((tmp_path / "runs" / "autorc").glob("eval/rank_01/seeds/seed_*"))
    conll = [json.loads((d / "metrics.json").read_text())["test"]["conll_f1"] for d in seed_dirs]
    assert best["test_metrics"]["conll_f1"] == pytest.approx(conll) and any(conll)
    assert main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "rep")]) == 0
    table = (tmp_path / "rep" / "table4.md").read_text()
    details = table[table.index("| Model | MUC | B3 | CEAF-e | CoNLL F1 |") :]
    from pipeline.evaluation import mean_std
    from pipeline.report import fmt_cell

    row = next(line for line in details.splitlines() if line.startswith("| AutoRC |"))
    assert row.endswith(f"| {fmt_cell(*mean_std(conll), 1, len(conll))} |"), row


def test_data_stats_for_both_tasks(coref_data, tmp_path, capsys):
    assert main(["data", "stats", *coref_args(coref_data), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["splits"]["train"]["documents"] == 6
    assert stats["splits"]["dev"]["mentions"] == 2 * 8
    # each mention with its one previous mention: 7 pairs a document of 8 mentions
    assert main(["data", "stats", *coref_args(coref_data), "--max-antecedents", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["splits"]["dev"]["mention_pairs"] == 2 * 7
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


# -- predict: the tasks' models on new input ---------------------------------------------------
def _train_ner(data: Path, out: Path) -> Path:
    argv = ["train", "--task", "ner", "--data", str(data), "--arch", "spert-like"]
    argv += ["--encoder", "tiny", "--epochs", "2", "--max-span-len", "2", "--neg-per-sentence"]
    argv += ["4", "--lr", "5e-3", "--out", str(out), "--no-progress", "--threads", "1"]
    assert main(argv) == 0
    return out


def test_a_ner_model_predicts_entities_from_words_text_and_the_python_api(
    tmp_path, monkeypatch, capsys
):
    import io
    import sys

    from autorc_nni.model import RCModel

    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    data = write_planted_ner(tmp_path / "ner", n_train=48, n_dev=16)
    out = _train_ner(data, tmp_path / "run")
    capsys.readouterr()
    # the run's own test predictions, decoded by the evaluation: predict gives the same
    run_rows = [json.loads(x) for x in (out / "test_predictions.jsonl").read_text().splitlines()]
    lines = "".join(json.dumps({"id": r["id"], "tokens": r["tokens"]}) + "\n" for r in run_rows)
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["predict", "--model", str(out / "model"), "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in run_rows]
    for row, run in zip(rows, run_rows, strict=True):
        assert [[e["start"], e["end"], e["type"]] for e in row["entities"]] == [
            p[:3] for p in run["pred"]
        ]
    assert any(r["entities"] for r in rows), "the tiny model found nothing: the test shows nothing"
    # text in, words and character offsets out; the Python API answers the same
    words = run_rows[0]["tokens"]
    text = " ".join(words)
    model = RCModel.from_pretrained(out / "model")
    assert model.task == "ner" and model.task_options["max_span_len"] == 2
    [from_text] = model.predict([{"text": text, "id": "t"}])
    [from_words] = model.predict([{"tokens": words, "id": "t"}])
    assert [e["type"] for e in from_text["entities"]] == [e["type"] for e in from_words["entities"]]
    for e in from_text["entities"]:
        assert text[e["char_start"] : e["char_end"]] == e["words"]
    # a bad line is reported with its number; the others are predicted; exit 1
    stream = lines.splitlines()[0] + '\n{"tokens": "not a list"}\n{"words": []}\n'
    monkeypatch.setattr(sys, "stdin", io.StringIO(stream))
    assert main(["predict", "--model", str(out / "model")]) == 1
    captured = capsys.readouterr()
    assert "<stdin>:2: 'tokens' must be a list" in captured.err
    assert "<stdin>:3: needs 'tokens'" in captured.err
    assert all(line.startswith(run_rows[0]["id"]) for line in captured.out.splitlines())


def test_a_coref_model_predicts_clusters_from_json_and_conll(coref_data, tmp_path, capsys):
    from autorc_nni.model import RCModel
    from pipeline.export import export_model

    out = coref_data / "train"
    argv = ["train", "--task", "coref", "--data", str(coref_data / "docs"), "--splits"]
    argv += [str(coref_data / "splits"), "--arch", "pair-baseline", "--encoder", "tiny"]
    argv += ["--epochs", "2", "--lr", "5e-3", "--max-len", "48", "--max-antecedents", "4"]
    argv += ["--out", str(out), "--no-progress", "--threads", "1"]
    assert main(argv) == 0
    capsys.readouterr()
    key = read_conll2012(out / "test_key.conll")
    decoded = read_conll2012(out / "test_predictions.conll")
    # CoNLL-2012 in (its mentions), clusters out: those the evaluation decoded
    conll = tmp_path / "pred.conll"
    argv = ["predict", "--model", str(out / "model"), "--input", str(out / "test_key.conll")]
    assert main([*argv, "--format", "conll2012", "--json", "--conll", str(conll)]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [d.key for d in key]  # name and part
    for row, doc in zip(rows, decoded, strict=True):
        assert sorted(map(sorted, row["clusters"])) == sorted(
            [list(m) for m in c] for c in doc.clusters
        )
        assert row["pairs"] > 0
    # pairs that do not fit max_len are counted as the evaluation counted them
    metrics = json.loads((out / "metrics.json").read_text())
    assert sum(r["pairs_dropped"] for r in rows) == sum(metrics["data"]["test"]["dropped"].values())
    assert [d.clusters for d in read_conll2012(conll)] == [d.clusters for d in decoded]
    # JSON documents through the exported model's Python API: the same clusters
    exported = export_model(out, tmp_path / "export")
    model = RCModel.from_pretrained(exported)
    assert model.task == "coref" and model.task_options["singletons"] is False
    docs = [{"id": d.name, "sentences": d.sentences, "mentions": d.spans()} for d in key]
    assert [r["clusters"] for r in model.predict(docs)] == [r["clusters"] for r in rows]
    with pytest.raises(Exception, match=r"example 0: mention 0 \[5, 2\] is not"):
        model.predict([{"sentences": [["a", "b"]], "mentions": [[5, 2]]}])


def test_predict_keeps_inputs_apart_that_share_an_id():
    """Two sentences (documents) with one id are two inputs, not one: each gets its own
    entities (clusters), the id as given."""
    import torch

    from autorc_nni.tasks import get_task

    class Fake:  # labels every one-word span of "x" a person, everything else nothing
        labels = ["None", "Peop"]
        task_options = {"max_span_len": 2}

        def statement_probs(self, statements, batch_size=32):
            def p(ex):
                word = " ".join(ex.tokens[ex.head[0] : ex.head[1]])
                return torch.tensor([0.1, 0.9] if word == "x" else [0.9, 0.1])

            return [p(ex) for ex in statements]

    ner = get_task("ner")
    units = [
        ner.read_input({"id": "s", "text": "a x b c"}, "1"),
        ner.read_input({"id": "s", "text": "x y"}, "2"),
    ]
    rows = ner.predict(Fake(), units)
    assert [r["id"] for r in rows] == ["s", "s"]
    assert [[(e["start"], e["words"]) for e in r["entities"]] for r in rows] == [
        [(1, "x")],
        [(0, "x")],
    ]
    assert rows[1]["entities"][0]["char_end"] == 1

    class FakeCoref:  # every pair corefers
        labels = ["not", "coref"]
        task_options = {"max_antecedents": 4, "singletons": False}
        max_len = 64

        def statement_probs(self, statements, batch_size=32):
            return [torch.tensor([0.1, 0.9]) for _ in statements]

    coref = get_task("coref")
    docs = [
        coref.read_input({"id": "d", "sentences": [["a", "b", "c", "d"]], "mentions": m}, w)
        for w, m in (("1", [[0, 1], [2, 3]]), ("2", [[1, 2], [2, 3]]))
    ]
    rows = coref.predict(FakeCoref(), docs)
    assert [r["id"] for r in rows] == ["d", "d"]
    assert [r["clusters"] for r in rows] == [[[[0, 1], [2, 3]]], [[[1, 2], [2, 3]]]]
