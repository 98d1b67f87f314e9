"""The pipeline library: config validation, stages skipped on re-run, candidates per method."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autorc_nni.architecture import PRESETS, Architecture
from autorc_nni.config import ConfigError
from pipeline.protocol import load_pipeline_config, pipeline_config_from_dict, run_pipeline


class FakeTrain:
    def __init__(self, fail_on_seed: int | None = None) -> None:
        self.calls: list[dict] = []
        self.fail_on_seed = fail_on_seed

    def __call__(self, kw: dict, report=None) -> dict:
        if self.fail_on_seed is not None and kw["seed"] == self.fail_on_seed:
            raise RuntimeError("simulated crash")
        self.calls.append(kw)
        arch = Architecture.load(kw["arch"])
        dev = 0.5 + 0.1 * len(arch.slots()) + kw["lr"] * 100 + 0.001 * kw["seed"]
        return {"dev": {"score": dev}, "test": {"score": dev - 0.1}, "metric": "micro_f1"}


def fake_search(n: int):
    calls = []

    def search(cfg, out: Path):
        calls.append(out)
        out.mkdir(parents=True, exist_ok=True)
        archs = [
            PRESETS["bert-entity"],
            PRESETS["r-bert"],
            Architecture(use_c1=True, inter_e1e2="dot"),
        ][:n]
        return [{"architecture": a, "score": 0.9 - 0.1 * i} for i, a in enumerate(archs)]

    search.calls = calls
    return search


SMALL = {
    "method": "autorc",
    "dataset": "syn",
    "encoder": "tiny",
    "top": 2,
    "train": {"epochs": 1},
    "hpo": {"trials": 2},
    "seeds": {"n": 2},
}


def test_pipeline_runs_and_resumes_skipping_finished_stages(tmp_path: Path) -> None:
    cfg = pipeline_config_from_dict(SMALL)
    search = fake_search(3)
    crash = FakeTrain(fail_on_seed=1)
    with pytest.raises(RuntimeError):
        run_pipeline(cfg, tmp_path, search_fn=search, train_fn=crash)
    assert (tmp_path / "candidates.json").is_file()
    assert (tmp_path / "eval" / "rank_01" / "hpo" / "hpo.json").is_file()
    assert not (tmp_path / "result.json").exists()
    trained_before = {kw["out"] for kw in crash.calls}

    fake = FakeTrain()
    result = run_pipeline(cfg, tmp_path, search_fn=search, train_fn=fake)
    assert len(search.calls) == 1  # the search stage was not run again
    assert not trained_before & {kw["out"] for kw in fake.calls}  # nor any finished training
    cands = json.loads((tmp_path / "candidates.json").read_text())["candidates"]
    assert [c["evaluate"] for c in cands] == [True, True, False]
    assert len(result["evaluated"]) == 2
    # the best learned model is the evaluated candidate with the highest mean dev score
    assert result["best"]["dev_mean"] == max(r["dev_mean"] for r in result["evaluated"])
    assert result["best"]["architecture"] == PRESETS["r-bert"].to_dict()
    n = len(fake.calls)
    assert run_pipeline(cfg, tmp_path, search_fn=search, train_fn=fake) == result
    assert len(fake.calls) == n


def test_pipeline_baseline_and_random_methods(tmp_path: Path) -> None:
    base = pipeline_config_from_dict({**SMALL, "method": "bert-entity"})
    r = run_pipeline(base, tmp_path / "b", train_fn=FakeTrain())
    assert r["best"]["architecture"] == PRESETS["bert-entity"].to_dict()
    rnd = pipeline_config_from_dict({**SMALL, "method": "random", "random_n": 3, "seed": 7})
    r = run_pipeline(rnd, tmp_path / "r", train_fn=FakeTrain())
    assert len(r["evaluated"]) == 3
    assert len({json.dumps(e["architecture"]) for e in r["evaluated"]}) == 3


def test_without_a_search_fn_the_protocol_runs_the_real_search(tmp_path: Path) -> None:
    """No callback is needed: the protocol sits above the search and calls it (here the real
    search reads the config's dataset, which does not exist)."""
    from autorc_nni.errors import DataError

    with pytest.raises(DataError, match="syn: not a known dataset"):
        run_pipeline(pipeline_config_from_dict(SMALL), tmp_path, train_fn=FakeTrain())
    assert (tmp_path / "search" / ".autorc.lock").is_file()  # the search stage's folder


def test_run_dir_of_another_config_is_refused(tmp_path: Path) -> None:
    run_pipeline(
        pipeline_config_from_dict({**SMALL, "method": "bert-entity"}),
        tmp_path,
        train_fn=FakeTrain(),
    )
    with pytest.raises(ConfigError, match="another config"):
        run_pipeline(
            pipeline_config_from_dict({**SMALL, "method": "r-bert"}), tmp_path, train_fn=FakeTrain()
        )


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"topp": 3}, "topp"),
        ({"hpo": {"trials": 0}}, "trials"),
        ({"hpo": {"trials": "10"}}, "hpo.trials"),
        ({"seeds": {"n": 0}}, "n"),
        ({"top": 0}, "top"),
        ({"method": ""}, "method"),
        ({"space": 3}, "space"),
        ({"train": {"epochs": 0}}, "epochs"),
        ({"train": {"epoch": 2}}, "epoch"),
        ({"train": {"lr": 0.1}}, "lr"),
        ({"train": {"max_len": "long"}}, "max_len"),
    ],
)
def test_bad_config_is_refused_naming_the_key(tmp_path: Path, patch: dict, key: str) -> None:
    data = {**SMALL, **patch}
    path = tmp_path / "c.yml"
    import yaml

    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=key) as e:
        load_pipeline_config(path)
    assert str(path) in str(e.value)


