"""Options shared by the protocol commands (hpo, repeat, random-search, transfer, run).

Each command builds one pipeline config: the YAML given with ``--config`` (optional), then the
command-line flags on top, then ``--set key=value`` overrides; the result is validated by
:func:`pipeline.protocol.pipeline_config_from_dict` and
:func:`pipeline.runner.check_config` (the method and space tables), so a bad flag or key is
refused before
anything trains.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Set as AbstractSet
from typing import Any

import yaml

from autorc_nni.config import ConfigError, read_yaml, set_dotted
from autorc_nni.stage import data_override_key, lift_data_section
from autorc_nni.tasks import TASKS
from pipeline.protocol import PipelineConfig, pipeline_config_from_dict
from pipeline.runner import check_config
from trial.commands._fields import Flags, add_config_args, apply_flags

STRICT_HELP = (
    "refuse a record that cannot be a relation statement (an empty entity, "
    "'<e1> </e1>'), naming its file and line; by default it is dropped and counted "
    "(data stats and every run's summary report the counts)"
)


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


def add_data_args(p: argparse.ArgumentParser, dataset_required: bool = True) -> None:
    """The flags of the protocol commands (hpo, repeat, run …): ``--config``, the data and
    task fields of ``PipelineConfig``, some ``train`` fields, ``--set``; generated from the
    dataclasses like the one-stage commands' (``trial.commands._fields``)."""
    from autorc_nni.finetune import TrainConfig

    p.add_argument(
        "--config",
        metavar="YAML",
        help="a pipeline config whose train/hpo/seeds sections are the defaults",
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        help="a folder with the split files (its format: --format, or detected); "
        "stands for --dataset DIR",
    )
    flags = add_config_args(
        p,
        PipelineConfig,
        only=["data"],  # every key of the data section (autorc_nni.stage.DataConfig)
        rename={"data_dir": "data_root"},
        choices={"task": list(TASKS)},
        helps={
            "dataset": "a registered dataset (semeval10, ...) or a folder"
            + ("" if dataset_required else " (default: the config's, else semeval10)")
        },
    )
    flags |= add_config_args(
        p,
        TrainConfig,
        prefix="train.",
        only=["epochs", "max_len", "limit_train", "limit_eval", "device"],
    )
    add_set_arg(p, "override any config key, e.g. --set train.dropout=0.2 (YAML value)")
    keep_flags(p, flags, required={"dataset"} if dataset_required else set())


def add_hpo_args(p: argparse.ArgumentParser, pruning: bool = False) -> None:
    """``hpo`` fields as flags (``--trials``, ``--storage``, ``--study``, ``--sampler-seed``,
    and ``--pruning`` where asked)."""
    from pipeline.evaluation import HPOConfig

    only = ["trials", "storage", "study", "sampler_seed"] + (["pruning"] if pruning else [])
    keep_flags(p, add_config_args(p, HPOConfig, prefix="hpo.", only=only))


def add_seed_args(p: argparse.ArgumentParser) -> None:
    """``seeds`` fields as flags (``--seeds N``, ``--first-seed``)."""
    from pipeline.evaluation import SeedsConfig

    rename = {"n": "seeds", "first": "first_seed"}
    keep_flags(p, add_config_args(p, SeedsConfig, prefix="seeds.", rename=rename))


def keep_flags(
    p: argparse.ArgumentParser, flags: Flags, required: AbstractSet[str] = frozenset()
) -> None:
    """Keep a parser's generated flags (dest -> key) for ``config_data``; ``required`` dests
    must be given on the command line or by ``--config``."""
    p.set_defaults(flags={**(p.get_default("flags") or {}), **flags})
    if required:
        p.set_defaults(required_flags={*(p.get_default("required_flags") or set()), *required})


def add_set_arg(p: argparse.ArgumentParser, text: str) -> None:
    """``--set KEY=VALUE`` (repeatable): the last word on any config key."""
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=text
    )


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
    add_set_arg(p, f"set any {name} key (YAML value), e.g. --set dropout=0.2")
    return flags


def config_data(
    args: argparse.Namespace, fixed: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """The one config builder of every command: the ``--config`` YAML, then the flags given
    (``args.flags``: generated from the config dataclasses), then ``fixed`` (what the command
    itself sets), then ``--set KEY=VALUE``. ``--data DIR`` stands for ``--dataset``. Returns the
    mapping and where it came from; the caller validates it with its dataclass."""
    where = getattr(args, "config", None) or "command line"
    data: dict[str, Any] = read_yaml(args.config) if getattr(args, "config", None) else {}
    data = lift_data_section(data, where)  # flags and --set write the data keys at the top
    if getattr(args, "data", None) is not None:
        if args.dataset is not None:
            raise ConfigError("give --dataset NAME or --data DIR, not both")
        data["dataset"] = args.data
    apply_flags(args, getattr(args, "flags", {}), data, where)
    for key, value in (fixed or {}).items():
        set_dotted(data, key, value, where)
    for key, value in parse_overrides(getattr(args, "overrides", [])).items():
        set_dotted(data, data_override_key(key), value, where)
    for dest in sorted(getattr(args, "required_flags", ())):
        key = args.flags[dest]
        if key not in data:
            raise ConfigError(f"--{dest.replace('_', '-')} is required (or {key}: in --config)")
    return data, where


def flat_config(args: argparse.Namespace, needs_out: str) -> tuple[dict[str, Any], str]:
    """The mapping of a one-stage command (train, search), from :func:`config_data`; ``out``
    is required, the dataset's format announced."""
    data, where = config_data(args)
    if "out" not in data:
        raise ConfigError(f"--out DIR is required ({needs_out})")
    announce_format(data.get("dataset"), data.get("format"), data.get("task"))
    return data, where


def build_config(
    args: argparse.Namespace, quiet_training: bool = True, **fixed: Any
) -> PipelineConfig:
    """The pipeline config of a protocol command (:func:`config_data`, validated with the
    method and space tables). ``quiet_training``: no progress bar per training unless the
    config asks for one (``autorc run`` leaves the config as it is, so its run directory and
    the NNI trial's agree on the config)."""
    data, where = config_data(args, fixed)
    if quiet_training:
        data.setdefault("train", {}).setdefault("progress", False)
    cfg = check_config(pipeline_config_from_dict(data, where), where)
    announce_format(cfg.data.dataset, cfg.data.format, cfg.data.task)
    return cfg


def print_result(r: dict[str, Any]) -> None:
    """One evaluated architecture: setting, dev and test mean ± std (percent)."""

    def pct(m: float | None, s: float | None) -> str:
        return "-" if m is None else f"{100 * m:.2f} ± {100 * (s or 0):.3f}"

    print(f"hyper-parameters: {r['params']}")
    print(f"dev  ({len(r['dev'])} seeds): {pct(r['dev_mean'], r['dev_std'])}")
    print(f"test ({len(r['test'])} seeds): {pct(r['test_mean'], r['test_std'])}")
