"""``autorc export``: a run's best model as a folder that loads back, predicts the same labels
and carries a model card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from autorc_nni.model import RCModel
from pipeline.export import ExportError, export_model, find_best_model
from tests.trial.conftest import synthetic_rows
from trial.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, synthetic_data) -> Path:
    import torch

    from tests.trial.conftest import tiny_pipeline

    tmp = tmp_path_factory.mktemp("export")
    cfg = tiny_pipeline(synthetic_data, method="r-bert", seeds={"n": 2})
    (tmp / "p.yml").write_text(yaml.safe_dump(cfg))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["run", "--config", str(tmp / "p.yml"), "--out", str(tmp / "run")]) == 0
    finally:
        torch.set_num_threads(n)
    return tmp / "run"


def test_export_loads_back_and_predicts_the_same_labels(
    run_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "shared"
    assert main(["export", str(run_dir), "--out", str(out)]) == 0
    assert "exported to" in capsys.readouterr().out
    train_dir, best = find_best_model(run_dir)
    # the exported model is the best seed of the best candidate (chosen on dev)
    seed_devs = dict(zip(best["seeds"], best["dev"], strict=True))
    assert train_dir.name == f"seed_{max(seed_devs, key=lambda s: (seed_devs[s], -s))}"
    original = RCModel.from_pretrained(train_dir / "model")
    shared = RCModel.from_pretrained(out)
    rows = synthetic_rows(24, seed=9)
    assert shared.predict(rows) == original.predict(rows)
    # hub-ready: safetensors weights, tokenizer, architecture JSON and diagram, a model card
    assert (out / "heads.safetensors").is_file() and not (out / "heads.pt").exists()
    assert list((out / "encoder").glob("*.safetensors"))
    assert (out / "tokenizer").is_dir() and (out / "architecture.json").is_file()
    assert (out / "architecture.png").read_bytes()[:4] == b"\x89PNG"
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: autorc-nni")
    metrics = json.loads((train_dir / "metrics.json").read_text())
    assert f"| train | {metrics['data']['train']['examples']} |" in card
    assert "mean ± std over 2 seed(s)" in card and "avg pool" in card
    assert "autorc train --arch architecture.json" in card and "--lr 0.001" in card


def test_export_errors_name_the_problem(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such run directory"):
        export_model(tmp_path / "nope", tmp_path / "o")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match="no result.json"):
        export_model(tmp_path / "empty", tmp_path / "o")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ExportError, match="not empty"):
        export_model(run_dir, tmp_path / "full")
    assert main(["export", str(tmp_path / "empty"), "--out", str(tmp_path / "o2")]) == 2
