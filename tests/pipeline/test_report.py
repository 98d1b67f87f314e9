"""The report: Table 1 numbers recomputed from the run directories, reward curves, rows."""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path

import pytest

from autorc_nni.architecture import PRESETS, Architecture
from pipeline.protocol import pipeline_config_from_dict, run_pipeline
from pipeline.report import ReportError, cells, collect, write_report


def fake_train(kw: dict, report=None) -> dict:
    arch = Architecture.load(kw["arch"])
    ds_bonus = 0.05 if "b" in kw["dataset"] else 0.0
    dev = 0.4 + 0.05 * len(arch.slots()) + kw["lr"] * 100 + 0.003 * kw["seed"] + ds_bonus
    return {
        "dev": {"score": dev},
        "test": {"score": dev - 0.02 * (kw["seed"] % 3)},
        "metric": "macro_f1" if kw["dataset"] == "ds_b" else "micro_f1",
    }


def fake_search(cfg, out: Path):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(out / "tensorboard"))
    for step in range(20):
        w.add_scalar("search/reward", 0.1 + 0.01 * step + 0.001 * cfg.seed, step)
    w.close()
    archs = [Architecture(use_c1=True), PRESETS["r-bert"]]
    return [{"architecture": a, "score": 0.5} for a in archs]


def make_runs(root: Path) -> list[Path]:
    runs = []
    for ds in ("ds_a", "ds_b"):
        for method, seed in (("bert-entity", 0), ("random", 0), ("autorc", 0), ("autorc", 1)):
            cfg = pipeline_config_from_dict(
                {
                    "method": method,
                    "dataset": ds,
                    "encoder": "tiny",
                    "seed": seed,
                    "top": 1,
                    "random_n": 2,
                    "hpo": {"trials": 1},
                    "seeds": {"n": 3},
                }
            )
            run = root / f"{ds}-{method}-{seed}"
            run_pipeline(cfg, run, search_fn=fake_search, train_fn=fake_train)
            runs.append(run)
    return runs


def seed_tests(eval_dir: Path) -> list[float]:
    """Test scores of an evaluated architecture, read back from each seed's metrics.json."""
    return [
        json.loads((d / "metrics.json").read_text())["test"]["score"]
        for d in sorted((eval_dir / "seeds").glob("seed_*"))
    ]


def best_eval_dir(run: Path) -> Path:
    """The evaluated candidate with the highest mean dev score, from the seed files."""

    def dev_mean(d: Path) -> float:
        return statistics.fmean(
            json.loads((s / "metrics.json").read_text())["dev"]["score"]
            for s in (d / "seeds").glob("seed_*")
        )

    return max(sorted((run / "eval").iterdir()), key=dev_mean)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_runs(tmp_path_factory.mktemp("runs"))


def test_table1_is_recomputed_from_run_dirs(tmp_path: Path, runs: list[Path]) -> None:
    out = write_report([runs[0].parent], tmp_path / "report")
    table = json.loads((tmp_path / "report" / "table1.json").read_text())
    for ds in ("ds_a", "ds_b"):
        for method in ("bert-entity", "random"):
            run = next(r for r in runs if r.name == f"{ds}-{method}-0")
            t = seed_tests(best_eval_dir(run))
            cell = table[f"{method}|{ds}"]
            assert cell["mean"] == pytest.approx(statistics.fmean(t))
            assert cell["std"] == pytest.approx(statistics.stdev(t))
            assert cell["n_runs"] == 1 and cell["n_seeds"] == 3
        # two autorc runs: mean ± std over the runs' best models
        per_run = [
            statistics.fmean(seed_tests(best_eval_dir(r)))
            for r in runs
            if r.name.startswith(f"{ds}-autorc")
        ]
        cell = table[f"autorc|{ds}"]
        assert cell["n_runs"] == 2
        assert cell["mean"] == pytest.approx(statistics.fmean(per_run))
        assert cell["std"] == pytest.approx(statistics.stdev(per_run))
        assert f"AR_{ds}|{ds}" in table
    md = (tmp_path / "report" / "table1.md").read_text()
    lines = md.splitlines()
    assert lines[0].startswith("| Model | ds_a (micro-f1) | ds_b (macro-f1) |")
    rbert_row = next(line for line in lines if line.startswith("| BERT-entity |"))
    c = table["bert-entity|ds_a"]
    assert f"{100 * c['mean']:.2f}±{100 * c['std']:.3f}" in rbert_row
    assert "(2 runs)" in next(line for line in lines if line.startswith("| AutoRC |"))
    # reward curves from the searches' TensorBoard logs: one PNG per dataset
    assert sorted(p.name for p in out["curves"]) == ["rewards_ds_a.png", "rewards_ds_b.png"]
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in out["curves"])
    report = (tmp_path / "report" / "report.md").read_text()
    assert "rewards_ds_a.png" in report and "input format" in report


