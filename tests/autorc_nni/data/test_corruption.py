"""Random corruptions of valid files of every format: a clean load or a ``DataError`` naming the
file (and line or record), never another exception.

Each reader (and the CoNLL-2012 reader) gets a small valid file, then hypothesis corrupts it:
bytes (truncation at a random byte, a stray or replaced byte, invalid UTF-8 and NUL included, an
empty file), records (a deleted key, a value of the wrong type, a span out of range, a changed
string) and lines (a deleted line or column, a changed field). A load that succeeds must give
valid records and drops with a reason; ``strict=True`` must then refuse exactly the loads that
dropped a record that cannot be a relation statement.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autorc_nni.data.conll2012 import CorefDocument, read_conll2012
from autorc_nni.data.readers import DROP_LOCATIONS, READERS, ReadResult
from autorc_nni.data.record import RelationExample
from autorc_nni.errors import DataError

SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# drops that are odd records (refused by strict=True); DEFT's construction drops are not
STATEMENT_DROPS = {
    "empty head entity",
    "empty tail entity",
    "empty entity",
    "pair with ddi=true but no type",
    "a second relation on the same ordered entity pair",
}


# ---- valid samples ---------------------------------------------------------------------------


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


OPENNRE = [
    {
        "token": ["Bill", "Gates", "founded", "Microsoft", "."],
        "h": {"name": "Bill Gates", "pos": [0, 2]},
        "t": {"name": "Microsoft", "pos": [3, 4]},
        "relation": "founded",
    },
    {
        "text": "The fire was caused by a cigarette.",
        "h": {"pos": [4, 8]},
        "t": {"pos": [25, 34]},
        "relation": "Cause-Effect(e2,e1)",
    },
]
TACRED = [
    {
        "id": "r1",
        "relation": "per:title",
        "token": ["Tom", "Thabane", "resigned", "as", "chief"],
        "subj_start": 0,
        "subj_end": 1,
        "obj_start": 4,
        "obj_end": 4,
        "subj_type": "PERSON",
        "obj_type": "TITLE",
    },
    {
        "id": "r2",
        "relation": "no_relation",
        "token": ["a", "b", "c"],
        "subj_start": 0,
        "subj_end": 0,
        "obj_start": 2,
        "obj_end": 2,
    },
]
CHEMPROT = [
    {"text": "<< Aspirin >> inhibits [[ COX-1 ]] here .", "label": "INHIBITOR"},
    {"text": "the [[ EGF ]] receptor and << gefitinib >>", "label": "ANTAGONIST"},
]
SPERT = [
    {
        "tokens": ["John", "Smith", "lives", "in", "Paris", "."],
        "entities": [{"type": "Peop", "start": 0, "end": 2}, {"type": "Loc", "start": 4, "end": 5}],
        "relations": [{"type": "Live_In", "head": 0, "tail": 1}],
        "orig_id": 7,
    },
    {
        "tokens": ["Acme", "hired", "Ann"],
        "entities": [{"type": "Org", "start": 0, "end": 1}, {"type": "Peop", "start": 2, "end": 3}],
        "relations": [],
    },
]
SEMEVAL = (
    b'1\t"The <e1>configuration</e1> of the <e2>elements</e2> is new."\r\n'
    b"Component-Whole(e2,e1)\r\nComment: Not a collection.\r\n\r\n"
    b'2\t" <e1> Thom Yorke </e1> of <e2> Radiohead </e2> sang . "\r\n'
    b"per:employee_of(e1,e2) \r\nComment:\r\n\r\n"
)
BLUE = (
    b"index\tsentence\tlabel\n"
    b"d1\t@CHEMICAL$ inhibits @GENE$ strongly .\tCPR:4\n"
    b"d2\tThe @CHEM-GENE$ binds .\tfalse\n"
)
DEFT = (
    b"A\t s\t 0\t 1\t O\t -1\t -1\t 0\n"
    b"cell\t s\t 2\t 6\t B-Term\t T1\t 0\t 0\n"
    b"is\t s\t 7\t 9\t O\t -1\t -1\t 0\n"
    b"the\t s\t 10\t 13\t B-Definition\t T2\t T1\t Direct-Defines\n"
    b"unit\t s\t 14\t 18\t I-Definition\t T2\t T1\t Direct-Defines\n"
    b"\n\n"
    b"An\t s\t 20\t 22\t B-Alias-Term\t T3\t T4\t AKA\n"
    b"atom\t s\t 23\t 27\t B-Term\t T4\t 0\t 0\n"
)
DDI_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><document id="d0">'
    '<sentence id="d0.s0" text="Aspirin and warfarin interact.">'
    '<entity id="d0.s0.e0" charOffset="0-6" type="drug" text="Aspirin"/>'
    '<entity id="d0.s0.e1" charOffset="12-19" type="drug" text="warfarin"/>'
    '<pair id="d0.s0.p0" e1="d0.s0.e0" e2="d0.s0.e1" ddi="true" type="effect"/>'
    '<pair id="d0.s0.p1" e1="d0.s0.e1" e2="d0.s0.e0" ddi="false"/>'
    "</sentence></document>"
)
CONLL = (
    b"#begin document (doc1); part 000\n"
    b"doc1\t0\t0\tJohn\t(0\n"
    b"doc1\t0\t1\tSmith\t0)\n"
    b"doc1\t0\t2\tsaw\t-\n"
    b"doc1\t0\t3\thimself\t(0)|(1\n"
    b"doc1\t0\t4\tthere\t1)\n"
    b"\n"
    b"doc1\t0\t0\tHe\t(0)\n"
    b"#end document\n"
)


def _ddi_zip(xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("DDICorpus/Train/DrugBank/x.xml", xml)
    return buf.getvalue()


# name -> (file name, valid bytes, reader(path, strict) -> ReadResult | list, JSON layout)
def _reader(fmt: str, **kw: Any) -> Callable[[Path, bool], Any]:
    return lambda path, strict: READERS.get(fmt)(path, strict=strict, **kw)


FILES: dict[str, tuple[str, bytes, Callable[[Path, bool], Any], str | None]] = {
    "opennre": ("train.txt", _jsonl(OPENNRE), _reader("opennre"), "lines"),
    "tacred-list": (
        "train.json",
        json.dumps(TACRED, indent=1).encode(),
        _reader("tacred"),
        "array",
    ),
    "tacred-lines": ("train.jsonl", _jsonl(TACRED), _reader("tacred"), "lines"),
    "chemprot": ("train.txt", _jsonl(CHEMPROT), _reader("chemprot"), "lines"),
    "spert-array": ("train.json", json.dumps(SPERT, indent=1).encode(), _reader("spert"), "array"),
    "spert-oneline": ("train.json", json.dumps(SPERT).encode(), _reader("spert"), "array"),
    "spert-lines": ("train.json", _jsonl(SPERT), _reader("spert"), "lines"),
    "semeval": ("TRAIN_FILE.TXT", SEMEVAL, _reader("semeval"), None),
    "blue_tsv": ("train.tsv", BLUE, _reader("blue_tsv", head_mask="@CHEMICAL$"), None),
    "deft": ("train.deft", DEFT, _reader("deft"), None),
    "ddi": ("ddi.zip", _ddi_zip(DDI_XML.encode()), _reader("ddi"), None),
    "conll2012": ("train.conll", CONLL, lambda path, strict: read_conll2012(path), None),
}

# every reader is covered: each file format here, hf below
assert {k.split("-")[0] for k in FILES} - {"conll2012"} | {"hf"} == set(READERS.names())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("corrupt")


def test_every_sample_is_valid(workdir):
    for name, (file, data, read, _) in FILES.items():
        path = workdir / name / file
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        got = read(path, True)
        records = got.examples if isinstance(got, ReadResult) else got
        assert records, name
        assert not isinstance(got, ReadResult) or not got.dropped, (name, got.dropped)


# ---- the contract ----------------------------------------------------------------------------

# errors about the whole file, which have no line to name
_FILE_LEVEL = (
    "file is empty",
    "not a zip file",
    "no XML documents",
    "expected a JSON",
    "no sentences",
    "malformed JSON (",
    "the split is empty",
)


def check_load(read: Callable[[Path, bool], Any], path: Path, name: str | None = None) -> None:
    """``read(path)`` loads cleanly or raises a ``DataError`` naming the file (and the line or
    record); a clean load's drops have reasons, and ``strict`` refuses the odd records."""
    name = name or path.name
    try:
        got = read(path, False)
    except DataError as e:
        _check_message(str(e), name)
        return
    if not isinstance(got, ReadResult):  # CoNLL-2012 documents: mentions within the words
        assert got and all(isinstance(doc, CorefDocument) for doc in got)
        for doc in got:
            assert all(0 <= s < e <= len(doc.tokens) for c in doc.clusters for s, e in c)
        return
    for ex in got.examples:
        assert isinstance(ex, RelationExample) and (ex.label is None or isinstance(ex.label, str))
        assert 0 <= ex.head[0] < ex.head[1] <= len(ex.tokens)
        assert 0 <= ex.tail[0] < ex.tail[1] <= len(ex.tokens)
    for reason, n in got.dropped.items():
        assert reason and n > 0
        places = got.dropped_where.get(reason, [])
        assert len(places) <= min(n, DROP_LOCATIONS)
        assert all(name in p for p in places), places
    odd = set(got.dropped) & STATEMENT_DROPS
    try:
        strict = read(path, True)
    except DataError as e:
        assert odd, f"strict refused a load without odd records: {e}"
        _check_message(str(e), name)
        assert "--strict" in str(e)
        return
    assert not odd, f"strict accepted {odd}"
    assert [x.id for x in strict.examples] == [x.id for x in got.examples]


