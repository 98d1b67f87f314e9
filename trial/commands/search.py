"""``autorc search``: the AutoRC architecture search on one dataset (docs/design.md §5).

    autorc search --dataset semeval10 --encoder minilm --space M --method autorc \\
        --epochs 10 --seed 1 --out runs/search
    autorc search --data path/to/folder --format tacred --encoder path/to/bert --out runs/s
    autorc search ... --out runs/search --resume      # continue a killed search
    autorc search --config search.yml --set k=50 --out runs/s

``--method`` picks AutoRC or an ablation of the paper's Table 3 (the rows of
``strategies.methods.METHODS``: ``autorc``, ``naive-enas``, ``autorc1`` no heterogeneous
sharing, ``autorc2`` one weight copy, ``autorc3`` no search warm-up). The flags are the fields
of ``SearchConfig`` (generated from it). Flags override ``--config`` (a YAML mapping of
``SearchConfig`` keys); ``--set KEY=VALUE`` overrides both. Writes ``architectures/``,
``ranking.md``/``ranking.json``, ``summary.json``, ``tensorboard/`` and ``checkpoint.pt`` (see
``strategies.search``).
"""

from __future__ import annotations

import argparse

from search_spaces.spaces import SPACES
from strategies.methods import METHODS
from strategies.search import SearchConfig, run_search, search_config_from_dict
from trial.commands._common import add_config_command_args, flat_config

# for `autorc --help`, read without importing the command
HELP = "search architectures with the AutoRC controller"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help=HELP)
    flags = add_config_command_args(
        p,
        SearchConfig,
        skip={"stop_after_steps", "pooler_kwargs"},
        rename={"search_warmup_epochs": "search_warmup", "encoder_warmup_epochs": "encoder_warmup"},
        choices={"space": list(SPACES), "method": list(METHODS)},
    )
    p.set_defaults(func=run, flags=flags)


def build_search_config(args: argparse.Namespace) -> SearchConfig:
    """The SearchConfig of a command line: --config, then flags, then --set."""
    data, where = flat_config(args, needs_out="where the architectures and logs go")
    return search_config_from_dict(data, where)


def run(args: argparse.Namespace) -> int:
    cfg = build_search_config(args)
    result = run_search(cfg)
    if not result.completed:
        print(f"stopped after {result.steps} steps; continue with --resume")
        return 0
    print(
        f"{result.steps} search steps ({result.steps_per_epoch} per epoch); "
        f"top {cfg.top_k} of {len(result.ranking)} sampled architectures:"
    )
    for r in result.top:
        print(f"  {r.rank}. score {r.score:.4f}  p {r.probability:.2e}  {r.path}")
    print(f"ranking: {cfg.out}/ranking.md; TensorBoard: {cfg.out}/tensorboard")
    return 0
