"""The ``autorc`` command line.

    autorc data stats semeval10
    autorc train --arch bert-entity --dataset semeval10 --encoder minilm --epochs 3 --out runs/be
    autorc search --dataset semeval10 --encoder minilm --space M --method autorc --out runs/s0
    autorc run --config config.yml

Each subcommand lives in its own module under ``trial/commands/`` exposing
``register(subparsers)``; this file only discovers them, parses, and turns user errors into one
clear message. No logic here: commands call the ``autorc_nni`` library.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import trial.commands as _commands
from autorc_nni.errors import AutoRCError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autorc",
        description="AutoRC-NNI: architecture search for BERT-based relation classification",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"trial.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AutoRCError as e:
        print(f"autorc: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autorc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
