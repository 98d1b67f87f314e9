"""The NNI trial: one independent run of the protocol (search → HPO → seeds), configured by NNI.

    trialCommand: python -m trial.nni_trial --config configs/default.yml

NNI's tuner gives the trial its parameters (``nni.get_next_parameter()``): a mapping of pipeline
config keys, dotted for nested ones (``{"seed": 2}``, ``{"method": "naive-enas"}``,
``{"search.epochs": 1.0}``), merged over the YAML before it is validated. The trial

- runs the pipeline in ``RUNS_ROOT/<parameters>`` (default ``runs/nni/<experiment id>``): the
  run directory is named by the parameters, not the trial, so after ``nnictl resume`` (or a new
  experiment over the same ``--runs-root``) a trial with the same parameters skips every stage
  already finished;
- reports the running controller reward while the search runs (``kind: reward``), each HPO
  trial's and each seed's dev score after every epoch (``epoch``) and as it finishes
  (``hpo_trial``, ``seed``), then each evaluated
  candidate's mean dev score (``dev``), with ``nni.report_intermediate_result({"default": value,
  "kind": …})``: the web UI and ``autorc demo``'s console show the stage a trial is in;
- finishes with ``nni.report_final_result({"default": best model's mean dev score, "test": its
  mean test score, "architecture": …, …})``;
- writes TensorBoard logs to ``$NNI_OUTPUT_DIR/tensorboard`` (where NNI's web UI looks): the
  search's scalars, the running reward, the candidates' dev/test scores;
- on any error prints it (with the traceback) and exits non-zero: NNI marks the trial FAILED and
  the experiment goes on with the others.

Outside NNI (no tuner) it runs with the YAML as is, which is handy for debugging a config.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from pipeline.events import (
    Candidates,
    EpochScored,
    Evaluated,
    Event,
    RaceDone,
    RungScored,
    SeedDone,
    TrialDone,
)

# nni.report_* also print when run by hand; keep third-party noise down
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def run_name(params: dict[str, Any]) -> str:
    """A stable directory name for a parameter set: ``method=autorc,seed=1``."""
    if not params:
        return "default"
    items = ",".join(f"{k}={params[k]}" for k in sorted(params))
    return re.sub(r"[^A-Za-z0-9=,._-]", "_", items)[:200]


def _best_model(best: dict[str, Any]) -> str | None:
    """The trained model directory of the best candidate's best seed (highest dev score)."""
    seeds_dir = Path(best.get("dir") or "") / "seeds"
    devs = best.get("dev") or []
    if not devs:
        return None
    i = max(range(len(devs)), key=lambda j: (devs[j], -j))
    model = seeds_dir / f"seed_{best['seeds'][i]}" / "model"
    return str(model.resolve()) if model.is_dir() else None


