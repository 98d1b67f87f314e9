"""Benchmark: which settings work for the default encoder (MiniLM-L6), measured, not guessed.

The paper's grid (lr 1e-5 … 1e-4) and its search learning rates were tuned for BERT-base. This
benchmark measures, for the encoder given (default ``minilm``) on a dataset (default semeval10),

- ``finetune``: BERT-entity fine-tuned at each learning rate of ``--lrs`` (same epochs, batch,
  warm-up and seed): dev and test micro-F1. The defaults of ``configs/default.yml`` are chosen on
  **dev** (never on test);
- ``search``: the AutoRC search at each (shared-weight lr, controller lr, search warm-up) of
  ``--search-grid``: how far the controller moved (entropy at the start and the end of the
  search, the probability of the greedy path) and the shared-weight dev score of the rank-1
  candidate.

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/settings.py finetune \
        --lrs 2e-5 5e-5 1e-4 2e-4 --epochs 2
    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/settings.py search \
        --search-grid 1e-4:1e-3:0.2 1e-4:5e-3:0.2 3e-4:5e-3:0.2:0.1

Every configuration runs as its own ``autorc`` process. Results are merged into
``benchmarks/results/settings.json`` (keyed by part and setting) and printed as a table; run
outputs go to ``runs/settings/`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

# benchmarks/_common.py
from _common import RESULTS, ROOT, autorc_command, machine, run_autorc, shown_command


def _run_or_reuse(cmd: list[str], out: Path, done: str, fresh: bool, recorded_seconds):
    """Run ``cmd`` into ``out`` unless ``out/done`` is there (measured before, and ``fresh`` not
    asked); returns that file's JSON and the wall time (the recorded one for a reused run)."""
    if (out / done).is_file() and not fresh:
        print(f"reusing {out} (--fresh to run it again)", flush=True)
        data = json.loads((out / done).read_text())
        return data, recorded_seconds(data)
    wall = run_autorc(cmd, out)
    return json.loads((out / done).read_text()), wall


def finetune(args: argparse.Namespace) -> dict:
    rows = {}
    for lr in args.lrs:
        out = args.runs / f"finetune-{args.dataset}-lr{lr:g}-e{args.epochs}"
        cmd = autorc_command(
            "train",
            *("--arch", args.arch, "--dataset", args.dataset, "--encoder", args.encoder),
            *("--lr", f"{lr:g}", "--batch-size", str(args.batch_size)),
            *("--warmup", str(args.warmup), "--epochs", str(args.epochs), "--seed", str(args.seed)),
            out=out,
            threads=args.threads,
        )
        if args.limit_train:
            cmd += ["--limit-train", str(args.limit_train)]
        m, wall = _run_or_reuse(
            cmd, out, "metrics.json", args.fresh, lambda m: m["throughput"]["train_seconds"]
        )
        rows[f"{args.arch}@lr{lr:g}"] = {
            "lr": lr,
            "dev_micro_f1": m["dev"]["micro_f1"],
            "test_micro_f1": m["test"]["micro_f1"],
            "test_official": m["test"].get("semeval_official"),
            "best_epoch": m["best_epoch"],
            "wall_seconds": wall,
            "command": shown_command(cmd, out),
        }
    best = max(rows.values(), key=lambda r: r["dev_micro_f1"])
    return {
        "rows": rows,
        "chosen_on_dev": {"lr": best["lr"], "dev_micro_f1": best["dev_micro_f1"]},
        "setting": {
            "arch": args.arch,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "warmup": args.warmup,
            "seed": args.seed,
            "limit_train": args.limit_train,
        },
    }


def _scalars(logdir: Path, tag: str) -> list[tuple[int, float]]:
    from pipeline.report import read_scalars

    return read_scalars(logdir, tag).get(tag, [])


