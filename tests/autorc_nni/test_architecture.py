"""The Architecture record: validation, JSON round trip, presets, derived views, ``arch show``."""

from __future__ import annotations

import json
import math
import random

import pytest

from autorc_nni.architecture import (
    DECISIONS,
    FAMILIES,
    FORMAT_NAMES,
    PARTS,
    POOLER_NAMES,
    PRESETS,
    SLOTS,
    Architecture,
    ArchitectureError,
    readable,
    resolve_architecture,
    space_size,
)
from trial.cli import main


def random_architectures(n: int, seed: int = 0) -> list[Architecture]:
    rng, out = random.Random(seed), []
    while len(out) < n:
        try:
            out.append(Architecture(**{k: rng.choice(v) for k, v in DECISIONS.items()}))
        except ArchitectureError:
            continue
    return out


def test_fields_are_the_decisions():
    assert list(Architecture().to_dict()) == list(DECISIONS)


@pytest.mark.parametrize("arch", [*PRESETS.values(), *random_architectures(20)])
def test_json_round_trip(tmp_path, arch):
    assert Architecture.from_dict(json.loads(arch.to_json())) == arch
    arch.save(tmp_path / "a.json", meta={"score": 0.9, "rank": 1})
    assert Architecture.load(tmp_path / "a.json") == arch
    assert json.loads((tmp_path / "a.json").read_text())["_meta"] == {"score": 0.9, "rank": 1}
    assert resolve_architecture(str(tmp_path / "a.json")) == arch


def test_json_is_readable():
    d = json.loads(PRESETS["r-bert"].to_json())
    assert d["span"] == "markers" and d["pool_e1"] == "avg" and d["use_c0"] is True


def test_no_feature_is_rejected_with_a_reason():
    with pytest.raises(ArchitectureError, match="no feature"):
        Architecture(use_e1=False, use_e2=False)
    # an interaction alone is a feature
    assert Architecture(use_e1=False, use_e2=False, inter_c1="dot").slots() == ["c1e1", "c1e2"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pool_e1": "mean"}, "decision 'pool_e1': 'mean' is not one of"),
        ({"use_c0": "yes"}, "decision 'use_c0': 'yes'"),
        ({"use_c0": 1}, "decision 'use_c0': 1"),
        ({"spam": "markers"}, r"unknown decision\(s\) \['spam'\]"),
        ({"use_e1": False, "use_e2": False}, "no feature"),
    ],
)
def test_invalid_records_name_the_decision(tmp_path, data, message):
    with pytest.raises(ArchitectureError, match=message):
        Architecture.from_dict(data)
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(ArchitectureError, match="bad.json"):
        Architecture.load(tmp_path / "bad.json")


