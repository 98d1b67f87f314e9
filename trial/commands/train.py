"""``autorc train``: fine-tune one architecture (a preset or a JSON file) and test it.

    autorc train --arch bert-entity --dataset semeval10 --encoder minilm \\
        --lr 2e-5 --batch-size 32 --warmup 0.8 --epochs 3 --seed 1 --out runs/be
    autorc train --arch arch.json --data path/to/folder --format tacred --out runs/a
    autorc train ... --out runs/be --resume          # continue a killed run
    autorc train --config train.yml --set dropout=0.2 --out runs/x

The flags are the fields of ``TrainConfig`` (generated from it: each field's comment is its
help). Flags override ``--config`` (a YAML mapping of ``TrainConfig`` keys), ``--set KEY=VALUE``
overrides both. Writes ``metrics.json``, ``test_predictions.jsonl``, ``tensorboard/`` and
``model/`` (see ``autorc_nni.finetune``).
"""

from __future__ import annotations

import argparse

from autorc_nni.architecture import PRESETS
from autorc_nni.finetune import TrainConfig, train, train_config_from_dict
from autorc_nni.tasks import get_task
from trial.commands._common import add_config_command_args, flat_config

# for `autorc --help`, read without importing the command
HELP = "fine-tune one architecture, pick the best epoch on dev, test"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=HELP)
    flags = add_config_command_args(
        p,
        TrainConfig,
        skip={"stop_after_steps"},
        helps={"arch": f"a preset ({', '.join(PRESETS)}) or an architecture JSON file"},
    )
    p.set_defaults(func=run, flags=flags)


def build_train_config(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of a command line: --config, then flags, then --set."""
    data, where = flat_config(args, needs_out="where the model and metrics go")
    return train_config_from_dict(data, where)


def print_scores(result: dict) -> None:
    """One line per split: the task's metrics (percent)."""
    metric = result["metric"]
    for split in ("dev", "test"):
        m = result[split]
        line = get_task(result.get("task") or "rc").score_line(m)
        print(f"{split:<4} {metric} {100 * m['score']:.2f}  {line}")


def run(args: argparse.Namespace) -> int:
    cfg = build_train_config(args)
    result = train(cfg)
    if result.get("stopped"):
        print(f"stopped after {result['global_step']} steps; continue with --resume")
        return 0
    print_scores(result)
    print(
        f"best epoch {result['best_epoch']}; model: {result['paths']['model']}; "
        f"metrics: {cfg.out}/metrics.json"
    )
    return 0
