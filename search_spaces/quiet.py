"""NNI 3.0's import-time warnings, silenced in one place.

NNI 3.0 warns that some torch 2.13 classes are "not a nn.Module" when it is imported: harmless,
and nothing a user can act on. Every module that imports NNI calls :func:`quiet_nni` just before
(``tests/test_layout.py`` imports them all with RuntimeWarnings as errors).
"""

from __future__ import annotations

import warnings

__all__ = ["quiet_nni"]


def quiet_nni() -> None:
    """Ignore NNI's "is found to be not a nn.Module" RuntimeWarnings (this process, from now)."""
    warnings.filterwarnings(
        "ignore", message=r".*is found to be not a nn\.Module", category=RuntimeWarning
    )