def intermediate_reporter() -> Callable[[dict[str, Any]], None]:
    """``nni.report_intermediate_result`` on this trial's own channel to the NNI manager.

    NNI's NAS engine swaps the default trial command channel for a mock one while it evaluates
    a model (``nni.nas.evaluator``, ``nni.nas.execution.sequential``): a result reported from
    inside the search (the running reward) would be held there and reach the web UI only when
    the search ends. The channel of the trial, taken here before anything runs, is put back for
    the time of each report."""
    import nni
    from nni.runtime.trial_command_channel import (
        get_default_trial_command_channel,
        set_default_trial_command_channel,
    )

    own = get_default_trial_command_channel()

    def report(metric: dict[str, Any]) -> None:
        current = get_default_trial_command_channel()
        if current is own:
            nni.report_intermediate_result(metric)
            return
        set_default_trial_command_channel(own)
        try:
            nni.report_intermediate_result(metric)
        finally:
            set_default_trial_command_channel(current)

    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m trial.nni_trial", description=__doc__.split("\n")[0]
    )
    p.add_argument("--config", required=True, help="the pipeline YAML the parameters go into")
    p.add_argument("--runs-root", help="where run directories live (default runs/nni/<exp id>)")
    p.add_argument(
        "--reward-interval",
        type=float,
        default=10.0,
        help="seconds between running-reward reports during the search",
    )
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument(
        "--select",
        choices=["shared", "race"],
        help="how the model to evaluate is chosen (overrides the config's select:; a "
        "parameter from NNI overrides both): shared = the paper's shared-weight ranking, "
        "race = the shortlist and the hand-made designs raced by stand-alone training",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _run(args)
    except Exception as e:  # any failure: NNI marks the trial FAILED, the others go on
        traceback.print_exc()
        print(f"nni_trial: error: {e}", file=sys.stderr)
        return 2 if e.__class__.__module__.startswith("autorc_nni") else 1


def intermediate_record(event: Event) -> dict[str, Any]:
    """An event as an NNI intermediate result: ``default`` is the dev score it tells (the web
    UI's chart), ``kind`` what it is; the rest as the console and ``autorc demo`` read it."""
    match event:
        # a dev evaluation inside a training, one HPO trial or one seed run finished: the
        # event's fields (an unset optional one left out, an HPO trial's params spread out)
        case EpochScored() | TrialDone() | SeedDone():
            out: dict[str, Any] = {"default": event.dev, "kind": event.kind}
            for f in fields(event):
                value = getattr(event, f.name)
                if f.name == "params":
                    out.update(value)
                elif f.name != "dev" and not (value is None and f.default is None):
                    out[f.name] = value
            return out
        case RungScored():  # one race entrant scored at one rung
            return {
                "default": event.dev,
                "kind": "rung",
                "entrant": event.name,
                "rung": event.rung,
                "budget": event.budget,
            }
        case RaceDone():
            race = event.race
            return {
                "default": event.winner["dev"][-1],
                "kind": "race",
                "winner": race["winner_name"],
                "origin": race["winner_origin"],
                "cost": race["cost_trainings"],
            }
        case Evaluated():  # one candidate's mean over its seeds
            r = event.result
            return {
                "default": r["dev_mean"],
                "kind": "dev",
                "rank": r.get("rank", 0),
                "test": r["test_mean"],
            }
    raise TypeError(f"{type(event).__name__} has no intermediate result")


def _run(args: argparse.Namespace) -> int:
    from search_spaces.quiet import quiet_nni

    quiet_nni()
    import nni
    import torch

    from autorc_nni.training import listen_progress
    from pipeline.runner import load_config, run

    if args.threads:
        torch.set_num_threads(args.threads)
    params = nni.get_next_parameter() or {}
    cfg = load_config(args.config, {**({"select": args.select} if args.select else {}), **params})
    root = Path(args.runs_root or f"runs/nni/{nni.get_experiment_id()}")
    run_dir = root / run_name(params)
    out = Path(os.environ.get("NNI_OUTPUT_DIR", run_dir))
    print(f"nni_trial: parameters {params}; run directory {run_dir}", flush=True)
    reporter = _Reporter(run_dir, out / "tensorboard" / "trial")
    try:
        with listen_progress(reporter.on_train):
            result = run(
                cfg,
                run_dir,
                on_event=reporter.on_event,
                on_reward=reporter.on_reward,
                reward_interval=args.reward_interval,
                # the experiment's trials share their finished trainings (the AutoRC trial's
                # seeds of a hand-made winner are that design's own trial's trainings)
                reuse=root / "trainings",
            )
    finally:
        reporter.writer.flush()
    best = result["best"]
    reporter.finish(best)
    nni.report_final_result(
        {
            "default": best["dev_mean"],
            "test": best["test_mean"],
            "dev_std": best["dev_std"],
            "test_std": best["test_std"],
            "metric": best.get("metric"),
            "method": cfg.method,
            "dataset": cfg.data.dataset,
            "select": result.get("select", "shared"),
            "origin": best.get("origin"),
            "architecture": best["architecture"],
            "params": best["params"],
            "run_dir": str(run_dir.resolve()),
            "model": _best_model(best),
        }
    )
    print(f"nni_trial: best dev {best['dev_mean']:.4f} test {best['test_mean']}", flush=True)
    return 0


class _Reporter:
    """What a protocol run tells while it runs, to NNI (intermediate results: the web UI's
    chart) and to the trial's TensorBoard folder (``tb``)."""

    def __init__(self, run_dir: Path, tb: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = run_dir
        self.send = intermediate_reporter()
        self.writer = SummaryWriter(str(tb))
        self.n_reports = 0

    def on_reward(self, step: int, reward: float) -> None:
        """The search's running reward."""
        self.send({"default": reward, "kind": "reward", "step": step})
        self.writer.add_scalar("trial/running_reward", reward, step)
        self.writer.flush()
        self.n_reports += 1

    def on_event(self, event: Event) -> None:
        """A protocol event: an intermediate result, and its TensorBoard scalar."""
        from pipeline.report import read_scalars

        match event:
            case Candidates():
                search_tb = self.run_dir / "search" / "tensorboard"
                if search_tb.is_dir():  # the whole search curve, also on a resumed trial
                    for tag, points in read_scalars(search_tb, "search/").items():
                        for step, value in points:
                            self.writer.add_scalar(tag, value, step)
            case EpochScored() | TrialDone() | SeedDone() | RungScored() | RaceDone() | Evaluated():
                self.send(intermediate_record(event))
                self.n_reports += 1
                if isinstance(event, RungScored):
                    self.writer.add_scalar(f"race/{event.name}", event.dev, event.rung)
                elif isinstance(event, Evaluated):
                    r, rank = event.result, event.result.get("rank", 0)
                    self.writer.add_scalar("candidate/dev_mean", r["dev_mean"], rank)
                    if r["test_mean"] is not None:
                        self.writer.add_scalar("candidate/test_mean", r["test_mean"], rank)
        self.writer.flush()

    def on_train(self, info: dict[str, Any]) -> None:
        """A training's heartbeat: where it is, as a fraction done."""
        where = Path(info["out"])
        self.send(
            {
                "default": info["step"] / info["steps"],
                "kind": "progress",
                **{k: info[k] for k in ("phase", "epoch", "epochs", "step", "steps", "loss")},
                "out": str(where.relative_to(self.run_dir))
                if where.is_relative_to(self.run_dir)
                else info["out"],
            }
        )

    def finish(self, best: dict[str, Any]) -> None:
        """The best model's scores; one intermediate point even for a run found finished."""
        if self.n_reports == 0:
            self.send(
                {
                    "default": best["dev_mean"],
                    "kind": "dev",
                    "rank": best.get("rank", 1),
                    "test": best["test_mean"],
                }
            )
        self.writer.add_scalar("best/dev_mean", best["dev_mean"], 0)
        if best["test_mean"] is not None:
            self.writer.add_scalar("best/test_mean", best["test_mean"], 0)
        self.writer.close()


if __name__ == "__main__":
    sys.exit(main())