def test_report_of_one_run_and_of_nothing(tmp_path: Path, runs: list[Path]) -> None:
    recs = collect([runs[0]])
    assert len(recs) == 1 and recs[0].row == "bert-entity"
    with pytest.raises(ReportError, match="no result.json"):
        collect([tmp_path])
    with pytest.raises(ReportError, match="no such"):
        collect([tmp_path / "missing"])


def test_report_draws_each_best_architecture(tmp_path: Path, runs: list[Path]) -> None:
    out = write_report(runs[:2], tmp_path / "rep")
    assert len(out["diagrams"]) == 2
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in out["diagrams"])
    report = (tmp_path / "rep" / "report.md").read_text()
    assert all(p.name in report for p in out["diagrams"])


def test_ar_row_is_autorcs_best_model_only(tmp_path: Path) -> None:
    """An ablation (naive ENAS) with a better dev score keeps its own row and never gives
    AR_<dataset> its model."""
    runs = []
    for method in ("autorc", "naive-enas"):
        cfg = pipeline_config_from_dict(
            {
                "method": method,
                "dataset": "ds_a",
                "encoder": "tiny",
                "seed": 0,
                "top": 1,
                "hpo": {"trials": 1},
                "seeds": {"n": 2},
            }
        )
        run = tmp_path / method

        def search(cfg, out, method=method):
            # naive ENAS "finds" a model with more slots: a higher fake dev score
            arch = PRESETS["r-bert"] if method == "naive-enas" else PRESETS["bert-entity"]
            return [{"architecture": arch, "score": 0.5}]

        run_pipeline(cfg, run, search_fn=search, train_fn=fake_train)
        runs.append(run)
    table = {f"{r}|{d}": c for (r, d), c in cells(collect(runs)).items()}
    recs = {r.method: r for r in collect(runs)}
    assert recs["naive-enas"].dev_mean > recs["autorc"].dev_mean
    assert table["AR_ds_a|ds_a"]["from"] == str(tmp_path / "autorc")
    assert table["AR_ds_a|ds_a"]["mean"] == pytest.approx(recs["autorc"].test_mean)
    assert table["naive-enas|ds_a"]["mean"] == pytest.approx(recs["naive-enas"].test_mean)
    assert table["autorc|ds_a"]["mean"] == pytest.approx(recs["autorc"].test_mean)


def test_report_shows_the_wall_time_of_each_stage(tmp_path: Path, runs: list[Path]) -> None:
    write_report(runs[:3], tmp_path / "rep")
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "## Wall time" in report and "| AutoRC | ds_a |" in report
    result = json.loads((runs[2] / "result.json").read_text())
    assert set(result["seconds"]) == {"search", "race", "evaluation"}
    assert (
        "| model | dataset | search | race | evaluation (HPO + seeds) | total | × one training |"
        in report
    )


