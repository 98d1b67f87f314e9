"""End-to-end searches with the tiny encoder on a planted synthetic dataset
(tests/strategies/planted.py)."""

from __future__ import annotations

import json

import pytest
import torch

from autorc_nni.architecture import Architecture
from autorc_nni.config import ConfigError
from strategies.search import run_search, search_config_from_dict
from tests.strategies.planted import small_search, write_planted


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return write_planted(tmp_path_factory.mktemp("planted"))


def _cfg(planted, out, **kw):
    return small_search(planted, out, format="opennre", **kw)


def test_search_finds_the_planted_design(planted, tmp_path):
    """Only part c1 carries the label: the controller learns to use c1, the top export uses it."""
    cfg = _cfg(planted, tmp_path)
    result = run_search(cfg)
    assert result.completed and result.steps == 64 and result.steps_per_epoch == 8
    p_c1 = result.probabilities["use_c1"]["True"]
    assert p_c1 > 0.9, result.probabilities
    top = Architecture.load(tmp_path / "architectures" / "rank1.json")
    assert top.use_c1
    meta = json.loads((tmp_path / "architectures" / "rank1.json").read_text())["_meta"]
    assert meta["rank"] == 1 and 0 <= meta["score"] <= 1 and 0 < meta["probability"] <= 1
    # architectures that ignore c1 cannot read the label: they rank below those that use it
    ranking = json.loads((tmp_path / "ranking.json").read_text())
    assert len(ranking) == 10 and [r["rank"] for r in ranking] == list(range(1, 11))
    with_c1 = [r["score"] for r in ranking if r["architecture"]["use_c1"]]
    without = [r["score"] for r in ranking if not r["architecture"]["use_c1"]]
    assert with_c1 and min(with_c1) >= max(without, default=0.0)
    assert sorted(p.name for p in (tmp_path / "architectures").iterdir()) == [
        "rank1.json",
        "rank2.json",
        "rank3.json",
    ]
    assert "| rank | score |" in (tmp_path / "ranking.md").read_text()
    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 64 and summary["greedy_architecture"]["use_c1"] is True
    # the k ranked candidates are k different models
    forms = {Architecture.from_dict(r["architecture"]).canonical() for r in ranking}
    assert len(forms) == 10 and summary["sampling"]["distinct"] == 10
    # TensorBoard: the policy as one chart per decision (custom scalars), a line per option
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.custom_scalar import layout_pb2

    acc = EventAccumulator(
        str(tmp_path / "tensorboard"), size_guidance={"tensors": 0, "scalars": 0}
    )
    acc.Reload()
    layout_tensor = acc.Tensors("custom_scalars__config__")[0].tensor_proto
    layout = layout_pb2.Layout.FromString(layout_tensor.string_val[0])
    policy = next(c for c in layout.category if c.title.startswith("controller policy"))
    charts = {ch.title: list(ch.multiline.tag) for ch in policy.chart}
    from search_spaces.spaces import space_decisions

    assert list(charts) == list(space_decisions("M2"))
    assert charts["use_c1"] == ["prob/use_c1/True", "prob/use_c1/False"]
    assert set(charts["use_c1"]) <= set(acc.Tags()["scalars"])
    # decision importance over the ranked candidates, written beside the ranking
    importance = json.loads((tmp_path / "importance.json").read_text())
    assert importance["n"] == 10 and importance["evaluator"] == "fanova"
    assert set(importance["constant"]) | {d["decision"] for d in importance["decisions"]} == set(
        space_decisions("M2")
    )
    md = (tmp_path / "ranking.md").read_text()
    assert "## Decision importance" in md and "![decision importance](importance.png)" in md
    assert (tmp_path / "importance.png").read_bytes()[:4] == b"\x89PNG"
    # k = 10 candidates all use c1 (the controller is sure of it): nothing to tell apart. Rank
    # k = 60 from the same trained search (a resume after the end only ranks again): a few
    # candidates without c1 come in, and c1 is what explains the score
    run_search(_cfg(planted, tmp_path, k=60, resume=True))
    importance = json.loads((tmp_path / "importance.json").read_text())
    assert importance["n"] == 60 and importance["note"] is None
    top = importance["decisions"][0]
    assert top["decision"] == "use_c1" and top["best_option"] == "True", importance["decisions"]
    assert top["importance"] > 0.5
    assert f"| use_c1 | {top['importance']:.3f} | True (" in (tmp_path / "ranking.md").read_text()


