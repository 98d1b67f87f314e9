"""The AutoRC strategy on NNI's one-shot machinery, on a toy model space
(tests/strategies/toy.py)."""

from __future__ import annotations

import pytest
import torch

from search_spaces.spaces import to_architecture
from strategies.autorc import AutoRCStrategy, make_evaluator
from strategies.errors import SearchError
from strategies.loaders import ChildBatches, RewardBatches
from strategies.methods import METHODS, get_method
from strategies.module import SupernetTrainingModule
from tests.strategies.toy import TOY_SPACE, ToySpace, toy_collate, toy_rows


def _search(
    copies=2, warmup_steps=0, steps=6, method="autorc", lr=1e-2, controller_lr=1e-2, seed=0
):
    torch.manual_seed(seed)
    space = ToySpace(copies=copies, sharing=get_method(method).sharing)
    tm = SupernetTrainingModule(labels=["neg", "pos"], negative_label="neg", lr=lr)
    train = ChildBatches(toy_rows(64), 4, 4, toy_collate, seed=seed, total_steps=steps)
    val = RewardBatches(toy_rows(64, seed=1), 16, toy_collate, seed=seed, total_steps=steps)
    rates = {"search_warmup_steps": warmup_steps, "controller_lr": controller_lr}
    strategy = AutoRCStrategy(method=method, space=TOY_SPACE, copies=copies, seed=seed, **rates)
    module = strategy.prepare(space, make_evaluator(tm, train, val))
    return strategy, module, space


def test_methods_are_the_papers_switches():
    assert METHODS["autorc"].sharing == "heterogeneous" and METHODS["autorc"].copies == 2
    assert METHODS["autorc"].warmup_epochs == 1.5
    naive = METHODS["naive-enas"]
    assert (naive.sharing, naive.copies, naive.warmup_epochs) == ("naive", 1, 0.0)
    assert METHODS["autorc1"].sharing == "naive" and METHODS["autorc1"].copies == 2
    assert METHODS["autorc2"].copies == 1 and METHODS["autorc2"].sharing == "heterogeneous"
    assert METHODS["autorc3"].warmup_epochs == 0.0 and METHODS["autorc3"].copies == 2
    with pytest.raises(SearchError, match="unknown search method 'enas'"):
        get_method("enas")


def test_supernet_must_match_method():
    strategy = AutoRCStrategy(method="naive-enas", space=TOY_SPACE)
    with pytest.raises(SearchError, match="sharing='naive'"):
        strategy.check_supernet(ToySpace(copies=1, sharing="heterogeneous"))
    with pytest.raises(SearchError, match="1 copies, supernet has 2"):
        strategy.check_supernet(ToySpace(copies=2, sharing="naive"))


def test_controller_table_comes_from_the_model_space():
    _, module, _ = _search()
    assert module.controller.labels == ["pool_c1", "use_c1"]  # DECISIONS order
    arch = to_architecture(module.controller.greedy(), TOY_SPACE)
    assert isinstance(arch.use_c1, bool)


def test_controller_frozen_during_search_warmup_then_updated():
    strategy, module, _ = _search(warmup_steps=3, steps=3)
    before = {k: v.clone() for k, v in module.controller.state_dict().items()}
    seen = []
    module.on_step = lambda m, stats: seen.append(stats)
    strategy.fit()
    assert module.step == 3 and [s["updated"] for s in seen] == [False] * 3
    after = module.controller.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert module.reinforce.baseline is not None  # the baseline follows rewards during warm-up

    strategy, module, _ = _search(warmup_steps=3, steps=5)
    before = {k: v.clone() for k, v in module.controller.state_dict().items()}
    seen = []
    module.on_step = lambda m, stats: seen.append(stats)
    strategy.fit()
    assert [s["updated"] for s in seen] == [False, False, False, True, True]
    after = module.controller.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_only_the_drawn_copy_and_its_optimizer_state_change():
    strategy, module, space = _search(steps=1)
    snap = {k: v.clone() for k, v in space.state_dict().items()}
    seen = []
    module.on_step = lambda m, stats: seen.append(stats)
    strategy.fit()
    enc, cls = seen[0]["copies"]
    state = space.state_dict()
    for i in range(2):
        for name, group, drawn in (("encoders", enc, i == enc), ("classifiers", cls, i == cls)):
            w = f"{name}.{i}.weight"
            assert torch.equal(state[w], snap[w]) != drawn, (w, group)
    opt = module.weight_optimizer()
    with_state = {id(p) for p in opt.state if opt.state[p]}
    assert id(space.encoders[enc].weight) in with_state
    assert id(space.encoders[1 - enc].weight) not in with_state
    assert seen[0]["lr"] > 0


