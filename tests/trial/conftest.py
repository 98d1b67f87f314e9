"""A small synthetic relation dataset (OpenNRE jsonl) for the protocol and NNI tests.

The label is fixed by a keyword between the two entities; the tiny encoder learns it in a few
steps, so the whole protocol runs in seconds.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

ENTITIES = ["tree", "car", "river", "king", "book", "ship", "city", "gene", "drug", "cell",
            "paper", "water", "house", "phone", "lake", "bridge"]
KEYWORDS = {"Other": ["over"], "Cause-Effect(e1,e2)": ["cause"],
            "Member-Collection(e1,e2)": ["member"]}
FILLER = ["the", "of", "a", "in", "is", "was"]


def synthetic_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    labels = list(KEYWORDS)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        e1, e2 = rng.sample(ENTITIES, 2)
        left = [rng.choice(FILLER) for _ in range(rng.randint(0, 2))]
        mid = [rng.choice(KEYWORDS[label])] + [rng.choice(FILLER) for _ in range(rng.randint(0, 1))]
        h, t = len(left), len(left) + 1 + len(mid)
        rows.append({"token": left + [e1] + mid + [e2], "h": {"name": e1, "pos": [h, h + 1]},
                     "t": {"name": e2, "pos": [t, t + 1]}, "relation": label})
    return rows


def write_synthetic(folder: Path, n_train: int = 96, n_dev: int = 48, n_test: int = 48) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 1), ("dev", n_dev, 2), ("test", n_test, 3)):
        (folder / f"{split}.txt").write_text(
            "".join(json.dumps(r) + "\n" for r in synthetic_rows(n, seed)))
    return folder


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("synthetic") / "syn")


def tiny_pipeline(data: Path, **over) -> dict:
    """A pipeline config that runs the real search and training on the tiny encoder quickly."""
    cfg = {
        "method": "autorc", "dataset": str(data), "format": "opennre", "encoder": "tiny",
        "seed": 0, "top": 1,
        "search": {"epochs": 1.0, "batch_size": 8, "child_steps": 2, "k": 2,
                   "search_warmup_epochs": 0.5, "max_len": 32, "num_threads": 1,
                   "eval_batch_size": 48},
        "train": {"epochs": 1, "max_len": 32, "num_threads": 1, "eval_batch_size": 48},
        "hpo": {"trials": 1, "space": {"lr": [1e-3], "batch_size": [16], "warmup": [0.5]}},
        "seeds": {"n": 2},
    }
    for k, v in over.items():
        cfg[k] = v
    return cfg


@pytest.fixture
def tiny_config(synthetic_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``tiny_config(**over) -> dict``; featurization cache under tmp_path, one torch thread."""
    import torch

    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield lambda **over: tiny_pipeline(synthetic_data, **over)
    torch.set_num_threads(n)
