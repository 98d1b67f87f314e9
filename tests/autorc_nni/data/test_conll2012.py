"""CoNLL-2012 coreference reader, split loader and writer (``autorc_nni.data.conll2012``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autorc_nni.data.conll2012 import (
    CorefDocument,
    conll2012_stats,
    load_conll2012,
    read_conll2012,
    write_conll2012,
)
from autorc_nni.errors import DataError

# --------------------------------------------------------------------------------------------
# Helpers: synthetic files
# --------------------------------------------------------------------------------------------


def _doc(name: str, part: str, sentences: list[list[tuple[str, str]]]) -> str:
    """A document block; each token ``(word, coref cell)``, six tab-separated columns."""
    lines = [f"#begin document ({name}); part {part}"]
    for sentence in sentences:
        for i, (word, cell) in enumerate(sentence):
            lines.append(f"{name}\t{part}\t{i}\t{word}\t_\t{cell}")
        lines.append("")
    lines.append("#end document")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str, **options) -> tuple[Path, str]:
    path = _write(tmp_path / "bad.conll", text)
    with pytest.raises(DataError) as info:
        read_conll2012(path, **options)
    return path, str(info.value)


def _assert_at(message: str, path: Path, line: int, *words: str) -> None:
    assert message.startswith(f"{path}:{line}: "), message
    for word in words:
        assert word in message, (word, message)


# the token cells exercise nesting, shared starts and ends, one-token mentions, one span in two
# clusters, brackets run together, '-', '_' and an empty cell
NESTED = [
    [
        ("The", "(0|(1"),
        ("old", "1)"),
        ("man", "(2)|0)"),
        ("saw", "(3)|(4)"),
        ("him", "(0)"),
        (".", "-"),
    ],
    [
        ("Anna", "(5|(5"),
        ("K.", "5)"),
        ("and", "5)"),
        ("her", "(6"),
        ("own", "(6"),
        ("son", "6)6)"),
        ("left", ""),
        (".", "_"),
    ],
]
NESTED_CLUSTERS = [  # in the order the scorer meets the ids: "(0" before "(1"
    [(0, 3), (4, 5)],  # 0
    [(0, 2)],  # 1
    [(2, 3)],  # 2
    [(3, 4)],  # 3
    [(3, 4)],  # 4: the same span as 3, legal
    [(6, 8), (6, 9)],  # 5: same start, same cluster
    [(9, 12), (10, 12)],  # 6: same end, same cluster
]


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def test_reads_nested_shared_start_and_one_token_mentions(tmp_path):
    path = _write(tmp_path / "a.conll", _doc("nw/x/00/x_0001", "000", NESTED))
    [doc] = read_conll2012(path)
    assert (doc.name, doc.part, doc.key) == ("nw/x/00/x_0001", "000", "nw/x/00/x_0001; part 000")
    assert doc.source == f"{path}:1"
    assert doc.clusters == NESTED_CLUSTERS
    assert doc.cluster_ids == ["0", "1", "2", "3", "4", "5", "6"]
    assert doc.repeated == {(3, 4): f"{path}:5"}  # "(3)|(4)"
    assert doc.entity_of()[(3, 4)] == 4  # the last cluster, as the scorer's index
    assert doc.spans().count((3, 4)) == 1 and doc.mentions().count((3, 4)) == 2
    assert doc.sentences[0] == ["The", "old", "man", "saw", "him", "."]
    assert doc.tokens[6:8] == ["Anna", "K."]
    assert doc.sentence_starts == [0, 6, 14]
    assert [doc.sentence_of(t) for t in (0, 5, 6, 13)] == [0, 0, 1, 1]
    with pytest.raises(IndexError):
        doc.sentence_of(14)
    assert doc.mentions() == [
        (0, 2),
        (0, 3),
        (2, 3),
        (3, 4),
        (3, 4),
        (4, 5),
        (6, 8),
        (6, 9),
        (9, 12),
        (10, 12),
    ]
    assert doc.duplicates == 0


def test_several_documents_and_parts_in_one_file(tmp_path):
    text = (
        _doc("bc/cnn/00/cnn_0000", "000", [[("a", "(0)"), ("b", "-")]])
        + _doc("bc/cnn/00/cnn_0000", "001", [[("c", "(7"), ("d", "7)")], [("e", "(7)")]])
        + "\n# a comment between documents\n"
        + _doc("other", "0", [[("f", "-")]])
    )
    path = _write(tmp_path / "multi.v4_gold_conll", text)
    docs = read_conll2012(path)
    assert [d.key for d in docs] == [
        "bc/cnn/00/cnn_0000; part 000",
        "bc/cnn/00/cnn_0000; part 001",
        "other; part 0",
    ]
    assert [d.source for d in docs] == [f"{path}:1", f"{path}:6", f"{path}:15"]
    assert docs[1].clusters == [[(0, 2), (2, 3)]]  # document-level offsets across sentences
    assert docs[2].clusters == []
    assert conll2012_stats(docs) == {
        "documents": 3,
        "sentences": 4,
        "tokens": 6,
        "mentions": 3,
        "entities": 2,
        "singletons": 1,
    }


def test_a_mention_written_twice_in_one_cluster_is_kept_once(tmp_path):
    path = _write(tmp_path / "d.conll", _doc("d", "0", [[("a", "(0|(0"), ("b", "0)|0)|(1)|(1)")]]))
    [doc] = read_conll2012(path)
    assert doc.clusters == [[(0, 2)], [(1, 2)]]
    assert doc.duplicates == 2


def test_within_a_cell_the_scorer_order_applies(tmp_path):
    # one-token mentions, then openings, then closings, whatever the written order: "0)|(0"
    # opens then closes at the same token, a one-token mention
    path = _write(tmp_path / "o.conll", _doc("o", "0", [[("a", "0)|(0"), ("b", "-")]]))
    assert read_conll2012(path)[0].clusters == [[(0, 1)]]
    # ... so "a mention of 0 ends where the next starts" is not what the scorer reads: (0, 3) and
    # (1, 2), not (0, 2) and (1, 3); without the last closing, an unclosed bracket
    path = _write(
        tmp_path / "q.conll", _doc("q", "0", [[("a", "(0"), ("b", "0)|(0"), ("c", "0)")]])
    )
    assert read_conll2012(path)[0].clusters == [[(0, 3), (1, 2)]]
    path = _write(tmp_path / "r.conll", _doc("r", "0", [[("a", "(0"), ("b", "0)|(0")]]))
    with pytest.raises(
        DataError,
        match=re.escape(
            f"{path}:5: #end document of r; part 0 with "
            "cluster 0 still open: its bracket '(0' at "
            "line 2"
        ),
    ):
        read_conll2012(path)
    path = _write(
        tmp_path / "p.conll", _doc("p", "0", [[("a", "(0"), ("b", "0)|(1)|(2")], [("c", "2)")]])
    )
    assert read_conll2012(path)[0].clusters == [[(0, 2)], [(1, 2)], [(1, 3)]]


def test_litbank_style_lines_ending_in_a_tab(tmp_path):
    # LitBank: 13 columns, the last empty when the token is in no mention
    rows = [
        ["doc", "0", "0", "Sir"] + ["_"] * 8 + ["(0"],
        ["doc", "0", "1", "Walter"] + ["_"] * 8 + ["0)"],
        ["doc", "0", "2", ","] + ["_"] * 8 + [""],
        ["doc", "0", "3", "he"] + ["_"] * 8 + ["(0)"],
    ]
    text = (
        "#begin document (doc); part 0\n"
        + "\n".join("\t".join(r) for r in rows)
        + "\n\n#end document\n"
    )
    [doc] = read_conll2012(_write(tmp_path / "lit.conll", text))
    assert doc.sentences == [["Sir", "Walter", ",", "he"]]
    assert doc.clusters == [[(0, 2), (3, 4)]]


def test_a_stray_trailing_tab_is_tolerated_and_the_cell_before_it_read(tmp_path):
    # the scorer's TC-A files: one line has an extra empty column; the scorer reads the cell
    # before it (Perl's split drops trailing empty fields) -- so do we
    text = (
        "#begin document (LuoTestCase); \n"
        "t\t0\t0\ta1\t(0\nt\t0\t1\ta2\t0)\t\nt\t0\t2\t.\t-\t\n#end document\n"
    )
    [doc] = read_conll2012(_write(tmp_path / "tc.key", text))
    assert (doc.name, doc.part) == ("LuoTestCase", "")
    assert doc.clusters == [[(0, 2)]]
    # every line with a stray tab: the cells are still found
    text = "#begin document (x); part 0\nx\t0\t0\ta\t_\t(3\t\nx\t0\t1\tb\t_\t3)\t\n#end document\n"
    assert read_conll2012(_write(tmp_path / "st.conll", text))[0].clusters == [[(0, 2)]]


def test_space_separated_two_column_lines_crlf_and_bom(tmp_path):
    # the scorer's TC-B..L files: "doc-id coref", space-separated
    text = (
        "\ufeff#begin document (nw/x); part 000\r\nnw/x -\r\nnw/x (1)\r\nnw/x (1)\r\n\r\n"
        "#end document\r\n"
    )
    path = _write(tmp_path / "tc2.key", text)
    with pytest.raises(DataError, match="at least 4 needed"):
        read_conll2012(path)
    [doc] = read_conll2012(path, min_columns=2)
    assert doc.clusters == [[(1, 2), (2, 3)]]
    assert doc.sentences == [["", "", ""]]
    spaced = (
        "#begin document (s); part 0\ns  0  0  Hello  NNP  (4\ns  0  1  world  NN  4)\n"
        "#end document\n"
    )
    assert read_conll2012(_write(tmp_path / "sp.conll", spaced))[0].clusters == [[(0, 2)]]


def test_double_antecedent_brackets_are_discarded_as_the_scorer_does(tmp_path):
    path = _write(tmp_path / "da.conll", _doc("da", "0", [[("a", "(12+3)|(5)"), ("b", "-")]]))
    assert read_conll2012(path)[0].clusters == [[(0, 1)]]


def test_an_empty_document_is_read(tmp_path):
    path = _write(tmp_path / "e.conll", "#begin document (e); part 0\n#end document\n")
    [doc] = read_conll2012(path)
    assert doc.sentences == [] and doc.clusters == [] and doc.sentence_starts == [0]


# --------------------------------------------------------------------------------------------
# Reading: every bad case names the file and line
# --------------------------------------------------------------------------------------------

HEAD = "#begin document (d); part 0\n"


def test_unclosed_bracket_at_end_of_document(tmp_path):
    text = HEAD + "d\t0\t0\ta\t(4\nd\t0\t1\tb\t(5\nd\t0\t2\tc\t5)\n\n#end document\n"
    path, msg = _error(tmp_path, text)
    _assert_at(msg, path, 6, "cluster 4", "line 2", "never closed")


def test_closing_a_cluster_that_is_not_open(tmp_path):
    path, msg = _error(tmp_path, HEAD + "d\t0\t0\ta\t(1\nd\t0\t1\tb\t1)|2)\n#end document\n")
    _assert_at(msg, path, 3, "'2)'", "cluster 2", "no open mention")


def test_column_count_differs_within_a_sentence(tmp_path):
    text = HEAD + "d\t0\t0\ta\t_\t-\nd\t0\t1\tb\t-\nd\t0\t2\tc\t_\t-\n#end document\n"
    path, msg = _error(tmp_path, text)
    _assert_at(msg, path, 3, "5 columns", "have 6", "line 2")
    # one more non-empty column is an error too (only empty trailing columns are tolerated)
    text = HEAD + "d\t0\t0\ta\t-\nd\t0\t1\tb\tX\t-\n#end document\n"
    path, msg = _error(tmp_path, text)
    _assert_at(msg, path, 3, "6 columns", "have 5")


def test_too_few_columns(tmp_path):
    path, msg = _error(tmp_path, HEAD + "d\t0\t0\ta\t-\nd\t0\t(1)\n#end document\n")
    _assert_at(msg, path, 3, "3 columns", "at least 4")


def test_token_line_outside_a_document(tmp_path):
    path, msg = _error(tmp_path, "d\t0\t0\ta\t-\n" + HEAD + "#end document\n")
    _assert_at(msg, path, 1, "outside a document")
    path, msg = _error(tmp_path, HEAD + "d\t0\t0\ta\t-\n#end document\n\nd\t0\t1\tb\t-\n")
    _assert_at(msg, path, 5, "outside a document")


def test_document_never_ended(tmp_path):
    path, msg = _error(tmp_path, "\n" + HEAD + "d\t0\t0\ta\t-\n")
    _assert_at(msg, path, 2, "never ended", "d; part 0")
    text = HEAD + "d\t0\t0\ta\t-\n#begin document (e); part 0\ne\t0\t0\tb\t-\n#end document\n"
    path, msg = _error(tmp_path, text)
    _assert_at(msg, path, 3, "still open", "line 1")


@pytest.mark.parametrize("cell", ["(a)", "3", "((3", "(3]", "3)x", "(3 )", "(1+23)"])
def test_unparseable_coreference_cell(tmp_path, cell):
    path, msg = _error(tmp_path, HEAD + f"d\t0\t0\ta\t-\nd\t0\t1\tb\t{cell}\n#end document\n")
    _assert_at(msg, path, 3, "unparseable coreference cell", repr(cell))


def test_empty_file_and_file_without_documents(tmp_path):
    path, msg = _error(tmp_path, "")
    _assert_at(msg, path, 1, "empty file")
    path, msg = _error(tmp_path, "\n  \n# nothing here\n")
    _assert_at(msg, path, 1, "empty file")


def test_other_malformed_files(tmp_path):
    path, msg = _error(tmp_path, "\n#end document\n")
    _assert_at(msg, path, 2, "without '#begin document'")
    path, msg = _error(tmp_path, "#begin document \n#end document\n")
    _assert_at(msg, path, 1, "without a document name")
    path, msg = _error(tmp_path, HEAD + "#end document\n" + HEAD + "#end document\n")
    _assert_at(msg, path, 3, "already began at line 1")
    bad = tmp_path / "latin1.conll"
    bad.write_bytes((HEAD + "d\t0\t0\tcaf\xe9\t-\n#end document\n").encode("latin-1"))
    with pytest.raises(DataError, match=re.escape(f"{bad}:2: not UTF-8")):
        read_conll2012(bad)
    with pytest.raises(DataError, match="file not found"):
        read_conll2012(tmp_path / "missing.conll")


# --------------------------------------------------------------------------------------------
# Splits: the two layouts
# --------------------------------------------------------------------------------------------


def _small(name: str, cells: tuple[str, ...] = ("(0", "0)", "(0)")) -> str:
    return _doc(name, "000", [[(f"w{i}", c) for i, c in enumerate(cells)]])


def test_folder_per_split_ontonotes_layout(tmp_path):
    data = tmp_path / "conll-2012"
    train = data / "train" / "data" / "english" / "annotations"
    _write(train / "bc" / "cnn" / "00" / "cnn_0001.v4_gold_conll", _small("bc/cnn/00/cnn_0001"))
    _write(train / "bc" / "cnn" / "00" / "cnn_0000.v4_gold_conll", _small("bc/cnn/00/cnn_0000"))
    # the release ships predicted-parse copies of the same documents: left out
    _write(train / "bc" / "cnn" / "00" / "cnn_0000.v4_auto_conll", _small("bc/cnn/00/cnn_0000"))
    _write(
        train / "nw" / "wsj" / "01" / "wsj_0101.v4_gold_conll",
        _small("nw/wsj/01/wsj_0101") + _doc("nw/wsj/01/wsj_0101", "001", [[("x", "(2)")]]),
    )
    _write(train / "nw" / "README.txt", "not a conll file\n")
    _write(data / "dev" / "a" / "dev_0.v4_gold_conll", _small("dev_0"))
    _write(data / "test.english.v4_gold_conll", _small("test_0") + _small("test_1"))
    _write(data / "test.english.v4_auto_conll", _small("test_0") + _small("test_1"))
    _write(data / "test.english.jsonlines", "{}\n")  # e2e-coref's preprocessing: not a candidate
    _write(data / "training-notes" / "x.conll", _small("not_a_split"))  # "training" is not "train"
    splits = load_conll2012(data)
    assert list(splits) == ["train", "dev", "test"]
    assert [d.key for d in splits["train"]] == [
        "bc/cnn/00/cnn_0000; part 000",
        "bc/cnn/00/cnn_0001; part 000",
        "nw/wsj/01/wsj_0101; part 000",
        "nw/wsj/01/wsj_0101; part 001",
    ]
    assert [d.name for d in splits["dev"]] == ["dev_0"]
    assert [d.name for d in splits["test"]] == ["test_0", "test_1"]
    assert splits["train"][0].clusters == [[(0, 2), (2, 3)]]


def test_a_file_per_split_named_exactly(tmp_path):
    for split in ("train", "dev", "test"):
        _write(tmp_path / split, _small(f"{split}_doc"))
    splits = load_conll2012(tmp_path)
    assert {s: [d.name for d in docs] for s, docs in splits.items()} == {
        "train": ["train_doc"],
        "dev": ["dev_doc"],
        "test": ["test_doc"],
    }


def test_folder_layout_errors(tmp_path):
    _write(tmp_path / "train.conll", _small("a"))
    _write(tmp_path / "test.conll", _small("b"))
    with pytest.raises(DataError) as info:
        load_conll2012(tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path}: no dev split") and "found: test.conll, train.conll" in msg

    (tmp_path / "dev").mkdir()
    _write(tmp_path / "dev" / "notes.txt", "x\n")
    with pytest.raises(
        DataError, match=re.escape(f"{tmp_path / 'dev'}: no file ending in 'conll'")
    ):
        load_conll2012(tmp_path)

    _write(tmp_path / "dev.conll", _small("c"))
    with pytest.raises(DataError, match="several candidates for the dev split"):
        load_conll2012(tmp_path)

    _write(tmp_path / "dev" / "x.conll", _small("a"))
    (tmp_path / "dev.conll").unlink()
    _write(tmp_path / "dev" / "y.conll", _small("a"))
    with pytest.raises(
        DataError, match=r"y\.conll:1: document a; part 000 is also in .*x\.conll:1"
    ):
        load_conll2012(tmp_path)

    with pytest.raises(DataError, match="coreference data folder not found"):
        load_conll2012(tmp_path / "nope")


def _flat(tmp_path: Path) -> tuple[Path, Path]:
    docs, splits = tmp_path / "conll", tmp_path / "splits"
    for name in ("1_a_brat", "2_b_brat", "3_c_brat", "4_d_brat"):
        _write(docs / f"{name}.conll", _small(name))
    _write(splits / "train.ids", "1_a_brat.tsv\n\n2_b_brat\n")  # LitBank's .tsv ids; a bare stem
    _write(splits / "dev.ids", "3_c_brat.tsv\n")
    _write(splits / "test.ids", "4_d_brat.tsv\n")
    return docs, splits


def test_flat_folder_and_id_files(tmp_path):
    docs, splits = _flat(tmp_path)
    loaded = load_conll2012(docs, splits)
    assert {s: [d.name for d in v] for s, v in loaded.items()} == {
        "train": ["1_a_brat", "2_b_brat"],
        "dev": ["3_c_brat"],
        "test": ["4_d_brat"],
    }
    assert loaded["dev"][0].source == f"{docs / '3_c_brat.conll'}:1"


def test_flat_folder_errors(tmp_path):
    docs, splits = _flat(tmp_path)
    _write(splits / "dev.ids", "3_c_brat.tsv\n9_missing_brat.tsv\n")
    with pytest.raises(DataError) as info:
        load_conll2012(docs, splits)
    _assert_at(str(info.value), splits / "dev.ids", 2, "'9_missing_brat.tsv'", "9_missing_brat")

    _write(splits / "dev.ids", "3_c_brat.tsv\n3_c_brat\n")
    with pytest.raises(
        DataError,
        match=re.escape(f"{splits / 'dev.ids'}:2: id '3_c_brat' is listed twice (also line 1)"),
    ):
        load_conll2012(docs, splits)

    _write(splits / "dev.ids", "\n\n")
    with pytest.raises(DataError, match=re.escape(f"{splits / 'dev.ids'}: no document id")):
        load_conll2012(docs, splits)

    (splits / "dev.ids").unlink()
    with pytest.raises(
        DataError, match=re.escape(f"{splits / 'dev.ids'}: split id file not found")
    ):
        load_conll2012(docs, splits)

    with pytest.raises(DataError, match="split folder not found"):
        load_conll2012(docs, tmp_path / "nope")


def test_an_empty_document_file_in_a_split_is_an_error(tmp_path):
    docs, splits = _flat(tmp_path)
    _write(docs / "4_d_brat.conll", "\n")
    with pytest.raises(DataError, match=re.escape(f"{docs / '4_d_brat.conll'}:1: empty file")):
        load_conll2012(docs, splits)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def test_write_then_read_gives_the_same_documents(tmp_path):
    source = _write(tmp_path / "in.conll", _doc("nw/x", "000", NESTED) + _small("other"))
    docs = read_conll2012(source)
    out = tmp_path / "out.conll"
    write_conll2012(docs, None, out)
    again = read_conll2012(out)
    assert [(d.key, d.sentences, d.clusters) for d in again] == [
        (d.key, d.sentences, d.clusters) for d in docs
    ]
    assert again[0].cluster_ids == docs[0].cluster_ids  # own clusters keep their ids
    assert not (tmp_path / "out.conll.tmp").exists()


def test_written_brackets_are_in_the_scorer_order(tmp_path):
    doc = CorefDocument(
        name="n",
        part="0",
        sentences=[["a", "b", "c"], ["d"]],
        clusters=[[(0, 3), (0, 1)], [(0, 2), (1, 2)], [(3, 4)]],
        source="x:1",
    )
    out = tmp_path / "o.conll"
    write_conll2012([doc], [[[(0, 3), (0, 1), (0, 1)], [(1, 2), (0, 2)], [(3, 4)]]], out)
    assert out.read_text().split("\n") == [
        "#begin document (n); part 0",
        "n\t0\t0\ta\t(0|(1|(0)",
        "n\t0\t1\tb\t(1)|1)",
        "n\t0\t2\tc\t0)",
        "",
        "n\t0\t0\td\t(2)",
        "",
        "#end document",
        "",
    ]
    assert read_conll2012(out)[0].clusters == [[(0, 1), (0, 3)], [(0, 2), (1, 2)], [(3, 4)]]


def test_write_predicted_clusters(tmp_path):
    [doc] = read_conll2012(_write(tmp_path / "in.conll", _doc("nw/x", "000", NESTED)))
    predicted = [[(13, 14), (0, 3), (9, 12)], [(4, 5)], [(6, 9), (6, 8), (7, 8)]]
    out = tmp_path / "pred.conll"
    write_conll2012([doc], [predicted], out)
    [back] = read_conll2012(out)
    assert back.sentences == doc.sentences
    assert back.clusters == [[(0, 3), (9, 12), (13, 14)], [(4, 5)], [(6, 8), (6, 9), (7, 8)]]
    assert back.cluster_ids == ["0", "1", "2"]


def test_write_refuses_what_brackets_cannot_hold(tmp_path):
    [doc] = read_conll2012(_write(tmp_path / "in.conll", _doc("nw/x", "000", NESTED)))
    out = tmp_path / "w.conll"
    with pytest.raises(ValueError, match="crossing mentions"):
        write_conll2012([doc], [[[(0, 3), (2, 5)]]], out)
    with pytest.raises(ValueError, match=r"\(13, 15\) is not a span"):
        write_conll2012([doc], [[[(13, 15)]]], out)
    with pytest.raises(ValueError, match="2 cluster lists for 1 documents"):
        write_conll2012([doc], [[], []], out)
    with pytest.raises(ValueError, match="no document"):
        write_conll2012([], None, out)
    doc.sentences[0][0] = "a\tb"
    with pytest.raises(ValueError, match="tab or newline"):
        write_conll2012([doc], None, out)
    assert not out.exists()
    # touching (not crossing) mentions of one cluster are fine
    doc.sentences[0][0] = "The"
    write_conll2012([doc], [[[(0, 2), (2, 4)]]], out)
    assert read_conll2012(out)[0].clusters == [[(0, 2), (2, 4)]]


# --------------------------------------------------------------------------------------------
# The real LitBank
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def litbank(data_subdir) -> Path:
    return data_subdir("litbank", needs="conll", what="LitBank")


@pytest.fixture(scope="module")
def fold0(litbank) -> dict[str, list[CorefDocument]]:
    return load_conll2012(litbank / "conll", litbank / "splits" / "0")


def test_litbank_fold_0(fold0):
    assert {split: len(docs) for split, docs in fold0.items()} == {
        "train": 80,
        "dev": 10,
        "test": 10,
    }
    everything = [doc for docs in fold0.values() for doc in docs]
    assert len({doc.key for doc in everything}) == 100
    assert conll2012_stats(everything) == {
        "documents": 100,
        "sentences": 8562,
        "tokens": 210532,
        "mentions": 29103,
        "entities": 7927,
        "singletons": 5763,
    }
    assert sum(doc.duplicates for doc in everything) == 0


def test_litbank_document_round_trip(fold0, tmp_path):
    doc = next(d for d in fold0["test"] if d.name == "271_black_beauty_brat")
    assert doc.key == "271_black_beauty_brat; part 0"
    out = tmp_path / "bb.conll"
    write_conll2012([doc], None, out)
    [back] = read_conll2012(out)
    assert (back.key, back.sentences, back.clusters, back.cluster_ids) == (
        doc.key,
        doc.sentences,
        doc.clusters,
        doc.cluster_ids,
    )
