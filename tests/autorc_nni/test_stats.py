"""``compute_stats``/``format_stats`` and the ``autorc data stats`` command."""

from __future__ import annotations

import json

import pytest

from autorc_nni.data import load_dataset
from autorc_nni.encoders import load_tokenizer
from autorc_nni.stats import compute_stats, format_stats, wordpiece_lengths
from trial.cli import main


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORC_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def semeval10(data_root):
    return load_dataset("semeval10", data_root=data_root)


def test_semeval10_word_stats(semeval10):
    st = compute_stats(semeval10, encoder=None)
    assert {s: v.examples for s, v in st.splits.items()} == {
        "train": 6507,
        "dev": 1493,
        "test": 2717,
    }
    assert len(st.labels) == 19
    assert [st.splits[s].labels for s in ("train", "dev", "test")] == [18, 19, 19]
    assert round(st.splits["train"].mean_words, 2) == 19.09  # = the paper's Table 5 figure
    assert st.splits["train"].per_label["Other"] == 1146
    assert list(st.splits["train"].per_label)[0] == "Other"  # most frequent first
    assert st.splits["dev"].mean_wordpieces is None and st.splits["dev"].truncated is None


def test_semeval10_wordpiece_stats_with_tiny_tokenizer(semeval10):
    st = compute_stats(semeval10, encoder="tiny")
    dev = st.splits["dev"]
    assert dev.mean_wordpieces > dev.mean_words  # the tiny vocabulary splits most words
    assert dev.truncated == 0 and dev.dropped == {}
    text = format_stats(st)
    assert "[train] 6507 examples, 18 labels" in text and "[test] 2717 examples, 19 labels" in text
    assert "dataset semeval10: 19 labels (negative 'Other'), metric micro_f1" in text


def _tiny_folder(tmp_path):
    long = ["w"] * 40
    rows = [
        {
            "token": long,
            "h": {"pos": [0, 1]},
            "t": {"pos": [39, 40]},
            "relation": "a",
        },  # cannot fit
        {"token": long, "h": {"pos": [0, 1]}, "t": {"pos": [2, 3]}, "relation": "a"},  # windowed
        {"token": ["x", "y", "z"], "h": {"pos": [0, 1]}, "t": {"pos": [1, 3]}, "relation": "Other"},
    ]
    body = "\n".join(json.dumps(r) for r in rows) + "\n"
    for name in ("train.txt", "dev.txt", "test.txt"):
        (tmp_path / name).write_text(body)
    return tmp_path


def test_truncated_and_dropped_come_from_the_featurizer(tmp_path):
    ds = load_dataset(_tiny_folder(tmp_path), fmt="opennre")
    st = compute_stats(ds, encoder="tiny", max_len=16)
    train = st.splits["train"]
    assert train.examples == 3 and train.truncated == 1
    assert train.dropped == {"featurize: entities do not fit in max_len=16": 1}
    assert train.mean_entity_words == pytest.approx((1 + 1 + 1 + 1 + 1 + 2) / 6)
    assert "truncated to max_len=16 around the entities: 1" in format_stats(st)


def test_wordpiece_lengths_count_empty_words_as_unk():
    from autorc_nni.data.record import RelationExample

    tok = load_tokenizer("tiny")
    ex = RelationExample(("a", "\u200b", "b"), (0, 1), (2, 3), "r", "x")
    assert wordpiece_lengths([ex], tok) == [
        len(tok(["a", "b"], is_split_into_words=True, add_special_tokens=False)["input_ids"]) + 1
    ]


def test_cli_stats_named_dataset(data_root, capsys):
    assert (
        main(["data", "stats", "semeval10", "--data-root", str(data_root), "--encoder", "none"])
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "[train] 6507 examples" in out
        and "[dev] 1493 examples" in out
        and "[test] 2717 examples" in out
    )
    assert "19 labels" in out


def test_cli_stats_folder_json(tmp_path, capsys):
    folder = tmp_path / "d"
    folder.mkdir()
    _tiny_folder(folder)
    rc = main(
        [
            "data",
            "stats",
            "--data",
            str(folder),
            "--format",
            "opennre",
            "--encoder",
            "tiny",
            "--max-len",
            "16",
            "--json",
        ]
    )
    assert rc == 0
    got = json.loads(capsys.readouterr().out)
    assert got["splits"]["test"]["truncated"] == 1 and got["max_len"] == 16


def test_cli_stats_errors(tmp_path, capsys):
    assert main(["data", "stats", "--data", str(tmp_path), "--format", "opennre"]) == 2
    assert f"autorc: error: {tmp_path}: missing the train split file" in capsys.readouterr().err
    assert main(["data", "stats"]) == 2
    assert "give a dataset NAME or --data DIR" in capsys.readouterr().err


def test_cli_stats_detected_format_drops_and_strict(tmp_path, capsys):
    """``data stats --data DIR``: the format detected, the records dropped and where; --strict
    refuses, naming file and line."""
    block = '{n}\t"{s}"\n{label}\nComment:\n\n'
    good = block.format(n=1, s="<e1>Thom Yorke</e1> of <e2>Radiohead</e2>", label="r(e1,e2)")
    (tmp_path / "train.txt").write_text(
        good + block.format(n=2, s="<e1> </e1> of <e2>Oslo</e2>", label="Other")
    )
    (tmp_path / "dev.txt").write_text(good)
    (tmp_path / "test.txt").write_text(good)
    assert main(["data", "stats", "--data", str(tmp_path), "--encoder", "none"]) == 0
    out = capsys.readouterr().out
    assert "format: semeval (detected)" in out
    assert "[train] 1 examples" in out and "  dropped: 1\n         1  empty head entity\n" in out
    assert f"            at {tmp_path / 'train.txt'}:5" in out
    assert main(["data", "stats", "--data", str(tmp_path), "--encoder", "none", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["format"] == "semeval" and got["format_detected"] is True
    assert got["splits"]["train"]["dropped"] == {"empty head entity": 1}
    assert got["splits"]["train"]["dropped_where"] == {
        "empty head entity": [f"{tmp_path / 'train.txt'}:5"]
    }
    assert main(["data", "stats", "--data", str(tmp_path), "--encoder", "none", "--strict"]) == 2
    err = capsys.readouterr().err
    assert f"autorc: error: {tmp_path / 'train.txt'}:5: empty head entity" in err
    assert (
        main(["data", "stats", "--data", str(tmp_path), "--format", "opennre", "--encoder", "none"])
        == 2
    )
    assert "train.txt:1: malformed JSON line" in capsys.readouterr().err
