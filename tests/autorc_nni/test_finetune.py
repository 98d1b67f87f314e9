"""Training: it learns a task that needs the relation context, it is deterministic, a run killed
and resumed ends where an uninterrupted run ends, and it writes every promised output.

The synthetic task (``autorc_nni.data.synthetic``, its hard variant): the label is fixed by a
keyword *between* the two entities; the entity words are drawn at random (so entities alone carry
no signal) and the keywords also appear as distractors after e2 (so the bag of words carries none
either).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from autorc_nni.config import ConfigError
from autorc_nni.data import synthetic
from autorc_nni.errors import AutoRCError
from autorc_nni.finetune import TrainConfig, pad_batch, train, train_config_from_dict
from autorc_nni.stage import CHECKPOINT
from autorc_nni.training import build_optimizer, linear_warmup_decay, load_checkpoint

KEYWORDS = synthetic.HARD_KEYWORDS


def write_synthetic(folder: Path, n_train: int = 400, n_dev: int = 90, n_test: int = 150) -> Path:
    """The hard variant, larger than the fault harness's set."""
    return synthetic.write_synthetic(folder, n_train, n_dev, n_test, hard=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTORC_CACHE_DIR", str(root / "cache"))
        yield {"root": root, "data": write_synthetic(root / "data")}


def config(env, out: str, **kw) -> TrainConfig:
    base = dict(
        arch="bert-entity",
        dataset=str(env["data"]),
        format="opennre",
        encoder="tiny",
        lr=2e-3,
        batch_size=16,
        warmup=0.5,
        epochs=8,
        seed=0,
        out=str(env["root"] / out),
        max_len=64,
        num_threads=1,
        progress=False,
        eval_batch_size=64,
    )
    base.update(kw)
    return train_config_from_dict(base)


def state_dict(path: Path) -> dict[str, torch.Tensor]:
    from autorc_nni.model import RCModel

    return RCModel.from_pretrained(path).state_dict()


def same_weights(a: Path, b: Path) -> bool:
    sa, sb = state_dict(a), state_dict(b)
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def scores(result: dict) -> dict:
    """The parts of a result that must match exactly between equivalent runs."""
    strip = lambda m: {k: v for k, v in m.items() if k != "eval_sentences_per_s"}  # noqa: E731
    return {
        "dev": strip(result["dev"]),
        "test": strip(result["test"]),
        "best_epoch": result["best_epoch"],
        "history": result["history"],
    }


# -- learning and outputs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(env):
    cfg = config(env, "learn")
    return cfg, train(cfg)


def test_learns_the_context_task(trained):
    _, result = trained
    assert result["test"]["accuracy"] >= 0.9, result["history"]
    assert result["test"]["micro_f1"] >= 0.9
    # it really trained: the first epoch is much worse than the best
    assert result["history"][0]["dev_score"] < result["dev"]["score"] - 0.2


def test_outputs(trained):
    from autorc_nni.data.readers import read_opennre
    from autorc_nni.model import RCModel

    cfg, result = trained
    out = Path(cfg.out)
    saved = json.loads((out / "metrics.json").read_text())
    assert scores(saved) == scores(result)
    for split in ("dev", "test"):
        m = saved[split]
        for key in ("score", "micro_f1", "macro_f1", "accuracy", "micro_p", "micro_r", "per_label"):
            assert key in m, (split, key)
        assert set(m["per_label"]) == set(KEYWORDS)
        assert {"p", "r", "f1", "support"} <= set(m["per_label"]["Other"])
        assert m["score"] == m["micro_f1"]
    assert "semeval_official" not in saved["test"]  # not the SemEval label set
    assert saved["throughput"]["train_sentences"] == 400 * cfg.epochs
    assert len(saved["history"]) == cfg.epochs
    assert not (out / CHECKPOINT).exists()  # removed at the end unless keep_checkpoint

    preds = [json.loads(line) for line in (out / "test_predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 150
    assert set(preds[0]) == {"id", "gold", "pred", "prob"}
    acc = sum(p["gold"] == p["pred"] for p in preds) / len(preds)
    assert acc == pytest.approx(result["test"]["accuracy"])

    # the model directory loads and predicts what the run predicted
    model = RCModel.from_pretrained(out / "model")
    examples = read_opennre(env_path(cfg) / "test.txt").examples
    got = model.predict(examples)
    assert [label for label, _ in got] == [p["pred"] for p in preds]
    assert [prob for _, prob in got] == pytest.approx([p["prob"] for p in preds], abs=1e-4)


def env_path(cfg: TrainConfig) -> Path:
    return Path(cfg.data.dataset)


def test_tensorboard_logs(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg, _ = trained
    events = list((Path(cfg.out) / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    acc = EventAccumulator(str(Path(cfg.out) / "tensorboard"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/lr", "dev/score", "dev/micro_f1"} <= tags
    steps_per_epoch = -(-400 // cfg.batch_size)
    lrs = [e.value for e in acc.Scalars("train/lr")]
    assert len(lrs) == steps_per_epoch * cfg.epochs
    warm = round(cfg.warmup * steps_per_epoch)
    assert max(lrs) == pytest.approx(cfg.lr)
    assert lrs.index(max(lrs)) == warm - 1  # the peak is reached at the end of warm-up
    assert lrs[-1] < cfg.lr / 50  # decayed to ~0
    assert len(acc.Scalars("dev/score")) == cfg.epochs


# -- determinism and resume -------------------------------------------------------------------

SHORT = dict(epochs=2, checkpoint_every=5, limit_train=200)  # 13 steps per epoch


def test_deterministic(env):
    a = train(config(env, "det_a", **SHORT))
    b = train(config(env, "det_b", **SHORT))
    assert scores(a) == scores(b)
    assert same_weights(env["root"] / "det_a" / "model", env["root"] / "det_b" / "model")
    c = train(config(env, "det_c", **{**SHORT, "seed": 1}))
    assert not same_weights(env["root"] / "det_a" / "model", env["root"] / "det_c" / "model")
    assert scores(a) != scores(c) or a["history"] != c["history"]


def test_resume_after_kills_matches_uninterrupted(env):
    full = train(config(env, "res_full", **SHORT))
    # killed at step 7 (last checkpoint: step 5), again at step 17 (second epoch; last
    # checkpoint: step 15), then resumed to the end
    stopped = train(config(env, "res_cut", stop_after_steps=7, **SHORT))
    assert stopped == {"stopped": True, "global_step": 7}
    ckpt = torch.load(env["root"] / "res_cut" / CHECKPOINT, weights_only=True)
    assert ckpt["state"]["global_step"] == 5
    stopped = train(config(env, "res_cut", stop_after_steps=17, resume=True, **SHORT))
    assert stopped["global_step"] == 17
    resumed = train(config(env, "res_cut", resume=True, **SHORT))
    assert scores(resumed) == scores(full)
    assert same_weights(env["root"] / "res_full" / "model", env["root"] / "res_cut" / "model")
    # a finished run asked to resume returns its metrics
    again = train(config(env, "res_cut", resume=True, **SHORT))
    assert scores(again) == scores(full)


def test_resume_guards(env):
    train(config(env, "guard", stop_after_steps=6, **SHORT))
    with pytest.raises(AutoRCError, match="--resume"):
        train(config(env, "guard", **SHORT))
    with pytest.raises(ConfigError, match="lr"):
        train(config(env, "guard", resume=True, **{**SHORT, "lr": 1e-3}))


# -- pieces -----------------------------------------------------------------------------------


def test_schedule():
    f = linear_warmup_decay(4, 12)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(4) == 1.0 and f(8) == 0.5 and f(12) == 0.0
    g = linear_warmup_decay(0, 10)
    assert g(0) == 1.0 and g(5) == 0.5


def test_optimizer_groups_skip_norms_and_biases():
    from autorc_nni.encoders import load_encoder
    from autorc_nni.model import RCModel

    _, enc = load_encoder("tiny")
    model = RCModel("r-bert", enc, num_labels=3)
    opt = build_optimizer(model, 1e-3, 0.01)
    decay, plain = opt.param_groups
    assert decay["weight_decay"] == 0.01 and plain["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    plain_names = {names[id(p)] for p in plain["params"]}
    decay_names = {names[id(p)] for p in decay["params"]}
    assert any("LayerNorm.weight" in n for n in plain_names)
    assert all(n.endswith("bias") or "LayerNorm" in n for n in plain_names)
    assert not any(n.endswith("bias") or "LayerNorm" in n for n in decay_names)
    assert "classifier.linear.weight" in decay_names
    assert len(plain_names) + len(decay_names) == len(names)


def test_pad_batch_keeps_logits(env):
    from autorc_nni.batching import collate
    from autorc_nni.data.readers import read_opennre
    from autorc_nni.encoders import load_encoder
    from autorc_nni.featurize import Featurizer
    from autorc_nni.model import RCModel

    tok, enc = load_encoder("tiny")
    exs = read_opennre(env["data"] / "dev.txt").examples[:8]
    l2i = {lab: i for i, lab in enumerate(KEYWORDS)}
    rows = Featurizer(tok, 64, formats=("markers",), cache=False).featurize(exs, l2i).rows
    rows = [rows[i] for i in range(len(rows))]
    model = RCModel("bert-entity", enc, num_labels=3).eval()
    batch = collate(rows, ["markers"], max_len=64)
    padded = pad_batch(collate(rows, ["markers"], max_len=64), 40, 64)
    assert padded["markers"]["input_ids"].shape[1] == 40
    assert padded["markers"]["dist"].shape[-1] == 40
    assert (
        padded["markers"]["attention_mask"][:, batch["markers"]["input_ids"].shape[1] :].sum() == 0
    )
    with torch.no_grad():
        assert torch.allclose(model(batch), model(padded), atol=1e-5)


def test_config_errors():
    with pytest.raises(ConfigError, match="train.lr"):
        train_config_from_dict({"lr": "fast"})
    with pytest.raises(ConfigError, match="unknown key"):
        train_config_from_dict({"learning_rate": 1e-3})
    with pytest.raises(ConfigError, match="batch_size"):
        train_config_from_dict({"batch_size": 0})
    with pytest.raises(ConfigError, match="pad_to"):
        train_config_from_dict({"pad_to": 512})
    cfg = train_config_from_dict({"arch": "r-bert", "epochs": 1, "warmup": 1})
    assert cfg.arch == "r-bert" and cfg.warmup == 1.0


def test_bf16_needs_cuda(env):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="CUDA"):
        train(config(env, "bf16", bf16=True, device="cpu"))
    with pytest.raises(ConfigError, match="no CUDA"):
        train(config(env, "cuda", device="cuda"))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    """Resume checkpoints load weights-only: a pickle that runs code is refused, not run."""
    import os
    import pickle

    from autorc_nni.config import ConfigError
    from autorc_nni.training import load_checkpoint

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    path = tmp_path / "checkpoint.pt"
    path.write_bytes(pickle.dumps({"config": {}, "state": Evil()}))
    with pytest.raises(ConfigError, match="not a checkpoint this version can read safely"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


def test_dev_scores_of_the_best_epoch_are_those_of_the_saved_model(env):
    """metrics.json's dev block reuses the best epoch's dev predictions (dev is not decoded
    twice): they equal a fresh evaluation of the saved model."""
    from autorc_nni.encoders import load_encoder
    from autorc_nni.finetune import eval_loader, predict_rows, training_data
    from autorc_nni.model import RCModel

    cfg = config(env, "reuse", **SHORT)
    result = train(cfg)
    model = RCModel.from_pretrained(Path(cfg.out) / "model")
    tokenizer, _ = load_encoder(cfg.data.encoder)
    data = training_data(cfg, tokenizer, model.arch)
    scored = predict_rows(
        model, eval_loader(data.rows["dev"], cfg, (model.arch.span,)), torch.device("cpu")
    )
    fresh, _, _ = data.task.score("dev", scored)
    assert {k: v for k, v in fresh.items()} == {
        k: v for k, v in result["dev"].items() if k not in ("eval_sentences_per_s", "loss")
    }
    assert result["history"][result["best_epoch"] - 1]["dev_score"] == fresh["score"]
    # the dev log loss (the race's tie-break) is that of the same predictions
    from autorc_nni.finetune import mean_log_loss

    assert result["dev"]["loss"] == pytest.approx(mean_log_loss(scored))
    assert 0 < result["dev"]["loss"] < 10 and result["test"]["loss"] > 0


def test_mean_log_loss_is_the_gold_labels_cross_entropy():
    from autorc_nni.finetune import mean_log_loss

    scored = {"a": (0, torch.tensor([0.5, 0.5])), "b": (1, torch.tensor([0.9, 0.1]))}
    assert mean_log_loss(scored) == pytest.approx((-math.log(0.5) - math.log(0.1)) / 2)
    assert mean_log_loss({}) is None
    assert mean_log_loss({"c": (1, torch.tensor([1.0, 0.0]))}) == pytest.approx(-math.log(1e-12))


def test_paused_runs_resume_into_the_unpaused_run(env):
    """The race's rungs: pausing inside an epoch and at an epoch's end, then resuming to the
    end, gives the uninterrupted run (the rung's dev scoring touches no RNG and no history)."""
    full = train(config(env, "pause_full", **SHORT))
    total = full["history"][-1]["global_step"]
    per_epoch = full["history"][0]["global_step"]
    mid = train(config(env, "pause_cut", pause_at=0.3, resume=True, **SHORT))
    assert mid["paused"] and mid["global_step"] == round(0.3 * total)
    assert 0.0 <= mid["dev"]["score"] <= 1.0 and mid["dev"]["loss"] > 0
    assert (env["root"] / "pause_cut" / CHECKPOINT).is_file()
    assert not (env["root"] / "pause_cut" / "metrics.json").exists()
    # asked again for the same rung (a kill after the pause): read back, nothing trained
    again = train(config(env, "pause_cut", pause_at=0.3, resume=True, **SHORT))
    assert again == mid
    at_end = train(config(env, "pause_cut", pause_at=per_epoch / total, resume=True, **SHORT))
    assert at_end["global_step"] == per_epoch
    assert at_end["dev"]["score"] == full["history"][0]["dev_score"]
    assert at_end["dev"]["loss"] > 0
    resumed = train(config(env, "pause_cut", resume=True, **SHORT))
    assert scores(resumed) == scores(full)
    assert same_weights(env["root"] / "pause_full" / "model", env["root"] / "pause_cut" / "model")
    assert resumed["throughput"]["train_sentences"] == full["throughput"]["train_sentences"]


def test_heartbeats_reach_the_listeners(env):
    from autorc_nni.training import listen_progress

    beats: list[dict] = []
    with listen_progress(beats.append):
        train(config(env, "beat", heartbeat=0.0, **SHORT))
    train(config(env, "beat2", heartbeat=0.0, **SHORT))  # no listener: nothing is told
    # every step (heartbeat 0 s), a beat before each epoch's dev scoring, one before the test
    steps = [b["step"] for b in beats if b["phase"] == "train"]
    assert steps == list(range(1, len(steps) + 1))
    assert {"out", "epoch", "epochs", "steps", "loss", "sentences_per_s"} <= set(beats[0])
    assert [b["epoch"] for b in beats if b["phase"] == "dev"] == [1, 2]
    assert beats[-1]["phase"] == "test" and beats[-1]["step"] == steps[-1]
    from trial.commands.demo import progress_words

    assert progress_words(beats[0]).startswith("epoch 1/2, step 1/")
    assert "scoring dev" in progress_words(next(b for b in beats if b["phase"] == "dev"))


def test_pause_at_is_checked():
    with pytest.raises(ConfigError, match="pause_at"):
        TrainConfig(pause_at=1.0)


def test_a_first_rung_smaller_than_a_step_pauses_after_one(env):
    """A small budget's first rung may round to no step: it pauses after the first."""
    paused = train(config(env, "pause_tiny", pause_at=0.01, resume=True, **SHORT))
    assert paused["paused"] and paused["global_step"] == 1


def test_a_kill_between_a_rungs_checkpoint_and_its_scoring_resumes_into_the_pause(env, monkeypatch):
    """The rung at an epoch's end, on a step a periodic checkpoint also takes: killed while the
    epoch's end is scored (after that checkpoint), the resumed run scores it and pauses there
    with the uninterrupted run's dev score (found by benchmarks/faults.py)."""
    import autorc_nni.finetune as ft

    per_epoch = train(config(env, "rung_ref", **SHORT))["history"][0]["global_step"]
    total = per_epoch * SHORT["epochs"]
    rung = {**SHORT, "pause_at": per_epoch / total, "checkpoint_every": per_epoch}
    clean = train(config(env, "rung_clean", **rung))
    assert clean["paused"] and clean["global_step"] == per_epoch

    real = ft.predict_rows

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the kill, while the epoch's end is scored

    monkeypatch.setattr(ft, "predict_rows", killed)
    with pytest.raises(KeyboardInterrupt):
        train(config(env, "rung_killed", **rung))
    monkeypatch.setattr(ft, "predict_rows", real)
    ckpt = load_checkpoint(env["root"] / "rung_killed" / CHECKPOINT)  # weights only
    assert ckpt["state"]["global_step"] == per_epoch and not ckpt["state"]["pauses"]
    resumed = train(config(env, "rung_killed", resume=True, **rung))
    assert resumed["paused"] and resumed["dev"] == clean["dev"]
    assert resumed["global_step"] == clean["global_step"]
