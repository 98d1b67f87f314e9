"""What the benchmark scripts share: the provenance of a result (date, machine, commit, the
setting) and where it is written (``benchmarks/results/NAME.json``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def provenance(threads: int, setting: dict[str, Any]) -> dict[str, Any]:
    """``{"date", "machine", "commit", "setting"}`` of a result made now, in this checkout."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {threads}",
        "commit": commit,
        "setting": setting,
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``result`` to ``benchmarks/results/{name}.json``; returns the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def train_command(task: str, data: Path, out: Path, threads: int, *extra: str) -> list[str]:
    """``autorc train`` of one benchmark configuration: MiniLM-L6, 1 epoch, max_len 128,
    evaluation batches of 64, seed 1, no progress bar; ``extra`` adds or overrides flags."""
    return [
        sys.executable,
        *("-m", "trial.cli", "train", "--task", task, "--data", str(data)),
        *("--encoder", "minilm", "--epochs", "1", "--max-len", "128"),
        *("--eval-batch-size", "64", "--threads", str(threads), "--seed", "1"),
        *("--out", str(out), "--no-progress", *extra),
    ]
