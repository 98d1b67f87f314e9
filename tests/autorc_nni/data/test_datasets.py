"""Named datasets on the real files, folders given with --data/--format, and their errors."""

from __future__ import annotations

import functools
import json
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


def test_folder_format_detected_or_given(tmp_path):
    _folder(tmp_path)
    ds = load_dataset(tmp_path)
    assert ds.format == "opennre" and ds.format_detected
    given = load_dataset(tmp_path, fmt="opennre")
    assert given.format == "opennre" and not given.format_detected
    assert [e.id for e in ds.splits["dev"]] == [e.id for e in given.splits["dev"]]
    with pytest.raises(DataError, match="unknown format 'nope'"):
        load_dataset(tmp_path, fmt="nope")


def test_kbp37_folder_drops_the_empty_entity_and_strict_refuses(tmp_path):
    """SemEval-style blocks (KBP37) with one ``<e1> </e1>``: loaded, the record dropped and
    counted with its place; ``strict=True`` refuses naming file and line."""
    block = '{n}\t"{s}"\r\n{label} \r\nComment:\r\n\r\n'
    good = "<e1> Thom Yorke </e1> of <e2> Radiohead </e2> sang ."
    train = (
        block.format(n=1, s=good, label="per:employee_of(e1,e2)")
        + block.format(n=2, s="<e1> </e1> met <e2> Oslo </e2> .", label="no_relation")
        + block.format(n=3, s="<e2> Oslo </e2> has <e1> Ann </e1>", label="no_relation")
    )
    (tmp_path / "train.txt").write_bytes(train.encode())
    for split in ("dev", "test"):
        (tmp_path / f"{split}.txt").write_bytes(
            block.format(n=9, s=good, label="no_relation").encode()
        )
    ds = load_dataset(tmp_path)
    assert ds.format == "semeval" and ds.format_detected and ds.negative_label == "no_relation"
    assert len(ds.splits["train"]) == 2
    assert ds.dropped == {"train": {"empty head entity": 1}, "dev": {}, "test": {}}
    assert ds.dropped_where["train"] == {"empty head entity": [f"{tmp_path / 'train.txt'}:5"]}
    with pytest.raises(
        DataError,
        match=rf"{tmp_path / 'train.txt'}:5: empty head entity"
        r".*refused because of --strict",
    ):
        load_dataset(tmp_path, strict=True)


def test_folder_whose_records_are_all_dropped(tmp_path):
    _folder(tmp_path)
    (tmp_path / "test.txt").write_text(_line(["x", "y"], [0, 0], [1, 2], "a") + "\n")
    with pytest.raises(
        DataError,
        match=r"test.txt: no examples in the test split \(1 dropped: "
        r"empty head entity\)",
    ):
        load_dataset(tmp_path)


def test_unlabeled_record_is_refused_in_a_dataset(tmp_path):
    _folder(tmp_path)
    (tmp_path / "test.txt").write_text(
        json.dumps({"token": ["x", "y"], "h": {"pos": [0, 1]}, "t": {"pos": [1, 2]}}) + "\n"
    )
    with pytest.raises(DataError, match=rf"{tmp_path / 'test.txt'}:1: the record has no label"):
        load_dataset(tmp_path)


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


# ---- the format of a folder, told from its content -----------------------------------------

_CONLL = (
    "#begin document (d{n}); part 000\nd\t0\t0\tJohn\t(0)\nd\t0\t1\tsaw\t-\n"
    "d\t0\t2\thim\t(0)\n\n#end document\n"
)
_DDI_XML = (
    '<?xml version="1.0"?><document id="d{n}"><sentence id="d{n}.s0" text="A and B.">'
    '<entity id="d{n}.s0.e0" charOffset="0-0" type="drug" text="A"/>'
    '<entity id="d{n}.s0.e1" charOffset="6-6" type="drug" text="B"/>'
    '<pair id="d{n}.s0.p0" e1="d{n}.s0.e0" e2="d{n}.s0.e1" ddi="false"/>'
    "</sentence></document>"
)


def _format_folder(tmp: Path, fmt: str) -> Path:
    """A folder with train/dev/test files of ``fmt``, named as users name them."""
    folder = tmp / fmt
    folder.mkdir()
    for n, split in enumerate(("train", "dev", "test")):
        if fmt == "opennre":
            (folder / f"{split}.txt").write_text(_line(["a", "b", "c"], [0, 1], [2, 3], "r") + "\n")
        elif fmt == "semeval":
            (folder / f"{split}.txt").write_text(f'{n + 1}\t"<e1>a</e1> b <e2>c</e2>"\nr\n\n')
        elif fmt == "tacred":
            (folder / f"{split}.json").write_text(
                json.dumps(
                    [
                        {
                            "id": f"x{n}",
                            "token": ["a", "b"],
                            "subj_start": 0,
                            "subj_end": 0,
                            "obj_start": 1,
                            "obj_end": 1,
                            "relation": "no_relation",
                        }
                    ]
                )
            )
        elif fmt == "spert":
            (folder / f"{split}_triples.json").write_text(
                json.dumps(
                    [
                        {
                            "tokens": ["a", "b"],
                            "entities": [
                                {"type": "X", "start": 0, "end": 1},
                                {"type": "Y", "start": 1, "end": 2},
                            ],
                            "relations": [{"type": "r", "head": 0, "tail": 1}],
                        }
                    ]
                )
            )
        elif fmt == "chemprot":
            (folder / f"{split}.txt").write_text(
                json.dumps({"text": "<< a >> b [[ c ]]", "label": "r"}) + "\n"
            )
        elif fmt == "blue_tsv":
            (folder / f"{split}.tsv").write_text(
                "index\tsentence\tlabel\n1\t@CHEMICAL$ b @GENE$\tfalse\n"
            )
        elif fmt == "deft":
            (folder / split).mkdir()
            (folder / split / "x.deft").write_text(
                "a\t s\t 0\t 1\t B-Term\t T1\t 0\t 0\n"
                "b\t s\t 2\t 3\t B-Definition\t T2\t T1\t AKA\n"
            )
        elif fmt == "ddi":
            (folder / split / "DrugBank").mkdir(parents=True)
            (folder / split / "DrugBank" / "x.xml").write_text(_DDI_XML.format(n=n))
        elif fmt == "conll2012":  # the OntoNotes layout: another kind of file beside it
            (folder / f"{split}.english.v4_gold_conll").write_text(_CONLL.format(n=n))
            (folder / f"{split}.english.jsonlines").write_text("{}\n")
    return folder


