"""``autorc train``: fine-tune one architecture (a preset or a JSON file) and test it.

    autorc train --arch bert-entity --dataset semeval10 --encoder minilm \\
        --lr 2e-5 --batch-size 32 --warmup 0.8 --epochs 3 --seed 1 --out runs/be
    autorc train --arch arch.json --data path/to/folder --format tacred --out runs/a
    autorc train ... --out runs/be --resume          # continue a killed run
    autorc train --config train.yml --set dropout=0.2 --out runs/x

Flags override ``--config`` (a YAML mapping of ``TrainConfig`` keys), ``--set KEY=VALUE``
overrides both. Writes ``metrics.json``, ``test_predictions.jsonl``, ``tensorboard/`` and
``model/`` (see ``autorc_nni.train``).
"""

from __future__ import annotations

import argparse

from autorc_nni.architecture import PRESETS
from autorc_nni.train import train, train_config_from_dict
from trial.commands._common import TASK_FLAGS, add_strict_arg, add_task_args, flat_config

# flag dest -> TrainConfig key (flags left unset keep the config/default value)
_FLAGS = {
    **TASK_FLAGS,
    "arch": "arch",
    "dataset": "dataset",
    "data_root": "data_dir",
    "format": "format",
    "negative_label": "negative_label",
    "encoder": "encoder",
    "lr": "lr",
    "batch_size": "batch_size",
    "warmup": "warmup",
    "epochs": "epochs",
    "seed": "seed",
    "out": "out",
    "max_len": "max_len",
    "weight_decay": "weight_decay",
    "grad_clip": "grad_clip",
    "dropout": "dropout",
    "device": "device",
    "eval_batch_size": "eval_batch_size",
    "pad_to": "pad_to",
    "limit_train": "limit_train",
    "limit_eval": "limit_eval",
    "log_every": "log_every",
    "checkpoint_every": "checkpoint_every",
    "threads": "num_threads",
}
_SWITCHES = {  # store_true flags: dest -> (TrainConfig key, value when given)
    "resume": ("resume", True),
    "strict": ("strict", True),
    "bf16": ("bf16", True),
    "no_bucket": ("bucket", False),
    "keep_checkpoint": ("keep_checkpoint", True),
    "no_progress": ("progress", False),
}


# for `autorc --help`, read without importing the command
HELP = "fine-tune one architecture, pick the best epoch on dev, test"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=HELP)
    p.add_argument("--config", metavar="YAML", help="a mapping of training options (TrainConfig)")
    p.add_argument("--arch", help=f"a preset ({', '.join(PRESETS)}) or an architecture JSON")
    p.add_argument("--dataset", help="a registered dataset (default semeval10)")
    p.add_argument(
        "--data",
        metavar="DIR",
        help="a folder with train/dev/test files (its format: --format, or detected)",
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
    p.add_argument(
        "--lr",
        type=float,
        help="peak learning rate (default: the encoder's measured "
        "setting, minilm 2e-4; otherwise the paper's 2e-5)",
    )
    p.add_argument("--batch-size", type=int, help="training batch size (default 32)")
    p.add_argument("--warmup", type=float, help="warm-up length in epochs (default 0.8)")
    p.add_argument("--epochs", type=int, help="training epochs (default 3)")
    p.add_argument("--seed", type=int, help="random seed (default 42)")
    p.add_argument("--out", help="output directory")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA only)")
    p.add_argument("--max-len", type=int, help="max wordpieces per example (default 256)")
    p.add_argument("--weight-decay", type=float, help="AdamW weight decay (default 0.01)")
    p.add_argument("--grad-clip", type=float, help="max gradient norm, 0 = off (default 1.0)")
    p.add_argument("--dropout", type=float, help="classifier dropout (default 0.1)")
    p.add_argument("--eval-batch-size", type=int, help="dev/test batch size (default 64)")
    p.add_argument("--no-bucket", action="store_true", help="random batches, not length-bucketed")
    p.add_argument("--pad-to", type=int, help="pad every batch to this length (default: dynamic)")
    p.add_argument(
        "--limit-train", type=int, help="a seeded, label-stratified sample of N training examples"
    )
    p.add_argument(
        "--limit-eval",
        type=int,
        help="a seeded, label-stratified sample of N dev and N test examples",
    )
    p.add_argument("--log-every", type=int, help="TensorBoard train scalars every N steps")
    p.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps (0: epoch ends)")
    p.add_argument("--keep-checkpoint", action="store_true", help="keep checkpoint.pt at the end")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any TrainConfig key (YAML value), e.g. --set dropout=0.2",
    )
    p.set_defaults(func=run)


def build_train_config(args: argparse.Namespace):
    """The TrainConfig of a command line: --config, then flags, then --set."""
    data, where = flat_config(args, _FLAGS, _SWITCHES, needs_out="where the model and metrics go")
    return train_config_from_dict(data, where)


def print_scores(result: dict) -> None:
    """One line per split: the task's metrics (percent)."""
    metric = result["metric"]
    for split in ("dev", "test"):
        m = result[split]
        if result.get("task") == "coref":
            line = (
                f"MUC {100 * m['muc_f1']:.2f}  B3 {100 * m['b3_f1']:.2f}  "
                f"CEAF-e {100 * m['ceafe_f1']:.2f}  CoNLL F1 {100 * m['conll_f1']:.2f}"
            )
        else:
            line = f"micro-F1 {100 * m['micro_f1']:.2f}  macro-F1 {100 * m['macro_f1']:.2f}"
            if "accuracy" in m:
                line += f"  accuracy {100 * m['accuracy']:.2f}"
            if "semeval_official" in m:
                line += f"  official {100 * m['semeval_official']:.2f}"
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
