"""Run-directory locks and atomic writes (autorc_nni.files)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autorc_nni.files import RunDirLocked, run_dir_lock


def test_a_second_holder_of_a_run_directory_is_refused(tmp_path: Path) -> None:
    with run_dir_lock(tmp_path / "run", "protocol run"):
        with pytest.raises(
            RunDirLocked,
            match=r"another protocol run is using this directory "
            r"\(pid \d+",
        ):
            with run_dir_lock(tmp_path / "run", "protocol run"):
                pass
        with run_dir_lock(tmp_path / "other"):  # another directory is free
            pass
    with run_dir_lock(tmp_path / "run"):  # released at the end of the block
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import os, signal
        from autorc_nni.files import run_dir_lock
        with run_dir_lock({str(tmp_path / "run")!r}):
            print("locked", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "locked" in proc.stdout and proc.returncode == -9
    with run_dir_lock(tmp_path / "run"):  # the kernel released it with the process
        pass


def test_pipeline_refuses_a_second_process_on_its_run_dir(tmp_path: Path) -> None:
    from pipeline.protocol import pipeline_config_from_dict, run_pipeline

    cfg = pipeline_config_from_dict(
        {
            "method": "bert-entity",
            "dataset": "syn",
            "encoder": "tiny",
            "hpo": {"trials": 1},
            "seeds": {"n": 1},
        }
    )
    with run_dir_lock(tmp_path / "run", "protocol run"):
        with pytest.raises(RunDirLocked, match="another protocol run"):
            run_pipeline(cfg, tmp_path / "run", train_fn=lambda kw, report=None: {})
    assert not (tmp_path / "run" / "config.json").exists()  # nothing was written


def test_unwritable_or_full_output_is_reported_before_any_work(tmp_path: Path, monkeypatch) -> None:
    import os

    from autorc_nni.files import OutputDirError

    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.raises(OutputDirError, match="cannot write the training output here"):
        with run_dir_lock(blocked / "run", "training"):
            pass
    if os.geteuid() != 0:  # root writes anywhere; the read-only case needs a normal user
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(OutputDirError, match="cannot write"):
            with run_dir_lock(ro / "run"):
                pass
    monkeypatch.setenv("AUTORC_MIN_FREE_MB", str(10**12))  # more than any disk has
    with pytest.raises(OutputDirError, match="MB free on its disk"):
        with run_dir_lock(tmp_path / "run", "search"):
            pass
