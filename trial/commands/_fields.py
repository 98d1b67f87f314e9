"""Command-line flags generated from a config dataclass: one flag per field, its help the field's
comment, its type and choices from the annotation, its default the field's.

The dataclass is the one place a setting is named, typed, documented and given its default; a
command lists only the exceptions (a shorter flag name, choices that live in a table, a field
kept off the command line). Every flag defaults to ``None`` (not given), so a flag overrides
``--config`` only when it is given; ``apply_flags`` writes the given ones into the mapping the
dataclass is then built from.

    flags = add_config_args(parser, TrainConfig, rename={"num_threads": "threads"})
    ...
    apply_flags(args, flags, data, where)
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from autorc_nni.config import field_comments, set_dotted

# flag dest -> dotted config key
Flags = dict[str, str]


def _plain(tp: Any) -> Any:
    """``X | None`` -> ``X``; other annotations unchanged."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        return str if str in args else args[0]  # str | dict (an architecture): a string
    return tp


def key_value(item: str) -> tuple[str, Any]:
    """One ``KEY=VALUE`` item of a mapping flag (``--restrict span=standard,levitated``): the
    value read as YAML, a comma-separated value (not in brackets) as a list of YAML values."""
    import yaml

    key, sep, value = item.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {item!r}")
    value = value.strip()
    if "," in value and not value.startswith(("[", "{", "'", '"')):
        return key.strip(), [yaml.safe_load(v.strip()) for v in value.split(",")]
    return key.strip(), yaml.safe_load(value)


def add_config_args(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    prefix: str = "",
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    rename: Mapping[str, str] | None = None,
    choices: Mapping[str, list[Any]] | None = None,
    helps: Mapping[str, str] | None = None,
) -> Flags:
    """Add one flag per field of dataclass ``cls`` to ``parser``; returns dest -> config key.

    ``prefix`` is put before every key (``"train."``: the flags set the ``train`` section);
    ``only``/``skip`` select fields; ``rename`` gives a field another flag name (``num_threads``
    -> ``--threads``); ``choices`` and ``helps`` override what the annotation and the comment
    give. A nested dataclass field adds its own fields' flags: ``task_options.x`` as ``--x``,
    a flat section's (``data``) as the config's own keys.
    A boolean is a pair ``--x`` / ``--no-x``.
    """
    rename, choices, helps = dict(rename or {}), dict(choices or {}), dict(helps or {})
    keep = set(only) if only is not None else None
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    flags: Flags = {}
    for f in dataclasses.fields(cls):
        flat = f.metadata.get("flat") is True  # a section whose keys are the config's own
        if not f.init or f.name in skip or (keep is not None and f.name not in keep and not flat):
            continue
        tp = _plain(hints[f.name])
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(tp):
            flags.update(
                add_config_args(
                    parser,
                    typing.cast(type, tp),
                    prefix=prefix if flat else f"{key}.",
                    # a flat section named in ``only``: all its keys; else the ones named
                    only=only if flat and keep is not None and f.name not in keep else None,
                    skip=skip,
                    rename=rename,
                    choices=choices,
                    helps=helps,
                )
            )
            continue
        name = rename.get(f.name, f.name).replace("_", "-")
        dest = name.replace("-", "_")
        text = comments.get(f.name) or f.name.replace("_", " ")
        if f.default is not dataclasses.MISSING and f.default is not None:
            text += f" (default: {f.default})"
        text = helps.get(f.name, text)  # a command's own help replaces all of it
        text = text.replace("%", "%%")  # argparse formats help with %
        kw: dict[str, Any] = {"dest": dest, "default": None, "help": text}
        if tp is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(tp) is dict:  # a mapping: KEY=VALUE items, the flag repeated
            kw.update(action="append", type=key_value, metavar="KEY=VALUE")
            kw["help"] = f"{text}; one KEY=VALUE a flag, repeatable"
        else:
            if typing.get_origin(tp) is typing.Literal:
                kw["choices"] = list(typing.get_args(tp))
            elif tp in (int, float):
                kw["type"] = tp
            if f.name in choices:
                kw["choices"] = list(choices[f.name])
            metavar = {int: "N", float: "X"}.get(tp) or f.name.split("_")[-1].upper()
            kw["metavar"] = None if "choices" in kw else metavar
        parser.add_argument(f"--{name}", **kw)
        flags[dest] = key
    return flags


def apply_flags(args: argparse.Namespace, flags: Flags, data: dict[str, Any], where: str) -> None:
    """Write every flag that was given into ``data`` (dotted keys create their sections)."""
    for dest, key in flags.items():
        value = getattr(args, dest, None)
        if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
            for item, v in value:  # a mapping flag's items (``key_value``), merged into the
                set_dotted(data, f"{key}.{item}", v, where)  # config's mapping
        elif value is not None:
            set_dotted(data, key, value, where)
