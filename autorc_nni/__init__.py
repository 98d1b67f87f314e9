"""AutoRC-NNI: architecture search for BERT-based relation classification.

The whole public API is importable from here (``import autorc_nni as ar``). Names are loaded on
first use (PEP 562), so ``import autorc_nni`` stays cheap for the command line and torch,
transformers and datasets are imported only when a name that needs them is touched.
"""

from __future__ import annotations

from autorc_nni.lazy import exports_of, lazy_exports

# module -> the public names it defines
_EXPORTS = exports_of(
    """
    architecture: Architecture ArchitectureError DECISIONS FORMATS FORMAT_NAMES POSENC_NAMES
                    POOLER_NAMES INTERACTION_NAMES readable PARTS PRESETS SLOTS
                    resolve_architecture space_size
    errors: AutoRCError DataError
    config: ConfigError from_dict
    registry: Registry
    data: RelationExample DATASETS READERS DatasetSpec LoadedDataset ReadResult load_dataset
            subsample
    data.detect: detect_format
    stats: compute_stats format_stats
    encoders: ENCODERS SPECIAL_TOKENS load_encoder load_tokenizer
    featurize: Featurizer FeaturizedSplit
    batching: collate make_loader BucketBatchSampler
    poolers: POOLERS Pooler PoolerGroup
    heads: INTERACTIONS
    posencs: POSENCS
    model: RCModel ModelLoadError
    draw: draw_architecture
    metrics: compute_metrics semeval_official
    finetune: TrainConfig train train_config_from_dict
    extract: Extractor extraction_html score_extraction
    tasks: TASKS Task get_task register_task TaskData TaskOptions load_task_data entity_scores
    data.conll2012: CorefDocument read_conll2012 load_conll2012 write_conll2012
    coref_metrics: coref_scores
    data.spert: SpanSentence read_spert_sentences
    importance: decision_importance importance_markdown plot_importance ImportanceError
    """
)

# public names that differ from the defining module's name
_RENAMED: dict[str, str] = {}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), _RENAMED)
