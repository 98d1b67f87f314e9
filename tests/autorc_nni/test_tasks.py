"""Tasks: span enumeration, negative sampling, mention pairs and windows, decoding and scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from autorc_nni.config import ConfigError
from autorc_nni.data.conll2012 import CorefDocument
from autorc_nni.errors import DataError
from autorc_nni.tasks import (
    COREF,
    NOT_COREF,
    REPEATED_SPAN,
    TASKS,
    TaskOptions,
    closure,
    entity_scores,
    load_task_data,
    mention_pairs,
    span_candidates,
)


def write_spert(folder: Path, sentences: dict[str, list[dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in sentences.items():
        (folder / f"{split}_triples.json").write_text(json.dumps(rows, indent=1))
    return folder


def sent(tokens: str, *entities: tuple[int, int, str], relations=()) -> dict:
    return {
        "tokens": tokens.split(),
        "entities": [{"start": s, "end": e, "type": t} for s, e, t in entities],
        "relations": [{"head": h, "tail": t, "type": r} for h, t, r in relations],
    }


@pytest.fixture
def ner_dir(tmp_path):
    rows = [
        sent(
            "Mr Smith lives in Paris today",
            (0, 2, "Peop"),
            (4, 5, "Loc"),
            relations=[(0, 1, "Live_In")],
        ),
        sent("IBM hired John", (0, 1, "Org"), (2, 3, "Peop"), relations=[(0, 1, "Hire")]),
        sent("a very long named entity of many words here", (0, 9, "Other")),
    ]
    return write_spert(tmp_path / "ner", {"train": rows, "dev": rows[:2], "test": rows})


def test_span_candidates_enumerates_every_short_span():
    assert span_candidates(3, 2) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    n, k = 29, 10
    assert len(span_candidates(n, k)) == sum(n - ln + 1 for ln in range(1, k + 1))
    assert span_candidates(2, 10) == [(0, 1), (0, 2), (1, 2)]


def test_ner_statements_and_epoch_sampling(ner_dir):
    opts = TaskOptions(max_span_len=3, neg_per_sentence=2)
    data = load_task_data("ner", str(ner_dir), options=opts)
    assert data.labels == ["None", "Loc", "Org", "Other", "Peop"]
    assert data.negative_label == "None" and data.metric == "micro_f1"
    # every span of <= 3 words is a statement, e1 = e2 = the span
    assert len(data.statements["test"]) == sum(
        len(span_candidates(len(s.tokens), 3)) for s in data.units["test"]
    )
    assert all(ex.head == ex.tail for ex in data.statements["train"])
    # the 9-word entity is longer than max_span_len: no candidate carries it
    assert data.report["train"]["entities_longer_than_max_span_len"] == 1
    e0, e1 = data.train_epoch(0, seed=1), data.train_epoch(1, seed=1)
    for epoch in (e0, e1):
        gold = [ex for ex in epoch if ex.label != "None"]
        assert len(gold) == 4  # every gold span that is a candidate
        per_sentence = {}
        for ex in epoch:
            if ex.label == "None":
                per_sentence[ex.meta["unit"]] = per_sentence.get(ex.meta["unit"], 0) + 1
        assert all(v <= 2 for v in per_sentence.values()) and len(per_sentence) == 3
    assert data.train_epoch(0, seed=1) == e0  # deterministic for (seed, epoch)
    draws = {tuple(ex.id for ex in data.train_epoch(e, seed=1)) for e in range(6)}
    assert len(draws) > 1  # negatives are drawn afresh
    assert len(data.search_dev) == 4 + 2 * 2  # dev gold spans + 2 negatives per sentence


def _probs(labels, name):
    p = torch.full((len(labels),), 0.01)
    p[labels.index(name)] = 0.96
    return p


def test_ner_scoring_is_entity_level(ner_dir):
    data = load_task_data("ner", str(ner_dir), options=TaskOptions(max_span_len=3))
    labels = data.labels
    scored = {}
    for ex in data.statements["test"]:
        scored[ex.id] = (0, _probs(labels, ex.label))  # perfect on every candidate
    metrics, records, decoded = data.score("test", scored)
    # 4 gold entities found; the 9-word one cannot be: recall 4/5
    assert metrics["micro_p"] == 1.0 and metrics["micro_r"] == pytest.approx(4 / 5)
    assert metrics["score"] == metrics["micro_f1"] and metrics["too_long"] == 1
    assert decoded[0] == [(0, 2, "Peop"), (4, 5, "Loc")]
    assert records[0]["gold"] == [[0, 2, "Peop"], [4, 5, "Loc"]]
    # right boundaries, wrong type: one false positive and one false negative
    smith = next(ex for ex in data.statements["test"] if ex.head == (0, 2))
    scored[smith.id] = (0, _probs(labels, "Org"))
    metrics, _, _ = data.score("test", scored)
    assert metrics["micro_p"] == pytest.approx(3 / 4) and metrics["micro_r"] == pytest.approx(3 / 5)
    # a candidate the featurizer dropped has no prediction: it predicts no entity
    del scored[smith.id]
    metrics, _, _ = data.score("test", scored)
    assert metrics["n_pred"] == 3


def test_entity_scores_micro_and_macro():
    gold = [{(0, 1, "A"), (2, 3, "B")}, {(0, 2, "A")}]
    pred = [{(0, 1, "A"), (2, 3, "A")}, {(0, 2, "A")}]
    m = entity_scores(gold, pred, ["A", "B"])
    assert m["micro_p"] == pytest.approx(2 / 3) and m["micro_r"] == pytest.approx(2 / 3)
    assert m["per_label"]["A"]["f1"] == pytest.approx(0.8) and m["per_label"]["B"]["f1"] == 0.0
    assert m["macro_f1"] == pytest.approx(0.4)


def test_rc_view_of_spert_pairs_every_ordered_entity_pair(ner_dir):
    data = load_task_data("rc", str(ner_dir), fmt="spert")
    train = data.statements["train"]
    assert len(train) == 2 + 2 + 0  # two ordered pairs in each two-entity sentence
    labels = {ex.id.split(":", 1)[1]: ex.label for ex in train}
    assert sorted(labels.values()) == ["Hire", "Live_In", "None", "None"]
    assert data.negative_label == "None"


@pytest.mark.parametrize(
    "bad,message",
    [
        (
            '[{"tokens": ["a"], "entities": [{"start": 0, "end": 2, "type": "X"}]}]',
            "outside the sentence",
        ),
        ('[{"entities": []}]', "missing key 'tokens'"),
        (
            '[{"tokens": ["a", "b"], "entities": [{"start": 0, "end": 1, "type": "X"}],\n'
            ' "relations": [{"head": 0, "tail": 3, "type": "R"}]}]',
            "names no entity",
        ),
        (
            '[{"tokens": ["a"], "entities": [{"start": "0", "end": 1, "type": "X"}]}]',
            "must be an integer",
        ),
        ('[{"tokens": ["a"],\n "entities": [}]', ":2: malformed JSON"),
    ],
)
def test_spert_errors_name_file_and_record(tmp_path, bad, message):
    folder = tmp_path / "bad"
    folder.mkdir()
    good = json.dumps([sent("a b", (0, 1, "X"))])
    for split in ("train", "dev"):
        (folder / f"{split}.json").write_text(good)
    (folder / "test.json").write_text(bad)
    with pytest.raises(DataError, match=message) as e:
        load_task_data("ner", str(folder))
    assert "test.json" in str(e.value)


# -- coreference -----------------------------------------------------------------------------
def Doc(sentences, clusters, name="d") -> CorefDocument:  # noqa: N802 (reads as a class)
    return CorefDocument(name=name, part="0", sentences=sentences, clusters=clusters, source="-")


def test_mention_pairs_antecedents_labels_and_windows():
    sents = [["John", "came", "."], ["He", "sat", "."], ["Mary", "saw", "him", "."]]
    doc = Doc(sents, [[(0, 1), (3, 4), (8, 9)], [(6, 7)]])
    pairs = mention_pairs(doc, max_antecedents=2, max_words=100)
    # each mention with at most 2 previous mentions, nearest first
    assert [(p.meta["a"], p.meta["b"]) for p in pairs] == [
        ((0, 1), (3, 4)),
        ((3, 4), (6, 7)),
        ((0, 1), (6, 7)),
        ((6, 7), (8, 9)),
        ((3, 4), (8, 9)),
    ]
    assert [p.label for p in pairs] == [COREF, NOT_COREF, NOT_COREF, NOT_COREF, COREF]
    # the window holds both mentions; with room it is the whole document
    for p in pairs:
        assert p.tokens[p.head[0] : p.head[1]] == tuple(doc.tokens[p.meta["a"][0] : p.meta["a"][1]])
        assert p.tokens[p.tail[0] : p.tail[1]] == tuple(doc.tokens[p.meta["b"][0] : p.meta["b"][1]])
        assert len(p.tokens) == 10
    # tight room: the sentences from a's to b's only, not widened past the budget
    tight = mention_pairs(doc, max_antecedents=1, max_words=6)
    first = tight[0]  # John (sentence 0) <- He (sentence 1): 6 words, nothing more fits
    assert first.tokens == ("John", "came", ".", "He", "sat", ".")


def _conll(path: Path, name: str, cells: list[str]) -> None:
    lines = [f"#begin document ({name}); part 000"]
    lines += [f"{name}\t000\t{i}\tw{i}\t{cell}" for i, cell in enumerate(cells)]
    path.write_text("\n".join([*lines, "", "#end document", ""]), encoding="utf-8")


def test_a_span_in_two_clusters_loads_as_one_mention_of_the_last(tmp_path, capsys):
    """Legal CoNLL-2012 (OntoNotes, GUM): "(22)|(23)", one span mentioning two entities. It
    loads, each span is one candidate, training labels follow the scorer's index (the last
    cluster), the key is scored as written, and the loader says what it did and where."""
    from trial.cli import main

    cells = ["(22", "22)", "(9)", "(22)|(23)", "-", "(23)", "(9)"]
    folder = tmp_path / "gum"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        _conll(folder / f"{split}.conll", f"{split}_doc", cells)
    data = load_task_data("coref", str(folder))  # the statement-id check stays, and holds
    train = data.statements["train"]
    assert len({ex.id for ex in train}) == len(train)
    [doc] = data.units["train"]
    assert doc.repeated == {(3, 4): f"{folder / 'train.conll'}:5"}
    assert data.report["train"]["mentions"] == 5  # (0, 2), (2, 3), (3, 4), (5, 6), (6, 7)
    labels = {(ex.meta["a"], ex.meta["b"]): ex.label for ex in train}
    assert labels[((3, 4), (5, 6))] == COREF  # with the last cluster, 23
    assert labels[((0, 2), (3, 4))] == NOT_COREF  # not with 22's other mention
    assert data.dropped["dev"] == {REPEATED_SPAN: 1}
    assert data.read_drops("test")["read_dropped_where"] == {
        REPEATED_SPAN: [f"{folder / 'test.conll'}:5"]
    }
    # decoding gives each span one cluster; the key keeps the span in both, as scorer.pl
    scored = {
        ex.id: (0, torch.tensor([0.1, 0.9] if ex.label == COREF else [0.9, 0.1]))
        for ex in data.statements["test"]
    }
    metrics, records, decoded = data.score("test", scored)
    [clusters] = decoded
    assert clusters == [[(2, 3), (6, 7)], [(3, 4), (5, 6)]]  # no singletons: the key has none
    assert 0 < metrics["muc_f1"] < 1  # 22's link through the shared span is missed
    assert main(["data", "stats", "--task", "coref", "--data", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"test: 1 {REPEATED_SPAN}" in out and f"at {folder / 'test.conll'}:5" in out


def test_closure_is_transitive_and_keeps_singletons():
    ms = [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert closure(ms, {(2, 3): (0, 1), (6, 7): (2, 3)}) == [[(0, 1), (2, 3), (6, 7)], [(4, 5)]]
    assert closure(ms, {}) == [[m] for m in ms]


def test_a_one_line_spert_array_still_gives_every_sentence_its_own_id(tmp_path):
    """CoNLL04's files are one-line JSON arrays: records are numbered, not named by line."""
    rows = [sent("a b", (0, 1, "X")), sent("c d", (1, 2, "Y"))]
    folder = tmp_path / "one"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        (folder / f"{split}.json").write_text(json.dumps(rows))
    data = load_task_data("ner", str(folder))
    assert [s.id for s in data.units["train"]] == ["train.json:record 1", "train.json:record 2"]
    ids = [ex.id for ex in data.statements["train"]]
    assert len(ids) == len(set(ids)) == 6
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train.json").write_text(json.dumps(rows))
    (bad / "dev.json").write_text(json.dumps(rows))
    (bad / "test.json").write_text(
        json.dumps(
            [
                {"tokens": ["a"], "entities": [{"start": 0, "end": 1, "type": "X"}]},
                {"tokens": ["b"], "entities": [{"start": 0, "end": 3, "type": "X"}]},
            ]
        )
    )
    with pytest.raises(DataError, match=r"test.json:record 2: entity 0 span \[0, 3\)"):
        load_task_data("ner", str(bad))


