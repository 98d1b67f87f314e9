"""Atomic writes: a kill never leaves a half-written checkpoint or result that later counts as
done; JSON reads whose errors name the file and line."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from autorc_nni.errors import AutoRCError


def read_json(
    path: Path, error: type[Exception], missing: str = "no such file", encoding: str | None = None
) -> Any:
    """The JSON value in ``path``; a missing file raises ``error("PATH: missing")``, invalid JSON
    ``error("PATH: line N: invalid JSON: ...")``."""
    try:
        return json.loads(Path(path).read_text(encoding=encoding))
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except json.JSONDecodeError as e:
        raise error(f"{path}: line {e.lineno}: invalid JSON: {e.msg}") from None


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def atomic_write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON (non-JSON values through ``str``), atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def atomic_write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write ``lines`` (each without its newline) to ``path``, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)


def atomic_write_dir(path: Path, write: Callable[[Path], None]) -> None:
    """Make folder ``path`` with ``write(tmp)`` into a temporary sibling, then swap it in: a
    kill leaves the old folder or the new one, never half of one."""
    import shutil

    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    write(tmp)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through a temporary file and a rename."""
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class RunDirLocked(AutoRCError, RuntimeError):
    """Another process is working in the same run directory."""


class OutputDirError(AutoRCError, OSError):
    """The output directory cannot be written, or its disk is (nearly) full."""


MIN_FREE_MB = 512  # what a run needs at least: model folders and checkpoints of MiniLM ~ 100 MB


def check_free_space(
    directory: str | Path, need_mb: float = MIN_FREE_MB, what: str = "run"
) -> float:
    """Refuse to start when the disk holding ``directory`` has less than ``need_mb`` free
    (``AUTORC_MIN_FREE_MB`` overrides it); returns the free MB."""
    import shutil

    need_mb = float(os.environ.get("AUTORC_MIN_FREE_MB", need_mb))
    free = shutil.disk_usage(directory).free / 2**20
    if free < need_mb:
        raise OutputDirError(
            f"{directory}: only {free:.0f} MB free on its disk, the {what} needs at least "
            f"{need_mb:.0f} MB (checkpoints, models); free some space or choose another output "
            "directory (AUTORC_MIN_FREE_MB sets the threshold)"
        )
    return free


LOCK_FILE = ".autorc.lock"


@contextlib.contextmanager
def run_dir_lock(directory: str | Path, what: str = "run") -> Iterator[Path]:
    """Hold an exclusive lock on ``directory`` (``directory/.autorc.lock``) for the block.

    A second process asking for the same directory is refused at once with the PID and command
    of the holder, instead of both writing the same files. The lock is the kernel's (``flock``):
    a killed holder releases it, so ``--resume`` after a kill never finds a stale lock.
    """
    import fcntl

    directory = Path(directory)
    path = directory / LOCK_FILE
    try:  # an unwritable place is reported now, before any work
        directory.mkdir(parents=True, exist_ok=True)
        f = open(path, "a+")  # noqa: SIM115 (held for the whole block)
    except OSError as e:
        raise OutputDirError(
            f"{directory}: cannot write the {what} output here: {e.strerror or e}"
        ) from None
    check_free_space(directory, what=what)
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise RunDirLocked(
                f"{directory}: another {what} is using this directory ({holder}); wait for it "
                "to finish or choose another output directory"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}: {' '.join(sys.argv)[:300]}\n")
        f.flush()
        yield path
    finally:
        f.close()  # releases the lock
