"""Options shared by the protocol commands (hpo, repeat, random-search, transfer, run).

Each command builds one pipeline config: the YAML given with ``--config`` (optional), then the
command-line flags on top, then ``--set key=value`` overrides; the result is validated by
:func:`autorc_nni.protocol.pipeline_config_from_dict` and
:func:`strategies.runner.check_config` (the method and space tables), so a bad flag or key is
refused before
anything trains.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

from autorc_nni.config import ConfigError, read_yaml, set_dotted
from autorc_nni.protocol import PipelineConfig, pipeline_config_from_dict
from autorc_nni.tasks import TASKS
from strategies.runner import check_config
from trial.commands._fields import Flags, add_config_args, apply_flags

# flag dest -> dotted key of the pipeline config
_FLAGS = {
    "task": "task",
    "splits": "splits",
    **{
        f: f"task_options.{f}"
        for f in ("max_span_len", "neg_per_sentence", "max_antecedents", "neg_ratio")
    },
    "dataset": "dataset",
    "format": "format",
    "negative_label": "negative_label",
    "strict": "strict",
    "data_root": "data_dir",
    "encoder": "encoder",
    "space": "space",
    "epochs": "train.epochs",
    "max_len": "train.max_len",
    "limit_train": "train.limit_train",
    "limit_eval": "train.limit_eval",
    "device": "train.device",
    "trials": "hpo.trials",
    "storage": "hpo.storage",
    "study": "hpo.study",
    "sampler_seed": "hpo.sampler_seed",
    "seeds": "seeds.n",
    "first_seed": "seeds.first",
}


STRICT_HELP = (
    "refuse a record that cannot be a relation statement (an empty entity, "
    "'<e1> </e1>'), naming its file and line; by default it is dropped and counted "
    "(data stats and every run's summary report the counts)"
)


def add_strict_arg(p: argparse.ArgumentParser) -> None:
    """``--strict`` (None when not given, so a config's ``strict:`` stands)."""
    p.add_argument("--strict", action="store_true", default=None, help=STRICT_HELP)


def announce_format(dataset: str | None, fmt: str | None, task: str | None) -> None:
    """For a ``--data`` folder given without ``--format`` (task rc): detect its format now, so a
    folder that cannot be read is refused before anything trains, and say on stderr which
    format it is read as."""
    from pathlib import Path

    if fmt is not None or (task or "rc") != "rc" or not dataset or dataset.startswith("hf:"):
        return
    path = Path(dataset).expanduser()
    if not path.exists():  # a registered dataset name
        return
    from autorc_nni.data.datasets import folder_format

    print(
        f"autorc: {path}: format {folder_format(path)} (detected from its files; "
        "--format to choose)",
        file=sys.stderr,
    )


# flag dest -> TaskOptions key, for the one-stage commands (train, search)
TASK_FLAGS = {
    "task": "task",
    "splits": "splits",
    **{
        f: f"task_options.{f}"
        for f in ("max_span_len", "neg_per_sentence", "max_antecedents", "neg_ratio")
    },
}


def add_task_args(p: argparse.ArgumentParser) -> None:
    """``--task`` and the options of span NER and coreference (autorc_nni.tasks)."""
    p.add_argument(
        "--task",
        choices=["rc", "ner", "coref"],
        help="rc (default): relation classification; ner: span NER (SpERT JSON, "
        "--format spert); coref: mention-pair coreference (CoNLL-2012)",
    )
    p.add_argument(
        "--splits",
        metavar="DIR",
        help="coref: {train,dev,test}.ids naming the "
        "documents of a flat --data folder by file stem (LitBank's layout)",
    )
    p.add_argument(
        "--max-span-len",
        type=int,
        help="ner: longest candidate span in words (default 10, as SpERT)",
    )
    p.add_argument(
        "--neg-per-sentence",
        type=int,
        help="ner: negative spans sampled per training sentence each epoch (default 100)",
    )
    p.add_argument(
        "--max-antecedents",
        type=int,
        help="coref: previous mentions each mention is paired with (default 50)",
    )
    p.add_argument(
        "--neg-ratio",
        type=float,
        help="coref: negative pairs sampled per positive each epoch (default 3)",
    )


def add_data_args(p: argparse.ArgumentParser, dataset_required: bool = True) -> None:
    p.add_argument(
        "--config",
        metavar="YAML",
        help="a pipeline config whose train/hpo/seeds sections are the defaults",
    )
    add_task_args(p)
    p.add_argument(
        "--dataset",
        required=dataset_required,
        help="a registered dataset (semeval10, ...) or a folder",
    )
    p.add_argument(
        "--format",
        help="reader of a dataset folder (opennre, tacred, semeval, ...; "
        "default: detected from its files)",
    )
    add_strict_arg(p)
    p.add_argument(
        "--negative-label",
        metavar="NAME",
        help="the no-relation label (default: the dataset's; for a folder, the one of Other, "
        "no_relation, NA, None, false... in its labels); none: there is none, "
        "micro-F1 over all labels",
    )
    p.add_argument("--data-root", help="where named datasets live (default $AUTORC_DATA_DIR)")
    p.add_argument("--encoder", help="minilm (default), tiny, an HF name or a local path")
    p.add_argument("--epochs", type=int, help="training epochs per run")
    p.add_argument("--max-len", type=int, help="max wordpieces per example")
    p.add_argument(
        "--limit-train", type=int, help="a seeded, label-stratified sample of N training examples"
    )
    p.add_argument(
        "--limit-eval",
        type=int,
        help="a seeded, label-stratified sample of N dev and N test examples",
    )
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set train.dropout=0.2 (YAML value)",
    )