def test_file_errors(tmp_path):
    with pytest.raises(ArchitectureError, match="no such architecture file"):
        Architecture.load(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text('{"span": "markers",\n  oops}')
    with pytest.raises(ArchitectureError, match="line 2: invalid JSON"):
        Architecture.load(tmp_path / "broken.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ArchitectureError, match="expected a JSON object"):
        Architecture.load(tmp_path / "list.json")
    with pytest.raises(ArchitectureError, match="neither a preset"):
        resolve_architecture("no-such-preset")


def test_presets_are_the_baselines():
    be, rb = PRESETS["bert-entity"], PRESETS["r-bert"]
    assert (be.span, be.posenc, be.pool_e1, be.pool_e2, be.slots()) == (
        "markers",
        "none",
        "start",
        "start",
        ["e1", "e2"],
    )
    assert (rb.pool_e1, rb.pool_e2, rb.pool_c0, rb.slots()) == (
        "avg",
        "avg",
        "start",
        ["e1", "e2", "c0"],
    )
    assert resolve_architecture("r-bert") is rb


def test_slots_needed_parts_and_interactions():
    arch = Architecture(use_e1=False, use_e2=True, use_c2=True, inter_e1e2="dot", inter_c0="minus")
    assert arch.slots() == ["e2", "c2", "e1e2", "c0e1", "c0e2"]
    assert set(arch.slots()) <= set(SLOTS)
    assert arch.needed_parts() == ["e1", "e2", "c0", "c2"]
    assert arch.interaction("e1e2") == "dot" and arch.interaction("c0e2") == "minus"
    assert [arch.pooler(p) for p in PARTS] == ["start", "start", "start", "avg", "avg"]


def test_space_size_read_literally():
    counts = {label: len(options) for label, options in DECISIONS.items()}
    assert space_size() == math.prod(counts.values())
    assert counts["pool_c2"] == len(POOLER_NAMES) and counts["use_c2"] == 2


def test_readable_labels_come_from_the_family_tables():
    assert readable("pool_e1", "dr") == POOLER_NAMES["dr"] == "dynamic-routing pool"
    assert readable("span", "standard") == FORMAT_NAMES["standard"]
    assert readable("use_c0", True) == "True"
    assert set(FAMILIES) == set(DECISIONS)


def test_describe_and_cli_show(capsys):
    text = PRESETS["r-bert"].describe()
    assert "entity markers" in text and "avg pool" in text and "e1, e2, c0" in text
    assert main(["arch", "show", "r-bert"]) == 0
    out = capsys.readouterr().out
    assert text in out
    assert Architecture.from_dict(json.loads(out[out.index("{") :])) == PRESETS["r-bert"]


# -- canonical form: decisions that cannot change the function ---------------------------------
def test_canonical_ignores_poolers_of_parts_never_read() -> None:
    a = Architecture(pool_c1="avg", pool_c2="max")  # BERT-entity-like: c0..c2 never read
    b = Architecture(pool_c1="dr", pool_c2="self_attn", pool_c0="avg")
    assert a != b and a.same_model(b) and a.canonical() == b.canonical()
    assert a.canonical().pool_c1 == a.canonical().pool_c2 == "start"
    # a part read through an interaction is computed: its pooler matters
    c = Architecture(inter_c2="dot", pool_c2="dr")
    d = Architecture(inter_c2="dot", pool_c2="avg")
    assert not c.same_model(d)
    # the used parts' poolers, posenc and span always matter
    assert not Architecture(pool_e1="avg").same_model(Architecture(pool_e1="max"))
    assert not Architecture(posenc="add").same_model(Architecture())
    # canonical is idempotent and keeps the function's decisions
    assert c.canonical().canonical() == c.canonical() and c.canonical().slots() == c.slots()


def test_canonical_classes_match_the_distinct_space_size() -> None:
    """Counting canonical forms over a small space equals ``distinct_space_size``."""
    import itertools

    from search_spaces.spaces import SearchSpace, distinct_space_size

    free = {
        "pool_e1": ("avg", "max"),
        "pool_c2": ("avg", "dr", "start"),
        "use_c2": (True, False),
        "inter_c2": ("none", "dot"),
    }
    fixed = {k: v for k, v in Architecture().to_dict().items() if k not in free}
    space = SearchSpace("tiny", "test", free, fixed)
    forms = {
        Architecture(**fixed, **dict(zip(free, combo, strict=True))).canonical()
        for combo in itertools.product(*free.values())
    }
    assert len(forms) == distinct_space_size(space) == 2 * (1 + 3 * 3)


def test_describe_and_short_show_a_pooler_read_only_through_an_interaction() -> None:
    a = Architecture(inter_c2="dot", pool_c2="dr")
    b = Architecture(inter_c2="dot", pool_c2="avg")
    assert "dynamic-routing pool" in a.describe() and "via interaction" in a.describe()
    assert a.describe() != b.describe()
    assert "(c2:dr)" in a.short() and a.short() != b.short()
    # a part nobody reads shows no pooler: the same model prints alike
    assert Architecture(pool_c1="max").describe() == Architecture(pool_c1="dr").describe()


def test_learned_presets_load_from_json_and_name_their_source(tmp_path, monkeypatch, capsys):
    import autorc_nni.architecture as A

    monkeypatch.setattr(A, "PRESETS", dict(A.PRESETS))
    monkeypatch.setattr(A, "PRESET_SOURCES", dict(A.PRESET_SOURCES))
    learned = Architecture(span="tokens", pool_e1="max", use_c1=True, inter_c2="dot")
    learned.save(
        tmp_path / "ar-toyset.json",
        meta={
            "method": "autorc",
            "dataset": "toyset",
            "source_run": "results/x/toyset-autorc",
            "test_mean": 0.81,
            "test_std": 0.01,
            "n_seeds": 3,
        },
    )
    assert A._load_learned_presets(tmp_path) == ["ar-toyset"]
    assert A.resolve_architecture("ar-toyset") == learned
    assert "learned by autorc on toyset; run results/x/toyset-autorc" in A.preset_source(
        "ar-toyset"
    )
    # a learned preset may not shadow a hand-made one
    (tmp_path / "r-bert.json").write_text(learned.to_json())
    with pytest.raises(ArchitectureError, match="already exists"):
        A._load_learned_presets(tmp_path)
    from trial.commands import arch as arch_cmd

    monkeypatch.setattr(arch_cmd, "PRESETS", A.PRESETS)
    monkeypatch.setattr(arch_cmd, "preset_source", A.preset_source)
    arch_cmd._list(None)
    out = capsys.readouterr().out
    assert "ar-toyset" in out and "bert-entity" in out and "learned by autorc" in out


def test_arch_preset_writes_a_runs_best_architecture(tmp_path, capsys):
    import autorc_nni.architecture as A
    from pipeline.protocol import pipeline_config_from_dict, run_pipeline

    cfg = pipeline_config_from_dict(
        {
            "method": "r-bert",
            "dataset": "toyset",
            "encoder": "tiny",
            "hpo": {"trials": 1},
            "seeds": {"n": 2},
        }
    )

    def fake(kw, report=None):
        return {
            "dev": {"score": 0.5 + kw["seed"] / 10},
            "test": {"score": 0.4},
            "metric": "micro_f1",
        }

    run_pipeline(cfg, tmp_path / "run", train_fn=fake)
    out = tmp_path / "presets" / "ar-toyset.json"
    assert main(["arch", "preset", str(tmp_path / "run"), "-o", str(out)]) == 0
    meta = json.loads(out.read_text())["_meta"]
    assert meta["dataset"] == "toyset" and meta["source_run"] == str(tmp_path / "run")
    assert meta["n_seeds"] == 2 and meta["test_mean"] == pytest.approx(0.4)
    assert A.Architecture.load(out) == PRESETS["r-bert"]
    assert main(["arch", "preset", str(tmp_path), "-o", str(out)]) == 2
    assert "no such result" in capsys.readouterr().err


def test_shipped_learned_presets_are_listed_with_their_source(capsys):
    """The AR_<dataset> architectures of results/ ship as presets usable as --arch NAME."""
    from autorc_nni.architecture import PRESET_SOURCES, preset_source

    shipped = sorted(n for n in PRESETS if n.startswith("ar-"))
    assert "ar-semeval10" in shipped
    for name in shipped:
        meta = PRESET_SOURCES[name]
        assert name == f"ar-{meta['dataset']}" and meta["method"] == "autorc"
        assert meta["source_run"] and meta["results"].startswith("results/")
        assert resolve_architecture(name) == PRESETS[name]
        assert main(["arch", "show", name]) == 0
        assert f"preset {name}: learned by autorc on {meta['dataset']}" in capsys.readouterr().out
        assert "hand-made" not in preset_source(name)
