"""Fault injection: SIGKILL ``autorc run`` at random moments, resume it, compare with a clean run.

    .venv/bin/python benchmarks/faults.py                   # 12 kills, written to
    benchmarks/results/faults.json
    .venv/bin/python benchmarks/faults.py --kills 4 --seed 1 --keep /tmp/faults

What it does, on the in-process ``tiny`` encoder and a synthetic dataset
(:mod:`autorc_nni.data.synthetic`), so it needs no data and runs in a few minutes on a CPU:

1. runs ``autorc run --config CFG --out ref`` once, uninterrupted, and records when each stage
   started (the stage is read from the run directory, see :class:`StageReader`);
2. runs the same command into ``faulty``, and SIGKILLs it (its whole process group) ``--kills``
   times: the kills are spread over the stages in order (search, ranking, HPO trials, seeds),
   each at a random moment, drawn from ``--seed``, within that stage's reference duration after
   the stage is seen starting; after each kill the same command is started again, and the last
   start runs to the end;
3. compares the two run directories file by file: every JSON result (candidates, ranking,
   search summary, each HPO trial's and seed's ``metrics.json`` with its per-epoch training loss
   and dev score, ``hpo.json``, ``seeds.json``, ``result.json``), every ``test_predictions.jsonl``
   byte for byte, and each Optuna study: exactly ``hpo.trials`` COMPLETE trials, the same
   parameters and values in the same order as the clean run (none lost, none repeated; a trial
   killed while RUNNING is failed and its budget slot re-run, so it shows as FAIL).

Wall-clock fields (``seconds``, throughput, peak memory) and the run directory's own path are
left out of the comparison. It prints ``N kills, N resumes, identical: yes/no`` and the time
lost per kill (the faulty run's total wall time over all its starts, less the clean run's, over
the number of kills), and writes ``benchmarks/results/faults.json``. Exit status 0 when the runs
are identical, 1 when they differ (the differences are listed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
STAGES = ("search", "ranking", "race", "hpo", "seeds")
# Fields that hold wall time, speed or memory: they differ between any two runs.
VOLATILE = {
    "seconds",
    "search_seconds",
    "search_seconds_this_process",
    "train_seconds",
    "eval_sentences_per_s",
    "train_sentences_per_s",
    "sentences_per_s",
    "peak_rss_mb",
    "datetime_start",
    "datetime_complete",
    "duration",
    "started",
    "finished",
    "date",
}

CONFIG = """\
# benchmarks/faults.py: the protocol end to end on the tiny encoder, every stage a few seconds.
method: autorc
dataset: {data}
format: opennre
encoder: tiny
seed: 0
top: 2
search: {{epochs: 3.0, batch_size: 8, child_steps: 2, k: 3, search_warmup_epochs: 0.5,
          max_len: 32, num_threads: 1, eval_batch_size: 48, checkpoint_every: 2}}
train: {{epochs: 3, max_len: 32, num_threads: 1, eval_batch_size: 48, checkpoint_every: 4}}
hpo: {{trials: 3, space: {{lr: [3.0e-4, 1.0e-3], batch_size: [8, 16], warmup: [0.5]}}}}
seeds: {{n: 2}}
select: race
race: {{top: 2, format_draws: 2, eta: 2, rungs: [0.34, 1.0], lr: 1.0e-3, batch_size: 16,
        warmup: 0.5}}
