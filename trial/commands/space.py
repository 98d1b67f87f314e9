"""``autorc space [--space M|M1|M2|M3]``: print a search space's decisions and its size.

autorc space
autorc space --space M2
"""

from __future__ import annotations

import argparse

from search_spaces.spaces import SPACES, describe_space

# for `autorc --help`, read without importing the command
HELP = "print a search space's decisions and number of architectures"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("space", help=HELP)
    p.add_argument(
        "--space", default="M", choices=list(SPACES), help="the space (paper Table 2; default M)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(describe_space(args.space))
    return 0
