"""docs/internals.md "How to add…", followed to the letter on a copy of the project.

A throw-away pooler (``first``: the part's first token, untransformed) and a throw-away search
method (``autorc-lean``: one copy, no warm-up) are added by editing exactly the files the page
lists, nothing else. Then, in that copy, the pooler is in the search space, the supernet and a
child exported from it compute the same logits with it, ``autorc space`` prints it, the existing
contract tests (parametrised over the tables) cover it, and the method is a ``--method`` choice
that builds its strategy and has a report row.
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
PACKAGES = ("autorc_nni", "search_spaces", "strategies", "trial", "tests", "docs")

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
    touched = {"pooler": set(), "search method": set()}

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
        from autorc_nni.protocol import pipeline_config_from_dict, report_row
        from strategies.runner import Search, check_config
        cfg = check_config(pipeline_config_from_dict({"method": "autorc-lean"}))
        row = report_row(cfg, Search())
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
        "tests/strategies/test_runner.py",
    )
    assert "failed" not in tests and re.search(r"[2-9]\d* passed|\d\d+ passed", tests), tests
