"""One Optuna study on a real PostgreSQL server, shared by two `autorc hpo` worker processes.

Worker A is SIGKILLed mid-trial; worker B finishes the budget. Optuna's heartbeat (every
``hpo.heartbeat`` = 1 s; stale after 3 s) lets B fail A's dead trial, B's slot sampler gives its
budget slot to a new trial with the same setting, and the study ends with exactly the budget of
COMPLETE trials, one per slot.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autorc_nni.data.synthetic import write_synthetic
from tests.scale.servers import postgres

pytestmark = pytest.mark.scale
ROOT = Path(__file__).resolve().parents[2]
BUDGET = 6


def worker(data: Path, url: str, out: Path, log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "trial.cli",
        "hpo",
        "--arch",
        "bert-entity",
        "--dataset",
        str(data),
        "--format",
        "opennre",
        "--encoder",
        "tiny",
        "--epochs",
        "40",  # long enough a trial that the kill lands inside it on a fast machine
        "--max-len",
        "32",
        "--trials",
        str(BUDGET),
        "--storage",
        url,
        "--study",
        "shared",
        "--out",
        str(out),
        "--set",
        "hpo.heartbeat=1",
        "--set",
        "train.num_threads=1",
    ]
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def trials(url: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name="shared", storage=url).get_trials(deepcopy=False)


def test_two_workers_one_killed_share_a_postgresql_study(tmp_path: Path, monkeypatch) -> None:
    from optuna.trial import TrialState

    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    data = write_synthetic(tmp_path / "data", n_train=192)
    with postgres() as url:
        a = worker(data, url, tmp_path / "a", tmp_path / "a.log")
        b = worker(data, url, tmp_path / "b", tmp_path / "b.log")
        try:
            deadline, victim = time.time() + 120, None
            while victim is None:  # A's first trial, once it is training
                assert a.poll() is None, (tmp_path / "a.log").read_text()
                assert time.time() < deadline, "worker A never started a trial"
                with_a = [
                    t
                    for t in _safe_trials(url)
                    if t.state == TrialState.RUNNING
                    and str(t.user_attrs.get("dir", "")).startswith(str(tmp_path / "a"))
                ]
                if with_a and Path(with_a[0].user_attrs["dir"], ".autorc.lock").is_file():
                    victim = with_a[0]
                time.sleep(0.2)
            time.sleep(0.1)
            os.killpg(a.pid, signal.SIGKILL)
            a.wait()
            assert b.wait(timeout=300) == 0, (tmp_path / "b.log").read_text()
        finally:
            for p in (a, b):
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        got = trials(url)

    by_number = {t.number: t for t in got}
    dead = by_number[victim.number]
    assert dead.state == TrialState.FAIL  # failed by B through the heartbeat, not left RUNNING
    assert not [t for t in got if t.state == TrialState.RUNNING]
    complete = [t for t in got if t.state == TrialState.COMPLETE]
    assert len(complete) == BUDGET
    assert sorted(t.user_attrs["slot"] for t in complete) == list(range(BUDGET))
    # the dead trial's slot was taken over by B with the same setting
    (heir,) = [t for t in complete if t.user_attrs["slot"] == dead.user_attrs["slot"]]
    assert heir.params == dead.params and heir.number > dead.number
    assert (
        str(heir.user_attrs.get("dir", "")).startswith(str(tmp_path / "b"))
        or "same_as" in heir.user_attrs
    )
    text = (tmp_path / "b.log").read_text()
    assert f"{'FAIL':<8}" in text and "written:" in text


def _safe_trials(url: str):
    try:
        return trials(url)
    except KeyError:  # the study is not created yet
        return []
