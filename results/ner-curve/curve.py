"""The budget curve of ``autorc train`` runs: dev score after every epoch, the best epoch's
test score and the training time, from each run's ``metrics.json``; writes ``curve.md`` and
``curve.png`` into ``--out``.

    .venv/bin/python results/ner-curve/curve.py RUN [RUN ...] --out results/ner-curve
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def setting(m: dict) -> str:
    """A run's budget in words: epochs, negatives a sentence, batch size, lr."""
    c = m["config"]
    neg = (c.get("task_options") or {}).get("neg_per_sentence")
    return f"{c['epochs']} epochs, {neg} negatives, batch {c['batch_size']}, lr {c['lr']:g}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--command", default="", help="the command that made the runs, for the page")
    args = p.parse_args()
    runs = []
    for run in args.runs:
        path = run / "metrics.json"
        if not path.is_file():
            print(f"{run}: no metrics.json yet (unfinished), left out")
            continue
        runs.append((run, json.loads(path.read_text())))
    if not runs:
        raise SystemExit("no finished run")
    metric = runs[0][1]["metric"]
    lines = [
        "# Budget curve",
        "",
        f"Reproduce: `{args.command}`",
        "",
        f"Each run's dev {metric} after every epoch (the whole dev set), and the test score of "
        "its best epoch's model (the whole test set).",
        "",
    ]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for run, m in runs:
        hist = m["history"]
        epochs = [h["epoch"] for h in hist]
        dev = [100 * h["dev_score"] for h in hist]
        ax.plot(epochs, dev, marker="o", label=setting(m))
        t = m["throughput"]
        test = m["test"]
        lines += [
            f"## {setting(m)}",
            "",
            f"Run `{run.name}`: {t['train_sentences']:,} training statements in "
            f"{t['train_seconds'] / 60:.1f} min of training "
            f"({t['train_sentences_per_s']:.1f} statements/s); best epoch {m['best_epoch']}: "
            f"test {metric} **{100 * test['score']:.2f}** (precision "
            f"{100 * test.get('micro_p', float('nan')):.1f}, recall "
            f"{100 * test.get('micro_r', float('nan')):.1f}), dev {100 * m['dev']['score']:.2f}.",
            "",
            "| epoch | dev | training loss |",
            "|---:|---:|---:|",
            *(
                f"| {h['epoch']} | {100 * h['dev_score']:.2f} | {h['train_loss']:.4f} |"
                for h in hist
            ),
            "",
        ]
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"dev {metric} (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "curve.png", dpi=120)
    lines += ["![dev score per epoch](curve.png)", ""]
    (args.out / "curve.md").write_text("\n".join(lines))
    print(f"written: {args.out / 'curve.md'}, {args.out / 'curve.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
