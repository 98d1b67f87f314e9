"""The HPO / seeds protocol: budgets, resuming after a crash or a kill, storages, seeds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from autorc_nni.architecture import DECISIONS, PAPER_FORMATS, PRESETS, Architecture
from autorc_nni.config import ConfigError, from_dict
from pipeline.evaluation import (
    HP_KEYS,
    HPOConfig,
    HPOError,
    HPOSpace,
    SeedsConfig,
    evaluate_architecture,
    mean_std,
    random_architectures,
    run_hpo,
    run_seeds,
    slot_sampler,
)
from pipeline.events import EpochScored, SeedDone, TrialDone
from search_spaces.spaces import SearchSpace

ARCH = PRESETS["bert-entity"]
BASE = {"dataset": "synthetic", "encoder": "tiny", "epochs": 1}


def fake_score(kw: dict) -> float:
    """A deterministic 'dev score' of a setting (higher lr and smaller batch are better)."""
    return round(
        kw["lr"] * 1e3 + 1.0 / kw["batch_size"] + 0.01 * kw["warmup"] + 0.001 * kw["seed"], 6
    )


class FakeTrain:
    """Records every training call; optionally fails on call number ``fail_at``."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[dict] = []
        self.fail_at = fail_at

    def __call__(self, kw: dict, report=None) -> dict:
        if self.fail_at is not None and len(self.calls) + 1 == self.fail_at:
            raise RuntimeError("simulated crash")
        self.calls.append(kw)
        dev = fake_score(kw)
        return {"dev": {"score": dev}, "test": {"score": dev - 0.05}}


def _study(tmp: Path, name: str):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{(tmp / 'optuna.db').resolve()}")


def test_hpo_runs_budget_and_picks_best(tmp_path: Path) -> None:
    fake = FakeTrain()
    res = run_hpo(ARCH, BASE, HPOConfig(trials=5), tmp_path / "s", fake)
    assert res["n_complete"] == 5
    assert json.loads((tmp_path / "s" / "hpo.json").read_text()) == res
    devs = [t["dev"] for t in res["trials"]]
    assert res["best_dev"] == max(devs)
    # every trained setting went to its own directory with metrics.json and the grid's values
    for kw in fake.calls:
        assert Path(kw["out"], "metrics.json").is_file()
        assert kw["lr"] in HPOSpace().lr and kw["batch_size"] in HPOSpace().batch_size
        assert kw["warmup"] in HPOSpace().warmup and kw["seed"] == HPOConfig().train_seed
        assert Architecture.load(kw["arch"]) == ARCH
        assert kw["resume"] is True
    assert len(fake.calls) == len({json.dumps(t["params"], sort_keys=True) for t in res["trials"]})
    # a finished study is not touched again
    again = FakeTrain()
    assert run_hpo(ARCH, BASE, HPOConfig(trials=5), tmp_path / "s", again) == res
    assert again.calls == []


def test_interrupted_study_resumes_without_losing_or_repeating(tmp_path: Path) -> None:
    crash = FakeTrain(fail_at=3)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_hpo(ARCH, BASE, HPOConfig(trials=6, sampler_seed=1), tmp_path, crash)
    study = _study(tmp_path, f"autorc-hpo-{tmp_path.name}")
    done_before = {t.number: t.value for t in study.trials if t.state == TrialState.COMPLETE}
    assert len(done_before) == 2
    assert [t.state for t in study.trials].count(TrialState.FAIL) == 1
    assert not (tmp_path / "hpo.json").exists()

    resume = FakeTrain()
    res = run_hpo(ARCH, BASE, HPOConfig(trials=6, sampler_seed=1), tmp_path, resume)
    assert res["n_complete"] == 6
    finished = {t["number"]: t["dev"] for t in res["trials"] if t["state"] == "COMPLETE"}
    # the two finished trials are kept as they were, and never trained again
    assert {n: finished[n] for n in done_before} == done_before
    trained_again = {Path(kw["out"]).name for kw in resume.calls}
    assert not trained_again & {f"{n:03d}" for n in done_before}
    # exactly the missing budget was run (duplicates of a finished setting reuse it)
    assert len(finished) - len(done_before) == 4