def _check_message(msg: str, name: str) -> None:
    assert name in msg, msg
    if not any(s in msg for s in _FILE_LEVEL):
        # the file and then a line, a record or a member: "train.txt:3", "train.json:record 1",
        # "ddi.zip:DDICorpus/...", "hf:x/train:row 0"
        assert re.search(re.escape(name) + r"[^:\s]*:\S", msg), msg


def check_corruptions(
    workdir: Path,
    kind: str,
    name: str,
    corruptions: st.SearchStrategy,
    to_bytes: Callable[[Any], bytes] = bytes,
) -> None:
    """Each of ``corruptions`` (made bytes by ``to_bytes``), written as sample ``name``'s file,
    passes ``check_load``."""
    file, _, read, _ = FILES[name]
    path = workdir / f"{kind}-{name}" / file
    path.parent.mkdir(exist_ok=True)

    @SETTINGS
    @given(corruptions)
    def run(corrupted: Any) -> None:
        path.write_bytes(to_bytes(corrupted))
        check_load(read, path)

    run()


# ---- byte corruptions ------------------------------------------------------------------------

BYTES = st.sampled_from(
    [
        b"\x00",
        b"\xff",
        b"\xc3",
        b"\xe2\x80",
        b"\n",
        b"\r",
        b"\t",
        b'"',
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"<",
        b">",
        b"(",
        b")",
        b"|",
        b"@",
        b"-",
        b"1",
        b" ",
        b"\\",
        b"\x85",
        b"\xef\xbb\xbf",
        b"9" * 4400,
    ]
)  # an integer too long for Python to convert


