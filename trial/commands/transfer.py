"""``autorc transfer``: an architecture learned on one dataset, evaluated on another.

    autorc transfer --arch runs/semeval10/result.json --dataset ddi --out runs/AR_semeval10-ddi
    autorc transfer --arch ARCH.json --from kbp37 --dataset wiki80 --seeds 10 --out runs/t

The architecture's hyper-parameters are tuned again on the target (paper §5.5): the same Optuna
HPO and seeds as every other model. The result is the report row ``AR_<source>``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from autorc_nni.architecture import Architecture, resolve_architecture
from autorc_nni.config import ConfigError
from autorc_nni.hpo import evaluate_architecture
from autorc_nni.pipeline import ReportRow
from trial.commands._common import (
    add_data_args,
    add_hpo_args,
    add_seed_args,
    build_config,
    print_result,
)

# for `autorc --help`, read without importing the command
HELP = "evaluate an architecture found on one dataset on another"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transfer", help=HELP)
    p.add_argument(
        "--arch",
        required=True,
        help="an architecture JSON, or a run's result.json (its best architecture)",
    )
    p.add_argument(
        "--from", dest="source", help="the dataset it was found on (default: read from the file)"
    )
    add_data_args(p)
    add_hpo_args(p)
    add_seed_args(p)
    p.add_argument("--out", required=True, help="output directory")
    p.set_defaults(func=run)


def load_source(path: str) -> tuple[Architecture, str | None]:
    """The architecture and its source dataset from an architecture JSON or a result.json."""
    p = Path(path)
    if p.is_file():
        try:
            data = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p}: line {e.lineno}: invalid JSON: {e.msg}") from None
        if isinstance(data, dict) and data.get("kind") == "pipeline":
            return Architecture.from_dict(data["best"]["architecture"], str(p)), data.get("dataset")
        if isinstance(data, dict) and data.get("kind") == "architecture":
            return Architecture.from_dict(data["architecture"], str(p)), data.get("dataset")
        meta = data.get("_meta", {}) if isinstance(data, dict) else {}
        return resolve_architecture(p), meta.get("dataset") if isinstance(meta, dict) else None
    return resolve_architecture(path), None


def run(args: argparse.Namespace) -> int:
    arch, source = load_source(args.arch)
    source = args.source or source
    if source is None:
        raise ConfigError(f"{args.arch}: cannot tell which dataset it was found on; give --from")
    cfg = build_config(args)
    if Path(str(source)).name == Path(cfg.dataset).name:
        raise ConfigError(
            f"--dataset {cfg.dataset}: the architecture was found on it already "
            "(use `autorc repeat` for that)"
        )
    src = Path(str(source)).name
    meta = {
        "method": "transfer",
        "label": f"AR_{src}",
        "dataset": cfg.dataset,
        "row": asdict(ReportRow(f"AR_{src}", "learned")),
        "transfer_from": str(source),
        "source_file": str(args.arch),
    }
    r = evaluate_architecture(arch, cfg.train_base(), cfg.hpo, cfg.seeds, args.out, meta=meta)
    print(f"AR_{src} on {cfg.dataset}")
    print_result(r)
    print(f"written: {args.out}/result.json")
    return 0
