"""``autorc search``: the AutoRC architecture search on one dataset (docs/design.md §5).

    autorc search --dataset semeval10 --encoder minilm --space M --method autorc \\
        --epochs 10 --seed 1 --out runs/search
    autorc search --data path/to/folder --format tacred --encoder path/to/bert --out runs/s
    autorc search ... --out runs/search --resume      # continue a killed search
    autorc search --config search.yml --set k=50 --out runs/s

``--method`` picks AutoRC or an ablation of the paper's Table 3: ``autorc``, ``naive-enas``
(plain ENAS sharing, one copy, no warm-up), ``autorc1`` (no heterogeneous sharing), ``autorc2``
(one weight copy), ``autorc3`` (no search warm-up). Flags override ``--config`` (a YAML mapping
of ``SearchConfig`` keys); ``--set KEY=VALUE`` overrides both. Writes ``architectures/``,
``ranking.md``/``ranking.json``, ``summary.json``, ``tensorboard/`` and ``checkpoint.pt`` (see
``strategies.search``).
"""

from __future__ import annotations

import argparse

from strategies.methods import METHODS
from strategies.search import run_search, search_config_from_dict
from trial.commands._common import TASK_FLAGS, add_strict_arg, add_task_args, flat_config

# flag dest -> SearchConfig key (flags left unset keep the config/default value)
_FLAGS = {
    **TASK_FLAGS,
    "dataset": "dataset",
    "data_root": "data_dir",
    "format": "format",
    "encoder": "encoder",
    "negative_label": "negative_label",
    "space": "space",
    "method": "method",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "lr": "lr",
    "controller_lr": "controller_lr",
    "child_steps": "child_steps",
    "reward_batch_mult": "reward_batch_mult",
    "search_warmup": "search_warmup_epochs",
    "encoder_warmup": "encoder_warmup_epochs",
    "copies": "copies",
    "k": "k",
    "top_k": "top_k",
    "entropy_weight": "entropy_weight",
    "baseline_decay": "baseline_decay",
    "seed": "seed",
    "out": "out",
    "max_len": "max_len",
    "limit_train": "limit_train",
    "limit_dev": "limit_dev",
    "checkpoint_every": "checkpoint_every",
    "device": "device",
    "threads": "num_threads",
    "eval_batch_size": "eval_batch_size",
}
_SWITCHES = {  # store_true flags: dest -> (SearchConfig key, value when given)
    "resume": ("resume", True),
    "strict": ("strict", True),
    "no_progress": ("progress", False),
    "no_bucket": ("bucket", False),
}


HELP = (
    "search architectures with the AutoRC controller"  # for `autorc --help`, read without importing
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help=HELP)
    p.add_argument("--config", metavar="YAML", help="a mapping of search options (SearchConfig)")
    p.add_argument("--dataset", help="a registered dataset (default semeval10)")
    p.add_argument(
        "--data",
        metavar="DIR",
        help="a folder with train/dev files (its format: --format, or detected)",
    )
    p.add_argument(
        "--format",
        help="reader of --data (opennre, tacred, semeval, spert, "
        "conll2012, ...; default: detected from its files)",
    )
    add_task_args(p)
    p.add_argument(
        "--negative-label",
        metavar="NAME",
        help="the no-relation label (default: the dataset's; for a folder, the one of Other, "
        "no_relation, NA, None, false... in its labels); none: there is none, "
        "micro-F1 over all labels",
    )
    add_strict_arg(p)
    p.add_argument("--data-root", help="where named datasets live (default $AUTORC_DATA_DIR)")
    p.add_argument("--encoder", help="minilm (default), tiny, an HF name or a local path")
    p.add_argument("--space", choices=["M", "M1", "M2", "M3"], help="search space (default M)")
    p.add_argument("--method", choices=list(METHODS), help="AutoRC or an ablation (default autorc)")
    p.add_argument("--epochs", type=float, help="search epochs (default 10)")
    p.add_argument("--batch-size", type=int, help="child training batch size (default 32)")
    p.add_argument(
        "--lr",
        type=float,
        help="learning rate of the shared weights (default: the encoder's "
        "measured setting; otherwise the paper's 5e-5)",
    )
    p.add_argument(
        "--controller-lr",
        type=float,
        help="controller Adam LR (default: the encoder's "
        "measured setting; otherwise the paper's 1e-4)",
    )
    p.add_argument("--child-steps", type=int, help="train batches per child (default 4)")
    p.add_argument("--reward-batch-mult", type=int, help="reward batch = this x batch size (4)")
    p.add_argument("--search-warmup", type=float, help="epochs without controller updates (1.5)")
    p.add_argument(
        "--encoder-warmup",
        type=float,
        help="encoder LR warm-up in epochs (default: the "
        "encoder's measured setting; otherwise 0.8)",
    )
    p.add_argument("--copies", type=int, help="weight copies per encoder group (method's default)")
    p.add_argument("--k", type=int, help="architectures sampled after the search (default 30)")
    p.add_argument("--top-k", type=int, help="of which the best are exported (default 5)")
    p.add_argument("--entropy-weight", type=float, help="entropy bonus beta (default 1e-4)")
    p.add_argument("--baseline-decay", type=float, help="reward baseline decay (default 0.95)")
    p.add_argument("--seed", type=int, help="random seed (default 42)")
    p.add_argument("--out", help="output directory")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--max-len", type=int, help="max wordpieces per example (default 256)")
    p.add_argument(
        "--limit-train",
        type=int,
        help="use a seeded, label-stratified sample of N training examples",
    )
    p.add_argument(
        "--limit-dev",
        type=int,
        help="use a seeded, label-stratified sample of N validation examples",
    )
    p.add_argument("--eval-batch-size", type=int, help="batch size for scoring the k (default 64)")
    p.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps (default 100)")
    p.add_argument("--no-bucket", action="store_true", help="random batches, not length-bucketed")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any SearchConfig key (YAML value), e.g. --set temperature=5",
    )
    p.set_defaults(func=run)


def build_search_config(args: argparse.Namespace):
    """The SearchConfig of a command line: --config, then flags, then --set."""
    data, where = flat_config(
        args, _FLAGS, _SWITCHES, needs_out="where the architectures and logs go"
    )
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
