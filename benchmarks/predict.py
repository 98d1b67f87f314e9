"""Benchmark: how fast trained models answer on the CPU, against the bare encoder, and what
dynamic int8 quantization of the encoder gives.

    AUTORC_DATA_DIR=../shared/data .venv/bin/python benchmarks/predict.py \\
        --rc runs/rc/model --rc-data semeval10 [--ner runs/ner/model --ner-data conll04] \\
        [--ner ANOTHER/model] [--extract-rc runs/rc-conll04/model]

For each model given:

- ``rc``: ``RCModel.predict`` over the first ``--statements`` test statements of ``--rc-data``
  (statements/s), and the bare encoder's forward pass over the same featurized rows in the same
  batches (the least any model of the space must spend); ``fraction`` = bare time / predict time
  (1.0: no overhead at all).
- ``ner`` (each model given): ``predict`` over the first ``--sentences`` test sentences of
  ``--ner-data`` (sentences/s), against the encoder run once per sentence. A ``standard``-input
  model encodes each sentence once for all its candidate spans (``RCModel.shares_input``); a
  ``markers`` or ``levitated`` one needs more passes.
- ``extract`` (with ``--ner`` and ``--extract-rc``): ``Extractor.extract`` over the same
  sentences (sentences/s), against the encoder once per sentence.
- ``int8``: each model again with its encoder's linear layers quantized to int8 on the fly
  (``torch.ao.quantization.quantize_dynamic``): the speed-up and the F1 change on the whole test
  set of its dataset (micro-F1 for RC, entity micro-F1 for NER).

Prints a table and writes ``benchmarks/results/predict.json``. Run it on an idle machine: every
figure is a wall time.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import time
from typing import Any

import torch
from _common import print_table, provenance, write_result  # benchmarks/_common.py


def quantized(model: Any) -> Any:
    """A copy of ``model`` whose encoder's ``nn.Linear`` layers run in dynamic int8."""
    q = copy.deepcopy(model)
    q.encoder = torch.ao.quantization.quantize_dynamic(
        q.encoder, {torch.nn.Linear}, dtype=torch.qint8
    )
    return q


def timed(fn, *args, repeat: int = 1, **kwargs) -> tuple[Any, float]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return out, best


@torch.no_grad()
def bare_encoder_seconds(model: Any, rows: list[dict], batch_size: int) -> float:
    """The encoder alone over ``rows`` (featurized for the model's format), length-sorted
    batches as ``RCModel.statement_probs`` makes them."""
    from autorc_nni.batching import collate

    fmt = model.arch.span
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][f"{fmt}_input_ids"]))
    pad = model.tokenizer.pad_token_id or 0
    t0 = time.perf_counter()
    for start in range(0, len(order), batch_size):
        batch = collate([rows[i] for i in order[start : start + batch_size]], [fmt], 256, pad)
        model.encoder(
            input_ids=batch[fmt]["input_ids"], attention_mask=batch[fmt]["attention_mask"]
        )
    return time.perf_counter() - t0


@torch.no_grad()
def sentence_encoder_seconds(model: Any, sentences: list[tuple[str, ...]], batch: int) -> float:
    """The encoder once per sentence (standard input), in batches."""
    tok = model.tokenizer
    t0 = time.perf_counter()
    for start in range(0, len(sentences), batch):
        enc = tok(
            [list(s) for s in sentences[start : start + batch]],
            is_split_into_words=True,
            truncation=True,
            max_length=model.max_len,
            padding=True,
            return_tensors="pt",
        )
        model.encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    return time.perf_counter() - t0


def speed_row(what: str, items: int, seconds: float, bare_s: float, digits: int) -> dict[str, Any]:
    """A row of the table: ``items`` answered in ``seconds`` (per second, rounded to ``digits``)
    against the bare encoder's ``bare_s`` over the same items."""
    return {
        "what": what,
        "items": items,
        "per_s": round(items / seconds, digits),
        "bare_encoder_per_s": round(items / bare_s, 1),
        "fraction": round(bare_s / seconds, 3),
    }


def rc_rows(args: argparse.Namespace, model: Any) -> dict[str, Any]:
    from autorc_nni.featurize import Featurizer
    from autorc_nni.tasks import load_task_data

    data = load_task_data("rc", args.rc_data, data_root=args.data_root)
    test = data.statements["test"]
    part = test[: args.statements]
    _, predict_s = timed(model.predict, part, batch_size=args.batch_size, repeat=2)
    feat = Featurizer(model.tokenizer, model.max_len, formats=[model.arch.span], cache=False)
    rows = feat.featurize([dataclasses.replace(x, label=None) for x in part], {}).rows.to_list()
    bare_s = bare_encoder_seconds(model, rows, args.batch_size)
    out = speed_row(
        f"rc predict ({args.rc_data}, {model.arch.span})", len(part), predict_s, bare_s, 1
    )
    if args.int8:
        out |= int8_figures(model, data, part, predict_s, args.batch_size)
    return out