def test_resumed_study_ends_with_the_trials_of_an_uninterrupted_one(tmp_path: Path) -> None:
    """A failed trial's slot is re-drawn with the same setting into the same directory."""
    hpo = HPOConfig(trials=6, sampler_seed=4)
    clean = run_hpo(ARCH, BASE, hpo, tmp_path / "clean", FakeTrain())
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_hpo(ARCH, BASE, hpo, tmp_path / "crashed", FakeTrain(fail_at=3))
    resume = FakeTrain()
    res = run_hpo(ARCH, BASE, hpo, tmp_path / "crashed", resume)

    def counted(r):
        return [
            (t["slot"], t["params"], t["dev"], Path(t["dir"]).name if t["dir"] else None)
            for t in sorted(r["trials"], key=lambda t: t["slot"])
            if t["state"] == "COMPLETE"
        ]

    assert counted(res) == counted(clean)
    assert [t["slot"] for t in clean["trials"]] == list(range(6))
    failed = [t for t in res["trials"] if t["state"] == "FAIL"]
    assert len(failed) == 1 and failed[0]["slot"] == 2
    # the replacement trained the failed trial's setting, in the failed trial's directory
    assert resume.calls[0]["out"].endswith("trials/002")
    assert {k: resume.calls[0][k] for k in HP_KEYS} == failed[0]["params"]
    assert res["best_params"] == clean["best_params"] and res["best_dir"].endswith(
        Path(clean["best_dir"]).name
    )


def test_slot_sampler_draws_what_the_plain_random_sampler_draws() -> None:
    import optuna

    from pipeline.slots import claim_slot

    for space in (HPOSpace(), HPOSpace(lr=[1e-3, 3e-4], batch_size=[8], warmup=[0.5, 1.0, 0.1])):

        def objective(trial, space=space):
            return len([trial.suggest_categorical(k, list(getattr(space, k))) for k in HP_KEYS])

        plain = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
        plain.optimize(objective, n_trials=12)
        slots = optuna.create_study(sampler=slot_sampler(HPOConfig(sampler_seed=3, space=space)))

        def claiming(trial, objective=objective, study=slots):
            claim_slot(study, trial)
            return objective(trial)

        slots.optimize(claiming, n_trials=12)
        assert [t.params for t in slots.trials] == [t.params for t in plain.trials]
        assert [t.user_attrs["slot"] for t in slots.trials] == list(range(12))


