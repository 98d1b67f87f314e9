"""``autorc repeat``: one architecture's chosen setting over N seeds; mean ± std on dev and test.

    autorc repeat --arch bert-entity --dataset semeval10 --hpo runs/hpo-be --seeds 10 --out runs/be
    autorc repeat --arch r-bert --dataset semeval10 --lr 2e-5 --batch-size 32 --warmup 0.8 \\
        --seeds 10 --out runs/rbert
    autorc repeat --arch ARCH.json --dataset semeval10 --seeds 10 --out runs/ar  # HPO first
    autorc repeat --arch runs/semeval10/result.json --from semeval10 --dataset ddi --out runs/t

Without --hpo or an explicit setting, the HPO runs first (in OUT/hpo): that is the whole
evaluation protocol of one architecture. ``OUT/result.json`` is what ``autorc report`` reads.
With ``--from DATASET`` it is a transfer (paper §5.5): the architecture learned on DATASET, its
hyper-parameters tuned again on the target, reported as the row ``AR_<DATASET>``; ``autorc
transfer`` is this command with the source read from the file when ``--from`` is left out.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from autorc_nni.architecture import PRESETS, Architecture, resolve_architecture
from autorc_nni.config import ConfigError
from autorc_nni.files import atomic_write_json, read_json
from pipeline.evaluation import evaluate_architecture, run_seeds
from pipeline.methods import ReportRow, fixed_row
from trial.commands._common import (
    add_data_args,
    add_hpo_args,
    add_seed_args,
    build_config,
    print_result,
)

# for `autorc --help`, read without importing the command
HELP = "train a chosen setting over several seeds (mean ± std)"


def add_repeat_args(p: argparse.ArgumentParser, transfer: bool = False) -> None:
    """The flags of ``repeat``; ``transfer`` makes a source dataset required (``autorc
    transfer`` is ``repeat`` with one)."""
    p.add_argument(
        "--arch",
        required=True,
        help=f"a preset ({', '.join(PRESETS)}), an architecture JSON, or a run's result.json "
        "(its best architecture)",
    )
    p.add_argument(
        "--from",
        dest="source",
        help="the dataset the architecture was found on: it is then evaluated as a transfer, "
        "report row AR_<source>" + (" (default: read from the file)" if transfer else ""),
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
    p.set_defaults(func=run, transfer=transfer)


def register(sub: argparse._SubParsersAction) -> None:
    add_repeat_args(sub.add_parser("repeat", help=HELP))


def load_source(path: str) -> tuple[Architecture, str | None]:
    """The architecture and its source dataset from an architecture JSON or a result.json."""
    p = Path(path)
    if p.is_file():
        data = read_json(p, ConfigError)
        if isinstance(data, dict) and data.get("kind") == "pipeline":
            return Architecture.from_dict(data["best"]["architecture"], str(p)), data.get("dataset")
        if isinstance(data, dict) and data.get("kind") == "architecture":
            return Architecture.from_dict(data["architecture"], str(p)), data.get("dataset")
        meta = data.get("_meta", {}) if isinstance(data, dict) else {}
        return resolve_architecture(p), meta.get("dataset") if isinstance(meta, dict) else None
    return resolve_architecture(path), None


def _explicit(args: argparse.Namespace) -> dict | None:
    given = {"lr": args.lr, "batch_size": args.batch_size, "warmup": args.warmup}
    if all(v is None for v in given.values()):
        return None
    missing = [k for k, v in given.items() if v is None]
    if missing:
        raise ConfigError(f"give all of --lr, --batch-size, --warmup (missing {missing})")
    return given


def run(args: argparse.Namespace) -> int:
    arch, found_on = load_source(args.arch)
    source = args.source or (found_on if args.transfer else None)
    if args.transfer and source is None:
        raise ConfigError(f"{args.arch}: cannot tell which dataset it was found on; give --from")
    cfg = build_config(args)
    if source is not None:  # a transfer: the architecture learned on another dataset
        src = Path(str(source)).name
        if src == Path(cfg.data.dataset).name:
            raise ConfigError(
                f"--dataset {cfg.data.dataset}: the architecture was found on it already "
                "(leave out --from to repeat it there)"
            )
        label = args.label or f"AR_{src}"
        meta = {
            "method": "transfer",
            "label": label,
            "dataset": cfg.data.dataset,
            "row": asdict(ReportRow(label, "learned")),
            "transfer_from": str(source),
            "source_file": str(args.arch),
        }
    else:
        label = args.label or (args.arch if args.arch in PRESETS else Path(args.arch).stem)
        name = args.arch if args.arch in PRESETS else label
        meta = {
            "method": args.arch if args.arch in PRESETS else "architecture",
            "label": label,
            "dataset": cfg.data.dataset,
            "row": asdict(fixed_row(name, args.label)),
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
        keys = ("metric", "seeds", "dev", "test", "dev_mean", "dev_std", "test_mean", "test_std")
        r = {
            "kind": "architecture",
            **meta,
            "architecture": arch.to_dict(),
            "params": params,
            **{k: s[k] for k in keys},
        }
        atomic_write_json(out / "result.json", r)
    print(f"{label} on {cfg.data.dataset}")
    print_result(r)
    print(f"written: {out}/result.json")
    return 0
