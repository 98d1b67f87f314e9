"""The fault-injection harness (benchmarks/faults.py): its comparison can fail, and it passes."""

from __future__ import annotations

import importlib.util
import json
import random
import sqlite3
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("faults", ROOT / "benchmarks" / "faults.py")
faults = importlib.util.module_from_spec(spec)
spec.loader.exec_module(faults)


def _run_dir(root: Path, dev: float, extra_fail: bool = False) -> Path:
    (root / "eval" / "rank_01" / "hpo" / "trials" / "000").mkdir(parents=True)
    (root / "candidates.json").write_text(json.dumps({"candidates": [1], "seconds": 3.0}))
    trials = [
        {
            "number": 0,
            "slot": 0,
            "state": "COMPLETE",
            "params": {"lr": 1},
            "dev": dev,
            "dir": str(root / "eval/rank_01/hpo/trials/000"),
        }
    ]
    if extra_fail:  # a killed trial, replaced: only the counted trials are compared
        trials = [
            {**trials[0], "number": 1},
            {
                "number": 0,
                "slot": 0,
                "state": "FAIL",
                "params": {"lr": 1},
                "dev": None,
                "dir": None,
            },
        ]
    (root / "eval/rank_01/hpo/hpo.json").write_text(
        json.dumps({"n_complete": 1, "best_trial": trials[0]["number"], "trials": trials})
    )
    (root / "eval/rank_01/hpo/trials/000/metrics.json").write_text(
        json.dumps(
            {
                "dev": {"score": dev},
                "throughput": {"train_seconds": random.random()},
                "paths": {"out": str(root / "x")},
            }
        )
    )
    return root


def test_compare_ignores_wall_time_paths_and_failed_trials(tmp_path: Path) -> None:
    a = _run_dir(tmp_path / "a", 0.5)
    b = _run_dir(tmp_path / "b", 0.5, extra_fail=True)
    (b / "candidates.json").write_text(json.dumps({"candidates": [1], "seconds": 9.0}))
    assert faults.compare(a, b, budget=1)["differences"] == []


def test_compare_finds_a_changed_score_and_a_lost_file(tmp_path: Path) -> None:
    a = _run_dir(tmp_path / "a", 0.5)
    b = _run_dir(tmp_path / "b", 0.25)
    (a / "result.json").write_text("{}")
    diffs = faults.compare(a, b, budget=1)["differences"]
    assert any("trials/000/metrics.json: differs in ['dev']" in d for d in diffs)
    assert any("hpo.json" in d for d in diffs)
    assert "result.json: missing in the resumed run" in diffs


def test_compare_finds_a_file_only_the_resumed_run_has(tmp_path: Path) -> None:
    a = _run_dir(tmp_path / "a", 0.5)
    b = _run_dir(tmp_path / "b", 0.5)
    (b / "eval" / "rank_02").mkdir(parents=True)
    (b / "eval" / "rank_02" / "result.json").write_text("{}")
    diffs = faults.compare(a, b, budget=1)["differences"]
    assert diffs == ["eval/rank_02/result.json: only in the resumed run"]


def test_compare_keeps_counts_beside_the_timings(tmp_path: Path) -> None:
    a = _run_dir(tmp_path / "a", 0.5)
    b = _run_dir(tmp_path / "b", 0.5)
    for root, n in ((a, 640), (b, 608)):
        path = root / "eval/rank_01/hpo/trials/000/metrics.json"
        m = json.loads(path.read_text())
        m["throughput"] = {"train_seconds": random.random(), "train_sentences": n}
        path.write_text(json.dumps(m))
    diffs = faults.compare(a, b, budget=1)["differences"]
    assert diffs == ["eval/rank_01/hpo/trials/000/metrics.json: differs in ['throughput']"]


def test_compare_reads_the_model_weights(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    a = _run_dir(tmp_path / "a", 0.5)
    b = _run_dir(tmp_path / "b", 0.5)
    w = {"w": torch.arange(6.0).reshape(2, 3)}
    for root in (a, b):
        (root / "model").mkdir()
        save_file(w, str(root / "model" / "heads.safetensors"))
    assert faults.compare(a, b, budget=1)["differences"] == []
    save_file({"w": w["w"] + 1e-6}, str(b / "model" / "heads.safetensors"))
    diffs = faults.compare(a, b, budget=1)["differences"]
    assert diffs == ["model/heads.safetensors: model weights differ"]


def test_study_budget_is_checked(tmp_path: Path) -> None:
    for name in ("a", "b"):
        db = tmp_path / name / "optuna.db"
        db.parent.mkdir()
        con = sqlite3.connect(db)
        con.executescript("""
            CREATE TABLE trials (trial_id INTEGER, number INTEGER, state TEXT);
            CREATE TABLE trial_values (trial_id INTEGER, value REAL);
            CREATE TABLE trial_params (trial_id INTEGER, param_name TEXT, param_value REAL);
            CREATE TABLE trial_user_attributes (trial_id INTEGER, key TEXT, value_json TEXT);
            INSERT INTO trials VALUES (1, 0, 'COMPLETE');
            INSERT INTO trial_values VALUES (1, 0.5);
            INSERT INTO trial_user_attributes VALUES (1, 'slot', '0');
        """)
        con.commit()
        con.close()
    got = faults.compare(tmp_path / "a", tmp_path / "b", budget=2)
    assert got["differences"] == ["optuna.db: 1 COMPLETE trials, budget 2"]


def test_kills_are_spread_over_every_stage_kind() -> None:
    order = [
        "startup",
        "search",
        "ranking",
        "hpo@rank_01",
        "seeds@rank_01",
        "hpo@rank_02",
        "seeds@rank_02",
        "done",
    ]
    order.insert(3, "race")
    durations = dict(zip(order, [5, 6, 1, 3, 6, 4, 5, 4, 2], strict=True))
    plan = faults.plan_kills(15, order, durations, random.Random(0))
    assert len(plan) == 15
    kinds = [faults.kind(s) for s, _ in plan]
    assert {k: kinds.count(k) for k in faults.STAGES} == dict.fromkeys(faults.STAGES, 3)
    assert all(0 <= d <= 0.9 * durations[s] for s, d in plan)
    assert [order.index(s) for s, _ in plan] == sorted(order.index(s) for s, _ in plan)


@pytest.mark.slow
def test_killed_and_resumed_run_is_identical_to_a_clean_one(tmp_path: Path) -> None:
    """The real thing, shortened: 5 SIGKILLs of `autorc run` (one per stage kind)."""
    rc = faults.main(
        [
            "--kills",
            "5",
            "--seed",
            "1",
            "--keep",
            str(tmp_path),
            "--out",
            str(tmp_path / "faults.json"),
        ]
    )
    record = json.loads((tmp_path / "faults.json").read_text())
    assert record["differences"] == [] and rc == 0
    assert record["identical"] and record["kills"] == 5 and record["resumes"] == 5
