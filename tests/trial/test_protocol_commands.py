"""``autorc run`` and the protocol commands on the real search and training (tiny encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from trial.cli import main


def write(tmp_path: Path, cfg: dict, name: str = "c.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def mtimes(root: Path, name: str) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob(name)}


def test_run_resumes_skipping_finished_stages(tmp_path: Path, tiny_config, capsys) -> None:
    # a two-point grid: one HPO trial is trained (a one-point grid would skip HPO)
    cfg = write(
        tmp_path,
        tiny_config(
            hpo={"trials": 1, "space": {"lr": [1e-3, 5e-4], "batch_size": [16], "warmup": [0.5]}}
        ),
    )
    out = tmp_path / "run"
    assert main(["run", "--config", str(cfg), "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["method"] == "autorc" and len(result["best"]["test"]) == 2
    ranking = json.loads((out / "search" / "ranking.json").read_text())
    assert len(ranking) == 2
    cands = json.loads((out / "candidates.json").read_text())["candidates"]
    assert cands[0]["architecture"] == ranking[0]["architecture"]
    assert [c["evaluate"] for c in cands] == [True, False]
    assert (out / "report" / "table1.md").is_file()
    assert list((out / "search" / "tensorboard").glob("events.out.tfevents.*"))
    metrics = mtimes(out, "metrics.json")
    assert len(metrics) == 3  # 1 HPO trial + 2 seeds
    # simulate a crash after the search and the HPO: drop the later stages' results
    (out / "result.json").unlink()
    (out / "eval" / "rank_01" / "result.json").unlink()
    seed1 = out / "eval" / "rank_01" / "seeds" / "seed_1"
    for p in sorted(seed1.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    seed1.rmdir()
    ckpt = (out / "search" / "checkpoint.pt").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["run", "--config", str(cfg), "--out", str(out)]) == 0
    assert (out / "search" / "checkpoint.pt").stat().st_mtime_ns == ckpt  # search not redone
    after = mtimes(out, "metrics.json")
    kept = {k: v for k, v in metrics.items() if "seed_1" not in k}
    assert {k: after[k] for k in kept} == kept  # finished runs untouched
    assert str(seed1 / "metrics.json") in after
    assert (
        json.loads((out / "result.json").read_text())["best"]["architecture"]
        == result["best"]["architecture"]
    )


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"search": {"k": 2}, "top": 3}, "top"),
        ({"search": {"epochs": 0}}, "epochs"),
        ({"search": {"epocs": 1}}, "epocs"),
        ({"search": {"dataset": "x"}}, "dataset"),
        ({"hpo": {"trials": 0}}, "trials"),
        ({"seeds": {"n": -1}}, "n"),
    ],
)
def test_bad_config_refused_before_anything_runs(
    tmp_path: Path, tiny_config, capsys, patch: dict, key: str
) -> None:
    cfg = tiny_config()
    for k, v in patch.items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) else v
    path = write(tmp_path, cfg)
    out = tmp_path / "run"
    assert main(["run", "--config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert key in err and str(path) in err
    assert not out.exists()


def test_protocol_commands(tmp_path: Path, tiny_config, capsys) -> None:
    cfg = write(
        tmp_path,
        tiny_config(
            hpo={"trials": 1, "space": {"lr": [1e-3, 5e-4], "batch_size": [16], "warmup": [0.5]}}
        ),
    )
    common = ["--config", str(cfg), "--dataset", tiny_config()["dataset"], "--format", "opennre"]
    assert (
        main(
            [
                "hpo",
                "--arch",
                "bert-entity",
                *common,
                "--trials",
                "2",
                "--out",
                str(tmp_path / "hpo"),
            ]
        )
        == 0
    )
    hpo = json.loads((tmp_path / "hpo" / "hpo.json").read_text())
    assert hpo["n_complete"] == 2
    assert (
        main(
            [
                "repeat",
                "--arch",
                "bert-entity",
                *common,
                "--hpo",
                str(tmp_path / "hpo"),
                "--seeds",
                "2",
                "--out",
                str(tmp_path / "rep"),
            ]
        )
        == 0
    )
    rep = json.loads((tmp_path / "rep" / "result.json").read_text())
    assert rep["params"] == hpo["best_params"] and rep["seeds"] == [0, 1]
    assert (
        main(["random-search", *common, "--n", "2", "--seeds", "1", "--out", str(tmp_path / "rnd")])
        == 0
    )
    rnd = json.loads((tmp_path / "rnd" / "result.json").read_text())
    assert rnd["method"] == "random" and len(rnd["evaluated"]) == 2
    # transfer: a "found" architecture from another dataset, onto this one
    arch = tmp_path / "found.json"
    arch.write_text(
        json.dumps(
            {
                **json.loads((tmp_path / "hpo" / "architecture.json").read_text()),
                "_meta": {"dataset": "semeval10"},
            }
        )
    )
    assert (
        main(
            [
                "transfer",
                "--arch",
                str(arch),
                *common,
                "--seeds",
                "1",
                "--out",
                str(tmp_path / "tr"),
            ]
        )
        == 0
    )
    tr = json.loads((tmp_path / "tr" / "result.json").read_text())
    assert tr["label"] == "AR_semeval10"
    capsys.readouterr()
    assert (
        main(
            [
                "report",
                str(tmp_path / "rep"),
                str(tmp_path / "rnd"),
                str(tmp_path / "tr"),
                "--out",
                str(tmp_path / "rep_out"),
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "| BERT-entity |" in table and "| random search |" in table
    assert "| AR_semeval10 |" in table
    # bad input: a clear error naming the problem, exit 2
    assert (
        main(
            [
                "repeat",
                "--arch",
                "bert-entity",
                *common,
                "--lr",
                "1e-3",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "--batch-size" in capsys.readouterr().err
    assert main(["hpo", "--arch", "nope", *common, "--out", str(tmp_path / "y")]) == 2
    assert "nope" in capsys.readouterr().err


def test_strict_reaches_every_stage(tmp_path: Path, tiny_config, capsys) -> None:
    """--strict (or strict: in the config) is passed to the search and to every training run,
    like negative_label; unset, the stages' configs are as before; it may differ on resume."""
    from autorc_nni.config import ConfigError
    from pipeline.protocol import _check_run_dir, pipeline_config_from_dict
    from pipeline.runner import search_config
    from trial.cli import build_parser
    from trial.commands._common import build_config

    base = tiny_config()
    cfg_path = write(tmp_path, {k: v for k, v in base.items() if k != "format"})
    argv = [
        "hpo",
        "--arch",
        "bert-entity",
        "--config",
        str(cfg_path),
        "--dataset",
        base["dataset"],
        "--out",
        str(tmp_path),
    ]
    cfg = build_config(build_parser(argv).parse_args([*argv, "--strict"]))
    assert "format opennre (detected" in capsys.readouterr().err  # said before anything runs
    assert cfg.data.strict and cfg.train_base()["strict"] is True and search_config(cfg).data.strict
    plain = build_config(build_parser(argv).parse_args(argv))
    assert not plain.data.strict and "strict" not in plain.train_base()
    assert not search_config(plain).data.strict
    with pytest.raises(ConfigError, match=r"\['strict'\] are set once at the top level"):
        pipeline_config_from_dict({**tiny_config(), "train": {"strict": True}})
    _check_run_dir(plain, tmp_path / "run")
    _check_run_dir(cfg, tmp_path / "run")  # strict only refuses data: a resume may change it


