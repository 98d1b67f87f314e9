"""Benchmark: featurize all of a dataset (default semeval10: train/dev/test, three input formats,
MiniLM tokenizer) cold (fresh cache folder) and cached, and record the figures.

    AUTORC_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/featurize.py

Writes ``benchmarks/results/featurize.json`` (and prints the same figures). The aim on the
project's 2-core machine is cold < 20 s and cached < 2 s for semeval10.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

from autorc_nni.architecture import FORMATS  # noqa: E402
from autorc_nni.data import load_dataset  # noqa: E402
from autorc_nni.encoders import load_tokenizer  # noqa: E402
from autorc_nni.featurize import Featurizer  # noqa: E402

AIM_COLD_S, AIM_CACHED_S = 20.0, 2.0
RESULTS = Path(__file__).resolve().parent / "results"


def featurize_all(tokenizer, data, max_len: int, cache_dir: Path | None) -> tuple[float, dict]:
    """Seconds to featurize every split with a new ``Featurizer``, and per-split counts."""
    t0 = time.perf_counter()
    fz = Featurizer(
        tokenizer,
        max_len=max_len,
        formats=FORMATS,
        cache=cache_dir is not None,
        cache_dir=cache_dir,
    )
    outs = {split: fz.featurize(exs, data.label2id) for split, exs in data.splits.items()}
    seconds = time.perf_counter() - t0
    counts = {
        s: {
            "rows": o.rows.num_rows,
            "truncated": o.truncated,
            "dropped": dict(o.dropped),
            "from_cache": o.from_cache,
        }
        for s, o in outs.items()
    }
    return seconds, counts


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="semeval10")
    p.add_argument("--encoder", default="minilm")
    p.add_argument("--max-len", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3, help="cold and cached runs each (min taken)")
    p.add_argument("--out", type=Path, default=RESULTS / "featurize.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    load_avg = os.getloadavg()[0]

    t0 = time.perf_counter()
    data = load_dataset(args.dataset)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tokenizer = load_tokenizer(args.encoder)
    tok_s = time.perf_counter() - t0

    cold, cached, uncached = [], [], []
    with tempfile.TemporaryDirectory(prefix="autorc-bench-") as tmp:
        for r in range(args.repeats):
            cache_dir = Path(tmp) / f"cold{r}"  # a fresh, empty cache folder each time
            seconds, counts = featurize_all(tokenizer, data, args.max_len, cache_dir)
            assert not any(c["from_cache"] for c in counts.values())
            cold.append(seconds)
        for _ in range(args.repeats):
            seconds, warm_counts = featurize_all(tokenizer, data, args.max_len, Path(tmp) / "cold0")
            assert all(c["from_cache"] for c in warm_counts.values()), "expected cache hits"
            cached.append(seconds)
        for _ in range(args.repeats):  # the same work without writing the cache
            uncached.append(featurize_all(tokenizer, data, args.max_len, None)[0])

    result = {
        "benchmark": "featurize",
        "dataset": args.dataset,
        "encoder": args.encoder,
        "formats": list(FORMATS),
        "max_len": args.max_len,
        "examples": {s: len(e) for s, e in data.splits.items()},
        "splits": counts,
        "cold_s": round(min(cold), 3),
        "cold_runs_s": [round(x, 3) for x in cold],
        "cold_without_cache_write_s": round(min(uncached), 3),
        "cached_s": round(min(cached), 3),
        "cached_runs_s": [round(x, 3) for x in cached],
        "cached_median_s": round(statistics.median(cached), 3),
        "dataset_load_s": round(load_s, 3),
        "tokenizer_load_s": round(tok_s, 3),
        "aim": {"cold_s": AIM_COLD_S, "cached_s": AIM_CACHED_S},
        "meets_aim": min(cold) < AIM_COLD_S and min(cached) < AIM_CACHED_S,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "load_avg_1m_at_start": round(load_avg, 2),  # the machine is shared: context
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "transformers": transformers.__version__,
            "datasets": datasets.__version__,
        },
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{args.dataset} ({', '.join(f'{s} {n}' for s, n in result['examples'].items())}), "
        f"{args.encoder} tokenizer, formats {', '.join(FORMATS)}, max_len {args.max_len}"
    )
    print(
        f"  cold   {result['cold_s']:7.3f} s  (runs {result['cold_runs_s']}; aim < {AIM_COLD_S} s)"
        f"; without writing the cache {result['cold_without_cache_write_s']:.3f} s"
    )
    print(
        f"  cached {result['cached_s']:7.3f} s  (runs {result['cached_runs_s']}; "
        f"aim < {AIM_CACHED_S} s)"
    )
    print(f"  (not timed above: dataset load {load_s:.3f} s, tokenizer load {tok_s:.3f} s)")
    summary = ", ".join(
        f"{s} {c['truncated']}/{sum(c['dropped'].values())}" for s, c in counts.items()
    )
    print(f"  truncated/dropped per split: {summary}")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
