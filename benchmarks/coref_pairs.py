"""Benchmark: the cost of coreference mention pairs on LitBank (MiniLM-L6), per input format.

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/coref_pairs.py

A mention is paired with up to ``max_antecedents`` earlier mentions, each pair a statement over
the sentences from the antecedent's to the anaphor's. With ``span=markers`` every pair is its
own encoder pass; with ``span=standard`` the pairs that share a window share one; with
``span=levitated`` the pairs of one window are packed into one pass, each pair's markers after
the text. A pair's window is the sentences from one mention to the other, widened to the length
limit, so the pairs between the same two sentences share it: ``--group-text`` keeps them in one
batch (one pass), else they share a batch by chance. Each configuration is one ``autorc train
--task coref`` process (1 epoch) on the first ``--docs`` LitBank training documents and
``--eval-docs`` dev/test documents (copied to a temporary folder), the mention-pair baseline's
features over each format, with and without grouping.

It prints training pairs/s and evaluation pairs/s, and writes
``benchmarks/results/coref_pairs.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

# benchmarks/_common.py
from _common import ROOT, machine, provenance, train_command, write_result

CONFIGS = (  # (format, --group-text)
    ("markers", False),
    ("standard", False),
    ("standard", True),
    ("levitated", False),
    ("levitated", True),
)


def subset(data_root: Path, out: Path, n_train: int, n_eval: int) -> Path:
    """LitBank fold 0's first documents per split, as train/ dev/ test/ folders (temporary)."""
    lit = data_root / "litbank"
    for split, n in (("train", n_train), ("dev", n_eval), ("test", n_eval)):
        ids = (lit / "splits" / "0" / f"{split}.ids").read_text().split()[:n]
        (out / split).mkdir(parents=True, exist_ok=True)
        for doc_id in ids:
            name = doc_id.rsplit(".", 1)[0] + ".conll"
            shutil.copy(lit / "conll" / name, out / split / name)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--docs", type=int, default=2, help="training documents")
    p.add_argument("--eval-docs", type=int, default=1, help="dev and test documents")
    p.add_argument("--max-antecedents", type=int, default=5)
    p.add_argument("--limit-train", type=int, default=1500, help="training pairs of the epoch")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    data_root = Path(os.environ.get("AUTORC_DATA_DIR") or ROOT.parent / "shared" / "data")
    from autorc_nni.architecture import PRESETS

    rows = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        data = subset(data_root, Path(tmp) / "data", args.docs, args.eval_docs)
        for fmt, grouped in CONFIGS:
            arch = Path(tmp) / f"pair-{fmt}.json"
            dataclasses.replace(PRESETS["pair-baseline"], span=fmt).save(arch)
            out = Path(tmp) / f"run-{fmt}-{int(grouped)}"
            cmd = train_command(
                "coref",
                data,
                out,
                args.threads,
                *("--arch", str(arch), "--max-antecedents", str(args.max_antecedents)),
                *("--limit-train", str(args.limit_train)),
                "--group-text" if grouped else "--no-group-text",
            )
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            m = json.loads((out / "metrics.json").read_text())
            row = {
                "format": fmt,
                "grouped": grouped,
                "command": "autorc " + " ".join(cmd[3:]).replace(tmp, "$TMP"),
                "wall_seconds": round(wall, 1),
                "train_pairs": m["throughput"]["train_sentences"],
                "train_pairs_per_s": round(m["throughput"]["train_sentences_per_s"], 1),
                "eval_pairs": m["data"]["test"]["examples"],
                "eval_pairs_per_s": round(m["test"]["eval_sentences_per_s"], 1),
                "test_muc_f1": round(100 * m["test"]["muc_f1"], 2),
            }
            rows.append(row)
            print(json.dumps(row))
    result = {
        **provenance(args.threads, vars(args)),
        "machine_state": machine(args.threads, load),
        "rows": rows,
    }
    written = write_result("coref_pairs", result)
    print("| format | grouped | train pairs/s | eval pairs/s |\n|---|---|---:|---:|")
    for r in rows:
        print(
            f"| {r['format']} | {'yes' if r['grouped'] else 'no'} | {r['train_pairs_per_s']} "
            f"| {r['eval_pairs_per_s']} |"
        )
    print(f"written: {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
