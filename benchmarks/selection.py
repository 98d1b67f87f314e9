"""Benchmark: which signal predicts the stand-alone trained model (the race's evidence).

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/selection.py
    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/selection.py --random 4 --work DIR

On one dataset (default semeval10, the full training split, with ``configs/default.yml``'s
search and training budgets) it trains a set of architectures to the full budget and compares
what each *signal* would have chosen with what full training says:

- the architectures: one AutoRC search's shortlist (its k ranked draws, and the best of each input
  format the draws lack), the hand-made designs BERT-entity and R-BERT, and ``--random`` random
  ones of the space (at least 12 in all);
- every one is fine-tuned stand-alone with the race's setting and training seed, paused at each
  rung of ``--rungs`` (its dev score recorded there, as the race sees it) and resumed to the full
  budget (``pipeline.race.train_to_rung``: the same trainings a race makes);
- the signals: the shared-weight score of the search (searched models only) and each rung's dev
  score; for each, Kendall's tau against the full-budget dev score, and the full-budget rank of
  the model it ranks first;
- the races: for each ``eta`` and first rung, the race replayed on these scores (the same
  synchronous successive halving as ``select: race``): whom it picks, that model's full-budget
  rank and the budget it spends, in full trainings.

Everything is resumable (re-run the same command: finished trainings are read back). Writes
``benchmarks/results/selection.json`` and prints the tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def kendall_tau(a: list[float], b: list[float]) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def replay_race(dev: list[list[float]], rungs: list[int], eta: int, budgets: list[float]):
    """Successive halving over the recorded rung scores ``dev[i][r]``, rungs ``rungs`` (indices
    into the recorded ones, the last = full): (winner index, cost in full trainings)."""
    alive = list(range(len(dev)))
    cost = 0.0
    prev = 0.0
    for j, r in enumerate(rungs):
        cost += len(alive) * (budgets[r] - prev)
        prev = budgets[r]
        if j == len(rungs) - 1:
            break
        keep = max(1, math.ceil(len(alive) / eta))
        alive = sorted(sorted(alive, key=lambda i: (-dev[i][r], i))[:keep])
    return max(alive, key=lambda i: (dev[i][rungs[-1]], -i)), round(cost, 3)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "default.yml"))
    p.add_argument("--dataset", help="override the config's dataset")
    p.add_argument("--random", type=int, default=4, help="random architectures added")
    p.add_argument("--rungs", default="0.111111,0.333333", help="pause points (fractions)")
    p.add_argument("--work", default=str(ROOT / "runs" / "bench-selection"))
    p.add_argument("--out", default=str(RESULTS / "selection.json"))
    args = p.parse_args()

    from pipeline.evaluation import random_architectures
    from pipeline.race import Entrant, entrant_list, train_to_rung
    from pipeline.runner import load_config, search_config
    from strategies.search import run_search

    overrides: dict[str, Any] = {"select": "race"}
    if args.dataset:
        overrides["dataset"] = args.dataset
    cfg = load_config(args.config, overrides)
    work = Path(args.work)
    t0 = time.perf_counter()
    scfg = search_config(cfg, work / "search")
    print(f"[{time.strftime('%H:%M:%S')}] search: {scfg.data.dataset}, {scfg.epochs} epoch(s)")
    ts = time.perf_counter()
    result = run_search(scfg)
    search_seconds = time.perf_counter() - ts
    searched = [
        Entrant(r.architecture, "searched", f"rank {r.rank}", r.score) for r in result.ranking
    ]
    searched += [
        Entrant(r.architecture, "format", f"best {r.architecture.span}", r.score)
        for r in result.format_best
        if r.rank == 0
    ]
    space = cfg.search_space()
    randoms, _ = random_architectures(args.random, cfg.seed + 100, space)
    rand = [Entrant(a, "random", f"random {i + 1}", None) for i, a in enumerate(randoms)]
    entrants = entrant_list([*searched, *rand], ["bert-entity", "r-bert"])
    budgets = [float(x) for x in args.rungs.split(",")] + [1.0]
    setting = cfg.race.setting(cfg.hpo)
    rows = []
    for i, e in enumerate(entrants):
        out = work / "train" / f"{i:02d}"
        out.mkdir(parents=True, exist_ok=True)
        if not (out / "architecture.json").is_file():
            e.architecture.save(out / "architecture.json")
        dev = []
        te = time.perf_counter()
        for r, b in enumerate(budgets):
            dev.append(
                train_to_rung(
                    i,
                    r,
                    b,
                    e,
                    out,
                    cfg.train_base(),
                    setting,
                    cfg.hpo.train_seed,
                    _train_fn(),
                    None,
                )  # fmt: skip
            )
        rung = json.loads((out / f"rung_{len(budgets) - 1}.json").read_text())
        rows.append(
            {
                "name": e.name,
                "origin": e.origin,
                "also": e.also,
                "short": e.architecture.short(),
                "architecture": e.architecture.to_dict(),
                "search_score": e.search_score,
                "dev": dev,
                "full_test": rung.get("test"),
                "train_seconds": rung.get("train_seconds"),
            }
        )
        print(
            f"[{time.strftime('%H:%M:%S')}] {i:2d} {e.name:<12} {e.origin:<8} "
            + " ".join(f"{100 * d:6.2f}" for d in dev)
            + f"  ({time.perf_counter() - te:.0f} s)  {e.architecture.short()}",
            flush=True,
        )
    full = [r["dev"][-1] for r in rows]
    full_rank = {
        i: 1 + sorted(range(len(rows)), key=lambda j: -full[j]).index(i) for i in range(len(rows))
    }

    def signal(name: str, values: list[float | None]) -> dict[str, Any]:
        idx = [i for i, v in enumerate(values) if v is not None]
        pick = max(idx, key=lambda i: (values[i], -i))
        return {
            "signal": name,
            "n": len(idx),
            "kendall_tau": round(kendall_tau([values[i] for i in idx], [full[i] for i in idx]), 3),
            "pick": rows[pick]["name"],
            "pick_full_rank": full_rank[pick],
            "pick_full_dev": full[pick],
        }

    signals = [signal("shared-weight score", [r["search_score"] for r in rows])]
    for r, b in enumerate(budgets[:-1]):
        signals.append(signal(f"dev at {b:.3f} of the training", [row["dev"][r] for row in rows]))
    races = []
    n_r = len(budgets)
    for first in range(n_r - 1):
        for eta in (2, 3, 4):
            ladder = list(range(first, n_r))
            w, cost = replay_race([r["dev"] for r in rows], ladder, eta, budgets)
            races.append(
                {
                    "eta": eta,
                    "rungs": [budgets[j] for j in ladder],
                    "winner": rows[w]["name"],
                    "winner_full_rank": full_rank[w],
                    "winner_full_dev": full[w],
                    "cost_trainings": cost,
                }
            )
    out = {
        "benchmark": "selection",
        "dataset": cfg.data.dataset,
        "encoder": cfg.data.encoder,
        "config": args.config,
        "train": cfg.train,
        "setting": setting,
        "train_seed": cfg.hpo.train_seed,
        "budgets": budgets,
        "search_seconds": round(search_seconds, 1),
        "entrants": rows,
        "best_full": rows[max(range(len(rows)), key=lambda i: full[i])]["name"],
        "signals": signals,
        "races": races,
        "seconds": round(time.perf_counter() - t0, 1),
        "command": " ".join(["python", "benchmarks/selection.py", *sys.argv[1:]]),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, capture_output=True
        ).stdout.strip(),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cpus",
        "date": dt.date.today().isoformat(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print("\nsignal | n | Kendall tau vs full dev | its pick | pick's full rank")
    for s in signals:
        print(
            f"{s['signal']} | {s['n']} | {s['kendall_tau']} | {s['pick']} | {s['pick_full_rank']}"
        )
    print("\neta | rungs | winner | winner's full rank | cost (full trainings)")
    for r in races:
        print(
            f"{r['eta']} | {r['rungs']} | {r['winner']} | {r['winner_full_rank']} | "
            f"{r['cost_trainings']}"
        )
    print(f"written: {args.out}")
    return 0


def _train_fn():
    from pipeline.evaluation import default_train_fn

    return default_train_fn


if __name__ == "__main__":
    sys.exit(main())
