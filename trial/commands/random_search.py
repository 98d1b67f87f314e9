"""``autorc random-search``: the paper's random-search baseline (§5.4); ``autorc run --method
random`` under its own name.

    autorc random-search --dataset semeval10 --n 10 --out runs/semeval10-random

``n`` distinct valid architectures of the space, drawn by Optuna's seeded ``RandomSampler``,
each through the same HPO and seeds as every other model; the best (on dev) is the baseline's
result. Resumable like ``autorc run``.
"""

from __future__ import annotations

import argparse

from pipeline.methods import RANDOM
from trial.commands.run import add_run_args

# for `autorc --help`, read without importing the command
HELP = "the random-search baseline: n random architectures (autorc run --method random)"


def register(sub: argparse._SubParsersAction) -> None:
    add_run_args(sub.add_parser("random-search", help=HELP), method=RANDOM)
