"""The error of the search layer."""

from __future__ import annotations

from autorc_nni.errors import AutoRCError


class SearchError(AutoRCError, RuntimeError):
    """The search cannot run as configured (bad method, space, or checkpoint)."""