@st.composite
def byte_corruption(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "insert", "replace", "delete", "empty"]))
    if kind == "empty":
        return b""
    i = draw(st.integers(0, len(data) - 1))
    if kind == "truncate":
        return data[:i]
    if kind == "delete":
        return data[:i] + data[i + 1 :]
    b = draw(BYTES | st.binary(min_size=1, max_size=1))
    return data[:i] + b + data[i + (kind == "replace") :]


@pytest.mark.parametrize("name", sorted(FILES))
def test_byte_corruptions(workdir, name):
    check_corruptions(workdir, "bytes", name, byte_corruption(FILES[name][1]))


# ---- record corruptions (JSON formats and hf rows) -------------------------------------------

WRONG_VALUES = [
    None,
    True,
    1.5,
    "x",
    "",
    " ",
    [],
    {},
    [0],
    [2, 1],
    [0, 99],
    [-1, 1],
    -1,
    0,
    99,
    10**30,
    {"pos": [0, 1]},
    ["a", 1],
]


TEXT = st.lists(
    st.sampled_from(
        [
            *"ab <>[]@$e12/-\t\u2028\x00",
            "<e1>",
            "</e1>",
            "<e2>",
            "</e2>",
            "<< ",
            " >>",
            "[[ ",
            " ]]",
            "@GENE$",
        ]
    ),
    max_size=8,
).map("".join)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def record_corruption(draw, rows: list) -> list:
    rows = json.loads(json.dumps(rows))  # a deep copy
    paths = [p for p in _paths(rows) if p]
    if draw(st.booleans()):  # half the time a key of a record itself ("token", "h", ...)
        paths = [p for p in paths if len(p) == 2]
    path = draw(st.sampled_from(paths))
    parent = rows
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    kind = draw(st.sampled_from(["delete", "wrong", "text", "int"]))
    if kind == "delete":
        del parent[key]
    elif kind == "text" or (kind == "int" and not isinstance(parent[key], int)):
        parent[key] = draw(TEXT)
    elif kind == "int":
        parent[key] = parent[key] + draw(st.sampled_from([-100, -2, -1, 1, 2, 100]))
    else:
        parent[key] = draw(st.sampled_from(WRONG_VALUES))
    return rows


