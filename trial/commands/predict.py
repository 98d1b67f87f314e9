"""``autorc predict``: what a trained model says about new input, for the task it was trained on
(OpenNRE's ``infer``, and span NER and coreference beside it).

    echo '{"text": "The fire was caused by a cigarette.", "h": {"pos": [4, 8]},
           "t": {"pos": [25, 34]}}' | autorc predict --model runs/be/model
    autorc predict --model runs/be/model --input test.txt --format opennre --json
    echo '{"text": "John Smith works for IBM in Paris."}' | autorc predict --model runs/ner/model
    autorc predict --model runs/coref/model --input docs.conll --format conll2012 --conll out.conll

Without ``--input``, reads JSON lines from stdin; ``--input FILE`` reads a file, of JSON lines
unless ``--format`` names a reader. What a line is depends on the model's task:

- rc: ``{"text", "h": {"pos": [s, e]}, "t": ...}`` with character offsets (end exclusive), or
  ``{"token": [...], "h": ..., "t": ...}`` with word offsets (``--format``: any relation reader).
  Prints ``id<TAB>label<TAB>probability`` per statement; a statement whose entities do not fit in
  the model's max length gets label ``-`` (null in JSON).
- ner: a sentence, ``{"text": "..."}`` (split into words, character offsets kept) or
  ``{"tokens": [...]}``, ``id`` optional. Prints ``id<TAB>start-end<TAB>type<TAB>probability
  <TAB>words`` per entity found (``--json``: one line per sentence, with character offsets).
- coref: a document with its mentions, ``{"sentences": [[word, ...], ...], "mentions": [[s, e],
  ...]}`` (word offsets over the document), or ``--format conll2012`` (the mentions of a
  CoNLL-2012 file; its clusters are not read). Prints ``id<TAB>cluster<TAB>mention | mention
  ...`` per cluster (``--json``: one line per document); ``--conll FILE`` writes the clusters
  as CoNLL-2012 too. A mention pair whose mentions do not fit in the model's length is counted
  (``pairs_dropped``), not linked.

A line that cannot be read is reported on stderr with its number and skipped; the others are
still predicted, and the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from autorc_nni.data.readers import READERS, opennre_row
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError
from trial.commands._flags import add_inference_args

HELP = "predict with a trained model (relations, entities or clusters)"  # for `autorc --help`


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help=HELP)
    p.add_argument("--model", required=True, metavar="DIR", help="a model directory (OUT/model)")
    p.add_argument("--input", metavar="FILE", help="a data file (default: JSON lines on stdin)")
    p.add_argument(
        "--format",
        help=f"reader of --input: rc {', '.join(READERS.names())} (default opennre); coref "
        "conll2012; default JSON lines",
    )
    add_inference_args(p)
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.add_argument("--conll", metavar="FILE", help="coref: also write the clusters as CoNLL-2012")
    p.set_defaults(func=run)


def read_json_lines(
    lines: Iterable[str],
    read: Callable[[dict, str], Any],
    where: str = "<stdin>",
    errors: list[str] | None = None,
) -> list[Any]:
    """``read(object, "WHERE:LINE")`` of each JSON line.

    With ``errors`` (a list), a bad line is recorded there (``<stdin>:3: …``) and skipped, so
    one malformed line does not cost the others their predictions; without it, it raises.
    """
    units = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(
                    f"{where}:{n}: malformed JSON line ({e.msg} at column {e.colno})"
                ) from None
            if not isinstance(obj, dict):
                raise DataError(f"{where}:{n}: expected a JSON object, got {type(obj).__name__}")
            units.append(read(obj, f"{where}:{n}"))
        except DataError as e:
            if errors is None:
                raise
            errors.append(str(e))
    return units


def read_stdin_examples(
    lines: Iterable[str], where: str = "<stdin>", errors: list[str] | None = None
) -> list[RelationExample]:
    """OpenNRE-style JSON lines (``text`` + character offsets, or ``token`` + word offsets)."""
    return read_json_lines(lines, opennre_row, where, errors)


def _read_file(args: argparse.Namespace, task: Any, errors: list[str]) -> list[Any]:
    path = Path(args.input)
    if task.name == "coref" and args.format == "conll2012":
        from autorc_nni.data.conll2012 import read_conll2012

        return read_conll2012(path)
    if task.name == "rc" and args.format != "jsonl":
        fmt = args.format or "opennre"
        if fmt not in READERS:
            raise DataError(f"unknown format {fmt!r}; known: {', '.join(READERS.names())}")
        read = READERS.get(fmt)(path)
        for reason, n in read.dropped.items():  # records that cannot be statements: said
            places = ", ".join(read.dropped_where.get(reason, []))
            print(
                f"autorc predict: dropped {n} record(s): {reason}"
                + (f" (at {places})" if places else ""),
                file=sys.stderr,
            )
        return read.examples
    if args.format not in (None, "jsonl"):
        raise DataError(
            f"--format {args.format}: a {task.name} model reads JSON lines"
            + (" or --format conll2012" if task.name == "coref" else "")
        )
    if not path.is_file():
        raise DataError(f"{path}: input file not found")
    with open(path, encoding="utf-8") as f:
        return read_json_lines(f, task.read_input, str(path), errors)


def _print_rows(task: str, rows: list[dict[str, Any]], as_json: bool) -> None:
    for row in rows:
        if as_json:
            print(json.dumps({**row, "prob": round(row["prob"], 6)} if task == "rc" else row))
        elif task == "rc":
            label = row["label"] if row["label"] is not None else "-"
            print(f"{row['id']}\t{label}\t{row['prob']:.4f}")
        elif task == "ner":
            for e in row["entities"]:
                print(
                    f"{row['id']}\t{e['start']}-{e['end']}\t{e['type']}\t{e['prob']:.4f}\t{e['words']}"
                )
        else:
            for k, texts in enumerate(row["texts"]):
                print(f"{row['id']}\t{k}\t" + " | ".join(texts))


def _model_task(model: Path) -> str:
    """The task a saved model was trained for (rc for one saved before models kept it, and for
    a folder that is no model: loading it says what is wrong)."""
    try:
        return str(json.loads((model / "config.json").read_text()).get("task") or "rc")
    except (OSError, ValueError, AttributeError):
        return "rc"


def run(args: argparse.Namespace) -> int:
    from autorc_nni.model import RCModel
    from autorc_nni.tasks import get_task
    from autorc_nni.training import resolve_device

    task = get_task(_model_task(Path(args.model)))  # the input is read before the model loads
    if args.conll and task.name != "coref":
        raise DataError(f"--conll writes coreference clusters; {args.model} is a {task.name} model")
    errors: list[str] = []
    if args.input:
        units = _read_file(args, task, errors)
    else:
        units = read_json_lines(sys.stdin, task.read_input, errors=errors)
    for e in errors:  # every bad line, with its number; the others are still predicted
        print(f"autorc predict: skipped {e}", file=sys.stderr)
    if not units:
        raise DataError(f"{args.input or '<stdin>'}: nothing to predict")
    model = RCModel.from_pretrained(args.model, device=resolve_device(args.device))
    rows = task.predict(model, units, batch_size=args.batch_size)
    if task.name == "rc":
        for ex, row in zip(units, rows, strict=True):
            if ex.label is not None:
                row["gold"] = ex.label
    _print_rows(task.name, rows, args.json)
    if args.conll:
        from autorc_nni.data.conll2012 import write_conll2012

        clusters = [[[tuple(m) for m in c] for c in row["clusters"]] for row in rows]
        write_conll2012(units, clusters, args.conll)
    if errors:
        print(
            f"autorc predict: {len(errors)} line(s) could not be read (above); "
            f"{len(units)} predicted",
            file=sys.stderr,
        )
        return 1
    return 0