# -- the contract, over the registry -------------------------------------------------------------
def _rc_data(folder: Path) -> str:
    from autorc_nni.data.synthetic import write_synthetic

    return str(write_synthetic(folder, n_train=24, n_dev=12, n_test=12))


def _ner_data(folder: Path) -> str:
    rows = [
        sent("Mr Smith lives in Paris", (0, 2, "Peop"), (4, 5, "Loc")),
        sent("IBM hired John", (0, 1, "Org"), (2, 3, "Peop")),
        sent("nothing here at all"),
    ]
    return str(write_spert(folder, {"train": rows, "dev": rows, "test": rows}))


def _coref_data(folder: Path) -> str:
    folder.mkdir(parents=True)
    cells = ["(1", "1)", "(2)", "-", "(1)", "(3)", "(2)", "(3)", "(1)"]
    for split in ("train", "dev", "test"):
        _conll(folder / f"{split}.conll", f"{split}_doc", cells)
    return str(folder)


# a tiny dataset per task: a task added to TASKS without one here fails the contract test
TINY_DATA = {"rc": _rc_data, "ner": _ner_data, "coref": _coref_data}


def _one_hot(data, split: str, right: bool) -> dict:
    """Probabilities that give every statement its gold label (right) or the negative one."""
    n = len(data.labels)
    out = {}
    for ex in data.statements[split]:
        label = ex.label if right else data.negative_label
        probs = torch.zeros(n)
        probs[data.labels.index(label)] = 1.0
        out[ex.id] = (data.labels.index(ex.label), probs)
    return out


