"""Stand-ins for the search layer in library tests (which may not import a strategy).

``@searching`` gives a fake search function the ``methods`` table a
:class:`pipeline.protocol.SearchFn` carries: two methods with the rows the real table gives
them (``pipeline.runner.REPORT_ROWS``; a test in tests/strategies checks they agree).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.protocol import ReportRow

ROWS: dict[str, ReportRow] = {
    "naive-enas": ReportRow("naive ENAS", "search", 0),
    "autorc": ReportRow("AutoRC", "search", 1, learned=True),
}


def searching(fn: Callable[..., Any]) -> Any:
    """``fn`` as a search function that runs the methods of ``ROWS``."""
    fn.methods = ROWS  # type: ignore[attr-defined]
    return fn
