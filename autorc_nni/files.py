"""Atomic writes: a kill never leaves a half-written checkpoint or result that later counts as done."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autorc_nni.errors import AutoRCError


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def atomic_write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON (non-JSON values through ``str``), atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through a temporary file and a rename."""
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class RunDirLocked(AutoRCError, RuntimeError):
    """Another process is working in the same run directory."""


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
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    f = open(path, "a+")  # noqa: SIM115 (held for the whole block)
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
