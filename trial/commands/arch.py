"""``autorc arch show|draw``: inspect an architecture (a preset name or a JSON file)."""

from __future__ import annotations

import argparse

from autorc_nni.architecture import PRESETS, resolve_architecture


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("arch", help="show or draw an architecture")
    asub = p.add_subparsers(dest="arch_command", metavar="ACTION", required=True)
    show = asub.add_parser("show", help="print an architecture as text and JSON")
    show.add_argument("arch", help=f"a preset ({', '.join(PRESETS)}) or an architecture JSON")
    show.set_defaults(func=_show)


def _show(args: argparse.Namespace) -> int:
    arch = resolve_architecture(args.arch)
    print(arch.describe())
    print()
    print(arch.to_json(), end="")
    return 0