def add_hpo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trials", type=int, help="Optuna trials per architecture (paper: 10)")
    p.add_argument(
        "--storage",
        help="Optuna storage URL or journal:FILE (default: SQLite in "
        "the output directory); share it to let several workers fill one study",
    )
    p.add_argument("--study", help="Optuna study name (default: from the output directory)")
    p.add_argument("--sampler-seed", type=int, help="seed of Optuna's RandomSampler")


def add_seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=int, help="number of seeds for the chosen setting (paper: 10)")
    p.add_argument("--first-seed", type=int, help="seeds are FIRST..FIRST+N-1 (default 0)")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["a.b=3", "c=x"]`` -> ``{"a.b": 3, "c": "x"}`` (values parsed as YAML)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {item!r}: invalid value: {e}") from None
    return out


def add_config_command_args(p: argparse.ArgumentParser, cls: type, **options: Any) -> Flags:
    """The flags of a one-stage command (train, search): ``--config``, ``--data DIR``, one flag
    per field of ``cls`` (``trial.commands._fields``), ``--set``. Returns dest -> key."""
    name = cls.__name__
    p.add_argument("--config", metavar="YAML", help=f"a YAML mapping of {name} keys")
    p.add_argument(
        "--data",
        metavar="DIR",
        help="a folder with the split files (its format: --format, or detected); "
        "stands for --dataset DIR",
    )
    rename = {"num_threads": "threads", "data_dir": "data_root", **options.pop("rename", {})}
    choices = {"task": list(TASKS), **options.pop("choices", {})}
    helps = {"out": "output directory (required)", **options.pop("helps", {})}
    flags = add_config_args(p, cls, rename=rename, choices=choices, helps=helps, **options)
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"set any {name} key (YAML value), e.g. --set dropout=0.2",
    )
    return flags


def flat_config(args: argparse.Namespace, needs_out: str) -> tuple[dict[str, Any], str]:
    """The mapping of a one-stage command (train, search): --config, then flags, then --set.

    The flags are those :func:`add_config_command_args` made (``args.flags``); unset flags keep
    the config/default value. ``--data DIR`` stands for ``--dataset`` (its format given with
    ``--format`` or detected from its files, and said on stderr). Returns the mapping and where
    it came from, for error messages; the caller validates it with its dataclass.
    """
    where = args.config or "command line"
    data: dict[str, Any] = read_yaml(args.config) if args.config else {}
    if args.data is not None and args.dataset is not None:
        raise ConfigError("give --dataset NAME or --data DIR, not both")
    if args.data is not None:
        data["dataset"] = args.data
    apply_flags(args, args.flags, data, where)
    data.update(parse_overrides(args.overrides))
    if "out" not in data:
        raise ConfigError(f"--out DIR is required ({needs_out})")
    announce_format(data.get("dataset"), data.get("format"), data.get("task"))
    return data, where


def build_config(args: argparse.Namespace, **fixed: Any) -> PipelineConfig:
    """The pipeline config of a command: --config, then flags, then ``fixed``, then --set."""
    data = read_yaml(args.config) if getattr(args, "config", None) else {}
    where = args.config or "command line"
    for dest, key in _FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            set_dotted(data, key, value, where)
    for key, value in fixed.items():
        set_dotted(data, key, value, where)
    for key, value in parse_overrides(getattr(args, "overrides", [])).items():
        set_dotted(data, key, value, where)
    data.setdefault("train", {}).setdefault("progress", False)
    cfg = check_config(pipeline_config_from_dict(data, where), where)
    announce_format(cfg.dataset, cfg.format, cfg.task)
    return cfg


def print_result(r: dict[str, Any]) -> None:
    """One evaluated architecture: setting, dev and test mean ± std (percent)."""

    def pct(m: float | None, s: float | None) -> str:
        return "-" if m is None else f"{100 * m:.2f} ± {100 * (s or 0):.3f}"

    print(f"hyper-parameters: {r['params']}")
    print(f"dev  ({len(r['dev'])} seeds): {pct(r['dev_mean'], r['dev_std'])}")
    print(f"test ({len(r['test'])} seeds): {pct(r['test_mean'], r['test_std'])}")
