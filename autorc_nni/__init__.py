"""AutoRC-NNI: architecture search for BERT-based relation classification.

The whole public API is importable from here (``import autorc_nni as ar``). Names are loaded on
first use (PEP 562), so ``import autorc_nni`` stays cheap for the command line and torch,
transformers and datasets are imported only when a name that needs them is touched.
"""

from __future__ import annotations

from autorc_nni.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # the search space as a record
    "Architecture": "architecture",
    "ArchitectureError": "architecture",
    "DECISIONS": "architecture",
    "FORMATS": "architecture",
    "FORMAT_NAMES": "architecture",
    "POSENC_NAMES": "architecture",
    "POOLER_NAMES": "architecture",
    "INTERACTION_NAMES": "architecture",
    "readable": "architecture",
    "PARTS": "architecture",
    "PRESETS": "architecture",
    "SLOTS": "architecture",
    "resolve_architecture": "architecture",
    "space_size": "architecture",
    # plumbing
    "AutoRCError": "errors",
    "DataError": "errors",
    "ConfigError": "config",
    "from_dict": "config",
    "Registry": "registry",
    # data
    "RelationExample": "data",
    "DATASETS": "data",
    "READERS": "data",
    "DatasetSpec": "data",
    "LoadedDataset": "data",
    "ReadResult": "data",
    "load_dataset": "data",
    "detect_format": "data.detect",
    "compute_stats": "stats",
    "format_stats": "stats",
    # encoders, featurization, batching
    "ENCODERS": "encoders",
    "SPECIAL_TOKENS": "encoders",
    "load_encoder": "encoders",
    "load_tokenizer": "encoders",
    "Featurizer": "featurize",
    "FeaturizedSplit": "featurize",
    "collate": "batching",
    "make_loader": "batching",
    "BucketBatchSampler": "batching",
    # model
    "POOLERS": "poolers",
    "Pooler": "poolers",
    "PoolerGroup": "poolers",
    "INTERACTIONS": "heads",
    "POSENCS": "posencs",
    "RCModel": "model",
    "ModelLoadError": "model",
    "draw_architecture": "draw",
    # training and evaluation
    "compute_metrics": "metrics",
    "semeval_official": "metrics",
    "TrainConfig": "finetune",
    "train": "finetune",
    "train_config_from_dict": "finetune",
    # other entity tasks: span NER and coreference (docs/tasks.md)
    "Extractor": "extract",
    "extraction_html": "extract",
    "score_extraction": "extract",
    "TASKS": "tasks",
    "Task": "tasks",
    "get_task": "tasks",
    "register_task": "tasks",
    "TaskData": "tasks",
    "TaskOptions": "tasks",
    "load_task_data": "tasks",
    "entity_scores": "tasks",
    "CorefDocument": "data.conll2012",
    "read_conll2012": "data.conll2012",
    "load_conll2012": "data.conll2012",
    "write_conll2012": "data.conll2012",
    "coref_scores": "coref_metrics",
    "SpanSentence": "data.spert",
    "read_spert_sentences": "data.spert",
    # decision importance (optuna evaluators over scored architectures)
    "decision_importance": "importance",
    "importance_markdown": "importance",
    "plot_importance": "importance",
    "ImportanceError": "importance",
    "subsample": "data",
}

# public names that differ from the defining module's name
_RENAMED: dict[str, str] = {}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), _RENAMED)