def test_a_failing_importance_keeps_the_ranking(tmp_path, monkeypatch):
    """The ranking is written whatever the importance does; the failure is said in ranking.md."""
    import autorc_nni.importance
    from strategies.search import RankedArchitecture, write_ranking

    def boom(*args, **kwargs):
        raise RuntimeError("no forest today")

    monkeypatch.setattr(autorc_nni.importance, "decision_importance", boom)
    (tmp_path / "importance.json").write_text("{}")  # a stale one from an earlier ranking
    ranked = [
        RankedArchitecture(i + 1, Architecture(use_c1=i % 2 == 0), 0.9 - 0.1 * i, 0.1, [])
        for i in range(3)
    ]
    write_ranking(ranked, _cfg(tmp_path, tmp_path, k=3, top_k=1), tmp_path, step=5)
    assert len(json.loads((tmp_path / "ranking.json").read_text())) == 3
    md = (tmp_path / "ranking.md").read_text()
    assert "| 3 | 0.7000 |" in md
    assert "## Decision importance" in md and "RuntimeError: no forest today" in md
    assert not (tmp_path / "importance.json").exists()
    monkeypatch.undo()
    write_ranking(ranked, _cfg(tmp_path, tmp_path, k=3, top_k=1), tmp_path, step=5)
    importance = json.loads((tmp_path / "importance.json").read_text())
    assert importance["n"] == 3 and "k is too small to say much" in importance["caution"]
    assert "k is too small to say much" in (tmp_path / "ranking.md").read_text()


def test_resume_after_kill_matches_uninterrupted_run(planted, tmp_path):
    kw = dict(epochs=3.0, checkpoint_every=5, k=4, top_k=2)
    full = run_search(_cfg(planted, tmp_path / "full", **kw))
    killed = run_search(_cfg(planted, tmp_path / "killed", stop_after_steps=13, **kw))
    assert not killed.completed and killed.steps == 13
    assert not (tmp_path / "killed" / "ranking.json").exists()
    saved = torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)
    assert saved["state"]["step"] == 10  # the last periodic checkpoint before the "kill"
    resumed = run_search(_cfg(planted, tmp_path / "killed", resume=True, **kw))
    assert resumed.completed and resumed.steps == full.steps == 24
    for k, v in full.controller_state.items():
        assert torch.equal(v, resumed.controller_state[k]), k
    assert [r.architecture for r in full.ranking] == [r.architecture for r in resumed.ranking]
    assert [r.score for r in full.ranking] == [r.score for r in resumed.ranking]


def test_resume_refuses_a_different_config(planted, tmp_path):
    run_search(_cfg(planted, tmp_path, epochs=1.0, stop_after_steps=3, checkpoint_every=1))
    with pytest.raises(ConfigError, match="lr: 0.001 -> 0.002"):
        run_search(_cfg(planted, tmp_path, epochs=1.0, lr=2e-3, resume=True))


def test_a_search_saved_before_the_new_keys_resumes_at_what_it_did(planted, tmp_path):
    """A checkpoint without restrict / negatives / group_text (a search saved before they
    existed) resumes with the values that reproduce it, and is refused with another."""
    import torch

    from autorc_nni.training import load_checkpoint

    run_search(_cfg(planted, tmp_path, epochs=1.0, stop_after_steps=3, checkpoint_every=1))
    ckpt = tmp_path / "checkpoint.pt"
    saved = load_checkpoint(ckpt)
    for key in ("restrict", "negatives", "group_text"):
        del saved["config"][key]
    torch.save(saved, ckpt)
    with pytest.raises(ConfigError, match=r"group_text: False -> True"):
        run_search(_cfg(planted, tmp_path, epochs=1.0, group_text=True, resume=True))
    assert run_search(_cfg(planted, tmp_path, epochs=1.0, resume=True)).completed


def test_search_config_rejects_unknown_keys_and_methods():
    with pytest.raises(ConfigError, match="unknown key"):
        search_config_from_dict({"methd": "autorc"})
    with pytest.raises(Exception, match="unknown search method 'enas'"):
        search_config_from_dict({"method": "enas"})
    with pytest.raises(ConfigError, match="top_k"):
        search_config_from_dict({"k": 3, "top_k": 5})
    assert search_config_from_dict({"method": "naive-enas"}).num_copies == 1
    assert search_config_from_dict({"method": "autorc", "copies": 3}).num_copies == 3


@pytest.mark.slow
def test_search_on_real_semeval10(data_root, tmp_path):
    """The registered dataset path end to end (reader, featurizer, official label set)."""
    cfg = search_config_from_dict(
        {"dataset": "semeval10", "data_dir": str(data_root), "encoder": "tiny", "space": "M"}
        | {"epochs": 1.0, "batch_size": 8, "limit_train": 256, "limit_dev": 128, "max_len": 128}
        | {"k": 3, "top_k": 2, "seed": 0, "out": str(tmp_path), "progress": False}
    )
    result = run_search(cfg)
    assert result.completed and result.steps == 8
    assert len(result.top) == 2 and all(0.0 <= r.score <= 1.0 for r in result.ranking)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["data"]["train"]["featurized"] == 256
    assert summary["search_warmup_steps"] == 12 and summary["copies"] == 2


