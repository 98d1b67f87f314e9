"""docs/internals.md "How to add…", followed to the letter on a copy of the project.

A throw-away pooler (``first``: the part's first token, untransformed), a throw-away search
method (``autorc-lean``: one copy, no warm-up) and a throw-away task (``typing``: entity typing)
are added by editing exactly the files the page lists, nothing else. Then, in that copy, the
pooler is in the search space, the supernet and a child exported from it compute the same logits
with it, ``autorc space`` prints it, the existing contract tests (parametrised over the tables)
cover it; the method is a ``--method`` choice that builds its strategy and has a report row; the
task is a ``--task`` choice, keeps the task contract, narrows the space and trains.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("autorc_nni", "search_spaces", "strategies", "pipeline", "trial", "tests", "docs")

POOLER_CLASS = '''
@POOLERS.register("first")
class FirstPooler(Pooler):
    """The state of the part's first token, as it is (no linear layer)."""

    def _pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        first = mask.to(torch.int8).argmax(dim=1)  # (B,)
        idx = first.view(-1, 1, 1).expand(-1, 1, states.shape[-1])  # (B, 1, D)
        return states.gather(1, idx).squeeze(1)  # (B, D)


'''
POOLER_ROW = '    "first": "first-token pool",\n'
TASK_MODULE = '''"""``typing``: entity typing. Each gold entity of a SpERT sentence is a
statement (e1 = e2 = the entity) labelled by its type; scored by micro-F1 over the types."""

from __future__ import annotations

from autorc_nni.data.record import RelationExample
from autorc_nni.tasks.base import (
    LoadSettings,
    Scored,
    Scores,
    Task,
    TaskData,
    register_task,
    sample_units,
    split_files,
)
from autorc_nni.tasks.rc import argmax


@register_task
class EntityTyping(Task):
    name = "typing"
    title = "entity typing"
    unit = "sentence"
    excluded_spans = ("tokens",)
    excluded_why = "it hides the entity's words"
    fixed_decisions = {"use_c1": False, "inter_c1": "none"}

    def load(self, dataset: str, settings: LoadSettings) -> TaskData:
        from autorc_nni.data.spert import read_spert_sentences

        files = split_files(dataset, settings.fmt, settings.data_root, "spert")
        units = {s: read_spert_sentences(f) for s, f in files.items()}
        for s in ("dev", "test"):
            units[s] = sample_units(units[s], settings.limit_eval, settings.eval_seed)
        types = sorted({t for us in units.values() for u in us for *_, t in u.entities})
        statements = {
            s: [
                RelationExample(u.tokens, (a, b), (a, b), t, f"{u.id}#{a}-{b}", {"unit": u.id})
                for u in us
                for a, b, t in u.entities
            ]
            for s, us in units.items()
        }
        return TaskData(self.name, types, None, "micro_f1", statements, units)

    def group_of(self, statement_id: str) -> str:
        return statement_id.rsplit("#", 1)[0]

    def score(self, data: TaskData, split: str, scored: Scored) -> Scores:
        from autorc_nni.metrics import compute_metrics

        gold, pred, records = [], [], []
        for ex in data.statements[split]:
            p, prob = argmax(scored, ex.id, 0)
            gold.append(data.labels.index(str(ex.label)))
            pred.append(p)
            records.append({"id": ex.id, "gold": ex.label, "pred": data.labels[p], "p": prob})
        return compute_metrics(gold, pred, data.labels, None, data.metric), records, None