def search(args: argparse.Namespace) -> dict:
    rows = {}
    for spec in args.search_grid:
        values = [float(x) for x in spec.split(":")]
        if len(values) not in (3, 4):
            raise SystemExit(
                f"--search-grid {spec!r}: expected lr:controller_lr:warmup[:enc_warmup]"
            )
        lr, clr, warm = values[:3]
        enc = values[3] if len(values) == 4 else args.encoder_warmup
        out = args.runs / f"search-{args.dataset}-lr{lr:g}-clr{clr:g}-w{warm:g}-ew{enc:g}"
        cmd = autorc_command(
            "search",
            *("--dataset", args.dataset, "--encoder", args.encoder),
            *(
                "--epochs",
                str(args.search_epochs),
                "--lr",
                f"{lr:g}",
                "--controller-lr",
                f"{clr:g}",
            ),
            *("--search-warmup", f"{warm:g}", "--encoder-warmup", f"{enc:g}"),
            *("--batch-size", str(args.search_batch_size), "--child-steps", str(args.child_steps)),
            *("--reward-batch-mult", str(args.reward_batch_mult), "--k", str(args.k)),
            *("--top-k", "1", "--max-len", "128", "--limit-dev", str(args.limit_dev)),
            *("--seed", str(args.seed)),
            out=out,
            threads=args.threads,
        )
        if args.limit_train:
            cmd += ["--limit-train", str(args.limit_train)]
        summary, wall = _run_or_reuse(
            cmd, out, "summary.json", args.fresh, lambda s: s.get("search_seconds_this_process")
        )
        ranking = json.loads((out / "ranking.json").read_text())
        entropy = _scalars(out / "tensorboard", "search/entropy")
        reward = [v for _, v in _scalars(out / "tensorboard", "search/reward")]
        q = max(1, len(reward) // 4)
        rows[spec] = {
            "lr": lr,
            "controller_lr": clr,
            "search_warmup_epochs": warm,
            "encoder_warmup_epochs": enc,
            "steps": summary["steps"],
            "warmup_steps": summary["search_warmup_steps"],
            "entropy_start": entropy[0][1] if entropy else None,
            "entropy_end": entropy[-1][1] if entropy else None,
            "reward_first_quarter": sum(reward[:q]) / q if reward else None,
            "reward_last_quarter": sum(reward[-q:]) / q if reward else None,
            "rank1_shared_score": ranking[0]["score"],
            "distinct_candidates": len(ranking),
            "wall_seconds": wall,
            "command": shown_command(cmd, out),
        }
    return {
        "rows": rows,
        "setting": {
            "epochs": args.search_epochs,
            "k": args.k,
            "batch_size": args.search_batch_size,
            "child_steps": args.child_steps,
            "reward_batch_mult": args.reward_batch_mult,
            "limit_dev": args.limit_dev,
            "limit_train": args.limit_train,
            "seed": args.seed,
        },
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=["finetune", "search"])
    p.add_argument("--dataset", default="semeval10")
    p.add_argument("--encoder", default="minilm")
    p.add_argument("--arch", default="bert-entity")
    p.add_argument("--lrs", type=float, nargs="+", default=[2e-5, 5e-5, 1e-4, 2e-4])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--warmup", type=float, default=0.8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument(
        "--search-grid",
        nargs="+",
        default=["1e-4:1e-3:0.25", "1e-4:3e-3:0.25"],
        help="lr:controller_lr:search_warmup_epochs[:encoder_warmup_epochs] entries",
    )
    p.add_argument("--search-epochs", type=float, default=1.0)
    p.add_argument(
        "--encoder-warmup",
        type=float,
        default=0.8,
        help="shared-weight LR warm-up in epochs when a grid entry gives none",
    )
    p.add_argument("--search-batch-size", type=int, default=16)
    p.add_argument("--child-steps", type=int, default=2)
    p.add_argument("--reward-batch-mult", type=int, default=2)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--limit-dev", type=int, default=300)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "settings")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="run every configuration again (default: reuse a finished run folder)",
    )
    p.add_argument("--out", type=Path, default=RESULTS / "settings.json")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.runs.mkdir(parents=True, exist_ok=True)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    part = finetune(args) if args.part == "finetune" else search(args)
    part["machine"] = {
        **machine(args.threads, load_before),
        "wall_seconds": time.perf_counter() - t0,
    }
    part["command"] = shlex.join(
        ["python", "benchmarks/settings.py", *(argv if argv is not None else sys.argv[1:])]
    )
    key = f"{args.part}:{args.dataset}:{args.encoder}"
    if key in results:  # keep the rows of earlier invocations (same part, dataset, encoder)
        part["rows"] = {**results[key].get("rows", {}), **part["rows"]}
        part["earlier_commands"] = [
            *results[key].get("earlier_commands", []),
            results[key].get("command"),
        ]
        if args.part == "finetune":
            best = max(part["rows"].values(), key=lambda r: r["dev_micro_f1"])
            part["chosen_on_dev"] = {"lr": best["lr"], "dev_micro_f1": best["dev_micro_f1"]}
    results[key] = part
    results["benchmark"] = "settings"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, args.out)
    for name, r in part["rows"].items():
        figures = {
            k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in r.items()
            if k not in ("command",)
        }
        print(name, figures)
    return results


if __name__ == "__main__":
    main()
