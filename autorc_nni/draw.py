"""Draw an ``Architecture`` as a diagram in the manner of the paper's Figures 5-7.

Bottom to top: the input sequence in the architecture's format, cut into its five parts
(c0, e1, c1, e2, c2, in sentence order); the embeddings (with the entity positional tables when
``posenc=add``); the BERT encoder; the concatenated positional tables (``posenc=concat``); one
pooler box per part; the interaction nodes; the feature vector (one cell per classifier slot);
the classifier. Parts whose vector the classifier never sees are drawn greyed out and dashed.

    autorc arch draw r-bert -o r-bert.png
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

from autorc_nni.architecture import CONTEXT_PARTS, PARTS, Architecture, readable  # noqa: E402

__all__ = ["architecture_figure", "draw_architecture"]

# Sentence order of the parts (c0/c1/c2 are left/middle/right), and their x centres.
ORDER = ("c0", "e1", "c1", "e2", "c2")
X = {p: 1.4 + 2.3 * i for i, p in enumerate(ORDER)}
WIDTH = 2.0  # width of a part column
COLOR = {"e1": "#f4a261", "e2": "#e76f51", "c0": "#8ecae6", "c1": "#90be6d", "c2": "#b8b8ff"}
GREY = "#d9d9d9"
SYMBOL = {"dot": "⊙", "minus": "|−|"}

# What the input sequence looks like in each part, per input format.
TOKENS = {
    "markers": {
        "c0": "[CLS] w …",
        "e1": "[E1] head [/E1]",
        "c1": "… w …",
        "e2": "[E2] tail [/E2]",
        "c2": "… w [SEP]",
    },
    "tokens": {
        "c0": "[CLS] w …",
        "e1": "[ENTITY-1]",
        "c1": "… w …",
        "e2": "[ENTITY-2]",
        "c2": "… w [SEP]",
    },
    "standard": {
        "c0": "[CLS] w …",
        "e1": "head words",
        "c1": "… w …",
        "e2": "tail words",
        "c2": "… w [SEP]",
    },
    "levitated": {  # the markers after the text, at the positions of their spans
        "c0": "[CLS] w …",
        "e1": "[E1][/E1] @ head",
        "c1": "… w …",
        "e2": "[E2][/E2] @ tail",
        "c2": "… w [SEP]",
    },
}


def _box(ax, x, y, w, h, text, face, *, dashed=False, size=9, bold=False, alpha=1.0):
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=face,
            edgecolor="#555555" if dashed else "#222222",
            alpha=alpha,
            linestyle="--" if dashed else "-",
            linewidth=1.0 if dashed else 1.3,
        )
    )
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=size,
        color="#888888" if dashed else "#111111",
        weight="bold" if bold else "normal",
    )


def _arrow(ax, xy0, xy1, color="#333333", style="-|>", lw=1.2, rad=0.0):
    ax.add_patch(
        FancyArrowPatch(
            xy0,
            xy1,
            arrowstyle=style,
            mutation_scale=11,
            color=color,
            linewidth=lw,
            connectionstyle=f"arc3,rad={rad}",
        )
    )


def architecture_figure(arch: Architecture, title: str | None = None) -> Figure:
    """A matplotlib figure of ``arch`` (see the module docstring for the layout)."""
    fig, ax = plt.subplots(figsize=(11.5, 9.0))
    ax.set_xlim(0, 11.8)
    ax.set_ylim(-0.3, 10.3)
    ax.axis("off")
    slots = arch.slots()
    needed = set(arch.needed_parts())
    used = {p for p in PARTS if arch.uses(p)}

    # 1. input sequence, five parts
    y_tok = 0.35
    ax.text(
        0.05, y_tok + 0.62, f"input: {readable('span', arch.span)}", fontsize=10, style="italic"
    )
    for p in ORDER:
        _box(ax, X[p], y_tok, WIDTH, 0.55, TOKENS[arch.span][p], COLOR[p], size=8.5)
        ax.text(X[p], y_tok - 0.47, p, ha="center", va="center", fontsize=9, weight="bold")

    # 2. embeddings (+ positional tables when added there)
    y_emb = 1.75
    add = arch.posenc == "add"
    emb_text = {
        "add": "embeddings  +  entity pos. enc. of e1, e2 (add to embedding)",
        "concat": "embeddings",
        "none": "embeddings (no entity positional encoding)",
    }[arch.posenc]
    _box(ax, 5.9, y_emb, 11.2, 0.5, emb_text, "#ffe8a3" if add else "#f2f2f2", size=9, bold=add)
    for p in ORDER:
        _arrow(ax, (X[p], y_tok + 0.3), (X[p], y_emb - 0.27))

    # 3. encoder
    y_enc = 2.95
    _box(ax, 5.9, y_enc, 11.2, 1.0, "BERT encoder", "#cfe3f7", size=13, bold=True)
    _arrow(ax, (5.9, y_emb + 0.27), (5.9, y_enc - 0.52))

    # 4. positional tables concatenated to the output states
    y_cat = 4.05
    top = y_enc + 0.5
    if arch.posenc == "concat":
        _box(
            ax,
            5.9,
            y_cat,
            11.2,
            0.42,
            "⊕ entity pos. enc. of e1, e2 (concat to output, 2 × 12): parts are H + 24 wide",
            "#ffe8a3",
            size=9,
            bold=True,
        )
        top = y_cat + 0.21

    # 5. poolers
    y_pool = 5.3
    for p in ORDER:
        on = p in needed
        label = f"{p}\n{readable(f'pool_{p}', arch.pooler(p))}" if on else f"{p}\n(not used)"
        if on and p not in used:
            label += "\n(in interactions only)"
        _box(
            ax,
            X[p],
            y_pool,
            WIDTH,
            0.95,
            label,
            COLOR[p] if on else GREY,
            dashed=not on,
            size=9 if label.count("\n") < 2 else 8,
            bold=on,
        )
        _arrow(ax, (X[p], top + 0.02), (X[p], y_pool - 0.5), color="#333333" if on else "#bbbbbb")

    # 6. interactions
    y_feat = 8.6
    nodes: dict[str, tuple[float, float]] = {}
    if "e1e2" in slots:
        nodes["e1e2"] = (X["c1"], 7.6)
    for c in CONTEXT_PARTS:
        if f"{c}e1" in slots:
            nodes[f"{c}e1"] = (X[c] - 0.45, 6.55)
            nodes[f"{c}e2"] = (X[c] + 0.45, 6.55)
    for slot, (x, y) in nodes.items():
        a, b = slot[:2], slot[2:]
        for src in (a, b):
            _arrow(ax, (X[src], y_pool + 0.5), (x, y - 0.27), color=COLOR[src], lw=1.4)
        ax.add_patch(Circle((x, y), 0.27, facecolor="white", edgecolor="#222222", lw=1.3))
        ax.text(
            x,
            y,
            SYMBOL[arch.interaction(slot)],
            ha="center",
            va="center",
            fontsize=10,
            weight="bold",
        )
        ax.text(x + 0.32, y + 0.2, f"{a}×{b}", fontsize=7.5, color="#444444")

    # 7. features: one cell per slot, then the classifier
    n = len(slots)
    cell = min(1.6, 10.8 / n)
    x0 = 5.9 - cell * n / 2
    ax.text(x0 - 0.1, y_feat, "features", ha="right", va="center", fontsize=9, style="italic")
    for i, slot in enumerate(slots):
        cx = x0 + cell * (i + 0.5)
        face = COLOR[slot] if slot in PARTS else "#ffffff"
        text = slot if slot in PARTS else f"{slot[:2]}{SYMBOL[arch.interaction(slot)]}{slot[2:]}"
        _box(ax, cx, y_feat, cell - 0.08, 0.5, text, face, size=8.5)
        start = (
            (X[slot], y_pool + 0.5) if slot in PARTS else (nodes[slot][0], nodes[slot][1] + 0.27)
        )
        _arrow(ax, start, (cx, y_feat - 0.27), color="#333333", lw=1.1)
    y_clf = 9.75
    _box(
        ax,
        5.9,
        y_clf,
        5.2,
        0.6,
        "classifier: dropout + linear → softmax",
        "#e9d8fd",
        size=10,
        bold=True,
    )
    _arrow(ax, (5.9, y_feat + 0.27), (5.9, y_clf - 0.32))

    ax.set_title(title or "architecture", fontsize=13, weight="bold", loc="left")
    fig.tight_layout()
    return fig


def draw_architecture(arch: Architecture, path: str | Path, title: str | None = None) -> Path:
    """Write the diagram of ``arch`` to ``path`` (format from the suffix: .png, .pdf, .svg)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = architecture_figure(arch, title)
    try:
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
