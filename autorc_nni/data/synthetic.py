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

# The hard variant (the training tests'): more entities, a second keyword for Other, more filler
# around the keyword, and the keywords again as distractors after e2, so that neither the
# entities nor the bag of words carries the label: only the words between the entities do.
HARD_ENTITIES = [
    *ENTITIES,
    *("army", "queen", "church", "school", "garden", "forest", "island", "engine"),
]
HARD_KEYWORDS = {**KEYWORDS, "Other": ["over", "under"]}
HARD_FILLER = [*FILLER, "on", "for", "it", "this"]
DISTRACTORS = [*HARD_FILLER, "cause", "member", "over"]


def synthetic_rows(n: int, seed: int, hard: bool = False) -> list[dict]:
    """``n`` OpenNRE rows, labels in turn, words drawn with ``random.Random(seed)``; ``hard``:
    the hard variant (above), its rows shuffled."""
    rng = random.Random(seed)
    entities, keywords = (HARD_ENTITIES, HARD_KEYWORDS) if hard else (ENTITIES, KEYWORDS)
    filler = HARD_FILLER if hard else FILLER
    labels = list(keywords)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        e1, e2 = rng.sample(entities, 2)
        left = [rng.choice(filler) for _ in range(rng.randint(0, 3 if hard else 2))]
        mid = [rng.choice(filler) for _ in range(rng.randint(0, 1))] if hard else []
        mid += [rng.choice(keywords[label])] + [
            rng.choice(filler) for _ in range(rng.randint(0, 1))
        ]
        right = [rng.choice(DISTRACTORS) for _ in range(rng.randint(0, 3))] if hard else []
        h, t = len(left), len(left) + 1 + len(mid)
        rows.append(
            {
                "token": left + [e1] + mid + [e2] + right,
                "h": {"name": e1, "pos": [h, h + 1]},
                "t": {"name": e2, "pos": [t, t + 1]},
                "relation": label,
            }
        )
    if hard:
        rng.shuffle(rows)
    return rows


def write_synthetic(
    folder: Path, n_train: int = 96, n_dev: int = 48, n_test: int = 48, hard: bool = False
) -> Path:
    """Write ``train.txt``, ``dev.txt`` and ``test.txt`` (seeds 1, 2, 3) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 1), ("dev", n_dev, 2), ("test", n_test, 3)):
        (folder / f"{split}.txt").write_text(
            "".join(json.dumps(r) + "\n" for r in synthetic_rows(n, seed, hard))
        )
    return folder
