"""``autorc hpo``: Optuna random search of the fine-tuning hyper-parameters of one architecture.

    autorc hpo --arch bert-entity --dataset semeval10 --trials 10 --out runs/hpo-be
    autorc hpo --arch runs/s0/search/top/rank_01.json --dataset semeval10 \\
        --storage postgresql://user@db/optuna --study be-semeval --out runs/hpo-be-worker2
"""

from __future__ import annotations

import argparse

from autorc_nni.architecture import PRESETS, resolve_architecture
from pipeline.evaluation import run_hpo
from trial.commands._common import add_data_args, add_hpo_args, build_config

# for `autorc --help`, read without importing the command
HELP = "Optuna HPO (lr, batch, warm-up) of one architecture on dev"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hpo", help=HELP)
    p.add_argument(
        "--arch", required=True, help=f"a preset ({', '.join(PRESETS)}) or an architecture JSON"
    )
    add_data_args(p)
    add_hpo_args(p, pruning=True)
    p.add_argument(
        "--out", required=True, help="study directory (trials/SSS, one per budget slot; hpo.json)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    arch = resolve_architecture(args.arch)
    cfg = build_config(args)
    r = run_hpo(arch, cfg.train_base(), cfg.hpo, args.out)
    print(f"{'trial':>5} {'slot':>4}  {'state':<8} {'lr':>8} {'batch':>5} {'warmup':>6}  dev")
    for t in r["trials"]:
        p = t["params"]
        dev = "-" if t["dev"] is None else f"{100 * t['dev']:.2f}"
        same = f"  (= trial {t['same_as']})" if t.get("same_as") is not None else ""
        slot = "-" if t.get("slot") is None else t["slot"]
        print(
            f"{t['number']:>5} {slot:>4}  {t['state']:<8} {p.get('lr', '-'):>8} "
            f"{p.get('batch_size', '-'):>5} {p.get('warmup', '-'):>6}  {dev}{same}"
        )
    if r.get("skipped"):
        print(f"setting {r['best_params']}: {r['skipped']}")
    else:
        print(f"best: trial {r['best_trial']} {r['best_params']} dev {100 * r['best_dev']:.2f}")
    print(f"written: {args.out}/hpo.json")
    return 0
