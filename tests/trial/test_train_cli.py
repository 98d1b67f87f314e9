"""``autorc train`` and ``autorc predict`` end to end on tiny data, with the tiny encoder."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trial.cli import main


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))


def train_args(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train",
        "--arch",
        "r-bert",
        "--data",
        str(data),
        "--format",
        "opennre",
        "--encoder",
        "tiny",
        "--lr",
        "2e-3",
        "--batch-size",
        "16",
        "--warmup",
        "0.5",
        "--epochs",
        "2",
        "--seed",
        "3",
        "--out",
        str(out),
        "--max-len",
        "32",
        "--threads",
        "1",
        "--no-progress",
        *extra,
    ]


def test_train_then_predict(synthetic_data, tmp_path, cache, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(train_args(synthetic_data, out)) == 0
    printed = capsys.readouterr().out
    assert "test micro_f1" in printed and "best epoch" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["arch"] == "r-bert" and metrics["config"]["seed"] == 3
    assert metrics["config"]["lr"] == 2e-3 and metrics["config"]["batch_size"] == 16
    assert len(metrics["history"]) == 2
    assert (out / "test_predictions.jsonl").is_file()
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert (out / "model" / "architecture.json").is_file()

    # predict a data file: the same labels as the run's test predictions
    test_file = synthetic_data / "test.txt"
    assert (
        main(
            [
                "predict",
                "--model",
                str(out / "model"),
                "--input",
                str(test_file),
                "--format",
                "opennre",
                "--json",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    run_preds = [
        json.loads(line) for line in (out / "test_predictions.jsonl").read_text().splitlines()
    ]
    assert [r["label"] for r in rows] == [r["pred"] for r in run_preds]
    assert [r["gold"] for r in rows] == [r["gold"] for r in run_preds]
    assert all(0 < r["prob"] <= 1 for r in rows)

    # predict text with character offsets from stdin (OpenNRE's infer input)
    text = "the king was a member of the army ."
    h = [text.index("king"), text.index("king") + 4]
    t = [text.index("army"), text.index("army") + 4]
    lines = json.dumps({"text": text, "h": {"pos": h}, "t": {"pos": t}}) + "\n"
    tokens = {"token": text.split(), "h": {"pos": [1, 2]}, "t": {"pos": [7, 8]}}
    lines += json.dumps(tokens) + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["predict", "--model", str(out / "model")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2
    labels = set(metrics["labels"])
    first, second = (line.split("\t") for line in printed)
    assert first[0] == "<stdin>:1" and first[1] in labels and 0 < float(first[2]) <= 1
    # the same sentence given as words or as text with character offsets: the same answer
    assert first[1:] == second[1:]
    # a stream with bad lines: each reported with its number, the others still predicted
    bad = lines.splitlines()
    stream = "\n".join([bad[0], '{"text": "a b", "h": {"pos": [0, 1]}}', "not json", bad[1]])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stream + "\n"))
    assert main(["predict", "--model", str(out / "model")]) == 1
    captured = capsys.readouterr()
    assert [line.split("\t")[0] for line in captured.out.splitlines()] == ["<stdin>:1", "<stdin>:4"]
    assert (
        "<stdin>:2: missing key 't'" in captured.err and "<stdin>:3: malformed JSON" in captured.err
    )
    assert "2 line(s) could not be read" in captured.err


def test_bad_input_is_a_clear_error(synthetic_data, tmp_path, cache, capsys, monkeypatch):
    assert main(train_args(synthetic_data, tmp_path / "o", "--set", "learning_rate=1")) == 2
    assert "learning_rate" in capsys.readouterr().err
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    for split in ("train", "dev", "test"):
        (unknown / f"{split}.txt").write_text("just some words\n")
    assert main(["train", "--data", str(unknown), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err  # refused before anything trains
    assert "cannot tell the format of train.txt" in err and "give it with --format" in err
    assert (
        main(
            [
                "train",
                "--arch",
                "nope",
                "--dataset",
                str(synthetic_data),
                "--format",
                "opennre",
                "--encoder",
                "tiny",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "nope" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"text": "a b", "h": {"pos": [0, 1]}}\n'))
    assert main(["predict", "--model", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "<stdin>:1" in err and "'t'" in err


@pytest.mark.slow
def test_killed_process_resumes_to_the_same_result(synthetic_data, tmp_path):
    """A real SIGKILL mid-run, then ``--resume``: the same metrics and weights as a clean run."""
    env = {**os.environ, "AUTORC_CACHE_DIR": str(tmp_path / "cache")}
    autorc = [sys.executable, "-m", "trial.cli"]
    root = Path(__file__).resolve().parents[2]

    def args(out, *x):
        return [
            *autorc,
            *train_args(synthetic_data, out, "--epochs", "6", "--checkpoint-every", "1", *x),
        ]

    clean = tmp_path / "clean"
    subprocess.run(args(clean), env=env, cwd=root, check=True, capture_output=True)
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        args(cut), env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    while not (cut / "checkpoint.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # a few steps past the first checkpoint, well before the end
    if proc.poll() is not None or (cut / "metrics.json").exists():
        pytest.skip("the run finished before it could be killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (cut / "metrics.json").exists()
    subprocess.run(args(cut, "--resume"), env=env, cwd=root, check=True, capture_output=True)
    a = json.loads((clean / "metrics.json").read_text())
    b = json.loads((cut / "metrics.json").read_text())
    for split in ("dev", "test"):
        a[split].pop("eval_sentences_per_s")
        b[split].pop("eval_sentences_per_s")
        assert a[split] == b[split]
    assert a["history"] == b["history"]
    assert (clean / "model" / "heads.safetensors").read_bytes() == (
        cut / "model" / "heads.safetensors"
    ).read_bytes()
    assert (clean / "model" / "encoder" / "model.safetensors").read_bytes() == (
        cut / "model" / "encoder" / "model.safetensors"
    ).read_bytes()


def test_negative_label_flag_reaches_training_and_its_metrics(synthetic_data, tmp_path, cache):
    """--negative-label none: micro-F1 over every label, and metrics.json says so."""
    assert (
        main(
            train_args(
                synthetic_data, tmp_path / "all", "--epochs", "1", "--negative-label", "none"
            )
        )
        == 0
    )
    m = json.loads((tmp_path / "all" / "metrics.json").read_text())
    assert m["negative_label"] is None and m["config"]["negative_label"] == "none"
    assert m["test"]["micro_f1"] == pytest.approx(m["test"]["accuracy"])  # no label left out
    assert main(train_args(synthetic_data, tmp_path / "d", "--epochs", "1")) == 0
    assert json.loads((tmp_path / "d" / "metrics.json").read_text())["negative_label"] == "Other"


def test_detected_format_and_dropped_records_reach_metrics(synthetic_data, tmp_path, cache, capsys):
    """--data without --format: the format is detected and said; a record with an empty
    entity is dropped, counted in metrics.json with its place; --strict refuses the folder."""
    data = tmp_path / "odd"
    data.mkdir()
    for split in ("train", "dev", "test"):
        (data / f"{split}.txt").write_bytes((synthetic_data / f"{split}.txt").read_bytes())
    with open(data / "train.txt", "a") as f:
        f.write(
            json.dumps(
                {
                    "token": ["the", " ", "cause", "tree"],
                    "h": {"pos": [1, 2]},
                    "t": {"pos": [3, 4]},
                    "relation": "Other",
                }
            )
            + "\n"
        )
    n_train = len((synthetic_data / "train.txt").read_text().splitlines())
    args = [a for a in train_args(data, tmp_path / "run", "--epochs", "1") if a != "opennre"]
    args.remove("--format")
    assert main(args) == 0
    assert f"{data}: format opennre (detected from its files" in capsys.readouterr().err
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["format"] == "opennre" and m["format_detected"] is True
    assert m["data"]["train"]["read_dropped"] == {"empty head entity": 1}
    assert m["data"]["train"]["read_dropped_where"] == {
        "empty head entity": [f"{data / 'train.txt'}:{n_train + 1}"]
    }
    assert m["data"]["train"]["examples"] == n_train and m["data"]["dev"]["read_dropped"] == {}
    assert main([*args, "--strict", "--out", str(tmp_path / "strict")]) == 2
    err = capsys.readouterr().err
    assert f"{data / 'train.txt'}:{n_train + 1}: empty head entity" in err and "--strict" in err
    assert not (tmp_path / "strict" / "metrics.json").exists()
