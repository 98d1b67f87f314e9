"""The training toolkit fine-tuning (``autorc_nni.finetune``) and the search
(``strategies``) share: seeding and devices, the one weight-decay rule, the warm-up schedule,
RNG snapshots, weights-only checkpoints and the resume check. One place for each, so the two
training stacks cannot disagree on them.
"""

from __future__ import annotations

import contextlib
import random
import resource
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from autorc_nni.config import ConfigError

__all__ = [
    "seed_everything",
    "resolve_device",
    "to_device",
    "decay_groups",
    "build_optimizer",
    "linear_warmup_decay",
    "peak_rss_mb",
    "rng_state",
    "set_rng_state",
    "preserved_rng",
    "numpy_rng_state",
    "set_numpy_rng_state",
    "load_checkpoint",
    "check_resumable",
]


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but no CUDA GPU is available")
    return torch.device(name)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor of a (nested) batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The one weight-decay rule of fine-tuning and the search: AdamW groups of the decayed
    weights, and of the parameters that are not decayed: every vector (biases, a
    parametrized layer's ``...bias.original`` included) and the weights of normalisation
    layers. In order of ``named_parameters``; an empty group is left out."""
    no_decay: set[int] = set()
    for module in model.modules():
        if isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d)):
            no_decay.update(id(p) for p in module.parameters(recurse=False))
    decay: list[nn.Parameter] = []
    plain: list[nn.Parameter] = []
    for p in model.parameters():
        if p.requires_grad:
            (plain if p.ndim < 2 or id(p) in no_decay else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": plain, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def build_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW over ``decay_groups``."""
    return torch.optim.AdamW(decay_groups(model, weight_decay), lr=lr)


def linear_warmup_decay(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """LR multiplier: 0 → 1 linearly over ``warmup_steps``, then linearly down to 0 at the end."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps  # the first step already trains
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def numpy_rng_state() -> list[Any]:
    """NumPy's global RNG state as tensors and plain values (``torch.load(weights_only=True)``
    reads it back; a raw ``get_state()`` holds an ndarray, which it refuses)."""
    name, keys, pos, has_gauss, cached = typing.cast(tuple[Any, ...], np.random.get_state())
    return [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)]


def set_numpy_rng_state(state: list[Any]) -> None:
    name, keys, pos, has_gauss, cached = state
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))


def rng_state() -> dict[str, Any]:
    """The python, numpy, torch (and CUDA) RNG states, as tensors and plain values (a
    ``weights_only`` checkpoint reads them back)."""
    state = {
        "python": random.getstate(),
        "numpy": numpy_rng_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    set_numpy_rng_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Restore the python, numpy and torch RNG states on exit."""
    state = rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A resume checkpoint of ours, read with ``weights_only=True``: tensors and plain values
    only, so a checkpoint from elsewhere can never run code. One that needs more is refused."""
    import pickle

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as e:
        raise ConfigError(
            f"{path}: not a checkpoint this version can read safely (weights only): "
            f"{str(e).splitlines()[0][:200]}; delete it to start the run afresh"
        ) from None


def check_resumable(
    saved: dict[str, Any],
    now: dict[str, Any],
    free: set[str],
    path: Path,
    added: dict[str, Any] | None = None,
) -> None:
    """Refuse to resume a run whose saved config differs from ``now`` in a key outside
    ``free`` (the keys a resumption may change: device, progress, threads …). ``added``: keys
    introduced after a run may have been saved, each with the value that reproduces what a run
    did before the key existed; a saved config without the key reads as that value."""
    added = added or {}
    before = {**{k: v for k, v in added.items() if k not in saved}, **saved}
    diff = sorted(
        k for k in set(before) | set(now) if k not in free and before.get(k) != now.get(k)
    )
    if diff:
        detail = ", ".join(f"{k}: {before.get(k)!r} -> {now.get(k)!r}" for k in diff)
        raise ConfigError(f"{path}: cannot resume with a different config ({detail})")


# -- progress of a training, for consoles -----------------------------------------------------
# A training tells where it is at least every ``TrainConfig.heartbeat`` seconds; an entry point
# (the NNI trial, ``autorc run``) listens with ``listen_progress`` and shows it.
ProgressListener = Callable[[dict[str, Any]], None]
_LISTENERS: list[ProgressListener] = []


@contextlib.contextmanager
def listen_progress(fn: ProgressListener) -> Iterator[None]:
    """Call ``fn(info)`` with each training's heartbeat (``info``: out, epoch, epochs, step,
    steps, loss, sentences_per_s) while the block runs."""
    _LISTENERS.append(fn)
    try:
        yield
    finally:
        _LISTENERS.remove(fn)


def tell_progress(info: dict[str, Any]) -> None:
    """Send a heartbeat to every listener (none: nothing happens)."""
    for fn in list(_LISTENERS):
        fn(info)
