"""The paper's protocol for one run (paper §5.4): candidates → HPO → seeds → best model → report.

    cfg = load_pipeline_config("configs/default.yml")
    result = run_pipeline(cfg, "runs/semeval10-autorc", on_event=print)

A run directory holds every stage; each stage is skipped when its result is already there, so a
re-run after a crash (or ``nnictl resume``) loses no finished stage::

    RUN_DIR/
      config.json           the resolved config (a re-run with a different one is refused)
      search/               the architecture search (a search method)
      candidates.json       the ranked candidates: k searched, n random, or one baseline
      eval/rank_NN/         per evaluated candidate: architecture.json, hpo/, seeds/, result.json
      result.json           the best learned model (highest mean dev score) and every candidate
      report.md             Table-1 style summary of this run (pipeline.report)

The candidates come from, by ``method`` (its row of ``pipeline.methods``):

- a search method (``autorc`` and its ablations, ``strategies.methods.METHODS``): the search
  stage (``pipeline.search_stage.Search``, which runs ``strategies.search``), which returns
  the k sampled architectures ranked by their shared-weight dev score; the top ``top`` (ke) are
  evaluated (or, with ``select: race``, the shortlist is raced);
- ``random`` (the random-search baseline, paper §5.4): ``random_n`` random valid architectures
  of the space (Optuna ``RandomSampler``), all evaluated;
- a preset (``bert-entity``, ``r-bert``): that one architecture.

"Evaluated" means :func:`pipeline.evaluation.evaluate_architecture`: Optuna HPO, then seeds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from autorc_nni.architecture import PRESETS, Architecture
from autorc_nni.config import ConfigError, from_dict, known_keys, read_yaml, set_dotted, to_dict
from autorc_nni.files import atomic_write_json, run_dir_lock
from autorc_nni.stage import DataConfig, data_field, data_override_key, lift_data_section
from pipeline.evaluation import (
    HPOConfig,
    SeedsConfig,
    TrainFn,
    best_result,
    check_train_base,
    evaluate_architecture,
    random_architectures,
    read_json,
)
from pipeline.events import (
    Candidates,
    Done,
    Evaluated,
    Event,
    EventFn,
    RaceDone,
    TrainingEvent,
)
from pipeline.methods import ReportRow, get_method_row
from pipeline.race import (
    SELECTIONS,
    Entrant,
    RaceConfig,
    entrant_list,
    race_finalists,
    run_race,
)
from search_spaces.spaces import (
    SPACES,
    SearchSpace,
    SearchSpaceError,
    canonical_restrict,
    distinct_space_size,
    task_space,
)

log = logging.getLogger(__name__)

# search_fn(cfg, out_dir) -> the ranked candidates, [{"architecture": Architecture, "score":
# float, "origin"?: str, "format_best"?: bool}] (default: pipeline.search_stage.Search())
SearchFn = Callable[["PipelineConfig", Path], list[dict[str, Any]]]


@dataclass
class PipelineConfig:
    """One run of the protocol. Read from YAML with :func:`load_pipeline_config`."""

    # a search method (strategies.methods), "random" (baseline), or a preset name
    method: str = "autorc"
    label: str | None = None  # row name in reports; None: the method
    # the task, the dataset and the encoder, for every stage (autorc_nni.stage.DataConfig: task,
    # dataset, data_dir, format, negative_label, strict, splits, task_options, encoder), written
    # at the top level of the config or under data:; rc gives Table 1 rows, ner and coref Table 4
    data: DataConfig = data_field()
    space: str = "M"  # search space: M, M1, M2, M3 (search_spaces.spaces)
    # the space narrowed to these options, {decision: [options]} (e.g. {span: [standard]}: no
    # model that needs an encoder pass per candidate); the search, random draws and the race's
    # format draws keep to it, race.include's hand-made designs race whatever they are
    restrict: dict[str, Any] = field(default_factory=dict)
    seed: int = 0  # seed of the search (or of the random-search draws)
    search: dict[str, Any] = field(default_factory=dict)  # SearchConfig keys (strategies.search)
    top: int = 5  # ke: top-ranked searched architectures trained from scratch (paper: 5)
    random_n: int = 10  # architectures of the random-search baseline (paper: 10)
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig keys (epochs, max_len, ...)
    hpo: HPOConfig = field(default_factory=HPOConfig)  # Optuna HPO per architecture
    seeds: SeedsConfig = field(default_factory=SeedsConfig)  # seeds of the chosen setting
    # how the model to evaluate is chosen: "shared" (the paper: the top ke by shared-weight
    # score) or "race" (the shortlist and race.include raced by stand-alone training on dev;
    # pipeline.race); a preset run has nothing to choose and ignores it
    select: str = "shared"
    race: RaceConfig = field(default_factory=RaceConfig)  # the race of select: race

    def __post_init__(self) -> None:
        get_method_row(self.method)  # a row of pipeline.methods
        if self.space not in SPACES:
            raise ConfigError(f"space: {self.space!r} is not one of {list(SPACES)}")
        try:  # a restrict that does not fit the space fails here, by key
            self.restrict = canonical_restrict(self.space, self.data.task, self.restrict)
        except SearchSpaceError as e:
            raise ConfigError(str(e)) from None
        if self.searches() and not self.search_space().decisions:
            raise ConfigError(
                f"restrict: {self.restrict} fixes every decision of space {self.space}: "
                "nothing is left to search (train that architecture: autorc train --arch)"
            )
        if get_method_row(self.method).source == "random":
            n = distinct_space_size(self.search_space())
            if self.random_n > n:
                raise ConfigError(
                    f"random_n: {self.random_n} exceeds the {n} distinct models of space "
                    f"{self.space}" + (f" with restrict {self.restrict}" if self.restrict else "")
                )
        if self.top < 1:
            raise ConfigError(f"top: must be >= 1, got {self.top}")
        if self.random_n < 1:
            raise ConfigError(f"random_n: must be >= 1, got {self.random_n}")
        if self.select not in SELECTIONS:
            raise ConfigError(f"select: {self.select!r} is not one of {list(SELECTIONS)}")
        if self.race.include is None:  # the task's baselines, written out in config.json
            self.race.include = self.race.designs(self.data.task)
        if self.hpo.train_seed in self.seeds.seeds():
            raise ConfigError(
                f"hpo.train_seed: {self.hpo.train_seed} is also an evaluation seed "
                f"(seeds {self.seeds.seeds()}): the seeds would re-train the winning HPO trial "
                "and bias the dev mean upward; choose a training seed outside them"
            )
        check_train_base(self.train, "train")
        shared = sorted(set(self.train) & {"data", *known_keys(DataConfig)})
        if shared:
            raise ConfigError(f"train: {shared} are set once at the top level of the config")

    @property
    def row(self) -> str:
        return self.label or self.method

    def search_space(self) -> SearchSpace:
        """The space as this run's task searches it, narrowed by ``restrict``."""
        try:
            return task_space(self.space, self.data.task, self.restrict)
        except SearchSpaceError as e:
            raise ConfigError(str(e)) from None

    def searches(self) -> bool:
        """Whether this run's candidates come from an architecture search."""
        return get_method_row(self.method).source == "search"

    def races(self) -> bool:
        """Whether this run chooses its model by the race (a preset has nothing to choose)."""
        return self.select == "race" and get_method_row(self.method).source != "preset"

    def data_keys(self) -> dict[str, Any]:
        """The data section as every stage's config (``TrainConfig``, ``SearchConfig``) takes
        it, flat: the keys left at None (or ``strict`` at false) are left out."""
        return {k: v for k, v in asdict(self.data).items() if v is not None and v is not False}

    def train_base(self) -> dict[str, Any]:
        """The TrainConfig keys every HPO trial and seed run shares."""
        return {**self.train, **self.data_keys()}


