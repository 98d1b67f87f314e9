"""The protocol layer (docs/protocol.md): candidates from a search, the race, the evaluation of
each candidate (Optuna HPO, seeds), the best model, reports and export. It sits above the
search (``strategies``), so it calls the search directly; the entry points (``trial``) sit above
it. Import rule: ``autorc_nni`` → ``search_spaces`` → ``strategies`` → ``pipeline`` → ``trial``.

Names are imported when first used, so ``import pipeline`` stays cheap.
"""

from __future__ import annotations

from autorc_nni.lazy import exports_of, lazy_exports

# module -> the public names it defines
_EXPORTS = exports_of(
    """
    evaluation: HPOConfig SeedsConfig HPOSpace run_hpo run_seeds evaluate_architecture
                  random_architectures
    race: RaceConfig run_race
    methods: METHOD_TABLE method_names
    events: Event
    protocol: PipelineConfig load_pipeline_config pipeline_config_from_dict run_pipeline
    runner: load_config run
    report: write_report collect_runs table1 table4
    export: export_model
    """
)

# public names that differ from the defining module's name
_RENAMED: dict[str, str] = {"collect_runs": "collect"}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), _RENAMED)
