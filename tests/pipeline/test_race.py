"""The race (pipeline.race): successive halving on stand-alone training, promotion by resumption,
pruned checkpoints deleted, resumable after a kill at any training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autorc_nni.architecture import PRESETS, Architecture
from autorc_nni.config import ConfigError
from pipeline.evaluation import HPOConfig, HPOSpace
from pipeline.race import Entrant, RaceConfig, entrant_list, run_race


class FakeTrain:
    """Trains 'to a budget': remembers how far each output folder got; the dev score at budget
    b is quality(arch) * b (+ a late bloomer: entrant quality grows at the last rung)."""

    def __init__(self, quality: dict[str, float], late: dict[str, float] | None = None):
        self.quality, self.late = quality, late or {}
        self.trained: dict[str, list[tuple[float, float]]] = {}  # out -> (from, to) budgets
        self.kill_at: int | None = None
        self.calls = 0

    def __call__(self, kw: dict, report=None) -> dict:
        self.calls += 1
        if self.kill_at is not None and self.calls == self.kill_at:
            raise KeyboardInterrupt("killed")
        out = Path(kw["out"])
        name = Architecture.load(kw["arch"]).short()
        b = kw["pause_at"] or 1.0
        done = self.trained.setdefault(kw["out"], [])
        start = done[-1][1] if done else 0.0
        assert kw["resume"] is True and b > start, (kw["out"], b, start)
        done.append((start, b))
        dev = self.quality[name] * b + (self.late.get(name, 0.0) if b == 1.0 else 0.0)
        if b < 1.0:
            (out / "checkpoint.pt").write_text("ckpt")
            (out / "model").mkdir(exist_ok=True)
            return {"paused": True, "dev": {"score": dev}, "global_step": int(100 * b)}
        (out / "checkpoint.pt").unlink(missing_ok=True)
        return {"dev": {"score": dev}, "test": {"score": dev - 0.01}, "metric": "micro_f1"}


ARCHS = [
    Architecture(use_c1=True),
    Architecture(use_c1=True, inter_e1e2="dot"),
    Architecture(span="standard", use_c1=True),
    Architecture(span="tokens"),
    PRESETS["bert-entity"],
    PRESETS["r-bert"],
]


def entrants() -> list[Entrant]:
    names = ["rank 1", "rank 2", "rank 3", "best tokens"]
    return entrant_list(
        [Entrant(a, "searched", n, 0.5) for a, n in zip(ARCHS[:4], names, strict=True)],
        ["bert-entity", "r-bert"],
    )


def quality(*values: float) -> dict[str, float]:
    return {a.short(): v for a, v in zip(ARCHS, values, strict=True)}


def race_cfg(**kw) -> RaceConfig:
    return RaceConfig(**{"eta": 2, "rungs": [0.25, 0.5, 1.0], **kw})


def test_successive_halving_promotes_by_resuming_and_frees_the_pruned(tmp_path):
    fake = FakeTrain(quality(0.6, 0.9, 0.5, 0.4, 0.8, 0.7))
    r = run_race(entrants(), {"dataset": "x"}, {"lr": 1e-3}, race_cfg(), 1000, tmp_path, fake)
    # 6 at 1/4 -> the best 3 at 1/2 -> the best 2 at the full budget
    stopped = {e["name"]: e["stopped_at"] for e in r["entrants"]}
    assert stopped == {
        "rank 1": 0,
        "rank 2": 2,
        "rank 3": 0,
        "best tokens": 0,
        "bert-entity": 2,
        "r-bert": 1,
    }
    assert r["winner_name"] == "rank 2" and r["winner_origin"] == "searched"
    # nothing trained twice: every folder's budgets chain from 0 up to where it stopped
    for chunks in fake.trained.values():
        assert chunks[0][0] == 0.0 and all(
            a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False)
        )
    assert fake.calls == 6 + 3 + 2
    assert r["cost_trainings"] == pytest.approx(3 * 0.25 + 1 * 0.5 + 2 * 1.0)
    # a stopped entrant's checkpoint and model are gone; its rung scores stay
    for e in r["entrants"]:
        d = Path(e["dir"])
        assert not (d / "checkpoint.pt").exists()
        assert (d / "model").exists() == (e["stopped_at"] == 2)
        assert len(list(d.glob("rung_*.json"))) == e["stopped_at"] + 1
    assert r["entrants"][1]["dev"] == pytest.approx([0.225, 0.45, 0.9])
    assert r["entrants"][1]["full_test"] == pytest.approx(0.89)
    assert r["setting"] == {"lr": 1e-3} and r["train_seed"] == 1000
    # done: a re-run reads race.json back
    assert run_race(entrants(), {}, {}, race_cfg(), 1000, tmp_path, fake) == r
    assert fake.calls == 11


def test_the_full_budget_decides_and_a_hand_made_design_may_win(tmp_path):
    """A late bloomer among the finalists wins on the full budget; here the preset."""
    fake = FakeTrain(
        quality(0.6, 0.9, 0.5, 0.4, 0.8, 0.7), late={PRESETS["bert-entity"].short(): 0.2}
    )
    r = run_race(entrants(), {}, {}, race_cfg(), 1000, tmp_path, fake)
    assert r["winner_name"] == "bert-entity" and r["winner_origin"] == "preset"


@pytest.mark.parametrize("kill_at", [1, 4, 7, 8, 10, 11])
def test_a_race_killed_at_any_training_resumes_to_the_same_end(tmp_path, kill_at):
    q = quality(0.6, 0.9, 0.5, 0.4, 0.8, 0.7)
    clean = run_race(entrants(), {}, {}, race_cfg(), 1000, tmp_path / "clean", FakeTrain(q))
    fake = FakeTrain(q)
    fake.kill_at = kill_at
    with pytest.raises(KeyboardInterrupt):
        run_race(entrants(), {}, {}, race_cfg(), 1000, tmp_path / "cut", fake)
    fake.kill_at = None
    fake.calls = 0
    again = run_race(entrants(), {}, {}, race_cfg(), 1000, tmp_path / "cut", fake)
    assert fake.calls == 11 - (kill_at - 1)  # the finished rungs are read back, not retrained
    strip = lambda r: json.loads(json.dumps(r).replace("/cut/", "/clean/"))  # noqa: E731
    assert strip({k: v for k, v in again.items() if k != "seconds"}) == {
        k: v for k, v in clean.items() if k != "seconds"
    }


def test_a_preset_the_search_found_races_once():
    es = entrant_list(
        [Entrant(PRESETS["r-bert"], "searched", "rank 1", 0.9)], ["bert-entity", "r-bert"]
    )
    assert [e.name for e in es] == ["rank 1", "bert-entity"]
    assert es[0].also == ["r-bert"]


def test_the_setting_comes_from_the_race_or_a_one_point_grid():
    one = HPOConfig(space=HPOSpace(lr=[2e-4], batch_size=[32], warmup=[0.8]))
    assert RaceConfig().setting(one) == {"lr": 2e-4, "batch_size": 32, "warmup": 0.8}
    grid = HPOConfig()
    assert RaceConfig().setting(grid) == {}  # TrainConfig's (the encoder's lr) then
    assert RaceConfig(lr=1e-4).setting(grid) == {"lr": 1e-4}


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"rungs": [0.5, 0.25, 1.0]}, "rungs"),
        ({"rungs": [0.25, 0.5]}, "rungs"),
        ({"rungs": [0.0, 1.0]}, "rungs"),
        ({"eta": 1}, "eta"),
        ({"top": 0}, "top"),
        ({"format_draws": -1}, "format_draws"),
        ({"include": ["no-such-design"]}, "include"),
        ({"lr": 0.0}, "lr"),
    ],
)
def test_bad_race_settings_name_the_key(kw, match):
    with pytest.raises(ConfigError, match=match):
        RaceConfig(**kw)


class ZeroF1Train(FakeTrain):
    """Every entrant scores dev 0 (all predict the negative label); their dev log losses
    differ: ``loss[arch]``, lower for the better model."""

    def __init__(self, loss: dict[str, float]):
        super().__init__({a.short(): 0.0 for a in ARCHS})
        self.loss = loss

    def __call__(self, kw: dict, report=None) -> dict:
        result = super().__call__(kw, report)
        result["dev"]["loss"] = self.loss[Architecture.load(kw["arch"]).short()]
        return result


def test_equal_rung_scores_are_broken_by_the_dev_log_loss(tmp_path):
    """On a rung where every entrant scores 0 the race promotes by dev log loss (here R-BERT,
    the last entrant, then BERT-entity), not by entrant order; race.json records the losses."""
    losses = quality(0.9, 0.8, 0.7, 0.95, 0.5, 0.3)
    r = run_race(
        entrants(), {"dataset": "x"}, {"lr": 1e-3}, race_cfg(), 1000, tmp_path, ZeroF1Train(losses)
    )
    assert r["winner_name"] == "r-bert"
    stopped = {e["name"]: e["stopped_at"] for e in r["entrants"]}
    assert stopped["r-bert"] == 2 and stopped["bert-entity"] == 2 and stopped["rank 1"] == 0
    assert r["entrants"][-1]["dev_loss"] == [0.3, 0.3, 0.3]
    # a rung file written before the loss existed ranks after those with one, then by order
    (tmp_path / "entrants" / "00" / "rung_0.json").write_text(json.dumps({"dev": 0.0}))
    from pipeline.race import _rank_key

    dirs = [tmp_path / "entrants" / f"{i:02d}" for i in range(6)]
    scores = [{0: 0.0} for _ in range(6)]
    assert sorted(range(6), key=lambda i: _rank_key(scores, dirs, i, 0))[-1] == 0
