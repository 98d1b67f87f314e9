"""The race: choose among candidate architectures by stand-alone training, not shared weights.

The paper ranks the search's candidates by their score under the shared weights and evaluates
the top ke. Weight-sharing rankings find good models but not reliably the best few (Zhang et
al., "How does supernet help in NAS?"; Sciuto et al., "Evaluating the search phase of NAS"), so
``select: race`` lets the search *shortlist* and picks the winner by what the user cares about:
each entrant (the shortlist, plus the hand-made designs of ``race.include``) is fine-tuned
stand-alone and raced by synchronous successive halving on dev:

- every entrant trains to the first rung (a fraction of the full training budget, on the full
  budget's learning-rate schedule) and is scored on dev there;
- the best ``ceil(n / eta)`` go on to the next rung, *resuming* their checkpoint (nothing is
  trained twice); the others stop, and their checkpoints are deleted at once (they cannot be
  promoted again);
- the last rung is the full budget: the winner is the entrant with the best dev score there
  (its best epoch's, as ``train`` keeps it).

Every entrant trains with the same setting and the HPO training seed, never an evaluation seed:
the winner then goes through HPO and the seeds stage like any evaluated architecture. With
``finalists: N`` the best N at the full budget (at most as many as reached it) all go through
HPO and seeds, and the run's model is the one with the best mean dev over the seeds, as the
paper chooses among its top ke: a final decided on one training seed cannot tell apart models
closer than the seed noise.

Run directory (``RUN_DIR/race``)::

    race/
      entrants/NN/        one training per entrant (autorc_nni.finetune.train), architecture.json
      entrants/NN/rung_R.json   its dev score at rung R (written once the rung is trained)
      race.json           the race: entrants, scores per rung, where each stopped, the winner,
                          the cost (budget trained, in full trainings; wall time)

A rung already scored is read back, a paused training resumes its checkpoint: a race killed at
any moment and re-run ends as an uninterrupted one does. Optuna's ``SuccessiveHalvingPruner`` is
asynchronous (a trial is judged against the trials that reached a rung so far, and a pruned trial
never resumes), so it cannot give this synchronous race with promotion by resumption; the race is
a plain loop over files instead (docs/design.md §6).
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autorc_nni.architecture import PRESETS, Architecture, resolve_architecture
from autorc_nni.config import ConfigError
from autorc_nni.files import atomic_write_json
from pipeline.evaluation import (
    HP_KEYS,
    METRICS_FILE,
    HPOConfig,
    ProgressFn,
    TrainFn,
    default_train_fn,
    read_json,
    scores_of,
)
from pipeline.events import EpochScored, RungScored

log = logging.getLogger(__name__)

RACE_FILE = "race.json"
SELECTIONS = ("shared", "race")  # select: the paper's shared-weight ranking, or the race


@dataclass
class RaceConfig:
    """The race of ``select: race`` (see the module docstring)."""

    # hand-made designs that race beside the shortlist: preset names or architecture JSON files;
    # None: the task's baselines (``Task.presets``: rc bert-entity and r-bert, ner spert-like,
    # coref pair-baseline)
    include: list[str] | None = None
    top: int = 3  # top-ranked searched candidates in the race (random search: all its draws)
    # per input format the top draws lack: models drawn with it; its best enters (0: none)
    format_draws: int = 4
    eta: int = 3  # the best ceil(n / eta) entrants of a rung go on to the next
    # rung budgets as fractions of the full training (increasing, the last 1.0); the dev score
    # at 1/9 of a MiniLM training (in its LR warm-up) ranks by noise: benchmarks/selection.py
    rungs: list[float] = field(default_factory=lambda: [1 / 3, 1.0])
    # the best entrants at the full budget that go through HPO and the seeds stage; the run's
    # model is the one with the best mean dev over the seeds (as the paper's ke). 1: the race's
    # winner alone, chosen on one training seed's dev (results/race-cpu: a margin within the
    # seed noise can pick the worse model)
    finalists: int = 1
    # the race's training setting; None: the HPO grid's value when it has one, else TrainConfig's
    lr: float | None = None
    batch_size: int | None = None
    warmup: float | None = None

    def __post_init__(self) -> None:
        if self.top < 1:
            raise ConfigError(f"top: must be >= 1, got {self.top}")
        if self.format_draws < 0:
            raise ConfigError(f"format_draws: must be >= 0, got {self.format_draws}")
        if self.finalists < 1:
            raise ConfigError(f"finalists: must be >= 1, got {self.finalists}")
        if self.eta < 2:
            raise ConfigError(f"eta: must be >= 2, got {self.eta}")
        r = list(self.rungs)
        if not r or r[-1] != 1.0 or any(not 0 < x <= 1 for x in r) or r != sorted(set(r)):
            raise ConfigError(
                f"rungs: expected increasing fractions of the full training in (0, 1] ending "
                f"with 1.0, got {self.rungs}"
            )
        for name in ("lr", "batch_size", "warmup"):
            v = getattr(self, name)
            if v is not None and (v < 0 or (v == 0 and name != "warmup")):
                raise ConfigError(f"{name}: must be > 0 when given, got {v}")
        for spec in self.include or []:
            try:
                resolve_architecture(spec)
            except Exception as e:  # noqa: BLE001 - any failure: the key is named
                raise ConfigError(
                    f"include: {spec!r} is not a preset or architecture file: {e}"
                ) from None

    def designs(self, task: str) -> list[str]:
        """The hand-made designs of the race: ``include``, or the task's baselines."""
        if self.include is not None:
            return list(self.include)
        from autorc_nni.tasks import get_task

        return list(get_task(task).presets)

    def setting(self, hpo: HPOConfig) -> dict[str, Any]:
        """The training setting every entrant gets (lr, batch_size, warmup)."""
        out: dict[str, Any] = {}
        for k in HP_KEYS:
            mine = getattr(self, k)
            grid = list(getattr(hpo.space, k))
            if mine is not None:
                out[k] = mine
            elif len(grid) == 1:
                out[k] = grid[0]
        return out