@pytest.mark.parametrize("name", TASKS.names())
def test_every_registered_task_keeps_the_contract(name, tmp_path):
    from autorc_nni.tasks import format_task_stats, get_task, task_stats

    task = get_task(name)
    assert name in TINY_DATA, f"task {name!r} has no tiny dataset in TINY_DATA"
    assert set(task.options) <= set(TaskOptions.__dataclass_fields__)
    data = load_task_data(name, TINY_DATA[name](tmp_path / name))
    assert data.task == name and data.kind is task
    assert data.metric and (data.negative_label is None or data.negative_label in data.labels)
    for split in ("train", "dev", "test"):
        ids = [ex.id for ex in data.statements[split]]
        assert ids and len(ids) == len(set(ids))
        assert all(ex.label in data.labels for ex in data.statements[split])
        units = {task.group_of(i) for i in ids}
        if data.units.get(split):  # statements belong to the units they are decoded by
            assert units <= {getattr(u, "id", None) or u.key for u in data.units[split]}
    # epochs: deterministic; a resampling task keeps every gold statement
    first = data.train_epoch(0, seed=1)
    assert first == data.train_epoch(0, seed=1)
    gold = {ex.id for ex in data.statements["train"] if ex.label != data.negative_label}
    if task.resamples:
        assert gold <= {ex.id for ex in data.train_epoch(3, seed=1)}
    else:
        assert first == data.train_epoch(3, seed=1)
    # scoring: the gold labels score 1, the negative label 0; the metric keys are there
    metrics, records, decoded = data.score("test", _one_hot(data, "test", right=True))
    assert metrics["metric"] == data.metric and metrics["score"] == pytest.approx(1.0)
    assert records and (decoded is None or len(decoded) == len(data.units["test"]))
    assert "%" not in task.score_line(metrics) and task.score_line(metrics)
    if data.negative_label is not None:
        wrong, _, _ = data.score("test", _one_hot(data, "test", right=False))
        assert wrong["score"] == 0.0
    # the files for the official scorer exist; the stats print
    out = tmp_path / "out"
    out.mkdir()
    for path in task.write_test_files(data, records, decoded, out).values():
        assert Path(path).is_file() and Path(path).parent == out
    text = format_task_stats(task_stats(data))
    assert text.startswith(f"task {name}")
    for span in task.excluded_spans:
        with pytest.raises(ConfigError, match=f"span={span}"):
            task.check_span(span)
