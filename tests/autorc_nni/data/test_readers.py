"""Readers: the real benchmark files (counts documented in docs/datasets.md), the formats that
are not shipped (written here), and every kind of bad input."""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import datasets as hf_datasets
import pytest

from autorc_nni.data.readers import READERS, ReadResult, char_to_word_span, word_spans
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError


def read(fmt: str, path: Path, **kw) -> ReadResult:
    return READERS.get(fmt)(path, **kw)


def words(ex: RelationExample, which: str) -> str:
    s, e = getattr(ex, which)
    return " ".join(ex.tokens[s:e])


# ---- word splitting ------------------------------------------------------------------------


def test_word_spans_split_punctuation_and_keep_offsets():
    text = "Aspirin-induced (AIA) asthma."
    spans = word_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Aspirin",
        "-",
        "induced",
        "(",
        "AIA",
        ")",
        "asthma",
        ".",
    ]


def test_word_spans_cut_inside_a_word_and_keep_masks_whole():
    text = "The EP1-selective @CHEMICAL$ binds"
    spans = word_spans(text, cuts=[5], keep=[(18, 28)])
    assert [text[s:e] for s, e in spans] == [
        "The",
        "E",
        "P1",
        "-",
        "selective",
        "@CHEMICAL$",
        "binds",
    ]
    assert char_to_word_span(spans, 4, 7) == (1, 3)
    assert char_to_word_span(spans, 3, 4) is None  # only whitespace


# ---- real files ----------------------------------------------------------------------------


@pytest.mark.parametrize("split,count", [("train", 6507), ("dev", 1493), ("test", 2717)])
def test_opennre_semeval10_counts(data_root, split, count):
    res = read("opennre", data_root / "semeval10" / f"{split}.txt")
    assert len(res.examples) == count and not res.dropped
    ex = res.examples[0]
    assert ex.id == f"{split}.txt:1"


def test_opennre_semeval10_first_record(data_root):
    ex = read("opennre", data_root / "semeval10" / "train.txt").examples[0]
    assert words(ex, "head") == "play" and words(ex, "tail") == "humor"
    assert ex.label == "Component-Whole(e2,e1)"


def test_semeval_original_release_with_crlf(data_root):
    base = data_root / "semeval10" / "SemEval2010_task8_all_data"
    train_file = base / "SemEval2010_task8_training" / "TRAIN_FILE.TXT"
    assert b"\r\n" in train_file.read_bytes()[:200]
    train = read("semeval", train_file).examples
    test = read("semeval", base / "SemEval2010_task8_testing_keys" / "TEST_FILE_FULL.TXT").examples
    assert (len(train), len(test)) == (8000, 2717)
    first = train[0]
    assert words(first, "head") == "configuration" and words(first, "tail") == "elements"
    assert first.label == "Component-Whole(e2,e1)" and first.meta["sent_id"] == "1"
    # the OpenNRE split is the same data: same test labels, and train + dev = TRAIN_FILE
    opennre_test = read("opennre", data_root / "semeval10" / "test.txt").examples
    assert Counter(e.label for e in test) == Counter(e.label for e in opennre_test)
    assert len({e.label for e in train}) == 19


@pytest.mark.parametrize("split,count", [("train", 4169), ("dev", 2427), ("test", 3469)])
def test_chemprot_scibert_counts(data_root, split, count):
    res = read("chemprot", data_root / "chemprot" / "scibert" / f"{split}.txt")
    assert len(res.examples) == count
    assert len({e.label for e in res.examples}) <= 13


def test_chemprot_marks_beside_literal_brackets(data_root):
    exs = read("chemprot", data_root / "chemprot" / "scibert" / "train.txt").examples
    by_text = {(words(e, "head"), words(e, "tail")): e for e in exs}
    # "...inhibit [[ HVA Ca2+ channels ]] was sulprostone>PGE2, PGE1>STA2>>17-phenyl-..."
    assert ("17 - phenyl - trinor - PGE2", "HVA Ca2 + channels") in by_text
    ex = by_text[("17 - phenyl - trinor - PGE2", "HVA Ca2 + channels")]
    assert ">" in ex.tokens and "<<" not in " ".join(ex.tokens)
    # a chemical name containing "[[(" is not a mark
    assert ("adenosine A3 receptor", "IB - MECA") in by_text


