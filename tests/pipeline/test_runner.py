"""The search layer's tables as the protocol sees them: methods, spaces, report rows."""

from __future__ import annotations

import pytest

from autorc_nni.architecture import PRESETS
from autorc_nni.config import ConfigError
from pipeline.methods import METHOD_TABLE, RANDOM, method_names
from pipeline.protocol import pipeline_config_from_dict
from pipeline.runner import check_config
from strategies.methods import METHODS


def test_every_method_is_one_row_of_the_table_in_report_order():
    assert method_names() == [*METHODS, RANDOM, *PRESETS]
    search = {n: r.row for n, r in METHOD_TABLE.items() if r.source == "search"}
    assert list(search) == list(METHODS)
    assert [r.order for r in search.values()] == list(range(len(METHODS)))
    assert {n for n, r in METHOD_TABLE.items() if r.row.learned} == {"autorc"}
    assert METHOD_TABLE[RANDOM].source == "random" and METHOD_TABLE[RANDOM].row.kind == "random"
    presets = [(n, r.row.order) for n, r in METHOD_TABLE.items() if r.source == "preset"]
    assert presets == [(n, i) for i, n in enumerate(PRESETS)]


@pytest.mark.parametrize(("key", "value"), [("method", "enas"), ("space", "M9")])
def test_a_name_outside_the_tables_is_refused(key, value):
    with pytest.raises(ConfigError, match=rf"x.yml: {key}: '{value}' is not one of"):
        pipeline_config_from_dict({key: value}, "x.yml")


def test_random_and_presets_need_no_search_section():
    for method in ("random", "bert-entity"):
        assert check_config(pipeline_config_from_dict({"method": method})).method == method


def test_the_run_data_limits_reach_the_search_unless_it_sets_its_own():
    from pipeline.runner import search_config

    cfg = pipeline_config_from_dict({"train": {"limit_train": 400, "limit_eval": 50}})
    s = search_config(cfg)
    assert (s.limit_train, s.limit_dev) == (400, 50)
    cfg = pipeline_config_from_dict(
        {"train": {"limit_train": 400, "limit_eval": 50}, "search": {"limit_dev": 500}}
    )
    s = search_config(cfg)
    assert (s.limit_train, s.limit_dev) == (400, 500)


def test_the_race_asks_the_search_for_format_bests_and_fits_in_k():
    from pipeline.runner import search_config

    shared = pipeline_config_from_dict({"search": {"k": 6}})
    assert search_config(shared).format_draws == 0  # the paper's protocol is unchanged
    race = pipeline_config_from_dict(
        {"select": "race", "search": {"k": 6}, "race": {"format_draws": 3}}
    )
    assert search_config(race).format_draws == 3
    too_many = pipeline_config_from_dict({"select": "race", "search": {"k": 2}})
    with pytest.raises(ConfigError, match=r"race.top \(3\) exceeds search.k \(2\)"):
        check_config(too_many)
    with pytest.raises(ConfigError, match="format_draws"):
        search_config(pipeline_config_from_dict({"search": {"format_draws": 2}}))