def validate_train(cfg: PipelineConfig, where: str = "config") -> None:
    """Build one TrainConfig from ``train`` now, so a bad key fails before anything runs."""
    from autorc_nni.finetune import train_config_from_dict

    probe = {
        **cfg.train_base(),
        "lr": cfg.hpo.space.lr[0],
        "batch_size": cfg.hpo.space.batch_size[0],
        "warmup": cfg.hpo.space.warmup[0],
        "seed": 0,
        "out": "probe",
    }
    try:
        train_config_from_dict(probe, f"{where}.train")
    except ConfigError as e:
        msg = str(e)
        raise ConfigError(msg if msg.startswith(where) else f"{where}.train: {msg}") from None
    if cfg.races():  # the race's own setting, with the same training config
        try:
            train_config_from_dict({**probe, **cfg.race.setting(cfg.hpo)}, f"{where}.race")
        except ConfigError as e:
            msg = str(e)
            raise ConfigError(msg if msg.startswith(where) else f"{where}.race: {msg}") from None


def pipeline_config_from_dict(data: dict[str, Any], where: str = "config") -> PipelineConfig:
    """A validated :class:`PipelineConfig`; unknown keys, wrong types and bad budgets name the
    key."""
    try:
        cfg = from_dict(PipelineConfig, data, where)
    except ConfigError as e:
        msg = str(e)
        raise ConfigError(msg if msg.startswith(where) else f"{where}: {msg}") from None
    validate_train(cfg, where)
    return cfg