JSON_SAMPLES = {
    "opennre": OPENNRE,
    "tacred-list": TACRED,
    "tacred-lines": TACRED,
    "chemprot": CHEMPROT,
    "spert-array": SPERT,
    "spert-oneline": SPERT,
    "spert-lines": SPERT,
}


def _dump(rows: list, layout: str, name: str) -> bytes:
    if layout == "lines":
        return b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    return json.dumps(rows, indent=None if name.endswith("oneline") else 1).encode()


@pytest.mark.parametrize("name", sorted(JSON_SAMPLES))
def test_record_corruptions(workdir, name):
    layout = FILES[name][3]
    check_corruptions(
        workdir,
        "records",
        name,
        record_corruption(JSON_SAMPLES[name]),
        lambda rows: _dump(rows, layout, name),
    )


@pytest.mark.parametrize("name", sorted(JSON_SAMPLES))
def test_every_key_deleted_or_of_a_wrong_type(workdir, name):
    """Not left to chance: each key of each record (nested ones too) deleted, then given each
    wrong value in turn."""
    file, _, read, layout = FILES[name]
    path = workdir / f"keys-{name}" / file
    path.parent.mkdir(exist_ok=True)
    rows = JSON_SAMPLES[name]
    for where in [p for p in _paths(rows) if len(p) >= 2 and isinstance(p[-1], str)]:
        for value in [_DELETE, *WRONG_VALUES]:
            changed = json.loads(json.dumps(rows))
            parent = changed
            for k in where[:-1]:
                parent = parent[k]
            if value is _DELETE:
                del parent[where[-1]]
            else:
                parent[where[-1]] = value
            path.write_bytes(_dump(changed, layout, name))
            check_load(read, path)


_DELETE = object()


HF_ROWS = {
    "opennre": OPENNRE,
    "tacred": TACRED,
    "chemprot": CHEMPROT,
    "semeval": [
        {"sentence": '"The <e1>flu</e1> caused <e2>fever</e2>."', "relation": "C-E"},
        {"sentence": "<e1>a</e1> and <e2>b</e2>", "relation": "Other"},
    ],
    "blue_tsv": [
        {"index": "d1", "sentence": "@CHEMICAL$ inhibits @GENE$ .", "label": "CPR:4"},
        {"index": "d2", "sentence": "The @CHEM-GENE$ binds .", "label": "false"},
    ],
}


@pytest.mark.parametrize("row_format", sorted(HF_ROWS))
def test_hf_row_corruptions(row_format):
    """Rows as the ``hf`` reader gets them (a list stands in for a ``datasets.Dataset``)."""

    def read(rows: list, strict: bool) -> ReadResult:
        return READERS.get("hf")("x", format=row_format, dataset=rows, strict=strict)

    assert len(read(HF_ROWS[row_format], True).examples) == 2

    @SETTINGS
    @given(record_corruption(HF_ROWS[row_format]))
    def run(rows: list) -> None:
        check_load(lambda _, strict: read(rows, strict), Path("x"), name="hf:x")

    run()


# ---- line corruptions (tab and block formats, DDI's XML) -------------------------------------


