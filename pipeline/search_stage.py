"""The search stage of a protocol run: the pipeline's ``search`` section made a
:class:`strategies.search.SearchConfig`, and :class:`Search`, which runs it and returns the
ranked candidates (with the best of each input format the race's shortlist asks for)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autorc_nni.config import ConfigError, known_keys
from autorc_nni.stage import DataConfig
from strategies.methods import METHODS

if TYPE_CHECKING:
    from pipeline.protocol import PipelineConfig
    from strategies.search import SearchConfig

# Keys of the search section the pipeline sets from its own top level.
_FROM_PIPELINE = (
    "data",
    *known_keys(DataConfig),
    "space",
    "restrict",
    "method",
    "seed",
    "out",
    "resume",
    "top_k",
    "format_draws",
)

# Data limits given for the training (``--limit-train``, ``--limit-eval``) that the search takes
# too, unless its own section sets them: train key -> search key.
_SHARED_LIMITS = {"limit_train": "limit_train", "limit_eval": "limit_dev"}

# on_reward(step, mean reward over the steps since the last call)
RewardFn = Callable[[int, float], None]


def search_config(
    cfg: PipelineConfig, out: Path | str = "search", where: str = "config"
) -> SearchConfig:
    """The :class:`strategies.search.SearchConfig` of a pipeline config (validated)."""
    from strategies.search import search_config_from_dict

    clash = sorted(set(cfg.search) & set(_FROM_PIPELINE))
    if clash:
        raise ConfigError(
            f"{where}.search: {clash} are set at the top level of the config "
            "(top_k is the top-level 'top')"
        )
    limits = {
        skey: cfg.train[tkey]
        for tkey, skey in _SHARED_LIMITS.items()
        if cfg.train.get(tkey) is not None and skey not in cfg.search
    }
    data = {
        **limits,
        **cfg.search,
        "space": cfg.space,
        "restrict": cfg.restrict,
        "method": cfg.method if cfg.method in METHODS else "autorc",
        "seed": cfg.seed,
        "out": str(out),
        "resume": True,
        "top_k": cfg.race.top if cfg.races() else cfg.top,  # the exported top
        "format_draws": cfg.race.format_draws if cfg.races() else 0,
        **cfg.data_keys(),
    }
    data.setdefault("progress", False)
    try:
        return search_config_from_dict(data, f"{where}.search")
    except ConfigError as e:
        msg = str(e)
        if "top_k" in msg:
            top = f"race.top ({cfg.race.top})" if cfg.races() else f"top ({cfg.top})"
            msg = (
                f"{where}: {top} exceeds search.k "
                f"({data.get('k', 'default')}): the search ranks only k candidates ({msg})"
            )
        raise ConfigError(msg if msg.startswith(where) else f"{where}.search: {msg}") from None


class Search:
    """The search of :func:`pipeline.protocol.run_pipeline` (its ``search_fn``, which tests
    replace): runs :func:`strategies.search.run_search` on the pipeline's search config.

    ``on_reward(step, mean reward)`` (optional) is called at most every ``interval`` seconds
    with the mean reward of the steps since the last call, and once more after the last step.
    """

    def __init__(self, on_reward: RewardFn | None = None, interval: float = 10.0) -> None:
        self.on_reward = on_reward
        self.interval = interval

    def __call__(self, cfg: PipelineConfig, out: Path) -> list[dict[str, Any]]:
        from strategies.search import run_search

        scfg = search_config(cfg, out)
        on_reward, interval = self.on_reward, self.interval
        pending: list[float] = []
        reported = [time.monotonic()]  # time of the last report
        seen = [-1]  # the last step seen

        def flush() -> None:
            if pending and on_reward is not None:
                on_reward(seen[0], sum(pending) / len(pending))
                pending.clear()
                reported[0] = time.monotonic()

        def on_step(step: int, stats: dict[str, Any]) -> None:
            pending.append(float(stats["reward"]))
            seen[0] = step
            if time.monotonic() - reported[0] >= interval:
                flush()

        result = run_search(scfg, on_step=on_step if on_reward is not None else None)
        flush()
        if not result.completed:
            raise ConfigError(f"{out}: the search stopped before its last step")
        # the race's shortlist adds the best of each input format: marked where the ranking
        # holds it, appended where it was drawn for its format
        bests = {r.rank for r in result.format_best if r.rank}
        ranked = [
            {"architecture": r.architecture, "score": r.score, "format_best": r.rank in bests}
            for r in result.ranking
        ]
        extra = [
            {"architecture": r.architecture, "score": r.score, "origin": "format"}
            for r in result.format_best
            if r.rank == 0
        ]
        return ranked + extra
