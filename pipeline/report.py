"""Results tables and figures from run directories (``autorc report RUN_DIR…``).

What a run directory holds is described in :mod:`pipeline.protocol`; this module reads the
``result.json`` files found under the given directories:

- a *pipeline* result (``kind: pipeline``): one run of a method on a dataset; its performance is
  its best learned model's (highest mean dev score) test scores over seeds;
- an *architecture* result (``kind: architecture``, from ``autorc repeat`` / ``transfer``): one
  architecture through HPO and seeds, e.g. a transfer row ``AR_<source>``.

:func:`table1` lays them out as the paper's Table 1: one row per method (or learned
architecture), one column per dataset, each cell ``mean ± std`` of the dataset's metric in
percent. A cell with one run shows that run's best model over its seeds; a cell with several
independent runs of one method (the paper runs each search five times) shows the mean ± std over
runs of each run's best model (the paper's "search method performance", as in Table 3), marked
with the number of runs. For every dataset searched, a row ``AR_<dataset>`` gives the best
learned model over the AutoRC runs (method ``autorc`` only; highest mean dev score), over its
seeds.

:func:`table2` and :func:`table3` are the paper's ablation tables in the same form: the AutoRC
runs per search space (M, M1, M2, M3) and the search methods (AutoRC, AutoRC1-3, naive ENAS), each
cell every seed of every run pooled, with the spread between the search seeds' runs beside it;
a run that chose its model by the race is its own row (``+ race``). :func:`search_details` lists
each search's controller entropy (first and last step) and its ranked candidates' input formats.

:func:`write_report` writes ``report.md`` (the table, then per run: its best architecture, its
hyper-parameters and scores, and the decision importance of its search and of its evaluated
candidates, :func:`importance_sections`), ``table1.md``, one reward-curve PNG per dataset (from
the search's TensorBoard logs), a diagram of each best architecture (``autorc_nni.draw``) and a
chart of each decision importance.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autorc_nni.architecture import Architecture, readable
from autorc_nni.errors import AutoRCError
from autorc_nni.files import atomic_write_json, atomic_write_text, read_json
from autorc_nni.tasks import get_task
from pipeline.evaluation import mean_std

log = logging.getLogger(__name__)

# The blocks of a table, in order: baselines, the random search, the search methods, then the
# learned models (AR_<dataset>, and their transfers to other datasets). Each run's result.json
# says where it belongs: its ``row`` (pipeline.protocol.ReportRow).
ROW_KINDS = ("preset", "random", "search", "learned")


class ReportError(AutoRCError, ValueError):
    """No results under the given directories, or a result file is malformed."""


@dataclass
class Record:
    """One result: a row label, a dataset, and the best model's scores over seeds."""

    row: str
    dataset: str
    metric: str | None
    task: str
    method: str | None
    test: list[float]
    dev: list[float]
    architecture: dict[str, Any]
    params: dict[str, Any]
    path: Path
    search_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    title: str = ""  # the row's name in tables ("AutoRC"); "" : the row label itself
    order: tuple[int, int] = (len(ROW_KINDS), 0)  # (block, position in it)
    learned: bool = False  # gives the AR_<dataset> row

    @property
    def dev_mean(self) -> float:
        return mean_std(self.dev)[0]

    @property
    def test_mean(self) -> float:
        return mean_std(self.test)[0]


def _load(path: Path) -> dict[str, Any]:
    return read_json(path, ReportError)


