"""``autorc repeat``: one architecture's chosen setting over N seeds; mean ± std on dev and test.

    autorc repeat --arch bert-entity --dataset semeval10 --hpo runs/hpo-be --seeds 10 --out runs/be
    autorc repeat --arch r-bert --dataset semeval10 --lr 2e-5 --batch-size 32 --warmup 0.8 \\
        --seeds 10 --out runs/rbert
    autorc repeat --arch ARCH.json --dataset semeval10 --seeds 10 --out runs/ar  # HPO first

Without --hpo or an explicit setting, the HPO runs first (in OUT/hpo): that is the whole
evaluation protocol of one architecture. ``OUT/result.json`` is what ``autorc report`` reads.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from autorc_nni.architecture import PRESETS, resolve_architecture
from autorc_nni.config import ConfigError
from autorc_nni.files import atomic_write_json
from autorc_nni.hpo import evaluate_architecture, run_seeds
from autorc_nni.pipeline import fixed_row
from trial.commands._common import (
    add_data_args,
    add_hpo_args,
    add_seed_args,
    build_config,
    print_result,
)

# for `autorc --help`, read without importing the command
HELP = "train a chosen setting over several seeds (mean ± std)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("repeat", help=HELP)
    p.add_argument(
        "--arch", required=True, help=f"a preset ({', '.join(PRESETS)}) or an architecture JSON"
    )
    add_data_args(p)
    add_seed_args(p)
    src = p.add_argument_group("the setting (default: run the HPO first)")
    src.add_argument("--hpo", metavar="DIR", help="take the best setting of this HPO directory")
    src.add_argument("--lr", type=float)
    src.add_argument("--batch-size", type=int)
    src.add_argument("--warmup", type=float, help="warm-up length in epochs")
    add_hpo_args(p)
    p.add_argument("--label", help="row name in reports (default: the architecture's name)")
    p.add_argument("--out", required=True, help="output directory (seeds/, result.json)")
    p.set_defaults(func=run)


def _explicit(args: argparse.Namespace) -> dict | None:
    given = {"lr": args.lr, "batch_size": args.batch_size, "warmup": args.warmup}
    if all(v is None for v in given.values()):
        return None
    missing = [k for k, v in given.items() if v is None]
    if missing:
        raise ConfigError(f"give all of --lr, --batch-size, --warmup (missing {missing})")
    return given


def run(args: argparse.Namespace) -> int:
    arch = resolve_architecture(args.arch)
    cfg = build_config(args)
    label = args.label or (args.arch if args.arch in PRESETS else Path(args.arch).stem)
    meta = {
        "method": args.arch if args.arch in PRESETS else "architecture",
        "label": label,
        "dataset": cfg.dataset,
        "row": asdict(fixed_row(args.arch if args.arch in PRESETS else label, args.label)),
    }
    out = Path(args.out)
    params = _explicit(args)
    if args.hpo and params:
        raise ConfigError("give either --hpo DIR or --lr/--batch-size/--warmup, not both")
    if args.hpo:
        hpo_file = Path(args.hpo) / "hpo.json"
        if not hpo_file.is_file():
            raise ConfigError(f"{hpo_file}: no finished HPO there (run `autorc hpo` first)")
        params = json.loads(hpo_file.read_text())["best_params"]
    if params is None:
        r = evaluate_architecture(arch, cfg.train_base(), cfg.hpo, cfg.seeds, out, meta=meta)
    else:
        s = run_seeds(arch, cfg.train_base(), params, cfg.seeds, out / "seeds")
        r = {
            "kind": "architecture",
            **meta,
            "architecture": arch.to_dict(),
            "params": params,
            **{
                k: s[k]
                for k in (
                    "metric",
                    "seeds",
                    "dev",
                    "test",
                    "dev_mean",
                    "dev_std",
                    "test_mean",
                    "test_std",
                )
            },
        }
        atomic_write_json(out / "result.json", r)
    print_result(r)
    print(f"written: {out}/result.json")
    return 0
