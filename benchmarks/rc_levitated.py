"""Benchmark: do packed levitated markers pay on relation classification? (issue 20 §1)

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/rc_levitated.py
    .venv/bin/python benchmarks/rc_levitated.py --datasets chemprot --sentences 400 --epochs 2

Sets with many entity pairs per sentence (CoNLL04's relations: 13 a sentence, DDI: 7.6,
ChemProt: 2.5) pay one encoder pass per pair with the paper's inline ``markers``. With
``span=levitated`` the pairs of a sentence are packed into one pass (``autorc_nni.posencs``) when
their batch holds them together (``--group-text``); ``standard`` input shares the whole input.
Each configuration is one ``autorc train`` process (MiniLM-L6, ``--epochs``, max_len 128) on every
pair of the first ``--sentences`` training sentences and ``--eval-sentences`` dev and test
sentences of each dataset (written to a temporary folder as OpenNRE JSON lines), all with
R-BERT's features (entity averages and [CLS]):

- ``markers``: R-BERT as the paper's presets have it, one pass per pair;
- ``levitated, grouped``: the same features over levitated markers, a sentence's pairs in one batch;
- ``levitated, random batches``: the same without grouping (what packing gets by chance);
- ``standard, grouped``: the words unmarked (the entities' own wordpieces), one pass per sentence.

It prints training statements/s, evaluation statements/s, their ratio to ``markers``, and dev
and test micro-F1 after the budget (a small budget: the F1 says whether a format learns at the
same pace, not where it converges), and writes ``benchmarks/results/rc_levitated.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

# benchmarks/_common.py
from _common import ROOT, machine, print_table, provenance, train_command, write_result

CONFIGS = {  # name: (span, group the statements of a sentence)
    "markers": ("markers", False),
    "levitated, grouped": ("levitated", True),
    "levitated, random batches": ("levitated", False),
    "standard, grouped": ("standard", True),
}


def subset(dataset: str, data_root: Path, out: Path, n_train: int, n_eval: int) -> dict:
    """Every statement of the first ``n_train`` training sentences and ``n_eval`` dev and test
    sentences of ``dataset``, as an OpenNRE folder (``out``); returns its counts and negative
    label."""
    from autorc_nni.data.datasets import load_dataset

    ds = load_dataset(dataset, data_root=str(data_root))
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, dict[str, int]] = {}
    for split, n in (("train", n_train), ("dev", n_eval), ("test", n_eval)):
        source = ds.splits.get(split) or []
        texts: dict[tuple[str, ...], int] = {}
        rows = []
        for ex in source:
            if ex.tokens not in texts and len(texts) == n:
                continue
            texts.setdefault(ex.tokens, len(texts))
            rows.append(
                {
                    "token": list(ex.tokens),
                    "h": {"pos": list(ex.head)},
                    "t": {"pos": list(ex.tail)},
                    "relation": ex.label,
                }
            )
        (out / f"{split}.txt").write_text("".join(json.dumps(r) + "\n" for r in rows))
        counts[split] = {"sentences": len(texts), "statements": len(rows)}
    (out / "rel2id.json").write_text(json.dumps({lab: i for i, lab in enumerate(ds.labels)}))
    return {"counts": counts, "negative_label": ds.negative_label}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=["conll04", "ddi", "chemprot"])
    p.add_argument("--sentences", type=int, default=150, help="training sentences")
    p.add_argument("--eval-sentences", type=int, default=60, help="dev and test sentences")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    data_root = Path(os.environ.get("AUTORC_DATA_DIR") or ROOT.parent / "shared" / "data")
    from autorc_nni.architecture import PRESETS

    rows = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        archs = {}
        for span in {span for span, _ in CONFIGS.values()}:
            archs[span] = Path(tmp) / f"r-bert-{span}.json"
            dataclasses.replace(PRESETS["r-bert"], span=span).save(archs[span])
        for dataset in args.datasets:
            data = Path(tmp) / dataset
            info = subset(dataset, data_root, data, args.sentences, args.eval_sentences)
            train = info["counts"]["train"]
            base = None
            for name, (span, grouped) in CONFIGS.items():
                out = Path(tmp) / f"{dataset}-{span}-{int(grouped)}"
                # the negative label: found in the folder's label set (rel2id.json)
                flags = ["--arch", str(archs[span]), "--epochs", str(args.epochs)]
                flags.append("--group-text" if grouped else "--no-group-text")
                cmd = train_command("rc", data, out, args.threads, *flags)
                print(f"[{time.strftime('%H:%M:%S')}] {dataset}: {name}", flush=True)
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise SystemExit(f"{dataset} {name} failed:\n{proc.stderr[-3000:]}")
                wall = time.perf_counter() - t0
                m = json.loads((out / "metrics.json").read_text())
                train_rate = m["throughput"]["train_sentences_per_s"]
                eval_rate = m["test"]["eval_sentences_per_s"]
                base = base or (train_rate, eval_rate)
                row = {
                    "dataset": dataset,
                    "config": name,
                    "command": "autorc " + " ".join(cmd[3:]).replace(tmp, "$TMP"),
                    "negative_label": info["negative_label"],
                    "wall_seconds": round(wall, 1),
                    "train_statements": m["throughput"]["train_sentences"],
                    "train_statements_per_s": round(train_rate, 1),
                    "eval_statements_per_s": round(eval_rate, 1),
                    "train_speedup": round(train_rate / base[0], 2),
                    "eval_speedup": round(eval_rate / base[1], 2),
                    "dev_micro_f1": round(100 * m["dev"]["micro_f1"], 2),
                    "test_micro_f1": round(100 * m["test"]["micro_f1"], 2),
                    "pairs_per_sentence": round(train["statements"] / train["sentences"], 2),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    result = {
        **provenance(args.threads, vars(args)),
        "machine_state": machine(args.threads, load),
        "rows": rows,
    }
    written = write_result("rc_levitated", result)
    columns = {  # header: the row's figure
        "dataset": "dataset",
        "pairs / sentence": "pairs_per_sentence",
        "config": "config",
        "train st/s": "train_statements_per_s",
        "× markers": "train_speedup",
        "eval st/s": "eval_statements_per_s",
        "× markers ": "eval_speedup",
        "dev F1": "dev_micro_f1",
        "test F1": "test_micro_f1",
    }
    print_table(list(columns), "lrlrrrrrr", ([r[k] for k in columns.values()] for r in rows))
    print(f"written: {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
