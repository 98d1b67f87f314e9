"""Every `autorc` command line in README.md and docs/*.md parses with the real command line, and
the run files it names are files the tool writes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# what the tool writes in a run or search folder, that a command may be given
WRITTEN = re.compile(r"(architectures/rank\d+\.json|result\.json|/model|\.jsonl?|\.yml|\.png)$")


def command_lines() -> list[tuple[str, str]]:
    """(where, command) for each `autorc ...` line of a fenced code block (continuations joined,
    comments and shell redirections dropped)."""
    out = []
    for doc in DOCS:
        in_block = False
        pending = ""
        for n, line in enumerate(doc.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            if not in_block:
                continue
            text = pending + line.split("  #")[0].split(" # ")[0].rstrip()
            if text.endswith("\\"):
                pending = text[:-1] + " "
                continue
            pending = ""
            text = text.strip()
            if text.startswith("autorc "):
                out.append((f"{doc.name}:{n}", text))
    return out


CASES = command_lines()


def test_the_docs_have_command_lines():
    assert len(CASES) >= 20


@pytest.mark.parametrize("where, line", CASES, ids=[w for w, _ in CASES])
def test_a_documented_command_parses(where, line):
    from trial.cli import build_parser

    text = re.split(r"\s[<|>]\s?", line)[0]  # drop redirections and pipes
    argv = shlex.split(text)[1:]
    if argv[:1] == ["--help"] or "--help" in argv:
        return
    try:
        build_parser(argv).parse_args(argv)
    except SystemExit as e:
        pytest.fail(f"{where}: `{line}` is refused by the command line (exit {e.code})")
    for arg in argv:
        if arg.startswith("runs/") and "." in Path(arg).name:
            assert WRITTEN.search(arg), f"{where}: {arg} is not a file the tool writes"