def test_child_batches_are_deterministic_and_resumable():
    rows = toy_rows(40)
    full = list(ChildBatches(rows, 2, 4, toy_collate, seed=3, total_steps=12))
    assert len(full) == 12 and all(len(group) == 4 for group in full)  # 5 steps per epoch
    tail = list(ChildBatches(rows, 2, 4, toy_collate, seed=3, total_steps=12, start_step=7))
    for a, b in zip(full[7:], tail, strict=True):
        assert all(torch.equal(x["x"], y["x"]) for x, y in zip(a, b, strict=True))
    # one epoch sees every row of the first 5 * 8 = 40 exactly once
    xs = torch.cat([b["x"] for group in full[:5] for b in group])
    assert len({tuple(r.tolist()) for r in xs}) == 40
    with pytest.raises(SearchError, match="fewer than one search step"):
        ChildBatches(rows[:7], 2, 4, toy_collate, seed=0, total_steps=1)


def test_search_learns_the_planted_decision_on_toy_space():
    strategy, module, _ = _search(steps=120, controller_lr=5e-2, lr=5e-2)
    start = module.controller.probabilities()["use_c1"][True]
    strategy.fit()
    end = module.controller.probabilities()["use_c1"][True]
    assert start < 0.6 and end > 0.8, (start, end)


def test_bucketed_child_batches_have_similar_lengths():
    rows = toy_rows(400)
    lengths = [int(r["x"][1].abs() * 100) for r in rows]
    plain = ChildBatches(rows, 8, 2, lambda rs: rs, seed=0, total_steps=25)
    bucketed = ChildBatches(rows, 8, 2, lambda rs: rs, seed=0, total_steps=25, lengths=lengths)
    ids = {id(r): i for i, r in enumerate(rows)}

    def spread(loader):
        out, seen = [], []
        for group in loader:
            for batch in group:
                ls = [lengths[ids[id(r)]] for r in batch]
                out.append(max(ls) - min(ls))
                seen += [ids[id(r)] for r in batch]
        return sum(out) / len(out), seen

    s_plain, seen_plain = spread(plain)
    s_bucket, seen_bucket = spread(bucketed)
    assert s_bucket < s_plain / 4
    assert sorted(seen_bucket) == sorted(set(seen_bucket)) and len(seen_bucket) == 400


# -- with the real supernet (search_spaces.supernet) and the tiny encoder -------------------------
@pytest.mark.parametrize("method", list(METHODS))
def test_methods_build_the_right_supernet_and_strategy(method):
    from autorc_nni.encoders import load_encoder
    from strategies.search import build_strategy, build_supernet, search_config_from_dict

    cfg = search_config_from_dict(dict(method=method, encoder="tiny", space="M1", out="unused"))
    _, encoder = load_encoder("tiny")
    net = build_supernet(cfg, encoder, 3)
    sw = METHODS[method]
    assert net.sharing == sw.sharing and net.num_copies == sw.copies
    assert sorted(net.copy_groups()) == (
        ["markers+standard", "tokens"] if sw.hetero_sharing else ["all"]
    )
    strategy = build_strategy(cfg, steps_per_epoch=10)
    assert strategy.search_warmup_steps == round(10 * sw.warmup_epochs)
    assert strategy.module_kwargs["copies"] == sw.copies
    strategy.check_supernet(net)


