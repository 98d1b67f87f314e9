"""``autorc demo``: run the default NNI experiment (config.yml) and print its results table.

    autorc demo                       # = make demo
    autorc demo --config configs/methods.yml --timeout 7200

Runs ``nnictl create --config FILE --port FREE`` with this environment's interpreter first on
PATH, prints the web UI address, follows the trials until all have ended, prints each trial's
final metrics and the Table-1 style report of their run directories, and stops the experiment
(``nnictl stop``) in every case, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import yaml

from autorc_nni.config import ConfigError
from pipeline.report import write_report
from trial.nni_experiment import Experiment

ROOT = Path(__file__).resolve().parents[2]


# for `autorc --help`, read without importing the command
HELP = "run the default NNI experiment (config.yml) end to end"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help=HELP)
    p.add_argument("--config", default=str(ROOT / "config.yml"), help="NNI experiment config")
    p.add_argument("--port", type=int, help="web UI port (default: a free one)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the trials")
    p.add_argument("--out", help="report folder (default: runs/nni/<experiment id>/report)")
    p.set_defaults(func=run)


def _n_trials(config: Path) -> int:
    try:
        data = yaml.safe_load(config.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{config}: cannot read the experiment config: {e}") from None
    n = data.get("maxTrialNumber")
    if not isinstance(n, int) or n < 1:
        raise ConfigError(
            f"{config}: maxTrialNumber must be a positive integer (the demo waits "
            "for that many trials)"
        )
    return n


REWARD_EVERY = 20.0  # seconds between two search-progress lines of a trial


def _mean_reward(reports: list[dict]) -> dict:
    """One reward report standing for several: the last step, the mean reward over them."""
    values = [r["default"] for r in reports]
    return {
        "kind": "reward",
        "step": reports[-1].get("step"),
        "default": sum(values) / len(values),
        "steps": len(values),
    }


def progress_words(info: dict) -> str:
    """A training's heartbeat in words: where it is and what it does now."""
    where = (
        f"epoch {info.get('epoch')}/{info.get('epochs')}, "
        f"step {info.get('step')}/{info.get('steps')}"
    )
    phase = info.get("phase", "train")
    if phase == "dev":
        return f"{where}, scoring dev"
    if phase == "test":
        return f"{where}, done: scoring the best model on dev and test"
    loss = info.get("loss")
    return where + ("" if loss is None else f", loss {loss:.4f}")


def _score(data: dict[str, Any]) -> float:
    """The record's ``default`` score; a clear error for a scored record without one."""
    value = data.get("default")
    if value is None:
        raise TypeError(f"a {data.get('kind')!r} metric without a 'default' score: {data!r}")
    return value


def describe_metric(data: object) -> str | None:
    """One console line for an intermediate result of ``trial.nni_trial`` (None: not ours)."""
    if not isinstance(data, dict) or "kind" not in data:
        return None
    kind = data["kind"]
    test = data.get("test")
    tail = "" if test is None else f", test {100 * test:.2f}"
    if kind == "reward":
        over = f" over the last {data['steps']} steps" if data.get("steps", 1) > 1 else ""
        return f"search step {data.get('step')}: mean reward {_score(data):.3f}{over}"
    if kind == "epoch":
        epoch = data.get("epoch")
        if data.get("stage") == "race":
            return (
                f"race: entrant {data.get('entrant')}, epoch {epoch}: dev {100 * _score(data):.2f}"
            )
        which = (
            f"HPO trial {data.get('number')}"
            if data.get("stage") == "hpo_trial"
            else f"seed {data.get('seed')}"
        )
        return f"candidate {data.get('rank')}: {which}, epoch {epoch}: dev {100 * _score(data):.2f}"
    if kind == "hpo_trial":
        return (
            f"candidate {data.get('rank')}: HPO trial {data.get('number')} (budget "
            f"{data.get('budget')}, lr {data.get('lr')}, batch {data.get('batch_size')}): "
            f"dev {100 * _score(data):.2f}{tail}"
        )
    if kind == "seed":
        return (
            f"candidate {data.get('rank')}: seed {data.get('seed')} ({data.get('of')} seeds): "
            f"dev {100 * _score(data):.2f}{tail}"
        )
    if kind == "dev":
        return f"candidate {data.get('rank')} evaluated: mean dev {100 * _score(data):.2f}{tail}"
    if kind == "progress":
        return f"training {data.get('out')}: {progress_words(data)}"
    if kind == "rung":
        return (
            f"race: {data.get('entrant')} at rung {data.get('rung')} "
            f"({100 * data.get('budget', 0):.0f}% of the training): "
            f"dev {100 * _score(data):.2f}"
        )
    if kind == "race":
        return (
            f"race won by {data.get('winner')} ({data.get('origin')}): "
            f"dev {100 * _score(data):.2f}, "
            f"cost {data.get('cost')} full trainings"
        )
    return None


