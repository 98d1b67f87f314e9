"""``autorc report RUN_DIR…``: the paper's Table 1 (Markdown), reward curves, best architectures.

autorc report runs/semeval10-* runs/ddi-* --out report/
"""

from __future__ import annotations

import argparse

from pipeline.report import write_report

# for `autorc --help`, read without importing the command
HELP = "results table, reward curves and architecture diagrams"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help=HELP)
    p.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN_DIR",
        help="run directories (or folders holding several)",
    )
    p.add_argument("--out", default="report", help="output folder (default: ./report)")
    p.add_argument(
        "--command",
        help="how the runs were made, written under the table "
        "(default: this autorc report command)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    r = write_report(args.run_dirs, args.out, command=args.command)
    table1, table4 = r["table1"], r["table4"]
    if table1:
        print("Table 1 (relation classification)\n" + table1, end="")
    if table4:
        print("Table 4 (span NER, coreference)\n" + table4, end="")
    for path in [*r["curves"], *r["diagrams"]]:
        print(f"written: {path}")
    print(f"written: {r['report']}")
    return 0
