"""Benchmark: the cost of one AutoRC search epoch relative to one fine-tuning epoch.

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/search.py
    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/search.py --limit-train 2048

Same run, same data, same encoder (MiniLM-L6), same batch size (32), same threads:

- fine-tuning: ``autorc train --arch bert-entity --epochs 1`` on the first ``--limit-train``
  training sentences; its ``train_seconds`` (the training loop only, no evaluation) over its
  batches gives the time per train batch;
- search: ``autorc search --method autorc --space M --epochs 1`` on the same sentences (the
  search warm-up is set so the controller is updated at every step, its real per-step cost); its
  loop time over its steps gives the time per search step = 4 child train batches + 1 reward
  batch of 4 x 32 validation sentences (forward only) + the controller's sample and update.

``ratio = (seconds per search step / child_steps) / seconds per fine-tune batch`` is the wall
time of one search epoch over one fine-tuning epoch (both see every training sentence once):
the floor is about 4/3 (a forward pass costs about a third of forward + backward, so the reward
batch adds 4/3 of a train batch per 4 train batches), the aim 1.4 or less. A full semeval10
epoch (6,507 sentences) takes long on a 2-core CPU, so both are measured on the same
``--limit-train`` sentences and the per-epoch times are extrapolated linearly to the full split
(stated in the results). Each phase is its own process, so each peak RSS is its own; the phases
alternate ``--repeats`` times and the medians are reported (the machine is shared and noisy).

Writes ``benchmarks/results/search.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FLOOR, AIM = 4 / 3, 1.4


def _run(cmd: list[str], name: str) -> float:
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {shlex.join(['autorc', *cmd[3:]])}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def finetune(args: argparse.Namespace, out: Path) -> dict:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "trial.cli", "train", "--arch", "bert-entity",
           "--dataset", args.dataset, "--encoder", args.encoder, "--epochs", "1",
           "--batch-size", str(args.batch_size), "--lr", "5e-5", "--warmup", "0.8",
           "--seed", str(args.seed), "--limit-train", str(args.limit_train),
           "--limit-eval", "64", "--threads", str(args.threads), "--no-progress",
           "--checkpoint-every", "0", "--out", str(out)]
    wall = _run(cmd, "fine-tune")
    m = json.loads((out / "metrics.json").read_text())
    t = m["throughput"]
    seconds = float(t["train_seconds"])
    batches = -(-int(t["train_sentences"]) // args.batch_size)
    return {"train_seconds": seconds, "batches": batches, "seconds_per_batch": seconds / batches,
            "peak_rss_mb": float(t["peak_rss_mb"]), "process_wall_seconds": wall,
            "command": shlex.join(["autorc", *cmd[3:]])}


def search(args: argparse.Namespace, out: Path) -> dict:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "trial.cli", "search", "--dataset", args.dataset,
           "--encoder", args.encoder, "--space", "M", "--method", "autorc", "--epochs", "1",
           "--batch-size", str(args.batch_size), "--lr", "5e-5", "--search-warmup", "0",
           "--seed", str(args.seed), "--limit-train", str(args.limit_train),
           "--limit-dev", str(args.limit_dev), "--k", "1", "--top-k", "1",
           "--checkpoint-every", "0", "--threads", str(args.threads), "--no-progress",
           "--out", str(out)]
    wall = _run(cmd, "search")
    s = json.loads((out / "summary.json").read_text())
    steps = int(s["steps"])
    seconds = float(s["search_seconds_this_process"])
    return {"search_seconds": seconds, "steps": steps, "seconds_per_step": seconds / steps,
            "child_steps": s["config"]["child_steps"], "peak_rss_mb": float(s["peak_rss_mb"]),
            "process_wall_seconds": wall, "command": shlex.join(["autorc", *cmd[3:]])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="semeval10")
    p.add_argument("--encoder", default="minilm")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--limit-train", type=int, default=1024, help="sentences measured per phase")
    p.add_argument("--limit-dev", type=int, default=512, help="validation rows for the reward batches")
    p.add_argument("--full-train", type=int, default=6507, help="train sentences of a full epoch")
    p.add_argument("--repeats", type=int, default=1, help="alternate the two phases this many times")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--runs", default=str(ROOT / "runs" / "bench-search"))
    args = p.parse_args()
    if args.limit_train < args.batch_size * 4:
        raise SystemExit("--limit-train must hold at least one search step (4 batches)")
    runs = Path(args.runs)
    fts, ses = [], []
    for i in range(args.repeats):
        fts.append(finetune(args, runs / f"finetune{i}"))
        ses.append(search(args, runs / f"search{i}"))
    per_batch = statistics.median(f["seconds_per_batch"] for f in fts)
    per_step = statistics.median(s["seconds_per_step"] for s in ses)
    child_steps = ses[0]["child_steps"]
    ratio = (per_step / child_steps) / per_batch
    full_batches = -(-args.full_train // args.batch_size)
    full_steps = args.full_train // (args.batch_size * child_steps)
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": args.threads,
                    "python": platform.python_version()},
        "dataset": args.dataset, "encoder": args.encoder, "batch_size": args.batch_size,
        "measured_on_train_sentences": args.limit_train, "reward_rows": args.limit_dev,
        "ratio_search_epoch_over_finetune_epoch": ratio,
        "floor": FLOOR, "aim": AIM, "meets_aim": ratio <= AIM,
        "finetune": {"seconds_per_batch": per_batch, "runs": fts,
                     "peak_rss_mb": max(f["peak_rss_mb"] for f in fts),
                     "extrapolated_epoch_seconds": per_batch * full_batches,
                     "full_epoch_batches": full_batches},
        "search": {"seconds_per_step": per_step, "child_steps": child_steps, "runs": ses,
                   "peak_rss_mb": max(s["peak_rss_mb"] for s in ses),
                   "extrapolated_epoch_seconds": per_step * full_steps,
                   "full_epoch_steps": full_steps},
        "note": (f"both phases measured on the first {args.limit_train} training sentences; "
                 f"per-epoch times extrapolated linearly to {args.full_train} sentences"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"fine-tune: {per_batch:.3f} s/batch, peak RSS {result['finetune']['peak_rss_mb']:.0f} MiB")
    print(f"search   : {per_step:.3f} s/step ({child_steps} batches + reward), "
          f"peak RSS {result['search']['peak_rss_mb']:.0f} MiB")
    print(f"search epoch / fine-tune epoch = {ratio:.3f} (floor {FLOOR:.2f}, aim <= {AIM})")
    print(f"wrote {RESULTS / 'search.json'}")


if __name__ == "__main__":
    main()
