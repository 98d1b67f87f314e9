"""``autorc search`` end to end on a tiny planted dataset, and its argument errors."""

from __future__ import annotations

import json

from autorc_nni.architecture import Architecture
from tests.strategies.planted import write_planted
from trial.cli import main


def test_search_command_writes_the_top_architectures(tmp_path, capsys):
    data = write_planted(tmp_path / "data", n_train=64, n_dev=32)
    out = tmp_path / "run"
    argv = [
        "search", "--data", str(data), "--format", "opennre", "--encoder", "tiny",
        "--space", "M3", "--method", "naive-enas", "--epochs", "2", "--batch-size", "4",
        "--k", "4", "--top-k", "2", "--seed", "3", "--out", str(out), "--no-progress",
        "--max-len", "48", "--threads", "1", "--set", "controller_lr=0.01",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "8 search steps (4 per epoch)" in printed
    for rank in (1, 2):
        arch = Architecture.load(out / "architectures" / f"rank{rank}.json")
        assert not (arch.use_c0 or arch.use_c1 or arch.use_c2)  # M3 fixes context use off
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["method"] == "naive-enas" and summary["config"]["copies"] is None


def test_search_command_errors_name_the_problem(tmp_path, capsys):
    assert (
        main(
            [
                "search",
                "--dataset",
                "semeval10",
                "--out",
                str(tmp_path),
                "--set",
                "k=2",
                "--set",
                "top_k=3",
            ]
        )
        == 2
    )
    assert "top_k (3) exceeds k (2)" in capsys.readouterr().err
    assert main(["search", "--data", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "cannot detect the format" in capsys.readouterr().err  # no train file to tell it by
    assert main(["search", "--dataset", "semeval10"]) == 2
    assert "--out DIR is required" in capsys.readouterr().err


def test_search_detects_the_format_and_reports_dropped_records(tmp_path, capsys):
    """No --format: detected; an empty-entity record: dropped and in summary.json with its
    place; --strict: refused, naming the file and line."""
    data = write_planted(tmp_path / "data", n_train=32, n_dev=16)
    with open(data / "dev.txt", "a") as f:
        f.write(
            json.dumps(
                {"text": "a  b", "h": {"pos": [1, 2]}, "t": {"pos": [3, 4]}, "relation": "Other"}
            )
            + "\n"
        )
    out = tmp_path / "run"
    argv = [
        "search", "--data", str(data), "--encoder", "tiny", "--space", "M3",
        "--method", "naive-enas", "--epochs", "1", "--batch-size", "8", "--k", "2",
        "--top-k", "1", "--out", str(out), "--no-progress", "--max-len", "48", "--threads", "1",
    ]  # fmt: skip
    assert main(argv) == 0
    assert "format opennre (detected" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["format"] == "opennre" and summary["format_detected"] is True
    assert summary["data"]["dev"]["read_dropped"] == {"empty head entity": 1}
    assert summary["data"]["dev"]["read_dropped_where"] == {
        "empty head entity": [f"{data / 'dev.txt'}:17"]
    }
    assert summary["data"]["train"]["read_dropped"] == {}
    assert main([*argv, "--strict", "--out", str(tmp_path / "strict")]) == 2
    assert f"{data / 'dev.txt'}:17: empty head entity" in capsys.readouterr().err