class _StubController:
    """Emits samples of M1 that differ only in the poolers of parts nobody reads, plus
    ``n_models`` genuinely different models."""

    def __init__(self, n_models: int) -> None:
        self.n_models = n_models
        self.i = 0

    def sample(self, generator=None):
        import random

        from search_spaces.spaces import space_decisions

        rnd = random.Random(self.i)
        self.i += 1
        s = {k: v[0] for k, v in space_decisions("M1").items()}
        s.update(use_e1=True, use_e2=True, use_c0=False, use_c1=False, use_c2=False)
        s["pool_e1"] = ("avg", "max", "self_attn", "dr", "start")[rnd.randrange(self.n_models)]
        for c in ("c0", "c1", "c2"):  # never read: any pooler is the same model
            s[f"pool_{c}"] = rnd.choice(("avg", "max", "self_attn", "dr", "start"))
        return s, None, None


def test_ranking_samples_are_functionally_distinct_and_a_narrow_support_is_said():
    import torch

    from search_spaces.spaces import get_space
    from strategies.search import sample_distinct

    g = torch.Generator().manual_seed(0)
    samples, info = sample_distinct(
        _StubController(3), 8, get_space("M1"), g, max_draws_per_model=20
    )
    # raw samples differ in unread poolers, yet only 3 models exist: 3 ranked, not 8
    assert len(samples) == 3 and info == {"requested": 8, "distinct": 3, "draws": 160}
    assert len({a.pool_e1 for a in samples}) == 3
    assert all(a == a.canonical() for a in samples)
    samples, info = sample_distinct(_StubController(5), 4, get_space("M1"), g)
    assert info["distinct"] == 4 and info["draws"] < 4 * 200


def test_a_finished_search_copied_elsewhere_resumes_there(planted, tmp_path):
    """Moving or copying a search folder keeps it resumable (the race and the shared runs of
    results/race-cpu share one search this way): the copy only ranks again, the same way."""
    import shutil

    first = run_search(_cfg(planted, tmp_path / "a", epochs=1.0, k=4, top_k=2))
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / ".autorc.lock").unlink(missing_ok=True)
    again = run_search(_cfg(planted, tmp_path / "b", epochs=1.0, k=4, top_k=1, resume=True))
    assert again.search_seconds < first.search_seconds and again.steps == first.steps
    assert [r.architecture for r in again.ranking] == [r.architecture for r in first.ranking]
    assert sorted(p.name for p in (tmp_path / "b" / "architectures").iterdir()) == ["rank1.json"]


def test_negatives_is_checked_as_each_task_counts_it():
    with pytest.raises(ConfigError, match="negatives must be >= 0"):
        search_config_from_dict({"negatives": -1})  # rc: negative statements a positive one
    with pytest.raises(ConfigError, match=r"negatives: 0 \(task_options.neg_per_sentence must"):
        search_config_from_dict({"task": "ner", "negatives": 0})
    with pytest.raises(ConfigError, match="negatives: ner counts neg_per_sentence in whole"):
        search_config_from_dict({"task": "ner", "negatives": 2.5})
    coref = search_config_from_dict({"task": "coref", "negatives": 1.5})
    assert coref.search_data_config().task_options.neg_ratio == 1.5
    ner = search_config_from_dict(
        {"task": "ner", "negatives": 10, "task_options": {"max_span_len": 3}}
    )
    opts = ner.search_data_config().task_options
    assert (opts.neg_per_sentence, opts.max_span_len) == (10, 3)
    assert ner.data.task_options.neg_per_sentence == 100  # the trainings' own stay


def test_rc_negatives_thin_the_negative_label_in_the_search_only(planted, tmp_path):
    """rc: negatives N keeps at most N statements of the negative label a positive one, in the
    search's training and validation rows (seeded); the counts are in summary.json."""
    import json

    run_search(_cfg(planted, tmp_path / "all", epochs=0.25, k=2, top_k=1))
    run_search(_cfg(planted, tmp_path / "thin", epochs=0.25, k=2, top_k=1, negatives=0.1))
    every = json.loads((tmp_path / "all" / "summary.json").read_text())
    thin = json.loads((tmp_path / "thin" / "summary.json").read_text())
    for s in (every, thin):
        assert s["validation_rows"] > s["validation_positives"] > 0
    assert thin["validation_positives"] == every["validation_positives"]
    negatives = thin["validation_rows"] - thin["validation_positives"]
    assert negatives == round(0.1 * thin["validation_positives"])
    assert thin["data"]["train"]["examples"] < every["data"]["train"]["examples"]
