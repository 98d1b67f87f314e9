"""A small synthetic relation dataset (OpenNRE jsonl) for the protocol and NNI tests.

The label is fixed by a keyword between the two entities; the tiny encoder learns it in a few
steps, so the whole protocol runs in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from autorc_nni.data.synthetic import synthetic_rows, write_synthetic

__all__ = ["synthetic_rows", "write_synthetic", "tiny_pipeline", "write_nni_config"]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("synthetic") / "syn")


def tiny_pipeline(data: Path, **over) -> dict:
    """A pipeline config that runs the real search and training on the tiny encoder quickly."""
    cfg = {
        "method": "autorc",
        "dataset": str(data),
        "format": "opennre",
        "encoder": "tiny",
        "seed": 0,
        "top": 1,
        "search": {
            "epochs": 1.0,
            "batch_size": 8,
            "child_steps": 2,
            "k": 2,
            "search_warmup_epochs": 0.5,
            "max_len": 32,
            "num_threads": 1,
            "eval_batch_size": 48,
        },
        "train": {"epochs": 1, "max_len": 32, "num_threads": 1, "eval_batch_size": 48},
        "hpo": {"trials": 1, "space": {"lr": [1e-3], "batch_size": [16], "warmup": [0.5]}},
        "seeds": {"n": 2},
    }
    for k, v in over.items():
        cfg[k] = v
    return cfg


def write_nni_config(
    tmp_path: Path, name: str, search_space: dict, command: str, trials: int, service: dict
) -> Path:
    """``tmp_path / "config.yml"``: an NNI experiment of ``trials`` grid-search trials, one at a
    time, each running ``command`` on this repository's code in the training ``service``; NNI's
    own files go under ``tmp_path / "nni"``."""
    config = {
        "experimentName": name,
        "searchSpace": search_space,
        "trialCommand": command,
        "trialCodeDirectory": str(ROOT),
        "trialConcurrency": 1,
        "maxTrialNumber": trials,
        "maxExperimentDuration": "10m",
        "experimentWorkingDirectory": str(tmp_path / "nni"),
        "tuner": {"name": "GridSearch"},
        "trainingService": service,
    }
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def tiny_config(synthetic_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``tiny_config(**over) -> dict``; featurization cache under tmp_path, one torch thread."""
    import torch

    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield lambda **over: tiny_pipeline(synthetic_data, **over)
    torch.set_num_threads(n)