def test_report_shows_the_decision_importance(tmp_path: Path) -> None:
    """The search's importance table and chart, and an importance over the evaluated candidates
    when at least 3 were evaluated (else: too few to say)."""
    from autorc_nni.architecture import DECISIONS
    from autorc_nni.files import atomic_write_json
    from autorc_nni.importance import decision_importance, plot_importance

    def search(cfg, out: Path):
        archs = [
            Architecture(use_c1=c1, use_c0=c0, pool_c1="start")
            for c1 in (True, False)
            for c0 in (True, False)
        ]
        scored = [(a, 0.9 if a.use_c1 else 0.3) for a in archs]
        result = decision_importance(scored, DECISIONS, evaluator="mdi")
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "importance.json", result)
        plot_importance(result, out / "importance.png")
        return [{"architecture": a, "score": s} for a, s in scored]

    runs = []
    for method, top in (("autorc", 1), ("random", None)):
        cfg = pipeline_config_from_dict(
            {
                "method": method,
                "dataset": "ds_a",
                "encoder": "tiny",
                "seed": 0,
                **({"top": top} if top else {"random_n": 4}),
                "hpo": {"trials": 1},
                "seeds": {"n": 2},
            }
        )
        run_pipeline(cfg, tmp_path / method, search_fn=search, train_fn=fake_train)
        runs.append(tmp_path / method)
    out = write_report(runs, tmp_path / "rep")
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "#### Decision importance in the search" in report
    section = report[report.index("#### Decision importance in the search") :]
    table = section[section.index("| decision | importance |") :].splitlines()
    assert table[2].startswith("| use_c1 | ") and table[2].endswith(" | True (0.9000, 2) |")
    assert "1 evaluated candidate: too few evaluated candidates to say" in report
    imp = out["importance"]
    assert set(imp) == {str(tmp_path / "autorc"), str(tmp_path / "random")}
    assert imp[str(tmp_path / "autorc")]["evaluated"] is None
    evaluated = imp[str(tmp_path / "random")]["evaluated"]
    assert evaluated["n"] == 4 and evaluated["decisions"]
    assert "k is too small to say much" in evaluated["caution"]
    assert "#### Decision importance over the evaluated candidates" in report
    charts = [p for v in imp.values() for p in v["charts"]]
    assert len(charts) == 2 and all(p.read_bytes()[:4] == b"\x89PNG" for p in charts)
    assert all(f"]({p.name})" in report for p in charts)


def test_report_and_table_say_how_to_reproduce_them(tmp_path: Path, runs: list[Path]) -> None:
    write_report(runs[:1], tmp_path / "a")
    assert (
        f"Reproduce: `autorc report {runs[0]} --out {tmp_path / 'a'}`"
        in (tmp_path / "a" / "table1.md").read_text()
    )
    write_report(runs[:1], tmp_path / "b", command="bash run.sh")
    for name in ("table1.md", "report.md"):
        assert "Reproduce: `bash run.sh`" in (tmp_path / "b" / name).read_text()


def test_a_dataset_folder_is_named_by_its_folder(tmp_path: Path) -> None:
    from pipeline.report import dataset_name

    assert dataset_name("/data/corpora/kbp37/") == "kbp37"
    assert dataset_name("runs/x/kbp37") == "kbp37"
    assert dataset_name("semeval10") == "semeval10"
    assert dataset_name(None) == "?"


