"""The negative label of a dataset folder: found among the usual names, forced, or none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autorc_nni.data.datasets import load_dataset
from autorc_nni.errors import DataError
from trial.cli import main


def write_folder(root: Path, labels: list[str], rel2id: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        rows = [
            {
                "token": ["a", "b", "c", "d"],
                "h": {"pos": [0, 1]},
                "t": {"pos": [2, 3]},
                "relation": lab,
            }
            for lab in labels
        ]
        (root / f"{split}.txt").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if rel2id:
        (root / "rel2id.json").write_text(json.dumps({lab: i for i, lab in enumerate(labels)}))
    return root


@pytest.mark.parametrize("negative", ["Other", "no_relation", "NA", "None", "false"])
def test_the_negative_label_is_found_among_the_names_in_use(tmp_path, negative):
    ds = load_dataset(write_folder(tmp_path / "d", ["rel_a", negative, "rel_b"]), fmt="opennre")
    assert ds.negative_label == negative and ds.labels[0] == negative


def test_wiki80_style_no_negative_and_rel2id_without_one(tmp_path):
    """OpenNRE's Wiki80: 80 relations, no negative label: micro-F1 over all labels."""
    ds = load_dataset(
        write_folder(tmp_path / "w", ["place of birth", "spouse"], rel2id=True), fmt="opennre"
    )
    assert ds.negative_label is None and ds.labels == ["place of birth", "spouse"]
    # NYT10's rel2id with NA: found there, ids kept
    ds = load_dataset(write_folder(tmp_path / "n", ["/people/x", "NA"], rel2id=True), fmt="opennre")
    assert ds.negative_label == "NA" and ds.labels == ["/people/x", "NA"]


def test_negative_label_forced_or_none_and_bad_choices_refused(tmp_path):
    folder = write_folder(tmp_path / "d", ["Other", "no_relation", "rel_a"])
    with pytest.raises(DataError, match="several labels could be the negative one"):
        load_dataset(folder, fmt="opennre")
    ds = load_dataset(folder, fmt="opennre", negative_label="no_relation")
    assert ds.negative_label == "no_relation" and ds.labels[0] == "no_relation"
    assert load_dataset(folder, fmt="opennre", negative_label="none").negative_label is None
    with pytest.raises(DataError, match="'nope' is not a label of its files"):
        load_dataset(folder, fmt="opennre", negative_label="nope")
    # registered datasets keep theirs unless told otherwise
    assert load_dataset("semeval10").negative_label == "Other"


@pytest.mark.parametrize("rel2id", [False, True])
def test_a_label_spelled_none_can_be_named(tmp_path, rel2id):
    """CoNLL04's negative label is "None": naming it forces it; another spelling of "none"
    still says there is no negative label."""
    folder = write_folder(tmp_path / "c", ["Kill", "None", "Work_For", "NA"], rel2id=rel2id)
    assert load_dataset(folder, fmt="opennre", negative_label="None").negative_label == "None"
    assert load_dataset(folder, fmt="opennre", negative_label="NONE").negative_label is None
    assert load_dataset(folder, fmt="opennre", negative_label="NA").negative_label == "NA"


def test_data_stats_says_which_negative_label_it_used(tmp_path, capsys):
    folder = write_folder(tmp_path / "w", ["spouse", "founder"])
    argv = ["data", "stats", "--data", str(folder), "--format", "opennre", "--encoder", "none"]
    assert main(argv) == 0
    assert "no negative label: micro-F1 over all labels" in capsys.readouterr().out
    assert main([*argv, "--negative-label", "spouse"]) == 0
    assert "negative 'spouse'" in capsys.readouterr().out