def test_a_method_outside_the_table_is_refused_as_the_config_is_read() -> None:
    """Every valid method is a row of pipeline.methods: search methods, random, presets."""
    with pytest.raises(
        ConfigError, match=r"config: method: 'enas' is not one of \['naive-enas', 'autorc'"
    ):
        pipeline_config_from_dict({**SMALL, "method": "enas"})


def test_yaml_errors_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("method: autorc\nhpo: [\n")
    with pytest.raises(ConfigError, match="line"):
        load_pipeline_config(path)
    path.write_text("method: autorc\nhpo:\n  trials: 3\n")
    cfg = load_pipeline_config(path, {"hpo.trials": 1, "seeds.n": 4, "method": "random"})
    assert (cfg.hpo.trials, cfg.seeds.n, cfg.method) == (1, 4, "random")


def test_hpo_training_seed_must_differ_from_the_evaluation_seeds() -> None:
    with pytest.raises(ConfigError, match="hpo.train_seed: 0 is also an evaluation seed"):
        pipeline_config_from_dict({**SMALL, "hpo": {"trials": 2, "train_seed": 0}})
    with pytest.raises(ConfigError, match="train_seed: 3"):
        pipeline_config_from_dict(
            {**SMALL, "hpo": {"trials": 2, "train_seed": 3}, "seeds": {"n": 2, "first": 2}}
        )
    cfg = pipeline_config_from_dict(SMALL)  # the default HPO seed is outside seeds 0..n-1
    assert cfg.hpo.train_seed not in cfg.seeds.seeds()


def test_hpo_trials_and_seed_runs_use_different_training_seeds(tmp_path: Path) -> None:
    train = FakeTrain()
    cfg = pipeline_config_from_dict({**SMALL, "method": "bert-entity"})
    run_pipeline(cfg, tmp_path / "run", train_fn=train)
    hpo_seeds = {kw["seed"] for kw in train.calls if "/hpo/" in kw["out"]}
    eval_seeds = {kw["seed"] for kw in train.calls if "/seeds/" in kw["out"]}
    assert hpo_seeds and eval_seeds and not hpo_seeds & eval_seeds


def test_fewer_distinct_candidates_than_top_are_all_evaluated(tmp_path: Path) -> None:
    cfg = pipeline_config_from_dict({**SMALL, "top": 3})
    result = run_pipeline(cfg, tmp_path / "run", search_fn=fake_search(2), train_fn=FakeTrain())
    assert len(result["evaluated"]) == 2
    cands = json.loads((tmp_path / "run" / "candidates.json").read_text())
    assert cands["requested_top"] == 3 and cands["evaluated"] == 2


