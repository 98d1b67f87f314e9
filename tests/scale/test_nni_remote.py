"""NNI's remote training service (``platform: remote``) to this machine over ssh, for real.

An OpenSSH server on 127.0.0.1 with a throw-away key (tests/scale/servers.py); ``nnictl create``
uploads the code directory (minus ``.nniignore``) over it, runs one protocol trial there
(BERT-entity on the tiny encoder and synthetic data) and the trial reports its final result.
"""

from __future__ import annotations

import json
import pwd
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.scale.servers import sshd
from tests.trial.conftest import ROOT, tiny_pipeline, write_nni_config, write_synthetic
from trial.nni_experiment import Experiment

pytestmark = pytest.mark.scale


def test_a_trial_runs_over_ssh_and_reports(tmp_path: Path) -> None:
    data = write_synthetic(tmp_path / "data")
    pipeline = tmp_path / "pipeline.yml"
    pipeline.write_text(
        yaml.safe_dump(
            tiny_pipeline(
                data,
                method="bert-entity",
                seeds={"n": 1},
                hpo={"trials": 1, "space": {"lr": [1e-3], "batch_size": [16], "warmup": [0.5]}},
            )
        )
    )
    runs = tmp_path / "runs"
    # over ssh the trial gets a login shell's environment, not ours: say what it needs
    env = {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "AUTORC_CACHE_DIR": str(tmp_path / "cache"),
    }
    # and name its Python by full path: the login shell's PATH (pyenv, conda) comes before
    # pythonPath, which only finds NNI's own trial keeper
    command = (
        " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + f" {sys.executable} -m trial.nni_trial --config {pipeline} --runs-root {runs} --threads 1"
    )
    with sshd() as ssh:
        machine = {
            "host": ssh["host"],
            "port": ssh["port"],
            "user": ssh["user"],
            "sshKeyFile": ssh["key"],
            "pythonPath": str(Path(sys.executable).parent),
        }
        cfg_file = write_nni_config(
            tmp_path,
            "autorc-remote",
            {"seed": {"_type": "choice", "_value": [0]}},
            command,
            trials=1,
            service={"platform": "remote", "machineList": [machine]},
        )
        (tmp_path / "home").mkdir()
        # the "remote" side keeps its files under the remote user's home: removed after
        remote = Path(pwd.getpwnam(ssh["user"]).pw_dir) / "nni-experiments"
        exp = Experiment(cfg_file, env={"HOME": str(tmp_path / "home")}, cwd=ROOT)
        try:
            with exp:
                jobs = exp.wait(n_trials=1, timeout=300)
                metrics = exp.metrics()
            sshd_log = Path(ssh["log"]).read_text()
            uploaded = list((remote / str(exp.id)).glob("environments/*/upload/trial_code"))
            assert len(uploaded) == 1
            assert (uploaded[0] / "trial" / "nni_trial.py").is_file()
            assert not (uploaded[0] / ".venv").exists()  # .nniignore: the code, not the venv
        finally:
            if exp.id:
                shutil.rmtree(remote / exp.id, ignore_errors=True)
    (job,) = jobs
    assert job["status"] == "SUCCEEDED", (job, sshd_log[-2000:])
    final = [m["data"] for m in metrics if m["type"] == "FINAL"]
    assert len(final) == 1
    final = final[0] if isinstance(final[0], dict) else json.loads(final[0])
    assert final["method"] == "bert-entity" and 0.0 <= final["default"] <= 1.0
    result = json.loads((Path(final["run_dir"]) / "result.json").read_text())
    assert final["default"] == result["best"]["dev_mean"]
    # it really went over ssh, with the throw-away key
    assert "Accepted publickey for" in sshd_log
