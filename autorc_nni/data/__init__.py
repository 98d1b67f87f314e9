"""The data package: raw benchmark files -> ``RelationExample`` records, datasets and stats."""

from autorc_nni.data.datasets import (
    DATASETS,
    SPLITS,
    DatasetSpec,
    LoadedDataset,
    load_dataset,
    register_dataset,
    resolve_data_root,
    split_by_document,
    subsample,
)
from autorc_nni.data.readers import (
    READERS,
    ROW_FORMATS,
    ReadResult,
    char_to_word_span,
    rows_to_examples,
    word_spans,
)
from autorc_nni.data.record import RelationExample

__all__ = [
    "DATASETS",
    "SPLITS",
    "DatasetSpec",
    "LoadedDataset",
    "load_dataset",
    "register_dataset",
    "resolve_data_root",
    "split_by_document",
    "subsample",
    "READERS",
    "ROW_FORMATS",
    "ReadResult",
    "RelationExample",
    "char_to_word_span",
    "rows_to_examples",
    "word_spans",
]
