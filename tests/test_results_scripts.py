"""results/common.sh: a finished run's records are kept (committed) without its weights, a kept
row is not run again, and the report is made from the kept records, whole or partial."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.pipeline.test_report import make_runs

ROOT = Path(__file__).resolve().parents[1]


def sh(script: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` after sourcing results/common.sh with OUT = ``out``."""
    return subprocess.run(
        ["bash", "-c", f'source results/common.sh "{out}"\n{script}'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "AUTORC": f"{sys.executable} -m trial.cli", "HOME": "/tmp"},
        check=False,
    )


def test_a_kept_run_has_its_records_not_its_weights_and_is_not_run_again(tmp_path: Path) -> None:
    [run, *_] = make_runs(tmp_path / "runs")
    (run / "eval" / "weights.safetensors").write_bytes(b"w" * 10)
    (run / "search" / "checkpoint.pt").parent.mkdir(exist_ok=True)
    (run / "search" / "checkpoint.pt").write_bytes(b"c" * 10)
    (run / "big.json").write_bytes(b"0" * (3 << 20))  # over the 2 MB a record may have
    left_out = ["eval/model/config.json", "eval/test_predictions.jsonl", "report/report.md"]
    left_out += ["eval/tensorboard/events.out.tfevents.1", "x/test_key.scorer.txt"]
    for name in [*left_out, "search/tensorboard/events.out.tfevents.1"]:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("x")
    out = tmp_path / "results"
    done = sh(
        f"""keep {run}
        wanted {run.name} && echo RUN-KEPT
        wanted other && echo RUN-OTHER
        ONLY=third; wanted other || echo SKIP-OTHER
        echo "${{ROWS[@]}}" """,
        out,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["RUN-OTHER", "SKIP-OTHER", f"{run.name} other other"]
    kept = out / "runs" / run.name
    names = {p.relative_to(run) for p in run.rglob("*") if p.is_file()}
    copied = {p.relative_to(kept) for p in kept.rglob("*") if p.is_file()}
    assert Path("result.json") in copied and Path("config.json") in copied
    assert Path("eval/weights.safetensors") not in copied
    assert Path("search/checkpoint.pt") not in copied and Path("big.json") not in copied
    assert Path("search/tensorboard/events.out.tfevents.1") in copied
    assert copied == {
        n
        for n in names
        if n.suffix not in (".pt", ".safetensors")
        and n.name not in ("big.json", ".autorc.lock")
        and str(n) not in left_out
    }
    assert json.loads((kept / "result.json").read_text()) == json.loads(
        (run / "result.json").read_text()
    )


def test_the_report_is_made_from_the_kept_rows_partial_until_all_are(tmp_path: Path) -> None:
    runs = make_runs(tmp_path / "runs")[:2]
    out = tmp_path / "results"
    partial = sh(
        f"""keep {runs[0]}
        wanted {runs[0].name} || :; wanted {runs[1].name} || :
        report_kept "the command" """,
        out,
    )
    assert partial.returncode == 0, partial.stderr
    assert (out / "partial" / "table1.md").is_file() and not (out / "table1.md").exists()
    table = (out / "partial" / "table1.md").read_text()
    assert (out / "partial" / "rows-to-run.txt").read_text() == f"{runs[1].name}\n"
    assert "BERT-entity" in table and "random" not in table.lower().split("|")[1:2]
    whole = sh(
        f"""keep {runs[0]}; keep {runs[1]}
        wanted {runs[0].name} || :; wanted {runs[1].name} || :
        report_kept "the command" """,
        out,
    )
    assert whole.returncode == 0, whole.stderr
    assert "the command" in (out / "table1.md").read_text()
    assert not (out / "partial").exists()
    assert "report" in (out / "commands.log").read_text()


def test_kept_records_are_not_ignored_by_git() -> None:
    """``runs/`` (run folders) is ignored, the kept records under results/*/runs/ are not."""
    kept = "results/race-cpu/runs/semeval10-x/search/tensorboard/events.out.tfevents.1"
    run = subprocess.run(
        ["git", "check-ignore", "-q", "runs/semeval10-x/result.json"], cwd=ROOT, check=False
    )
    assert run.returncode == 0  # the run folder is ignored
    alone = subprocess.run(["git", "check-ignore", "-q", kept], cwd=ROOT, check=False)
    assert alone.returncode == 1  # the kept record is not
