"""``autorc run --config FILE``: the paper's protocol for one run, resumable.

    autorc run --config configs/default.yml --out runs/semeval10-autorc-s0
    autorc run --config configs/default.yml --set seed=1 --set hpo.trials=2 --out runs/s1

search → rank the k candidates → for the top ke: Optuna HPO → seeds → best model → report.
Every stage writes into OUT and is skipped when its result is there: re-running the same
command after a crash resumes it. See docs/protocol.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autorc_nni.report import write_report
from strategies.pipeline import load_config
from strategies.pipeline import run as run_protocol
from trial.commands._common import announce_format, parse_overrides, print_result

# for `autorc --help`, read without importing the command
HELP = "run the whole protocol (search, HPO, seeds, report)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help=HELP)
    p.add_argument("--config", required=True, help="pipeline YAML (e.g. configs/default.yml)")
    p.add_argument("--out", help="run directory (default: runs/<config name>-<method>-s<seed>)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set seed=1 --set search.epochs=2",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, parse_overrides(args.overrides))
    announce_format(cfg.dataset, cfg.format, cfg.task)
    out = Path(args.out or f"runs/{Path(args.config).stem}-{cfg.row}-s{cfg.seed}")

    def on_event(kind: str, data: dict) -> None:
        if kind == "candidates":
            n = sum(c["evaluate"] for c in data["candidates"])
            print(f"[{out}] {len(data['candidates'])} candidate(s), {n} to evaluate")
        elif kind == "evaluated":
            print(
                f"[{out}] rank {data['rank']}: dev {100 * data['dev_mean']:.2f} "
                f"test {100 * (data['test_mean'] or 0):.2f}"
            )

    result = run_protocol(cfg, out, on_event=on_event)
    print(f"best learned model of {cfg.row} on {cfg.dataset} (rank {result['best']['rank']}):")
    print_result(result["best"])
    r = write_report([out], out / "report")
    print(r["table"], end="")
    print(f"written: {out}/result.json, {r['report']}")
    return 0
