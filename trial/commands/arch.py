"""``autorc arch list|show|draw``: the presets, and an architecture (a preset or a JSON file).

The presets are the hand-made baselines (``bert-entity``, ``r-bert``) and the architectures
learned in the committed results (``ar-<dataset>``, the paper's AR_<dataset> rows), usable
wherever an architecture is asked for (``--arch ar-semeval10``).
"""

from __future__ import annotations

import argparse

from autorc_nni.architecture import PRESETS, preset_source, resolve_architecture

# for `autorc --help`, read without importing the command
HELP = "show or draw an architecture"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("arch", help=HELP)
    asub = p.add_subparsers(dest="arch_command", metavar="ACTION", required=True)
    lst = asub.add_parser("list", help="list the presets and where each comes from")
    lst.set_defaults(func=_list)
    show = asub.add_parser("show", help="print an architecture as text and JSON")
    show.add_argument("arch", help=f"a preset ({', '.join(PRESETS)}) or an architecture JSON")
    show.set_defaults(func=_show)
    pre = asub.add_parser(
        "preset",
        help="write a run's best learned architecture as a preset "
        "file (autorc_nni/presets/ar-<dataset>.json ships it as a preset)",
    )
    pre.add_argument("run", help="a protocol run directory (its result.json)")
    pre.add_argument("-o", "--out", required=True, help="the preset JSON to write")
    pre.set_defaults(func=_preset)
    draw = asub.add_parser("draw", help="draw an architecture as a diagram (PNG, PDF or SVG)")
    draw.add_argument("arch", help=f"a preset ({', '.join(PRESETS)}) or an architecture JSON")
    draw.add_argument(
        "-o",
        "--out",
        default="arch.png",
        help="output image; the suffix picks the format (default: arch.png)",
    )
    draw.add_argument("--title", default=None, help="figure title (default: the ARCH argument)")
    draw.set_defaults(func=_draw)


def _list(args: argparse.Namespace) -> int:
    width = max(map(len, PRESETS))
    for name, arch in PRESETS.items():
        print(f"{name:<{width}}  {arch.short()}")
        print(f"{'':<{width}}  {preset_source(name)}")
    return 0


def _preset(args: argparse.Namespace) -> int:
    from pathlib import Path

    from autorc_nni.architecture import Architecture
    from autorc_nni.config import ConfigError
    from autorc_nni.files import read_json

    run = Path(args.run)
    path = run / "result.json"
    result = read_json(path, ConfigError, "no such result (give a protocol run directory)")
    if result.get("kind") != "pipeline":
        raise ConfigError(f"{path}: not a protocol run's result (kind {result.get('kind')!r})")
    best = result["best"]
    arch = Architecture.from_dict(best["architecture"], where=str(path))
    meta = {
        "method": result.get("method"),
        "dataset": result.get("dataset"),
        "source_run": str(run),
        "dev_mean": best.get("dev_mean"),
        "test_mean": best.get("test_mean"),
        "test_std": best.get("test_std"),
        "n_seeds": len(best.get("test") or []),
        "params": best.get("params"),
        "command": (result.get("command") or None),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    arch.save(args.out, meta={k: v for k, v in meta.items() if v is not None})
    print(f"wrote {args.out}: {arch.short()}")
    return 0


def _show(args: argparse.Namespace) -> int:
    arch = resolve_architecture(args.arch)
    if args.arch in PRESETS:
        print(f"preset {args.arch}: {preset_source(args.arch)}")
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
