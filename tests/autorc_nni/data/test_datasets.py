"""Named datasets on the real files, folders given with --data/--format, and their errors."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pytest

from autorc_nni.data import DATASETS, load_dataset, resolve_data_root, split_by_document
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError

# name -> (labels, train, dev, test, negative, metric): the figures docs/datasets.md reports
EXPECTED = {
    "semeval10": (19, 6507, 1493, 2717, "Other", "micro_f1"),
    "semeval10-original": (19, 6380, 1620, 2717, "Other", "micro_f1"),
    "deft2020": (6, 18837, 941, 1037, "no_relation", "macro_f1"),
    "ddi": (5, 21625, 6166, 5716, "false", "micro_f1"),
    "chemprot": (14, 4169, 2427, 3469, "false", "micro_f1"),
    "conll04": (6, 11998, 3260, 3822, "None", "micro_f1"),
}


@functools.cache
def _named(name: str, root: Path):
    """Each named dataset is read once per test session (DDI takes a few seconds)."""
    return load_dataset(name, data_root=root)


def test_every_registered_dataset_is_documented_here():
    assert set(EXPECTED) == set(DATASETS.names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_dataset_counts(data_root, name):
    ds = _named(name, data_root)
    n_labels, train, dev, test, negative, metric = EXPECTED[name]
    assert {s: len(v) for s, v in ds.splits.items()} == {"train": train, "dev": dev, "test": test}
    assert len(ds.labels) == n_labels
    assert ds.negative_label == negative and negative in ds.labels
    assert ds.metric == metric
    assert ds.label2id[ds.labels[-1]] == n_labels - 1
    for split, examples in ds.splits.items():
        assert all(e.label in ds.label2id for e in examples), split


def test_semeval10_label_ids_follow_rel2id(data_root):
    ds = load_dataset("semeval10", data_root=data_root)
    rel2id = json.loads((data_root / "semeval10" / "rel2id.json").read_text())
    assert ds.label2id == rel2id
    assert len({e.label for e in ds.splits["train"]}) == 18  # one directed label is dev/test only


def test_semeval10_loads_fast(data_root):
    t0 = time.perf_counter()
    load_dataset("semeval10", data_root=data_root)
    assert time.perf_counter() - t0 < 3


def test_data_root_from_environment(data_root, monkeypatch):
    monkeypatch.setenv("AUTORC_DATA_DIR", str(data_root))
    assert len(load_dataset("semeval10").splits["dev"]) == 1493
    monkeypatch.delenv("AUTORC_DATA_DIR")
    with pytest.raises(DataError, match="no data root: set AUTORC_DATA_DIR"):
        resolve_data_root(None)
    with pytest.raises(DataError, match="nowhere: data root folder not found"):
        load_dataset("semeval10", data_root="/nowhere")


def test_ddi_dev_split_is_document_level_and_deterministic(data_root):
    a = _named("ddi", data_root)
    dev_ids = [e.id for e in a.splits["dev"]]
    assert dev_ids == [e.id for e in split_by_document(a.splits["train"] + a.splits["dev"], 0.2)[1]]
    train_docs = {e.meta["doc"] for e in a.splits["train"]}
    dev_docs = {e.meta["doc"] for e in a.splits["dev"]}
    assert not train_docs & dev_docs
    assert (len(train_docs), len(dev_docs)) == (490, 134)
    assert a.dropped["train"] == {"pair with ddi=true but no type": 1}


def test_split_by_document_is_independent_of_order():
    exs = [
        RelationExample(("a", "b"), (0, 1), (1, 2), "r", f"x{i}", {"doc": f"d{i // 3}"})
        for i in range(300)
    ]
    train, dev = split_by_document(exs, 0.2)
    train2, dev2 = split_by_document(exs[::-1], 0.2)
    assert {e.id for e in dev} == {e.id for e in dev2} and len(train) + len(dev) == 300
    assert 0.1 < len(dev) / 300 < 0.3
    docs_dev = {e.meta["doc"] for e in dev}
    assert all(e.meta["doc"] not in docs_dev for e in train)


# ---- folders: --data DIR --format F --------------------------------------------------------


def _line(tokens, h, t, label):
    return json.dumps({"token": tokens, "h": {"pos": h}, "t": {"pos": t}, "relation": label})


def _folder(tmp: Path, dev_name="val.txt", dev_label="b", rel2id=None) -> Path:
    (tmp / "train.txt").write_text(
        _line(["x", "y", "z"], [0, 1], [2, 3], "a")
        + "\n"
        + _line(["p", "q"], [0, 1], [1, 2], "b")
        + "\n"
    )
    (tmp / dev_name).write_text(
        _line(["x", "y"], [0, 1], [1, 2], "a")
        + "\n"
        + _line(["x", "y"], [0, 1], [1, 2], dev_label)
        + "\n"
    )
    (tmp / "test.txt").write_text(_line(["x", "y"], [0, 1], [1, 2], "Other") + "\n")
    if rel2id is not None:
        (tmp / "rel2id.json").write_text(json.dumps(rel2id))
    return tmp


def test_folder_with_val_file(tmp_path):
    ds = load_dataset(_folder(tmp_path), fmt="opennre")
    assert {s: len(v) for s, v in ds.splits.items()} == {"train": 2, "dev": 2, "test": 1}
    assert ds.labels == ["Other", "a", "b"]  # negative first, then train's labels sorted
    assert ds.files["dev"].name == "val.txt"


def test_folder_with_rel2id(tmp_path):
    ds = load_dataset(_folder(tmp_path, rel2id={"b": 2, "Other": 0, "a": 1}), fmt="opennre")
    assert ds.labels == ["Other", "a", "b"]


def test_folder_label_outside_train_labels(tmp_path):
    _folder(tmp_path, dev_label="c")
    with pytest.raises(
        DataError, match=rf"{tmp_path / 'val.txt'}:2: label 'c' is not in the label set"
    ):
        load_dataset(tmp_path, fmt="opennre")


def test_folder_label_outside_rel2id(tmp_path):
    _folder(tmp_path, rel2id={"Other": 0, "a": 1})
    with pytest.raises(
        DataError, match=r"train.txt:2: label 'b' is not in the label set .*rel2id\.json; 2 labels"
    ):
        load_dataset(tmp_path, fmt="opennre")


def test_folder_missing_split_file(tmp_path):
    _folder(tmp_path)
    (tmp_path / "test.txt").unlink()
    with pytest.raises(
        DataError, match=rf"{tmp_path}: missing the test split file \(tried .*test.jsonl"
    ):
        load_dataset(tmp_path, fmt="opennre")


def test_folder_needs_a_format(tmp_path):
    _folder(tmp_path)
    with pytest.raises(DataError, match="give the file format with --format"):
        load_dataset(tmp_path)
    with pytest.raises(DataError, match="unknown format 'nope'"):
        load_dataset(tmp_path, fmt="nope")


def test_folder_empty_split_file(tmp_path):
    _folder(tmp_path)
    (tmp_path / "test.txt").write_text("")
    with pytest.raises(DataError, match=r"test.txt: file is empty"):
        load_dataset(tmp_path, fmt="opennre")


def test_deft_folder_of_split_folders(data_root, tmp_path):
    src = data_root / "deft2020" / "data" / "deft_files"
    for split, name in (
        ("train", "t1_biology_0_0.deft"),
        ("dev", "t1_biology_0_0.deft"),
        ("test", "t1_biology_0_0.deft"),
    ):
        (tmp_path / split).mkdir()
        (tmp_path / split / name).write_bytes(
            (src / ("train" if split != "dev" else "dev") / name).read_bytes()
        )
    ds = load_dataset(tmp_path, fmt="deft")
    assert ds.negative_label == "no_relation" and ds.labels[0] == "no_relation"
    assert len(ds.splits["train"]) == len(ds.splits["test"]) > 0


def test_ddi_zip_as_data(data_root):
    ds = load_dataset(data_root / "ddi" / "DDICorpus-2013.zip", fmt="ddi")
    assert (len(ds.splits["train"]), len(ds.splits["dev"]), len(ds.splits["test"])) == (
        21625,
        6166,
        5716,
    )


def test_named_dataset_with_a_wrong_format(data_root):
    with pytest.raises(DataError, match="semeval10 is read with format 'opennre', not 'tacred'"):
        load_dataset("semeval10", fmt="tacred", data_root=data_root)
    assert len(load_dataset("semeval10", fmt="opennre", data_root=data_root).splits["dev"]) == 1493


def test_unknown_name_and_hub_without_format():
    with pytest.raises(
        DataError, match=r"nope: not a known dataset \(semeval10, .*\) nor an existing path"
    ):
        load_dataset("nope")
    with pytest.raises(DataError, match="hf:org/x: give the row format with --format"):
        load_dataset("hf:org/x")


def test_hub_dataset_goes_through_the_row_parser(monkeypatch):
    import datasets as hf_datasets

    calls = []

    def fake_load_dataset(name, config=None, split=None):
        calls.append((name, split))
        label = {"train": "a", "validation": "a", "test": "no_relation"}[split]
        row = {
            "id": split,
            "token": ["x", "y"],
            "subj_start": 0,
            "subj_end": 0,
            "obj_start": 1,
            "obj_end": 1,
            "relation": label,
        }
        return hf_datasets.Dataset.from_list([row])

    monkeypatch.setattr(hf_datasets, "load_dataset", fake_load_dataset)
    ds = load_dataset("hf:org/tacred-like", fmt="tacred")
    assert calls == [
        ("org/tacred-like", "train"),
        ("org/tacred-like", "validation"),
        ("org/tacred-like", "test"),
    ]
    assert ds.labels == ["no_relation", "a"] and ds.negative_label == "no_relation"
    assert ds.splits["test"][0].id == "hf:org/tacred-like/test:row 0 (id test)"


def test_subsample_is_stratified_deterministic_and_ordered(data_root):
    from collections import Counter

    from autorc_nni.data import load_dataset, subsample

    train = load_dataset("semeval10", data_root=data_root).splits["train"]
    full = Counter(ex.label for ex in train)
    a = subsample(train, 320, seed=3)
    assert a == subsample(train, 320, seed=3)
    assert a != subsample(train, 320, seed=4)
    assert len(a) == 320
    got = Counter(ex.label for ex in a)
    assert set(got) == set(full)  # the first 320 lines hold only a few relations
    for label, count in full.items():
        assert abs(got[label] - 320 * count / len(train)) <= 1.5
    positions = [train.index(ex) for ex in a]
    assert positions == sorted(positions)
    assert subsample(train, None) == train
