"""The protocol with its search, checked: ``autorc run --config FILE`` and the NNI trial call this.

:func:`load_config` reads a pipeline YAML and checks it against the tables (the method, the
space, the search section); :func:`run` runs it with the real search (``pipeline.search_stage``)
and passes its running reward on.

    from pipeline.runner import load_config, run
    cfg = load_config("configs/default.yml", {"seed": 1})
    result = run(cfg, "runs/semeval10-autorc-s1")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.evaluation import ReusedTrainings, TrainFn
from pipeline.events import EventFn
from pipeline.methods import method_names
from pipeline.protocol import PipelineConfig, load_pipeline_config, run_pipeline
from pipeline.search_stage import RewardFn, Search, search_config

__all__ = ["check_config", "load_config", "method_names", "run", "search_config"]


def check_config(cfg: PipelineConfig, where: str = "config") -> PipelineConfig:
    """Refuse a bad search section now, before anything runs (the method and the space are
    checked as the config is read)."""
    if cfg.searches():
        search_config(cfg, where=where)
    return cfg


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Read and fully validate a pipeline YAML (the search section included)."""
    return check_config(load_pipeline_config(path, overrides), str(path))


def run(
    cfg: PipelineConfig,
    run_dir: str | Path,
    on_event: EventFn | None = None,
    on_reward: RewardFn | None = None,
    train_fn: TrainFn | None = None,
    reward_interval: float = 10.0,
    reuse: str | Path | None = None,
) -> dict[str, Any]:
    """Run (or resume) the whole protocol of ``cfg`` in ``run_dir``, the search included.

    ``reuse``: a folder shared by the runs of one experiment; a training already finished by
    one of them with the same config is copied, not trained again
    (:class:`pipeline.evaluation.ReusedTrainings`)."""
    check_config(cfg)  # refuse a bad method, space or search section up front
    if reuse is not None:
        train_fn = ReusedTrainings(reuse, train_fn)
    return run_pipeline(
        cfg,
        run_dir,
        search_fn=Search(on_reward, reward_interval),
        train_fn=train_fn,
        on_event=on_event,
    )