def test_chemprot_nested_marks_and_literal_arrows(data_root, tmp_path):
    exs = read("chemprot", data_root / "chemprot" / "scibert" / "dev.txt").examples
    # "...indanyloxyacetic acid 94 >> [[ probenecid ]] >> flufenamic acid": spaced literal ">>"
    hit = [e for e in exs if words(e, "tail") == "probenecid" and words(e, "head") == "Panx1"]
    assert len(hit) == 1 and hit[0].tokens.count(">") == 6  # "> … > … >> … >>"
    f = tmp_path / "n.txt"
    f.write_text(json.dumps({"text": "the << [[ EGF ]] receptor >> binds", "label": "r"}) + "\n")
    (ex,) = read("chemprot", f).examples
    assert (words(ex, "head"), words(ex, "tail")) == ("EGF receptor", "EGF")


def test_blue_tsv_chemprot_dev(data_root):
    res = read(
        "blue_tsv", data_root / "chemprot" / "blue_partial" / "dev.tsv", head_mask="@CHEMICAL$"
    )
    exs = res.examples
    assert len(exs) == 11820
    assert Counter(e.label for e in exs) == {
        "false": 9404,
        "CPR:4": 1094,
        "CPR:3": 550,
        "CPR:9": 457,
        "CPR:6": 199,
        "CPR:5": 116,
    }
    two = [e for e in exs if e.head != e.tail]
    assert len(two) == 10874
    assert all(words(e, "head") == "@CHEMICAL$" and words(e, "tail") == "@GENE$" for e in two)
    same = [e for e in exs if e.head == e.tail]  # @CHEM-GENE$: one mention is both entities
    assert len(same) == 946 and words(same[0], "head") == "@CHEM-GENE$"


@pytest.mark.parametrize("split,count", [("dev", 7244), ("test", 5761)])
def test_blue_tsv_ddi(data_root, split, count):
    exs = read("blue_tsv", data_root / "ddi" / "blue_partial" / f"{split}.tsv").examples
    assert len(exs) == count
    assert {e.label for e in exs} == {
        "DDI-false",
        "DDI-advise",
        "DDI-effect",
        "DDI-mechanism",
        "DDI-int",
    }


