"""NNI model spaces for AutoRC: the spaces M, M1, M2, M3 and the supernet (docs/design.md §3-§4).

Names are imported when first used: the spaces as data (``search_spaces.spaces``) load without
NNI; the supernet (``search_spaces.supernet``) brings NNI in.
"""

from __future__ import annotations

from autorc_nni.lazy import exports_of, lazy_exports

# module -> the public names it defines
_EXPORTS = exports_of(
    """
    spaces: SPACES SearchSpace SearchSpaceError describe_space distinct_space_size fixed_values
              from_architecture get_space task_space restrict_space canonical_restrict
              is_valid space_decisions
              space_size to_architecture valid_space_size
    supernet: AutoRCSupernet
    candidates: CANDIDATES
    copies: WeightCopies
    child: to_rcmodel
    """
)

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
