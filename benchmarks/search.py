"""Benchmark: the cost of one AutoRC search epoch relative to one fine-tuning epoch.

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/search.py
    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/search.py --limit-train 2048

Same run, same data, same encoder (MiniLM-L6), same batch size (32), same threads:

- fine-tuning: ``autorc train --arch bert-entity --epochs 1`` on a stratified sample of
``--limit-train``
  training sentences; its ``train_seconds`` (the training loop only, no evaluation) over its
  batches gives the time per train batch;
- search: ``autorc search --method autorc --space M --epochs 1`` on the same sentences (the
  search warm-up is set so the controller is updated at every step, its real per-step cost); its
  loop time over its steps gives the time per search step = 4 child train batches + 1 reward
  batch of 4 x 32 validation sentences (forward only) + the controller's sample and update.

The machine is shared (2 cores, other jobs come and go), so separate processes see different
loads. The ratio is therefore also measured **interleaved in one process** (``--interleaved``,
the default): the search runs with an ``on_step`` hook that, after every search step, runs
``child_steps`` fine-tuning batches of BERT-entity (its own MiniLM copy, AdamW, clipping, the
bucketed loader of ``autorc_nni.batching``: the loop of ``autorc_nni.finetune`` without its
logging) and times them apart, so both see the same load; the separate processes give each
phase's peak memory (and their own, noisier, ratio).

``ratio = (seconds per search step / child_steps) / seconds per fine-tune batch`` is the wall
time of one search epoch over one fine-tuning epoch (both see every training sentence once):
the floor is about 4/3 (a forward pass costs about a third of forward + backward, so the reward
batch adds 4/3 of a train batch per 4 train batches), the aim 1.35 or less. A full semeval10
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
import shutil
import statistics
import subprocess
import time
from pathlib import Path

# benchmarks/_common.py
from _common import RESULTS, ROOT, autorc_command, run_autorc, shown_command

FLOOR, AIM = 4 / 3, 1.35


def _phase(
    command: str, name: str, args: argparse.Namespace, out: Path, *flags: str
) -> tuple[list[str], float]:
    """One phase, ``autorc COMMAND``, run into ``out`` with what both phases share (dataset,
    encoder, batch size, lr 5e-5, seed, the ``--limit-train`` sentences, no checkpoints) and its
    own ``flags``; returns its command and wall time."""
    cmd = autorc_command(
        command,
        *("--dataset", args.dataset, "--encoder", args.encoder),
        *("--batch-size", str(args.batch_size), "--lr", "5e-5", "--seed", str(args.seed)),
        *("--limit-train", str(args.limit_train), "--checkpoint-every", "0", *flags),
        out=out,
        threads=args.threads,
    )
    return cmd, run_autorc(cmd, out, name)


def finetune(args: argparse.Namespace, out: Path) -> dict:
    own = ("--arch", "bert-entity", "--epochs", "1", "--warmup", "0.8", "--limit-eval", "64")
    cmd, wall = _phase("train", "fine-tune", args, out, *own)
    m = json.loads((out / "metrics.json").read_text())
    t = m["throughput"]
    seconds = float(t["train_seconds"])
    batches = -(-int(t["train_sentences"]) // args.batch_size)
    return {
        "train_seconds": seconds,
        "batches": batches,
        "seconds_per_batch": seconds / batches,
        "peak_rss_mb": float(t["peak_rss_mb"]),
        "process_wall_seconds": wall,
        "command": shown_command(cmd),
    }


def search(args: argparse.Namespace, out: Path) -> dict:
    own = ("--space", "M", "--method", "autorc", "--epochs", "1", "--search-warmup", "0")
    own += ("--limit-dev", str(args.limit_dev), "--k", "1", "--top-k", "1")
    cmd, wall = _phase("search", "search", args, out, *own)
    s = json.loads((out / "summary.json").read_text())
    steps = int(s["steps"])
    seconds = float(s["search_seconds_this_process"])
    return {
        "search_seconds": seconds,
        "steps": steps,
        "seconds_per_step": seconds / steps,
        "child_steps": s["config"]["child_steps"],
        "peak_rss_mb": float(s["peak_rss_mb"]),
        "process_wall_seconds": wall,
        "command": shown_command(cmd),
    }


def interleaved(args: argparse.Namespace, out: Path) -> dict:
    """Search and fine-tuning in one process, one fine-tuning block after every search step."""
    import itertools

    import torch
    import torch.nn.functional as F

    from autorc_nni.architecture import PRESETS
    from autorc_nni.batching import make_loader
    from autorc_nni.data.datasets import load_dataset
    from autorc_nni.encoders import load_encoder
    from autorc_nni.featurize import Featurizer
    from autorc_nni.model import RCModel
    from autorc_nni.training import build_optimizer
    from strategies.search import run_search, search_config_from_dict

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tokenizer, encoder = load_encoder(args.encoder, seed=args.seed)
    ds = load_dataset(args.dataset)
    label2id = {lab: i for i, lab in enumerate(ds.labels)}
    rows = (
        Featurizer(tokenizer, formats=("markers",))
        .featurize(ds.splits["train"][: args.limit_train], label2id)
        .rows
    )
    loader = make_loader(
        rows,
        args.batch_size,
        formats=("markers",),
        shuffle=True,
        bucket=True,
        seed=args.seed,
        pad_id=tokenizer.pad_token_id or 0,
    )
    model = RCModel(PRESETS["bert-entity"], encoder, len(ds.labels))
    model.train()
    optimizer = build_optimizer(model, 5e-5, 0.01)
    batches = itertools.cycle(loader)
    finetune = {"seconds": 0.0, "batches": 0}
    child_steps = 4
    spans: dict[str, int] = {}

    def fine_tune_block(step: int, stats: dict) -> None:
        span = str(stats["sample"].get("span"))
        spans[span] = spans.get(span, 0) + 1
        t0 = time.perf_counter()
        for _ in range(child_steps):
            batch = next(batches)
            loss = F.cross_entropy(model(batch), batch["labels"])  # (B, C)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            finetune["batches"] += 1
        finetune["seconds"] += time.perf_counter() - t0

    if out.exists():
        shutil.rmtree(out)
    cfg = search_config_from_dict(
        dict(
            dataset=args.dataset,
            encoder=args.encoder,
            space="M",
            method="autorc",
            epochs=1.0,
            batch_size=args.batch_size,
            lr=5e-5,
            search_warmup_epochs=0.0,
            child_steps=child_steps,
            seed=args.seed,
            limit_train=args.limit_train,
            limit_dev=args.limit_dev,
            k=1,
            top_k=1,
            checkpoint_every=0,
            progress=False,
            out=str(out),
        )
    )
    print(
        f"[{time.strftime('%H:%M:%S')}] interleaved search + fine-tuning in one process", flush=True
    )
    result = run_search(cfg, on_step=fine_tune_block)
    search_seconds = result.search_seconds - finetune["seconds"]
    per_step = search_seconds / result.steps
    per_batch = finetune["seconds"] / finetune["batches"]
    return {
        "search_seconds": search_seconds,
        "steps": result.steps,
        "seconds_per_step": per_step,
        "finetune_seconds": finetune["seconds"],
        "finetune_batches": finetune["batches"],
        "finetune_seconds_per_batch": per_batch,
        "sampled_spans": spans,
        "ratio": (per_step / cfg.child_steps) / per_batch,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dataset", default="semeval10")
    p.add_argument("--encoder", default="minilm")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--limit-train", type=int, default=1024, help="sentences measured per phase")
    p.add_argument(
        "--limit-dev", type=int, default=512, help="validation rows for the reward batches"
    )
    p.add_argument("--full-train", type=int, default=6507, help="train sentences of a full epoch")
    p.add_argument(
        "--repeats", type=int, default=1, help="alternate the two phases this many times"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--runs", default=str(ROOT / "runs" / "bench-search"))
    p.add_argument(
        "--no-interleaved",
        dest="interleaved",
        action="store_false",
        help="skip the one-process interleaved measurement",
    )
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
    ratio_processes = (per_step / child_steps) / per_batch
    inter = interleaved(args, runs / "interleaved") if args.interleaved else None
    ratio = inter["ratio"] if inter else ratio_processes
    full_batches = -(-args.full_train // args.batch_size)
    full_steps = args.full_train // (args.batch_size * child_steps)
    result = {
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        or None,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "python": platform.python_version(),
        },
        "dataset": args.dataset,
        "encoder": args.encoder,
        "batch_size": args.batch_size,
        "measured_on_train_sentences": args.limit_train,
        "reward_rows": args.limit_dev,
        "ratio_search_epoch_over_finetune_epoch": ratio,
        "ratio_from": "interleaved (one process)" if inter else "separate processes",
        "ratio_separate_processes": ratio_processes,
        "interleaved": inter,
        "floor": FLOOR,
        "aim": AIM,
        "meets_aim": ratio <= AIM,
        "finetune": {
            "seconds_per_batch": per_batch,
            "runs": fts,
            "peak_rss_mb": max(f["peak_rss_mb"] for f in fts),
            "extrapolated_epoch_seconds": per_batch * full_batches,
            "full_epoch_batches": full_batches,
        },
        "search": {
            "seconds_per_step": per_step,
            "child_steps": child_steps,
            "runs": ses,
            "peak_rss_mb": max(s["peak_rss_mb"] for s in ses),
            "extrapolated_epoch_seconds": per_step * full_steps,
            "full_epoch_steps": full_steps,
        },
        "note": (
            f"both phases measured on the same stratified sample of {args.limit_train} "
            "training sentences; "
            f"per-epoch times extrapolated linearly to {args.full_train} sentences"
        ),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"fine-tune: {per_batch:.3f} s/batch, peak RSS {result['finetune']['peak_rss_mb']:.0f} MiB"
    )
    print(
        f"search   : {per_step:.3f} s/step ({child_steps} batches + reward), "
        f"peak RSS {result['search']['peak_rss_mb']:.0f} MiB"
    )
    print(f"separate processes: search epoch / fine-tune epoch = {ratio_processes:.3f}")
    if inter:
        print(
            f"interleaved: search {inter['seconds_per_step']:.3f} s/step, fine-tune "
            f"{inter['finetune_seconds_per_batch']:.3f} s/batch"
        )
    print(f"search epoch / fine-tune epoch = {ratio:.3f} (floor {FLOOR:.2f}, aim <= {AIM})")
    print(f"wrote {RESULTS / 'search.json'}")


if __name__ == "__main__":
    main()
