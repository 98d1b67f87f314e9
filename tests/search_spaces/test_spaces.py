"""The search spaces M, M1, M2, M3 as data, their sizes, samples and ``autorc space``."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from autorc_nni.architecture import (
    DECISIONS,
    INTERACTION_NAMES,
    PAPER_FORMATS,
    POOLER_NAMES,
    POSENC_NAMES,
    PRESETS,
    Architecture,
    ArchitectureError,
    space_size,
)
from search_spaces import spaces as S
from trial.cli import main


def _all_samples(name):
    d = S.space_decisions(name)
    for combo in itertools.product(*d.values()):
        yield dict(zip(d, combo, strict=True))


def test_spaces_are_sub_tables_of_decisions_in_controller_order():
    for name in S.SPACES:
        free, fixed = S.space_decisions(name), S.fixed_values(name)
        assert set(free) | set(fixed) == set(DECISIONS) and not set(free) & set(fixed)
        assert list(free) == [d for d in DECISIONS if d in free]  # controller order
        for label, options in free.items():
            # the input format: the paper's three (levitated markers are a task's addition)
            assert options == (PAPER_FORMATS if label == "span" else DECISIONS[label])
    assert S.space_decisions("M") == {**DECISIONS, "span": PAPER_FORMATS}
    assert S.fixed_values("M") == {}
    assert "levitated" in DECISIONS["span"]
    fixed_span = S._space("F", "the input format fixed", {"span": "standard"})
    assert "span" not in fixed_span.decisions and fixed_span.fixed["span"] == "standard"
    for task, spans in (("rc", PAPER_FORMATS), ("ner", ("markers", "standard", "levitated"))):
        assert S.task_space("M", task).decisions["span"] == spans


def test_reduced_spaces_fix_what_table_2_says():
    inter = {"inter_e1e2", "inter_c0", "inter_c1", "inter_c2"}
    pools = {f"pool_{p}" for p in ("e1", "e2", "c0", "c1", "c2")}
    ctx = {"use_c0", "use_c1", "use_c2"}
    m1, m2, m3 = (S.fixed_values(n) for n in ("M1", "M2", "M3"))
    assert m1 == dict.fromkeys(inter, "none")
    assert m2 == m1 | dict.fromkeys(pools, "start")
    # M3: no context, entity features as BERT-entity has them; only the input format is free
    assert m3 == m2 | dict.fromkeys(ctx, False) | {"posenc": "none", "use_e1": True, "use_e2": True}
    assert list(S.space_decisions("M3")) == ["span"]


def test_m3_with_markers_is_bert_entity():
    """The paper's Table 2 reading: M3 with the input format fixed to markers is BERT-entity."""
    arch = S.to_architecture({"span": "markers"}, "M3")
    assert arch.same_model(PRESETS["bert-entity"])
    assert S.space_size("M3") == S.valid_space_size("M3") == S.distinct_space_size("M3") == 3


# Option counts of each family, read from the tables (a new pooler changes P, not these tests).
F, E, P, X = (len(t) for t in (PAPER_FORMATS, POSENC_NAMES, POOLER_NAMES, INTERACTION_NAMES))


def test_literal_sizes():
    # the paper's M: span, posenc, 5 poolers, 5 switches, e1e2 and 3 context interactions
    paper = {**DECISIONS, "span": PAPER_FORMATS}
    assert S.space_size("M") == space_size(paper) == F * E * P**5 * 2**5 * X * X**3
    assert S.space_size("M1") == F * E * P**5 * 2**5
    assert S.space_size("M2") == F * E * 2**5
    assert S.space_size("M3") == F


