"""The AutoRC search strategy (docs/design.md §5): LSTM controller, REINFORCE, warm-up, weight copies."""

from strategies.autorc import (
    METHODS,
    AutoRCLightningModule,
    AutoRCStrategy,
    MethodSwitches,
    method_switches,
)
from strategies.controller import Controller, Reinforce, reinforce_loss
from strategies.search import SearchConfig, SearchResult, run_search, search_config_from_dict

__all__ = [
    "METHODS",
    "AutoRCLightningModule",
    "AutoRCStrategy",
    "Controller",
    "MethodSwitches",
    "Reinforce",
    "SearchConfig",
    "SearchResult",
    "method_switches",
    "reinforce_loss",
    "run_search",
    "search_config_from_dict",
]
