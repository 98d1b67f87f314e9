"""The format of a data folder, told from its content (``--data DIR`` without ``--format``).

``detect_format(folder)`` finds the folder's train file (as ``load_dataset`` does: ``train.txt``,
``train.json``, ``train_triples.json``, ``train/``, ``train.english.v4_gold_conll``, ...), reads
its first ``HEAD_BYTES`` bytes only, and asks every known format whether that text looks like
it:

============ ==================================================================================
opennre      JSON lines; the first object has ``token`` or ``text``, ``h``, ``t`` and ``relation``
semeval      SemEval-2010 / KBP37 blocks: the first line is ``ID<TAB>"… <e1>…</e1> …"``
tacred       a JSON list or JSON lines; the first object has ``token`` and ``subj_start`` …
             ``obj_end``
spert        a JSON array or JSON lines; the first object has ``tokens`` and ``entities``
chemprot     JSON lines; the first object has a ``text`` with ``<< … >>`` or ``[[ … ]]`` marks and
             a ``label`` (and no ``h``/``t``)
blue_tsv     ``id<TAB>sentence<TAB>label`` (an ``index`` header allowed) with ``@CHEMICAL$``-style
             masks in the sentence
deft         8 tab-separated columns ``TOKEN SOURCE START END TAG …`` (``.deft`` files, or a train
             folder of them)
ddi          DDI 2013 XML (``<document`` … ``<sentence``), a train folder of such files, or the
             corpus zip itself
conll2012    ``#begin document`` (coreference documents: ``--task coref``, not relations)
============ ==================================================================================

Exactly one must match. None or several is a ``DataError`` listing every format tried and why
it did or did not match, and asking for ``--format``.
"""

from __future__ import annotations

import codecs
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorc_nni.data.conll2012 import _split_entry
from autorc_nni.errors import DataError

__all__ = [
    "HEAD_BYTES",
    "Detection",
    "detect",
    "detect_format",
    "find_split_file",
    "PROBES",
    "SPLIT_NAMES",
]

HEAD_BYTES = 16_384  # how much of the train file is read


@dataclass(frozen=True)
class Detection:
    """What ``detect`` found: the format, the file it was told from, and each probe's answer."""

    format: str
    file: Path
    reasons: dict[str, str]  # format -> why it does (or does not) match


@dataclass
class _Head:
    """The first bytes of a file, as text, with the first record parsed lazily."""

    path: Path
    text: str
    _json: tuple[str, Any, str] | None = None  # (container, first value, why not)

    def lines(self) -> list[str]:
        return [ln.removesuffix("\r") for ln in self.text.split("\n")]

    def first_line(self) -> str | None:
        return next((ln for ln in self.lines() if ln.strip()), None)

    def first_json(self) -> tuple[str, Any, str]:
        """``(container, first record, why not)``: container ``"array"`` (a JSON array's first
        element), ``"lines"`` (JSON lines' first line) or ``""`` (not JSON; why not says why)."""
        if self._json is None:
            self._json = _first_json(self.text, self.first_line())
        return self._json


def _first_json(text: str, first_line: str | None) -> tuple[str, Any, str]:
    body = text.lstrip()
    if not body:
        return "", None, "the file is empty"
    if body.startswith("["):
        i = 1
        while i < len(body) and body[i].isspace():
            i += 1
        if body[i : i + 1] == "]":
            return "", None, "an empty JSON array"
        try:
            value, _ = json.JSONDecoder().raw_decode(body, i)
        except (ValueError, RecursionError):
            return "", None, "a '[' not followed by a JSON record"
        return "array", value, ""
    try:
        value = json.loads(first_line or "")
    except (ValueError, RecursionError):
        return "", None, "the first line is not JSON"
    return "lines", value, ""


def _object(head: _Head, containers: tuple[str, ...]) -> tuple[dict | None, str]:
    container, value, why = head.first_json()
    if not container:
        return None, why
    if container not in containers:
        shape = "a JSON array" if container == "array" else "JSON lines"
        return None, f"{shape}, not {' or '.join(_SHAPES[c] for c in containers)}"
    if not isinstance(value, dict):
        return None, f"the first record is a {type(value).__name__}, not an object"
    return value, ""


