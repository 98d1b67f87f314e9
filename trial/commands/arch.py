"""``autorc arch show|draw``: inspect an architecture (a preset name or a JSON file)."""

from __future__ import annotations

import argparse

from autorc_nni.architecture import PRESETS, resolve_architecture

HELP = "show or draw an architecture"  # for `autorc --help`, read without importing


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("arch", help=HELP)
    asub = p.add_subparsers(dest="arch_command", metavar="ACTION", required=True)
    show = asub.add_parser("show", help="print an architecture as text and JSON")
    show.add_argument("arch", help=f"a preset ({', '.join(PRESETS)}) or an architecture JSON")
    show.set_defaults(func=_show)
    draw = asub.add_parser("draw", help="draw an architecture as a diagram (PNG, PDF or SVG)")
    draw.add_argument("arch", help=f"a preset ({', '.join(PRESETS)}) or an architecture JSON")
    draw.add_argument("-o", "--out", default="arch.png",
                      help="output image; the suffix picks the format (default: arch.png)")
    draw.add_argument("--title", default=None, help="figure title (default: the ARCH argument)")
    draw.set_defaults(func=_draw)


def _show(args: argparse.Namespace) -> int:
    arch = resolve_architecture(args.arch)
    print(arch.describe())
    print()
    print(arch.to_json(), end="")
    return 0


def _draw(args: argparse.Namespace) -> int:
    from autorc_nni.draw import draw_architecture

    arch = resolve_architecture(args.arch)
    path = draw_architecture(arch, args.out, title=args.title or str(args.arch))
    print(f"wrote {path}")
    return 0
