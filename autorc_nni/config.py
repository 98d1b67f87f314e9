"""Dataclass configs that reject unknown keys and wrong types, naming the key.

Every config in the project (training, search, HPO, the pipeline) is a dataclass read through
:func:`from_dict`, so a typo in ``config.yml`` is an error that names the key, never a silent
default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from autorc_nni.errors import AutoRCError

C = TypeVar("C")


class ConfigError(AutoRCError, ValueError):
    """A config value is unknown, missing or of the wrong type; the message names the key."""


def _check_type(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arg in typing.get_args(tp):
            try:
                return _check_type(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{where}: {value!r} matches none of {tp}")
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{where}: expected null, got {value!r}")
        return value
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where}: {value!r} is not one of {list(typing.get_args(tp))}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return from_dict(typing.cast(type, tp), value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        items = [_check_type(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        kt, vt = typing.get_args(tp) or (Any, Any)
        return {
            _check_type(k, kt, f"{where}"): _check_type(v, vt, f"{where}.{k}")
            for k, v in value.items()
        }
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


# Field metadata of a nested config whose keys a mapping may also give at the top level (the
# data section of every stage's config: ``dataset: x`` or ``data: {dataset: x}``)
FLAT = {"flat": True}


def _init_fields(cls: Any) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _flat_sections(cls: Any) -> dict[str, Any]:
    """Field name -> dataclass, for the fields of ``cls`` marked :data:`FLAT`."""
    hints = typing.get_type_hints(cls)
    return {n: hints[n] for n, f in _init_fields(cls).items() if f.metadata.get("flat") is True}


def _gather_flat(cls: Any, data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` with the top-level keys of each :data:`FLAT` section moved under it."""
    own = _init_fields(cls)
    out = dict(data)
    for name, sub in _flat_sections(cls).items():
        keys = [k for k in data if k in _init_fields(sub) and k not in own]
        if not keys:
            continue
        nested = out.get(name, {})
        if not isinstance(nested, dict):
            raise ConfigError(f"{where}.{name}: expected a mapping, got {type(nested).__name__}")
        both = sorted(set(keys) & set(nested))
        if both:
            raise ConfigError(f"{where}: {both} given both at the top level and under {name}:")
        out[name] = {**nested, **{k: out.pop(k) for k in keys}}
    return out


def known_keys(cls: Any) -> list[str]:
    """The keys a mapping for dataclass ``cls`` may hold (a flat section's keys included)."""
    names = set(_init_fields(cls))
    for sub in _flat_sections(cls).values():
        names |= set(known_keys(sub))
    return sorted(names)


def to_dict(cfg: Any) -> dict[str, Any]:
    """``dataclasses.asdict(cfg)`` with each :data:`FLAT` section's keys at the top level: the
    form configs are written in (``metrics.json``, checkpoints, a run's ``config.json``)."""
    out = dataclasses.asdict(cfg)
    for name in _flat_sections(type(cfg)):
        out.update(out.pop(name))
    return out


def flat_defaults(cls: Any) -> dict[str, Any]:
    """Each key of :func:`to_dict` and its default, as :func:`to_dict` writes it (a nested
    config as a mapping; a flat section's keys included)."""
    out: dict[str, Any] = {}
    flat = _flat_sections(cls)
    for name, f in _init_fields(cls).items():
        if name in flat:
            out.update(flat_defaults(flat[name]))
        elif f.default is not dataclasses.MISSING:
            out[name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
            is_config = dataclasses.is_dataclass(value) and not isinstance(value, type)
            out[name] = dataclasses.asdict(value) if is_config else value
    return out


def from_dict(cls: type[C], data: dict[str, Any], where: str = "config") -> C:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types raise ConfigError.

    ``where`` prefixes every message (a file name, or a dotted path for nested configs). The
    keys of a section marked :data:`FLAT` may be given at the top level or under the section.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    data = _gather_flat(cls, data, where)
    fields = _init_fields(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {known_keys(cls)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _check_type(value, hints[name], f"{where}.{name}")
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where}: missing required key(s) {missing}")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"{where}: {e}") from e


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; a syntax error names the file and line."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(f"{path}: {line}invalid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def set_dotted(data: dict[str, Any], key: str, value: Any, where: str = "override") -> None:
    """``data["a"]["b"] = value`` for ``key = "a.b"`` (creating mappings on the way)."""
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        nxt = node.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"{where}: {key!r}: {p!r} is not a mapping")
        node = nxt
    node[parts[-1]] = value


def field_comments(cls: type) -> dict[str, str]:
    """The comment of each field of dataclass ``cls``, read from its source: the comment on
    the field's own line(s), else the comment lines right above it. These comments are the
    fields' documentation: ``autorc train --help`` and ``autorc search --help`` print them.
    """
    import ast
    import inspect
    import io
    import textwrap
    import tokenize

    src = textwrap.dedent(inspect.getsource(cls))
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    code_lines = src.splitlines()
    body = ast.parse(src).body[0]
    assert isinstance(body, ast.ClassDef)
    out: dict[str, str] = {}
    for node in body.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        end = node.end_lineno or node.lineno
        own = [comments[n] for n in range(node.lineno, end + 1) if n in comments]
        if not own:  # contiguous comment-only lines right above the field
            n = node.lineno - 1
            while n in comments and code_lines[n - 1].lstrip().startswith("#"):
                own.insert(0, comments[n])
                n -= 1
        if own:
            out[node.target.id] = " ".join(own)
    return out
