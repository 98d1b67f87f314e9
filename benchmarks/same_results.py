"""Do two run folders hold the same results? Behaviour-unchanged evidence for a refactor.

    .venv/bin/python benchmarks/same_results.py OLD_RUN NEW_RUN [--new-keys task,task_options]

Typically the reference runs of ``benchmarks/faults.py --keep DIR`` made at two commits. Every
JSON file of either folder is compared value by value, after the old folder's path is replaced by
the new one's; wall-clock fields are left out, and so are the keys a newer version adds on
purpose (``--new-keys``). Every ``test_predictions.jsonl`` is compared byte for byte. Prints
each difference and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import filecmp
import json
from pathlib import Path
from typing import Any

TIMING = {
    "seconds",
    "train_seconds",
    "throughput",
    "peak_rss_mb",
    "eval_sentences_per_s",
    "search_seconds_this_process",
}


def differences(old: Path, new: Path, skip: set[str]) -> list[str]:
    out: list[str] = []

    def walk(name: str, a: Any, b: Any, at: str) -> None:
        if type(a) is not type(b):
            out.append(f"{name}{at}: {a!r:.60} -> {b!r:.60}")
        elif isinstance(a, dict):
            for k in sorted(set(a) | set(b)):
                if k not in skip:
                    walk(name, a.get(k), b.get(k), f"{at}.{k}")
        elif isinstance(a, list):
            if len(a) != len(b):
                out.append(f"{name}{at}: {len(a)} items -> {len(b)}")
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(name, x, y, f"{at}[{i}]")
        elif a != b:
            out.append(f"{name}{at}: {a!r:.60} -> {b!r:.60}")

    names = {p.relative_to(old) for p in old.rglob("*.json")}
    names |= {p.relative_to(new) for p in new.rglob("*.json")}
    for rel in sorted(names):
        if not (old / rel).is_file() or not (new / rel).is_file():
            out.append(f"{rel}: only in {'new' if (new / rel).is_file() else 'old'}")
            continue
        text = (old / rel).read_text().replace(str(old.parent), str(new.parent))
        walk(str(rel), json.loads(text), json.loads((new / rel).read_text()), "")
    for pred in sorted(old.rglob("test_predictions.jsonl")):
        other = new / pred.relative_to(old)
        if not other.is_file() or not filecmp.cmp(pred, other, shallow=False):
            out.append(f"{pred.relative_to(old)}: predictions differ")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--new-keys", default="", help="comma-separated keys the new version adds")
    args = p.parse_args()
    skip = TIMING | {k for k in args.new_keys.split(",") if k}
    diffs = differences(args.old.resolve(), args.new.resolve(), skip)
    n = len(list(args.old.rglob("*.json")))
    preds = len(list(args.old.rglob("test_predictions.jsonl")))
    for d in diffs:
        print(d)
    print(f"{n} JSON files and {preds} prediction files compared: {len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
