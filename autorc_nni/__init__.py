"""AutoRC-NNI: architecture search for BERT-based relation classification.

The whole public API is importable from here.
"""

from autorc_nni.architecture import (
    DECISIONS,
    FORMATS,
    PARTS,
    PRESETS,
    SLOTS,
    Architecture,
    ArchitectureError,
    resolve_architecture,
    space_size,
)
from autorc_nni.config import ConfigError, from_dict
from autorc_nni.data.record import RelationExample
from autorc_nni.registry import Registry

__all__ = [
    "DECISIONS",
    "FORMATS",
    "PARTS",
    "PRESETS",
    "SLOTS",
    "Architecture",
    "ArchitectureError",
    "ConfigError",
    "RelationExample",
    "Registry",
    "from_dict",
    "resolve_architecture",
    "space_size",
]