def _test_f1(model: Any, data: Any, batch_size: int) -> float:
    """Micro-F1 of ``model`` over every test statement of ``data``, scored by its task."""
    statements = data.statements["test"]
    scored = {}
    for ex, probs in zip(statements, model.statement_probs(statements, batch_size), strict=True):
        if probs is not None:
            scored[ex.id] = (data.labels.index(ex.label), probs)
    metrics, _, _ = data.score("test", scored)
    return float(metrics["micro_f1"])


def int8_figures(model, data, part, predict_s, batch_size) -> dict[str, Any]:
    """``model`` with its encoder in int8 (``quantized``): its ``predict`` over ``part`` against
    ``predict_s``, and its test micro-F1 against the model's."""
    q = quantized(model)
    _, q_s = timed(q.predict, part, batch_size=batch_size)
    f1, q_f1 = _test_f1(model, data, batch_size), _test_f1(q, data, batch_size)
    return {
        "int8_speedup": round(predict_s / q_s, 2),
        "test_f1": round(100 * f1, 2),
        "int8_test_f1": round(100 * q_f1, 2),
        "int8_f1_change": round(100 * (q_f1 - f1), 2),
    }


def ner_rows(args: argparse.Namespace, model: Any, extractor: Any) -> list[dict[str, Any]]:
    from autorc_nni.tasks import TaskOptions, load_task_data

    options = TaskOptions(**model.task_options)
    data = load_task_data("ner", args.ner_data, data_root=args.data_root, options=options)
    sentences = data.units["test"][: args.sentences]
    units = [{"id": s.id, "tokens": list(s.tokens)} for s in sentences]
    _, predict_s = timed(model.predict, units, batch_size=args.ner_batch_size)
    bare_s = sentence_encoder_seconds(model, [s.tokens for s in sentences], 32)
    rows = [
        speed_row(
            f"ner predict ({args.ner_data}, {model.arch.span})", len(units), predict_s, bare_s, 2
        )
    ]
    if args.int8:
        rows[0] |= int8_figures(model, data, units, predict_s, args.ner_batch_size)
    if extractor is not None:
        docs = [{"id": s.id, "sentences": [list(s.tokens)]} for s in sentences]
        _, ex_s = timed(extractor.extract, docs)
        what = f"extract ({args.ner_data}: ner {model.arch.span}, rc {extractor.rc.arch.span})"
        rows.append(speed_row(what, len(docs), ex_s, bare_s, 2))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rc", help="an RC model directory")
    p.add_argument("--rc-data", default="semeval10")
    p.add_argument(
        "--ner",
        action="append",
        default=[],
        help="a NER model directory (again for another: each is timed, and extracts)",
    )
    p.add_argument("--ner-data", default="conll04")
    p.add_argument("--extract-rc", help="an RC model for the extractor (with --ner)")
    p.add_argument("--statements", type=int, default=512, help="RC statements timed")
    p.add_argument("--sentences", type=int, default=32, help="NER / extract sentences timed")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--ner-batch-size", type=int, default=256)
    p.add_argument("--no-int8", dest="int8", action="store_false", help="skip quantization")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-root", default=os.environ.get("AUTORC_DATA_DIR"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from autorc_nni.extract import Extractor
    from autorc_nni.model import RCModel

    rows: list[dict[str, Any]] = []
    if args.rc:
        rows.append(rc_rows(args, RCModel.from_pretrained(args.rc)))
        print(json.dumps(rows[-1]))
    for path in args.ner:
        ner = RCModel.from_pretrained(path)
        extractor = None
        if args.extract_rc:
            extractor = Extractor(ner, RCModel.from_pretrained(args.extract_rc))
        rows += ner_rows(args, ner, extractor)
        print(json.dumps(rows[-2:] if extractor else rows[-1]))
    result = {
        **provenance(args.threads, {k: v for k, v in vars(args).items() if k != "data_root"}),
        "rows": rows,
    }
    written = write_result("predict", result)
    table = []
    for r in rows:
        int8 = ["-", "-"]
        if "int8_speedup" in r:
            int8 = [f"{r['int8_speedup']}×", f"{r['test_f1']} → {r['int8_test_f1']}"]
        table.append(
            [r["what"], r["items"], r["per_s"], r["bare_encoder_per_s"], r["fraction"], *int8]
        )
    print_table(
        ["what", "items", "per s", "bare encoder per s", "fraction", "int8 speed-up", "F1 → int8"],
        "lrrrrrl",
        table,
    )
    print(f"written: {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
