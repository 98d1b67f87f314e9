"""The whole public API is reachable from ``import autorc_nni``."""

import subprocess
import sys

import pytest

import autorc_nni


@pytest.mark.parametrize("name", autorc_nni.__all__)
def test_every_public_name_resolves(name):
    assert getattr(autorc_nni, name) is not None


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        autorc_nni.nope  # noqa: B018


def test_import_is_lazy():
    code = "import sys, autorc_nni; print('transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