"""


# -- where a run is -----------------------------------------------------------------------------
class StageReader:
    """The stage a run directory is in, from its files alone (no help from the process)."""

    def __init__(self, run: Path, total_steps: int | None) -> None:
        self.run, self.total_steps = run, total_steps
        self._ckpt: tuple[float, int] | None = None  # (mtime, step) of search/checkpoint.pt

    def _search_step(self) -> int:
        import torch

        ck = self.run / "search" / "checkpoint.pt"
        try:
            mtime = ck.stat().st_mtime
        except FileNotFoundError:
            return 0
        if self._ckpt is None or self._ckpt[0] != mtime:
            try:
                saved = torch.load(ck, map_location="cpu", weights_only=True)
                self._ckpt = (mtime, int(saved["state"]["step"]))
            except Exception:  # replaced while read: ask again at the next poll
                return self._ckpt[1] if self._ckpt else 0
        return self._ckpt[1]

    def __call__(self) -> str:
        """``search`` | ``ranking`` | ``hpo@rank_NN`` | ``seeds@rank_NN`` | ``report`` |
        ``done``."""
        run = self.run
        if (run / "result.json").is_file():
            return "done"
        if not (run / "candidates.json").is_file():
            if (run / "search" / "ranking.json").is_file():
                return "ranking"
            if self.total_steps is not None and self._search_step() >= self.total_steps:
                return "ranking"
            return "search"
        if (run / "race").is_dir() and not (run / "race" / "race.json").is_file():
            return "race"
        for rank in sorted((run / "eval").glob("rank_*")):
            if not (rank / "result.json").is_file():
                return f"{'seeds' if (rank / 'seeds').is_dir() else 'hpo'}@{rank.name}"
        if (run / "eval").is_dir():
            return "report"
        race_set = (run / "candidates.json").read_text().find('"select": "race"') >= 0
        return "race" if race_set and not (run / "race" / "race.json").is_file() else "hpo@rank_01"


def kind(stage: str) -> str:
    return stage.split("@")[0]


# -- running and killing ------------------------------------------------------------------------
def start(cmd: list[str], log: Path) -> subprocess.Popen:
    f = open(log, "a")  # noqa: SIM115 (closed with the process)
    f.write(f"\n$ {' '.join(cmd)}\n")
    f.flush()
    # its own process group, so the kill takes any child with it
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
    )


def kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _holds_lock(run: Path, pid: int) -> bool:
    try:
        return (run / ".autorc.lock").read_text().startswith(f"pid {pid}:")
    except OSError:
        return False


def reference_run(cmd: list[str], run: Path, log: Path, poll: float) -> dict[str, Any]:
    """Run ``cmd`` to the end, recording when each stage was first seen."""
    reader = StageReader(run, None)
    seen: dict[str, float] = {}
    t0, t0_wall = time.perf_counter(), time.time()
    proc = start(cmd, log)
    while proc.poll() is None:
        if "startup" in seen or _holds_lock(run, proc.pid):  # imports over: a stage runs
            seen.setdefault("startup", 0.0)
            seen.setdefault(reader(), time.perf_counter() - t0)
        time.sleep(poll)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"the clean run failed (exit {proc.returncode}); see {log}")
    seen.setdefault("done", wall)
    summary = json.loads((run / "search" / "summary.json").read_text())
    # the search checkpoint is written at the last step, then the ranking runs: from the
    # checkpoint's modification time the ranking's start is known exactly
    ck = run / "search" / "checkpoint.pt"
    if ck.is_file():
        rank_start = ck.stat().st_mtime - t0_wall
        seen["ranking"] = max(min(rank_start, seen.get("ranking", wall)), seen.get("search", 0))
    starts = sorted((t, s) for s, t in seen.items())
    durations = {
        s: (starts[i + 1][0] if i + 1 < len(starts) else wall) - t
        for i, (t, s) in enumerate(starts)
    }
    return {
        "wall_s": wall,
        "order": [s for _, s in starts],
        "stage_s": durations,
        "total_steps": int(summary["total_steps"]),
    }


def faulty_run(
    cmd: list[str],
    run: Path,
    log: Path,
    plan: list[tuple[str, float]],
    order: list[str],
    total_steps: int,
    poll: float,
    timeout: float,
) -> dict[str, Any]:
    """Run ``cmd`` to the end, killing it as ``plan`` says: ``(stage, s)`` kills it once it has
    worked ``s`` seconds in ``stage``, over all its starts (a resumed start redoes the work since
    the last checkpoint, so the kills of one stage all land in it). A start works once it holds
    the run directory's lock: the seconds it spends importing before that do not count."""
    reader = StageReader(run, total_steps)
    pos = {s: i for i, s in enumerate(order)}
    spent: dict[str, float] = {}
    kills, starts, wall = [], 0, 0.0
    pending = list(plan)
    while True:
        starts += 1
        t0 = last = time.perf_counter()
        proc = start(cmd, log)
        killed = working = False
        while proc.poll() is None:
            now = time.perf_counter()
            if now - t0 > timeout:
                kill(proc)
                raise SystemExit(f"a start ran over {timeout:.0f} s; see {log}")
            stage = reader()
            if working or _holds_lock(run, proc.pid):  # its imports are over: it is working
                working = True
                spent[stage] = spent.get(stage, 0.0) + now - last
            last = now
            while pending and pos.get(stage, len(pos)) > pos[pending[0][0]]:
                kills.append(
                    {"target": pending.pop(0)[0], "stage": "missed (stage over)", "after_s": None}
                )
            if pending and stage == pending[0][0] and spent.get(stage, 0.0) >= pending[0][1]:
                kill(proc)
                kills.append(
                    {"target": pending.pop(0)[0], "stage": reader(), "after_s": round(now - t0, 2)}
                )
                killed = True
                break
            time.sleep(poll)
        wall += time.perf_counter() - t0
        if killed:
            continue
        if proc.returncode != 0:
            raise SystemExit(f"a resumed start failed (exit {proc.returncode}); see {log}")
        kills += [{"target": t, "stage": "missed (run ended)", "after_s": None} for t, _ in pending]
        break
    return {"wall_s": wall, "starts": starts, "kills": kills}


