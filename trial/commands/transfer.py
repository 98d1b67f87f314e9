"""``autorc transfer``: an architecture learned on one dataset, evaluated on another; ``autorc
repeat`` with a source dataset, under its own name.

    autorc transfer --arch runs/semeval10/result.json --dataset ddi --out runs/AR_semeval10-ddi
    autorc transfer --arch ARCH.json --from kbp37 --dataset wiki80 --seeds 10 --out runs/t

The architecture's hyper-parameters are tuned again on the target (paper §5.5): the same Optuna
HPO and seeds as every other model. The result is the report row ``AR_<source>``; the source is
``--from``, else the dataset the file names.
"""

from __future__ import annotations

import argparse

from trial.commands.repeat import add_repeat_args

# for `autorc --help`, read without importing the command
HELP = "evaluate an architecture found on one dataset on another (autorc repeat --from)"


def register(sub: argparse._SubParsersAction) -> None:
    add_repeat_args(sub.add_parser("transfer", help=HELP), transfer=True)
