"""NNI model spaces for AutoRC: the spaces M, M1, M2, M3 and the supernet (docs/design.md §3-§4)."""

from search_spaces.spaces import (
    SPACES,
    SearchSpace,
    SearchSpaceError,
    describe_space,
    distinct_space_size,
    fixed_values,
    from_architecture,
    get_space,
    is_valid,
    space_decisions,
    space_size,
    task_space,
    to_architecture,
    valid_space_size,
)
from search_spaces.supernet import AutoRCSupernet

__all__ = [
    "SPACES",
    "AutoRCSupernet",
    "SearchSpace",
    "SearchSpaceError",
    "describe_space",
    "distinct_space_size",
    "fixed_values",
    "from_architecture",
    "get_space",
    "task_space",
    "is_valid",
    "space_decisions",
    "space_size",
    "to_architecture",
    "valid_space_size",
]
