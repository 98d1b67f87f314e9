"""MUC, B3, CEAF-e and the CoNLL F1 (``autorc_nni.coref_metrics``) against the official scorer.

Three references: hand-computed small cases; the scorer's own test cases (TC-A ... TC-N, with
the expected recall/precision/F1 of ``test/CorefMetricTestConfig.pm``, and the counts the Perl
scorer itself gives on every one of them); and ``perl scorer.pl`` on LitBank documents with
perturbed responses written by ``write_conll2012``.
"""

from __future__ import annotations

import ast
import operator
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from autorc_nni.coref_metrics import b_cubed, ceaf_e, coref_scores, muc
from autorc_nni.data.conll2012 import CorefDocument, read_conll2012, write_conll2012

METRICS = {"muc": muc, "bcub": b_cubed, "ceafe": ceaf_e}  # the scorer's names
SCORE_KEYS = {"muc": "muc", "bcub": "b3", "ceafe": "ceafe"}

A, B, C, D, X, Y = (0, 1), (1, 2), (2, 4), (5, 6), (7, 8), (8, 9)


def _close(ours, theirs) -> bool:
    return all(
        o == pytest.approx(t, rel=1e-9, abs=1e-12) for o, t in zip(ours, theirs, strict=True)
    )


# --------------------------------------------------------------------------------------------
# Small cases by hand
# --------------------------------------------------------------------------------------------


def test_identical_clusters_score_one():
    key = [[A, B, C], [D], [X, Y]]
    assert muc(key, key) == (3, 3, 3, 3)
    assert b_cubed(key, key) == (6, 6, 6, 6)
    assert ceaf_e(key, key) == (3, 3, 3, 3)
    scores = coref_scores([(key, key)])
    assert scores["conll_f1"] == 1
    assert all(scores[m] == {"recall": 1, "precision": 1, "f1": 1} for m in ("muc", "b3", "ceafe"))


def test_an_empty_response_scores_zero():
    key = [[A, B], [C]]
    assert muc(key, []) == (0, 1, 0, 0)
    assert b_cubed(key, []) == (0, 3, 0, 0)
    assert ceaf_e(key, []) == (0, 2, 0, 0)
    assert coref_scores([(key, [])])["conll_f1"] == 0
    assert coref_scores([])["muc"] == {"recall": 0, "precision": 0, "f1": 0}


def test_muc_gives_singletons_no_weight_b3_and_ceafe_do():
    key, response = [[A, B], [C]], [[A, B]]
    assert muc(key, response) == (1, 1, 1, 1)
    assert b_cubed(key, response) == (2, 3, 2, 2)
    assert ceaf_e(key, response) == (1, 2, 1, 1)


def test_twinless_response_mentions_count_in_the_denominators():
    key, response = [[A, B]], [[A, B, X]]
    assert muc(key, response) == (1, 1, 1, 2)
    r, rd, p, pd = b_cubed(key, response)
    assert (r, rd, pd) == (2, 2, 3) and p == pytest.approx(4 / 3)
    assert ceaf_e(key, response) == pytest.approx((0.8, 1, 0.8, 1))


def test_repeated_response_mentions_as_the_scorer_treats_them():
    # a repeat of a key mention is dropped (the cluster left empty goes too); a repeat of a
    # twinless mention is not (the scorer only looks repeats up among matched mentions)
    key = [[A, B]]
    response = [[A, B], [A], [X, Y], [X]]
    assert muc(key, response) == (1, 1, 1, 2)
    assert b_cubed(key, response) == (2, 2, 2, 5)
    assert ceaf_e(key, response) == (1, 1, 1, 3)
    # the first place in response order keeps the mention
    assert muc(key, [[A], [A, B]]) == (0, 1, 0, 0)


def test_a_span_in_two_key_clusters_is_looked_up_in_the_last():
    key = [[A, B], [B, C]]
    assert muc(key, [[A, B]]) == (0, 2, 0, 1)
    assert muc(key, [[B, C]]) == (1, 2, 1, 1)


def test_mentions_may_be_lists():
    assert muc([[[0, 1], [1, 2]]], [[(0, 1), (1, 2)]]) == (1, 1, 1, 1)


def test_scores_sum_counts_over_documents_before_the_ratios():
    docs = [([[A, B]], [[A, B]]), ([[A, B, C, D]], [[A, B]])]
    scores = coref_scores(docs)
    assert scores["muc"]["recall"] == pytest.approx(2 / 4)  # not the mean of 1 and 1/3
    assert scores["muc"]["precision"] == 1
    assert scores["muc"]["f1"] == pytest.approx(2 / 3)
    mean = sum(scores[m]["f1"] for m in ("muc", "b3", "ceafe")) / 3
    assert scores["conll_f1"] == pytest.approx(mean)