def test_killed_study_marks_running_trial_failed_and_reruns(tmp_path: Path) -> None:
    """A real SIGKILL mid-trial leaves a RUNNING trial; the resumed study fails and replaces it."""
    marker = tmp_path / "in_trial_3"
    script = textwrap.dedent(f"""
        import time, pathlib
        from autorc_nni.architecture import PRESETS
        from pipeline.evaluation import HPOConfig, run_hpo
        calls = []
        def train(kw, report=None):
            calls.append(kw)
            if len(calls) == 3:
                pathlib.Path({str(marker)!r}).write_text("x")
                time.sleep(120)
            return {{"dev": {{"score": kw["lr"] * 1e3 + 1 / kw["batch_size"]}}}}
        run_hpo(PRESETS["bert-entity"], {{}}, HPOConfig(trials=5), {str(tmp_path)!r}, train)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=Path(__file__).parents[2], start_new_session=True
    )
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert proc.poll() is None, "worker exited before the kill"
            assert time.time() < deadline, "worker never reached trial 3"
            time.sleep(0.1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    study = _study(tmp_path, f"autorc-hpo-{tmp_path.name}")
    states = [t.state for t in study.trials]
    assert states.count(TrialState.RUNNING) == 1
    complete_before = {t.number for t in study.trials if t.state == TrialState.COMPLETE}

    fake = FakeTrain()
    res = run_hpo(ARCH, {}, HPOConfig(trials=5), tmp_path, fake)
    by_state = {}
    for t in res["trials"]:
        by_state.setdefault(t["state"], []).append(t["number"])
    assert "RUNNING" not in by_state
    assert len(by_state["FAIL"]) == 1
    failed = [t for t in _study(tmp_path, study.study_name).trials if t.state == TrialState.FAIL]
    assert [t.user_attrs.get("failed_by") for t in failed] == ["resume"]
    assert len(by_state["COMPLETE"]) == 5
    assert complete_before <= set(by_state["COMPLETE"])
    assert not {Path(kw["out"]).name for kw in fake.calls} & {f"{n:03d}" for n in complete_before}


def test_duplicate_setting_is_not_trained_twice(tmp_path: Path) -> None:
    fake = FakeTrain()
    space = HPOSpace(lr=[2e-5, 1e-5], batch_size=[32], warmup=[0.8])
    res = run_hpo(ARCH, BASE, HPOConfig(trials=5, space=space), tmp_path, fake)
    # 5 draws from 2 points: each point is trained at most once, repeats take its value
    trained = {(kw["lr"], kw["batch_size"], kw["warmup"]) for kw in fake.calls}
    assert len(fake.calls) == len(trained) <= 2 and res["n_complete"] == 5
    repeats = [t for t in res["trials"] if t["same_as"] is not None]
    assert len(repeats) == 5 - len(fake.calls)
    by_number = {t["number"]: t for t in res["trials"]}
    assert all(t["dev"] == by_number[t["same_as"]]["dev"] for t in repeats)


def test_shared_journal_storage_is_one_study(tmp_path: Path) -> None:
    """Two workers (two study directories) on one journal file share the budget."""
    hpo = HPOConfig(trials=4, storage=f"journal:{tmp_path / 'shared' / 'j.log'}", study="shared")
    a, b = FakeTrain(), FakeTrain()
    ra = run_hpo(ARCH, BASE, hpo, tmp_path / "worker_a", a)
    rb = run_hpo(ARCH, BASE, hpo, tmp_path / "worker_b", b)
    assert ra["n_complete"] == rb["n_complete"] == 4
    assert b.calls == []  # the budget was already met
    assert rb["best_dev"] == ra["best_dev"]


def test_study_of_another_architecture_is_refused(tmp_path: Path) -> None:
    run_hpo(
        ARCH,
        BASE,
        HPOConfig(trials=1, study="x", storage=f"journal:{tmp_path}/j"),
        tmp_path / "a",
        FakeTrain(),
    )
    with pytest.raises(Exception, match="another architecture"):
        run_hpo(
            PRESETS["r-bert"],
            BASE,
            HPOConfig(trials=2, study="x", storage=f"journal:{tmp_path}/j"),
            tmp_path / "b",
            FakeTrain(),
        )


def test_protocol_keys_in_base_and_bad_storage_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lr"):
        run_hpo(ARCH, {"lr": 1e-3}, HPOConfig(trials=1), tmp_path, FakeTrain())
    with pytest.raises(ConfigError, match="storage"):
        run_hpo(ARCH, {}, HPOConfig(trials=1, storage="nonsense"), tmp_path, FakeTrain())


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"trials": 0}, "trials"),
        ({"trials": "ten"}, "trials"),
        ({"trails": 3}, "trails"),
        ({"space": {"lr": []}}, "lr"),
        ({"space": {"batch": [1]}}, "batch"),
    ],
)
def test_bad_hpo_config_names_the_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        from_dict(HPOConfig, data, "hpo")


def test_seeds_mean_std_and_skip_finished(tmp_path: Path) -> None:
    params = {"lr": 2e-5, "batch_size": 32, "warmup": 0.8}
    fake = FakeTrain()
    s = run_seeds(ARCH, BASE, params, SeedsConfig(n=3, first=5), tmp_path, fake)
    assert s["seeds"] == [5, 6, 7]
    expected = [fake_score({**params, "seed": k}) for k in (5, 6, 7)]
    assert s["dev"] == pytest.approx(expected)
    m = sum(expected) / 3
    sd = (sum((x - m) ** 2 for x in expected) / 2) ** 0.5
    assert s["dev_mean"] == pytest.approx(m) and s["dev_std"] == pytest.approx(sd)
    assert s["test_mean"] == pytest.approx(m - 0.05)
    again = FakeTrain()
    assert run_seeds(ARCH, BASE, params, SeedsConfig(n=4, first=5), tmp_path, again)["seeds"] == [
        5,
        6,
        7,
        8,
    ]
    assert [kw["seed"] for kw in again.calls] == [8]
    assert mean_std([1.0]) == (1.0, 0.0)


def test_evaluate_architecture_chains_hpo_and_seeds(tmp_path: Path) -> None:
    fake = FakeTrain()
    r = evaluate_architecture(
        ARCH,
        BASE,
        HPOConfig(trials=3),
        SeedsConfig(n=2),
        tmp_path,
        fake,
        meta={"method": "bert-entity"},
    )
    hpo = json.loads((tmp_path / "hpo" / "hpo.json").read_text())
    assert r["params"] == hpo["best_params"]
    assert r["method"] == "bert-entity" and len(r["test"]) == 2
    n = len(fake.calls)
    assert (
        evaluate_architecture(ARCH, BASE, HPOConfig(trials=3), SeedsConfig(n=2), tmp_path, fake)
        == r
    )
    assert len(fake.calls) == n


def test_random_architectures_are_valid_distinct_and_seeded() -> None:
    archs, _ = random_architectures(10, seed=3)
    assert len(set(archs)) == 10 and {a.span for a in archs} <= set(PAPER_FORMATS)
    assert archs == random_architectures(10, seed=3)[0]
    assert archs != random_architectures(10, seed=4)[0]
    # a reduced space: fixed values are kept, only free decisions vary
    free = {k: DECISIONS[k] for k in ("span", "use_e1", "use_e2")} | {"span": PAPER_FORMATS}
    fixed = {k: v for k, v in PRESETS["bert-entity"].to_dict().items() if k not in free}
    tiny = SearchSpace("tiny", "three free decisions", free, fixed)
    small, rejected = random_architectures(5, seed=0, space=tiny)
    assert all(a.pool_e1 == "start" and not a.use_c0 for a in small)
    # 3 spans x 3 valid use patterns = 9 points; asking 10 must fail, not loop
    with pytest.raises(Exception, match="too small"):
        random_architectures(10, seed=0, space=tiny, max_tries=300)
    assert rejected >= 0


def test_pruning_on_the_dev_curve(tmp_path: Path) -> None:
    def curve_train(kw: dict, report=None) -> dict:
        final = fake_score(kw)
        for epoch in (1, 2, 3):
            if report is not None:
                report(epoch, final * epoch / 3)
        return {"dev": {"score": final}}

    res = run_hpo(ARCH, BASE, HPOConfig(trials=8, pruning=True), tmp_path, curve_train)
    states = [t["state"] for t in res["trials"]]
    assert "PRUNED" in states
    assert states.count("PRUNED") + states.count("COMPLETE") == 8
    complete = [t["dev"] for t in res["trials"] if t["state"] == "COMPLETE"]
    assert res["best_dev"] == max(complete)


def test_default_train_fn_passes_the_dev_curve_to_train(monkeypatch) -> None:
    import autorc_nni.finetune as train_mod
    from pipeline.evaluation import default_train_fn

    seen = {}

    def fake_train(cfg, on_dev=None):
        seen["cfg"], seen["on_dev"] = cfg, on_dev
        on_dev(1, 0.5)
        return {"dev": {"score": 0.5}}

    monkeypatch.setattr(train_mod, "train", fake_train)
    curve = []
    default_train_fn(
        {"arch": "bert-entity", "out": "x", "epochs": 1}, lambda e, s: curve.append((e, s))
    )
    assert seen["cfg"].epochs == 1 and curve == [(1, 0.5)]


def test_random_architectures_are_functionally_distinct() -> None:
    """No two random-baseline architectures are one model (equal canonical forms)."""
    for space in ("M", "M1"):
        archs, _ = random_architectures(40, seed=5, space=space)
        assert len({a.canonical() for a in archs}) == 40
        assert all(a == a.canonical() for a in archs)
    # M2 has 279 distinct models: asking for more is refused, not padded with repeats
    with pytest.raises(HPOError, match="distinct valid"):
        random_architectures(300, seed=0, space="M2", max_tries=3000)


def test_hpo_training_seed_is_not_an_evaluation_seed() -> None:
    assert HPOConfig().train_seed not in SeedsConfig().seeds()


def test_one_point_grid_trains_no_hpo_trial(tmp_path: Path) -> None:
    """Nothing to choose: the point is the setting, and the seeds train the only models."""
    fake = FakeTrain()
    one = HPOConfig(trials=3, space=HPOSpace(lr=[1e-4], batch_size=[32], warmup=[0.8]))
    res = run_hpo(ARCH, BASE, one, tmp_path / "s", fake)
    assert fake.calls == [] and res["skipped"] and res["n_complete"] == 0
    assert res["best_params"] == {"lr": 1e-4, "batch_size": 32, "warmup": 0.8}
    r = evaluate_architecture(ARCH, BASE, one, SeedsConfig(n=2), tmp_path / "e", fake)
    assert len(fake.calls) == 2 and r["params"] == res["best_params"]
    assert r["hpo_setting"]["skipped"] and r["train_setting"]["lr"] == 1e-4
    assert set(r["seconds"]) == {"hpo", "seeds"}


def test_progress_reports_every_epoch_trial_and_seed(tmp_path: Path) -> None:
    events: list = []

    def train(kw: dict, report=None) -> dict:
        for epoch in (1, 2):
            report(epoch, 0.1 * epoch)
        return {"dev": {"score": 0.2}, "test": {"score": 0.1}, "metric": "micro_f1"}

    hpo = HPOConfig(trials=1, space=HPOSpace(lr=[1e-4, 2e-4], batch_size=[32], warmup=[0.8]))
    evaluate_architecture(
        ARCH,
        BASE,
        hpo,
        SeedsConfig(n=2),
        tmp_path,
        train,
        on_progress=events.append,
    )
    kinds = [e.kind for e in events]
    assert kinds == [
        "epoch",
        "epoch",
        "hpo_trial",
        "epoch",
        "epoch",
        "seed",
        "epoch",
        "epoch",
        "seed",
    ]
    assert events[0] == EpochScored("hpo_trial", 1, 0.1, number=0)
    assert events[3] == EpochScored("seed", 1, 0.1, seed=0)
    assert events[2] == TrialDone(
        0.2, 0.1, number=0, params={"lr": 2e-4, "batch_size": 32, "warmup": 0.8}, budget=1
    )
    assert events[5] == SeedDone(0.2, 0.1, seed=0, of=2)
    assert events[3].record() == {
        "kind": "epoch",
        "stage": "seed",
        "epoch": 1,
        "dev": 0.1,
        "rank": 1,
        "number": None,
        "seed": 0,
        "entrant": None,
    }


def _writing_train(calls: list):
    """A training that writes what train() writes: metrics.json naming its folder, a model."""

    def train(kw: dict, report=None) -> dict:
        calls.append(kw)
        out = Path(kw["out"])
        (out / "model").mkdir(parents=True, exist_ok=True)
        (out / "model" / "weights.bin").write_text(f"seed {kw['seed']} lr {kw['lr']}")
        dev = fake_score(kw)
        result = {
            "dev": {"score": dev},
            "test": {"score": dev - 0.05},
            "config": {**kw, "out": kw["out"]},
            "paths": {"model": f"{kw['out']}/model", "predictions": f"{kw['out']}/p.jsonl"},
        }
        (out / "metrics.json").write_text(json.dumps(result))
        return result

    return train


def test_a_training_finished_by_another_run_is_copied_not_trained_again(tmp_path: Path) -> None:
    from pipeline.evaluation import ReusedTrainings

    calls: list = []
    reuse = ReusedTrainings(tmp_path / "index", _writing_train(calls))
    params = {"lr": 1e-4, "batch_size": 32, "warmup": 0.8}
    first = run_seeds(ARCH, BASE, params, SeedsConfig(n=2), tmp_path / "a" / "seeds", reuse)
    assert len(calls) == 2 and reuse.reused == []
    # another run (its own architecture file, same content): both seeds copied
    second = run_seeds(ARCH, BASE, params, SeedsConfig(n=2), tmp_path / "b" / "seeds", reuse)
    assert len(calls) == 2 and len(reuse.reused) == 2
    assert second["dev"] == first["dev"] and second["test"] == first["test"]
    copied = tmp_path / "b" / "seeds" / "seed_0"
    assert (copied / "model" / "weights.bin").read_text() == "seed 0 lr 0.0001"
    metrics = json.loads((copied / "metrics.json").read_text())
    assert metrics["config"]["out"] == str(copied)  # its paths name its own folder
    assert metrics["paths"]["model"] == f"{copied}/model"
    assert "/a/" not in (copied / "metrics.json").read_text()
    # another setting, another seed, another dataset: trained
    run_seeds(ARCH, BASE, {**params, "lr": 2e-4}, SeedsConfig(n=1), tmp_path / "c", reuse)
    run_seeds(ARCH, {**BASE, "dataset": "other"}, params, SeedsConfig(n=1), tmp_path / "d", reuse)
    assert len(calls) == 4
    # a record whose folder is gone is ignored: trained again
    import shutil

    shutil.rmtree(tmp_path / "a")
    shutil.rmtree(tmp_path / "b")
    run_seeds(ARCH, BASE, params, SeedsConfig(n=1), tmp_path / "e", reuse)
    assert len(calls) == 5


def test_a_paused_or_stopped_training_is_never_reused(tmp_path: Path) -> None:
    from pipeline.evaluation import ReusedTrainings

    results = iter(
        [
            {"paused": True, "dev": {"score": 0.5}, "pause_at": 0.33},
            {"stopped": True, "global_step": 3},
            {"dev": {"score": 0.7}, "test": {"score": 0.6}},
        ]
    )
    calls: list = []

    def train(kw: dict, report=None) -> dict:
        calls.append(kw)
        return next(results)

    reuse = ReusedTrainings(tmp_path / "index", train)
    kw = {**BASE, "arch": "bert-entity", "lr": 1e-4, "batch_size": 32, "warmup": 0.8, "seed": 0}
    for name in ("paused", "stopped"):
        reuse({**kw, "out": str(tmp_path / name)})
    assert not (tmp_path / "index").exists()
    reuse({**kw, "out": str(tmp_path / "full")})
    reuse({**kw, "out": str(tmp_path / "again")})
    assert len(calls) == 3 and reuse.reused == [str(tmp_path / "again")]


def test_a_training_key_leaves_out_keys_added_at_their_neutral_default() -> None:
    """A TrainConfig key added since trainings were recorded (``group_text``) does not change
    the key at its default, so those trainings are still reused; set, it does."""
    from pipeline.evaluation import _ADDED_NEUTRAL, ReusedTrainings

    kw = {**BASE, "arch": "bert-entity", "lr": 1e-4, "batch_size": 32, "warmup": 0.8, "seed": 0}
    key = ReusedTrainings.key(kw)
    assert "group_text" in _ADDED_NEUTRAL
    assert ReusedTrainings.key({**kw, "group_text": None}) == key
    assert ReusedTrainings.key({**kw, "group_text": True}) != key
    assert ReusedTrainings.key({**kw, "group_text": False}) != key


def test_a_trial_without_a_slot_is_refused_by_the_slot_sampler() -> None:
    import optuna

    study = optuna.create_study(sampler=slot_sampler(HPOConfig()))
    with pytest.raises(RuntimeError, match="holds no budget slot: call claim_slot"):
        study.optimize(lambda t: float(t.suggest_categorical("lr", [1e-4, 2e-4])), n_trials=1)


def test_a_record_whose_folder_was_trained_again_with_another_config_is_not_reused(
    tmp_path: Path,
) -> None:
    from pipeline.evaluation import ReusedTrainings

    calls: list = []
    reuse = ReusedTrainings(tmp_path / "index", _writing_train(calls))
    params = {"lr": 1e-4, "batch_size": 32, "warmup": 0.8}
    run_seeds(ARCH, BASE, params, SeedsConfig(n=1), tmp_path / "a", reuse)
    # the same folder trained again, with another config, outside the index
    _writing_train([])(
        {**BASE, **params, "epochs": 3, "seed": 0, "out": str(tmp_path / "a" / "seed_0")}
    )
    run_seeds(ARCH, BASE, params, SeedsConfig(n=1), tmp_path / "b", reuse)
    assert len(calls) == 2 and reuse.reused == []  # trained, not copied from the changed one


def test_a_copied_training_tells_its_dev_curve(tmp_path: Path) -> None:
    from pipeline.evaluation import ReusedTrainings

    def train(kw: dict, report=None) -> dict:
        return {**_writing_train([])(kw), "history": [{"epoch": 1, "dev_score": 0.5}]}

    reuse = ReusedTrainings(tmp_path / "index", train)
    kw = {**BASE, "arch": "bert-entity", "lr": 1e-4, "batch_size": 32, "warmup": 0.8, "seed": 0}
    reuse({**kw, "out": str(tmp_path / "a")})
    (tmp_path / "a" / "metrics.json").write_text(
        json.dumps({**json.loads((tmp_path / "a" / "metrics.json").read_text()),
                    "history": [{"epoch": 1, "dev_score": 0.5}, {"epoch": 2, "dev_score": 0.6}]})
    )  # fmt: skip
    seen: list = []
    reuse({**kw, "out": str(tmp_path / "b")}, lambda e, d: seen.append((e, d)))
    assert reuse.reused == [str(tmp_path / "b")] and seen == [(1, 0.5), (2, 0.6)]
    assert not (tmp_path / "b" / "checkpoint.pt").exists()
