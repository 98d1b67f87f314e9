"""The search on span NER and coreference: a planted NER task it solves, and the resume path."""

from __future__ import annotations

import json

from autorc_nni.architecture import Architecture
from strategies.search import run_search, search_config_from_dict
from tests.strategies.planted import write_planted_ner


def test_search_solves_a_planted_ner_task(tmp_path):
    """Entity words come from their own pool, their type only from the keyword that opens the
    sentence: the searched models find the typed spans (entity F1 on the validation candidates,
    under the shared weights), and the NER space never offers span=tokens nor c1."""
    data = write_planted_ner(tmp_path / "ner")
    cfg = search_config_from_dict(
        dict(
            task="ner",
            dataset=str(data),
            encoder="tiny",
            space="M2",
            method="autorc",
            epochs=8.0,
            batch_size=8,
            lr=1e-3,
            controller_lr=1e-2,
            search_warmup_epochs=1.0,
            encoder_warmup_epochs=0.5,
            k=8,
            top_k=2,
            seed=1,
            out=str(tmp_path / "s"),
            progress=False,
            max_len=32,
            checkpoint_every=0,
            task_options={"max_span_len": 2, "neg_per_sentence": 3},
        )
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
