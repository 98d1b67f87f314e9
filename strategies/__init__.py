"""The AutoRC search strategy (docs/design.md §5): LSTM controller, REINFORCE, warm-up, weight
copies.

Names are imported when first used, so the method table (``strategies.methods``) and the
pipeline glue load without NNI and Lightning.
"""

from __future__ import annotations

from autorc_nni.lazy import exports_of, lazy_exports

# module -> the public names it defines
_EXPORTS = exports_of(
    """
    methods: METHODS Method get_method
    errors: SearchError
    module: AutoRCLightningModule SupernetTrainingModule
    loaders: ChildBatches RewardBatches
    autorc: AutoRCStrategy
    controller: Controller Reinforce reinforce_loss
    search: SearchConfig SearchResult run_search search_config_from_dict
    """
)

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
