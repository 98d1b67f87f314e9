"""``autorc arch draw`` and the diagram it writes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from autorc_nni.architecture import POOLER_NAMES, PRESETS, Architecture
from autorc_nni.draw import architecture_figure, draw_architecture
from trial.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def texts(arch: Architecture) -> list[str]:
    import matplotlib.pyplot as plt

    fig = architecture_figure(arch)
    try:
        return [t.get_text() for t in fig.axes[0].texts]
    finally:
        plt.close(fig)


def test_bert_entity_diagram_content():
    t = "\n".join(texts(PRESETS["bert-entity"]))
    assert "[E1] head [/E1]" in t and "BERT encoder" in t
    assert t.count("start pool") == 2  # e1 and e2
    assert t.count("(not used)") == 3  # c0 c1 c2
    assert "no entity positional encoding" in t
    assert "⊙" not in t and "|−|" not in t


def test_interactions_and_posenc_are_drawn():
    # e2 and c2 are read only through the interactions
    arch = replace(Architecture.using("tokens", "concat", e1="dr"), pool_c2="max")
    arch = replace(arch, inter_e1e2="minus", inter_c2="dot")
    t = texts(arch)
    joined = "\n".join(t)
    assert "[ENTITY-1]" in joined and "concat to output" in joined
    assert POOLER_NAMES["dr"] in joined and "max pool" in joined
    assert "e1|−|e2" in t and "c2⊙e1" in t and "c2⊙e2" in t  # the feature cells
    assert "(in interactions only)" in joined  # e2 and c2 feed interactions only
    assert "add to embedding" in "\n".join(texts(Architecture(posenc="add")))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_draw_writes_png(tmp_path, preset):
    path = draw_architecture(PRESETS[preset], tmp_path / "sub" / f"{preset}.png", title=preset)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000


def test_cli_draw(tmp_path, capsys):
    arch = Architecture(posenc="add", use_c1=True, inter_c0="minus")
    arch.save(tmp_path / "a.json")
    assert main(["arch", "draw", str(tmp_path / "a.json"), "-o", str(tmp_path / "a.svg")]) == 0
    assert (tmp_path / "a.svg").read_text().lstrip().startswith("<?xml")
    assert "wrote" in capsys.readouterr().out
    assert main(["arch", "draw", "r-bert", "-o", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").read_bytes().startswith(PNG_MAGIC)


def test_cli_draw_bad_architecture(tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"span": "markers", "pool_e1": "mean"}')
    assert main(["arch", "draw", str(tmp_path / "bad.json"), "-o", str(tmp_path / "b.png")]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "pool_e1" in err and "'mean'" in err
    assert not (tmp_path / "b.png").exists()