def load_pipeline_config(
    path: str | Path, overrides: dict[str, Any] | None = None
) -> PipelineConfig:
    """Read a pipeline YAML, apply dotted ``overrides`` (``{"hpo.trials": 2}``), validate."""
    data = lift_data_section(read_yaml(path), str(path))
    for key, value in (overrides or {}).items():
        set_dotted(data, data_override_key(key), value, str(path))
    return pipeline_config_from_dict(data, str(path))


def config_to_dict(cfg: PipelineConfig) -> dict[str, Any]:
    return to_dict(cfg)


# --------------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------------
_RUN_DIR_FREE = {"strict"}


def _check_run_dir(cfg: PipelineConfig, run_dir: Path) -> None:
    """Write config.json, or refuse a run directory made with another config."""
    path = run_dir / "config.json"
    now = json.loads(json.dumps(config_to_dict(cfg)))
    if path.is_file():
        before = read_json(path)
        # a key added to the config since the directory was made reads as its default (in a
        # section too: race.finalists)
        fresh = json.loads(json.dumps(config_to_dict(PipelineConfig())))
        before = {
            k: {**fresh[k], **v} if isinstance(v, dict) and isinstance(fresh.get(k), dict) else v
            for k, v in {**fresh, **before}.items()
        }
        # strict only refuses data (what loads is the same either way): it may change on resume
        # select and race do not change a run that cannot race (a preset), race not a shared one
        free = _RUN_DIR_FREE | ({"select", "race"} if cfg.method in PRESETS else set())
        if not cfg.races() and before.get("select") in (None, "shared"):
            free = free | {"race"}
        diff = sorted(
            k for k in set(before) | set(now) if k not in free and before.get(k) != now.get(k)
        )
        if diff:
            raise ConfigError(
                f"{run_dir}: this run directory was made with another config (differs in "
                f"{diff}); resume with the same config or choose another output directory"
            )
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, now)


def candidates_stage(
    cfg: PipelineConfig,
    run_dir: Path,
    search_fn: SearchFn | None,
) -> list[dict[str, Any]]:
    """The ranked candidates (``candidates.json``), computing them unless they are there: by
    the method's source (``pipeline.methods``), the search's ranking, random draws, or the
    preset. ``evaluate`` marks those the evaluation trains, ``race`` those the race enters."""
    path = run_dir / "candidates.json"
    if path.is_file():
        return read_json(path)["candidates"]
    seconds = 0.0
    source = get_method_row(cfg.method).source
    if source == "search":
        t0 = time.perf_counter()
        cands, n_eval = _searched_candidates(cfg, run_dir, search_fn)
        seconds = time.perf_counter() - t0
    elif source == "random":
        # the space as the task searches it (span NER drops span=tokens and c1)
        archs, _ = random_architectures(cfg.random_n, cfg.seed, cfg.search_space())
        cands = [
            {"architecture": a.to_dict(), "score": None, "rank": i + 1, "origin": "random"}
            for i, a in enumerate(archs)
        ]
        n_eval = len(cands)
    else:
        arch = PRESETS[cfg.method].to_dict()
        cands = [{"architecture": arch, "score": None, "rank": 1, "origin": "preset"}]
        n_eval = 1
    for c in cands:
        if cfg.races():  # the shortlist races; only the race's winner is evaluated
            c["evaluate"] = False
            c["race"] = (
                c["origin"] != "searched" or c["rank"] <= cfg.race.top or c.get("format_best")
            )
        else:
            c["evaluate"] = c["origin"] != "format" and c["rank"] <= n_eval
    atomic_write_json(
        path,
        {
            "method": cfg.method,
            "space": cfg.space,
            "restrict": cfg.restrict,
            "select": "race" if cfg.races() else "shared",
            "requested_top": cfg.top,
            "evaluated": cfg.race.finalists if cfg.races() else n_eval,  # at most
            "seconds": round(seconds, 1),
            "candidates": cands,
        },
    )
    return cands


