"""Benchmark: do packed levitated markers pay on relation classification? (issue 20 §1)

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/rc_levitated.py
    .venv/bin/python benchmarks/rc_levitated.py --datasets chemprot --rounds 5

Sets with many entity pairs per sentence (over their whole training splits CoNLL04's relations
have 13 a sentence, DDI 7.6, ChemProt 2.5; the table gives the subset's) pay one encoder pass per
pair with the paper's inline ``markers``. With
``span=levitated`` the pairs of one sentence that share a batch are packed into one pass
(``autorc_nni.posencs``); ``--group-text`` keeps a sentence's pairs in one batch (without it,
length bucketing puts equal-length rows, mostly one sentence's pairs, side by side anyway).
``standard`` input shares the whole input. All with R-BERT's features (entity averages and
[CLS]), MiniLM-L6, max_len 128, on every pair of the first ``--sentences`` training sentences and
``--eval-sentences`` dev sentences of each dataset:

- ``markers``: R-BERT as the paper's presets have it, one pass per pair;
- ``levitated, grouped`` / ``levitated, bucketed``: the same features over levitated markers,
  with and without ``--group-text``;
- ``standard, grouped``: the words unmarked (the entities' own wordpieces).

The rates are measured in this process: ``--steps`` training steps (forward, backward, AdamW
step; batch 32, the batches ``autorc train`` makes) and a forward pass over every evaluation
statement (batches of 64), each configuration in turn, ``--rounds`` times; the median of each is
kept, so that load from other jobs on the machine falls on every configuration alike. Whether a
format learns as well is a matter of full trainings, not of a benchmark: one epoch over these
subsets leaves every format predicting the negative label everywhere (F1 0 on CoNLL04, tried);
``results/levitated-rc`` compares trained models.

Prints a table and writes ``benchmarks/results/rc_levitated.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

# benchmarks/_common.py
from _common import ROOT, machine, print_table, provenance, write_result

CONFIGS = {  # name: (span, group the statements of a sentence)
    "markers": ("markers", False),
    "levitated, grouped": ("levitated", True),
    "levitated, bucketed": ("levitated", False),
    "standard, grouped": ("standard", True),
}


def subset(dataset: str, data_root: Path, n_train: int, n_eval: int) -> dict:
    """Every statement of the first ``n_train`` training sentences and ``n_eval`` dev sentences
    of ``dataset``, its labels and counts."""
    from autorc_nni.data.datasets import load_dataset

    ds = load_dataset(dataset, data_root=str(data_root))
    statements: dict[str, list] = {}
    for split, n in (("train", n_train), ("dev", n_eval)):
        texts: set[tuple[str, ...]] = set()
        kept = []
        for ex in ds.splits.get(split) or []:
            if ex.tokens not in texts and len(texts) == n:
                continue
            texts.add(ex.tokens)
            kept.append(ex)
        statements[split] = kept
    n_sent = len({ex.tokens for ex in statements["train"]})
    return {
        "statements": statements,
        "labels": list(ds.labels),
        "negative_label": ds.negative_label,
        "train_statements": len(statements["train"]),
        "pairs_per_sentence": round(len(statements["train"]) / max(1, n_sent), 2),
    }


def rates(info: dict, steps: int, rounds: int, threads: int) -> dict[str, dict[str, float]]:
    """Median training and evaluation statements/s of each configuration (see the module)."""
    import copy

    import torch

    from autorc_nni.architecture import PRESETS
    from autorc_nni.encoders import load_encoder
    from autorc_nni.featurize import Featurizer
    from autorc_nni.finetune import TrainConfig, epoch_loader, eval_loader
    from autorc_nni.model import RCModel
    from autorc_nni.stage import DataConfig
    from autorc_nni.training import build_optimizer

    torch.set_num_threads(threads)
    tokenizer, encoder = load_encoder("minilm", seed=0)
    label2id = {lab: i for i, lab in enumerate(info["labels"])}
    spans = sorted({span for span, _ in CONFIGS.values()})
    feat = Featurizer(tokenizer, max_len=128, formats=tuple(spans), cache=False)
    train_rows = feat.featurize(info["statements"]["train"], label2id).rows
    eval_rows = feat.featurize(info["statements"]["dev"], label2id).rows
    setups: dict[str, tuple[Any, Any, list, list]] = {}
    for name, (span, grouped) in CONFIGS.items():
        cfg = TrainConfig(
            data=DataConfig(task="rc"), batch_size=32, eval_batch_size=64, group_text=grouped
        )
        arch = dataclasses.replace(PRESETS["r-bert"], span=span)
        torch.manual_seed(0)
        model = RCModel(arch, copy.deepcopy(encoder), num_labels=len(label2id), max_len=128)
        train_batches = []
        for b in epoch_loader(train_rows, cfg, (span,), epoch=0)[0]:
            train_batches.append(b)
            if len(train_batches) == steps:
                break
        evals = list(eval_loader(eval_rows, cfg, (span,)))
        setups[name] = (model, build_optimizer(model, 1e-4, 0.01), train_batches, evals)
    times: dict[str, dict[str, list[float]]] = {n: {"train": [], "eval": []} for n in CONFIGS}
    for r in range(rounds):
        for name, (model, opt, train_batches, evals) in setups.items():
            model.train()
            t0 = time.perf_counter()
            for b in train_batches:
                loss = torch.nn.functional.cross_entropy(model(b).float(), b["labels"])
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
            times[name]["train"].append(time.perf_counter() - t0)
            model.eval()
            t0 = time.perf_counter()
            with torch.no_grad():
                for b in evals:
                    model(b)
            times[name]["eval"].append(time.perf_counter() - t0)
            print(
                f"  round {r + 1}/{rounds} {name}: train {times[name]['train'][-1]:.1f} s, "
                f"eval {times[name]['eval'][-1]:.1f} s",
                flush=True,
            )
    out = {}
    for name, (_, _, train_batches, evals) in setups.items():
        n_train = sum(len(b["ids"]) for b in train_batches)
        n_eval = sum(len(b["ids"]) for b in evals)
        out[name] = {
            "train_statements_per_s": round(n_train / statistics.median(times[name]["train"]), 1),
            "eval_statements_per_s": round(n_eval / statistics.median(times[name]["eval"]), 1),
            "train_seconds": [round(t, 2) for t in times[name]["train"]],
            "eval_seconds": [round(t, 2) for t in times[name]["eval"]],
            "train_statements_timed": n_train,
            "eval_statements_timed": n_eval,
        }
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=["conll04", "ddi", "chemprot"])
    p.add_argument("--sentences", type=int, default=150, help="training sentences")
    p.add_argument("--eval-sentences", type=int, default=40, help="dev sentences")
    p.add_argument("--steps", type=int, default=12, help="training steps timed per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    data_root = Path(os.environ.get("AUTORC_DATA_DIR") or ROOT.parent / "shared" / "data")

    rows = []
    load = os.getloadavg()
    infos, measured = {}, {}
    for dataset in args.datasets:
        infos[dataset] = subset(dataset, data_root, args.sentences, args.eval_sentences)
        print(f"[{time.strftime('%H:%M:%S')}] {dataset}: rates", flush=True)
        measured[dataset] = rates(infos[dataset], args.steps, args.rounds, args.threads)
    for dataset in args.datasets:
        info, m = infos[dataset], measured[dataset]
        base = m["markers"]
        for name in CONFIGS:
            row = {
                "dataset": dataset,
                "config": name,
                "pairs_per_sentence": info["pairs_per_sentence"],
                "train_statements": info["train_statements"],
                "negative_label": info["negative_label"],
                **m[name],
                "train_speedup": round(
                    m[name]["train_statements_per_s"] / base["train_statements_per_s"], 2
                ),
                "eval_speedup": round(
                    m[name]["eval_statements_per_s"] / base["eval_statements_per_s"], 2
                ),
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
        "eval × markers": "eval_speedup",
    }
    print_table(
        list(columns),
        "lrl" + "r" * (len(columns) - 3),
        ([r[k] for k in columns.values()] for r in rows),
    )
    print(f"written: {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
