"""What a protocol run tells its listener while it runs: one dataclass per kind of event.

``run_pipeline(..., on_event=fn)`` calls ``fn(event)`` with each of these, in this order over a
run: :class:`Candidates`; during the race :class:`EpochScored` (``stage="race"``) and
:class:`RungScored`, then :class:`RaceDone`; for each evaluated candidate :class:`EpochScored`
and :class:`TrialDone` per HPO trial, :class:`EpochScored` and :class:`SeedDone` per seed, then
:class:`Evaluated`; finally :class:`Done`. A listener dispatches on the type (``match``).

Every event of a training carries the candidate's ``rank`` (1 until the protocol sets it), and
:meth:`record` gives its flat form, ``kind`` included, as NNI's intermediate results carry it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str]  # the record's kind (NNI's intermediate results, consoles)

    def record(self) -> dict[str, Any]:
        """The event as a flat mapping: its fields and ``kind``."""
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Candidates(Event):
    """The ranked candidates are known (``candidates.json``)."""

    kind = "candidates"
    candidates: list[dict[str, Any]]


@dataclass(frozen=True)
class EpochScored(Event):
    """A dev evaluation inside a training: of an HPO trial (``number``), a seed (``seed``) or a
    race entrant (``entrant``)."""

    kind = "epoch"
    stage: str  # "hpo_trial" | "seed" | "race"
    epoch: int
    dev: float
    rank: int = 1
    number: int | None = None
    seed: int | None = None
    entrant: int | None = None


@dataclass(frozen=True)
class TrainingDone(Event):
    """A training finished with these dev and test scores (test None where not scored)."""

    dev: float
    test: float | None


@dataclass(frozen=True, kw_only=True)
class TrialDone(TrainingDone):
    """One Optuna HPO trial finished (``number`` of ``budget``)."""

    kind = "hpo_trial"
    number: int
    params: dict[str, Any]
    budget: int
    rank: int = 1


@dataclass(frozen=True, kw_only=True)
class SeedDone(TrainingDone):
    """One seed run of the chosen setting finished (``seed``, one of ``of``)."""

    kind = "seed"
    seed: int
    of: int
    rank: int = 1


@dataclass(frozen=True)
class RungScored(Event):
    """A race entrant scored on dev at one rung (``budget``: the share of the full training)."""

    kind = "rung"
    entrant: int
    name: str
    rung: int
    budget: float
    dev: float


@dataclass(frozen=True)
class RaceDone(Event):
    """The race is over; ``race`` is its record (``race.json``: entrants, winner, cost)."""

    kind = "race"
    race: dict[str, Any]

    @property
    def winner(self) -> dict[str, Any]:
        return self.race["entrants"][self.race["winner"]]


@dataclass(frozen=True)
class Evaluated(Event):
    """One candidate's evaluation (HPO, then seeds) finished; ``result`` is its ``result.json``."""

    kind = "evaluated"
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Done(Event):
    """The run finished (or was found finished); ``result`` is its ``result.json``."""

    kind = "done"
    result: dict[str, Any] = field(default_factory=dict)


# the events of one training (they carry the candidate's rank)
TrainingEvent = EpochScored | TrialDone | SeedDone
AnyEvent = (
    Candidates | EpochScored | TrialDone | SeedDone | RungScored | RaceDone | Evaluated | Done
)
EventFn = Callable[[Event], None]
