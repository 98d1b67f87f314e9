"""Flags generated from config dataclasses: one per field, typed, documented, defaulted."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import pytest

from autorc_nni.config import field_comments, known_keys
from autorc_nni.finetune import TrainConfig
from autorc_nni.stage import DataConfig
from autorc_nni.tasks import TaskOptions
from strategies.search import SearchConfig
from trial.cli import build_parser
from trial.commands._fields import add_config_args, apply_flags


@dataclass
class Inner:
    depth: int = 2  # how deep


@dataclass
class Example:
    name: str = "x"  # the name
    # a comment above a field
    # on two lines
    rate: float | None = None
    mode: Literal["a", "b"] = "a"  # a or b
    on: bool = True  # a switch
    inner: Inner = field(default_factory=Inner)  # nested
    hidden: int = 0


def test_field_comments_read_trailing_and_above_comments():
    assert field_comments(Example) == {
        "name": "the name",
        "rate": "a comment above a field on two lines",
        "mode": "a or b",
        "on": "a switch",
        "inner": "nested",
    }


def test_flags_have_types_choices_defaults_and_nested_fields():
    p = argparse.ArgumentParser()
    flags = add_config_args(p, Example, skip={"hidden"}, rename={"rate": "lr"})
    assert flags == {
        "name": "name",
        "lr": "rate",
        "mode": "mode",
        "on": "on",
        "depth": "inner.depth",
    }
    text = p.format_help()
    assert "the name (default: x)" in text and "a or b (default: a)" in text
    assert "--no-on" in text and "--hidden" not in text
    args = p.parse_args(["--lr", "0.5", "--no-on", "--depth", "3"])
    data: dict = {"name": "from-config"}
    apply_flags(args, flags, data, "cli")
    assert data == {"name": "from-config", "rate": 0.5, "on": False, "inner": {"depth": 3}}
    with pytest.raises(SystemExit):
        p.parse_args(["--mode", "c"])


@pytest.mark.parametrize(
    ("command", "cls", "kept_off"),
    [
        ("train", TrainConfig, {"stop_after_steps", "task_options"}),
        ("search", SearchConfig, {"stop_after_steps", "pooler_kwargs", "task_options"}),
    ],
)
def test_every_config_field_is_a_flag_with_its_comment(command, cls, kept_off):
    """The command line cannot drift from the dataclass: each field (and each field of the
    nested task options) is a flag whose help is the field's comment."""
    sub = build_parser([command])._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    dests = {a.dest: a for a in sub._actions}
    comments = {**field_comments(cls), **field_comments(DataConfig), **field_comments(TaskOptions)}
    # the data section's keys are the config's own (flat); task options are flags of their own
    names = (set(known_keys(cls)) - {"data"}) | {f.name for f in dataclasses.fields(TaskOptions)}
    renamed = {
        "num_threads": "threads",
        "data_dir": "data_root",
        "search_warmup_epochs": "search_warmup",
        "encoder_warmup_epochs": "encoder_warmup",
    }
    for name in sorted(names - kept_off):
        action = dests[renamed.get(name, name)]
        if name not in ("out", "arch"):  # the commands word these two themselves
            assert action.help.startswith(comments[name].replace("%", "%%")[:40]), name
        assert action.default is None  # unset flags keep the config's value


def test_protocol_commands_take_their_flags_from_the_pipeline_dataclasses():
    from pipeline.evaluation import HPOConfig
    from trial.commands._common import config_data

    argv = [
        "hpo",
        "--arch",
        "bert-entity",
        "--dataset",
        "d",
        "--trials",
        "3",
        "--pruning",
        "--epochs",
        "2",
        "--out",
        "o",
    ]
    args = build_parser(argv).parse_args(argv)
    data, where = config_data(args)
    assert where == "command line"
    assert data == {"dataset": "d", "hpo": {"trials": 3, "pruning": True}, "train": {"epochs": 2}}
    helps = {
        a.dest: a.help
        for a in build_parser(["hpo"])._subparsers._group_actions[0].choices["hpo"]._actions
    }  # type: ignore[union-attr]
    assert helps["trials"].startswith(field_comments(HPOConfig)["trials"])
    argv = ["repeat", "--arch", "a.json", "--out", "o", "--seeds", "4"]
    with pytest.raises(Exception, match="--dataset is required"):
        config_data(build_parser(argv).parse_args(argv))


def test_a_mapping_field_is_a_repeatable_key_value_flag():
    """``--restrict span=standard,levitated --restrict use_c0=false`` builds the mapping (values
    read as YAML, a comma-separated one as a list); a malformed item names the flag."""
    from trial.commands._common import config_data

    argv = ["run", "--dataset", "d", "--restrict", "span=standard,levitated"]
    argv += ["--restrict", "use_c0=false", "--restrict", "pool_e1=[avg]"]
    data, _ = config_data(build_parser(argv).parse_args(argv))
    assert data["restrict"] == {
        "span": ["standard", "levitated"],
        "use_c0": False,
        "pool_e1": ["avg"],
    }
    # the items merge into the config's own mapping
    base = {"restrict": {"use_c2": [True]}}
    argv2 = ["run", "--dataset", "d", "--restrict", "span=standard"]
    args = build_parser(argv2).parse_args(argv2)
    apply_flags(args, args.flags, base, "x")
    assert base["restrict"] == {"use_c2": [True], "span": "standard"}
    with pytest.raises(SystemExit):
        build_parser(["run", "--restrict", "span"]).parse_args(["run", "--restrict", "span"])
