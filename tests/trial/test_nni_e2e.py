"""End to end: ``nnictl create`` runs the protocol as NNI trials (tiny encoder, synthetic data).

A grid of two trials: one runs the whole protocol (search, HPO, seeds), the other has an
impossible budget (top > k) and must fail without stopping the experiment. Everything is checked
through NNI's REST API on 127.0.0.1 and in the trials' output folders; the experiment is stopped
in every case (``Experiment.__exit__`` runs ``nnictl stop``).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from pipeline.report import read_scalars
from tests.trial.conftest import ROOT, write_nni_config
from trial.nni_experiment import Experiment


def test_nnictl_experiment_runs_protocol_trials(tmp_path: Path, tiny_config) -> None:
    pipeline = tmp_path / "pipeline.yml"
    # the race (--select race on the trial command): the search's 2 candidates, the best of
    # each input format and the two presets, raced over two rungs; the winner through HPO, seeds
    race = {"top": 2, "format_draws": 1, "eta": 2, "rungs": [0.5, 1.0]}
    pipeline.write_text(yaml.safe_dump(tiny_config(race=race)))
    runs = tmp_path / "runs"
    cfg_file = write_nni_config(
        tmp_path,
        "autorc-e2e",
        {"race.top": {"_type": "choice", "_value": [2, 9]}},
        f"{sys.executable} -m trial.nni_trial --config {pipeline} "
        f"--runs-root {runs} --reward-interval 1 --threads 1 --select race",
        trials=2,
        service={"platform": "local"},
    )
    env = {"HOME": str(tmp_path / "home"), "AUTORC_CACHE_DIR": str(tmp_path / "cache")}
    (tmp_path / "home").mkdir()

    with Experiment(cfg_file, env=env, cwd=ROOT) as exp:
        assert exp.id
        jobs = exp.wait(n_trials=2, timeout=240)
        metrics = exp.metrics()
        # the REST API answers the web UI's own queries
        with urllib.request.urlopen(f"{exp.url}/api/v1/nni/experiment", timeout=10) as r:
            assert json.loads(r.read())["id"] == exp.id

    by_top = {json.loads(j["hyperParameters"][0])["parameters"]["race.top"]: j for j in jobs}
    ok, bad = by_top[2], by_top[9]
    assert ok["status"] == "SUCCEEDED", ok
    assert bad["status"] == "FAILED", bad
    stderr = (Path(bad["logPath"]) / "trial.stderr").read_text()
    assert "race.top (9) exceeds search.k" in stderr  # --select race reached the trial

    mine = [m for m in metrics if m["trialJobId"] == ok["trialJobId"]]
    final = [m["data"] for m in mine if m["type"] == "FINAL"]
    assert len(final) == 1
    final = final[0]
    assert 0.0 <= final["default"] <= 1.0 and 0.0 <= final["test"] <= 1.0
    assert set(final["architecture"]) >= {"span", "posenc", "use_e1"}
    result = json.loads((Path(final["run_dir"]) / "result.json").read_text())
    assert final["default"] == result["best"]["dev_mean"]
    assert final["test"] == result["best"]["test_mean"]
    assert final["select"] == "race" and result["select"] == "race"
    race = json.loads((Path(final["run_dir"]) / "race" / "race.json").read_text())
    assert {"bert-entity", "r-bert"} <= {e["name"] for e in race["entrants"]}
    assert final["origin"] == race["winner_origin"]
    # the stage a trial is in: search rewards, the race's rungs and winner, each HPO trial and
    # seed, each candidate's mean
    kinds = {m["data"]["kind"] for m in mine if m["type"] == "PERIODICAL"}
    assert (
        {"reward", "epoch", "rung", "race", "seed", "dev"}
        <= kinds
        <= {"reward", "epoch", "rung", "race", "hpo_trial", "seed", "dev", "progress"}
    )
    from trial.commands.demo import describe_metric

    lines = [describe_metric(m["data"]) for m in mine if m["type"] == "PERIODICAL"]
    assert any(x and x.startswith("search step") for x in lines)
    assert any(x and ": seed 0 " in x and "dev " in x for x in lines)
    assert any(x and ": seed 0, epoch 1: dev " in x for x in lines)
    assert any(x and x.startswith("race: bert-entity at rung 0") for x in lines)
    assert any(x and x.startswith("race won by ") for x in lines)
    assert final["model"] and (Path(final["model"]) / "config.json").is_file()
    # the trial recorded its finished trainings for the experiment's other trials to reuse
    records = [json.loads(r.read_text())["dir"] for r in (runs / "trainings").glob("*.json")]
    assert len(records) >= 2 and all(Path(d, "metrics.json").is_file() for d in records)
    assert not [m for m in metrics if m["trialJobId"] == bad["trialJobId"] and m["type"] == "FINAL"]

    # TensorBoard logs where NNI's web UI looks: <trial output dir>/tensorboard
    scalars = read_scalars(Path(ok["logPath"]) / "tensorboard", "")
    assert "search/reward" in scalars and "trial/running_reward" in scalars
    assert "candidate/dev_mean" in scalars and "best/test_mean" in scalars
    assert "race/bert-entity" in scalars
    # the experiment is stopped
    status = None
    try:
        with urllib.request.urlopen(f"{exp.url}/api/v1/nni/check-status", timeout=3) as r:
            status = json.loads(r.read())["status"]
    except OSError:
        pass
    assert status in (None, "STOPPED", "STOPPING")


@pytest.mark.slow
def test_autorc_demo_prints_table_and_stops(
    tmp_path: Path, tiny_config, monkeypatch, capsys
) -> None:
    """``autorc demo`` on a one-trial experiment: web UI address, final table, stopped."""
    from trial.cli import main

    pipeline = tmp_path / "pipeline.yml"
    pipeline.write_text(yaml.safe_dump(tiny_config(method="bert-entity")))
    config = {
        "experimentName": "autorc-demo-test",
        "searchSpace": {"seed": {"_type": "choice", "_value": [0]}},
        "trialCommand": f"{sys.executable} -m trial.nni_trial --config {pipeline} "
        f"--runs-root {tmp_path / 'runs'} --threads 1",
        "trialCodeDirectory": str(ROOT),
        "trialConcurrency": 1,
        "maxTrialNumber": 1,
        "experimentWorkingDirectory": str(tmp_path / "nni"),
        "tuner": {"name": "GridSearch"},
        "trainingService": {"platform": "local"},
    }
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["demo", "--config", str(tmp_path / "config.yml"), "--timeout", "240"]) == 0
    out = capsys.readouterr().out
    assert "web UI at http://127.0.0.1:" in out
    assert "| BERT-entity |" in out
    # while it ran: each trial's stage and figures, not only RUNNING
    assert "(method=bert-entity): RUNNING" in out or "(seed=0): RUNNING" in out
    assert ": seed 0 (2 seeds): dev " in out
    # at the end: the best model and how to use it
    model = out.split("best model (highest dev score: bert-entity): ")[1].split()[0]
    assert (Path(model) / "config.json").is_file()
    assert f"| autorc predict --model {model}" in out
    # and the printed example runs
    import io

    from trial.commands.demo import PREDICT_EXAMPLE

    monkeypatch.setattr("sys.stdin", io.StringIO(PREDICT_EXAMPLE + "\n"))
    assert main(["predict", "--model", model]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    port = int(out.split("web UI at http://127.0.0.1:")[1].split()[0])
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/nni/check-status", timeout=3)
