"""Benchmark: the cost of a span-NER epoch on CoNLL04 (MiniLM-L6), per input format.

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/ner_epoch.py

Span NER scores every span of <= 10 words of a sentence (~250 a CoNLL04 sentence). With
``span=standard`` the candidates of a sentence share one input, so the encoder runs once per
distinct input of a batch (``autorc_nni.heads.encode_with_posenc``) and training batches keep a
sentence's spans together (``BucketBatchSampler(groups=…)``); ``span=markers`` needs one encoder
pass per candidate. Each configuration is one ``autorc train --task ner`` process on the first
``--sentences`` training sentences of CoNLL04 (gold spans + ``--neg`` negatives each, 1 epoch)
and ``--eval-sentences`` dev/test sentences (every candidate), written to a temporary folder:

- ``spert-like``: standard input, sentence-grouped batches (the default);
- ``spert-like --no-bucket``: the same model in random batches (few duplicate inputs);
- ``spert-like`` over ``span=levitated``: each candidate a marker pair after the sentence, the
  candidates of a sentence packed into one encoder pass (``autorc_nni.posencs``);
- ``bert-entity``: entity markers, one pass per candidate.

It prints training statements/s, evaluation candidates/s and what that makes one epoch of the
full train split (922 sentences with 10 and with SpERT's 100 negatives) and one pass over all dev
candidates, and writes ``benchmarks/results/ner_epoch.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

# benchmarks/_common.py
from _common import ROOT, print_table, provenance, train_command, write_result

CONFIGS = {
    "spert-like (standard, grouped)": ["--arch", "spert-like"],
    "spert-like (standard, random batches)": ["--arch", "spert-like", "--no-bucket"],
    # SpERT-like features over packed levitated markers ({levitated}: its architecture file)
    "spert-like (levitated, grouped)": ["--arch", "{levitated}"],
    "bert-entity (markers)": ["--arch", "bert-entity"],
}


def subset(data_root: Path, out: Path, n_train: int, n_eval: int) -> Path:
    """The first sentences of CoNLL04's splits as a SpERT folder (temporary, outside the
    project)."""
    out.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_eval), ("test", n_eval)):
        rows = json.loads((data_root / "conll04" / f"{split}_triples.json").read_text())[:n]
        (out / f"{split}.json").write_text(json.dumps(rows))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sentences", type=int, default=120, help="training sentences")
    p.add_argument("--eval-sentences", type=int, default=8, help="dev and test sentences")
    p.add_argument("--neg", type=int, default=10, help="negative spans per training sentence")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    data_root = Path(os.environ.get("AUTORC_DATA_DIR") or ROOT.parent / "shared" / "data")
    from autorc_nni.tasks import TaskOptions, load_task_data

    full = load_task_data("ner", "conll04", data_root=str(data_root), options=TaskOptions())
    gold = sum(full._n_gold)
    statements = {
        neg: gold
        + sum(min(neg, len(g) - n) for g, n in zip(full._groups, full._n_gold, strict=True))
        for neg in (10, 100)
    }
    dev_candidates = len(full.statements["dev"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = subset(data_root, Path(tmp) / "data", args.sentences, args.eval_sentences)
        import dataclasses

        from autorc_nni.architecture import PRESETS

        levitated = Path(tmp) / "spert-levitated.json"
        dataclasses.replace(PRESETS["spert-like"], span="levitated").save(levitated)
        for k, (name, extra) in enumerate(CONFIGS.items()):
            extra = [a.replace("{levitated}", str(levitated)) for a in extra]
            out = Path(tmp) / f"run{k}"
            cmd = train_command(
                "ner", data, out, args.threads, "--neg-per-sentence", str(args.neg), *extra
            )
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            m = json.loads((out / "metrics.json").read_text())
            train_rate = m["throughput"]["train_sentences_per_s"]
            eval_rate = m["test"]["eval_sentences_per_s"]
            row = {
                "config": name,
                "command": " ".join(cmd[1:]),
                "wall_seconds": round(wall, 1),
                "train_statements": m["throughput"]["train_sentences"],
                "train_statements_per_s": round(train_rate, 1),
                "eval_candidates": m["data"]["test"]["examples"],
                "eval_candidates_per_s": round(eval_rate, 1),
                "full_epoch_minutes_neg10": round(statements[10] / train_rate / 60, 1),
                "full_epoch_minutes_neg100": round(statements[100] / train_rate / 60, 1),
                "full_dev_pass_minutes": round(dev_candidates / eval_rate / 60, 1),
            }
            rows.append(row)
            print(json.dumps(row))
    result = {
        **provenance(args.threads, vars(args)),
        "full_train_statements": {"neg10": statements[10], "neg100": statements[100]},
        "full_dev_candidates": dev_candidates,
        "rows": rows,
    }
    written = write_result("ner_epoch", result)
    columns = {  # header: the row's figure
        "config": "config",
        "train statements/s": "train_statements_per_s",
        "eval candidates/s": "eval_candidates_per_s",
        "full epoch, 10 neg (min)": "full_epoch_minutes_neg10",
        "full epoch, 100 neg (min)": "full_epoch_minutes_neg100",
        "all dev candidates (min)": "full_dev_pass_minutes",
    }
    print_table(list(columns), "lrrrrr", ([r[k] for k in columns.values()] for r in rows))
    print(f"written: {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