def _searched_candidates(
    cfg: PipelineConfig, run_dir: Path, search_fn: SearchFn | None
) -> tuple[list[dict[str, Any]], int]:
    """The search's ranked candidates (``RUN_DIR/search``), and how many the evaluation takes:
    ``top``, or every searched one when the search ranked fewer distinct models."""
    if search_fn is None:
        from pipeline.search_stage import Search

        search_fn = Search()
    ranked = search_fn(cfg, run_dir / "search")
    if not ranked:
        raise ConfigError(f"{run_dir / 'search'}: the search returned no architecture")
    cands = [
        {
            "architecture": c["architecture"].to_dict(),
            "score": c.get("score"),
            "rank": i + 1,
            "origin": c.get("origin", "searched"),
            "format_best": bool(c.get("format_best")),
        }
        for i, c in enumerate(ranked)
    ]
    # the search ranks functionally distinct models; a narrow controller may give fewer than
    # ``top`` of them: every one is then evaluated, and candidates.json says so
    n_eval = min(cfg.top, sum(c["origin"] == "searched" for c in cands))
    if n_eval < cfg.top and not cfg.races():
        log.warning(
            "%s: the search ranked only %d distinct architectures; evaluating %d of top = %d",
            run_dir,
            len(cands),
            n_eval,
            cfg.top,
        )
    return cands, n_eval


def _entrant_name(c: dict[str, Any]) -> str:
    if c["origin"] == "random":
        return f"random {c['rank']}"
    if c["origin"] == "format":  # drawn for its input format: not among the ranked draws
        return f"best {c['architecture']['span']}"
    return f"rank {c['rank']}"


def race_stage(
    cfg: PipelineConfig,
    run_dir: Path,
    cands: list[dict[str, Any]],
    train_fn: TrainFn | None,
    emit: EventFn,
) -> dict[str, Any]:
    """Race the shortlist and ``race.include`` (``RUN_DIR/race``); returns ``race.json``."""
    where = str(run_dir / "candidates.json")
    shortlist = [
        Entrant(
            Architecture.from_dict(c["architecture"], where=where),
            c["origin"],
            _entrant_name(c),
            c.get("score"),
        )
        for c in cands
        if c.get("race")
    ]
    entrants = entrant_list(shortlist, cfg.race.designs(cfg.data.task))
    return run_race(
        entrants,
        cfg.train_base(),
        cfg.race.setting(cfg.hpo),
        cfg.race,
        cfg.hpo.train_seed,
        run_dir / "race",
        train_fn,
        emit,
    )


def report_row(cfg: PipelineConfig) -> ReportRow:
    """The report row of ``cfg``'s runs (``pipeline.methods``); ``label`` renames it."""
    row = get_method_row(cfg.method).row
    return replace(row, title=cfg.label) if cfg.label else row


def run_pipeline(
    cfg: PipelineConfig,
    run_dir: str | Path,
    search_fn: SearchFn | None = None,
    train_fn: TrainFn | None = None,
    on_event: EventFn | None = None,
) -> dict[str, Any]:
    """Run (or resume) the protocol in ``run_dir``; returns what ``result.json`` holds.

    ``search_fn`` (default: the architecture search, ``pipeline.search_stage.Search``) and
    ``train_fn`` (default: ``autorc_nni.finetune.train``) are the seams tests replace.
    ``on_event(event)`` is told about each stage and training (:mod:`pipeline.events`).
    """
    run_dir = Path(run_dir)
    row = report_row(cfg)  # refuses an unknown method, before the run dir exists
    with run_dir_lock(run_dir, "protocol run"):  # a second process on it is refused
        return _run_pipeline(cfg, run_dir, row, search_fn, train_fn, on_event)


