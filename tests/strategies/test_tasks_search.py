"""The search on span NER and coreference: a planted NER task it solves, and the resume path."""

from __future__ import annotations

import json

from autorc_nni.architecture import Architecture
from strategies.search import run_search
from tests.strategies.planted import small_search, write_planted_ner


def test_search_solves_a_planted_ner_task(tmp_path):
    """Entity words come from their own pool, their type only from the keyword that opens the
    sentence: the searched models find the typed spans (entity F1 on the validation candidates,
    under the shared weights), and the NER space never offers span=tokens nor c1."""
    data = write_planted_ner(tmp_path / "ner")
    cfg = small_search(
        data,
        tmp_path / "s",
        task="ner",
        k=8,
        top_k=2,
        max_len=32,
        task_options={"max_span_len": 2, "neg_per_sentence": 3},
    )
    result = run_search(cfg)
    assert result.completed
    probs = result.probabilities
    assert set(probs["span"]) == {"markers", "standard", "levitated"}  # no tokens
    assert "use_c1" not in probs and "inter_c1" not in probs
    ranking = json.loads((tmp_path / "s" / "ranking.json").read_text())
    assert ranking[0]["score"] > 0.8, ranking  # solved: typed spans found
    assert ranking[0]["score"] - ranking[-1]["score"] > 0.1  # and told apart from worse models
    # the controller settled on the input format of the best models
    best_span = ranking[0]["architecture"]["span"]
    assert probs["span"][best_span] == max(probs["span"].values()) > 0.8, probs["span"]
    top = Architecture.load(tmp_path / "s" / "architectures" / "rank1.json")
    assert not top.use_c1 and top.span != "tokens"
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["task"] == "ner" and summary["labels"] == ["None", "Loc", "Org", "Peop"]
    # the validation rows: the dev gold spans and 3 negatives a sentence, as for training ...
    n_pos, n_rows = summary["validation_positives"], summary["validation_rows"]
    assert 0 < n_pos < n_rows and summary["config"]["negatives"] is None
    # ... or the search's own negatives, for its training draws and these rows
    fewer = small_search(
        data,
        tmp_path / "s1",
        task="ner",
        k=2,
        top_k=1,
        epochs=0.2,
        max_len=32,
        negatives=1,
        task_options={"max_span_len": 2, "neg_per_sentence": 3},
    )
    run_search(fewer)
    summary1 = json.loads((tmp_path / "s1" / "summary.json").read_text())
    assert summary1["validation_positives"] == n_pos
    assert summary1["validation_rows"] - n_pos == (n_rows - n_pos) // 3
    train = summary["data"]["train"]
    n_ents, n_sents = sum(train["task"]["entities"].values()), train["task"]["sentences"]
    assert train["examples"] == n_ents + 3 * n_sents  # the training draws: 3 negatives ...
    assert summary1["data"]["train"]["examples"] == n_ents + n_sents  # ... and the search's 1
