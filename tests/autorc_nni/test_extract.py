"""Raw text to relations (``autorc_nni.extract``, ``autorc extract``): splitting, overlaps, the
SpERT-style scores, the HTML page (opened in headless Chromium), and the whole chain with a
tiny NER model and a tiny RC model trained here."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from autorc_nni.extract import (
    Extractor,
    _without_overlaps,
    extraction_html,
    score_extraction,
    split_text,
)
from trial.cli import main

PEOPLE = ["Anna", "Boris", "Clara", "Dmitri", "Elena", "Farid"]
ORGS = ["IBM", "Siemens", "Nokia", "Fiat"]
PLACES = ["Paris", "Oslo", "Lima", "Kyoto"]


def planted_rows(n: int, seed: int) -> list[dict]:
    """SpERT sentences: "P works for O ." (Work_For), "P lives in L ." (Live_In), and the two
    joined by "and"; entity types Peop, Org, Loc."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        p, o, loc = rng.choice(PEOPLE), rng.choice(ORGS), rng.choice(PLACES)
        kind = i % 3
        if kind == 0:
            tokens = [p, "works", "for", o, "."]
            ents = [(0, 1, "Peop"), (3, 4, "Org")]
            rels = [(0, 1, "Work_For")]
        elif kind == 1:
            tokens = [p, "lives", "in", loc, "."]
            ents = [(0, 1, "Peop"), (3, 4, "Loc")]
            rels = [(0, 1, "Live_In")]
        else:
            tokens = [p, "works", "for", o, "and", "lives", "in", loc, "."]
            ents = [(0, 1, "Peop"), (3, 4, "Org"), (7, 8, "Loc")]
            rels = [(0, 1, "Work_For"), (0, 2, "Live_In")]
        rows.append(
            {
                "tokens": tokens,
                "entities": [{"start": s, "end": e, "type": t} for s, e, t in ents],
                "relations": [{"head": h, "tail": t, "type": r} for h, t, r in rels],
            }
        )
    return rows


