"""What the benchmark scripts share: the provenance of a result (date, machine, commit, the
setting), where it is written (``benchmarks/results/NAME.json``), the ``autorc`` processes they
run and the Markdown tables they print."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
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


def machine(threads: int, load_before: tuple[float, ...]) -> dict[str, Any]:
    """The machine of a measurement that ends now: Python, torch, cores and torch threads, the
    load average when it began (``load_before``) and now (the machine is shared), the date."""
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "threads": threads,
        "load_avg_before": load_before,
        "load_avg_after": os.getloadavg(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
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


def autorc_command(command: str, *flags: str, out: Path, threads: int) -> list[str]:
    """``autorc COMMAND FLAGS… --out OUT --threads THREADS --no-progress``, run by this Python
    (``python -m trial.cli``)."""
    return [
        sys.executable,
        *("-m", "trial.cli", command, *flags),
        *("--out", str(out), "--threads", str(threads), "--no-progress"),
    ]


def shown_command(cmd: list[str], out: Path | None = None) -> str:
    """``cmd`` (an ``autorc_command``) as ``autorc …``; ``out``, when given and inside the
    project, relative to its root."""
    shown = [
        str(out.relative_to(ROOT))
        if out is not None and c == str(out) and out.is_relative_to(ROOT)
        else c
        for c in cmd[3:]
    ]
    return shlex.join(["autorc", *shown])


def run_autorc(cmd: list[str], out: Path, name: str | None = None) -> float:
    """Run ``cmd`` (an ``autorc_command``) from the project root into a fresh ``out`` (removed
    first), its output captured; says when it starts (``name: `` before the command when
    given) and exits with the end of its stderr if it fails. Returns its wall time in seconds."""
    if out.exists():
        shutil.rmtree(out)
    said = f"{name}: " if name else ""
    print(f"[{time.strftime('%H:%M:%S')}] {said}{shown_command(cmd)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        failed = name or shlex.join(cmd)
        raise SystemExit(f"{failed} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def print_table(header: Sequence[str], align: str, rows: Iterable[Sequence[object]]) -> None:
    """Print a Markdown table: ``header``, a column each, aligned by ``align`` (``l`` or ``r`` a
    column), then ``rows``."""
    print("| " + " | ".join(header) + " |")
    print("|" + "".join("---:|" if a == "r" else "---|" for a in align))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