_SHAPES = {"array": "a JSON array", "lines": "JSON lines"}


def _keys(obj: dict, need: tuple[str, ...]) -> str:
    missing = [k for k in need if k not in obj]
    return f"the first record has no {', '.join(map(repr, missing))}" if missing else ""


def _opennre(head: _Head) -> str:
    obj, why = _object(head, ("lines",))
    if obj is None:
        return why
    if "token" not in obj and "text" not in obj:
        return "the first record has neither 'token' nor 'text'"
    return _keys(obj, ("h", "t", "relation"))


def _tacred(head: _Head) -> str:
    obj, why = _object(head, ("array", "lines"))
    if obj is None:
        return why
    return _keys(obj, ("token", "subj_start", "subj_end", "obj_start", "obj_end"))


def _spert(head: _Head) -> str:
    obj, why = _object(head, ("array", "lines"))
    if obj is None:
        return why
    return _keys(obj, ("tokens", "entities"))


def _chemprot(head: _Head) -> str:
    obj, why = _object(head, ("lines",))
    if obj is None:
        return why
    if missing := _keys(obj, ("text", "label")):
        return missing
    if "h" in obj or "t" in obj:
        return "the first record has 'h'/'t' spans (OpenNRE)"
    text = obj["text"]
    if not isinstance(text, str) or not (
        ("<< " in text and " >>" in text) or ("[[ " in text and " ]]" in text)
    ):
        return "its 'text' has no '<< … >>' or '[[ … ]]' entity marks"
    return ""


_SEMEVAL = re.compile(r"^\s*\d+\t.*<(/?)e[12]>")


def _first_line(head: _Head, pattern: re.Pattern[str], expected: str) -> str:
    """Why ``head``'s first non-blank line does not match ``pattern`` ("" when it does)."""
    line = head.first_line()
    if line is None:
        return "the file is empty"
    return "" if pattern.match(line) else f"the first line is not {expected!r}"


def _semeval(head: _Head) -> str:
    return _first_line(head, _SEMEVAL, 'ID<TAB>"… <e1>…</e1> …"')


_MASK = re.compile(r"@[A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*\$")


def _blue_tsv(head: _Head) -> str:
    lines = [ln for ln in head.lines() if ln.strip()]
    if lines and lines[0].startswith("index\t"):
        lines = lines[1:]
    if not lines:
        return "no data line"
    cols = lines[0].split("\t")
    if len(cols) != 3:
        return f"the first data line has {len(cols)} tab-separated columns, not 3"
    if not _MASK.search(cols[1]):
        return "its sentence has no '@CHEMICAL$'-style entity mask"
    return ""


_DEFT_TAG = re.compile(r"^(O|[BI]-\S+)$")


def _deft(head: _Head) -> str:
    line = head.first_line()
    if line is None:
        return "the file is empty"
    cols = [c.strip() for c in line.split("\t")]
    if len(cols) != 8:
        return f"the first line has {len(cols)} tab-separated columns, not 8"
    if not _DEFT_TAG.match(cols[4]):
        return f"its 5th column {cols[4][:20]!r} is not a tag (O, B-…, I-…)"
    return ""


def _ddi(head: _Head) -> str:
    body = head.text.lstrip()
    if not body.startswith("<"):
        return "not XML"
    if "<document" not in body or "<sentence" not in body:
        return "XML without <document> and <sentence>"
    return ""


_BEGIN = re.compile(r"#\s*begin document\b")


def _conll2012(head: _Head) -> str:
    return _first_line(head, _BEGIN, "#begin document …")


# The usual file names of each split in a folder (a name with the split's word in it also
# counts, when it is the only one).
SPLIT_NAMES = {
    "train": ("train",),
    "dev": ("dev", "val", "valid", "validation"),
    "test": ("test",),
}
_EXTENSIONS = (".txt", ".json", ".jsonl", ".tsv", ".TXT", "")