def test_real_supernet_step_changes_only_the_drawn_copy_of_the_used_group(tmp_path):
    from autorc_nni.encoders import load_encoder
    from search_spaces.copies import WeightCopies
    from strategies.search import (
        build_strategy,
        build_supernet,
        search_config_from_dict,
        search_data,
    )
    from tests.strategies.planted import write_planted

    data_dir = write_planted(tmp_path / "data", n_train=32, n_dev=16)
    cfg = search_config_from_dict(
        dict(
            dataset=str(data_dir),
            format="opennre",
            encoder="tiny",
            space="M",
            method="autorc",
            batch_size=4,
            lr=1e-2,
            out=str(tmp_path),
            max_len=48,
        )
    )
    tokenizer, encoder = load_encoder("tiny")
    data = search_data(cfg, tokenizer, ("markers", "tokens", "standard"))
    net = build_supernet(cfg, encoder, len(data.labels))
    tm = SupernetTrainingModule(data.labels, data.negative_label, data.metric, lr=cfg.lr)
    train = ChildBatches(data.train, 4, 4, data.collate, seed=0, total_steps=1)
    val = RewardBatches(data.dev, 16, data.collate, seed=0, total_steps=1)
    strategy = build_strategy(cfg, steps_per_epoch=2)
    module = strategy.prepare(net, make_evaluator(tm, train, val))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    seen = []
    module.on_step = lambda m, stats: seen.append(stats)
    strategy.fit()
    (stats,) = seen
    used_group = net.group_of(stats["sample"]["span"])
    drawn, _ = stats["copies"]
    after = net.state_dict()
    checked = 0
    for name, m in net.named_modules():
        if not isinstance(m, WeightCopies) or m.name == "classifier":
            continue
        for i in range(len(m.copies)):
            prefix = f"{name}.copies.{i}."
            keys = [k for k in before if k.startswith(prefix)]
            changed = any(not torch.equal(before[k], after[k]) for k in keys)
            assert changed == (m.name == used_group and i == drawn), (name, i, used_group, drawn)
            checked += 1
    assert checked == 4  # 2 groups x 2 copies


def test_reward_batches_cut_into_length_sorted_pieces():
    rows = toy_rows(64)
    lengths = [i % 7 for i in range(64)]
    plain = list(RewardBatches(rows, 16, lambda rs: rs, seed=0, total_steps=3))
    pieces = list(
        RewardBatches(rows, 16, lambda rs: rs, seed=0, total_steps=3, lengths=lengths, piece_size=4)
    )
    ids = {id(r): i for i, r in enumerate(rows)}
    for whole, cut in zip(plain, pieces, strict=True):
        assert len(whole) == 1 and len(cut) == 4 and all(len(p) == 4 for p in cut)
        flat = [ids[id(r)] for p in cut for r in p]
        assert sorted(flat) == sorted(ids[id(r)] for r in whole[0])  # the same rows
        assert [lengths[i] for i in flat] == sorted(lengths[i] for i in flat)
    tm = SupernetTrainingModule(labels=["neg", "pos"], negative_label="neg")
    tm.predict_labels = lambda b: b["labels"].tolist()  # a perfect child
    batch = toy_collate(rows[:8])
    assert tm.reward([toy_collate(rows[:4]), toy_collate(rows[4:8])]) == tm.reward(batch) == 1.0


def test_grouped_child_batches_keep_a_text_s_rows_together_in_every_epoch():
    """``groups`` (a span's sentence): among equal lengths a batch holds one group's rows, so
    the text is encoded once; epoch rows drawn afresh bring their own groups."""
    rows = toy_rows(64)
    groups = [i // 8 for i in range(64)]
    lengths = [10] * 64

    def group(i, e):  # epoch 0: blocks of 8 rows; epoch 1: every 8th row
        return i // 8 if e == 0 else i % 8

    def epoch_rows(e):
        return rows, lengths, [group(i, e) for i in range(64)]

    loader = ChildBatches(
        rows,
        8,
        2,
        lambda rs: rs,
        seed=0,
        total_steps=8,
        lengths=lengths,
        groups=groups,
        epoch_rows=epoch_rows,
    )
    ids = {id(r): i for i, r in enumerate(rows)}
    seen = []
    for t, step in enumerate(loader):
        for batch in step:
            epoch = t // loader.steps_per_epoch
            assert len({group(ids[id(r)], epoch) for r in batch}) == 1  # one sentence's rows
            seen += [ids[id(r)] for r in batch]
    assert sorted(seen) == sorted(list(range(64)) * 2)  # two epochs, every row once in each
    # a resumed loader (from step 5) draws what the uninterrupted one did
    kw = {"lengths": lengths, "groups": groups, "epoch_rows": epoch_rows}
    full = list(ChildBatches(rows, 8, 2, lambda rs: rs, seed=0, total_steps=8, **kw))
    tail = list(ChildBatches(rows, 8, 2, lambda rs: rs, seed=0, total_steps=8, start_step=5, **kw))
    assert [[[id(r) for r in b] for b in st] for st in tail] == [
        [[id(r) for r in b] for b in st] for st in full[5:]
    ]
    ungrouped = ChildBatches(rows, 8, 2, lambda rs: rs, seed=0, total_steps=4, lengths=lengths)
    mixed = [len({ids[id(r)] // 8 for r in b}) for step in ungrouped for b in step]
    assert max(mixed) > 1