# -- comparing ----------------------------------------------------------------------------------
def _clean(value: Any, run: Path) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v, run) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean(v, run) for v in value]
    if isinstance(value, str):
        return value.replace(str(run), "RUN")
    return value


def _counted(result: Any) -> Any:
    """``hpo.json`` without what only says how the study got there: the trials a kill failed
    (their budget slots were re-run) and Optuna's trial numbers (a replacement gets a new one)."""
    if (
        isinstance(result, dict)
        and isinstance(result.get("trials"), list)
        and "n_complete" in result
    ):
        rows = [
            {k: v for k, v in t.items() if k != "number"}
            for t in result["trials"]
            if t.get("state") in ("COMPLETE", "PRUNED")
        ]
        result = {**result, "trials": sorted(rows, key=lambda t: t.get("slot") or 0)}
        result.pop("best_trial", None)
    return result


def _study(db: Path) -> dict[str, Any]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        states = dict(con.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall())
        complete = con.execute(
            "SELECT t.trial_id, v.value FROM trials t JOIN trial_values v USING (trial_id) "
            "WHERE t.state = 'COMPLETE'"
        ).fetchall()
        slots = {
            tid: json.loads(v)
            for tid, v in con.execute(
                "SELECT trial_id, value_json FROM trial_user_attributes WHERE key = 'slot'"
            )
        }
        params = {}
        for tid, name, value in con.execute(
            "SELECT trial_id, param_name, param_value FROM trial_params"
        ):
            params.setdefault(tid, {})[name] = value
    finally:
        con.close()
    return {
        "states": states,
        "complete": sorted(
            (
                {"slot": slots.get(tid), "params": params.get(tid, {}), "value": v}
                for tid, v in complete
            ),
            key=lambda t: (t["slot"] is None, t["slot"] or 0),
        ),
    }


WEIGHTS = (".safetensors", ".bin")  # model weights: compared tensor by tensor


def _result_files(root: Path) -> set[Path]:
    """The files of a run directory that the comparison reads (relative paths)."""
    skip = ("report", "tensorboard")
    return {
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file()
        and not any(x in skip for x in p.relative_to(root).parts)
        and not p.name.startswith(".")
        and p.suffix in (".json", ".jsonl", ".db", *WEIGHTS)
    }


def _tensors(path: Path) -> dict[str, Any]:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def _same_weights(a: Path, b: Path) -> bool:
    import torch

    ta, tb = _tensors(a), _tensors(b)

    def flat(x: Any, key: str = "") -> dict[str, Any]:
        if isinstance(x, dict):
            return {k2: v for k, v in x.items() for k2, v in flat(v, f"{key}/{k}").items()}
        return {key: x}

    fa, fb = flat(ta), flat(tb)
    if fa.keys() != fb.keys():
        return False
    for k in fa:
        x, y = fa[k], fb[k]
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            if x.shape != y.shape or not torch.equal(x, y):
                return False
        elif x != y and not k.endswith(("seconds", "rng")):
            return False
    return True


def compare(ref: Path, got: Path, budget: int) -> dict[str, Any]:
    """What differs between two run directories (empty lists: identical): the result files both
    ways (one only the resumed run holds is a difference too), counts kept, model weights
    compared tensor by tensor."""
    diffs, checked = [], 0
    ref_files, got_files = _result_files(ref), _result_files(got)
    diffs += [f"{rel}: only in the resumed run" for rel in sorted(got_files - ref_files)]
    for rel in sorted(ref_files):
        path, other = ref / rel, got / rel
        checked += 1
        if not other.is_file():
            diffs.append(f"{rel}: missing in the resumed run")
        elif rel.suffix in WEIGHTS:
            if not _same_weights(path, other):
                diffs.append(f"{rel}: model weights differ")
        elif rel.suffix == ".json":
            a = _clean(_counted(json.loads(path.read_text())), ref)
            b = _clean(_counted(json.loads(other.read_text())), got)
            if a != b:
                keys = (
                    sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                    if isinstance(a, dict) and isinstance(b, dict)
                    else ["(list)"]
                )
                diffs.append(f"{rel}: differs in {keys}")
        elif rel.suffix == ".jsonl":
            if path.read_bytes() != other.read_bytes():
                diffs.append(f"{rel}: predictions differ")
    studies = {}
    for db in sorted(ref.rglob("optuna.db")):
        rel = db.relative_to(ref)
        a, b = _study(db), _study(got / rel)
        studies[str(rel)] = {"clean": a["states"], "resumed": b["states"]}
        if len(b["complete"]) != budget:
            diffs.append(f"{rel}: {len(b['complete'])} COMPLETE trials, budget {budget}")
        if a["complete"] != b["complete"]:
            diffs.append(f"{rel}: the COMPLETE trials' parameters or values differ")
    return {"files_compared": checked, "differences": diffs, "studies": studies}


