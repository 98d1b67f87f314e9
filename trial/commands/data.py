"""``autorc data stats``: what a dataset holds, split by split.

autorc data stats semeval10
autorc data stats --data path/to/folder --format tacred --encoder minilm --max-len 256
autorc data stats --data path/to/folder        # the format detected from the files' content
autorc data stats --data path/to/folder --strict   # refuse records that would be dropped
autorc data stats ddi --encoder none          # words only, no tokenizer
autorc data stats conll04 --task ner           # sentences, entities by type, candidate spans
autorc data stats litbank --task coref         # documents, sentences, tokens, mentions, entities
autorc data stats --task coref --data DOCS --splits IDS
"""

from __future__ import annotations

import argparse
import json

from autorc_nni.data import DATASETS, READERS, load_dataset
from autorc_nni.errors import AutoRCError
from autorc_nni.stats import compute_stats, format_stats
from autorc_nni.tasks import TASKS, TaskOptions, format_task_stats, load_task_data, task_stats
from trial.commands._common import STRICT_HELP
from trial.commands._flags import add_data_root_arg

# for `autorc --help`, read without importing the command
HELP = "inspect the benchmark datasets"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help=HELP)
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    stats = dsub.add_parser("stats", help="print per-split statistics of a dataset")
    stats.add_argument(
        "name", nargs="?", help=f"a dataset ({', '.join(DATASETS.names())}) or hf:ORG/NAME"
    )
    stats.add_argument("--data", metavar="DIR", help="a folder with train/dev/test files instead")
    stats.add_argument(
        "--format",
        choices=[*READERS.names(), "conll2012"],
        help="the file format of --data (default: detected from its content)",
    )
    stats.add_argument(
        "--task",
        choices=TASKS.names(),
        default="rc",
        help="rc (default): relation statements; ner: entity spans; coref: documents and mentions",
    )
    stats.add_argument("--splits", metavar="DIR", help="coref: {train,dev,test}.ids of --data")
    stats.add_argument(
        "--max-span-len", type=int, default=10, help="ner: longest candidate span (default 10)"
    )
    stats.add_argument(
        "--max-antecedents",
        type=int,
        help=f"coref: previous mentions each mention is paired with (default "
        f"{TaskOptions.max_antecedents})",
    )
    stats.add_argument(
        "--negative-label",
        metavar="NAME",
        help="the no-relation label (default: the dataset's; for a folder, the one of Other, "
        "no_relation, NA, None, false... in its labels); none: there is none, "
        "micro-F1 over all labels (a label spelled exactly so is named by it)",
    )
    stats.add_argument("--strict", action="store_true", help=STRICT_HELP)
    add_data_root_arg(stats)
    stats.add_argument(
        "--encoder",
        default="minilm",
        help="tokenizer for the wordpiece figures ('none' to skip; default minilm)",
    )
    stats.add_argument("--max-len", type=int, default=256, help="featurization length limit")
    stats.add_argument("--json", action="store_true", help="print JSON instead of text")
    stats.set_defaults(func=_stats)


def _stats(args: argparse.Namespace) -> int:
    if (args.name is None) == (args.data is None):
        raise AutoRCError("give a dataset NAME or --data DIR (not both)")
    if args.task != "rc":
        data = load_task_data(
            args.task,
            args.data or args.name,
            fmt=args.format,
            data_root=args.data_root,
            splits=args.splits,
            options=TaskOptions(
                max_span_len=args.max_span_len,
                **(
                    {}
                    if args.max_antecedents is None
                    else {"max_antecedents": args.max_antecedents}
                ),
            ),
        )
        stats = task_stats(data)
        print(json.dumps(stats, indent=2) if args.json else format_task_stats(stats))
        return 0
    ds = load_dataset(
        args.data or args.name,
        fmt=args.format,
        data_root=args.data_root,
        negative_label=args.negative_label,
        strict=args.strict,
    )
    encoder = None if args.encoder.lower() == "none" else args.encoder
    ds_stats = compute_stats(ds, encoder=encoder, max_len=args.max_len)
    print(ds_stats.to_json() if args.json else format_stats(ds_stats))
    return 0
