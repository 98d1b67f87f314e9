"""The NNI trial's intermediate results: one record per protocol event, dev as ``default``."""

from __future__ import annotations

import pytest

from pipeline.events import (
    Candidates,
    EpochScored,
    Evaluated,
    RaceDone,
    RungScored,
    SeedDone,
    TrialDone,
)
from trial.nni_trial import intermediate_record


def test_each_training_event_is_one_record_with_its_dev_as_default():
    race = {
        "entrants": [{"dev": [0.5, 0.7]}],
        "winner": 0,
        "winner_name": "R-BERT",
        "winner_origin": "preset",
        "cost_trainings": 2.3,
    }
    cases = [
        (
            EpochScored("seed", 2, 0.61, rank=3, seed=1),
            {"default": 0.61, "kind": "epoch", "rank": 3, "stage": "seed", "epoch": 2, "seed": 1},
        ),
        (
            TrialDone(0.6, 0.5, number=4, params={"lr": 2e-4}, budget=8, rank=2),
            {
                "default": 0.6,
                "kind": "hpo_trial",
                "rank": 2,
                "test": 0.5,
                "number": 4,
                "budget": 8,
                "lr": 2e-4,
            },
        ),  # fmt: skip
        (
            SeedDone(0.62, None, seed=1, of=3),
            {"default": 0.62, "kind": "seed", "rank": 1, "test": None, "seed": 1, "of": 3},
        ),
        (
            RungScored(0, "R-BERT", 1, 0.33, 0.7),
            {"default": 0.7, "kind": "rung", "entrant": "R-BERT", "rung": 1, "budget": 0.33},
        ),
        (
            RaceDone(race),
            {"default": 0.7, "kind": "race", "winner": "R-BERT", "origin": "preset", "cost": 2.3},
        ),
        (
            Evaluated({"rank": 1, "dev_mean": 0.64, "test_mean": 0.6}),
            {"default": 0.64, "kind": "dev", "rank": 1, "test": 0.6},
        ),
    ]
    for event, record in cases:
        assert intermediate_record(event) == record, event
    with pytest.raises(TypeError, match="Candidates has no intermediate result"):
        intermediate_record(Candidates([]))