def find_split_file(path: Path, split: str) -> Path:
    """The file of ``split`` in folder ``path``: a usual name (``train.txt``, ``dev.json``, …),
    else the one file whose name has the split's word in it (``train_triples.json``,
    ``conll04_dev.json``); none or several is an error listing what was tried or found."""
    stems = SPLIT_NAMES[split]
    tried = [path / f"{stem}{ext}" for stem in stems for ext in _EXTENSIONS]
    found = next((p for p in tried if p.exists()), None)  # a folder, for deft
    if found is not None:
        return found
    named = sorted(
        p
        for p in path.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and set(re.split(r"[^a-z0-9]+", p.name.lower())) & set(stems)
    )
    if len(named) == 1:
        return named[0]
    if named:
        raise DataError(
            f"{path}: several files could be the {split} split "
            f"({', '.join(p.name for p in named)}); keep one"
        )
    raise DataError(
        f"{path}: missing the {split} split file (tried "
        f"{', '.join(sorted({p.name for p in tried}))}, or a name containing {stems[0]!r})"
    )


# format -> probe(head) -> "" when the text looks like the format, else why not
PROBES: dict[str, Callable[[_Head], str]] = {
    "opennre": _opennre,
    "semeval": _semeval,
    "tacred": _tacred,
    "spert": _spert,
    "chemprot": _chemprot,
    "blue_tsv": _blue_tsv,
    "deft": _deft,
    "ddi": _ddi,
    "conll2012": _conll2012,
}


def _read_head(path: Path) -> _Head:
    with open(path, "rb") as f:
        data = f.read(HEAD_BYTES + 1)
    data = data.removeprefix(codecs.BOM_UTF8)
    cut = len(data) > HEAD_BYTES
    if cut:  # keep whole lines (the first one even when it is longer: one-line JSON arrays)
        data = data[:HEAD_BYTES]
        last = data.rfind(b"\n")
        if last > 0:
            data = data[:last]
    return _Head(path, data.decode("utf-8", errors="replace"))


def _train_file(folder: Path) -> Path:
    """The file the format is told from: the train split's (its first file, for a folder)."""

    entry: Path | None
    try:
        entry = find_split_file(folder, "train")
    except DataError as e:
        entry = _split_entry(folder, "train")  # train.english.v4_gold_conll beside .jsonlines
        if entry is None:  # a flat folder of CoNLL documents (LitBank's, split by .ids files)
            docs = sorted(
                p for p in folder.glob("*conll") if p.is_file() and not p.name.startswith(".")
            )
            if docs:
                return docs[0]
            raise DataError(f"cannot detect the format: {e}") from None
    if entry.is_file():
        return entry
    for pattern in ("*.deft", "*conll", "*.xml"):
        files = sorted(
            p for p in entry.rglob(pattern) if p.is_file() and not p.name.startswith(".")
        )
        if files:
            return files[0]
    raise DataError(
        f"{entry}: cannot detect the format: the train folder holds no .deft, "
        "*conll or .xml file; give it with --format"
    )


def _zip_is_ddi(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.startswith("DDICorpus/") and n.endswith(".xml") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def detect(folder: str | Path) -> Detection:
    """The format of ``folder``'s files (see the module docstring); refuses none or several."""
    folder = Path(folder).expanduser()
    if folder.is_file():
        if zipfile.is_zipfile(folder) and _zip_is_ddi(folder):
            return Detection("ddi", folder, {"ddi": "the DDI 2013 corpus zip"})
        raise DataError(
            f"{folder}: cannot detect the format of a single file: --data takes a "
            "folder with train/dev/test files (or the DDI corpus zip)"
        )
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found")
    file = _train_file(folder)
    head = _read_head(file)
    reasons = {fmt: probe(head) for fmt, probe in PROBES.items()}
    matches = [fmt for fmt, why in reasons.items() if not why]
    if len(matches) == 1:
        return Detection(matches[0], file, reasons)
    if matches:
        raise DataError(
            f"{folder}: cannot tell the format of {file.name}: it reads as "
            f"{' and as '.join(matches)}; give it with --format"
        )
    tried = "; ".join(f"{fmt}: {why}" for fmt, why in reasons.items())
    raise DataError(
        f"{folder}: cannot tell the format of {file.name} from its first {HEAD_BYTES // 1024} "
        f"KB (tried {tried}); give it with --format"
    )


def detect_format(folder: str | Path) -> str:
    """The name of ``folder``'s format: a ``READERS`` name, or ``"conll2012"``."""
    return detect(folder).format