class _Console:
    """What the demo prints while the experiment runs: each trial's status changes and its
    intermediate results (reward reports averaged over ``REWARD_EVERY`` seconds), stamped with
    the time since the start."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.status: dict[str, str] = {}
        # keyed by the trial id of NNI's metric records (``None`` if a record lacks it)
        self.shown: set[tuple[str | None, int]] = set()
        self.names: dict[str | None, str] = {}
        self.pending: dict[str | None, list[dict]] = {}  # reward reports not printed yet
        self.last_reward: dict[str | None, float] = {}

    def say(self, tid: str | None, line: str) -> None:
        s = int(time.monotonic() - self.t0)
        print(
            f"[{s // 60:02d}:{s % 60:02d}] trial {tid} ({self.names.get(tid, '?')}): {line}",
            flush=True,
        )

    def poll(self, exp: Experiment, jobs: list[dict]) -> None:
        for j in jobs:
            tid = j["trialJobId"]
            self.names[tid] = _trial_name(j)
            if self.status.get(tid) != j["status"]:
                self.status[tid] = j["status"]
                self.say(tid, j["status"])
        try:
            metrics = exp.metrics()
        except OSError:
            return
        for m in metrics:
            key = (m.get("trialJobId"), m.get("sequence", 0))
            if m.get("type") != "PERIODICAL" or key in self.shown:
                continue
            self.shown.add(key)
            tid, data = m.get("trialJobId"), m.get("data")
            if isinstance(data, dict) and data.get("kind") == "reward":
                # one line per REWARD_EVERY seconds: the mean over the steps since the last one
                self.pending.setdefault(tid, []).append(data)
                if time.monotonic() - self.last_reward.get(tid, 0.0) < REWARD_EVERY:
                    continue
                data = _mean_reward(self.pending.pop(tid))
                self.last_reward[tid] = time.monotonic()
            line = describe_metric(data)
            if line:
                self.say(tid, line)


def _print_ranking(jobs: list[dict], finals: dict[str, dict]) -> list[str | Path]:
    """The trials ranked by their model's dev score (the test score is shown, never used), then
    those without a result; returns the ranked trials' run directories."""
    print(f"{'rank':<5} {'trial':<8} {'status':<10} {'method':<12} {'dev':>7} {'test':>7}  run")
    done = sorted(
        (j for j in jobs if j["trialJobId"] in finals),
        key=lambda j: -finals[j["trialJobId"]]["default"],
    )
    for rank, j in enumerate(done, 1):
        f = finals[j["trialJobId"]]
        test = "-" if f.get("test") is None else f"{100 * f['test']:.2f}"
        print(
            f"{rank:<5} {j['trialJobId']:<8} {j['status']:<10} {f.get('method', '?'):<12} "
            f"{100 * f['default']:>7.2f} {test:>7}  {f['run_dir']}"
        )
    for j in jobs:
        if j["trialJobId"] not in finals:
            print(
                f"{'-':<5} {j['trialJobId']:<8} {j['status']:<10} (no result; see "
                f"{j.get('logPath')})"
            )
    return [finals[j["trialJobId"]]["run_dir"] for j in done]


def _print_best(finals: dict[str, dict]) -> None:
    """The best model, chosen on dev (never on test), and an ``autorc predict`` line for it."""
    ranked = sorted((f for f in finals.values() if f.get("model")), key=lambda f: -f["default"])
    if ranked:
        best = ranked[0]
        print(f"\nbest model (highest dev score: {best.get('method')}): {best['model']}")
        print("try it:  echo '" + PREDICT_EXAMPLE + f"' | autorc predict --model {best['model']}")


def run(args: argparse.Namespace) -> int:
    config = Path(args.config).resolve()
    n = _n_trials(config)
    console = _Console()
    with Experiment(config, port=args.port, cwd=ROOT) as exp:
        print(f"experiment {exp.id}: web UI at {exp.url} (stopped when the demo ends)", flush=True)
        jobs = exp.wait(n, args.timeout, poll=5.0, on_poll=lambda js: console.poll(exp, js))
        finals = exp.final_metrics()
    print()
    run_dirs = _print_ranking(jobs, finals)
    if not run_dirs:
        print("no trial finished; nothing to report")
        return 1
    out = Path(args.out or Path(run_dirs[0]).parent / "report")
    r = write_report(run_dirs, out)
    print()
    print(r["table"], end="")
    print(f"report: {r['report']}")
    print(f"wall time: {time.monotonic() - console.t0:.0f} s")
    _print_best(finals)
    return 0


# One SemEval-style statement (character offsets, end exclusive) for the printed example.
# e1 (h) first, as in SemEval: "fire" ... "cigarette" is Cause-Effect(e2,e1).
PREDICT_EXAMPLE = (
    '{"text": "The fire was caused by a cigarette.", "h": {"pos": [4, 8]}, "t": {"pos": [25, 34]}}'
)


def _trial_name(job: dict) -> str:
    """The trial's parameters as ``method=autorc`` (from NNI's hyperParameters JSON)."""
    import json

    try:
        raw = json.loads((job.get("hyperParameters") or ["{}"])[0])
        params = raw.get("parameters", raw)
    except (ValueError, TypeError, AttributeError):
        return "?"
    return ",".join(f"{k}={v}" for k, v in sorted(params.items())) or "default"