def test_ddi_zip_train_and_test(data_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be unpacked to disk
    zip_path = data_root / "ddi" / "DDICorpus-2013.zip"
    train = read("ddi", zip_path, subset="Train")  # its time: benchmarks/loading.py
    test = read("ddi", zip_path, subset="Test")
    assert list(tmp_path.iterdir()) == []
    assert len(train.examples) == 27791
    assert train.dropped == {"pair with ddi=true but no type": 1}
    assert Counter(e.label for e in train.examples) == {
        "false": 23771,
        "effect": 1687,
        "mechanism": 1319,
        "advise": 826,
        "int": 188,
    }
    assert len(test.examples) == 5716 and not test.dropped
    assert Counter(e.label for e in test.examples) == {
        "false": 4737,
        "effect": 360,
        "mechanism": 302,
        "advise": 221,
        "int": 96,
    }
    assert len({e.meta["doc"] for e in train.examples}) == 624


def test_ddi_first_pair_and_discontinuous_entity(data_root):
    exs = read("ddi", data_root / "ddi" / "DDICorpus-2013.zip").examples
    first = {e.id: e for e in exs}["DDI-DrugBank.d481.s0.p0"]
    assert (words(first, "head"), words(first, "tail"), first.label) == (
        "calcium",
        "EMCYT",
        "mechanism",
    )
    # "mu-selective opioids" is charOffset 44-46;70-86: it covers first to last fragment
    disc = [
        e
        for e in exs
        if "mu" in e.tokens and "opioids" in words(e, "head").split() + words(e, "tail").split()
    ]
    assert any(
        words(e, "head").startswith("mu -") or words(e, "tail").startswith("mu -") for e in disc
    )


DEFT = "deft2020/data"


@pytest.mark.parametrize(
    "split,count,labels",
    [
        (
            "deft_files/train",
            18837,
            {
                "no_relation": 11269,
                "Direct-Defines": 5724,
                "AKA": 690,
                "Supplements": 606,
                "Refers-To": 287,
                "Indirect-Defines": 261,
            },
        ),
        (
            "deft_files/dev",
            941,
            {
                "no_relation": 589,
                "Direct-Defines": 289,
                "AKA": 26,
                "Supplements": 22,
                "Refers-To": 8,
                "Indirect-Defines": 7,
            },
        ),
        (
            "test_files/labeled/subtask_3",
            1037,
            {
                "no_relation": 661,
                "Direct-Defines": 294,
                "AKA": 37,
                "Supplements": 19,
                "Refers-To": 13,
                "Indirect-Defines": 13,
            },
        ),
    ],
)
def test_deft_default_candidates(data_root, split, count, labels):
    res = read("deft", data_root / DEFT / split)
    assert len(res.examples) == count
    assert Counter(e.label for e in res.examples) == labels
    assert set(res.dropped) <= {
        "fragment relation (excluded)",
        "relation has a ROOT_ID not in the file (chunk)",
    }
    # unordered pairs: e1 starts first
    assert all(e.head[0] <= e.tail[0] for e in res.examples)
    positives = [e for e in res.examples if e.label != "no_relation"]
    assert all(e.meta["direction"] in ("e1->e2", "e2->e1") for e in positives)


def test_deft_variants(data_root):
    train = data_root / DEFT / "deft_files/train"
    ordered = read("deft", train, pairs="ordered")
    assert len(ordered.examples) == 37767
    sentence = read("deft", train, window="sentence")
    assert len(sentence.examples) == 9939
    assert sentence.dropped["relation crosses the window (sentence)"] == 944
    # SOURCE.md's "ordered pairs within a chunk" are per sentence: dev/test agree exactly
    source_md = [
        len(
            read(
                "deft",
                data_root / DEFT / s,
                window="sentence",
                pairs="ordered",
                exclude_relations=(),
            ).examples
        )
        for s in ("deft_files/dev", "test_files/labeled/subtask_3")
    ]
    assert source_md == [888, 1064]
    with_fragment = read("deft", train, exclude_relations=())
    assert Counter(e.label for e in with_fragment.examples)["fragment"] == 93


def test_deft_direction_and_spans(tmp_path):
    rows = [
        ("A", "O", "-1", "-1", "0"),
        ("cell", "B-Term", "T1", "0", "0"),
        ("is", "O", "-1", "-1", "0"),
        ("the", "B-Definition", "T2", "T1", "Direct-Defines"),
        ("unit", "I-Definition", "T2", "T1", "Direct-Defines"),
        (".", "O", "-1", "-1", "0"),
    ]
    f = tmp_path / "x.deft"
    f.write_text(
        "".join(f"{w}\t src\t 0\t 1\t {t}\t {i}\t {r}\t {rel}\n" for w, t, i, r, rel in rows)
    )
    (ex,) = read("deft", f).examples
    assert (words(ex, "head"), words(ex, "tail")) == ("cell", "the unit")
    assert ex.label == "Direct-Defines" and ex.meta["direction"] == "e2->e1"
    both = read("deft", f, pairs="ordered").examples
    assert {(words(e, "head"), e.label) for e in both} == {
        ("cell", "no_relation"),
        ("the unit", "Direct-Defines"),
    }


# ---- formats not shipped: written here -----------------------------------------------------


def test_tacred_json_list_and_jsonl(tmp_path):
    rec = {
        "id": "e7798fb926b9403cfcd2",
        "relation": "per:title",
        "token": ["Tom", "Thabane", "resigned", "as", "chief", "minister", "."],
        "subj_start": 0,
        "subj_end": 1,
        "obj_start": 4,
        "obj_end": 5,
        "subj_type": "PERSON",
        "obj_type": "TITLE",
    }
    (tmp_path / "a.json").write_text(json.dumps([rec, {**rec, "relation": "no_relation"}]))
    (tmp_path / "b.jsonl").write_text(json.dumps(rec) + "\n\n" + json.dumps(rec) + "\n")
    for name in ("a.json", "b.jsonl"):
        exs = read("tacred", tmp_path / name).examples
        assert len(exs) == 2
        assert words(exs[0], "head") == "Tom Thabane" and words(exs[0], "tail") == "chief minister"
        assert exs[0].meta == {"subj_type": "PERSON", "obj_type": "TITLE"}
    assert read("tacred", tmp_path / "a.json").examples[1].label == "no_relation"


def test_kbp37_blocks_with_trailing_label_spaces_and_crlf(tmp_path):
    f = tmp_path / "train.txt"
    f.write_bytes(
        b'1\t" <e1> Thom Yorke </e1> of <e2> Radiohead </e2> has included the song . "\r\n'
        b"per:employee_of(e1,e2) \r\nComment:\r\n\r\n"
        b'2\t"<e2>Oslo</e2> hosts <e1>the prize</e1>."\r\nno_relation  \r\n\r\n'
    )
    a, b = read("semeval", f).examples
    assert (words(a, "head"), words(a, "tail"), a.label) == (
        "Thom Yorke",
        "Radiohead",
        "per:employee_of(e1,e2)",
    )
    assert (words(b, "head"), words(b, "tail"), b.label) == ("the prize", "Oslo", "no_relation")
    assert b.id == "train.txt:5"


def test_semeval_unlabeled(tmp_path):
    f = tmp_path / "TEST_FILE.TXT"
    f.write_text('8001\t"The <e1>a</e1> b <e2>c</e2>."\n8002\t"<e1>x</e1> <e2>y</e2>"\n')
    exs = read("semeval", f, labeled=False).examples
    assert [e.label for e in exs] == [None, None]
    with pytest.raises(
        DataError, match=r"TEST_FILE.TXT:2: missing the label line of sentence 8001"
    ):
        read("semeval", f)


def test_opennre_text_with_character_offsets(tmp_path):
    text = "Bill Gates founded Microsoft in 1975."
    rec = {
        "text": text,
        "h": {"name": "Bill Gates", "pos": [0, 10]},
        "t": {"name": "Microsoft", "pos": [19, 28]},
        "relation": "founded",
    }
    mid = {
        "text": "the EP1-selective agonist",
        "h": {"pos": [4, 7]},
        "t": {"pos": [8, 17]},
        "relation": "x",
    }
    f = tmp_path / "train.txt"
    f.write_text(json.dumps(rec) + "\n" + json.dumps(mid) + "\n")
    a, b = read("opennre", f).examples
    assert (words(a, "head"), words(a, "tail")) == ("Bill Gates", "Microsoft")
    assert a.tokens == ("Bill", "Gates", "founded", "Microsoft", "in", "1975", ".")
    assert (words(b, "head"), words(b, "tail")) == ("EP1", "selective")


# ---- hf: rows of a datasets.Dataset go through the same row parsers ------------------------


def test_hf_rows_equal_file_records(data_root):
    path = data_root / "semeval10" / "dev.txt"
    lines = path.read_text().splitlines()[:50]
    rows = [json.loads(line) for line in lines]
    ds = hf_datasets.Dataset.from_list(rows)
    got = read("hf", "thunlp/semeval", dataset=ds, format="opennre").examples
    want = read("opennre", path).examples[:50]
    assert [(e.tokens, e.head, e.tail, e.label) for e in got] == [
        (e.tokens, e.head, e.tail, e.label) for e in want
    ]
    assert got[3].id == "hf:thunlp/semeval/train:row 3"


def test_hf_semeval_rows_with_class_labels():
    features = hf_datasets.Features(
        {
            "sentence": hf_datasets.Value("string"),
            "relation": hf_datasets.ClassLabel(names=["Other", "Cause-Effect(e1,e2)"]),
        }
    )
    ds = hf_datasets.Dataset.from_dict(
        {
            "sentence": ["The <e1>flu</e1> caused <e2>fever</e2>.", "<e1>a</e1> and <e2>b</e2>"],
            "relation": [1, 0],
        },
        features=features,
    )
    a, b = read("hf", "sem_eval_2010_task_8", dataset=ds, format="semeval").examples
    assert (words(a, "head"), words(a, "tail"), a.label) == ("flu", "fever", "Cause-Effect(e1,e2)")
    assert b.label == "Other"


def test_hf_bad_row_names_the_row():
    ds = hf_datasets.Dataset.from_list(
        [{"token": ["a", "b"], "h": {"pos": [0, 1]}, "t": {"pos": [1, 5]}}]
    )
    with pytest.raises(
        DataError, match=r"hf:x/train:row 0: tail span \[1, 5\) is outside the sentence of 2 words"
    ):
        read("hf", "x", dataset=ds, format="opennre")


# ---- one contract over every registered reader ---------------------------------------------


def _ddi_zip(path: Path, sentence: str, entities: list[tuple[str, str]], pairs: str) -> Path:
    ents = "".join(
        f'<entity id="d0.s0.e{i}" charOffset="{off}" type="drug" text="{txt}"/>'
        for i, (off, txt) in enumerate(entities)
    )
    xml = (
        f'<document id="d0"><sentence id="d0.s0" text="{sentence}">{ents}{pairs}'
        "</sentence></document>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("DDICorpus/Train/DrugBank/x.xml", xml)
    return path


# a valid TACRED record: head "a", tail "b" (inclusive ends)
_TACRED = {
    "token": ["a", "b"],
    "subj_start": 0,
    "subj_end": 0,
    "obj_start": 1,
    "obj_end": 1,
    "relation": "r",
}


def _samples(tmp: Path) -> dict[str, tuple[Path, dict]]:
    """A small valid file per reader."""
    (tmp / "o.txt").write_text(
        json.dumps(
            {"token": ["a", "b", "c"], "h": {"pos": [0, 1]}, "t": {"pos": [2, 3]}, "relation": "r"}
        )
        + "\n"
    )
    (tmp / "s.txt").write_text('1\t"<e1>a</e1> b <e2>c</e2>"\nr\nComment:\n\n')
    (tmp / "t.json").write_text(json.dumps([_TACRED]))
    (tmp / "d.deft").write_text(
        "a\t s\t 0\t 1\t B-Term\t T1\t 0\t 0\nb\t s\t 2\t 3\t B-Definition\t T2\t T1\t AKA\n"
    )
    (tmp / "c.txt").write_text(json.dumps({"text": "<< a >> b [[ c ]]", "label": "r"}) + "\n")
    (tmp / "b.tsv").write_text("1\t@DRUG$ b @DRUG$\tfalse\n")
    _ddi_zip(
        tmp / "ddi.zip",
        "A and B.",
        [("0-0", "A"), ("6-6", "B")],
        '<pair id="d0.s0.p0" e1="d0.s0.e0" e2="d0.s0.e1" ddi="false"/>',
    )
    (tmp / "sp.json").write_text(
        json.dumps(
            [
                {
                    "tokens": ["a", "b", "c"],
                    "entities": [
                        {"type": "X", "start": 0, "end": 1},
                        {"type": "Y", "start": 2, "end": 3},
                    ],
                    "relations": [{"type": "r", "head": 0, "tail": 1}],
                }
            ]
        )
    )
    ds = hf_datasets.Dataset.from_list([{"text": "<< a >> b [[ c ]]", "label": "r"}])
    return {
        "spert": (tmp / "sp.json", {}),
        "opennre": (tmp / "o.txt", {}),
        "semeval": (tmp / "s.txt", {}),
        "tacred": (tmp / "t.json", {}),
        "deft": (tmp / "d.deft", {}),
        "chemprot": (tmp / "c.txt", {}),
        "blue_tsv": (tmp / "b.tsv", {}),
        "ddi": (tmp / "ddi.zip", {}),
        "hf": (Path("x"), {"dataset": ds, "format": "chemprot"}),
    }


def test_every_reader_has_a_contract_sample(tmp_path):
    assert set(_samples(tmp_path)) == set(READERS.names())


@pytest.mark.parametrize("fmt", READERS.names())
def test_reader_contract(tmp_path, fmt):
    path, kw = _samples(tmp_path)[fmt]
    res = read(fmt, path, **kw)
    assert isinstance(res, ReadResult) and isinstance(res.dropped, Counter)
    assert res.examples and all(isinstance(e, RelationExample) for e in res.examples)
    for e in res.examples:
        assert e.id and isinstance(e.label, str)
        assert 0 <= e.head[0] < e.head[1] <= len(e.tokens)
        assert 0 <= e.tail[0] < e.tail[1] <= len(e.tokens)


# ---- bad input: each error names the file and line (or record) and what is wrong ----------


@pytest.mark.parametrize("fmt", ["opennre", "chemprot", "tacred", "semeval", "blue_tsv", "deft"])
def test_empty_file(tmp_path, fmt):
    f = tmp_path / "train.txt"
    f.write_text("\n  \n")
    with pytest.raises(DataError, match=rf"{f}: file is empty"):
        read(fmt, f)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope.txt: file not found"):
        read("opennre", tmp_path / "nope.txt")


_GOOD_OPENNRE = {"token": ["a", "b"], "h": {"pos": [0, 1]}, "t": {"pos": [1, 2]}, "relation": "r"}


# (reader, file name, content, message); "{f}" in a message stands for the file's whole path
@pytest.mark.parametrize(
    "fmt,name,content,message",
    [
        pytest.param(
            "opennre",
            "train.txt",
            json.dumps(_GOOD_OPENNRE) + "\n" + json.dumps(_GOOD_OPENNRE) + '\n{"token": [\n',
            r"{f}:3: malformed JSON line",
            id="opennre-malformed-json-line",
        ),
        pytest.param(
            "opennre",
            "train.txt",
            json.dumps({**_GOOD_OPENNRE, "t": {"pos": [1, 3]}}) + "\n",
            r"train.txt:1: tail span \[1, 3\) is outside the sentence of 2 words",
            id="opennre-span-outside-sentence",
        ),
        pytest.param(
            "tacred",
            "dev.json",
            json.dumps([{**_TACRED, "id": "r1", "subj_end": 2}]),
            r"dev.json:record 0 \(id r1\): head span \[0, 3\) is outside",
            id="tacred-inclusive-end-outside-sentence",
        ),
        pytest.param(
            "opennre",
            "train.txt",
            json.dumps({"token": ["a"], "t": {"pos": [0, 1]}}) + "\n",
            r"train.txt:1: missing key 'h'",
            id="opennre-missing-key",
        ),
        pytest.param(
            "opennre",
            "train.txt",
            json.dumps({"h": {"pos": [0, 1]}, "t": {"pos": [0, 1]}}) + "\n",
            r"train.txt:1: needs 'token' \(a word list\) or 'text'",
            id="opennre-missing-tokens",
        ),
        pytest.param(
            "semeval",
            "TRAIN_FILE.TXT",
            '1\t"<e1>a</e1> <e2>b</e2>"\nOther\n\nnot a sentence line\nOther\n',
            r"{f}:4: expected a sentence line",
            id="semeval-bad-sentence-line",
        ),
        pytest.param(
            "semeval",
            "TRAIN_FILE.TXT",
            '1\t"<e1>a</e1> <e2>b</e2>"\nComment: no label\n\n',
            r"{f}:2: missing the label line of sentence 1",
            id="semeval-missing-label-line",
        ),
        pytest.param(
            "semeval",
            "TRAIN_FILE.TXT",
            '1\t"<e1>a</e1> b"\nOther\n',
            r"TRAIN_FILE.TXT:1: tail entity marks '<e2>' … '</e2>' not found",
            id="semeval-missing-tags",
        ),
        pytest.param(
            "chemprot",
            "test.txt",
            json.dumps({"text": "<< a >> b c", "label": "r"}) + "\n",
            r"test.txt:1: tail entity marks",
            id="chemprot-missing-marks",
        ),
        pytest.param(
            "blue_tsv",
            "dev.tsv",
            "1\t@DRUG$ x @DRUG$\tfalse\n2\tno tabs here\n",
            r"{f}:2: expected 3 tab-separated columns, got 2",
            id="blue_tsv-bad-columns",
        ),
        pytest.param(
            "blue_tsv",
            "dev.tsv",
            "1\t@DRUG$ x y\tfalse\n",
            r"dev.tsv:1 \(id 1\): expected two entity masks .* found \['@DRUG\$'\]",
            id="blue_tsv-bad-masks",
        ),
        pytest.param(
            "deft",
            "bad.deft",
            "a\t s\t 0\t 1\t O\t -1\t -1\t 0\nb\t s\t 0\t 1\t O\n",
            r"{f}:2: expected 8 tab-separated columns .* got 5",
            id="deft-bad-columns",
        ),
        pytest.param("ddi", "bad.zip", "not a zip", r"{f}: not a zip file", id="ddi-bad-zip"),
    ],
)
def test_bad_input_names_the_place(tmp_path, fmt, name, content, message):
    f = tmp_path / name
    f.write_text(content)
    with pytest.raises(DataError, match=message.replace("{f}", re.escape(str(f)))):
        read(fmt, f)


@pytest.mark.parametrize(
    "offset,text,message",
    [
        ("6-x", "B", r"entity d0.s0.e1: bad charOffset '6-x'"),
        (
            "6-40",
            "B",
            r"entity d0.s0.e1: bad charOffset '6-40' .* within the sentence of 8 characters",
        ),
        ("2-4", "B", r"entity d0.s0.e1: charOffset '2-4' gives 'and', but the entity text is 'B'"),
        ("", "B", r"entity d0.s0.e1: bad charOffset ''"),
    ],
)
def test_ddi_bad_offsets(tmp_path, offset, text, message):
    z = _ddi_zip(
        tmp_path / "c.zip",
        "A and B.",
        [("0-0", "A"), (offset, text)],
        '<pair id="d0.s0.p0" e1="d0.s0.e0" e2="d0.s0.e1" ddi="false"/>',
    )
    with pytest.raises(DataError, match=r"c.zip:DDICorpus/Train/DrugBank/x.xml: " + message):
        read("ddi", z)


def test_ddi_discontinuous_offsets_are_handled(tmp_path):
    z = _ddi_zip(
        tmp_path / "c.zip",
        "mu- and delta-selective opioids",
        [("0-2;14-30", "mu-selective opioids"), ("8-12", "delta")],
        '<pair id="d0.s0.p0" e1="d0.s0.e0" e2="d0.s0.e1" ddi="true" type="int"/>',
    )
    (ex,) = read("ddi", z).examples
    assert (
        words(ex, "head") == "mu - and delta - selective opioids" and words(ex, "tail") == "delta"
    )
    assert ex.label == "int" and ex.meta["doc"] == "d0"


def test_ddi_pair_with_unknown_entity(tmp_path):
    z = _ddi_zip(
        tmp_path / "c.zip",
        "A and B.",
        [("0-0", "A")],
        '<pair id="d0.s0.p0" e1="d0.s0.e0" e2="d0.s0.e9" ddi="false"/>',
    )
    with pytest.raises(DataError, match=r"pair d0.s0.p0: e2='d0.s0.e9' is not an entity of d0.s0"):
        read("ddi", z)


# ---- records that cannot be relation statements: dropped and counted, or refused (strict) ----


def test_kbp37_empty_head_entity_is_dropped_counted_or_refused(tmp_path):
    """A public KBP37 copy has ``<e1> </e1>``: that record is dropped, not the whole file."""
    f = tmp_path / "train.txt"
    f.write_bytes(
        b'1\t" <e1> Thom Yorke </e1> of <e2> Radiohead </e2> sang . "\r\n'
        b"per:employee_of(e1,e2) \r\nComment:\r\n\r\n"
        b'2\t" <e1> </e1> said <e2> Oslo </e2> . "\r\nno_relation \r\nComment:\r\n\r\n'
        b'3\t"<e1>a</e1> and <e2></e2>"\r\nno_relation\r\n\r\n'
        b'4\t"<e2>b</e2> then <e1>c</e1>"\r\nno_relation\r\n'
    )
    res = read("semeval", f)
    assert [e.meta["sent_id"] for e in res.examples] == ["1", "4"]
    assert res.dropped == {"empty head entity": 1, "empty tail entity": 1}
    assert res.dropped_where == {"empty head entity": [f"{f}:5"], "empty tail entity": [f"{f}:9"]}
    with pytest.raises(
        DataError,
        match=rf"{f}:5: empty head entity \(characters .* hold ' '\): "
        r"the record cannot be a relation statement; refused "
        r"because of --strict",
    ):
        read("semeval", f, strict=True)


def _empty_entity_samples(tmp: Path) -> dict[str, tuple[Path, dict, str]]:
    """A file per reader whose second record has an empty entity, and the reason expected."""
    ok_o = {"token": ["a", "b", "c"], "h": {"pos": [0, 1]}, "t": {"pos": [2, 3]}, "relation": "r"}
    (tmp / "o.txt").write_text(
        json.dumps(ok_o) + "\n" + json.dumps({**ok_o, "h": {"pos": [1, 1]}}) + "\n"
    )
    (tmp / "ot.txt").write_text(
        json.dumps(ok_o)
        + "\n"
        + json.dumps({"text": "a   b", "h": {"pos": [0, 1]}, "t": {"pos": [2, 3]}, "relation": "r"})
        + "\n"
    )
    (tmp / "ow.txt").write_text(
        json.dumps(ok_o)
        + "\n"
        + json.dumps({**ok_o, "token": ["a", " ", "c"], "t": {"pos": [1, 2]}})
        + "\n"
    )
    (tmp / "t.json").write_text(json.dumps([_TACRED, {**_TACRED, "subj_end": -1}]))
    (tmp / "c.txt").write_text(
        json.dumps({"text": "<< a >> b [[ c ]]", "label": "r"})
        + "\n"
        + json.dumps({"text": "<< a >> b [[  ]]", "label": "r"})
        + "\n"
    )
    (tmp / "sp.json").write_text(
        json.dumps(
            {
                "tokens": ["a", "b"],
                "entities": [
                    {"type": "X", "start": 0, "end": 1},
                    {"type": "Y", "start": 1, "end": 2},
                ],
            }
        )
        + "\n"
        + json.dumps(
            {
                "tokens": ["a", "b", "c"],
                "entities": [
                    {"type": "X", "start": 0, "end": 1},
                    {"type": "Y", "start": 2, "end": 2},
                    {"type": "Z", "start": 2, "end": 3},
                ],
            }
        )
        + "\n"
    )
    _ddi_zip(
        tmp / "ddi.zip",
        "A and B.",
        [("0-0", "A"), ("6-6", "B")],
        '<pair id="d0.s0.p0" e1="d0.s0.e0" e2="d0.s0.e1" ddi="false"/>'
        '<pair id="d0.s0.p1" e1="d0.s0.e0" e2="d0.s0.e1" ddi="true"/>',
    )
    rows = [{"text": "<< a >> b [[ c ]]", "label": "r"}, {"text": "<<  >> [[ c ]]", "label": "r"}]
    return {
        "opennre": (tmp / "o.txt", {}, "empty head entity"),
        "opennre-text": (tmp / "ot.txt", {}, "empty tail entity"),
        "opennre-blank-word": (tmp / "ow.txt", {}, "empty tail entity"),
        "tacred": (tmp / "t.json", {}, "empty head entity"),
        "chemprot": (tmp / "c.txt", {}, "empty tail entity"),
        "spert": (tmp / "sp.json", {}, "empty entity"),
        "ddi": (tmp / "ddi.zip", {}, "pair with ddi=true but no type"),
        "hf": (
            Path("x"),
            {"dataset": hf_datasets.Dataset.from_list(rows), "format": "chemprot"},
            "empty head entity",
        ),
    }


@pytest.mark.parametrize(
    "case",
    ["opennre", "opennre-text", "opennre-blank-word", "tacred", "chemprot", "spert", "ddi", "hf"],
)
def test_empty_entities_are_dropped_with_their_place_or_refused(tmp_path, case):
    path, kw, reason = _empty_entity_samples(tmp_path)[case]
    fmt = case.split("-")[0]
    res = read(fmt, path, **kw)
    assert res.examples and res.dropped == {reason: 1}
    (where,) = res.dropped_where[reason]
    line = {
        "tacred": f"{path}:record 1",
        "spert": f"{path}:2",
        "hf": "hf:x/train:row 1",
        "ddi": "ddi.zip:DDICorpus/Train/DrugBank/x.xml: pair d0.s0.p1",
    }
    assert where == line.get(fmt, f"{path}:2")
    with pytest.raises(DataError, match=re.escape(where) + rf": {reason}.*--strict"):
        read(fmt, path, strict=True, **kw)
    if fmt == "spert":  # the empty entity is left out of every pair; the others still pair
        assert [e.id for e in res.examples] == [
            "sp.json:1#0-1",
            "sp.json:1#1-0",
            "sp.json:2#0-2",
            "sp.json:2#2-0",
        ]


def test_drop_places_are_capped_and_malformed_records_still_fail(tmp_path):
    f = tmp_path / "train.txt"
    ok = {"token": ["a", "b"], "h": {"pos": [0, 1]}, "t": {"pos": [1, 2]}, "relation": "r"}
    f.write_text(
        "".join(json.dumps({**ok, "h": {"pos": [0, 0]}}) + "\n" for _ in range(7))
        + json.dumps(ok)
        + "\n"
    )
    res = read("opennre", f)
    assert res.dropped == {"empty head entity": 7} and len(res.examples) == 1
    assert res.dropped_where["empty head entity"] == [f"{f}:{n}" for n in range(1, 6)]
    # a reversed or out-of-range span is malformed, not empty: an error without --strict too
    for bad in ([1, 0], [0, 3], [-1, 1]):
        f.write_text(json.dumps({**ok, "h": {"pos": bad}}) + "\n")
        with pytest.raises(
            DataError,
            match=r"train.txt:1: head span .* is outside the sentence "
            r"of 2 words or reversed",
        ):
            read("opennre", f)