def test_the_race_picks_a_searched_model_that_reads_the_middle_context(tmp_path, capsys):
    """Only the first word between the entities (part c1) tells the label; BERT-entity and
    R-BERT read the entities (and c0) only. `autorc run --select race` races the search's
    shortlist against them on stand-alone training: a searched model that reads c1 wins, the
    hand-made designs fall behind, and the report shows the race."""
    from tests.strategies.planted import SMALL_SEARCH, write_planted

    data = write_planted(tmp_path / "planted")
    # the search that finds the planted tasks; the pipeline sets encoder, space, method, seed
    top_level = ("encoder", "space", "method", "seed", "top_k", "progress")
    search = {k: v for k, v in SMALL_SEARCH.items() if k not in top_level}
    cfg = {
        "method": "autorc",
        "dataset": str(data),
        "format": "opennre",
        "encoder": SMALL_SEARCH["encoder"],
        "space": SMALL_SEARCH["space"],
        "seed": SMALL_SEARCH["seed"],
        "top": 1,
        "search": {**search, "num_threads": 1},
        "race": {"top": 3},
        "train": {"epochs": 6, "max_len": 64, "progress": False, "num_threads": 1},
        "hpo": {"trials": 1, "space": {"lr": [1e-3], "batch_size": [16], "warmup": [0.5]}},
        "seeds": {"n": 1},
    }
    out = tmp_path / "run"
    path = write(tmp_path, cfg)
    assert main(["run", "--config", str(path), "--select", "race", "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "race: bert-entity at rung 0" in shown and "race won by rank" in shown
    race = json.loads((out / "race" / "race.json").read_text())
    winner = race["entrants"][race["winner"]]
    assert winner["origin"] in ("searched", "format")
    arch = winner["architecture"]
    assert arch["use_c1"] or arch["inter_c1"] != "none", winner
    presets = [e for e in race["entrants"] if e["origin"] == "preset"]
    assert [p["name"] for p in presets] == ["bert-entity", "r-bert"]
    for p in presets:
        assert p["dev"][-1] < winner["dev"][-1] - 0.2, race["entrants"]
    result = json.loads((out / "result.json").read_text())
    assert result["select"] == "race" and result["best"]["architecture"] == arch
    assert result["best"]["test_mean"] > 0.9
    report = (out / "report" / "report.md").read_text()
    assert "#### The race" in report and "won the race" in report
    assert "| planted (micro-f1) |" in (out / "report" / "table1.md").read_text()
    # every input format the space leaves free reached the race (the shortlist's bests)
    formats = {e["architecture"]["span"] for e in race["entrants"] if e["origin"] != "preset"}
    assert formats == {"markers", "standard", "tokens"}


def test_report_writes_the_ablation_tables_from_run_folders(tmp_path, tiny_config) -> None:
    """Table 2 (spaces) and Table 3 (methods) from real tiny runs: two search seeds of AutoRC
    on M, one on M1, one naive ENAS and one AutoRC with the race; pooled cells with the spread
    between search seeds, and each search's entropy and candidates' formats."""
    from pipeline.report import write_report

    runs = []
    for name, over in (
        ("m-s0", {}),
        ("m-s1", {"seed": 1}),
        ("m1-s0", {"space": "M1"}),
        ("naive", {"method": "naive-enas"}),
        ("race", {"select": "race", "race": {"top": 2, "format_draws": 1, "rungs": [1.0]}}),
    ):
        path = write(tmp_path, tiny_config(**over), f"{name}.yml")
        assert main(["run", "--config", str(path), "--out", str(tmp_path / name)]) == 0
        runs.append(tmp_path / name)
    r = write_report(runs, tmp_path / "rep")
    t2, t3 = r["table2"], r["table3"]
    lines2 = {line.split(" | ")[0].lstrip("| "): line for line in t2.splitlines()[2:]}
    assert list(lines2) == ["M", "M + race", "M1"]
    assert "(2 runs, 4 models; between search seeds ±" in lines2["M"]
    assert "(1 runs, 2 models)" in lines2["M1"]
    lines3 = [line.split(" | ")[0].lstrip("| ") for line in t3.splitlines()[2:]]
    assert lines3 == ["naive ENAS", "AutoRC", "AutoRC + race"]
    for name in ("table2.md", "table3.md"):
        assert (tmp_path / "rep" / name).read_text().startswith("| Model |")
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "## Table 2: search spaces" in report and "## Table 3: the changes to ENAS" in report
    searches = report.split("## The searches")[1].split("\n## ")[0]
    assert searches.count("| AutoRC |") == 3 and "| naive ENAS |" in searches
    assert " → " in searches  # entropy first → last
    # a report of a single run has no ablation table
    single = write_report(runs[:1], tmp_path / "one")
    assert single["table2"] == "" and single["table3"] == ""


def test_runs_sharing_a_reuse_folder_train_each_training_once(tmp_path, tiny_config) -> None:
    """`autorc run --reuse DIR`: a run whose seeds are trainings another run already finished
    (the same model, setting, seed and data) copies them (its files keep the first run's times)
    and reports the same scores; a different seed is trained."""
    cfg = write(tmp_path, tiny_config(method="r-bert"))
    index = tmp_path / "trainings"
    for name in ("first", "second"):
        argv = ["run", "--config", str(cfg), "--reuse", str(index), "--out", str(tmp_path / name)]
        assert main(argv) == 0
    a, b = (tmp_path / n / "eval" / "rank_01" / "seeds" for n in ("first", "second"))
    for seed in ("seed_0", "seed_1"):
        weights = sorted((a / seed / "model").rglob("*.safetensors"))
        assert weights
        for w in weights:  # copied, not trained again
            twin = b / seed / "model" / w.relative_to(a / seed / "model")
            assert twin.read_bytes() == w.read_bytes()
            assert twin.stat().st_mtime_ns == w.stat().st_mtime_ns
        metrics = json.loads((b / seed / "metrics.json").read_text())
        assert metrics["config"]["out"] == str(b / seed)
    first = json.loads((tmp_path / "first" / "result.json").read_text())["best"]
    second = json.loads((tmp_path / "second" / "result.json").read_text())["best"]
    assert (first["dev"], first["test"]) == (second["dev"], second["test"])
    assert len(list(index.glob("*.json"))) == 2
    # a third run with other seeds trains them
    cfg3 = write(tmp_path, tiny_config(method="r-bert", seeds={"n": 1, "first": 5}), "c3.yml")
    argv = ["run", "--config", str(cfg3), "--reuse", str(index), "--out", str(tmp_path / "third")]
    assert main(argv) == 0
    assert len(list(index.glob("*.json"))) == 3
