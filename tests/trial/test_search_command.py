"""``autorc search`` end to end on a tiny planted dataset, and its argument errors."""

from __future__ import annotations

import json

from autorc_nni.architecture import Architecture
from tests.strategies.planted import write_planted
from trial.cli import main


def test_search_command_writes_the_top_architectures(tmp_path, capsys):
    data = write_planted(tmp_path / "data", n_train=64, n_dev=32)
    out = tmp_path / "run"
    argv = ["search", "--data", str(data), "--format", "opennre", "--encoder", "tiny",
            "--space", "M3", "--method", "naive-enas", "--epochs", "2", "--batch-size", "4",
            "--k", "4", "--top-k", "2", "--seed", "3", "--out", str(out), "--no-progress",
            "--max-len", "48", "--threads", "1", "--set", "controller_lr=0.01"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "8 search steps (4 per epoch)" in printed
    for rank in (1, 2):
        arch = Architecture.load(out / "architectures" / f"rank{rank}.json")
        assert not (arch.use_c0 or arch.use_c1 or arch.use_c2)  # M3 fixes context use off
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["method"] == "naive-enas" and summary["config"]["copies"] is None


def test_search_command_errors_name_the_problem(tmp_path, capsys):
    assert main(["search", "--dataset", "semeval10", "--out", str(tmp_path), "--set", "k=2",
                 "--set", "top_k=3"]) == 2
    assert "top_k (3) exceeds k (2)" in capsys.readouterr().err
    assert main(["search", "--data", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "--data DIR needs --format" in capsys.readouterr().err
    assert main(["search", "--dataset", "semeval10"]) == 2
    assert "--out DIR is required" in capsys.readouterr().err
