"""Shared fixtures. Tests run offline, on CPU; the real data comes from $AUTORC_DATA_DIR."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
torch.set_num_threads(min(2, torch.get_num_threads()))


def _data_root() -> Path | None:
    env = os.environ.get("AUTORC_DATA_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    return here.resolve() if here.is_dir() else None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real benchmark data. In CI it is there: a missing root fails, it does not skip."""
    root = _data_root()
    if root is None or not root.is_dir():
        if os.environ.get("CI"):
            pytest.fail("AUTORC_DATA_DIR is not set and ../shared/data is missing in CI")
        pytest.skip("real benchmark data not available (set AUTORC_DATA_DIR)")
    return root


@pytest.fixture(scope="session")
def data_subdir(data_root: Path) -> Callable[..., Path]:
    """``data_subdir(name, needs=..., what=...)``: the folder ``name`` of the data root, or a skip
    naming ``what`` when the file or folder ``needs`` is not in it (an optional extra)."""

    def get(name: str, *, needs: str, what: str) -> Path:
        root = data_root / name
        if not (root / needs).exists():
            pytest.skip(f"{root}: {what} is not available")
        return root

    return get
