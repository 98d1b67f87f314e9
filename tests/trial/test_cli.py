"""The ``autorc`` command line: every command registered, help lines, lazy imports."""

import subprocess
import sys

import pytest

from trial.cli import _commands_table, build_parser, main

EXPECTED = {
    "arch",
    "data",
    "demo",
    "export",
    "extract",
    "hpo",
    "predict",
    "random-search",
    "repeat",
    "report",
    "run",
    "search",
    "space",
    "train",
    "transfer",
}


def test_every_command_is_listed_with_a_help_line():
    table = _commands_table()
    assert set(table) == EXPECTED
    assert all(help_line for _, help_line in table.values())


def test_full_parser_registers_every_command():
    parser = build_parser(None)
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == EXPECTED


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_each_command_has_its_own_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert f"usage: autorc {command}" in capsys.readouterr().out


def test_help_and_light_commands_do_not_import_torch():
    code = (
        "import sys; from trial.cli import main; main(['arch', 'show', 'r-bert']); "
        "print('torch' in sys.modules, 'nni' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


@pytest.mark.parametrize("command", ["predict", "extract"])
def test_help_of_the_model_commands_does_not_import_torch(command):
    code = (
        "import sys; from trial.cli import main\n"
        f"try: main([{command!r}, '--help'])\n"
        "except SystemExit: pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_user_error_is_one_line_and_exit_2(capsys):
    assert main(["arch", "show", "missing.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autorc: error: missing.json")


def test_random_search_and_transfer_are_run_and_repeat_under_their_names():
    from trial.commands import repeat, run

    rnd = build_parser(["random-search"]).parse_args(
        ["random-search", "--dataset", "d", "--n", "3"]
    )
    via_run = build_parser(["run"]).parse_args(
        ["run", "--method", "random", "--dataset", "d", "--n", "3"]
    )
    assert rnd.func is via_run.func is run.run
    assert rnd.fixed_method == via_run.method == "random" and rnd.n == via_run.n == 3
    tr = build_parser(["transfer"]).parse_args(
        ["transfer", "--arch", "a.json", "--dataset", "d", "--out", "o"]
    )
    rep = build_parser(["repeat"]).parse_args(
        ["repeat", "--arch", "a.json", "--from", "s", "--dataset", "d", "--out", "o"]
    )
    assert tr.func is rep.func is repeat.run
    assert tr.transfer and not rep.transfer and rep.source == "s"


def test_run_keeps_the_config_as_the_nni_trial_reads_it(tmp_path):
    """`autorc run --config F` and the NNI trial (pipeline.runner.load_config) must build the
    same config, or a run directory made by one could not be resumed by the other."""
    from pipeline.runner import load_config
    from trial.commands._common import build_config

    cfg = tmp_path / "c.yml"
    cfg.write_text("method: bert-entity\ndataset: semeval10\ntrain: {epochs: 1}\n")
    args = build_parser(["run"]).parse_args(["run", "--config", str(cfg)])
    assert build_config(args, quiet_training=False) == load_config(cfg)


def test_the_protocol_commands_take_a_data_folder(tmp_path, monkeypatch) -> None:
    """`--data DIR` on hpo, repeat, run (and their aliases) stands for --dataset DIR; it was
    refused as an ambiguous prefix of --dataset / --data-root."""
    from trial.cli import build_parser
    from trial.commands._common import config_data

    for cmd in (
        ["run"],
        ["random-search"],
        ["hpo", "--arch", "bert-entity"],
        ["repeat", "--arch", "bert-entity"],
        ["transfer", "--arch", "bert-entity"],
    ):
        args = build_parser().parse_args([*cmd, "--data", str(tmp_path), "--out", "x"])
        data, _ = config_data(args)
        assert data["dataset"] == str(tmp_path), cmd


def test_intermediate_results_reach_the_manager_during_a_nas_evaluation() -> None:
    """NNI's NAS engine swaps in a mock trial channel while it evaluates (the search): the
    trial's reports must still go out on its own channel, as they are made."""
    from nni.runtime.trial_command_channel import (
        get_default_trial_command_channel,
        set_default_trial_command_channel,
    )

    from trial.nni_trial import intermediate_reporter

    class Channel:
        def __init__(self) -> None:
            self.sent: list[dict] = []

        def send_metric(self, **kw) -> None:
            self.sent.append(kw)

    before = get_default_trial_command_channel()
    own, mock = Channel(), Channel()
    set_default_trial_command_channel(own)  # type: ignore[arg-type]
    try:
        send = intermediate_reporter()
        set_default_trial_command_channel(mock)  # type: ignore[arg-type]  # inside the search
        send({"default": 0.5, "kind": "reward"})
        assert [m["value"]["kind"] for m in own.sent] == ["reward"] and mock.sent == []
        assert get_default_trial_command_channel() is mock  # the search's channel is back
    finally:
        set_default_trial_command_channel(before)
