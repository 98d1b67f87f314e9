"""A small synthetic relation dataset in OpenNRE JSON lines, for smoke tests and benchmarks.

The label is fixed by a keyword between the two entities, so even the in-process ``tiny``
encoder learns it in a few steps and the whole protocol runs in seconds on a CPU. The tests and
the fault-injection harness (``benchmarks/faults.py``) build their data with it.

    from autorc_nni.data.synthetic import write_synthetic
    folder = write_synthetic(Path("/tmp/syn"))   # train.txt, dev.txt, test.txt
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ENTITIES = [
    "tree",
    "car",
    "river",
    "king",
    "book",
    "ship",
    "city",
    "gene",
    "drug",
    "cell",
    "paper",
    "water",
    "house",
    "phone",
    "lake",
    "bridge",
]
KEYWORDS = {
    "Other": ["over"],
    "Cause-Effect(e1,e2)": ["cause"],
    "Member-Collection(e1,e2)": ["member"],
}
FILLER = ["the", "of", "a", "in", "is", "was"]


def synthetic_rows(n: int, seed: int) -> list[dict]:
    """``n`` OpenNRE rows, labels in turn, words drawn with ``random.Random(seed)``."""
    rng = random.Random(seed)
    labels = list(KEYWORDS)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        e1, e2 = rng.sample(ENTITIES, 2)
        left = [rng.choice(FILLER) for _ in range(rng.randint(0, 2))]
        mid = [rng.choice(KEYWORDS[label])] + [rng.choice(FILLER) for _ in range(rng.randint(0, 1))]
        h, t = len(left), len(left) + 1 + len(mid)
        rows.append(
            {
                "token": left + [e1] + mid + [e2],
                "h": {"name": e1, "pos": [h, h + 1]},
                "t": {"name": e2, "pos": [t, t + 1]},
                "relation": label,
            }
        )
    return rows


def write_synthetic(folder: Path, n_train: int = 96, n_dev: int = 48, n_test: int = 48) -> Path:
    """Write ``train.txt``, ``dev.txt`` and ``test.txt`` (seeds 1, 2, 3) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 1), ("dev", n_dev, 2), ("test", n_test, 3)):
        (folder / f"{split}.txt").write_text(
            "".join(json.dumps(r) + "\n" for r in synthetic_rows(n, seed))
        )
    return folder
