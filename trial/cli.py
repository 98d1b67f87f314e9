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
import ast
import importlib
import pkgutil
import sys

import trial.commands as _commands
from autorc_nni.errors import AutoRCError


def _commands_table() -> dict[str, tuple[str, str]]:
    """``{command: (module, help)}`` for every module in ``trial/commands/``.

    The help line is each module's ``HELP`` constant, read from its source without importing
    it, so ``autorc --help`` and ``autorc arch …`` do not pay for torch, NNI or Optuna.
    """
    table: dict[str, tuple[str, str]] = {}
    for info in pkgutil.iter_modules(_commands.__path__):
        if info.name.startswith("_"):
            continue
        path = f"{_commands.__path__[0]}/{info.name}.py"
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        help_line = next(
            (
                node.value.value
                for node in tree.body
                if isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and any(isinstance(t, ast.Name) and t.id == "HELP" for t in node.targets)
            ),
            "",
        )
        if not isinstance(help_line, str):
            raise TypeError(f"{path}: HELP must be a string, got {help_line!r}")
        table[info.name.replace("_", "-")] = (info.name, help_line)
    return dict(sorted(table.items()))


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the command named in ``argv`` is imported (all of them when None)."""
    parser = argparse.ArgumentParser(
        prog="autorc",
        description="AutoRC-NNI: architecture search for BERT-based relation classification",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    table = _commands_table()
    chosen = next((a for a in (argv or []) if not a.startswith("-")), None)
    for name, (module_name, help_line) in table.items():
        if argv is None or name == chosen:
            importlib.import_module(f"trial.commands.{module_name}").register(sub)
        else:
            sub.add_parser(name, help=help_line)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