# --------------------------------------------------------------------------------------------
# The official scorer: its files, its expected values, the Perl scorer itself
# --------------------------------------------------------------------------------------------

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _arith(expr: str) -> float:
    """The value of an arithmetic expression of the config ("(7/3)/6", "2*(5/9)*...")."""

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        raise ValueError(f"not arithmetic: {expr!r}")

    return value(ast.parse(expr.strip(), mode="eval").body)


_CASE = re.compile(
    r'\{\s*id\s*=>\s*"(\w+)",\s*key_file\s*=>\s*"([^"]+)",\s*response_file\s*=>\s*'
    r'"([^"]+)",\s*expected_metrics\s*=>\s*\{(.*?)\}\s*\}',
    re.S,
)
_EXPECTED = re.compile(r'"(\w+)"\s*=>\s*\[([^\]]*)\]')


def _test_cases(config: Path) -> list[tuple[str, str, str, dict[str, list[float]]]]:
    """``(id, key file, response file, {metric: [R, P, F1]})`` of ``CorefMetricTestConfig.pm``;
    metrics commented out in it (``#"ceafe" => ...``) are left out, as its test.pl does."""
    text = "\n".join(
        line.split("#", 1)[0] for line in config.read_text(encoding="utf-8").splitlines()
    )
    cases = []
    for case_id, key, response, body in _CASE.findall(text):
        expected = {
            metric: [_arith(v) for v in values.split(",")]
            for metric, values in _EXPECTED.findall(body)
        }
        cases.append((case_id, key, response, expected))
    return cases


@pytest.fixture(scope="module")
def scorer_dir(data_subdir) -> Path:
    return data_subdir("coref-scorer", needs="scorer.pl", what="the official coreference scorer")


@pytest.fixture(scope="module")
def perl() -> str:
    path = shutil.which("perl")
    if path is None:
        pytest.skip("perl is not installed")
    return path


def _read(path: Path) -> CorefDocument:
    [doc] = read_conll2012(path, min_columns=2)  # TC-B..L lines are "doc-id coref"
    return doc


def test_the_scorer_test_cases_give_the_expected_values(scorer_dir):
    test_dir = scorer_dir / "test"
    cases = _test_cases(test_dir / "CorefMetricTestConfig.pm")
    assert len(cases) == 36  # A1-A13, B1, C1, D1-L1, M1-M6, N1-N6
    checked, failures = 0, []
    for case_id, key_file, response_file, expected in cases:
        key, response = _read(test_dir / key_file), _read(test_dir / response_file)
        scores = coref_scores([(key.clusters, response.clusters)])
        for metric, values in expected.items():
            if metric not in METRICS:
                continue  # ceafm, blanc: not ours
            ours = scores[SCORE_KEYS[metric]]
            actual = [ours["recall"], ours["precision"], ours["f1"]]
            # test.pl's criterion: the summed absolute difference of R, P, F1 under 1e-4
            if sum(abs(e - a) for e, a in zip(values, actual, strict=True)) >= 1e-4:
                failures.append(f"{case_id} {metric}: expected {values}, got {actual}")
            checked += 1
    assert not failures, "\n".join(failures)
    assert checked == 54


# The Perl scorer run once over every TC case: the counts of all three metrics, including the
# ones the config leaves commented out. Its repeat counter is a global never reset between calls
# (``our`` in Score declares another variable), hence the reset.
_DRIVER = r"""
use strict;
use CorScorer;
while (@ARGV) {
  my ($metric, $key, $response) = splice(@ARGV, 0, 3);
  $main::repeated_mentions = 0;
  my @counts = CorScorer::Score($metric, $key, $response, 'none');
  print join("\t", "COUNTS", $metric, $key, $response, @counts), "\n";
}
"""


