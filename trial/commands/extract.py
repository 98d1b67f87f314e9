"""``autorc extract``: raw text in, entities and relations out (``autorc_nni.extract``).

    autorc extract --ner runs/ner/model --rc runs/rc/model --input article.txt --html view.html
    echo '{"id": "d1", "text": "John Smith works for IBM."}' | autorc extract --ner … --rc … --jsonl
    autorc extract --ner … --rc … --score conll04          # SpERT's joint-extraction scores

The input is plain text (``--input FILE``, or stdin): one document. With ``--jsonl``, one JSON
document a line: ``{"id", "text"}``, or ``{"id", "sentences": [[word, ...], ...]}`` already
split. Prints one JSON object per document (``--out FILE`` writes them there instead); ``--html
FILE`` writes a page that shows them. A line that cannot be read is reported with its number and
skipped; the others are extracted, and the exit status is then 1.

``--score DATASET`` (a registered SpERT-format dataset, ``conll04``, or such a folder) extracts
from the gold sentences of ``--split`` (test) and prints entity F1, relation F1 with the entity
types (strict) and without them (boundaries), micro over the sentences.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autorc_nni.errors import DataError
from trial.commands._flags import add_data_root_arg, add_inference_args

HELP = "raw text to entities and relations, with a NER and an RC model (and a coref one)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help=HELP)
    p.add_argument(
        "--ner", required=True, metavar="DIR", help="a NER model (autorc train --task ner)"
    )
    p.add_argument("--rc", required=True, metavar="DIR", help="a relation model (--task rc)")
    p.add_argument("--coref", metavar="DIR", help="a coreference model (--task coref): clusters")
    p.add_argument("--input", metavar="FILE", help="the text (default: stdin)")
    p.add_argument("--jsonl", action="store_true", help="the input is JSON lines, a document each")
    p.add_argument("--out", metavar="FILE", help="write the JSON lines here (default: stdout)")
    p.add_argument("--html", metavar="FILE", help="also write an HTML page of what was found")
    p.add_argument("--score", metavar="DATASET", help="score on a SpERT-format dataset's gold")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"], help="of --score")
    add_data_root_arg(p)
    p.add_argument(
        "--overlaps",
        action="store_true",
        help="keep overlapping entities (default: the most probable)",
    )
    add_inference_args(p)
    p.set_defaults(func=run)


def _gold(args: argparse.Namespace) -> list:
    from autorc_nni.data.spert import read_spert_sentences
    from autorc_nni.tasks.base import split_files

    files = split_files(args.score, "spert", args.data_root, "spert")
    return read_spert_sentences(files[args.split])


def run(args: argparse.Namespace) -> int:
    from autorc_nni.extract import Extractor, extraction_html, read_document, score_extraction
    from autorc_nni.training import resolve_device
    from trial.commands.predict import read_json_lines

    errors: list[str] = []
    gold = None
    if args.score:
        gold = _gold(args)
        documents: list = [{"id": s.id, "sentences": [list(s.tokens)]} for s in gold]
    else:
        where = args.input or "<stdin>"
        if args.input and not Path(args.input).is_file():
            raise DataError(f"{args.input}: input file not found")
        stream = open(args.input, encoding="utf-8") if args.input else sys.stdin
        try:
            if args.jsonl:
                documents = read_json_lines(
                    # a document without an id is named by where it was read ("FILE:LINE")
                    stream,
                    lambda obj, at: (read_document(obj, at), {"id": at, **obj})[1],
                    where,
                    errors,
                )
            else:
                documents = [{"id": where, "text": stream.read()}]
        finally:
            if args.input:
                stream.close()
    for e in errors:
        print(f"autorc extract: skipped {e}", file=sys.stderr)
    if not documents:
        raise DataError(f"{args.input or '<stdin>'}: nothing to extract from")
    extractor = Extractor.from_pretrained(
        args.ner,
        args.rc,
        args.coref,
        device=str(resolve_device(args.device)),
        batch_size=args.batch_size,
        overlaps=args.overlaps,
    )
    results = extractor.extract(documents)
    lines = [json.dumps(r) for r in results]
    if args.out:
        Path(args.out).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    elif gold is None:
        print("\n".join(lines))
    if args.html:
        Path(args.html).write_text(extraction_html(results), encoding="utf-8")
    if gold is not None:
        scores = score_extraction(results, gold)
        print(json.dumps({"dataset": args.score, "split": args.split, **scores}, indent=2))
    if errors:
        print(f"autorc extract: {len(errors)} line(s) could not be read (above)", file=sys.stderr)
        return 1
    return 0