def _record(path: Path, data: dict[str, Any]) -> Record:
    kind = data.get("kind")
    best = data.get("best") if kind == "pipeline" else data
    where = str(path)
    if not isinstance(best, dict):
        raise ReportError(f"{where}: no 'best' result")
    for key in ("test", "dev", "architecture"):
        if key not in best:
            raise ReportError(f"{where}: missing {key!r}")
    if any(t is None for t in best["test"]):
        raise ReportError(f"{where}: some seed has no test score")
    search = path.parent / "search"
    # the report row the run recorded; a result without one (an older run) is shown by its
    # label in a block after the others
    row: dict[str, Any] = data["row"] if isinstance(data.get("row"), dict) else {}
    block = row.get("kind")
    # a run on a restricted space is a row of its own: "AutoRC (span: standard)"
    tag = _restrict_tag(data.get("restrict"))
    return Record(
        title=str(row.get("title") or "") + tag if row.get("title") else "",
        order=(
            ROW_KINDS.index(block) if block in ROW_KINDS else len(ROW_KINDS),
            int(row.get("order") or 0),
        ),
        learned=bool(row.get("learned")),
        row=(data.get("label") or data.get("method") or path.parent.name) + tag,
        dataset=dataset_name(data.get("dataset")),
        metric=data.get("metric") or best.get("metric"),
        task=str(
            data.get("task")
            or best.get("task")
            or (best.get("train_setting") or {}).get("task")
            or "rc"
        ),
        method=data.get("method"),
        test=[float(x) for x in best["test"]],
        dev=[float(x) for x in best["dev"]],
        architecture=best["architecture"],
        params=best.get("params", {}),
        path=path.parent,
        search_dir=search if search.is_dir() else None,
        extra={
            "seconds": data.get("seconds") or {},
            "space": _space_cell(data.get("space"), data.get("restrict")),
            "restrict_tag": tag,
            # the seeds stage of the best model: with its seed count, one training's wall time
            "seeds_seconds": (best.get("seconds") or {}).get("seeds"),
            "search_seed": data.get("seed"),
            "select": data.get("select", "shared"),
            # per seed, the test metrics the task reports beside the selection metric
            "test_metrics": best.get("test_metrics") or {},
            # the race entrant the run's model is (the winner, or another finalist)
            "race_entrant": best.get("race_entrant") or best.get("race_winner"),
            "race": path.parent / "race" / "race.json"
            if (path.parent / "race" / "race.json").is_file()
            else None,
            # a pipeline's evaluated candidates: (architecture, mean dev score) for the
            # decision importance over them
            "evaluated": [
                {
                    "architecture": e["architecture"],
                    "dev_mean": e.get("dev_mean"),
                    "race_entrant": e.get("race_entrant"),
                }
                for e in data.get("evaluated") or []
                if "architecture" in e
            ]
            if kind == "pipeline"
            else None,
        },
    )


def _restrict_tag(restrict: Any) -> str:
    """`` (span: standard)`` for a run whose config restricted its space, else ``""``."""
    if not isinstance(restrict, dict) or not restrict:
        return ""
    kept = "; ".join(
        f"{k}: {', '.join(map(str, v if isinstance(v, list) else [v]))}"
        for k, v in restrict.items()
    )
    return f" ({kept})"


def _space_cell(space: Any, restrict: Any) -> Any:
    """``M``, or ``M (span: standard)`` for a run whose config restricted the space."""
    return f"{space}{_restrict_tag(restrict)}" if space else space


def dataset_name(dataset: Any) -> str:
    """How tables name a dataset: a registered name as it is, a folder by its own name
    (``/data/kbp37/`` -> ``kbp37``), never its whole path."""
    name = str(dataset or "?")
    if "/" in name or "\\" in name:
        return Path(name.rstrip("/\\")).name or name
    return name


def collect(run_dirs: list[str | Path]) -> list[Record]:
    """Every result under ``run_dirs``: a pipeline's own evaluations are not counted twice."""
    records: list[Record] = []
    for root in map(Path, run_dirs):
        if not root.exists():
            raise ReportError(f"{root}: no such run directory")
        files = (
            [root / "result.json"]
            if (root / "result.json").is_file()
            else sorted(root.rglob("result.json"))
        )
        pipelines = [f.parent for f in files if _load(f).get("kind") == "pipeline"]
        for f in files:
            inside = any(p != f.parent and p in f.parents for p in pipelines)
            if not inside:
                records.append(_record(f, _load(f)))
    if not records:
        raise ReportError(f"no result.json under {', '.join(map(str, run_dirs))}")
    return records


# --------------------------------------------------------------------------------------------
# Table 1
# --------------------------------------------------------------------------------------------
def fmt_cell(mean: float, std: float, n_runs: int = 1, n_seeds: int | None = None) -> str:
    """``76.73±0.475`` (percent, as the paper prints it), then ``(n runs)`` for a mean over runs;
    one run of one seed has no spread to show: ``85.20 (1 seed)``."""
    if n_runs == 1 and n_seeds == 1:
        return f"{100 * mean:.2f} (1 seed)"
    s = f"{100 * mean:.2f}±{100 * std:.3f}"
    return f"{s} ({n_runs} runs)" if n_runs > 1 else s


