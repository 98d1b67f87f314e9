"""A synthetic relation dataset whose label is carried by one part of the sentence only.

Each sentence is ``c0 words, e1 word, KEYWORD c1 words, e2 word, c2 words``: the first word
between the entities (the start of part c1) is a keyword that determines the label; the entity
words and every other word are drawn at random from one shared pool, so e1, e2, c0 and c2 carry
no information about the label. Written as OpenNRE JSON lines (train/dev/test.txt).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

KEYWORDS = {"cause": "Cause", "origin": "Origin", "member": "Member", "between": "Other"}
FILLER = (
    "the of and to a in is was for on that with as by at from it his an are were which be "
    "this has he had not but or have their its also they one first after who new two been "
    "her she more other when all into during time there would than some only over"
).split()


def planted_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    keywords = list(KEYWORDS)
    rows = []
    for _ in range(n):
        kw = rng.choice(keywords)
        c0 = [rng.choice(FILLER) for _ in range(rng.randint(1, 3))]
        c1 = [kw] + [rng.choice(FILLER) for _ in range(rng.randint(1, 2))]
        c2 = [rng.choice(FILLER) for _ in range(rng.randint(1, 3))]
        e1, e2 = rng.choice(FILLER), rng.choice(FILLER)
        tokens = c0 + [e1] + c1 + [e2] + c2
        h = len(c0)
        t = h + 1 + len(c1)
        rows.append(
            {
                "token": tokens,
                "h": {"pos": [h, h + 1]},
                "t": {"pos": [t, t + 1]},
                "relation": KEYWORDS[kw],
            }
        )
    return rows


def write_planted(folder: Path, n_train: int = 256, n_dev: int = 128, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, s in (("train", n_train, seed), ("dev", n_dev, seed + 1), ("test", 32, seed + 2)):
        lines = [json.dumps(r) for r in planted_rows(n, s)]
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return folder


# -- span NER: the type is carried by one context word ---------------------------------------
NER_KEYWORDS = {"mister": "Peop", "city": "Loc", "firm": "Org"}


ENTITY_WORDS = (
    "alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega rho tau phi chi psi"
).split()


def planted_ner_rows(n: int, seed: int) -> list[dict]:
    """SpERT JSON sentences ``KEYWORD, c words, ENTITY WORD, c words``: the entity word comes from
    its own pool (so a span says whether it is an entity, not which type) and the keyword that
    opens the sentence, in c0, alone says its type."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        kw = rng.choice(list(NER_KEYWORDS))
        mid = [rng.choice(FILLER) for _ in range(rng.randint(1, 3))]
        right = [rng.choice(FILLER) for _ in range(rng.randint(0, 2))]
        tokens = [kw, *mid, rng.choice(ENTITY_WORDS), *right]
        s = 1 + len(mid)
        rows.append(
            {
                "tokens": tokens,
                "entities": [{"type": NER_KEYWORDS[kw], "start": s, "end": s + 1}],
                "relations": [],
            }
        )
    return rows


def write_planted_ner(folder: Path, n_train: int = 192, n_dev: int = 96, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, s in (("train", n_train, seed), ("dev", n_dev, seed + 1), ("test", 32, seed + 2)):
        (folder / f"{split}.json").write_text(json.dumps(planted_ner_rows(n, s)))
    return folder


# a search that finds the planted tasks in seconds with the tiny encoder (test_search,
# test_tasks_search): 8 epochs, a short search warm-up, fast learning rates
SMALL_SEARCH = {
    "encoder": "tiny",
    "space": "M2",
    "method": "autorc",
    "epochs": 8.0,
    "batch_size": 8,
    "lr": 1e-3,
    "controller_lr": 1e-2,
    "search_warmup_epochs": 1.0,
    "encoder_warmup_epochs": 0.5,
    "k": 10,
    "top_k": 3,
    "seed": 1,
    "progress": False,
    "max_len": 64,
    "checkpoint_every": 0,
}


def small_search(dataset: Path, out: Path, **kw: object):
    """A :class:`strategies.search.SearchConfig` of ``SMALL_SEARCH`` on ``dataset``."""
    from strategies.search import search_config_from_dict

    return search_config_from_dict({**SMALL_SEARCH, "dataset": str(dataset), "out": str(out), **kw})
