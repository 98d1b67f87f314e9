"""``autorc random-search``: the paper's random-search baseline (§5.4) on one dataset.

    autorc random-search --dataset semeval10 --n 10 --out runs/semeval10-random

``n`` distinct valid architectures of the space, drawn by Optuna's seeded ``RandomSampler``,
each through the same HPO and seeds as every other model; the best (on dev) is the baseline's
result. Resumable like ``autorc run``.
"""

from __future__ import annotations

import argparse

from autorc_nni.report import write_report
from strategies.pipeline import run as run_protocol
from trial.commands._common import (
    add_data_args,
    add_hpo_args,
    add_seed_args,
    build_config,
    print_result,
)

# for `autorc --help`, read without importing the command
HELP = "the random-search baseline: n random architectures"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("random-search", help=HELP)
    add_data_args(p)
    p.add_argument("--n", type=int, help="number of random architectures (paper: 10)")
    p.add_argument("--space", help="search space M (default), M1, M2 or M3")
    p.add_argument("--seed", type=int, help="seed of the random draws")
    add_hpo_args(p)
    add_seed_args(p)
    p.add_argument("--out", required=True, help="run directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fixed = {"method": "random"}
    if args.n is not None:
        fixed["random_n"] = args.n
    if args.seed is not None:
        fixed["seed"] = args.seed
    cfg = build_config(args, **fixed)
    result = run_protocol(cfg, args.out)
    print(f"random search on {cfg.dataset}: best of {len(result['evaluated'])} (on dev)")
    print_result(result["best"])
    r = write_report([args.out], f"{args.out}/report")
    print(r["table"], end="")
    return 0
