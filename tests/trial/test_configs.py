"""The shipped experiment and pipeline configs are valid (NNI schema, pipeline keys, budgets)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from nni.experiment.config import ExperimentConfig

from pipeline.runner import load_config

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = [
    "config.yml",
    "configs/methods.yml",
    "configs/paper.yml",
    "configs/nni-conll04-ner.yml",
    "configs/nni-litbank-coref.yml",
]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_config_is_valid_nni_and_its_pipeline_loads(name: str) -> None:
    path = ROOT / name
    exp = ExperimentConfig.load(str(path)).canonical_copy()
    assert Path(exp.trial_code_directory) == ROOT
    m = re.search(r"-m trial\.nni_trial --config (\S+)", exp.trial_command)
    assert m, exp.trial_command
    space = yaml.safe_load(path.read_text())["searchSpace"]
    values = {k: v["_value"] for k, v in space.items()}
    n = 1
    for v in values.values():
        n *= len(v)
    assert exp.max_trial_number == n  # the grid is run exactly once
    # every trial's parameters give a valid pipeline config
    import itertools

    for combo in itertools.product(*values.values()):
        load_config(ROOT / m.group(1), dict(zip(values, combo, strict=True)))


def test_paper_budgets() -> None:
    cfg = load_config(ROOT / "configs/paper-pipeline.yml")
    assert (cfg.search["epochs"], cfg.search["k"], cfg.top) == (100.0, 30, 5)
    assert (cfg.hpo.trials, cfg.seeds.n, cfg.random_n) == (10, 10, 10)
    assert cfg.data.encoder == "bert-base-uncased"
    assert cfg.hpo.space.lr == [1e-4, 5e-5, 2e-5, 1e-5]
    assert cfg.hpo.space.batch_size == [128, 64, 32] and cfg.hpo.space.warmup == [0.8, 1.0]
