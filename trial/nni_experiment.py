"""Drive an NNI experiment from Python: ``nnictl create`` on a free port, watch it through NNI's
REST API on 127.0.0.1, always ``nnictl stop`` it. Used by ``autorc demo`` and the end-to-end test.

    with Experiment("config.yml") as exp:      # nnictl create --config config.yml --port FREE
        print(exp.url)                         # the web UI
        jobs = exp.wait(timeout=1800)          # until every trial has ended
        print(exp.final_metrics())
    # leaving the block runs nnictl stop (also on an exception or Ctrl-C)
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autorc_nni.errors import AutoRCError

HOST = "127.0.0.1"  # only ever the local NNI manager
ENDED = {"SUCCEEDED", "FAILED", "USER_CANCELED", "SYS_CANCELED", "EARLY_STOPPED"}


class ExperimentError(AutoRCError, RuntimeError):
    """nnictl failed, or the experiment did not end in time."""


def free_port() -> int:
    """A TCP port nothing listens on now (bind to port 0 and let the OS choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def nnictl_path() -> str:
    """``nnictl`` beside this Python (the venv's), else on PATH."""
    here = Path(sys.executable).parent / "nnictl"
    return str(here) if here.exists() else "nnictl"


def trial_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for nnictl and its trials: this venv's bin first on PATH, offline hubs."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        env.setdefault(k, "1")
    env.update(extra or {})
    return env


class Experiment:
    """One ``nnictl create`` experiment, stopped on exit from the ``with`` block."""

    def __init__(
        self,
        config: str | Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.config = Path(config)
        if not self.config.is_file():
            raise ExperimentError(f"{self.config}: no such experiment config")
        self.port = port or free_port()
        self.env = trial_env(env)
        self.cwd = cwd
        self.id: str | None = None
        self.create_output = ""

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> Experiment:
        cmd = [nnictl_path(), "create", "--config", str(self.config), "--port", str(self.port)]
        proc = subprocess.run(
            cmd, env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=300
        )
        self.create_output = proc.stdout + proc.stderr
        m = re.search(r"Experiment ID:\s*(?:\x1b\[[0-9;]*m)*([A-Za-z0-9]+)", self.create_output)
        self.id = m.group(1) if m else None
        if proc.returncode != 0 or "ERROR" in self.create_output:
            self.stop()
            raise ExperimentError(
                f"nnictl create failed (exit {proc.returncode}):\n{self.create_output[-3000:]}"
            )
        if self.id is None:
            self.id = self.get("experiment").get("id")
        return self

    def stop(self) -> None:
        """``nnictl stop`` (by id, else by port); never raises."""
        target = [self.id] if self.id else ["--port", str(self.port)]
        try:
            subprocess.run(
                [nnictl_path(), "stop", *target],
                env=self.env,
                cwd=self.cwd,
                capture_output=True,
                text=True,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError) as e:
            print(f"warning: nnictl stop failed: {e}", file=sys.stderr)

    def __enter__(self) -> Experiment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- REST ---------------------------------------------------------------------------------
    def get(self, path: str) -> Any:
        url = f"{self.url}/api/v1/nni/{path}"
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 (127.0.0.1 only)
            return json.loads(r.read().decode())

    def status(self) -> dict[str, Any]:
        return self.get("check-status")

    def trial_jobs(self) -> list[dict[str, Any]]:
        return self.get("trial-jobs")

    def metrics(self) -> list[dict[str, Any]]:
        """Every reported metric, ``data`` decoded (NNI stores it JSON-encoded twice)."""
        out = []
        for m in self.get("metric-data"):
            data = m.get("data")
            while isinstance(data, str):
                try:
                    data = json.loads(data)
                except json.JSONDecodeError:
                    break
            out.append({**m, "data": data})
        return out

    def final_metrics(self) -> dict[str, Any]:
        """trial id -> its final result."""
        return {m["trialJobId"]: m["data"] for m in self.metrics() if m["type"] == "FINAL"}

    def wait(
        self,
        n_trials: int,
        timeout: float,
        poll: float = 2.0,
        on_poll: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Until ``n_trials`` trials have ended (or the experiment stops making them)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                jobs = self.trial_jobs()
                status = self.status().get("status")
            except (urllib.error.URLError, OSError, ValueError):
                jobs, status = [], None
            if on_poll is not None:
                on_poll(jobs)
            ended = [j for j in jobs if j.get("status") in ENDED]
            if len(ended) >= n_trials or (
                status in ("DONE", "STOPPED", "ERROR") and jobs and len(ended) == len(jobs)
            ):
                return jobs
            if status == "ERROR":
                raise ExperimentError(
                    f"experiment {self.id}: NNI reports ERROR: {self.status().get('errors')}"
                )
            if time.monotonic() > deadline:
                raise ExperimentError(
                    f"experiment {self.id}: {len(ended)} of {n_trials} trials ended within "
                    f"{timeout:.0f} s; statuses {[j.get('status') for j in jobs]}"
                )
            time.sleep(poll)
