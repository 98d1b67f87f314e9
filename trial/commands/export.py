"""``autorc export RUN --out DIR``: the trained best model of a run as a folder to share.

    autorc export runs/p0 --out models/semeval10-autorc      # a pipeline run: its best model
    autorc export runs/be --out models/bert-entity           # an `autorc train` run

The folder loads with ``RCModel.from_pretrained(DIR)`` and holds what a model hub expects:
weights in safetensors, the tokenizer, the architecture JSON and diagram, and a model card
(``README.md``) with the dataset and its split counts, dev/test scores with std over seeds, the
hyper-parameters, the encoder and the exact command that trained it (``pipeline.export``).
"""

from __future__ import annotations

import argparse

HELP = "export a run's trained best model as a shareable folder (model card included)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help=HELP)
    p.add_argument("run", help="a run directory: `autorc run`/NNI trial, repeat/transfer, or train")
    p.add_argument("--out", required=True, help="the new model folder (must not exist or be empty)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.export import export_model

    out = export_model(args.run, args.out)
    print(f"exported to {out} (model card: {out / 'README.md'})")
    print(f"load it: RCModel.from_pretrained({str(out)!r}); or: autorc predict --model {out}")
    return 0
