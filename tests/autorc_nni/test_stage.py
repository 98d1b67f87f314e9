"""The stage skeleton and the data section every stage config shares (autorc_nni.stage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from autorc_nni.config import ConfigError, flat_defaults, known_keys, to_dict
from autorc_nni.errors import AutoRCError
from autorc_nni.finetune import TrainConfig, train_config_from_dict
from autorc_nni.stage import CHECKPOINT, DataConfig, Stage, prepare_data
from autorc_nni.tasks import TaskOptions
from autorc_nni.training import check_resumable  # noqa: F401 (the check the skeleton uses)


def test_the_data_keys_may_be_flat_or_a_section_and_are_written_flat():
    flat = train_config_from_dict({"dataset": "ddi", "encoder": "tiny", "epochs": 2})
    nested = train_config_from_dict({"data": {"dataset": "ddi", "encoder": "tiny"}, "epochs": 2})
    mixed = train_config_from_dict({"data": {"dataset": "ddi"}, "encoder": "tiny", "epochs": 2})
    assert flat == nested == mixed
    assert flat.data == DataConfig(dataset="ddi", encoder="tiny")
    written = to_dict(flat)
    assert "data" not in written and written["dataset"] == "ddi" and written["encoder"] == "tiny"
    assert written["task_options"] == to_dict(TaskOptions())
    assert train_config_from_dict(written) == flat  # what a run writes reads back the same
    assert set(flat_defaults(TrainConfig)) == set(written)


def test_a_data_key_given_twice_or_unknown_is_named():
    with pytest.raises(ConfigError, match=r"train: \['dataset'\] given both at the top level"):
        train_config_from_dict({"dataset": "ddi", "data": {"dataset": "semeval10"}})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['datset'\].*'dataset'"):
        train_config_from_dict({"datset": "ddi"})
    with pytest.raises(ConfigError, match=r"task: 'pos' is not one of"):
        train_config_from_dict({"task": "pos"})
    with pytest.raises(ConfigError, match=r"train.data: expected a mapping"):
        train_config_from_dict({"data": "ddi"})
    assert {"data", "dataset", "task_options", "lr"} <= set(known_keys(TrainConfig))


def test_every_stage_config_shares_the_one_data_section():
    from pipeline.protocol import PipelineConfig
    from strategies.search import SearchConfig

    data_keys = set(known_keys(DataConfig))
    for cls in (TrainConfig, SearchConfig, PipelineConfig):
        keys = set(known_keys(cls))
        assert data_keys <= keys, cls
        # declared once: no stage config has a data key of its own
        own = {f for f in cls.__dataclass_fields__ if f != "data"}
        assert not own & data_keys, (cls, own & data_keys)


class _Counting(Stage[TrainConfig, dict[str, Any]]):
    """A stage whose loop counts to ``epochs`` and checkpoints after each count."""

    kind = "counting"
    resume_free = frozenset({"resume", "epochs"})

    def __init__(self, cfg: TrainConfig, stop_at: int | None = None) -> None:
        super().__init__(cfg)
        self.stop_at, self.calls = stop_at, []

    def finished(self):
        done = self.out / "done.json"
        return json.loads(done.read_text()) if done.is_file() else None

    def prepare(self, tokenizer):
        self.calls.append("prepare")
        return {"tokenizer": tokenizer}

    def setup(self, data, encoder, saved):
        self.calls.append("setup")
        self.count = saved["state"]["count"] if saved else 0
        self.first_draw = torch.rand(1).item()  # seeded by the skeleton

    def loop(self):
        while self.count < self.cfg.epochs:
            self.count += 1
            torch.save(
                {"config": to_dict(self.cfg), "state": {"count": self.count}}, self.ckpt_path
            )
            if self.count == self.stop_at:
                return {"stopped": self.count}
        self.ckpt_path.unlink()
        result = {"count": self.count}
        (self.out / "done.json").write_text(json.dumps(result))
        return result


def _cfg(tmp_path: Path, **kw: Any) -> TrainConfig:
    base = {"encoder": "tiny", "epochs": 4, "seed": 3, "out": str(tmp_path / "run")}
    return train_config_from_dict({**base, **kw})


def test_the_skeleton_seeds_resumes_refuses_and_returns_a_finished_run(tmp_path):
    a = _Counting(_cfg(tmp_path), stop_at=2)
    assert a.run() == {"stopped": 2} and a.calls == ["prepare", "setup"]
    assert (tmp_path / "run" / CHECKPOINT).is_file()
    # a checkpoint left behind is never overwritten without resume
    with pytest.raises(AutoRCError, match=r"holds a counting checkpoint.*--resume"):
        _Counting(_cfg(tmp_path)).run()
    # resumed with a key that matters changed: refused, naming it
    with pytest.raises(ConfigError, match=r"cannot resume.*seed: 3 -> 4"):
        _Counting(_cfg(tmp_path, seed=4, resume=True)).run()
    # a resume-free key may change; the run goes on from the saved count
    b = _Counting(_cfg(tmp_path, resume=True, epochs=5))
    assert b.run() == {"count": 5}
    assert b.first_draw == a.first_draw  # seeded before set-up, the same seed the same draws
    # finished: its result, without preparing anything
    c = _Counting(_cfg(tmp_path, resume=True, epochs=5))
    assert c.run() == {"count": 5} and c.calls == []


def test_a_split_that_loses_every_statement_is_named(tmp_path):
    from autorc_nni.encoders import load_encoder
    from autorc_nni.finetune import training_data
    from tests.strategies.planted import write_planted

    folder = write_planted(tmp_path / "data", n_train=16, n_dev=8)
    cfg = _cfg(tmp_path, dataset=str(folder), format="opennre", max_len=64)
    tokenizer, _ = load_encoder("tiny")
    data = training_data(cfg, tokenizer, cfg_arch())
    assert set(data.rows) == {"train", "dev", "test"} and data.report["dev"]["examples"] == 8
    with pytest.raises(AutoRCError, match=r"no dev statement to featurize"):
        prepare_data(
            cfg.data,
            tokenizer,
            formats=("markers",),
            max_len=64,
            limit_train=None,
            limit_eval=None,
            eval_seed=0,
            splits=lambda td: {"train": td.statements["train"], "dev": []},
        )


def cfg_arch():
    from autorc_nni.architecture import resolve_architecture

    return resolve_architecture("bert-entity")


def test_a_data_section_in_a_file_takes_flags_and_overrides(tmp_path):
    from pipeline.protocol import load_pipeline_config, pipeline_config_from_dict

    path = tmp_path / "nested.yml"
    path.write_text("data: {dataset: semeval10, encoder: tiny}\nmethod: r-bert\n")
    assert load_pipeline_config(path).data.dataset == "semeval10"
    # an override of either spelling replaces the file's value
    assert load_pipeline_config(path, {"data.dataset": "ddi"}).data.dataset == "ddi"
    assert load_pipeline_config(path, {"dataset": "ddi"}).data.dataset == "ddi"
    both = tmp_path / "both.yml"
    both.write_text("dataset: ddi\ndata: {dataset: semeval10}\n")
    with pytest.raises(ConfigError, match=r"both.yml: \['dataset'\] given both"):
        load_pipeline_config(both)
    # a stage section may not carry its own data section: the data is set once, at the top
    with pytest.raises(ConfigError, match=r"\['data'\] are set once at the top level"):
        pipeline_config_from_dict({"train": {"data": {"negative_label": "none"}}})


def test_a_data_section_reaches_the_command_line(tmp_path, capsys):
    from trial.cli import build_parser
    from trial.commands._common import config_data

    path = tmp_path / "nested.yml"
    path.write_text("data: {dataset: semeval10, encoder: tiny}\nmethod: r-bert\n")
    argv = ["run", "--config", str(path), "--dataset", "ddi", "--set", "data.encoder=minilm"]
    data, _ = config_data(build_parser(argv).parse_args(argv))
    assert data["dataset"] == "ddi" and data["encoder"] == "minilm" and "data" not in data
