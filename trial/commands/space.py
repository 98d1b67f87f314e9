"""``autorc space [--space M|M1|M2|M3] [--task rc|ner|coref] [--restrict DECISION=OPTS]``: print a
search space's decisions and its size, as a task searches it and as a config's ``restrict``
narrows it.

autorc space
autorc space --space M2
autorc space --task ner --restrict span=standard,levitated
"""

from __future__ import annotations

import argparse

from autorc_nni.tasks import TASKS
from search_spaces.spaces import SPACES, describe_space, task_space
from trial.commands._fields import key_value

# for `autorc --help`, read without importing the command
HELP = "print a search space's decisions and number of architectures"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("space", help=HELP)
    p.add_argument(
        "--space", default="M", choices=list(SPACES), help="the space (paper Table 2; default M)"
    )
    p.add_argument(
        "--task",
        default="rc",
        choices=list(TASKS.names()),
        help="the task whose space it is (ner and coref add levitated markers; default rc)",
    )
    p.add_argument(
        "--restrict",
        action="append",
        default=[],
        type=key_value,
        metavar="DECISION=OPT[,OPT]",
        help="keep only these options of a decision, as the config key restrict (repeatable)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(describe_space(task_space(args.space, args.task, dict(args.restrict))))
    return 0