def _run_pipeline(
    cfg: PipelineConfig,
    run_dir: Path,
    row: ReportRow,
    search_fn: SearchFn | None,
    train_fn: TrainFn | None,
    on_event: EventFn | None,
) -> dict[str, Any]:
    emit = on_event or (lambda event: None)
    _check_run_dir(cfg, run_dir)
    done = run_dir / "result.json"
    if done.is_file():
        result = read_json(done)
        emit(Done(result))
        return result

    cands = candidates_stage(cfg, run_dir, search_fn)
    emit(Candidates(cands))
    race = None
    if cfg.races():
        race = race_stage(cfg, run_dir, cands, train_fn, emit)
        emit(RaceDone(race))
        # the winner (with finalists: N, the best N at the full budget) goes through the
        # evaluation (HPO, seeds) as rank 1 (2, ...); the best mean dev over seeds is the model
        cands = [
            {
                "architecture": w["architecture"],
                "score": w["search_score"],
                "rank": k + 1,
                "origin": w["origin"],
                "name": w["name"],
                "evaluate": True,
            }
            for k, w in enumerate(race_finalists(race))
        ]
    evaluated = [
        evaluate_candidate(cfg, run_dir, c, race is not None, train_fn, emit)
        for c in cands
        if c["evaluate"]
    ]
    result = run_result(cfg, run_dir, row, evaluated, race)
    atomic_write_json(done, result)
    emit(Done(result))
    return result


def evaluate_candidate(
    cfg: PipelineConfig,
    run_dir: Path,
    c: dict[str, Any],
    raced: bool,
    train_fn: TrainFn | None,
    emit: EventFn,
) -> dict[str, Any]:
    """HPO, then seeds, of candidate ``c`` in ``RUN_DIR/eval/rank_NN`` (its ``result.json``)."""
    arch = Architecture.from_dict(c["architecture"], where=str(run_dir / "candidates.json"))
    meta = {
        "method": cfg.method,
        "label": cfg.row,
        "dataset": cfg.data.dataset,
        "task": cfg.data.task,
        "rank": c["rank"],
        "search_score": c["score"],
        "origin": c.get("origin"),
    }
    if raced:  # which race entrant this is (the winner, or another finalist)
        meta["race_entrant"] = c["name"]

    def progress(event: Event, rank: int = c["rank"]) -> None:
        emit(replace(event, rank=rank) if isinstance(event, TrainingEvent) else event)

    out = run_dir / "eval" / f"rank_{c['rank']:02d}"
    r = evaluate_architecture(
        arch, cfg.train_base(), cfg.hpo, cfg.seeds, out, train_fn, meta, progress
    )
    r["dir"] = str(out)
    emit(Evaluated(r))
    return r


def run_result(
    cfg: PipelineConfig,
    run_dir: Path,
    row: ReportRow,
    evaluated: list[dict[str, Any]],
    race: dict[str, Any] | None,
) -> dict[str, Any]:
    """The run's ``result.json``: its best model, every evaluated candidate, the race, the wall
    time of each stage."""
    best = best_result(evaluated)
    search_seconds = read_json(run_dir / "candidates.json").get("seconds")
    result: dict[str, Any] = {
        "kind": "pipeline",
        "method": cfg.method,
        "label": cfg.row,
        "row": asdict(row),
        "task": cfg.data.task,
        "dataset": cfg.data.dataset,
        "metric": best.get("metric"),
        "space": cfg.space,
        "restrict": cfg.restrict,
        "seed": cfg.seed,
        "best": best,
        "evaluated": evaluated,
        "select": "race" if race is not None else "shared",
        "run_dir": str(run_dir),
        # wall time per stage (seconds, this run's processes; a resumed stage counts its
        # last process only): the search, the race, and HPO + seeds of every evaluated candidate
        "seconds": {
            "search": search_seconds,
            "race": race["seconds"] if race is not None else None,
            "evaluation": round(sum(sum((e.get("seconds") or {}).values()) for e in evaluated), 1),
        },
    }
    if race is not None:
        result["race"] = {
            k: race[k]
            for k in ("winner_name", "winner_origin", "cost_trainings", "train_seconds", "rungs")
        }
        result["race"]["entrants"] = [
            {k: e[k] for k in ("name", "origin", "short", "dev", "stopped_at", "search_score")}
            for e in race["entrants"]
        ]
    return result
