"""The AutoRC search strategy (docs/design.md §5): LSTM controller, REINFORCE, warm-up, weight
copies.

Names are imported when first used, so the method table (``strategies.methods``) and the
pipeline glue load without NNI and Lightning.
"""

from __future__ import annotations

from autorc_nni.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "METHODS": "methods",
    "Method": "methods",
    "get_method": "methods",
    "SearchError": "errors",
    "AutoRCLightningModule": "module",
    "SupernetTrainingModule": "module",
    "ChildBatches": "loaders",
    "RewardBatches": "loaders",
    "AutoRCStrategy": "autorc",
    "Controller": "controller",
    "Reinforce": "controller",
    "reinforce_loss": "controller",
    "SearchConfig": "search",
    "SearchResult": "search",
    "run_search": "search",
    "search_config_from_dict": "search",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
