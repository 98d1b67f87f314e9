"""Decision importance: Optuna's evaluators over (architecture, score) rows."""

from __future__ import annotations

import json
import math
import random

import pytest

from autorc_nni.architecture import DECISIONS, Architecture, ArchitectureError
from autorc_nni.importance import (
    CAUTION,
    ImportanceError,
    decision_importance,
    importance_markdown,
    plot_importance,
)


def random_architectures(n: int, seed: int) -> list[Architecture]:
    rnd = random.Random(seed)
    out: list[Architecture] = []
    while len(out) < n:
        try:
            out.append(Architecture(**{k: rnd.choice(v) for k, v in DECISIONS.items()}))
        except ArchitectureError:  # no feature at all
            continue
    return out


def driven_rows(label: str, good, n: int = 40, seed: int = 0) -> list[tuple[Architecture, float]]:
    """Score = 0.3, plus 0.4 when ``label`` takes ``good``, plus small noise."""
    rnd = random.Random(seed + 1)
    return [
        (a, 0.3 + 0.4 * (getattr(a, label) == good) + 0.02 * rnd.random())
        for a in random_architectures(n, seed)
    ]


@pytest.mark.parametrize("evaluator", ["fanova", "mdi"])
@pytest.mark.parametrize(("label", "good"), [("use_c1", True), ("span", "tokens")])
def test_the_decision_that_drives_the_score_comes_out_on_top(evaluator, label, good):
    rows = driven_rows(label, good)
    result = decision_importance(rows, DECISIONS, evaluator=evaluator, seed=0)
    top = result["decisions"][0]
    assert top["decision"] == label, result["decisions"][:3]
    assert top["importance"] > 0.5
    assert top["best_option"] == str(good) and top["best_mean"] > 0.69
    assert top["best_n"] == sum(getattr(a, label) == good for a, _ in rows)
    assert top["by_option"][str(good)]["n"] == top["best_n"]
    imps = [d["importance"] for d in result["decisions"]]
    assert imps == sorted(imps, reverse=True) and math.isclose(sum(imps), 1.0, rel_tol=1e-6)
    assert result["n"] == 40 and result["evaluator"] == evaluator and result["note"] is None
    # 40 rows for 16 varying decisions: more than 2 per decision, at least 10 — no caution
    assert result["caution"] is None
    assert json.loads(json.dumps(result)) == result  # booleans are written as strings
    assert all(isinstance(o, str) for d in result["decisions"] for o in d["by_option"])


def test_the_same_seed_gives_the_same_importances():
    rows = driven_rows("use_c1", True, n=25)
    assert decision_importance(rows, DECISIONS, seed=3) == decision_importance(
        rows, DECISIONS, seed=3
    )


def test_architectures_are_canonicalized_first():
    """The pooler of a part no feature reads cannot explain anything: canonicalized away."""
    rows = []
    for i, pooler in enumerate(["avg", "max", "dr", "self_attn"] * 3):
        # c2 is never read, whatever its pooler; c1's pooler is "avg" when read
        a = Architecture(use_c1=i % 2 == 0, pool_c1="avg", pool_c2=pooler)
        rows.append((a, 0.8 if a.use_c1 else 0.2))
    result = decision_importance(rows, DECISIONS, evaluator="mdi")
    # pool_c1 is "avg" when c1 is read and "(not computed)" when not: it moves with use_c1, and
    # the credit goes to the two of them, never to the unread c2 pooler
    assert {d["decision"] for d in result["decisions"]} == {"use_c1", "pool_c1"}
    assert "pool_c2" in result["constant"]
    by = {d["decision"]: d for d in result["decisions"]}
    assert by["pool_c1"]["best_option"] == "avg" and by["use_c1"]["best_option"] == "True"
    assert set(by["pool_c1"]["by_option"]) == {"avg", "(not computed)"}
    # the pooler of c1 is read only when c1 is used: it varies (start vs avg) and stays in
    rows = [
        (Architecture(use_c1=True, pool_c1="max"), 0.9),
        (Architecture(use_c1=False, pool_c1="max"), 0.1),
    ] * 3
    result = decision_importance(rows, DECISIONS)
    assert {d["decision"] for d in result["decisions"]} == {"use_c1", "pool_c1"}


def test_only_free_decisions_that_vary_are_evaluated():
    rows = driven_rows("use_c1", True, n=20)
    result = decision_importance(
        rows, {"use_c1": (True, False), "span": ("markers",), "use_c0": (True, False)}
    )
    assert [d["decision"] for d in result["decisions"]] == ["use_c1", "use_c0"]
    assert result["constant"] == []  # "span" has one option: it is not free
    with pytest.raises(ImportanceError, match="unknown decision"):
        decision_importance(rows, {"nope": (1, 2)})
    with pytest.raises(ImportanceError, match="unknown importance evaluator 'anova'"):
        decision_importance(rows, DECISIONS, evaluator="anova")
    with pytest.raises(ImportanceError, match="row 0"):
        decision_importance([(1, 2)], DECISIONS)


@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_rows_give_no_importance(n):
    rows = [(Architecture(), 0.5)][:n]
    result = decision_importance(rows, DECISIONS)
    assert result["decisions"] == [] and result["n"] == n
    assert "at least 2" in result["note"] and CAUTION in result["caution"]
    md = importance_markdown(result)
    assert "| decision |" not in md and "No importance" in md and CAUTION in md


def test_equal_scores_explain_nothing():
    rows = [(a, 0.7) for a in random_architectures(12, 1)]
    result = decision_importance(rows, DECISIONS)
    assert result["decisions"] and all(d["importance"] == 0.0 for d in result["decisions"])
    assert "all 12 scores are equal" in result["note"]


def test_no_varying_decision():
    rows = [(Architecture(use_c1=True), s) for s in (0.1, 0.5, 0.9)]
    result = decision_importance(rows, DECISIONS)
    assert result["decisions"] == [] and "no decision varies" in result["note"]
    assert set(result["constant"]) == set(DECISIONS)


def test_rows_without_a_finite_score_are_left_out():
    rows = driven_rows("use_c1", True, n=20)
    result = decision_importance(
        [*rows, (Architecture(), float("nan")), (Architecture(), None)], DECISIONS
    )
    assert result["n"] == 20 and result["dropped"] == 2
    assert "2 without a finite score" in importance_markdown(result)


def test_few_rows_carry_a_caution():
    result = decision_importance(driven_rows("use_c1", True, n=8), DECISIONS)
    assert result["decisions"] and CAUTION in result["caution"]
    # 20 rows, but 16 varying decisions: fewer than two rows per decision
    assert CAUTION in decision_importance(driven_rows("use_c1", True, n=20), DECISIONS)["caution"]


def test_markdown_and_chart(tmp_path):
    result = decision_importance(driven_rows("use_c1", True, n=20), DECISIONS, evaluator="mdi")
    md = importance_markdown(result)
    lines = md.splitlines()
    head = lines.index("| decision | importance | best option (mean score, n) |")
    top = result["decisions"][0]
    assert lines[head + 2] == (
        f"| use_c1 | {top['importance']:.3f} | True ({top['best_mean']:.4f}, {top['best_n']}) |"
    )
    assert len([ln for ln in lines if ln.startswith("| ")]) == 1 + len(result["decisions"])
    assert "Caution" in md and "mean decrease impurity" in md
    png = plot_importance(result, tmp_path / "sub" / "imp.png")
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000
    empty = plot_importance(decision_importance([], DECISIONS), tmp_path / "empty.png")
    assert empty.read_bytes()[:4] == b"\x89PNG"