def test_select_race_races_the_shortlist_and_the_hand_made_designs(tmp_path: Path) -> None:
    """select: race: the top race.top searched candidates, the best of an input format the
    search drew for it, and race.include race; only the winner goes through HPO and seeds."""

    def search(cfg, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        ranked = [
            Architecture(use_c1=True, inter_e1e2="dot"),  # 3 slots
            Architecture(use_c1=True),
            Architecture(use_c0=True),
            PRESETS["r-bert"],  # found by the search, and in race.include: races once
        ]
        out_ = [{"architecture": a, "score": 0.9 - 0.1 * i} for i, a in enumerate(ranked)]
        out_[3]["format_best"] = False
        tokens = Architecture(span="tokens", use_c0=True, use_c1=True, use_c2=True)
        return out_ + [{"architecture": tokens, "score": 0.1, "origin": "format"}]

    cfg = pipeline_config_from_dict(
        {**SMALL, "select": "race", "race": {"top": 2, "eta": 2, "rungs": [0.5, 1.0], "lr": 1e-4}}
    )
    train = FakeTrain()
    result = run_pipeline(cfg, tmp_path, search_fn=search, train_fn=train)
    cands = json.loads((tmp_path / "candidates.json").read_text())
    assert cands["select"] == "race" and cands["evaluated"] == 1
    assert [c["race"] for c in cands["candidates"]] == [True, True, False, False, True]
    assert not any(c["evaluate"] for c in cands["candidates"])
    race = json.loads((tmp_path / "race" / "race.json").read_text())
    names = [e["name"] for e in race["entrants"]]
    assert names == ["rank 1", "rank 2", "best tokens", "bert-entity", "r-bert"]
    assert [e["origin"] for e in race["entrants"]] == [
        "searched",
        "searched",
        "format",
        "preset",
        "preset",
    ]
    # the winner (the most slots: the tokens model, 5) is the one model evaluated
    assert race["winner_name"] == "best tokens"
    assert len(result["evaluated"]) == 1
    best = result["best"]
    assert best["origin"] == "format" and best["race_entrant"] == "best tokens"
    assert best["architecture"]["span"] == "tokens"
    assert result["select"] == "race" and result["race"]["winner_origin"] == "format"
    assert result["seconds"]["race"] is not None
    # the race trained with the HPO training seed, the seeds stage with the evaluation seeds
    race_seeds = {kw["seed"] for kw in train.calls if "/race/" in kw["out"]}
    assert race_seeds == {cfg.hpo.train_seed}
    assert any(kw.get("pause_at") == 0.5 for kw in train.calls)


def test_race_finalists_go_to_the_seeds_and_the_best_mean_dev_is_the_model(
    tmp_path: Path,
) -> None:
    """race.finalists: 2: the best two at the full budget go through HPO and seeds; the race's
    winner (best on the race's one training seed) loses to the other finalist on the mean dev
    over the evaluation seeds, and that one is the run's model. A race recorded before the key
    existed (no ``finalists`` in race.json) hands on its winner alone."""
    lucky = Architecture(use_c1=True, inter_e1e2="dot")  # best on the race's training seed only

    def train(kw: dict, report=None) -> dict:
        arch = Architecture.load(kw["arch"])
        dev = 0.5 + 0.01 * len(arch.slots())
        if arch == lucky:
            dev += 0.2 if kw["seed"] == 1000 else -0.1
        return {"dev": {"score": dev}, "test": {"score": dev - 0.05}, "metric": "micro_f1"}

    def search(cfg, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        ranked = [lucky, Architecture(use_c0=True)]
        return [{"architecture": a, "score": 0.9 - 0.1 * i} for i, a in enumerate(ranked)]

    raced = {**SMALL, "hpo": {"trials": 1, "train_seed": 1000}, "select": "race"}
    race = {"top": 2, "format_draws": 0, "eta": 2, "rungs": [0.5, 1.0], "lr": 1e-4}
    one = run_pipeline(
        pipeline_config_from_dict({**raced, "race": race}), tmp_path / "one", search, train
    )
    assert one["race"]["winner_name"] == "rank 1" and len(one["evaluated"]) == 1
    assert one["best"]["race_entrant"] == "rank 1"
    cfg = pipeline_config_from_dict({**raced, "race": {**race, "finalists": 2}})
    two = run_pipeline(cfg, tmp_path / "two", search, train)
    saved = json.loads((tmp_path / "two" / "race" / "race.json").read_text())
    assert saved["winner_name"] == "rank 1" and len(saved["finalists"]) == 2
    assert [e["race_entrant"] for e in two["evaluated"]] == [
        "rank 1",
        saved["entrants"][saved["finalists"][1]]["name"],
    ]
    assert two["best"]["race_entrant"] != "rank 1"  # the steadier model, on mean dev
    assert two["best"]["architecture"] != lucky.to_dict()
    assert json.loads((tmp_path / "two" / "candidates.json").read_text())["evaluated"] == 2
    # an older race.json without finalists: its winner goes on alone
    del saved["finalists"]
    from pipeline.race import race_finalists

    assert [e["name"] for e in race_finalists(saved)] == ["rank 1"]
    with pytest.raises(ConfigError, match="finalists"):
        pipeline_config_from_dict({**raced, "race": {**race, "finalists": 0}})


def test_a_run_directory_made_before_a_section_key_existed_resumes(tmp_path: Path) -> None:
    """A key added to a config section since a run directory was made (race.finalists) reads
    as its default there: the directory resumes; a changed value is still refused."""
    raced = {**SMALL, "select": "race", "race": {"lr": 1e-4}}
    cfg = pipeline_config_from_dict(raced)
    run_pipeline(cfg, tmp_path / "r", fake_search(2), FakeTrain())
    path = tmp_path / "r" / "config.json"
    saved = json.loads(path.read_text())
    del saved["race"]["finalists"]
    path.write_text(json.dumps(saved))
    assert run_pipeline(cfg, tmp_path / "r", fake_search(2), FakeTrain())["select"] == "race"
    changed = pipeline_config_from_dict({**raced, "race": {"lr": 1e-4, "finalists": 2}})
    with pytest.raises(ConfigError, match="another config"):
        run_pipeline(changed, tmp_path / "r", fake_search(2), FakeTrain())


def test_select_race_with_random_search_and_presets(tmp_path: Path) -> None:
    rnd = pipeline_config_from_dict(
        {
            **SMALL,
            "method": "random",
            "random_n": 3,
            "select": "race",
            "race": {"eta": 2, "lr": 1e-4},
        }
    )
    result = run_pipeline(rnd, tmp_path / "rnd", train_fn=FakeTrain())
    race = json.loads((tmp_path / "rnd" / "race" / "race.json").read_text())
    assert [e["origin"] for e in race["entrants"]] == ["random"] * 3 + ["preset"] * 2
    assert result["race"]["winner_name"] == race["winner_name"]
    # a preset has nothing to choose: select is ignored
    be = pipeline_config_from_dict({**SMALL, "method": "bert-entity", "select": "race"})
    result = run_pipeline(be, tmp_path / "be", train_fn=FakeTrain())
    assert result["select"] == "shared" and not (tmp_path / "be" / "race").exists()


def test_select_must_be_known() -> None:
    with pytest.raises(ConfigError, match="select"):
        pipeline_config_from_dict({**SMALL, "select": "vote"})
    with pytest.raises(ConfigError, match="race.*eta|eta"):
        pipeline_config_from_dict({**SMALL, "select": "race", "race": {"eta": 1}})


def test_pause_at_is_the_race_s_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pause_at"):
        pipeline_config_from_dict({**SMALL, "train": {"epochs": 1, "pause_at": 0.5}})


def test_select_does_not_change_a_run_that_cannot_race(tmp_path: Path) -> None:
    """A preset's run directory resumes whatever select says; a search's does not."""
    be = {**SMALL, "method": "bert-entity"}
    run_pipeline(pipeline_config_from_dict(be), tmp_path / "be", train_fn=FakeTrain())
    again = pipeline_config_from_dict({**be, "select": "race"})
    assert run_pipeline(again, tmp_path / "be", train_fn=FakeTrain())["method"] == "bert-entity"
    search = fake_search(2)
    run_pipeline(pipeline_config_from_dict(SMALL), tmp_path / "ar", search, FakeTrain())
    raced = pipeline_config_from_dict({**SMALL, "select": "race", "race": {"lr": 1e-4}})
    with pytest.raises(ConfigError, match=r"another config \(differs in \['race', 'select'\]\)"):
        run_pipeline(raced, tmp_path / "ar", search, FakeTrain())


def test_the_race_s_designs_are_written_out_so_older_run_directories_resume(
    tmp_path: Path,
) -> None:
    """``race.include`` unset is the task's baselines, written out in config.json: a run
    directory made when the default was the list itself resumes; a NER config gets spert-like."""
    raced = {**SMALL, "select": "race", "race": {"lr": 1e-4}}
    cfg = pipeline_config_from_dict(raced)
    assert cfg.race.include == ["bert-entity", "r-bert"]
    assert pipeline_config_from_dict({**raced, "task": "ner"}).race.include == ["spert-like"]
    search = fake_search(2)
    run_pipeline(cfg, tmp_path / "ar", search, FakeTrain())
    saved = json.loads((tmp_path / "ar" / "config.json").read_text())
    assert saved["race"]["include"] == ["bert-entity", "r-bert"]
    again = pipeline_config_from_dict(raced)
    assert run_pipeline(again, tmp_path / "ar", search, FakeTrain())["select"] == "race"


def test_a_run_tells_typed_events_in_order_with_each_candidates_rank(tmp_path: Path) -> None:
    from pipeline.events import Candidates, Done, Evaluated, SeedDone, TrialDone

    events: list = []
    cfg = pipeline_config_from_dict(SMALL)
    result = run_pipeline(
        cfg, tmp_path, search_fn=fake_search(3), train_fn=FakeTrain(), on_event=events.append
    )
    kinds = [type(e) for e in events]
    assert kinds[0] is Candidates and len(events[0].candidates) == 3
    assert kinds[-1] is Done and events[-1].result == result
    # per evaluated candidate: 2 HPO trials, 2 seeds, then its result; each carries its rank
    per_rank = [[type(e) for e in events[1:-1] if getattr(e, "rank", None) == r] for r in (1, 2)]
    assert per_rank == [[TrialDone, TrialDone, SeedDone, SeedDone]] * 2
    evaluated = [e.result["rank"] for e in events if isinstance(e, Evaluated)]
    assert evaluated == [1, 2]
    # a finished run still tells its result
    again: list = []
    run_pipeline(
        cfg, tmp_path, search_fn=fake_search(3), train_fn=FakeTrain(), on_event=again.append
    )
    assert [type(e) for e in again] == [Done]


def test_restrict_narrows_the_random_draws_and_the_search_and_older_folders_resume(
    tmp_path: Path,
) -> None:
    """restrict (span: standard here) holds for every stage that draws from the space: the
    random draws, the search's config; result.json records it; a run folder made before the
    key existed resumes when the key is left empty."""
    from pipeline.search_stage import search_config

    cfg = pipeline_config_from_dict(
        {**SMALL, "method": "random", "random_n": 4, "restrict": {"span": ["standard"]}}
    )
    result = run_pipeline(cfg, tmp_path / "r", train_fn=FakeTrain())
    assert {e["architecture"]["span"] for e in result["evaluated"]} == {"standard"}
    assert result["restrict"] == {"span": ["standard"]}
    scfg = search_config(pipeline_config_from_dict({**SMALL, "restrict": {"span": "standard"}}))
    assert scfg.restrict == {"span": ["standard"]}  # one way of writing it
    assert "span" not in scfg.search_space.decisions
    with pytest.raises(ConfigError, match="restrict.*set at the top level"):
        search_config(pipeline_config_from_dict({**SMALL, "search": {"restrict": {}}}))
    # an older run folder (no restrict key) resumes without one, and refuses one
    plain = pipeline_config_from_dict({**SMALL, "method": "random", "random_n": 2})
    run_pipeline(plain, tmp_path / "old", train_fn=FakeTrain())
    path = tmp_path / "old" / "config.json"
    saved = json.loads(path.read_text())
    del saved["restrict"]
    path.write_text(json.dumps(saved))
    assert run_pipeline(plain, tmp_path / "old", train_fn=FakeTrain())["restrict"] == {}
    narrowed = pipeline_config_from_dict(
        {**SMALL, "method": "random", "random_n": 2, "restrict": {"span": ["standard"]}}
    )
    with pytest.raises(ConfigError, match=r"another config \(differs in \['restrict'\]"):
        run_pipeline(narrowed, tmp_path / "old", train_fn=FakeTrain())


def test_restrict_is_written_one_way_and_must_leave_something_to_search() -> None:
    one = pipeline_config_from_dict({**SMALL, "restrict": {"span": "standard", "use_c0": False}})
    two = pipeline_config_from_dict(
        {**SMALL, "restrict": {"use_c0": [False], "span": ["standard"]}}
    )
    assert one.restrict == two.restrict == {"span": ["standard"], "use_c0": [False]}
    with pytest.raises(ConfigError, match="restrict: .* fixes every decision of space M3"):
        pipeline_config_from_dict({**SMALL, "space": "M3", "restrict": {"span": "markers"}})
    # a preset has nothing to search: the same restrict is fine there
    pipeline_config_from_dict(
        {**SMALL, "method": "bert-entity", "space": "M3", "restrict": {"span": "markers"}}
    )
    with pytest.raises(ConfigError, match=r"random_n: 4 exceeds the 3 distinct models of space M3"):
        pipeline_config_from_dict({**SMALL, "method": "random", "random_n": 4, "space": "M3"})


def test_a_restrict_outside_the_space_is_refused_as_the_config_is_read() -> None:
    with pytest.raises(ConfigError, match=r"config: restrict\.span: \['levitated'\] not among"):
        pipeline_config_from_dict({**SMALL, "restrict": {"span": ["levitated"]}})  # rc
    ner = pipeline_config_from_dict({**SMALL, "task": "ner", "restrict": {"span": ["levitated"]}})
    assert ner.search_space().fixed["span"] == "levitated"
