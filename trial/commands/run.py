"""``autorc run``: the paper's protocol for one run, resumable.

    autorc run --config configs/default.yml --out runs/semeval10-autorc-s0
    autorc run --config configs/default.yml --set seed=1 --set hpo.trials=2 --out runs/s1
    autorc run --method random --dataset semeval10 --n 10 --out runs/semeval10-random
    autorc run --method bert-entity --dataset ddi --out runs/ddi-be

search → rank the k candidates → for the top ke: Optuna HPO → seeds → best model → report.
``--method`` is a search method (AutoRC or an ablation), ``random`` (the random-search
baseline: ``--n`` distinct valid architectures of the space, paper §5.4) or a preset. Every stage
writes into OUT and is skipped when its result is there: re-running the same command after a
crash resumes it. ``autorc random-search`` is ``autorc run --method random``. See
docs/protocol.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autorc_nni.training import listen_progress
from pipeline.events import Candidates, Evaluated, Event, RaceDone, RungScored
from pipeline.protocol import PipelineConfig
from pipeline.race import SELECTIONS
from pipeline.report import write_report
from pipeline.runner import method_names
from pipeline.runner import run as run_protocol
from search_spaces.spaces import SPACES
from trial.commands._common import (
    add_data_args,
    add_hpo_args,
    add_seed_args,
    build_config,
    keep_flags,
    print_result,
)
from trial.commands._fields import add_config_args
from trial.commands.demo import progress_words

# for `autorc --help`, read without importing the command
HELP = "run the whole protocol (search, HPO, seeds, report)"


def add_run_args(p: argparse.ArgumentParser, method: str | None = None) -> None:
    """The flags of a protocol run (generated from ``PipelineConfig``); ``method`` fixes the
    method (the ``random-search`` alias)."""
    add_data_args(p, dataset_required=False)
    only = ["space", "restrict", "seed", "random_n", "top", "select"]
    only += [] if method else ["method"]
    flags = add_config_args(
        p,
        PipelineConfig,
        only=only,
        rename={"random_n": "n"},
        choices={
            "space": list(SPACES),
            "method": method_names(),
            "select": list(SELECTIONS),
        },
    )
    keep_flags(p, flags)
    add_hpo_args(p)
    add_seed_args(p)
    p.add_argument("--out", help="run directory (default: runs/<config name>-<method>-s<seed>)")
    p.add_argument(
        "--reuse",
        metavar="DIR",
        help="a folder shared by the runs of one comparison: a training another run already "
        "finished with the same config is copied from it, not trained again",
    )
    p.set_defaults(func=run, fixed_method=method)


def register(sub: argparse._SubParsersAction) -> None:
    add_run_args(sub.add_parser("run", help=HELP))


def run(args: argparse.Namespace) -> int:
    fixed = {"method": args.fixed_method} if args.fixed_method else {}
    # `run` leaves the config as written (as the NNI trial reads it); `random-search` has
    # always turned the per-training progress bars off: each keeps its run directories resumable
    cfg = build_config(args, quiet_training=args.fixed_method is not None, **fixed)
    stem = Path(args.config).stem if args.config else cfg.data.dataset.rstrip("/").split("/")[-1]
    race = "-race" if cfg.races() else ""
    out = Path(args.out or f"runs/{stem}-{cfg.row}{race}-s{cfg.seed}")

    def on_event(event: Event) -> None:
        match event:
            case Candidates(candidates=cands):
                n = sum(c["evaluate"] for c in cands)
                raced = sum(bool(c.get("race")) for c in cands)
                what = f"{raced} to race" if cfg.races() else f"{n} to evaluate"
                print(f"[{out}] {len(cands)} candidate(s), {what}", flush=True)
            case RungScored():
                print(
                    f"[{out}] race: {event.name} at rung {event.rung} "
                    f"({100 * event.budget:.0f}% of the training): dev {100 * event.dev:.2f}",
                    flush=True,
                )
            case RaceDone(race=race):
                print(
                    f"[{out}] race won by {race['winner_name']} ({race['winner_origin']}); "
                    f"cost {race['cost_trainings']} full trainings",
                    flush=True,
                )
            case Evaluated(result=r):
                print(
                    f"[{out}] rank {r['rank']}: dev {100 * r['dev_mean']:.2f} "
                    f"test {100 * (r['test_mean'] or 0):.2f}",
                    flush=True,
                )

    def on_train(info: dict) -> None:  # a training's heartbeat, when its progress bar is off
        if not cfg.train.get("progress", True):
            print(f"[{info['out']}] {progress_words(info)}", flush=True)

    with listen_progress(on_train):
        result = run_protocol(cfg, out, on_event=on_event, reuse=args.reuse)
    print(
        f"best learned model of {cfg.row} on {cfg.data.dataset} (rank {result['best']['rank']} of "
        f"{len(result['evaluated'])} evaluated, chosen on dev):"
    )
    print_result(result["best"])
    r = write_report([out], out / "report")
    print(r["table"], end="")
    print(f"written: {out}/result.json, {r['report']}")
    return 0