@dataclass
class Entrant:
    """One architecture in the race, and where it came from."""

    architecture: Architecture
    origin: str  # "searched", "format" (best of an input format), "preset", "random", "file"
    name: str  # what reports call it: a preset's name, "rank 3", "random 2", "best tokens"
    search_score: float | None = None  # shared-weight score, where the search scored it
    also: list[str] = field(default_factory=list)  # other names of the same model


def entrant_list(candidates: list[Entrant], include: list[str]) -> list[Entrant]:
    """The candidates, then each design of ``include``; one entrant per functionally distinct
    model (a preset the search also found keeps its first name, the other in ``also``)."""
    out: list[Entrant] = []
    seen: dict[Architecture, Entrant] = {}
    extra = []
    for spec in include:
        origin = "preset" if spec in PRESETS else "file"
        name = spec if spec in PRESETS else Path(spec).stem
        extra.append(Entrant(resolve_architecture(spec), origin, name))
    for e in [*candidates, *extra]:
        canon = e.architecture.canonical()
        if canon in seen:
            seen[canon].also.append(e.name)
            continue
        seen[canon] = e
        out.append(e)
    return out


def run_race(
    entrants: list[Entrant],
    train_base: dict[str, Any],
    setting: dict[str, Any],
    race: RaceConfig,
    train_seed: int,
    out_dir: str | Path,
    train_fn: TrainFn | None = None,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Race ``entrants`` by successive halving in ``out_dir``; returns and writes ``race.json``.

    ``train_base`` is the protocol's training config (dataset, encoder, epochs …), ``setting``
    the race's lr / batch_size / warmup, ``train_seed`` the training seed of every entrant.
    ``on_progress`` is told :class:`pipeline.events.RungScored` after each entrant's rung and
    :class:`pipeline.events.EpochScored` after each dev evaluation inside a training.
    """
    train_fn = train_fn or default_train_fn
    out_dir = Path(out_dir)
    done = out_dir / RACE_FILE
    if done.is_file():
        return read_json(done)
    if not entrants:
        raise ConfigError(f"{out_dir}: the race has no entrant")
    out_dir.mkdir(parents=True, exist_ok=True)
    dirs = [out_dir / "entrants" / f"{i:02d}" for i in range(len(entrants))]
    for e, d in zip(entrants, dirs, strict=True):
        if not (d / "architecture.json").is_file():
            d.mkdir(parents=True, exist_ok=True)
            e.architecture.save(d / "architecture.json", meta={"origin": e.origin, "name": e.name})
    t0 = time.perf_counter()
    alive = list(range(len(entrants)))
    scores: list[dict[int, float]] = [{} for _ in entrants]  # entrant -> rung -> dev
    stopped = [len(race.rungs) - 1] * len(entrants)  # the last rung each entrant reached
    for r, budget in enumerate(race.rungs):
        for i in alive:
            scores[i][r] = train_to_rung(
                i, r, budget, entrants[i], dirs[i], train_base, setting, train_seed, train_fn,
                on_progress,
            )  # fmt: skip
        if r == len(race.rungs) - 1:
            break
        n_keep = max(1, math.ceil(len(alive) / race.eta))
        order = sorted(alive, key=lambda i: _rank_key(scores, dirs, i, r))
        for i in order[n_keep:]:
            stopped[i] = r
            _drop_checkpoint(dirs[i])
        alive = sorted(order[:n_keep])
    last = len(race.rungs) - 1
    by_final = sorted(alive, key=lambda i: _rank_key(scores, dirs, i, last))
    result = _summary(entrants, dirs, scores, stopped, by_final, race, setting, train_seed)
    result["seconds"] = round(time.perf_counter() - t0, 1)  # this process's share
    atomic_write_json(done, result)
    return result


def _rank_key(
    scores: list[dict[int, float]], dirs: list[Path], i: int, r: int
) -> tuple[float, float, int]:
    """How entrant ``i`` ranks at rung ``r``: its dev score; equal scores (all 0 when every
    model still predicts the negative label) by its dev log loss, lower first (a rung file
    without one: last); then the earlier entrant."""
    loss = read_json(dirs[i] / f"rung_{r}.json").get("dev_loss")
    return (-scores[i][r], math.inf if loss is None else float(loss), i)


def race_finalists(race: dict[str, Any]) -> list[dict[str, Any]]:
    """The entrants of ``race.json`` that go on to the seeds stage, the winner first (a race
    recorded before ``finalists`` existed: its winner)."""
    return [race["entrants"][i] for i in race.get("finalists") or [race["winner"]]]


def train_to_rung(
    i: int,
    r: int,
    budget: float,
    entrant: Entrant,
    out: Path,
    train_base: dict[str, Any],
    setting: dict[str, Any],
    seed: int,
    train_fn: TrainFn,
    on_progress: ProgressFn | None,
) -> float:
    """Entrant ``i``'s dev score at rung ``r`` (trained, resumed, or read back)."""
    rung_file = out / f"rung_{r}.json"
    if rung_file.is_file():
        return float(read_json(rung_file)["dev"])
    kwargs = {
        **train_base,
        **setting,
        "seed": seed,
        "arch": str(out / "architecture.json"),
        "out": str(out),
        "resume": True,
        "pause_at": budget if budget < 1.0 else None,
    }

    def report(epoch: int, dev: float) -> None:
        if on_progress is not None:
            on_progress(EpochScored("race", epoch, dev, entrant=i))

    if budget >= 1.0 and (out / METRICS_FILE).is_file():
        result = read_json(out / METRICS_FILE)
    else:
        result = train_fn(kwargs, report if on_progress is not None else None)
    dev, test = scores_of(result, str(out))
    row = {
        "rung": r,
        "budget": budget,
        "dev": dev,
        # the tie-break of equal dev scores (None: a training that did not record it)
        "dev_loss": (result.get("dev") or {}).get("loss"),
        "step": result.get("global_step"),
        "train_seconds": (result.get("throughput") or {}).get("train_seconds"),
    }
    if budget >= 1.0:
        row["test"] = test  # recorded, never used to choose
    atomic_write_json(rung_file, row)
    if on_progress is not None:
        on_progress(RungScored(i, entrant.name, r, budget, dev))
    return dev


def _drop_checkpoint(out: Path) -> None:
    """Free a stopped entrant's disk: its checkpoint and saved model (rung files stay)."""
    (out / "checkpoint.pt").unlink(missing_ok=True)
    shutil.rmtree(out / "model", ignore_errors=True)


def _summary(
    entrants: list[Entrant],
    dirs: list[Path],
    scores: list[dict[int, float]],
    stopped: list[int],
    by_final: list[int],
    race: RaceConfig,
    setting: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    rows = []
    for i, (e, d) in enumerate(zip(entrants, dirs, strict=True)):
        last = stopped[i]
        test = None
        if last == len(race.rungs) - 1:
            test = read_json(d / f"rung_{last}.json").get("test")
        rows.append(
            {
                "index": i,
                "name": e.name,
                "origin": e.origin,
                "also": e.also,
                "architecture": e.architecture.to_dict(),
                "short": e.architecture.short(),
                "search_score": e.search_score,
                "dev": [scores[i][r] for r in sorted(scores[i])],
                "dev_loss": [
                    read_json(d / f"rung_{r}.json").get("dev_loss") for r in sorted(scores[i])
                ],
                "stopped_at": last,
                "full_test": test,
                "dir": str(d),
            }
        )
    # budget trained, in full trainings: each entrant up to the rung it reached
    cost = sum(race.rungs[stopped[i]] for i in range(len(entrants)))
    winner = by_final[0]
    return {
        "kind": "race",
        "rungs": list(race.rungs),
        "eta": race.eta,
        "setting": setting,
        "train_seed": seed,
        "entrants": rows,
        "winner": winner,
        "winner_name": entrants[winner].name,
        "winner_origin": entrants[winner].origin,
        # the entrants that go on to the seeds stage, best full-budget dev first
        "finalists": by_final[: race.finalists],
        "cost_trainings": round(cost, 3),
        "train_seconds": round(
            sum(
                float(read_json(d / f"rung_{stopped[i]}.json").get("train_seconds") or 0.0)
                for i, d in enumerate(dirs)
            ),
            1,
        ),
    }