def test_the_race_is_shown_and_a_hand_made_winner_said_plainly(tmp_path: Path) -> None:
    """A race run's report: the race table (every entrant's dev per rung, where it stopped),
    the plot, the cost; when a preset wins, the report says so."""
    from autorc_nni.stage import DataConfig
    from pipeline.evaluation import HPOConfig, HPOSpace, SeedsConfig
    from pipeline.protocol import PipelineConfig

    def train(kw, report=None):
        arch = Architecture.load(kw["arch"])
        dev = 0.9 if arch == PRESETS["r-bert"] else 0.5 + 0.01 * len(arch.slots())
        return {"dev": {"score": dev}, "test": {"score": dev - 0.05}, "metric": "micro_f1"}

    def search(cfg, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        return [{"architecture": Architecture(use_c1=True), "score": 0.7}]

    one = HPOSpace(lr=[1e-3], batch_size=[16], warmup=[0.5])
    cfg = PipelineConfig(
        data=DataConfig(dataset="/data/folders/kbp37", encoder="tiny"),
        select="race",
        hpo=HPOConfig(trials=1, space=one),
        seeds=SeedsConfig(n=2),
    )
    run_pipeline(cfg, tmp_path / "run", search_fn=search, train_fn=train)
    r = write_report([tmp_path / "run"], tmp_path / "rep")
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "| AR_kbp37 |" in r["table"] and "/data/folders" not in r["table"]
    assert "#### The race" in report
    assert "| r-bert: " in report and "| winner |" in report
    assert "**The hand-made design r-bert won the race**" in report
    assert "Cost: " in report and "full trainings" in report
    assert list((tmp_path / "rep").glob("race_*.png"))
    # two finalists: r-bert wins the race, the searched one is steadier over the seeds
    lucky = PRESETS["r-bert"]

    def train2(kw, report=None):
        arch = Architecture.load(kw["arch"])
        dev = 0.5 + 0.01 * len(arch.slots())
        if arch == lucky:
            dev += 0.3 if kw["seed"] == cfg.hpo.train_seed else -0.2
        return {"dev": {"score": dev}, "test": {"score": dev - 0.05}, "metric": "micro_f1"}

    cfg2 = replace(cfg, race=replace(cfg.race, finalists=2, eta=2))
    run_pipeline(cfg2, tmp_path / "run2", search_fn=search, train_fn=train2)
    write_report([tmp_path / "run2"], tmp_path / "rep2")
    report = (tmp_path / "rep2" / "report.md").read_text()
    assert "r-bert (preset) won the race on its training seed; the best 2" in report
    assert "(r-bert 3" in report  # its mean dev over the seeds, beside the other finalist's
    assert "**rank 1 (searched) is the run's model.**" in report
    from pipeline.report import _race_row

    [one, two] = [collect([tmp_path / d])[0] for d in ("run", "run2")]
    assert (_race_row(one), _race_row(two)) == ("AutoRC + race", "AutoRC + race (2 finalists)")


def test_the_cost_unit_is_one_baseline_training(tmp_path: Path) -> None:
    from pipeline.report import ROW_KINDS, Record, one_training_seconds

    def rec(kind: str, ds: str, seeds_s: float, n: int) -> Record:
        return Record(
            row=kind,
            dataset=ds,
            metric="micro_f1",
            task="rc",
            method=kind,
            test=[0.5] * n,
            dev=[0.5] * n,
            architecture={},
            params={},
            path=tmp_path,
            order=(ROW_KINDS.index(kind), 0),
            extra={"seeds_seconds": seeds_s},
        )

    unit = one_training_seconds(
        [rec("preset", "a", 300.0, 3), rec("preset", "a", 120.0, 1), rec("search", "a", 999.0, 3)]
    )
    assert unit == {"a": 110.0}  # (100 + 120) / 2; a searched run is not the unit


def test_a_race_run_is_named_with_race_once(tmp_path: Path) -> None:
    from pipeline.report import ROW_KINDS, Record, _race_row

    def rec(title: str, select: str) -> Record:
        return Record(
            row="AutoRC",
            dataset="a",
            metric="micro_f1",
            task="rc",
            method="autorc",
            test=[0.5],
            dev=[0.5],
            architecture={},
            params={},
            path=tmp_path,
            order=(ROW_KINDS.index("search"), 0),
            extra={"select": select},
            title=title,
        )

    assert _race_row(rec("AutoRC + race", "race")) == "AutoRC + race"  # the label says it
    assert _race_row(rec("", "race")) == "AutoRC + race"
    assert _race_row(rec("", "shared")) == "AutoRC"
    assert _race_row(rec("AutoRC (shared)", "shared")) == "AutoRC (shared)"


def test_a_run_on_a_restricted_space_is_a_row_of_its_own(tmp_path: Path) -> None:
    """The same method on M and on M restricted (span: standard) are two rows, in Table 1 and
    in the searches' table (space ``M (span: standard)``), not one cell of two runs."""
    runs = []
    for name, restrict in (("plain", {}), ("std", {"span": ["standard"]})):
        cfg = pipeline_config_from_dict(
            {
                "method": "random",
                "dataset": "ds_a",
                "encoder": "tiny",
                "random_n": 2,
                "restrict": restrict,
                "hpo": {"trials": 1},
                "seeds": {"n": 2},
            }
        )
        run_pipeline(cfg, tmp_path / name, train_fn=fake_train)
        runs.append(tmp_path / name)
    table = cells(collect(runs))
    rows = {row for row, _ in table}
    assert {"random", "random (span: standard)"} <= rows
    assert all(c["n_runs"] == 1 for (row, _), c in table.items() if row.startswith("random"))
    out = write_report(runs, tmp_path / "rep")
    assert "| random search (span: standard) |" in (tmp_path / "rep" / "table1.md").read_text()
    assert out["records"][1].extra["space"] == "M (span: standard)"