def cells(records: list[Record]) -> dict[tuple[str, str], dict[str, Any]]:
    """(row, dataset) -> {"mean", "std", "n_runs", "n_seeds"} as the table shows them."""
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        groups[(r.row, r.dataset)].append(r)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, rs in groups.items():
        if len(rs) == 1:
            m, s = mean_std(rs[0].test)
            out[key] = {"mean": m, "std": s, "n_runs": 1, "n_seeds": len(rs[0].test)}
        else:
            m, s = mean_std([r.test_mean for r in rs])
            out[key] = {
                "mean": m,
                "std": s,
                "n_runs": len(rs),
                "n_seeds": min(len(r.test) for r in rs),
            }
    # the best learned model of each dataset's runs of the method whose row says ``learned``
    # (AutoRC): AR_<dataset>. The ablations and naive ENAS keep their own rows.
    by_ds: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.learned:
            by_ds[r.dataset].append(r)
    for ds, rs in by_ds.items():
        best = max(rs, key=lambda r: r.dev_mean)
        m, s = mean_std(best.test)
        out[(f"AR_{ds}", ds)] = {
            "mean": m,
            "std": s,
            "n_runs": 1,
            "n_seeds": len(best.test),
            "from": str(best.path),
        }
    return out


def _rows(records: list[Record]) -> dict[str, tuple[tuple[int, int], str]]:
    """row label -> (its place, its title), from what the runs recorded."""
    out = {r.row: (r.order, r.title or r.row) for r in records}
    for ds in {r.dataset for r in records if r.learned}:
        out[f"AR_{ds}"] = ((ROW_KINDS.index("learned"), 0), f"AR_{ds}")
    return out


def _row_key(rows: dict[str, tuple[tuple[int, int], str]], row: str) -> tuple[Any, ...]:
    order, title = rows.get(row, ((len(ROW_KINDS), 0), row))
    return (*order, title, row)


def _title(rows: dict[str, tuple[tuple[int, int], str]], row: str) -> str:
    return rows.get(row, ((0, 0), row))[1]


def _in_table(r: Record, table: str) -> bool:
    return get_task(r.task).table == table


def table1(records: list[Record]) -> str:
    """The Markdown table (rows × datasets) of the relation-classification records."""
    return _table([r for r in records if _in_table(r, "table1")])


def table4(records: list[Record]) -> str:
    """The paper's Table 4 for the other entity tasks: span NER and coreference rows (the
    baseline preset and AutoRC) × datasets, the task and metric in each column's head; then,
    per dataset, every metric the task reports (``Task.report_metrics``: MUC, B3, CEAF-e and
    CoNLL F1 for coreference), mean ± std over the best model's seeds."""
    chosen = [r for r in records if _in_table(r, "table4")]
    main = _table(chosen)
    details = [metrics_table(chosen, d) for d in sorted({r.dataset for r in chosen})]
    return "\n".join([main, *[t for t in details if t]]) if main else ""


_METRIC_NAMES = {"muc_f1": "MUC", "b3_f1": "B3", "ceafe_f1": "CEAF-e", "conll_f1": "CoNLL F1"}