def write_planted(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", 90, 1), ("dev", 15, 2), ("test", 15, 3)):
        (folder / f"{split}.json").write_text(json.dumps(planted_rows(n, seed)))
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> SimpleNamespace:
    """A tiny NER model and a tiny RC model trained on the planted set (module-wide)."""
    root = tmp_path_factory.mktemp("extract")
    data = write_planted(root / "data")
    common = ["--encoder", "tiny", "--lr", "5e-3", "--no-progress", "--threads", "1"]
    ner, rc = root / "ner", root / "rc"
    assert (
        main(
            ["train", "--task", "ner", "--data", str(data), "--arch", "spert-like"]
            + ["--epochs", "3", "--max-span-len", "2", "--neg-per-sentence", "6"]
            + [*common, "--out", str(ner)]
        )
        == 0
    )
    assert (
        main(
            ["train", "--data", str(data), "--format", "spert", "--arch", "bert-entity"]
            + ["--epochs", "3", *common, "--out", str(rc)]
        )
        == 0
    )
    return SimpleNamespace(data=data, ner=ner / "model", rc=rc / "model", root=root)


# -- pieces -----------------------------------------------------------------------------------
def test_split_text_keeps_character_offsets():
    text = "Dr. Lee works for IBM.  She lives in Paris, France."
    sentences = split_text(text)
    assert len(sentences) == 2
    for words, spans in sentences:
        assert [text[a:b] for a, b in spans] == words
    assert sentences[0][0][:3] == ["Dr", ".", "Lee"]


def test_overlapping_entities_keep_the_most_probable():
    ents = [
        {"start": 0, "end": 2, "prob": 0.6},
        {"start": 1, "end": 2, "prob": 0.9},
        {"start": 2, "end": 3, "prob": 0.5},
    ]
    assert [(e["start"], e["end"]) for e in _without_overlaps(ents)] == [(1, 2), (2, 3)]


def test_scores_as_spert_counts_them():
    gold = [
        SimpleNamespace(entities=[(0, 1, "Peop"), (3, 4, "Org")], relations=[(0, 1, "Work_For")]),
        SimpleNamespace(entities=[(0, 1, "Peop"), (3, 4, "Loc")], relations=[(0, 1, "Live_In")]),
    ]

    def doc(ents, rels):
        return {
            "id": "d",
            "sentences": [{"tokens": []}],
            "entities": [
                {"id": f"T{i}", "start": s, "end": e, "type": t} for i, (s, e, t) in enumerate(ents)
            ],
            "relations": [{"head": f"T{h}", "tail": f"T{t}", "type": r} for h, t, r in rels],
        }

    predicted = [
        doc([(0, 1, "Peop"), (3, 4, "Org")], [(0, 1, "Work_For")]),  # all right
        # the tail's type wrong: the relation is wrong strictly, right on boundaries
        doc([(0, 1, "Peop"), (3, 4, "Org"), (1, 2, "Loc")], [(0, 1, "Live_In"), (0, 2, "Live_In")]),
    ]
    scores = score_extraction(predicted, gold)
    assert scores["entities"] | {} == {
        "p": 3 / 5,
        "r": 3 / 4,
        "f1": pytest.approx(2 * 0.6 * 0.75 / 1.35),
        "gold": 4,
        "predicted": 5,
        "correct": 3,
    }
    assert (scores["relations"]["correct"], scores["relations"]["predicted"]) == (1, 3)
    assert (scores["relations_boundaries"]["correct"], scores["relations"]["gold"]) == (2, 2)
    with pytest.raises(ValueError, match="2 predictions for 1 gold"):
        score_extraction(predicted, gold[:1])


RESULT = {
    "id": "d<1>",
    "text": "Anna works for IBM & co.",
    "sentences": [
        {"tokens": ["Anna", "works", "for", "IBM", "&", "co", "."], "start": 0, "end": 24}
    ],
    "entities": [
        {
            "id": "T1",
            "sentence": 0,
            "start": 0,
            "end": 1,
            "char_start": 0,
            "char_end": 4,
            "text": "Anna",
            "type": "Peop",
            "prob": 0.9,
        },
        {
            "id": "T2",
            "sentence": 0,
            "start": 3,
            "end": 4,
            "char_start": 15,
            "char_end": 18,
            "text": "IBM",
            "type": "Org",
            "prob": 0.8,
        },
    ],
    "relations": [{"head": "T1", "tail": "T2", "type": "Work_For", "prob": 0.75}],
}


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


def test_the_html_view_shows_entities_and_relations_in_a_browser(tmp_path):
    from tests.scale.servers import missing

    page = tmp_path / "view.html"
    page.write_text(extraction_html([RESULT]), encoding="utf-8")
    browser = _chromium()
    if browser is None:
        missing("chromium")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    # what the browser built from the page: the marks, their types, the escaped text, the table
    from html.parser import HTMLParser

    class Marks(HTMLParser):
        def __init__(self):
            super().__init__()
            self.marks, self.cells, self._in, self.text = [], [], None, []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "mark" and "data-id" in a:
                self.marks.append([a["data-type"], ""])
                self._in = "mark"
            elif tag == "td":
                self.cells.append("")
                self._in = "td"

        def handle_endtag(self, tag):
            if tag in ("mark", "td"):
                self._in = None

        def handle_data(self, data):
            if self._in == "mark":
                self.marks[-1][1] += data
            elif self._in == "td":
                self.cells[-1] += data
            self.text.append(data)

    parsed = Marks()
    parsed.feed(dom)
    assert parsed.marks == [["Peop", "AnnaPeop"], ["Org", "IBMOrg"]]  # the word, then its type
    assert parsed.cells == ["Anna", "—Work_For→", "IBM", "0.75"]
    assert "Anna works for IBM & co." in "".join(parsed.text).replace("Peop", "").replace("Org", "")
    shot = tmp_path / "view.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=800,600",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 1000


# -- the whole chain ------------------------------------------------------------------------------
def test_extract_from_raw_text_with_the_python_api(models):
    ex = Extractor.from_pretrained(models.ner, models.rc)
    assert ex.negative == "None"
    text = "Anna works for IBM. Boris lives in Oslo."
    [doc] = ex.extract([text])
    assert doc["text"] == text and len(doc["sentences"]) == 2
    assert doc["entities"], "the tiny NER model found nothing: the chain shows nothing"
    ids = {e["id"] for e in doc["entities"]}
    for e in doc["entities"]:
        assert text[e["char_start"] : e["char_end"]] == e["text"]
        assert e["type"] in {"Peop", "Org", "Loc"}
    for r in doc["relations"]:
        assert {r["head"], r["tail"]} <= ids and r["head"] != r["tail"]
        heads = {e["id"]: e["sentence"] for e in doc["entities"]}
        assert heads[r["head"]] == heads[r["tail"]]  # pairs within a sentence
        assert r["type"] in {"Work_For", "Live_In"}
    with pytest.raises(Exception, match="--rc: a model trained for 'ner'"):
        Extractor.from_pretrained(models.ner, models.ner)


def test_the_cli_extracts_scores_and_reports_bad_lines(models, tmp_path, capsys, monkeypatch):
    text = tmp_path / "article.txt"
    text.write_text("Clara works for Nokia. Dmitri lives in Lima.\n", encoding="utf-8")
    html_page, out = tmp_path / "view.html", tmp_path / "out.jsonl"
    argv = ["extract", "--ner", str(models.ner), "--rc", str(models.rc)]
    assert main([*argv, "--input", str(text), "--html", str(html_page), "--out", str(out)]) == 0
    [doc] = [json.loads(x) for x in out.read_text().splitlines()]
    assert doc["id"] == str(text) and "Clara" in html_page.read_text()
    # JSON lines: a bad line is reported with its number; the others are extracted; exit 1
    lines = [
        json.dumps({"id": "a", "text": "Elena works for Fiat."}),
        json.dumps({"id": "b", "sentences": "not lists"}),
        json.dumps({"id": "c", "sentences": [["Farid", "lives", "in", "Kyoto", "."]]}),
        json.dumps({"text": "Anna lives in Lima."}),  # no id: named by its line
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main([*argv, "--jsonl"]) == 1
    captured = capsys.readouterr()
    assert [json.loads(x)["id"] for x in captured.out.splitlines()] == ["a", "c", "<stdin>:4"]
    assert "<stdin>:2: needs 'text'" in captured.err
    # scored on the gold sentences: the printed figures are score_extraction's on that output
    preds = tmp_path / "test.jsonl"
    assert main([*argv, "--score", str(models.data), "--out", str(preds)]) == 0
    scores = json.loads(capsys.readouterr().out)
    from autorc_nni.data.spert import read_spert_sentences

    gold = read_spert_sentences(models.data / "test.json")
    again = score_extraction([json.loads(x) for x in preds.read_text().splitlines()], gold)
    assert {k: scores[k] for k in again} == again
    assert scores["entities"]["gold"] == sum(len(s.entities) for s in gold)
    assert scores["relations"]["gold"] == sum(len(s.relations) for s in gold)


def test_a_coreference_model_groups_the_entities(models, tmp_path):
    """With --coref, every entity gets a cluster and the clusters of two or more list entity
    ids; the coreference model reads the NER entities as its mentions."""
    from autorc_nni.data.conll2012 import write_conll2012
    from tests.trial.test_tasks_e2e import synthetic_docs

    docs = tmp_path / "coref"
    docs.mkdir()
    for split, n, seed in (("train", 6, 1), ("dev", 2, 2), ("test", 2, 3)):
        write_conll2012(synthetic_docs(n, seed), None, docs / f"{split}.conll")
    out = tmp_path / "coref-run"
    argv = ["train", "--task", "coref", "--data", str(docs), "--arch", "pair-baseline"]
    argv += ["--encoder", "tiny", "--epochs", "1", "--max-len", "48", "--max-antecedents", "4"]
    assert main([*argv, "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    ex = Extractor.from_pretrained(models.ner, models.rc, out / "model")
    [doc] = ex.extract(["Anna works for IBM. Anna lives in Oslo. Boris works for Fiat."])
    assert doc["entities"] and all(isinstance(e["cluster"], int) for e in doc["entities"])
    ids = {e["id"]: e["cluster"] for e in doc["entities"]}
    for cluster in doc["clusters"]:
        assert len(cluster) > 1 and len({ids[i] for i in cluster}) == 1
    assert sorted(i for c in doc["clusters"] for i in c) == sorted(
        i for i, c in ids.items() if list(ids.values()).count(c) > 1
    )