'''
TASK_IMPORT = "from autorc_nni.tasks.entity_typing import EntityTyping\n"
TASK_EXPORT = '    "EntityTyping",\n'
TASK_DATA = """

def _typing_data(folder: Path) -> str:
    return _ner_data(folder)


TINY_DATA["typing"] = _typing_data
"""
TASK_DOC = """
## Entity typing (`--task typing`)

Each gold entity of a SpERT sentence is a statement (e1 = e2 = the entity), labelled by its
type; micro-F1 over the types.
"""
METHOD_ROW = (
    '    "autorc-lean": Method("AutoRC, one copy, no warm-up", hetero_sharing=True, '
    "copies=1, warmup_epochs=0.0),\n"
)


def pytest_in(copy: Path, select: str, *files: str) -> str:
    """The copy's own tests ``files``, the cases matching ``-k select``."""
    return run_in(copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files, "-k", select)


def insert_before(path: Path, anchor: str, text: str) -> None:
    src = path.read_text()
    assert src.count(anchor) == 1, f"{path}: anchor {anchor!r} not found once"
    path.write_text(src.replace(anchor, text + anchor))


def recipe_files(kind: str) -> set[str]:
    """The files docs/internals.md lists under "How to add…" for ``kind``."""
    text = (ROOT / "docs" / "internals.md").read_text()
    section = text[text.index("## How to add") :]
    block = section[section.index(f"### A {kind}") :]
    block = block[: block.index("\n### ", 4)] if "\n### " in block[4:] else block
    files = re.findall(r"^\d+\. `([^`]+)`", block, flags=re.M)
    assert files, f"no numbered file list under 'A {kind}'"
    return set(files)


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("extended")
    for name in PACKAGES:
        shutil.copytree(
            ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    touched: dict[str, set[str]] = {"pooler": set(), "search method": set(), "task": set()}

    poolers = "autorc_nni/poolers.py"
    insert_before(copy / poolers, "POOLERS.check_names(", POOLER_CLASS.lstrip("\n"))
    touched["pooler"].add(poolers)
    names = "autorc_nni/architecture.py"
    insert_before(copy / names, '    "start": "start pool",\n', POOLER_ROW)
    touched["pooler"].add(names)
    # the sizes docs/design.md §3 states are the ones `autorc space` prints now
    sizes = json.loads(
        run_in(
            copy,
            "-c",
            "from search_spaces import spaces as S; import json; "
            "print(json.dumps([f(name) for f in (S.space_size, "
            "S.valid_space_size, S.distinct_space_size) for name in ['M']]))",
        )
    )
    design = copy / "docs" / "design.md"
    old = re.search(
        r"([\d,]+)\s+points read literally,\s+([\d,]+) valid,\s+([\d,]+)\s+distinct",
        design.read_text(),
    )
    assert old, "docs/design.md §3 no longer states the three counts"
    text = design.read_text()
    for before, after in zip(old.groups(), sizes, strict=True):
        text = text.replace(before, f"{after:,}")
    design.write_text(text)
    touched["pooler"].add("docs/design.md")

    methods = "strategies/methods.py"
    insert_before(copy / methods, '    "autorc3": Method(', METHOD_ROW)
    touched["search method"].add(methods)

    # a task: its module, its import and export, its tiny dataset, its docs section
    (copy / "autorc_nni/tasks/entity_typing.py").write_text(TASK_MODULE)
    package = copy / "autorc_nni/tasks/__init__.py"
    insert_before(package, "\n__all__ = [", TASK_IMPORT)
    insert_before(package, '    "LoadSettings",\n', TASK_EXPORT)
    tests = copy / "tests/autorc_nni/test_tasks.py"
    tests.write_text(tests.read_text() + TASK_DATA)
    docs = copy / "docs/tasks.md"
    docs.write_text(docs.read_text() + TASK_DOC)
    touched["task"] |= {
        "autorc_nni/tasks/NAME.py",
        "autorc_nni/tasks/__init__.py",
        "tests/autorc_nni/test_tasks.py",
        "docs/tasks.md",
    }

    for kind, files in touched.items():
        assert files == recipe_files(kind), (
            f"the test edits other files than the page lists: {kind}"
        )
    return copy


def run_in(copy: Path, *args: str) -> str:
    """Run ``python *args`` in the copy, with the copy first on the path."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, *args]
    proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_a_new_pooler_is_in_the_space_the_supernet_and_the_cli(extended: Path) -> None:
    out = run_in(
        extended,
        "-c",
        textwrap.dedent("""
        import autorc_nni, torch
        assert autorc_nni.__file__.startswith(COPY), autorc_nni.__file__
        from autorc_nni.architecture import DECISIONS, Architecture
        from autorc_nni.encoders import load_encoder
        from autorc_nni.poolers import POOLERS
        from search_spaces.spaces import describe_space, from_architecture
        from search_spaces.supernet import AutoRCSupernet
        from tests.search_spaces.test_supernet import make_batch, perturb

        assert "first" in POOLERS and all("first" in DECISIONS[f"pool_{p}"]
                                          for p in ("e1", "e2", "c0", "c1", "c2"))
        assert "first (first-token pool)" in describe_space("M")
        tokenizer, encoder = load_encoder("tiny", seed=0)
        net = AutoRCSupernet(encoder, 5, space="M", copies=1)
        perturb(net, 1)
        arch = Architecture(posenc="concat", pool_e1="first", pool_e2="dr", pool_c2="first",
                            use_c2=True, inter_e1e2="dot")
        net.set_sample(from_architecture(arch, "M"))
        net.eval()
        batch = make_batch(len(tokenizer))
        child = net.to_rcmodel(arch).eval()
        with torch.no_grad():
            torch.testing.assert_close(net(batch), child(batch))
        print("ok")
    """).replace("COPY", repr(str(extended)), 1),
    )
    assert out.strip().endswith("ok")
    space = run_in(extended, "-m", "trial.cli", "space")
    assert "first (first-token pool)" in space


def test_the_contract_tests_cover_the_new_pooler_unchanged(extended: Path) -> None:
    out = pytest_in(
        extended,
        "first or registry or size or readable",
        "tests/autorc_nni/test_poolers.py",
        "tests/autorc_nni/test_model.py",
        "tests/search_spaces/test_spaces.py",
        "tests/autorc_nni/test_architecture.py",
    )
    assert re.search(r"(\d+) passed", out) and "failed" not in out
    assert int(re.search(r"(\d+) passed", out).group(1)) >= 10  # the parametrised cases ran


def test_a_new_method_is_a_cli_choice_with_its_strategy_and_report_row(extended: Path) -> None:
    out = run_in(
        extended,
        "-c",
        textwrap.dedent("""
        from pipeline.protocol import pipeline_config_from_dict, report_row
        from pipeline.runner import check_config
        cfg = check_config(pipeline_config_from_dict({"method": "autorc-lean"}))
        row = report_row(cfg)
        assert row.title == "AutoRC, one copy, no warm-up" and row.kind == "search", row
        print("ok")
    """),
    )
    assert out.strip().endswith("ok")
    assert "autorc-lean" in run_in(extended, "-m", "trial.cli", "search", "--help")
    tests = pytest_in(
        extended,
        "autorc-lean or report_row or tables",
        "tests/strategies/test_autorc.py",
        "tests/pipeline/test_runner.py",
    )
    assert "failed" not in tests and re.search(r"[2-9]\d* passed|\d\d+ passed", tests), tests


def test_a_new_task_is_a_cli_choice_kept_to_the_contract_and_trainable(
    extended: Path, tmp_path: Path
) -> None:
    contract = pytest_in(extended, "contract", "tests/autorc_nni/test_tasks.py")
    assert "4 passed" in contract, contract  # rc, ner, coref and typing
    data = tmp_path / "typing"
    run_in(
        extended,
        "-c",
        "import sys, pathlib; sys.path.insert(0, 'tests/autorc_nni'); "
        "from test_tasks import TINY_DATA; "
        f"TINY_DATA['typing'](pathlib.Path({str(data)!r}))",
    )
    stats = run_in(
        extended, "-m", "trial.cli", "data", "stats", "--task", "typing", "--data", str(data)
    )
    assert stats.startswith("task typing; labels: Loc, Org, Peop"), stats
    space = run_in(
        extended,
        "-c",
        "from search_spaces.spaces import task_space; s = task_space('M', 'typing'); "
        "print(s.decisions['span'], s.fixed['use_c1'], s.description)",
    )
    assert space.startswith("('markers', 'standard') False") and "entity typing" in space
    out = tmp_path / "run"
    run_in(
        extended,
        *("-m", "trial.cli", "train", "--task", "typing", "--data", str(data)),
        *("--arch", "bert-entity", "--encoder", "tiny", "--epochs", "1", "--out", str(out)),
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "typing" and metrics["metric"] == "micro_f1"
    assert 0.0 <= metrics["test"]["score"] <= 1.0