def metrics_table(records: list[Record], dataset: str) -> str:
    """Rows × the task's report metrics on ``dataset`` (test, mean ± std over seeds; a row
    with several runs: the mean over runs of their means). Empty when the runs recorded only
    the selection metric."""
    rows: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.dataset == dataset and r.extra.get("test_metrics"):
            rows[r.row].append(r)
    if not rows:
        return ""
    keys = get_task(next(iter(rows.values()))[0].task).report_metrics
    places = _rows(records)
    title = get_task(next(iter(rows.values()))[0].task).title
    head = ["Model", *[_METRIC_NAMES.get(k, k.replace("_", "-")) for k in keys]]
    lines = [
        f"**{dataset}** ({title}, test):",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in sorted(rows, key=lambda row: _row_key(places, row)):
        vals = []
        for k in keys:
            per_run = [
                [v for v in r.extra["test_metrics"].get(k) or [] if v is not None]
                for r in rows[row]
            ]
            if not all(per_run):
                vals.append("-")
            elif len(per_run) == 1:
                m, s = mean_std(per_run[0])
                vals.append(fmt_cell(m, s, 1, len(per_run[0])))
            else:
                m, s = mean_std([mean_std(v)[0] for v in per_run])
                vals.append(fmt_cell(m, s, len(per_run)))
        lines.append(f"| {_title(places, row)} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def _table(records: list[Record]) -> str:
    if not records:
        return ""
    table = cells(records)
    datasets = sorted({d for _, d in table})
    places = _rows(records)
    rows = sorted({r for r, _ in table}, key=lambda row: _row_key(places, row))
    metric = {r.dataset: r.metric for r in records}
    task = {r.dataset: get_task(r.task).title for r in records}

    def head_of(d: str) -> str:
        m = (metric.get(d) or "?").replace("_", "-")
        return f"{d} ({task[d]}, {m})" if task.get(d) else f"{d} ({m})"

    head = ["Model", *[head_of(d) for d in datasets]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        vals = [
            fmt_cell(c["mean"], c["std"], c["n_runs"], c.get("n_seeds"))
            if (c := table.get((row, d)))
            else "-"
            for d in datasets
        ]
        lines.append(f"| {_title(places, row)} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# The ablations: Table 2 (search spaces) and Table 3 (the changes to ENAS)
# --------------------------------------------------------------------------------------------
SPACE_ORDER = ("M", "M1", "M2", "M3")


def _searched(records: list[Record]) -> list[Record]:
    return [
        r for r in records if r.order[0] == ROW_KINDS.index("search") and _in_table(r, "table1")
    ]


def _race_tag(r: Record) -> str:
    """`` + race`` for a run that chose its model by the race, with its finalists when it sent
    more than one to the seeds stage (``race.finalists``): another protocol, another row."""
    if r.extra.get("select") != "race":
        return ""
    n = len(r.extra.get("evaluated") or [])
    return " + race" + (f" ({n} finalists)" if n > 1 else "")


def _race_row(r: Record) -> str:
    """The run's row name with `` + race`` once when it chose its model by the race (its label
    may already say so: ``--set "label=AutoRC + race"``)."""
    name, tag = r.title or r.row, r.extra.get("restrict_tag", "")
    if tag and name.endswith(tag):
        name = name[: -len(tag)]
    return name.split(" + ")[0] + _race_tag(r) + tag


def ablation_cells(
    records: list[Record], key: Callable[[Record], str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """(row, dataset) -> the test scores of every seed of every run of that row pooled
    ({"mean", "std", "n_runs", "n_seeds"}), and the spread between the runs' (search seeds')
    means on its own ({"between"}: their sample std; None for one run)."""
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        groups[(key(r), r.dataset)].append(r)
    out = {}
    for k, rs in groups.items():
        pooled = [t for r in rs for t in r.test]
        m, s = mean_std(pooled)
        out[k] = {
            "mean": m,
            "std": s,
            "n_runs": len(rs),
            "n_seeds": len(pooled),
            "between": mean_std([r.test_mean for r in rs])[1] if len(rs) > 1 else None,
            "search_seeds": sorted({str(r.extra.get("search_seed")) for r in rs}),
        }
    return out


def _ablation_table(records: list[Record], key: Callable[[Record], str], order: list[str]) -> str:
    table = ablation_cells(records, key)
    datasets = sorted({d for _, d in table})
    rows = sorted({r for r, _ in table}, key=lambda r: (order.index(r.split(" + ")[0]), r))
    metric = {r.dataset: r.metric for r in records}
    head = ["Model", *[f"{d} ({(metric.get(d) or '?').replace('_', '-')})" for d in datasets]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        vals = []
        for d in datasets:
            c = table.get((row, d))
            if c is None:
                vals.append("-")
                continue
            cell = f"{100 * c['mean']:.2f}±{100 * c['std']:.3f}"
            spread = (
                f"; between search seeds ±{100 * c['between']:.2f}"
                if c["between"] is not None
                else ""
            )
            vals.append(f"{cell} ({c['n_runs']} runs, {c['n_seeds']} models{spread})")
        lines.append(f"| {row} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def table2(records: list[Record]) -> str:
    """Table 2 form: the search spaces (AutoRC runs of M, M1, M2, M3) × datasets; "" when the
    records hold fewer than two spaces. A race run is its own row (``M + race``)."""
    rs = [r for r in _searched(records) if r.method == "autorc" and r.extra.get("space")]
    if len({r.extra["space"] for r in rs}) < 2:
        return ""
    order = [*SPACE_ORDER, *sorted({r.extra["space"] for r in rs} - set(SPACE_ORDER))]
    return _ablation_table(rs, lambda r: f"{r.extra['space']}{_race_tag(r)}", order)


def table3(records: list[Record]) -> str:
    """Table 3 form: the search methods (AutoRC, AutoRC1-3, naive ENAS) × datasets, each run's
    own space; "" when the records hold fewer than two methods."""
    rs = _searched(records)
    if len({r.method for r in rs}) < 2:
        return ""
    places = sorted({(r.order, r.title or r.row) for r in rs})
    order = list(dict.fromkeys(t for _, t in places))
    return _ablation_table(rs, _race_row, order)


def search_details(records: list[Record]) -> list[str]:
    """Markdown lines: per searched run, the controller's entropy at the start and the end of
    the search (TensorBoard ``search/entropy``) and the input formats of its ranked candidates."""
    rows = []
    for r in sorted(_searched(records), key=lambda r: (r.dataset, r.row, str(r.path))):
        if r.search_dir is None:
            continue
        ent = read_scalars(r.search_dir, "entropy")
        tag = next((t for t in sorted(ent) if t.endswith("/entropy")), None)
        entropy = f"{ent[tag][0][1]:.2f} → {ent[tag][-1][1]:.2f}" if tag else "-"
        ranking = r.search_dir / "ranking.json"
        ranked: list[Any] = json.loads(ranking.read_text()) if ranking.is_file() else []
        spans = [c["architecture"]["span"] for c in ranked]
        formats = ", ".join(f"{s} {spans.count(s)}" for s in sorted(set(spans))) or "-"
        rows.append(
            f"| {_race_row(r)} | {r.extra.get('space')} | {r.dataset} | "
            f"{r.extra.get('search_seed')} | {entropy} | {formats} | "
            f"{readable('span', r.architecture.get('span', '?'))} | `{r.path.name}` |"
        )
    if not rows:
        return []
    return [
        "## The searches",
        "",
        "Per searched run: the controller's entropy at the first and the last search step, the "
        "input formats of its ranked candidates (count), and the input format of its model.",
        "",
        "| model | space | dataset | search seed | entropy | ranked candidates' formats | "
        "model's format | run |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


# --------------------------------------------------------------------------------------------
# Reward curves and diagrams
# --------------------------------------------------------------------------------------------
def read_scalars(logdir: Path, match: str = "reward") -> dict[str, list[tuple[int, float]]]:
    """TensorBoard scalars whose tag contains ``match``: tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: dict[str, list[tuple[int, float]]] = {}
    for events in sorted({p.parent for p in logdir.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            if match in tag:
                out.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    for tag in out:
        out[tag].sort()
    return out


def _smooth(values: list[float], weight: float = 0.9) -> list[float]:
    out, last = [], None
    for v in values:
        last = v if last is None else weight * last + (1 - weight) * v
        out.append(last)
    return out


def plot_rewards(records: list[Record], out_dir: Path) -> list[Path]:
    """One PNG per dataset: every search run's reward (EMA-smoothed) per search step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_ds: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.search_dir is not None:
            by_ds[r.dataset].append(r)
    written = []
    for ds, rs in sorted(by_ds.items()):
        fig, ax = plt.subplots(figsize=(7, 4))
        drawn = 0
        for r in rs:
            scalars = read_scalars(r.search_dir)  # type: ignore[arg-type]
            tag = next((t for t in sorted(scalars) if t.split("/")[-1] == "reward"), None)
            if tag is None:
                continue
            steps, values = zip(*scalars[tag], strict=True)
            ax.plot(steps, _smooth(list(values)), label=f"{r.row} ({r.path.name})")
            drawn += 1
        if drawn:
            ax.set_xlabel("search step")
            ax.set_ylabel("reward (EMA 0.9)")
            ax.set_title(f"controller reward on {ds}")
            ax.legend(fontsize="small")
            path = out_dir / f"rewards_{_slug(ds)}.png"
            fig.tight_layout()
            fig.savefig(path, dpi=100)
            written.append(path)
        plt.close(fig)
    return written


def draw_architecture(arch: Architecture, path: Path, title: str | None = None) -> Path:
    """A diagram of ``arch`` (``autorc_nni.draw``, in the manner of the paper's Figures 5-7)."""
    from autorc_nni.draw import draw_architecture as draw

    return Path(draw(arch, path, title=title))


def one_training_seconds(records: list[Record]) -> dict[str, float]:
    """Per dataset, the mean wall time of one training of a hand-made baseline (a preset run's
    seeds stage over its number of seeds): the unit of a method's cost."""
    per: dict[str, list[float]] = defaultdict(list)
    for r in records:
        s = r.extra.get("seeds_seconds")
        if r.order[0] == ROW_KINDS.index("preset") and s and r.test:
            per[r.dataset].append(float(s) / len(r.test))
    return {ds: sum(v) / len(v) for ds, v in per.items()}


def wall_time_table(records: list[Record]) -> list[str]:
    """Markdown lines: the wall time of each run's stages (from the ``seconds`` its results
    record), so the cost of a method is read beside its score."""
    rows = []
    places = _rows(records)
    unit = one_training_seconds(records)
    for r in sorted(records, key=lambda r: (r.dataset, _row_key(places, r.row), str(r.path))):
        sec = r.extra.get("seconds") or {}
        if not sec:
            continue
        search, race = sec.get("search"), sec.get("race")
        evaluation = sec.get("evaluation", sum(v for v in sec.values() if v))
        total = (search or 0) + (race or 0) + (evaluation or 0)
        times = f"{total / unit[r.dataset]:.1f}" if unit.get(r.dataset) else "-"
        rows.append(
            f"| {_title(places, r.row)} | {r.dataset} | "
            f"{'-' if not search else f'{search / 60:.1f}'} | "
            f"{'-' if not race else f'{race / 60:.1f}'} | {evaluation / 60:.1f} | "
            f"{total / 60:.1f} | {times} | `{r.path.name}` |"
        )
    if not rows:
        return []
    return [
        "## Wall time",
        "",
        "Minutes of wall time per stage (the processes that ran it; a stage found finished "
        "on a resume counts 0), and the total as a multiple of one hand-made baseline's "
        "training on that dataset (its seeds stage over its seeds; `-` without a baseline run).",
        "",
        "| model | dataset | search | race | evaluation (HPO + seeds) | total | × one training "
        "| run |",
        "|---|---|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
    ]


# --------------------------------------------------------------------------------------------
# Decision importance
# --------------------------------------------------------------------------------------------
MIN_EVALUATED_FOR_IMPORTANCE = 3  # fewer evaluated candidates: the report says too few to say


def importance_sections(r: Record, out_dir: Path, stem: str) -> tuple[list[str], dict[str, Any]]:
    """Markdown lines on the decision importance of run ``r`` and what they were made from.

    - the search's (``search/importance.json``, written by the search over its ranked
      candidates' shared-weight dev scores): its table, and its chart copied (or drawn) to
      ``out_dir/<stem>_search.png``;
    - over a pipeline's evaluated candidates' mean dev scores (after HPO and seeds), computed
      here with fANOVA when there are at least ``MIN_EVALUATED_FOR_IMPORTANCE`` of them (chart
      ``<stem>_evaluated.png``); with fewer, a line saying there are too few to say.

    Returns (lines, {"search": result | None, "evaluated": result | None, "charts": [paths]}).
    """
    from autorc_nni.architecture import DECISIONS
    from autorc_nni.importance import decision_importance, importance_markdown, plot_importance

    lines: list[str] = []
    info: dict[str, Any] = {"search": None, "evaluated": None, "charts": []}
    path = r.search_dir / "importance.json" if r.search_dir is not None else None
    if path is not None and path.is_file():
        result = _load(path)
        try:
            table = importance_markdown(result)
        except (KeyError, TypeError) as e:
            raise ReportError(f"{path}: not a decision-importance result ({e!r})") from None
        chart = out_dir / f"{stem}_search.png"
        png = path.with_suffix(".png")
        if png.is_file():
            shutil.copyfile(png, chart)
        else:
            plot_importance(result, chart)
        lines += [
            "#### Decision importance in the search",
            "",
            "Over the search's ranked candidates, scored on dev with the shared weights.",
            "",
            table,
            f"![decision importance in the search]({chart.name})",
            "",
        ]
        info["search"] = result
        info["charts"].append(chart)
    evaluated = r.extra.get("evaluated")
    if evaluated is None or (len(evaluated) < 2 and r.search_dir is None):
        return lines, info  # not a pipeline run, or one fixed architecture (a baseline)
    lines += ["#### Decision importance over the evaluated candidates", ""]
    if len(evaluated) < MIN_EVALUATED_FOR_IMPORTANCE:
        lines += [
            f"{len(evaluated)} evaluated candidate{'s' if len(evaluated) != 1 else ''}: "
            "too few evaluated candidates to say which decision explains the dev score "
            f"(at least {MIN_EVALUATED_FOR_IMPORTANCE} are needed).",
            "",
        ]
        return lines, info
    rows = [
        (
            Architecture.from_dict(e["architecture"], where=str(r.path / "result.json")),
            e["dev_mean"],
        )
        for e in evaluated
    ]
    result = decision_importance(rows, DECISIONS, evaluator="fanova", seed=0)
    result["score"] = "mean dev score over seeds, after HPO"
    chart = plot_importance(
        result,
        out_dir / f"{stem}_evaluated.png",
        title=f"decision importance — evaluated candidates (n = {result['n']})",
    )
    lines += [
        "Over the evaluated candidates' mean dev scores (after HPO, over seeds).",
        "",
        importance_markdown(result),
        f"![decision importance over the evaluated candidates]({chart.name})",
        "",
    ]
    info["evaluated"] = result
    info["charts"].append(chart)
    return lines, info


def race_section(r: Record, out_dir: Path, stem: str) -> list[str]:
    """Markdown lines on a run's race (``race/race.json``): every entrant's dev score per rung
    and where it stopped, as a table and a plot; the winner, its origin, and the race's cost."""
    path = r.extra.get("race")
    if path is None:
        return []
    race = _load(path)
    try:
        rungs, entrants = race["rungs"], race["entrants"]
        winner = entrants[race["winner"]]
    except (KeyError, IndexError, TypeError) as err:
        raise ReportError(f"{path}: not a race result ({err!r})") from None
    head = [f"{100 * b:.0f}%" for b in rungs]
    lines = [
        "#### The race",
        "",
        f"{len(entrants)} entrants trained stand-alone (one setting: "
        f"{json.dumps(race.get('setting'))}, training seed {race.get('train_seed')}) and raced "
        f"by successive halving on dev (eta = {race.get('eta')}; rungs as shares of the full "
        f"training). Cost: {race.get('cost_trainings')} full trainings, "
        f"{(race.get('train_seconds') or 0) / 60:.1f} min of training.",
        "",
        "| entrant | origin | shared-weight score | "
        + " | ".join(f"dev @ {h}" for h in head)
        + " | stopped |",
        "|---|---|---:|" + "---:|" * len(rungs) + "---|",
    ]
    for i, e in enumerate(entrants):
        devs = [f"{100 * d:.2f}" for d in e["dev"]] + ["-"] * (len(rungs) - len(e["dev"]))
        if i == race["winner"]:
            devs[-1] = f"**{devs[-1]}**"
        score = "-" if e.get("search_score") is None else f"{100 * e['search_score']:.2f}"
        stop = "winner" if i == race["winner"] else f"after {head[e['stopped_at']]}"
        name = e["name"] + (f" (= {', '.join(e['also'])})" if e.get("also") else "")
        lines.append(
            f"| {name}: {e['short']} | {e['origin']} | {score} | "
            + " | ".join(devs)
            + f" | {stop} |"
        )
    lines += ["", *_race_verdict(r, race, winner), ""]
    chart = _plot_race(race, out_dir / f"{stem}.png", f"race on {r.dataset}")
    lines += [f"![race]({chart.name})", ""]
    return lines


def _race_verdict(r: Record, race: dict[str, Any], winner: dict[str, Any]) -> list[str]:
    """Who won the race and, with several finalists, which of them the seeds stage chose."""
    names = [race["entrants"][i]["name"] for i in race.get("finalists") or [race["winner"]]]
    chosen = next((e for e in race["entrants"] if e["name"] == r.extra.get("race_entrant")), winner)
    lines = []
    if len(names) > 1:
        devs = {e.get("race_entrant"): e.get("dev_mean") for e in r.extra.get("evaluated") or []}
        seeds = ", ".join(
            f"{n} {100 * devs[n]:.2f}" if devs.get(n) is not None else n for n in names
        )
        lines += [
            f"{winner['name']} ({winner['origin']}) won the race on its training seed; the "
            f"best {len(names)} at the full training went on to the seeds stage, and the run's "
            f"model is the one with the best mean dev over the seeds ({seeds}).",
            "",
        ]
    what = "is the run's model" if len(names) > 1 else "won the race"
    if chosen["origin"] in ("preset", "file"):
        lines.append(
            f"**The hand-made design {chosen['name']} {what}**: on this dataset and budget no "
            "searched candidate trained better stand-alone, so it is the model to use (the "
            "right answer for this data, not a failure of the tool)."
        )
    else:
        lines.append(f"**{chosen['name']} ({chosen['origin']}) {what}.**")
    return lines


def _plot_race(race: dict[str, Any], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, e in enumerate(race["entrants"]):
        xs = race["rungs"][: len(e["dev"])]
        style = "-" if e["origin"] not in ("preset", "file") else "--"
        ax.plot(
            xs,
            [100 * d for d in e["dev"]],
            style,
            marker="o",
            linewidth=3 if i == race["winner"] else 1,
            label=f"{e['name']} ({e['origin']})",
        )
    ax.set_xscale("log")
    ax.set_xticks(race["rungs"], [f"{100 * b:.0f}%" for b in race["rungs"]])
    ax.set_xlabel("share of the full training")
    ax.set_ylabel("dev score (%)")
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(s).name or s)


_RESULTS_INTRO = (
    "Test score (the dataset's metric, in %) of the best learned model of each run, mean ± "
    "sample std over seeds; a cell over several runs is the mean ± std over runs of each run's "
    "best model. `AR_<dataset>`: the best learned model over the AutoRC runs (the method whose "
    "row is marked learned: `autorc`, not its ablations) on that dataset (chosen on dev)."
)
_TABLE4_NOTE = (
    "Span NER: entity-level micro-F1 (start, end and type match). Coreference: MUC F1 over gold "
    "mentions (mention pairs, best-first clustering); the paper's SpanBERT row predicts its "
    "mentions, so the figures are not comparable."
)
_ABLATION_NOTE = (
    "Test score in %: every seed of every run of the row pooled (mean ± std over all models), "
    "and on its own the spread between the search seeds' runs (the sample std of their means): "
    "the noise that decides whether an ordering means anything. Rows with `+ race` chose their "
    "model by the race (`select: race`), the others as the paper does (`select: shared`)."
)


def _write_tables(records: list[Record], out: Path, made: str) -> dict[str, str]:
    """Tables 1-4 (each ``""`` without rows for it), each written to ``tableN.md`` with the
    line ``made`` under it, and ``table1.json``; returns them by name."""
    tables = {
        "table1": table1(records),
        "table2": table2(records),
        "table3": table3(records),
        "table4": table4(records),
    }
    for name, table in tables.items():
        if table:
            atomic_write_text(out / f"{name}.md", table + made)
    atomic_write_json(out / "table1.json", {f"{r}|{d}": c for (r, d), c in cells(records).items()})
    return tables


def _tables_section(tables: dict[str, str], made: str) -> list[str]:
    """``report.md``'s opening: the tables that have rows, each with its note."""
    lines = ["# Results", "", _RESULTS_INTRO, ""]
    sections = [
        ("table1", "## Table 1: relation classification", None),
        ("table4", "## Table 4: other entity tasks", _TABLE4_NOTE),
        ("table2", "## Table 2: search spaces", _ABLATION_NOTE),
        ("table3", "## Table 3: the changes to ENAS", _ABLATION_NOTE),
    ]
    for name, title, note in sections:
        if tables[name]:
            lines += [title, ""] + ([note, ""] if note else []) + [tables[name], made]
    return lines


def _run_section(
    i: int, r: Record, out: Path, places: dict[str, tuple[tuple[int, int], str]]
) -> tuple[list[str], Path, dict[str, Any]]:
    """One run's section of ``report.md`` (its scores, architecture and diagram, race and
    decision importance), the diagram's path and the run's importance figures."""
    arch = Architecture.from_dict(r.architecture, where=str(r.path / "result.json"))
    m, s = mean_std(r.test)
    dm, ds_ = mean_std(r.dev)
    title = _title(places, r.row)
    lines = [
        f"### {title} on {r.dataset} — `{r.path}`",
        "",
        f"- test: {fmt_cell(m, s)} over {len(r.test)} seed(s); dev: {fmt_cell(dm, ds_)}",
        f"- hyper-parameters: {json.dumps(r.params)}",
        "",
        "```",
        arch.describe(),
        "```",
        "",
    ]
    stem = f"{i:02d}_{_slug(r.row)}_{_slug(r.dataset)}"
    pic = draw_architecture(arch, out / f"arch_{stem}.png", title=f"{title} on {r.dataset}")
    lines += [f"![architecture]({pic.name})", ""]
    lines += race_section(r, out, f"race_{stem}")
    imp_lines, imp = importance_sections(r, out, f"importance_{stem}")
    return lines + imp_lines, pic, imp


def write_report(
    run_dirs: list[str | Path], out_dir: str | Path, command: str | None = None
) -> dict[str, Any]:
    """Write ``report.md``, ``table1.md``, ``table1.json``, reward PNGs, diagrams and
    decision-importance charts. ``command``: how the runs and this report were made, written
    under both tables (default: the ``autorc report`` command for these directories)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = collect(run_dirs)
    if command is None:
        command = "autorc report " + " ".join(map(str, run_dirs)) + f" --out {out}"
    made = f"\nReproduce: `{command}`\n"
    tables = _write_tables(records, out, made)
    curves = plot_rewards(records, out)
    lines = _tables_section(tables, made) + search_details(records)
    for c in curves:
        lines += [f"![{c.stem}]({c.name})", ""]
    lines += wall_time_table(records)
    lines += ["## Runs", ""]
    diagrams = []
    importance: dict[str, dict[str, Any]] = {}
    places = _rows(records)
    for i, r in enumerate(sorted(records, key=lambda r: (r.dataset, _row_key(places, r.row)))):
        run_lines, pic, imp = _run_section(i, r, out, places)
        lines += run_lines
        diagrams.append(pic)
        if imp["search"] is not None or imp["evaluated"] is not None:
            importance[str(r.path)] = imp
    atomic_write_text(out / "report.md", "\n".join(lines))
    return {
        "report": out / "report.md",
        "table": tables["table1"] or tables["table4"],
        **tables,
        "curves": curves,
        "diagrams": diagrams,
        "records": records,
        "importance": importance,
    }