@st.composite
def line_corruption(draw, data: bytes) -> bytes:
    lines = data.decode().split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    kind = draw(
        st.sampled_from(
            ["delete line", "duplicate line", "delete column", "change column", "change line"]
        )
    )
    if kind == "delete line":
        del lines[i]
    elif kind == "duplicate line":
        lines.insert(i, lines[i])
    elif kind == "change line":
        lines[i] = draw(TEXT)
    else:
        cols = lines[i].split("\t")
        j = draw(st.integers(0, len(cols) - 1))
        if kind == "delete column":
            del cols[j]
        else:
            cols[j] = draw(
                TEXT
                | st.sampled_from(
                    ["-", "_", "(0", "0)", "(9)", "(1|0)", "O", "B-Term", "T9", "-1", "", " "]
                )
            )
        lines[i] = "\t".join(cols)
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


@pytest.mark.parametrize("name", ["semeval", "blue_tsv", "deft", "conll2012"])
def test_line_corruptions(workdir, name):
    check_corruptions(workdir, "lines", name, line_corruption(FILES[name][1]))


_ATTR = re.compile(r'(\w+)="([^"]*)"')


@st.composite
def xml_corruption(draw) -> bytes:
    attrs = list(_ATTR.finditer(DDI_XML))
    m = draw(st.sampled_from(attrs))
    kind = draw(st.sampled_from(["delete", "value"]))
    if kind == "delete":
        new = ""
    else:
        value = draw(
            TEXT
            | st.sampled_from(
                ["0-99", "5-3", "0-6;12-19", "-1-2", "x", "", "d0.s0.e9", "true", "TRUE"]
            )
        )
        new = f'{m[1]}="{value.replace("<", "&lt;").replace(chr(34), "")}"'
    return (DDI_XML[: m.start()] + new + DDI_XML[m.end() :]).encode("utf-8", "surrogatepass")


def test_ddi_xml_corruptions(workdir):
    check_corruptions(workdir, "xml", "ddi", xml_corruption(), _ddi_zip)


# ---- the reader bugs these tests found, pinned ------------------------------------------------


def test_found_tacred_words_not_a_list(tmp_path):
    """``token`` of another type was a TypeError (an int) or read as characters (a string)."""
    f = tmp_path / "train.jsonl"
    for bad in (5, "abc", None, ["a", 1]):
        f.write_bytes(_jsonl([{**TACRED[1], "token": bad}]))
        with pytest.raises(
            DataError,
            match=r"train.jsonl:1 \(id r2\): 'token': the words must "
            r"be a list of strings",
        ):
            READERS.get("tacred")(f)


def test_found_overlong_integer_and_bad_utf8_name_the_line(tmp_path):
    """An integer of 4300+ digits was a bare ValueError; a bad byte named no line."""
    f = tmp_path / "train.txt"
    f.write_bytes(_jsonl(OPENNRE) + b'{"h": ' + b"9" * 5000 + b"}\n")
    with pytest.raises(DataError, match=r"train.txt:3: malformed JSON line \(Exceeds the limit"):
        READERS.get("opennre")(f)
    f.write_bytes(_jsonl(OPENNRE) + b'{"text": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"train.txt:3: not UTF-8 text \(byte 0xe9"):
        READERS.get("opennre")(f)


def test_found_damaged_zip(tmp_path):
    """A truncated zip was an EOFError, a damaged member a BadZipFile from zipfile."""
    data = _ddi_zip(DDI_XML.encode())
    f = tmp_path / "ddi.zip"
    f.write_bytes(data[:-30])
    with pytest.raises(DataError, match=r"ddi.zip: not a zip file"):
        READERS.get("ddi")(f)
    i = data.index(b"Aspirin and")
    f.write_bytes(data[:i] + b"X" + data[i + 1 :])  # the stored member's CRC no longer matches
    with pytest.raises(
        DataError,
        match=r"ddi.zip:DDICorpus/Train/DrugBank/x.xml: damaged zip "
        r"member \(Bad CRC-32",
    ):
        READERS.get("ddi")(f)


def test_found_hf_row_that_is_not_a_mapping():
    with pytest.raises(
        DataError,
        match=r"hf:x/train:row 0: expected a mapping of columns, got "
        r"NoneType",
    ):
        READERS.get("hf")("x", format="opennre", dataset=[None, OPENNRE[0]])