# -- main ---------------------------------------------------------------------------------------
def plan_kills(
    n: int, order: list[str], durations: dict[str, float], rng: random.Random
) -> list[tuple[str, float]]:
    """``n`` kills spread over the stage kinds (search, ranking, HPO, seeds) in turn; each in one
    of that kind's stages (``hpo@rank_02``…, drawn by duration) at a random moment of it."""
    plan = []
    for i in range(n):
        stages = [s for s in order if kind(s) == STAGES[i % len(STAGES)] and durations[s] > 0]
        if not stages:
            continue
        stage = rng.choices(stages, weights=[durations[s] for s in stages])[0]
        plan.append((stage, rng.uniform(0.0, 0.9 * durations[stage])))
    return sorted(plan, key=lambda p: (order.index(p[0]), p[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=12, help="SIGKILLs of the faulty run (default 12)")
    ap.add_argument("--seed", type=int, default=0, help="draws the kill moments (default 0)")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp dir)")
    ap.add_argument("--poll", type=float, default=0.05, help="seconds between stage checks")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds one start may run")
    ap.add_argument(
        "--out",
        default=str(RESULTS / "faults.json"),
        help="where to write the figures ('-': nowhere)",
    )
    args = ap.parse_args(argv)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="autorc-faults-"))
    for sub in ("ref", "faulty"):
        shutil.rmtree(work / sub, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    from autorc_nni.data.synthetic import write_synthetic

    data = write_synthetic(work / "data", n_train=384, n_dev=48, n_test=48)
    cfg = work / "faults.yml"
    cfg.write_text(CONFIG.format(data=data))
    os.environ["AUTORC_CACHE_DIR"] = str(work / "cache")
    cmd = [sys.executable, "-m", "trial.cli", "run", "--config", str(cfg), "--out"]
    log = work / "log.txt"
    load = os.getloadavg()[0]

    print(f"clean run: autorc run --config {cfg} --out {work / 'ref'}", flush=True)
    ref = reference_run([*cmd, str(work / "ref")], work / "ref", log, args.poll)
    print(
        f"  {ref['wall_s']:.1f} s; stages (s): "
        + ", ".join(f"{s} {d:.1f}" for s, d in ref["stage_s"].items()),
        flush=True,
    )
    plan = plan_kills(args.kills, ref["order"], ref["stage_s"], random.Random(args.seed))
    print(f"faulty run: {len(plan)} kills planned, then resumed each time", flush=True)
    faulty = faulty_run(
        [*cmd, str(work / "faulty")],
        work / "faulty",
        log,
        plan,
        ref["order"],
        ref["total_steps"],
        args.poll,
        args.timeout,
    )
    for k in faulty["kills"]:
        print(
            f"  kill aimed at {k['target']:<14} landed in {k['stage']:<19} "
            + (f"{k['after_s']} s after its start" if k["after_s"] is not None else ""),
            flush=True,
        )
    cmp = compare(work / "ref", work / "faulty", budget=3)
    landed = sum(not k["stage"].startswith("missed") for k in faulty["kills"])
    on_target = sum(k["stage"] == k["target"] for k in faulty["kills"])
    lost = (faulty["wall_s"] - ref["wall_s"]) / max(landed, 1)
    identical = not cmp["differences"]
    print(
        f"{landed} kills, {faulty['starts'] - 1} resumes, identical: "
        f"{'yes' if identical else 'no'} ({cmp['files_compared']} files compared); "
        f"time lost per kill {lost:.1f} s (clean {ref['wall_s']:.1f} s, "
        f"faulty {faulty['wall_s']:.1f} s over {faulty['starts']} starts; a fresh start's "
        f"imports alone take {ref['stage_s'].get('startup', 0):.1f} s)"
    )
    for d in cmp["differences"]:
        print(f"  DIFFERS: {d}")
    record = {
        "what": "SIGKILL `autorc run` (tiny encoder, synthetic data) at random moments of each "
        "stage, resume with the same command, compare with an uninterrupted run",
        "command": "python benchmarks/faults.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load avg {load:.1f} at start",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, capture_output=True
        ).stdout.strip()
        or None,
        "kills": landed,
        "kills_in_target_stage": on_target,
        "resumes": faulty["starts"] - 1,
        "identical": identical,
        "time_lost_per_kill_s": round(lost, 2),
        "clean_wall_s": round(ref["wall_s"], 2),
        "faulty_wall_s": round(faulty["wall_s"], 2),
        "clean_stage_s": {s: round(d, 2) for s, d in ref["stage_s"].items()},
        "kill_log": faulty["kills"],
        **cmp,
    }
    if args.out != "-":
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
        print(f"written: {args.out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
