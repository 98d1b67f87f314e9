"""Share a trained model: ``autorc export RUN --out DIR``.

``RUN`` is any directory the protocol or ``autorc train`` wrote:

- a pipeline run (``result.json`` with ``kind: pipeline``): its best learned model (highest mean
  dev score over seeds), and of that model the seed with the highest dev score;
- an evaluated architecture (``result.json`` with ``kind: architecture``: ``autorc repeat``,
  ``transfer``, one ``eval/rank_NN`` of a pipeline): its best seed;
- a training run (``metrics.json`` and ``model/``: ``autorc train``).

``DIR`` receives a folder that ``RCModel.from_pretrained`` loads and a model hub accepts::

    DIR/
      README.md            the model card: front matter (library, tags, datasets, metrics), the
                           architecture as text and diagram, the dataset and its split counts,
                           dev/test scores (mean ± std over seeds, and this model's own), the
                           hyper-parameters, the encoder and the exact command that trained it
      architecture.png     the diagram (autorc_nni.draw)
      architecture.json, labels.json, config.json, heads.safetensors, encoder/ (safetensors),
      tokenizer/           the RCModel directory (save_pretrained)
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from autorc_nni.architecture import Architecture
from autorc_nni.config import flat_defaults
from autorc_nni.errors import AutoRCError
from autorc_nni.files import read_json
from pipeline.evaluation import mean_std

__all__ = ["ExportError", "export_model", "find_best_model", "train_command"]


class ExportError(AutoRCError, ValueError):
    """The directory holds no trained model to export."""


def _read(path: Path) -> dict[str, Any]:
    return read_json(path, ExportError)


def _best_seed_dir(result: dict[str, Any], eval_dir: Path) -> Path:
    devs, seeds = result.get("dev") or [], result.get("seeds") or []
    if not devs or len(devs) != len(seeds):
        raise ExportError(f"{eval_dir}: result.json lists no seed runs (dev / seeds)")
    i = max(range(len(devs)), key=lambda j: (devs[j], -j))  # ties: the first seed
    return eval_dir / "seeds" / f"seed_{seeds[i]}"


def find_best_model(run: str | Path) -> tuple[Path, dict[str, Any] | None]:
    """(training-run directory of the model to export, the evaluated-architecture result or
    None for a bare training run)."""
    run = Path(run)
    if not run.is_dir():
        raise ExportError(f"{run}: no such run directory")
    if (run / "result.json").is_file():
        result = _read(run / "result.json")
        if result.get("kind") == "pipeline":
            best = result.get("best") or {}
            eval_dir = Path(best.get("dir") or "")
            if not eval_dir.is_dir():  # the run directory was moved: find it by rank
                eval_dir = run / "eval" / f"rank_{int(best.get('rank', 1)):02d}"
            return _best_seed_dir(best, eval_dir), best
        if result.get("kind") == "architecture":
            return _best_seed_dir(result, run), result
        raise ExportError(f"{run / 'result.json'}: neither a pipeline nor an architecture result")
    if (run / "metrics.json").is_file():
        return run, None
    raise ExportError(f"{run}: no result.json (a protocol run) nor metrics.json (autorc train)")


def train_command(config: dict[str, Any], arch_file: str = "architecture.json") -> str:
    """The ``autorc train`` command line of a training config (``metrics.json['config']``):
    the main flags, then ``--set`` for every other key that differs from the default."""
    from autorc_nni.finetune import TrainConfig

    flags = {
        "dataset": "--dataset",
        "data_dir": "--data-root",
        "format": "--format",
        "encoder": "--encoder",
        "lr": "--lr",
        "batch_size": "--batch-size",
        "warmup": "--warmup",
        "epochs": "--epochs",
        "seed": "--seed",
        "max_len": "--max-len",
        "limit_train": "--limit-train",
        "limit_eval": "--limit-eval",
    }
    skip = {
        "arch",
        "out",
        "resume",
        "progress",
        "num_threads",
        "device",
        "log_every",
        "checkpoint_every",
        "keep_checkpoint",
        "stop_after_steps",
    }
    defaults = flat_defaults(TrainConfig)
    argv = ["autorc", "train", "--arch", arch_file]
    for key, flag in flags.items():
        value = config.get(key)
        if value is not None and (
            key in ("dataset", "encoder", "lr", "batch_size", "warmup", "epochs", "seed")
            or value != defaults.get(key)
        ):
            if key == "dataset" and config.get("data_dir") is None and "/" in str(value):
                argv += ["--data", str(value)]
                continue
            argv += [flag, str(value)]
    for key, value in config.items():
        if key in flags or key in skip or key not in defaults or value == defaults[key]:
            continue
        argv += ["--set", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
    return shlex.join([*argv, "--out", "runs/retrain"])


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _card(
    arch: Architecture, metrics: dict[str, Any], result: dict[str, Any] | None, source: Path
) -> str:
    cfg = metrics.get("config", {})
    metric = metrics.get("metric", "micro_f1")
    dataset = cfg.get("dataset", "?")
    data = metrics.get("data", {})
    lines = [
        "---",
        "library_name: autorc-nni",
        "pipeline_tag: text-classification",
        "tags: [relation-classification, autorc, neural-architecture-search, bert]",
        f"datasets: [{Path(str(dataset)).name}]",
        f"metrics: [{metric.replace('_', '-')}]",
        "---",
        "",
        f"# {Path(str(dataset)).name} relation classifier (AutoRC-NNI)",
        "",
        f"A BERT-based relation classifier whose architecture is a point of the AutoRC search "
        f"space, trained with AutoRC-NNI. Encoder: `{cfg.get('encoder', '?')}`.",
        "",
        "```python",
        "import autorc_nni as ar",
        'model = ar.RCModel.from_pretrained("PATH/TO/THIS/FOLDER")',
        'model.predict([{"text": "The fire was caused by a cigarette.", '
        '"h": {"pos": [4, 8]}, "t": {"pos": [25, 34]}}])   # [(label, probability)]',
        "```",
        "",
        "## Architecture",
        "",
        "![architecture](architecture.png)",
        "",
        "```",
        arch.describe(),
        "```",
        "",
        "## Data",
        "",
        f"Dataset `{dataset}`; {len(metrics.get('labels', []))} labels.",
        "",
        "| split | examples | featurized | truncated | dropped |",
        "|---|---:|---:|---:|---:|",
    ]
    for split in ("train", "dev", "test"):
        d = data.get(split)
        if d:
            dropped = sum((d.get("dropped") or {}).values())
            lines.append(
                f"| {split} | {d.get('examples')} | {d.get('featurized')} | "
                f"{d.get('truncated')} | {dropped} |"
            )
    lines += [
        "",
        "## Scores",
        "",
        f"Metric: `{metric}` (in %). The model chosen on dev, never on test.",
        "",
    ]
    if result is not None:
        dm, ds = mean_std([float(x) for x in result["dev"]])
        tests = [float(x) for x in result.get("test") or [] if x is not None]
        tm, ts = mean_std(tests) if tests else (None, None)
        lines += [
            "| | dev | test |",
            "|---|---:|---:|",
            f"| mean ± std over {len(result['dev'])} seed(s) | {_pct(dm)} ± {_pct(ds)} | "
            f"{_pct(tm)} ± {_pct(ts)} |",
        ]
    else:
        lines += ["| | dev | test |", "|---|---:|---:|"]
    lines += [
        f"| this model (seed {cfg.get('seed')}) | "
        f"{_pct(metrics.get('dev', {}).get('score'))} | "
        f"{_pct((metrics.get('test') or {}).get('score'))} |",
        "",
    ]
    hp = {
        k: cfg.get(k)
        for k in (
            "lr",
            "batch_size",
            "warmup",
            "epochs",
            "max_len",
            "weight_decay",
            "dropout",
            "grad_clip",
            "seed",
        )
    }
    lines += [
        "## Training",
        "",
        "Hyper-parameters: " + ", ".join(f"`{k}={v}`" for k, v in hp.items()),
        "",
        f"Best epoch on dev: {metrics.get('best_epoch')}.",
        "",
        "The exact command that trained it (from this folder, with the dataset under "
        "`$AUTORC_DATA_DIR`):",
        "",
        "```bash",
        train_command(cfg),
        "```",
        "",
        f"Exported from `{source}`.",
        "",
    ]
    return "\n".join(lines)


def _task_from_metrics(model: Any, metrics: dict[str, Any]) -> None:
    """Give a model saved without its task the task and options its training recorded."""
    from autorc_nni.tasks import get_task

    task = get_task(str(metrics.get("task") or "rc"))
    options = (metrics.get("config") or {}).get("task_options") or {}
    model.task = task.name
    model.task_options = {k: options[k] for k in task.options if k in options}
    if task.name == "rc":
        model.task_options["negative_label"] = metrics.get("negative_label")


def export_model(run: str | Path, out: str | Path) -> Path:
    """Write the shareable model folder of ``run`` (module docstring) to ``out``."""
    from autorc_nni.draw import draw_architecture
    from autorc_nni.model import RCModel

    train_dir, result = find_best_model(run)
    metrics_path, model_dir = train_dir / "metrics.json", train_dir / "model"
    if not metrics_path.is_file() or not model_dir.is_dir():
        raise ExportError(f"{train_dir}: no trained model (metrics.json and model/)")
    metrics = _read(metrics_path)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out}: exists and is not empty; choose a new folder")
    model = RCModel.from_pretrained(model_dir)
    if "task" not in _read(model_dir / "config.json"):  # saved before models kept their task
        _task_from_metrics(model, metrics)
    model.save_pretrained(out)
    draw_architecture(model.arch, out / "architecture.png", title="architecture")
    (out / "README.md").write_text(_card(model.arch, metrics, result, train_dir))
    return out
