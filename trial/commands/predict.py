"""``autorc predict``: label relation statements with a trained model (OpenNRE's ``infer``).

    echo '{"text": "The fire was caused by a cigarette.", "h": {"pos": [4, 8]},
           "t": {"pos": [25, 34]}}' | autorc predict --model runs/be/model
    autorc predict --model runs/be/model --input test.txt --format opennre --json

Without ``--input``, reads JSON lines from stdin: ``{"text", "h": {"pos": [s, e]}, "t": ...}``
with character offsets (end exclusive), or ``{"token": [...], "h": {"pos": [s, e]}, ...}`` with
word offsets. Prints ``id<TAB>label<TAB>probability`` per example (``--json``: JSON lines).
A line that cannot be read is reported on stderr with its number and skipped; the others are
still predicted, and the exit status is then 1.
An example whose entities do not fit in the model's max length gets label ``-`` (null in JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autorc_nni.data.readers import READERS, opennre_row
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError

HELP = (
    "label relation statements with a trained model"  # for `autorc --help`, read without importing
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help=HELP)
    p.add_argument("--model", required=True, metavar="DIR", help="a model directory (OUT/model)")
    p.add_argument("--input", metavar="FILE", help="a data file (default: JSON lines on stdin)")
    p.add_argument(
        "--format",
        default="opennre",
        help=f"reader of --input ({', '.join(READERS.names())}; default opennre)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="examples per forward pass")
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="cpu",
        help="where the model runs (default cpu)",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines (id, label, prob)")
    p.set_defaults(func=run)


def read_stdin_examples(
    lines, where: str = "<stdin>", errors: list[str] | None = None
) -> list[RelationExample]:
    """OpenNRE-style JSON lines (``text`` + character offsets, or ``token`` + word offsets).

    With ``errors`` (a list), a bad line is recorded there (``<stdin>:3: …``) and skipped, so
    one malformed line does not cost the others their predictions; without it, it raises.
    """
    examples = []
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
            examples.append(opennre_row(obj, f"{where}:{n}"))
        except DataError as e:
            if errors is None:
                raise
            errors.append(str(e))
    return examples


def run(args: argparse.Namespace) -> int:
    from autorc_nni.model import RCModel
    from autorc_nni.training import resolve_device

    errors: list[str] = []
    if args.input:
        if args.format not in READERS:
            raise DataError(f"unknown format {args.format!r}; known: {', '.join(READERS.names())}")
        read = READERS.get(args.format)(Path(args.input))
        examples = read.examples
        for reason, n in read.dropped.items():  # records that cannot be statements: said
            places = ", ".join(read.dropped_where.get(reason, []))
            print(
                f"autorc predict: dropped {n} record(s): {reason}"
                + (f" (at {places})" if places else ""),
                file=sys.stderr,
            )
    else:
        examples = read_stdin_examples(sys.stdin, errors=errors)
    for e in errors:  # every bad line, with its number; the others are still predicted
        print(f"autorc predict: skipped {e}", file=sys.stderr)
    if not examples:
        raise DataError(f"{args.input or '<stdin>'}: no examples to predict")
    model = RCModel.from_pretrained(args.model, device=resolve_device(args.device))
    for ex, (label, prob) in zip(
        examples, model.predict(examples, batch_size=args.batch_size), strict=True
    ):
        if args.json:
            row = {"id": ex.id, "label": label, "prob": round(prob, 6)}
            if ex.label is not None:
                row["gold"] = ex.label
            print(json.dumps(row))
        else:
            print(f"{ex.id}\t{label if label is not None else '-'}\t{prob:.4f}")
    if errors:
        print(
            f"autorc predict: {len(errors)} line(s) could not be read (above); "
            f"{len(examples)} predicted",
            file=sys.stderr,
        )
        return 1
    return 0