def test_docs_state_the_sizes_the_tables_give():
    """docs/design.md §3 prints M's three counts; they must be the ones computed now."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()
    for size in (S.space_size("M"), S.valid_space_size("M"), S.distinct_space_size("M")):
        assert f"{size:,}" in text


@pytest.mark.parametrize("name", ["M2", "M3"])
def test_valid_and_distinct_sizes_match_enumeration(name):
    valid = [s for s in _all_samples(name) if S.is_valid(s, name)]
    assert S.valid_space_size(name) == len(valid)
    assert S.distinct_space_size(name) == len(valid)  # no free pooler: every valid point differs


def test_valid_and_distinct_sizes_closed_form():
    # Invalid = every feature off; the other decisions (span, posenc, 5 poolers) stay free.
    assert S.valid_space_size("M") == S.space_size("M") - F * E * P**5
    assert S.valid_space_size("M1") == F * E * P**5 * (2**5 - 1)
    # M1: a used part has P poolers, an unused one's pooler is irrelevant:
    # sum_k C(5,k) P^k = (P + 1)^5, less the all-off point.
    assert S.distinct_space_size("M1") == F * E * ((P + 1) ** 5 - 1)
    assert S.distinct_space_size("M") < S.valid_space_size("M")


def test_to_architecture_completes_with_fixed_values():
    sample = {
        "span": "tokens",
        "posenc": "add",
        "use_e1": True,
        "use_e2": False,
        "use_c0": False,
        "use_c1": False,
        "use_c2": False,
    }
    arch = S.to_architecture(sample, "M2")
    assert arch == Architecture(
        span="tokens",
        posenc="add",
        use_e1=True,
        use_e2=False,
        pool_e1="start",
        pool_e2="start",
        pool_c0="start",
        pool_c1="start",
        pool_c2="start",
    )
    assert S.from_architecture(arch, "M2") == sample  # and back
    assert S.to_architecture({"span": "tokens"}, "M3") == Architecture(
        span="tokens",
        pool_e1="start",
        pool_e2="start",
        pool_c0="start",
        pool_c1="start",
        pool_c2="start",
    )


def test_bert_entity_is_in_m3_and_r_bert_is_not():
    assert S.from_architecture(PRESETS["bert-entity"], "M3")["span"] == "markers"
    with pytest.raises(S.SearchSpaceError, match="not in space M3"):
        S.from_architecture(PRESETS["r-bert"], "M3")
    sample = S.from_architecture(PRESETS["r-bert"], "M1")
    assert S.to_architecture(sample, "M1") == PRESETS["r-bert"]


def test_bad_samples_name_what_is_wrong():
    good = {
        "span": "markers",
        "posenc": "none",
        "use_e1": True,
        "use_e2": True,
        "use_c0": False,
        "use_c1": False,
        "use_c2": False,
    }
    with pytest.raises(S.SearchSpaceError, match=r"missing decision\(s\) \['use_e2'\]"):
        S.to_architecture({k: v for k, v in good.items() if k != "use_e2"}, "M2")
    with pytest.raises(S.SearchSpaceError, match="are fixed in M3"):
        S.to_architecture({"span": "markers", "use_c0": True}, "M3")
    with pytest.raises(S.SearchSpaceError, match="posenc='sum'"):
        S.to_architecture(good | {"posenc": "sum"}, "M2")
    with pytest.raises(S.SearchSpaceError, match="use_e1=1"):
        S.to_architecture(good | {"use_e1": 1}, "M2")  # not a bool
    with pytest.raises(ArchitectureError, match="no feature"):
        S.to_architecture(good | {"use_e1": False, "use_e2": False}, "M2")
    assert S.is_valid(good, "M2")
    assert not S.is_valid(good | {"use_e1": False, "use_e2": False}, "M2")
    assert not S.is_valid(good | {"extra": 1}, "M2")
    with pytest.raises(S.SearchSpaceError, match="unknown search space 'M4'"):
        S.get_space("M4")


def test_autorc_space_prints_table_and_both_counts(capsys):
    assert main(["space"]) == 0
    out = capsys.readouterr().out
    for label, options in S.space_decisions("M").items():
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(label + " "))
        assert f"{len(options)}:" in line and all(str(o) in line for o in options)
    assert "72,900,000" in out and "72,871,875" in out
    assert "1.64e+08" in out
    assert f"{S.distinct_space_size('M'):,}" in out


def test_autorc_space_reduced(capsys):
    assert main(["space", "--space", "M3"]) == 0
    out = capsys.readouterr().out
    assert ": 3" in out and "1.64e" not in out
    assert "pool_c1" in out.split("fixed decisions:")[1]
    assert math.prod(len(o) for o in S.space_decisions("M3").values()) == 3


def test_restrict_keeps_the_named_options_and_fixes_a_decision_left_with_one() -> None:
    ner = S.task_space("M", "ner", {"span": ["levitated", "standard"]})
    assert ner.decisions["span"] == ("standard", "levitated")  # the space's order
    assert "restricted to span in {standard, levitated}" in ner.description
    one = S.task_space("M", "rc", {"span": "standard", "pool_e1": ["avg", "max"]})
    assert "span" not in one.decisions and one.fixed["span"] == "standard"
    assert one.decisions["pool_e1"] == ("avg", "max")
    assert S.space_size(one) == S.space_size("M") // 3 // 5 * 2
    # a fixed decision restricted to its own value is kept as it is
    assert S.task_space("M3", "rc", {"use_e1": [True]}).fixed["use_e1"] is True
    assert S.task_space("M", "rc", {}) is S.get_space("M")
    # what a restricted search draws stays inside the restriction
    assert S.to_architecture({d: o[0] for d, o in one.decisions.items()}, one).span == "standard"


@pytest.mark.parametrize(
    ("restrict", "match"),
    [
        ({"spam": ["x"]}, r"restrict\.spam: not a decision"),
        ({"span": ["tokens"]}, r"restrict\.span: \['tokens'\] not among .*'levitated'"),
        ({"span": []}, r"restrict\.span: an empty list"),
        ({"use_e1": ["yes"]}, r"restrict\.use_e1: \['yes'\]"),
        (
            {f"use_{p}": [False] for p in ("e1", "e2", "c0", "c2")}
            | {"inter_e1e2": "none", "inter_c0": "none", "inter_c2": "none"},
            "every classifier feature off",
        ),
        (["span"], "expected a mapping"),
    ],
)
def test_restrict_refuses_what_the_space_does_not_offer(restrict, match) -> None:
    with pytest.raises(S.SearchSpaceError, match=match):
        S.task_space("M", "ner", restrict)


def test_restrict_of_a_decision_the_space_fixes_to_another_value_is_refused() -> None:
    with pytest.raises(S.SearchSpaceError, match=r"restrict\.posenc: .* space M3 fixes"):
        S.task_space("M3", "rc", {"posenc": ["add"]})
