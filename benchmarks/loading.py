"""Benchmark: how long reading the datasets takes (the timing checks that used to be unit tests).

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/loading.py

- ``load_dataset("semeval10")``: the registered SemEval-2010 Task 8 (aim: under 3 s);
- the DDI 2013 corpus read from its zip, train and test (aim: under 10 s, nothing unpacked).

Each is timed ``--repeats`` times in this process (median reported; the first read includes the
imports the reader needs). Writes ``benchmarks/results/loading.json`` and prints the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
AIMS = {"semeval10": 3.0, "ddi_zip_train_test": 10.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(RESULTS / "loading.json"))
    args = ap.parse_args()

    from autorc_nni.data import load_dataset
    from autorc_nni.data.datasets import resolve_data_root
    from autorc_nni.data.readers import READERS

    def read(fmt: str, path: Path, **kw):  # noqa: ANN202
        return READERS.get(fmt)(path, **kw)

    root = resolve_data_root(None)

    def semeval() -> None:
        load_dataset("semeval10", data_root=root)

    def ddi() -> None:
        zip_path = root / "ddi" / "DDICorpus-2013.zip"
        read("ddi", zip_path, subset="Train")
        read("ddi", zip_path, subset="Test")

    figures = {}
    for name, fn in (("semeval10", semeval), ("ddi_zip_train_test", ddi)):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        figures[name] = {
            "seconds": [round(t, 3) for t in times],
            "median_s": round(median, 3),
            "aim_s": AIMS[name],
            "meets_aim": median < AIMS[name],
        }
        print(f"{name}: median {median:.2f} s of {args.repeats} (aim < {AIMS[name]:.0f} s)")
    record = {
        "benchmark": "loading",
        "figures": figures,
        "command": "python benchmarks/loading.py " + " ".join(sys.argv[1:]),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, capture_output=True
        ).stdout.strip(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load avg "
        f"{os.getloadavg()[0]:.1f}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"written: {args.out}")
    return 0 if all(f["meets_aim"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
