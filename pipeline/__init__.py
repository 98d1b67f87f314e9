"""The protocol layer (docs/protocol.md): candidates from a search, the race, the evaluation of
each candidate (Optuna HPO, seeds), the best model, reports and export. It sits above the
search (``strategies``), so it calls the search directly; the entry points (``trial``) sit above
it. Import rule: ``autorc_nni`` → ``search_spaces`` → ``strategies`` → ``pipeline`` → ``trial``.

Names are imported when first used, so ``import pipeline`` stays cheap.
"""

from __future__ import annotations

from autorc_nni.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # the evaluation of one architecture
    "HPOConfig": "evaluation",
    "SeedsConfig": "evaluation",
    "HPOSpace": "evaluation",
    "run_hpo": "evaluation",
    "run_seeds": "evaluation",
    "evaluate_architecture": "evaluation",
    "random_architectures": "evaluation",
    # the race (select: race)
    "RaceConfig": "race",
    "run_race": "race",
    # one run of the protocol
    "METHOD_TABLE": "methods",
    "method_names": "methods",
    "Event": "events",
    "PipelineConfig": "protocol",
    "load_pipeline_config": "protocol",
    "pipeline_config_from_dict": "protocol",
    "run_pipeline": "protocol",
    "load_config": "runner",
    "run": "runner",
    # reports and export
    "write_report": "report",
    "collect_runs": "report",
    "table1": "report",
    "table4": "report",
    "export_model": "export",
}

# public names that differ from the defining module's name
_RENAMED: dict[str, str] = {"collect_runs": "collect"}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), _RENAMED)