@pytest.mark.parametrize(
    "fmt", ["opennre", "semeval", "tacred", "spert", "chemprot", "blue_tsv", "deft", "ddi"]
)
def test_each_format_is_detected_and_the_folder_loads(tmp_path, fmt):
    from autorc_nni.data.detect import detect_format

    folder = _format_folder(tmp_path, fmt)
    assert detect_format(folder) == fmt
    ds = load_dataset(folder)
    assert ds.format == fmt and ds.format_detected
    assert all(ds.splits[s] for s in ("train", "dev", "test"))


def test_ddi_zip_and_jsonl_variants_are_detected(data_root, tmp_path):
    from autorc_nni.data.detect import detect_format

    assert detect_format(data_root / "ddi" / "DDICorpus-2013.zip") == "ddi"
    for name, rows in (
        (
            "tacred",
            [
                {
                    "token": ["a"],
                    "subj_start": 0,
                    "subj_end": 0,
                    "obj_start": 0,
                    "obj_end": 0,
                    "relation": "r",
                }
            ],
        ),
        ("spert", [{"tokens": ["a"], "entities": []}]),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.jsonl").write_text("\n" + json.dumps(rows[0]) + "\n")
        assert detect_format(tmp_path / name) == name
    # the real folders
    for folder, fmt in (
        ("semeval10", "opennre"),
        ("conll04", "spert"),
        ("chemprot/scibert", "chemprot"),
        ("deft2020/data/deft_files", "deft"),
    ):
        assert detect_format(data_root / folder) == fmt, folder


def test_coreference_folder_is_detected_and_refused_for_relations(tmp_path, data_root):
    from autorc_nni.data.detect import detect_format

    folder = _format_folder(tmp_path, "conll2012")
    assert detect_format(folder) == "conll2012"
    with pytest.raises(
        DataError,
        match=rf"{folder}: holds CoNLL-2012 coreference documents "
        r"\(train.english.v4_gold_conll begins with '#begin "
        r"document'\), not relation statements: use --task coref",
    ):
        load_dataset(folder)
    with pytest.raises(DataError, match="use --task coref"):  # LitBank: documents + .ids files
        load_dataset(data_root / "litbank" / "conll")


def test_ambiguous_and_unknown_folders_are_refused_listing_what_was_tried(tmp_path):
    both = tmp_path / "both"
    both.mkdir()
    (both / "train.txt").write_text(
        json.dumps(
            {
                "token": ["a", "b"],
                "h": {"pos": [0, 1]},
                "t": {"pos": [1, 2]},
                "relation": "r",
                "subj_start": 0,
                "subj_end": 0,
                "obj_start": 1,
                "obj_end": 1,
            }
        )
        + "\n"
    )
    with pytest.raises(
        DataError,
        match=rf"{both}: cannot tell the format of train.txt: it reads "
        r"as opennre and as tacred; give it with --format",
    ):
        load_dataset(both)
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    (unknown / "train.txt").write_text("Just some text.\nAnd more.\n")
    with pytest.raises(DataError) as e:
        load_dataset(unknown)
    msg = str(e.value)
    assert msg.startswith(f"{unknown}: cannot tell the format of train.txt from its first 16 KB")
    for fmt, why in (
        ("opennre", "the first line is not JSON"),
        ("semeval", "the first line is not 'ID<TAB>"),
        ("blue_tsv", "the first data line has 1 tab-separated columns, not 3"),
        ("deft", "the first line has 1 tab-separated columns, not 8"),
        ("ddi", "not XML"),
        ("conll2012", "the first line is not '#begin document"),
    ):
        assert f"{fmt}: {why}" in msg, fmt
    assert msg.endswith("give it with --format")
    (unknown / "train.txt").write_text("")
    with pytest.raises(DataError, match=r"tried opennre: the file is empty"):
        load_dataset(unknown)
    with pytest.raises(DataError, match=r"cannot detect the format: .*missing the train split"):
        load_dataset(tmp_path)  # no train file at all


def test_detection_reads_only_the_head_of_the_train_file(tmp_path, monkeypatch):
    import autorc_nni.data.detect as detect

    folder = _format_folder(tmp_path, "opennre")
    big = (_line(["a", "b", "c"], [0, 1], [2, 3], "r") + "\n") * 20_000  # about 1.4 MB
    (folder / "train.txt").write_text(big + "not json at all\n")
    sizes = []
    real_open = open

    class Spy:
        def __init__(self, *args, **kw):
            self.f = real_open(*args, **kw)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def read(self, n=-1):
            sizes.append(n)
            return self.f.read(n)

    monkeypatch.setattr(detect, "open", Spy, raising=False)
    assert detect.detect_format(folder) == "opennre"
    assert sizes == [detect.HEAD_BYTES + 1]