def test_every_test_case_agrees_with_the_perl_scorer(scorer_dir, perl, tmp_path):
    data = scorer_dir / "test" / "DataFiles"
    args = []
    for response in sorted(data.glob("TC-*-*.response")):
        key = data / (response.name.rsplit("-", 1)[0] + ".key")
        for metric in METRICS:
            args += [metric, str(key), str(response)]
    driver = tmp_path / "driver.pl"
    driver.write_text(_DRIVER)
    out = subprocess.run(
        [perl, f"-I{scorer_dir / 'lib'}", str(driver), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rows = [line.split("\t")[1:] for line in out.splitlines() if line.startswith("COUNTS\t")]
    assert len(rows) == len(args) // 3 == 108
    failures = []
    for metric, key, response, *counts in rows:
        ours = METRICS[metric](_read(Path(key)).clusters, _read(Path(response)).clusters)
        if not _close(ours, [float(c) for c in counts]):
            failures.append(f"{Path(response).name} {metric}: perl {counts}, ours {ours}")
    assert not failures, "\n".join(failures)


_COREF_LINE = re.compile(
    r"^Coreference: Recall: \((\S+) / (\S+)\) (\S+)%\tPrecision: "
    r"\((\S+) / (\S+)\) (\S+)%\tF1: (\S+)%$",
    re.M,
)


def _run_scorer(
    perl: str, scorer_dir: Path, metric: str, key: Path, response: Path
) -> tuple[list[float], float]:
    """``perl scorer.pl METRIC KEY RESPONSE none``: the four counts and the printed F1 (%)."""
    out = subprocess.run(
        [perl, str(scorer_dir / "scorer.pl"), metric, str(key), str(response), "none"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    [match] = _COREF_LINE.findall(out)
    rn, rd, _, pn, pd, _, f1 = map(float, match)
    return [rn, rd, pn, pd], f1


def test_degenerate_cases_agree_with_the_perl_scorer(scorer_dir, perl, tmp_path):
    # clusters listed in the order the scorer meets them in the file (first mention first; a
    # tie of one-token mentions in the order written), as the order matters for repeats
    doc = CorefDocument(
        name="deg", part="0", sentences=[[f"w{i}" for i in range(10)]], clusters=[], source="-"
    )
    cases = {
        "span in two key clusters": ([[A, B], [B, C]], [[A, B, C]]),
        "repeat of a key mention": ([[A, B], [C, D]], [[A, C], [B, C], [D]]),
        "first place keeps the repeat": ([[A, B]], [[A], [A, B]]),
        "twinless repeat": ([[A, B]], [[A, B], [X, Y], [X]]),
        "twinless singletons": ([[A, B], [D]], [[A], [B], [X], [Y]]),
    }
    for name, (key, response) in cases.items():
        key_file, response_file = tmp_path / "key.conll", tmp_path / "response.conll"
        write_conll2012([doc], [key], key_file)
        write_conll2012([doc], [response], response_file)
        for metric, fn in METRICS.items():
            theirs, _ = _run_scorer(perl, scorer_dir, metric, key_file, response_file)
            assert _close(fn(key, response), theirs), (name, metric, fn(key, response), theirs)


# --------------------------------------------------------------------------------------------
# LitBank documents, perturbed responses, the Perl scorer
# --------------------------------------------------------------------------------------------

LITBANK_DOCS = ("105_persuasion_brat", "271_black_beauty_brat", "1023_bleak_house_brat")


@pytest.fixture(scope="module")
def litbank_files(data_root) -> list[Path]:
    files = [data_root / "litbank" / "conll" / f"{name}.conll" for name in LITBANK_DOCS]
    if not all(f.is_file() for f in files):
        pytest.skip("LitBank not available")
    return files


def _crosses(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[0] < a[1] < b[1] or b[0] < a[0] < b[1] < a[1]


def _perturb(doc: CorefDocument) -> list[list[tuple[int, int]]]:
    """A response with every kind of error: a cluster split, two merged, mentions dropped,
    spurious mentions (in a cluster and on their own), a key mention repeated in a second
    cluster."""
    clusters = [list(c) for c in doc.clusters]
    order = sorted(range(len(clusters)), key=lambda i: (-len(clusters[i]), i))
    big, rest = order[0], order[1:]
    clusters.append(clusters[big][1::2])  # split: every other mention goes to a new cluster
    clusters[big] = clusters[big][::2]
    a, b = next(
        (i, j)
        for i in rest
        for j in rest
        if i < j and not any(_crosses(m, n) for m in clusters[i] for n in clusters[j])
    )
    clusters[a] += clusters[b]  # merge
    clusters[b] = []
    key_mentions = set(doc.mentions())
    dropped = set(doc.mentions()[3::4])
    for k, cluster in enumerate(clusters):
        if k not in (big, a):
            clusters[k] = [m for m in cluster if m not in dropped]
    starts = {s for s, _ in doc.mentions()}
    spurious = [(t, t + 1) for t in range(len(doc.tokens)) if t not in starts][5:25:4]
    clusters[a] += spurious[:2]
    clusters += [[spurious[2]], spurious[3:5]]
    # repeat a one-token key mention (not the first of its cluster) in a cluster starting
    # earlier, at another token than the mention's cluster: no order tie for the scorer
    firsts = {k: min(c) for k, c in enumerate(clusters) if c}
    home, m = next(
        (k, m)
        for k, c in enumerate(clusters)
        if c
        for m in sorted(c)[1:]
        if m[1] - m[0] == 1 and m in key_mentions
    )
    other = next(
        k
        for k, first in firsts.items()
        if k != home and first[0] < m[0] and first[0] != firsts[home][0]
    )
    clusters[other].append(m)
    return [c for c in clusters if c]


def test_a_litbank_document_agrees_with_the_perl_scorer(scorer_dir, perl, litbank_files, tmp_path):
    key_file = litbank_files[0]  # the original file is the key
    [key] = read_conll2012(key_file)
    response_file = tmp_path / "response.conll"
    write_conll2012([key], [_perturb(key)], response_file)
    [response] = read_conll2012(response_file)
    for metric, fn in METRICS.items():
        theirs, f1 = _run_scorer(perl, scorer_dir, metric, key_file, response_file)
        ours = fn(key.clusters, response.clusters)
        assert _close(ours, theirs), (metric, ours, theirs)
        assert 0 < f1 < 100  # the perturbation shows


def test_a_multi_document_file_agrees_with_the_perl_scorer(
    scorer_dir, perl, litbank_files, tmp_path
):
    docs = [doc for f in litbank_files for doc in read_conll2012(f)]
    key_file, response_file = tmp_path / "key.conll", tmp_path / "response.conll"
    write_conll2012(docs, None, key_file)
    write_conll2012(docs, [_perturb(d) for d in docs], response_file)
    keys, responses = read_conll2012(key_file), read_conll2012(response_file)
    assert [d.key for d in keys] == [d.key for d in responses] == [d.key for d in docs]
    scores = coref_scores((k.clusters, r.clusters) for k, r in zip(keys, responses, strict=True))
    for metric, fn in METRICS.items():
        theirs, f1 = _run_scorer(perl, scorer_dir, metric, key_file, response_file)
        summed = [
            sum(fn(k.clusters, r.clusters)[i] for k, r in zip(keys, responses, strict=True))
            for i in range(4)
        ]
        assert _close(summed, theirs), (metric, summed, theirs)
        ours = scores[SCORE_KEYS[metric]]
        assert ours["recall"] == pytest.approx(theirs[0] / theirs[1])
        assert ours["precision"] == pytest.approx(theirs[2] / theirs[3])
        assert abs(ours["f1"] * 100 - f1) < 0.011  # it prints F1 truncated to 2 decimals


# one span that is a mention of two entities, as OntoNotes and GUM write it: "(22)|(23)"; the
# ids are met in an order that sorting the clusters by their mentions would not give
REPEATED_KEY = ["(23", "23)|(7)|(22)", "-", "(22)", "(7)|(23)", "-", "(9)|(22)|(23)", "(9)"]
REPEATED_RESPONSES = {
    "the key itself": REPEATED_KEY,
    "the span in the later cluster": ["(1", "1)|(2)", "-", "(2)", "(1)", "-", "(4)|(2)|(1)", "(4)"],
    "the span in the earlier one": ["(1", "1)|(3)", "-", "(2)", "(3)|(1)", "-", "(2)|(1)", "-"],
    "entities merged": ["(1", "1)|(1)", "-", "(1)", "(1)", "-", "(3)|(1)", "(3)"],
    "a repeat of its own": ["(1", "1)|(2)|(3)", "(4)", "(2)|(4)", "(3)|(1)", "-", "(5)|(2)", "-"],
}


def _cells_file(path: Path, cells: list[str]) -> Path:
    lines = ["#begin document (gum_like); part 000"]
    lines += [f"gum_like\t000\t{i}\tw{i}\t{cell}" for i, cell in enumerate(cells)]
    path.write_text("\n".join([*lines, "", "#end document", ""]), encoding="utf-8")
    return path


def test_repeated_key_mentions_read_and_score_as_the_perl_scorer(scorer_dir, perl, tmp_path):
    key_file = _cells_file(tmp_path / "key.conll", REPEATED_KEY)
    [key] = read_conll2012(key_file)
    assert key.cluster_ids == ["23", "7", "22", "9"]  # the scorer's order, not a sorted one
    assert sorted(key.repeated) == [(1, 2), (4, 5), (6, 7)]
    for name, cells in REPEATED_RESPONSES.items():
        response_file = _cells_file(tmp_path / "response.conll", cells)
        [response] = read_conll2012(response_file)
        for metric, fn in METRICS.items():
            theirs, _ = _run_scorer(perl, scorer_dir, metric, key_file, response_file)
            ours = fn(key.clusters, response.clusters)
            assert _close(ours, theirs), (name, metric, ours, theirs)
